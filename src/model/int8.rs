//! Matrix products in eight bits, for the encoder's per-token layers on CPUs with AVX-512 VNNI.
//!
//! Weights are quantised once, symmetrically per output column (`w ≈ sw[j] · q`, q in -127..=127),
//! and packed in the order the kernel reads them; activations are quantised per row when they are
//! made (`a ≈ sa[i] · q`) and stored offset by 128 as unsigned bytes, since `vpdpbusd` multiplies
//! unsigned by signed bytes. Each product is then exact in 32-bit integers:
//! `Σ (q_a + 128) · q_w = Σ q_a · q_w + 128 · Σ q_w`, the last term precomputed per column, and
//! turned back into floats with the two scales. One `vpdpbusd` does 64 multiply-adds where an
//! f32 FMA does 16.
//!
//! [`available`] says whether the CPU can run it; [`QMatrix::product`] falls back to a portable
//! loop computing the very same integers (used by the tests, and correct on any CPU).

/// Columns per panel: four 16-lane registers.
const NR: usize = 64;
/// Rows per kernel call.
const MR: usize = 6;

/// Whether this CPU runs the eight-bit kernel (AVX-512 F, BW and VNNI).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A k×n weight matrix in eight bits, packed for the kernel.
pub struct QMatrix {
    k: usize,
    n: usize,
    /// Panel p (64 columns), group g of four rows, register z, lane c, row r of the group:
    /// `packed[((p·k/4 + g)·4 + z)·64 + c·4 + r] = q[4g + r][64p + 16z + c]`.
    packed: Vec<i8>,
    scale: Vec<f32>,
    /// 128 · Σ_k q[k][j]: what the unsigned offset of the activations adds to column j.
    offset: Vec<i32>,
}

impl QMatrix {
    /// Quantises a row-major k×n matrix (k a multiple of 4, n of 64).
    pub fn new(w: &[f32], k: usize, n: usize) -> QMatrix {
        assert!(k.is_multiple_of(4) && n.is_multiple_of(NR) && w.len() == k * n, "shape {k}x{n} not packable");
        let mut scale = vec![0f32; n];
        for row in w.chunks_exact(n) {
            for (s, v) in scale.iter_mut().zip(row) {
                *s = s.max(v.abs());
            }
        }
        for s in &mut scale {
            *s = if *s > 0.0 { *s / 127.0 } else { 1.0 };
        }
        let mut packed = vec![0i8; k * n];
        let mut offset = vec![0i32; n];
        for kk in 0..k {
            for j in 0..n {
                let q = (w[kk * n + j] / scale[j]).round().clamp(-127.0, 127.0) as i8;
                offset[j] += 128 * q as i32;
                let (p, z, c) = (j / NR, (j % NR) / 16, j % 16);
                let (g, r) = (kk / 4, kk % 4);
                packed[((p * (k / 4) + g) * 4 + z) * 64 + c * 4 + r] = q;
            }
        }
        QMatrix { k, n, packed, scale, offset }
    }

    /// Rows of the matrix (the products' depth).
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns of the matrix.
    pub fn cols(&self) -> usize {
        self.n
    }

    /// `c[i][j] = sa[i] · sw[j] · Σ_k a[i][k] · q[k][j]` for the quantised rows `a` (m rows of k
    /// bytes); `c` is m×n, row-major, overwritten.
    pub fn product(&self, a: &QRows, c: &mut [f32]) {
        let m = a.len();
        assert_eq!(a.width, self.k, "rows of {} bytes for a matrix of {} rows", a.width, self.k);
        assert!(c.len() >= m * self.n);
        #[cfg(target_arch = "x86_64")]
        if available() {
            // SAFETY: the CPU has AVX-512 F, BW and VNNI (checked); the shapes were asserted.
            unsafe { avx512::product(self, a, c) };
            return;
        }
        self.product_portable(a, c);
    }

    /// The same integers by plain loops.
    pub fn product_portable(&self, a: &QRows, c: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        for i in 0..a.len() {
            let row = &a.data[i * k..(i + 1) * k];
            for j in 0..n {
                let (p, z, cc) = (j / NR, (j % NR) / 16, j % 16);
                let mut acc = 0i32;
                for (kk, &x) in row.iter().enumerate() {
                    let (g, r) = (kk / 4, kk % 4);
                    acc += x as i32 * self.packed[((p * (k / 4) + g) * 4 + z) * 64 + cc * 4 + r] as i32;
                }
                c[i * n + j] = (acc - self.offset[j]) as f32 * (a.scale[i] * self.scale[j]);
            }
        }
    }
}

/// The eight-bit product throughput of this machine, in GOP/s (a multiply-add counts two): the
/// convolutions' shape (512 tokens × 256 by 256 × 1,280) on every core at once for about `secs`
/// seconds, through [`QMatrix::product`] (the portable loops where the CPU lacks VNNI).
pub fn gops(secs: f64) -> f64 {
    use rayon::prelude::*;
    let (m, k, n) = (512, 256, 1280);
    let w: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.01 - 0.02).collect();
    let q = QMatrix::new(&w, k, n);
    let mut a = QRows::with_width(k);
    let row: Vec<f32> = (0..k).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
    for _ in 0..m {
        a.push(&row);
    }
    let threads = rayon::current_num_threads().max(1);
    let start = std::time::Instant::now();
    let mut rounds = 0usize;
    while start.elapsed().as_secs_f64() < secs || rounds == 0 {
        (0..threads).into_par_iter().for_each(|_| {
            let mut c = vec![0f32; m * n];
            for _ in 0..4 {
                q.product(&a, &mut c);
            }
            std::hint::black_box(&c);
        });
        rounds += 1;
    }
    let ops = 2.0 * (m * k * n) as f64 * 4.0 * threads as f64 * rounds as f64;
    ops / start.elapsed().as_secs_f64() / 1e9
}

/// Rows of activations in eight bits (offset by 128), each with its scale.
#[derive(Default)]
pub struct QRows {
    width: usize,
    data: Vec<u8>,
    scale: Vec<f32>,
}

impl QRows {
    /// Empty rows of `width` values.
    pub fn with_width(width: usize) -> QRows {
        assert!(width.is_multiple_of(4));
        QRows { width, data: Vec::new(), scale: Vec::new() }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.scale.len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.scale.is_empty()
    }

    /// Drops every row, keeping the allocation.
    pub fn clear(&mut self) {
        self.data.clear();
        self.scale.clear();
    }

    /// Quantises and appends one row of `width` values.
    #[inline(always)]
    pub fn push(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.width);
        // Sixteen running maxima, so the compiler can use vector instructions.
        let mut lanes = [0f32; 16];
        for c in row.chunks(16) {
            for (l, v) in lanes.iter_mut().zip(c) {
                *l = l.max(v.abs());
            }
        }
        let max = lanes.iter().fold(0f32, |m, &v| m.max(v));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let inv = 1.0 / scale;
        // Round to nearest, then shift into 1..=255.
        self.data.extend(row.iter().map(|v| ((v * inv).round_ties_even() as i32 + 128) as u8));
        self.scale.push(scale);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{QMatrix, QRows, MR, NR};

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn product(w: &QMatrix, a: &QRows, c: &mut [f32]) {
        let (k, n, m) = (w.k, w.n, a.len());
        let groups = k / 4;
        for p in 0..n / NR {
            let panel = unsafe { w.packed.as_ptr().add(p * groups * 4 * 64) };
            let mut i = 0;
            while i + MR <= m {
                unsafe { block::<MR>(w, a, c, panel, p, i) };
                i += MR;
            }
            match m - i {
                0 => {}
                1 => unsafe { block::<1>(w, a, c, panel, p, i) },
                2 => unsafe { block::<2>(w, a, c, panel, p, i) },
                3 => unsafe { block::<3>(w, a, c, panel, p, i) },
                4 => unsafe { block::<4>(w, a, c, panel, p, i) },
                _ => unsafe { block::<5>(w, a, c, panel, p, i) },
            }
        }
        let _ = n;
    }

    /// Rows `first .. first + R` of `a` by panel `p` of the weights, into `c`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn block<const R: usize>(w: &QMatrix, a: &QRows, c: &mut [f32], panel: *const i8, p: usize, first: usize) {
        let (k, n) = (w.k, w.n);
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        let rows = unsafe { a.data.as_ptr().add(first * k) };
        for g in 0..k / 4 {
            let b = unsafe { panel.add(g * 256) };
            let b0 = unsafe { _mm512_loadu_si512(b as *const _) };
            let b1 = unsafe { _mm512_loadu_si512(b.add(64) as *const _) };
            let b2 = unsafe { _mm512_loadu_si512(b.add(128) as *const _) };
            let b3 = unsafe { _mm512_loadu_si512(b.add(192) as *const _) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = unsafe { (rows.add(r * k + g * 4) as *const i32).read_unaligned() };
                let x = _mm512_set1_epi32(x);
                acc[0] = _mm512_dpbusd_epi32(acc[0], x, b0);
                acc[1] = _mm512_dpbusd_epi32(acc[1], x, b1);
                acc[2] = _mm512_dpbusd_epi32(acc[2], x, b2);
                acc[3] = _mm512_dpbusd_epi32(acc[3], x, b3);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let sa = _mm512_set1_ps(a.scale[first + r]);
            for (z, v) in acc.iter().enumerate() {
                let col = p * NR + z * 16;
                let off = unsafe { _mm512_loadu_si512(w.offset.as_ptr().add(col) as *const _) };
                let sw = unsafe { _mm512_loadu_ps(w.scale.as_ptr().add(col)) };
                let f = _mm512_cvtepi32_ps(_mm512_sub_epi32(*v, off));
                let f = _mm512_mul_ps(f, _mm512_mul_ps(sa, sw));
                unsafe { _mm512_storeu_ps(c.as_mut_ptr().add((first + r) * n + col), f) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(i: usize, modulus: usize) -> f32 {
        ((i.wrapping_mul(2654435761)) % modulus) as f32 / modulus as f32 * 2.0 - 1.0
    }

    #[test]
    fn the_kernel_computes_the_integers_of_the_plain_loops_and_approximates_the_floats() {
        let (k, n) = (256, 128);
        let w: Vec<f32> = (0..k * n).map(|i| pseudo(i, 1009) * 0.2).collect();
        let q = QMatrix::new(&w, k, n);
        assert_eq!((q.rows(), q.cols()), (k, n));
        // Every remainder of the kernel's six-row blocks.
        for m in [1, 2, 3, 4, 5, 6, 7, 13, 20] {
            let a: Vec<f32> = (0..m * k).map(|i| pseudo(i + 17, 997) * (1.0 + (i / k) as f32)).collect();
            let mut rows = QRows::with_width(k);
            for r in a.chunks_exact(k) {
                rows.push(r);
            }
            assert_eq!(rows.len(), m);
            let mut fast = vec![0f32; m * n];
            let mut plain = vec![0f32; m * n];
            q.product(&rows, &mut fast);
            q.product_portable(&rows, &mut plain);
            assert_eq!(fast, plain, "m = {m}");
            // Against the float product: errors of a few per mille of the row's scale.
            for i in 0..m {
                for j in 0..n {
                    let exact: f32 = (0..k).map(|kk| a[i * k + kk] * w[kk * n + j]).sum();
                    let norm: f32 = (0..k).map(|kk| (a[i * k + kk] * w[kk * n + j]).abs()).sum();
                    assert!(
                        (fast[i * n + j] - exact).abs() <= 0.01 * norm + 1e-6,
                        "{i},{j}: {} vs {exact}",
                        fast[i * n + j]
                    );
                }
            }
        }
    }

    #[test]
    fn zero_rows_and_columns_stay_zero() {
        let (k, n) = (8, 64);
        let mut w = vec![0f32; k * n];
        w[3 * n + 5] = 1.0;
        let q = QMatrix::new(&w, k, n);
        let mut rows = QRows::with_width(k);
        rows.push(&[0.0; 8]);
        rows.push(&[0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0]);
        let mut c = vec![1f32; 2 * n];
        q.product(&rows, &mut c);
        assert!(c[..n].iter().all(|&v| v == 0.0));
        assert!((c[n + 5] + 2.0).abs() < 1e-6);
        assert_eq!(c[n..].iter().filter(|&&v| v != 0.0).count(), 1);
    }
}
