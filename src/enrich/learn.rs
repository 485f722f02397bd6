//! Logistic regression, the one learning method of the tagger: L2-regularised, optionally with
//! class weights and a prior (weights pulled toward a given vector rather than toward zero, which
//! is how curators' corrections adjust a shipped model without forgetting it). Solved with
//! L-BFGS; the problems are small (hundreds of documents, thousands of words).

/// A training set: rows of features (sparse: index, value) with a label and a weight each.
pub struct Problem<'a> {
    /// Number of features.
    pub dim: usize,
    /// The rows.
    pub rows: &'a [Vec<(u32, f32)>],
    /// Their labels.
    pub labels: &'a [bool],
    /// Their weights (empty: all 1).
    pub weights: &'a [f32],
}

/// Options of a fit.
#[derive(Debug, Clone)]
pub struct Options {
    /// Inverse regularisation strength (scikit-learn's `C`): loss = C * sum(weighted log-loss)
    /// + 0.5 * |w - prior|^2. The intercept is not regularised.
    pub c: f64,
    /// Weigh the two classes so that each counts as much in total ("balanced").
    pub balanced: bool,
    /// Weights to pull toward (default: zero) and the intercept to start from.
    pub prior: Option<(Vec<f32>, f32)>,
    /// Iterations of L-BFGS at most.
    pub max_iter: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { c: 1.0, balanced: false, prior: None, max_iter: 300 }
    }
}

/// A fitted model: weights and intercept.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Feature weights.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
}

impl Fit {
    /// The probability of the positive class for a sparse row.
    pub fn predict(&self, row: &[(u32, f32)]) -> f32 {
        let z: f32 =
            self.bias + row.iter().map(|&(i, v)| self.weights.get(i as usize).copied().unwrap_or(0.0) * v).sum::<f32>();
        sigmoid(z)
    }
}

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// The log-odds of a probability, clipped away from 0 and 1.
pub fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-3, 1.0 - 1e-3);
    (p / (1.0 - p)).ln()
}

/// Fits a logistic regression.
pub fn fit(p: &Problem, o: &Options) -> Fit {
    let n = p.rows.len();
    let dim = p.dim;
    let npos = p.labels.iter().filter(|&&l| l).count();
    let (wpos, wneg) = if o.balanced && npos > 0 && npos < n {
        (n as f64 / (2.0 * npos as f64), n as f64 / (2.0 * (n - npos) as f64))
    } else {
        (1.0, 1.0)
    };
    let sample_weight: Vec<f64> = (0..n)
        .map(|i| {
            let w = p.weights.get(i).copied().unwrap_or(1.0) as f64;
            w * if p.labels[i] { wpos } else { wneg }
        })
        .collect();
    let (prior_w, prior_b) = match &o.prior {
        Some((w, b)) => (w.iter().map(|&x| x as f64).collect::<Vec<f64>>(), *b as f64),
        None => (vec![0.0; dim], 0.0),
    };
    // Parameters: dim weights then the intercept.
    let mut x: Vec<f64> = prior_w.clone();
    x.resize(dim, 0.0);
    x.push(prior_b);
    let f = |x: &[f64], g: &mut [f64]| -> f64 {
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut loss = 0.0;
        for (i, row) in p.rows.iter().enumerate() {
            let z: f64 = x[dim] + row.iter().map(|&(j, v)| x[j as usize] * v as f64).sum::<f64>();
            let y = if p.labels[i] { 1.0 } else { 0.0 };
            // log(1 + e^z) - y z, computed stably.
            let l = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() } - y * z;
            let s = sample_weight[i];
            loss += o.c * s * l;
            let d = o.c * s * (1.0 / (1.0 + (-z).exp()) - y);
            for &(j, v) in row {
                g[j as usize] += d * v as f64;
            }
            g[dim] += d;
        }
        for j in 0..dim {
            let diff = x[j] - prior_w.get(j).copied().unwrap_or(0.0);
            loss += 0.5 * diff * diff;
            g[j] += diff;
        }
        loss
    };
    lbfgs(&mut x, f, o.max_iter);
    Fit { weights: x[..dim].iter().map(|&v| v as f32).collect(), bias: x[dim] as f32 }
}

/// Minimises `f` (returning the value and writing the gradient) from `x`, in place.
fn lbfgs(x: &mut [f64], mut f: impl FnMut(&[f64], &mut [f64]) -> f64, max_iter: usize) {
    const M: usize = 10;
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut fx = f(x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    for _ in 0..max_iter {
        let gnorm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if gnorm < 1e-5 * (1.0 + fx.abs()) {
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let k = s_hist.len();
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
            alpha[i] = rho * dot(&s_hist[i], &q);
            axpy(-alpha[i], &y_hist[i], &mut q);
        }
        let gamma = if k > 0 {
            dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1])
        } else {
            1.0 / gnorm.max(1.0)
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for i in 0..k {
            let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
            let beta = rho * dot(&y_hist[i], &q);
            axpy(alpha[i] - beta, &s_hist[i], &mut q);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction: fall back to the gradient and forget the history.
            d = g.iter().map(|v| -v).collect();
            slope = -gnorm * gnorm;
            s_hist.clear();
            y_hist.clear();
        }
        // Backtracking line search (Armijo).
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..n {
                x_new[i] = x[i] + step * d[i];
            }
            let f_new = f(&x_new, &mut g_new);
            if f_new <= fx + 1e-4 * step * slope {
                let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
                if dot(&s, &y) > 1e-12 {
                    s_hist.push(s);
                    y_hist.push(y);
                    if s_hist.len() > M {
                        s_hist.remove(0);
                        y_hist.remove(0);
                    }
                }
                let improvement = fx - f_new;
                x.copy_from_slice(&x_new);
                g.copy_from_slice(&g_new);
                fx = f_new;
                accepted = improvement > 1e-10 * (1.0 + fx.abs());
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The threshold on probabilities that gives the best F1 (micro, over all rows given), among
/// 0.15, 0.20, ... 0.70; ties go to the higher threshold (fewer tags).
pub fn best_threshold(probs: &[f32], labels: &[bool]) -> (f32, f64) {
    let mut best = (0.5, -1.0);
    for k in 3..=14 {
        let t = k as f32 * 0.05;
        let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
        for (&p, &l) in probs.iter().zip(labels) {
            match (p >= t, l) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fneg += 1,
                _ => {}
            }
        }
        let f1 = if tp == 0 { 0.0 } else { 2.0 * tp as f64 / (2.0 * tp as f64 + fp as f64 + fneg as f64) };
        if f1 >= best.1 {
            best = (t, f1);
        }
    }
    best
}

/// Folds for cross-validation: item `i` goes to fold `i % k` after a fixed shuffle.
pub fn folds(n: usize, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    // A small deterministic shuffle (xorshift), so that folds do not follow file order.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let mut fold = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % k.max(1);
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(xs: &[f32]) -> Vec<Vec<(u32, f32)>> {
        xs.iter().map(|&x| vec![(0, x)]).collect()
    }

    #[test]
    fn separates_a_simple_problem_and_regularisation_shrinks() {
        let xs = [-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0];
        let labels = [false, false, false, false, true, true, true, true];
        let r = rows(&xs);
        let p = Problem { dim: 1, rows: &r, labels: &labels, weights: &[] };
        let strong = fit(&p, &Options { c: 100.0, ..Options::default() });
        let weak = fit(&p, &Options { c: 0.01, ..Options::default() });
        assert!(strong.weights[0] > 2.0, "{strong:?}");
        assert!(weak.weights[0] > 0.0 && weak.weights[0] < strong.weights[0] / 4.0, "{weak:?}");
        assert!(strong.predict(&[(0, 1.0)]) > 0.9 && strong.predict(&[(0, -1.0)]) < 0.1);
    }

    #[test]
    fn matches_the_closed_form_of_a_one_feature_problem() {
        // Without regularisation and with a constant feature, the fitted probability is the
        // base rate: 3 positives in 4.
        let r = rows(&[1.0, 1.0, 1.0, 1.0]);
        let labels = [true, true, true, false];
        let p = Problem { dim: 1, rows: &r, labels: &labels, weights: &[] };
        let f = fit(&p, &Options { c: 1e6, max_iter: 500, ..Options::default() });
        assert!((f.predict(&[(0, 1.0)]) - 0.75).abs() < 0.01, "{f:?}");
        // Balanced classes move it to one half.
        let b = fit(&p, &Options { c: 1e6, balanced: true, max_iter: 500, ..Options::default() });
        assert!((b.predict(&[(0, 1.0)]) - 0.5).abs() < 0.01, "{b:?}");
    }

    #[test]
    fn a_prior_holds_weights_that_the_data_do_not_move() {
        // Feature 1 is always 0 in the data: its weight stays at the prior, not at zero.
        let r: Vec<Vec<(u32, f32)>> = vec![vec![(0, 1.0)], vec![(0, -1.0)]];
        let labels = [true, false];
        let p = Problem { dim: 2, rows: &r, labels: &labels, weights: &[] };
        let f = fit(&p, &Options { c: 1.0, prior: Some((vec![0.0, 3.0], 0.0)), ..Options::default() });
        assert!((f.weights[1] - 3.0).abs() < 1e-3, "{f:?}");
    }

    #[test]
    fn the_best_threshold_trades_precision_for_recall() {
        let probs = [0.9, 0.8, 0.45, 0.3, 0.2, 0.1];
        let labels = [true, true, true, false, false, false];
        let (t, f1) = best_threshold(&probs, &labels);
        assert!(t > 0.3 && t <= 0.45, "{t}");
        assert!((f1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn folds_are_balanced_and_deterministic() {
        let f = folds(10, 5);
        assert_eq!(f, folds(10, 5));
        for k in 0..5 {
            assert_eq!(f.iter().filter(|&&x| x == k).count(), 2);
        }
    }
}
