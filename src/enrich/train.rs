//! Training the tagger from labelled documents: the word classifier of each category, then the
//! weights that combine terms, words and meaning, then a threshold per family, each chosen on
//! predictions for documents the model did not see (k-fold cross-validation), so that what is
//! learnt is what holds on new reports.
//!
//! [`refine`] adjusts a trained model with a few more labelled documents (curators'
//! corrections): the same fits, pulled toward the model's weights instead of toward zero, so that
//! a handful of corrections moves the model where they agree and leaves it alone elsewhere.

use std::collections::BTreeSet;

use super::combine::{Combiner, DocEvidence, PackedFit, TagModel, TaggerFile, FAMILIES, FEATURES, TEXT_FEATURES};
use super::learn::{self, best_threshold, fit, Fit, Options, Problem};
use super::meaning::CategoryMeaning;
use super::words::{stems, Vocabulary, WordModel};
use crate::document::Record;

/// One labelled document.
pub struct TrainDoc {
    /// The document as enriched by the first phase (term scores, title, pages).
    pub record: Record,
    /// What its passages say of each category of [`TrainOptions::categories`] (or of the
    /// model's categories for [`refine`]).
    pub meaning: Vec<CategoryMeaning>,
    /// Its labels: facet paths (any depth).
    pub labels: BTreeSet<String>,
    /// How much it counts.
    pub weight: f32,
    /// Whether its labels follow the standard the thresholds are calibrated to (the thresholds
    /// come from the cross-validated predictions of these documents only, when there are any).
    pub calibrate: bool,
}

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The categories to learn (those with fewer than `min_positives` labelled documents are
    /// dropped).
    pub categories: Vec<String>,
    /// Labelled documents a category needs.
    pub min_positives: usize,
    /// `C` of the word classifiers.
    pub words_c: f64,
    /// `C` of the combination.
    pub combine_c: f64,
    /// Folds of the cross-validation.
    pub folds: usize,
    /// Documents a stem must occur in.
    pub min_df: usize,
}

impl Default for TrainOptions {
    /// Chosen on the development set's odd half (benches/tagging.sh).
    fn default() -> Self {
        TrainOptions { categories: Vec::new(), min_positives: 3, words_c: 10.0, combine_c: 0.3, folds: 5, min_df: 2 }
    }
}

/// What a training run measured.
#[derive(Debug, Clone, Default)]
pub struct TrainReport {
    /// Documents used.
    pub documents: usize,
    /// Categories learnt.
    pub categories: usize,
    /// Stems in the vocabulary.
    pub stems: usize,
    /// Cross-validated micro-F1 per family (with meaning).
    pub cv_f1: Vec<(String, f64)>,
}

/// The category-level labels of a document: context and technology cut to depth 2, failure
/// causes to depth 1.
pub fn category_labels(labels: &BTreeSet<String>) -> BTreeSet<String> {
    labels.iter().filter_map(|p| category_of(p)).collect()
}

/// The category of a path (None for paths above category level or of other families).
pub fn category_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let depth = match parts.first().copied()? {
        "context" | "technology" => 2,
        "failure_cause" => 1,
        _ => return None,
    };
    (parts.len() > depth).then(|| format!("/{}", parts[..=depth].join("/")))
}

/// Rows of the combination: features, labels, weights.
type Rows = (Vec<Vec<(u32, f32)>>, Vec<bool>, Vec<f32>);

/// Trains a model.
pub fn train(docs: &[TrainDoc], o: &TrainOptions) -> (TaggerFile, TrainReport) {
    let labels: Vec<BTreeSet<String>> = docs.iter().map(|d| category_labels(&d.labels)).collect();
    let keep: Vec<usize> = (0..o.categories.len())
        .filter(|&c| labels.iter().filter(|l| l.contains(&o.categories[c])).count() >= o.min_positives)
        .collect();
    let categories: Vec<String> = keep.iter().map(|&c| o.categories[c].clone()).collect();
    let meaning: Vec<Vec<CategoryMeaning>> =
        docs.iter().map(|d| keep.iter().map(|&c| d.meaning.get(c).copied().unwrap_or_default()).collect()).collect();
    let n = docs.len();
    let total_w: f32 = docs.iter().map(|d| d.weight).sum::<f32>().max(1e-9);
    let prior: Vec<f32> = categories
        .iter()
        .map(|c| {
            let pos: f32 = docs.iter().zip(&labels).filter(|(_, l)| l.contains(c)).map(|(d, _)| d.weight).sum();
            (pos + 0.5) / (total_w + 1.0)
        })
        .collect();
    let texts: Vec<Vec<String>> = docs.iter().map(|d| stems(&TagModel::text_of(&d.record))).collect();
    let weights: Vec<f32> = docs.iter().map(|d| d.weight).collect();

    // Word classifiers: out-of-fold probabilities for the combination, then the final fits.
    let fold = learn::folds(n, o.folds);
    let mut oof_words = vec![vec![0f32; categories.len()]; n];
    for k in 0..o.folds {
        let train_ix: Vec<usize> = (0..n).filter(|&i| fold[i] != k).collect();
        let test_ix: Vec<usize> = (0..n).filter(|&i| fold[i] == k).collect();
        if train_ix.is_empty() || test_ix.is_empty() {
            continue;
        }
        let wm = fit_words(&train_ix, &texts, &weights, &categories, &labels, o);
        for &i in &test_ix {
            let v = wm.vocabulary.vector(&texts[i]);
            for (c, f) in wm.categories.iter().enumerate() {
                oof_words[i][c] = f.predict(&v);
            }
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let words = fit_words(&all, &texts, &weights, &categories, &labels, o);

    // The combination, trained on out-of-fold word probabilities.
    let skeleton = skeleton(&categories, &prior);
    let rows = |meaning_on: bool, ix: &[usize], word_probs: &[Vec<f32>]| -> Rows {
        let mut r = Vec::new();
        let mut l = Vec::new();
        let mut w = Vec::new();
        for &i in ix {
            let ev = DocEvidence {
                terms: &docs[i].record.term_scores,
                words: word_probs[i].clone(),
                meaning: meaning_on.then_some(meaning[i].as_slice()),
            };
            for (c, cat) in categories.iter().enumerate() {
                r.push(skeleton.row(c, &ev));
                l.push(labels[i].contains(cat));
                w.push(docs[i].weight);
            }
        }
        (r, l, w)
    };
    let opts = Options { c: o.combine_c, ..Options::default() };
    let mut combiners = Vec::new();
    let mut cv_f1 = Vec::new();
    for (meaning_on, dim) in [(false, TEXT_FEATURES), (true, FEATURES)] {
        // Thresholds from out-of-fold predictions of the combination.
        let mut probs: Vec<Vec<(usize, f32, bool)>> = vec![Vec::new(); FAMILIES.len()];
        for k in 0..o.folds {
            let train_ix: Vec<usize> = (0..n).filter(|&i| fold[i] != k).collect();
            let test_ix: Vec<usize> = (0..n).filter(|&i| fold[i] == k).collect();
            if train_ix.is_empty() || test_ix.is_empty() {
                continue;
            }
            let (r, l, w) = rows(meaning_on, &train_ix, &oof_words);
            let f = fit(&Problem { dim, rows: &r, labels: &l, weights: &w }, &opts);
            let calibrating = docs.iter().any(|d| d.calibrate);
            let test_ix: Vec<usize> = test_ix.into_iter().filter(|&i| docs[i].calibrate || !calibrating).collect();
            let (r, l, _) = rows(meaning_on, &test_ix, &oof_words);
            for (j, (row, lab)) in r.iter().zip(l).enumerate() {
                let c = j % categories.len();
                probs[skeleton.family(c)].push((c, f.predict(row), lab));
            }
        }
        let mut thresholds = std::collections::BTreeMap::new();
        for (fi, fam) in FAMILIES.iter().enumerate() {
            let p: Vec<f32> = probs[fi].iter().map(|x| x.1).collect();
            let l: Vec<bool> = probs[fi].iter().map(|x| x.2).collect();
            let (t, f1) = if p.is_empty() { (0.5, 0.0) } else { best_threshold(&p, &l) };
            thresholds.insert(fam.to_string(), t);
            if meaning_on {
                cv_f1.push((fam.to_string(), f1));
            }
        }
        let (r, l, w) = rows(meaning_on, &all, &oof_words);
        let f = fit(&Problem { dim, rows: &r, labels: &l, weights: &w }, &opts);
        combiners.push(Combiner { weights: round(&f.weights), bias: f.bias, thresholds });
    }
    let meaning_comb = combiners.pop().expect("two combiners");
    let text_comb = combiners.pop().expect("two combiners");
    let report = TrainReport { documents: n, categories: categories.len(), stems: words.vocabulary.len(), cv_f1 };
    let file = TaggerFile {
        version: 1,
        trained: String::new(),
        categories,
        prior: round(&prior),
        vocabulary: words.vocabulary.stems.clone(),
        idf: round(&words.vocabulary.idf),
        words: words.categories.iter().map(PackedFit::pack).collect(),
        text: text_comb,
        meaning: meaning_comb,
    };
    (file, report)
}

fn fit_words(
    ix: &[usize],
    texts: &[Vec<String>],
    weights: &[f32],
    categories: &[String],
    labels: &[BTreeSet<String>],
    o: &TrainOptions,
) -> WordModel {
    let sub: Vec<Vec<String>> = ix.iter().map(|&i| texts[i].clone()).collect();
    let vocabulary = Vocabulary::build(&sub, o.min_df);
    let rows: Vec<Vec<(u32, f32)>> = sub.iter().map(|t| vocabulary.vector(t)).collect();
    let w: Vec<f32> = ix.iter().map(|&i| weights[i]).collect();
    let fits = categories
        .iter()
        .map(|c| {
            let l: Vec<bool> = ix.iter().map(|&i| labels[i].contains(c)).collect();
            fit(
                &Problem { dim: vocabulary.len(), rows: &rows, labels: &l, weights: &w },
                &Options { c: o.words_c, balanced: true, ..Options::default() },
            )
        })
        .collect();
    WordModel { vocabulary, categories: fits }
}

/// A model with only categories and base rates: enough to compute rows.
fn skeleton(categories: &[String], prior: &[f32]) -> TagModel {
    let f = TaggerFile {
        version: 1,
        trained: String::new(),
        categories: categories.to_vec(),
        prior: prior.to_vec(),
        vocabulary: Vec::new(),
        idf: Vec::new(),
        words: categories.iter().map(|_| PackedFit::pack(&Fit { weights: Vec::new(), bias: 0.0 })).collect(),
        text: Combiner { weights: vec![0.0; TEXT_FEATURES], ..Combiner::default() },
        meaning: Combiner { weights: vec![0.0; FEATURES], ..Combiner::default() },
    };
    TagModel::from_file(f, blake3::hash(b"")).expect("a consistent skeleton")
}

fn round(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| (x * 1e4).round() / 1e4).collect()
}

/// Adjusts `model` with more labelled documents (curators' corrections), keeping its categories,
/// vocabulary and thresholds: every fit starts from the model's weights and is pulled toward
/// them (`c` small: the corrections move the model where they agree). Documents carry their
/// meaning for the model's categories.
pub fn refine(model: &TagModel, docs: &[TrainDoc], words_c: f64, c: f64) -> TaggerFile {
    let labels: Vec<BTreeSet<String>> = docs.iter().map(|d| category_labels(&d.labels)).collect();
    let texts: Vec<Vec<(u32, f32)>> =
        docs.iter().map(|d| model.words.vocabulary.vector(&stems(&TagModel::text_of(&d.record)))).collect();
    let weights: Vec<f32> = docs.iter().map(|d| d.weight).collect();
    let words: Vec<Fit> = model
        .categories
        .iter()
        .enumerate()
        .map(|(k, cat)| {
            let prior = &model.words.categories[k];
            if words_c <= 0.0 {
                return prior.clone();
            }
            let l: Vec<bool> = labels.iter().map(|s| s.contains(cat)).collect();
            fit(
                &Problem { dim: model.words.vocabulary.len(), rows: &texts, labels: &l, weights: &weights },
                &Options {
                    c: words_c,
                    balanced: true,
                    prior: Some((prior.weights.clone(), prior.bias)),
                    max_iter: 100,
                },
            )
        })
        .collect();
    let word_probs: Vec<Vec<f32>> = texts.iter().map(|v| words.iter().map(|f| f.predict(v)).collect()).collect();
    let refit = |comb: &Combiner, meaning_on: bool, dim: usize| -> Combiner {
        let mut r = Vec::new();
        let mut l = Vec::new();
        let mut w = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            let ev = DocEvidence {
                terms: &d.record.term_scores,
                words: word_probs[i].clone(),
                meaning: meaning_on.then_some(d.meaning.as_slice()),
            };
            for (k, cat) in model.categories.iter().enumerate() {
                r.push(model.row(k, &ev));
                l.push(labels[i].contains(cat));
                w.push(d.weight);
            }
        }
        let f = fit(
            &Problem { dim, rows: &r, labels: &l, weights: &w },
            &Options { c, prior: Some((comb.weights.clone(), comb.bias)), max_iter: 100, ..Options::default() },
        );
        Combiner { weights: round(&f.weights), bias: f.bias, thresholds: comb.thresholds.clone() }
    };
    TaggerFile {
        version: 1,
        trained: model.trained.clone(),
        categories: model.categories.clone(),
        prior: model.prior.clone(),
        vocabulary: model.words.vocabulary.stems.clone(),
        idf: model.words.vocabulary.idf.clone(),
        words: words.iter().map(PackedFit::pack).collect(),
        text: refit(&model.text, false, TEXT_FEATURES),
        meaning: refit(&model.meaning, true, FEATURES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_cut_to_their_category() {
        assert_eq!(category_of("/failure_cause/financial/funding-ended").as_deref(), Some("/failure_cause/financial"));
        assert_eq!(category_of("/technology/water/borehole/handpump").as_deref(), Some("/technology/water/borehole"));
        assert_eq!(category_of("/context/setting/rural").as_deref(), Some("/context/setting/rural"));
        assert_eq!(category_of("/technology/water"), None);
        assert_eq!(category_of("/approach/clts"), None);
    }
}
