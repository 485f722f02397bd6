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

/// A tap with no row (outside the sentence), in [`QMatrix::window_product`].
pub const NONE: u32 = u32::MAX;

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

    /// A convolution's window in one pass: `c[t] = Σ_j a[src[j][t]] · taps[j]` (dequantised as in
    /// [`QMatrix::product`]), where `src[j][t]` is the row of `a` that tap j sees for output row
    /// t, or [`NONE`] for a tap that falls outside the sentence. `c` is `src[0].len()` × n,
    /// overwritten. Nothing of size taps × rows is ever written: each tap's integers are turned
    /// into floats and added into `c` while the block is in registers and cache.
    pub fn window_product(taps: &[QMatrix], a: &QRows, src: &[&[u32]], c: &mut [f32]) {
        assert!(!taps.is_empty() && taps.len() == src.len());
        let (k, n, m) = (taps[0].k, taps[0].n, src[0].len());
        assert!(taps.iter().all(|w| w.k == k && w.n == n) && src.iter().all(|s| s.len() == m));
        assert_eq!(a.width, k);
        assert!(src.iter().all(|s| s.iter().all(|&r| r == NONE || (r as usize) < a.len())));
        assert!(c.len() >= m * n);
        #[cfg(target_arch = "x86_64")]
        if available() {
            // SAFETY: the CPU has AVX-512 F, BW and VNNI (checked); shapes and row indices were
            // asserted.
            unsafe { avx512::window_product(taps, a, src, c) };
            return;
        }
        c[..m * n].fill(0.0);
        let mut row = vec![0f32; n];
        let mut one = QRows::with_width(k);
        for (w, s) in taps.iter().zip(src) {
            for (t, &r) in s.iter().enumerate() {
                if r == NONE {
                    continue;
                }
                one.clear();
                one.data.extend_from_slice(&a.data[r as usize * k..(r as usize + 1) * k]);
                one.scale.push(a.scale[r as usize]);
                w.product_portable(&one, &mut row);
                for (d, v) in c[t * n..(t + 1) * n].iter_mut().zip(&row) {
                    *d += v;
                }
            }
        }
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
    let (m, k, n) = (512, 256, 1280);
    let w: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.01 - 0.02).collect();
    let q = QMatrix::new(&w, k, n);
    let mut a = QRows::with_width(k);
    let row: Vec<f32> = (0..k).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
    for _ in 0..m {
        a.push(&row);
    }
    super::network::on_every_core(secs, 2.0 * (m * k * n) as f64, m * n, |c| q.product(&a, c))
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
        #[cfg(target_arch = "x86_64")]
        if row.len().is_multiple_of(16) && available() {
            let start = self.data.len();
            self.data.resize(start + row.len(), 0);
            // SAFETY: the CPU has AVX-512 F and BW (checked); the row is a whole number of
            // 16-value blocks and `data` has room for it after `start`.
            let scale = unsafe { avx512::quantise(row, &mut self.data[start..]) };
            self.scale.push(scale);
            return;
        }
        self.push_portable(row);
    }

    /// [`QRows::push`] by plain loops (the same bytes and scale).
    pub fn push_portable(&mut self, row: &[f32]) {
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

    use super::{QMatrix, QRows, MR, NONE, NR};

    /// Quantises `row` into `out` (offset by 128) as the portable loop does; returns the scale.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn quantise(row: &[f32], out: &mut [u8]) -> f32 {
        let mut max = _mm512_setzero_ps();
        for c in row.chunks_exact(16) {
            max = _mm512_max_ps(max, _mm512_abs_ps(unsafe { _mm512_loadu_ps(c.as_ptr()) }));
        }
        let max = _mm512_reduce_max_ps(max);
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let inv = _mm512_set1_ps(1.0 / scale);
        let shift = _mm512_set1_epi32(128);
        for (c, o) in row.chunks_exact(16).zip(out.chunks_exact_mut(16)) {
            let v = _mm512_mul_ps(unsafe { _mm512_loadu_ps(c.as_ptr()) }, inv);
            // Round to nearest even (the default rounding mode), as `round_ties_even`.
            let q = _mm512_add_epi32(_mm512_cvtps_epi32(v), shift);
            unsafe { _mm_storeu_si128(o.as_mut_ptr() as *mut __m128i, _mm512_cvtepi32_epi8(q)) };
        }
        scale
    }

    /// A row of zeros as the kernel reads it (offset by 128), for taps outside the sentence; its
    /// scale is 0, so it adds nothing whatever the weights.
    static ZERO_ROW: [u8; 4096] = [128; 4096];

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn product(w: &QMatrix, a: &QRows, c: &mut [f32]) {
        let (k, n, m) = (w.k, w.n, a.len());
        for p in 0..n / NR {
            let mut i = 0;
            while i < m {
                let r = (m - i).min(MR);
                let mut rows = [std::ptr::null(); MR];
                let mut scales = [0f32; MR];
                for (x, (row, scale)) in rows.iter_mut().zip(scales.iter_mut()).enumerate().take(r) {
                    *row = unsafe { a.data.as_ptr().add((i + x) * k) };
                    *scale = a.scale[i + x];
                }
                let out = unsafe { c.as_mut_ptr().add(i * n) };
                unsafe { block_dispatch(r, w, &rows, &scales, out, p, false) };
                i += r;
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn window_product(taps: &[QMatrix], a: &QRows, src: &[&[u32]], c: &mut [f32]) {
        let (k, n, m) = (taps[0].k, taps[0].n, src[0].len());
        assert!(k <= ZERO_ROW.len());
        for p in 0..n / NR {
            let mut i = 0;
            while i < m {
                let r = (m - i).min(MR);
                let out = unsafe { c.as_mut_ptr().add(i * n) };
                for (j, (w, s)) in taps.iter().zip(src).enumerate() {
                    let mut rows = [ZERO_ROW.as_ptr(); MR];
                    let mut scales = [0f32; MR];
                    for x in 0..r {
                        let row = s[i + x];
                        if row != NONE {
                            rows[x] = unsafe { a.data.as_ptr().add(row as usize * k) };
                            scales[x] = a.scale[row as usize];
                        }
                    }
                    unsafe { block_dispatch(r, w, &rows, &scales, out, p, j > 0) };
                }
                i += r;
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn block_dispatch(
        r: usize,
        w: &QMatrix,
        rows: &[*const u8; MR],
        scales: &[f32; MR],
        out: *mut f32,
        p: usize,
        add: bool,
    ) {
        unsafe {
            match r {
                6 => block::<6>(w, rows, scales, out, p, add),
                5 => block::<5>(w, rows, scales, out, p, add),
                4 => block::<4>(w, rows, scales, out, p, add),
                3 => block::<3>(w, rows, scales, out, p, add),
                2 => block::<2>(w, rows, scales, out, p, add),
                _ => block::<1>(w, rows, scales, out, p, add),
            }
        }
    }

    /// R rows (at `rows`, k bytes each, with their scales) by panel `p` of the weights, into
    /// rows of n floats at `out` (added to them when `add`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn block<const R: usize>(
        w: &QMatrix,
        rows: &[*const u8; MR],
        scales: &[f32; MR],
        out: *mut f32,
        p: usize,
        add: bool,
    ) {
        let (k, n) = (w.k, w.n);
        let panel = unsafe { w.packed.as_ptr().add(p * (k / 4) * 256) };
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        for g in 0..k / 4 {
            let b = unsafe { panel.add(g * 256) };
            let b0 = unsafe { _mm512_loadu_si512(b as *const _) };
            let b1 = unsafe { _mm512_loadu_si512(b.add(64) as *const _) };
            let b2 = unsafe { _mm512_loadu_si512(b.add(128) as *const _) };
            let b3 = unsafe { _mm512_loadu_si512(b.add(192) as *const _) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = unsafe { (rows[r].add(g * 4) as *const i32).read_unaligned() };
                let x = _mm512_set1_epi32(x);
                acc[0] = _mm512_dpbusd_epi32(acc[0], x, b0);
                acc[1] = _mm512_dpbusd_epi32(acc[1], x, b1);
                acc[2] = _mm512_dpbusd_epi32(acc[2], x, b2);
                acc[3] = _mm512_dpbusd_epi32(acc[3], x, b3);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let sa = _mm512_set1_ps(scales[r]);
            for (z, v) in acc.iter().enumerate() {
                let col = p * NR + z * 16;
                let off = unsafe { _mm512_loadu_si512(w.offset.as_ptr().add(col) as *const _) };
                let sw = unsafe { _mm512_loadu_ps(w.scale.as_ptr().add(col)) };
                let f = _mm512_cvtepi32_ps(_mm512_sub_epi32(*v, off));
                let dst = unsafe { out.add(r * n + col) };
                let f = if add {
                    _mm512_fmadd_ps(f, _mm512_mul_ps(sa, sw), unsafe { _mm512_loadu_ps(dst) })
                } else {
                    _mm512_mul_ps(f, _mm512_mul_ps(sa, sw))
                };
                unsafe { _mm512_storeu_ps(dst, f) };
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
    fn a_window_product_is_the_sum_of_its_taps_and_skips_rows_outside_the_sentence() {
        let (k, n, taps_n) = (64, 128, 3);
        let taps: Vec<QMatrix> = (0..taps_n)
            .map(|j| QMatrix::new(&(0..k * n).map(|i| pseudo(i + j * 7919, 1013) * 0.3).collect::<Vec<_>>(), k, n))
            .collect();
        let m = 11;
        let mut rows = QRows::with_width(k);
        for r in 0..m {
            rows.push(&(0..k).map(|i| pseudo(r * k + i, 991) * (1.0 + r as f32)).collect::<Vec<_>>());
        }
        // Windows of 3 over two sentences, rows 0..5 and 5..11, one token of left context.
        let bounds = |t: usize| if t < 5 { (0, 5) } else { (5, 11) };
        let src: Vec<Vec<u32>> = (0..taps_n)
            .map(|j| {
                (0..m)
                    .map(|t| {
                        let (s, e) = bounds(t);
                        match (t + j).checked_sub(1).filter(|p| *p >= s && *p < e) {
                            Some(p) => p as u32,
                            None => NONE,
                        }
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[u32]> = src.iter().map(Vec::as_slice).collect();
        let mut fast = vec![7f32; m * n];
        QMatrix::window_product(&taps, &rows, &refs, &mut fast);
        // The same by one product per tap, summed.
        let mut expected = vec![0f32; m * n];
        let mut all = vec![0f32; m * n];
        for (w, s) in taps.iter().zip(&src) {
            w.product_portable(&rows, &mut all);
            for (t, &r) in s.iter().enumerate() {
                if r != NONE {
                    for c in 0..n {
                        expected[t * n + c] += all[r as usize * n + c];
                    }
                }
            }
        }
        for (i, (a, b)) in fast.iter().zip(&expected).enumerate() {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{i}: {a} vs {b}");
        }
        // The first token of a sentence has no left neighbour: only taps 1 and 2 count.
        assert_eq!((src[0][0], src[0][5]), (NONE, NONE));
        assert_eq!((src[2][4], src[2][10]), (NONE, NONE));
    }

    #[test]
    fn vector_and_plain_quantisation_give_the_same_bytes() {
        for width in [16, 256, 512] {
            let row: Vec<f32> = (0..width).map(|i| pseudo(i * 13 + width, 1019) * 3.7).collect();
            let (mut a, mut b) = (QRows::with_width(width), QRows::with_width(width));
            a.push(&row);
            b.push_portable(&row);
            assert_eq!((a.data, a.scale), (b.data, b.scale));
        }
        let mut z = QRows::with_width(16);
        z.push(&[0.0; 16]);
        assert!(z.data.iter().all(|&v| v == 128) && z.scale == [1.0]);
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
