//! A one-bit sketch of every passage row, for a first pass of the exact scan that reads 64 bytes
//! a row instead of 512.
//!
//! Scanning int8 rows is bound by memory bandwidth: 161k passages are 83 MB per query, which
//! took a third of a hybrid request under load. The sketch keeps, per row, which side of the
//! segment's mean each component lies on, and the row's mean distance from it (`alpha`), so
//! that row ≈ mean + alpha · signs. The query's dot product with a row is then estimated as
//! q·mean + alpha · q·signs: exact for the mean, which is the same for every row of a segment,
//! and approximate for the rest. The rows of the best estimates (several times the number asked
//! for) are then scored exactly, as the full scan scores them.
//!
//! For q·signs the query is cut to four bits a component (sixteen levels between its least and
//! greatest component, as RaBitQ does: the error this adds is small beside the one-bit rows'),
//! so that the sum of the query components a row's bits select is four popcounts of the row's
//! bits and one bit plane of the query each. The bits are stored eight rows at a time, word by
//! word, so that one AVX-512 register holds the same word of eight rows and its popcounts are the
//! eight rows' sums at once (VPOPCNTDQ; with AVX-512BW alone each half byte's bits come from a
//! table; other CPUs count a row at a time, with POPCNT where it exists).

use crate::model::DIM;

/// 64-bit words of one row's signs.
const WORDS: usize = DIM / 64;
/// Rows stored together, word by word.
const GROUP: usize = 8;
/// Bits of the query's components in the estimate.
const PLANES: usize = 4;
/// Levels of those components.
const LEVELS: f32 = ((1 << PLANES) - 1) as f32;
/// Rows estimated at a time.
const BLOCK: usize = 1024;

/// The sketch of one segment's rows.
pub(crate) struct Signs {
    /// The segment's mean row (float).
    mean: Vec<f32>,
    /// Per group of `GROUP` rows, word `c` of each row in turn (`c` major): bit d of a row's
    /// words set when component d lies above the mean. The last group is padded with zeros.
    bits: Vec<u64>,
    /// Per row, the mean absolute distance of its components from the mean (float); zero for
    /// the last group's padding.
    alpha: Vec<f32>,
    /// Per row, the number of bits set.
    ones: Vec<f32>,
    /// Rows sketched.
    rows: usize,
}

impl Signs {
    /// The sketch of `data` (int8 rows of `DIM`) whose row `i` is scaled by `scales[i]`.
    pub(crate) fn new(data: &[i8], scales: &[f32]) -> Signs {
        let n = scales.len().min(data.len() / DIM);
        let mut mean = vec![0f32; DIM];
        for (row, &s) in data.chunks_exact(DIM).zip(scales).take(n) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x as f32 * s;
            }
        }
        if n > 0 {
            mean.iter_mut().for_each(|m| *m /= n as f32);
        }
        let mut bits = vec![0u64; n.div_ceil(GROUP) * GROUP * WORDS];
        let mut alpha = Vec::with_capacity(n);
        let mut ones = Vec::with_capacity(n);
        let mean_arr: &[f32; DIM] = mean.as_slice().try_into().expect("DIM");
        let mut centred = [0f32; DIM];
        for (i, (row, &s)) in data.chunks_exact(DIM).zip(scales).take(n).enumerate() {
            let row: &[i8; DIM] = row.try_into().expect("DIM");
            // Fixed-size loops the compiler vectorises.
            for d in 0..DIM {
                centred[d] = row[d] as f32 * s - mean_arr[d];
            }
            let dist: f32 = centred.iter().map(|v| v.abs()).sum();
            let mut set = 0;
            for (c, chunk) in centred.chunks_exact(64).enumerate() {
                let w = chunk.iter().enumerate().fold(0u64, |acc, (k, &v)| acc | (((v > 0.0) as u64) << k));
                bits[word_at(i, c)] = w;
                set += w.count_ones();
            }
            alpha.push(dist / DIM as f32);
            ones.push(set as f32);
        }
        alpha.resize(n.div_ceil(GROUP) * GROUP, 0.0);
        ones.resize(n.div_ceil(GROUP) * GROUP, 0.0);
        Signs { mean, bits, alpha, ones, rows: n }
    }

    /// Rows sketched.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Estimated dot products of the query (`q` int8 at `qscale`) with every row, in the units of
    /// the exact scores (comparable across segments), given to `f` a block of rows at a time
    /// with the number of the block's first row (no allocation the size of the segment).
    pub(crate) fn estimate(&self, q: &[i8], qscale: f32, mut f: impl FnMut(usize, &[f32])) {
        let at_mean: f32 = q.iter().zip(&self.mean).map(|(&a, &m)| a as f32 * m).sum();
        let query = Query4::new(q);
        // Σ over set bits of q ≈ lo · ones + step · t, and q·signs = 2 Σ_set q - Σ q, so
        // estimate = qscale · at_mean + qscale · alpha · (2 step · t + 2 lo · ones + k0).
        let terms = Terms {
            t: 2.0 * query.step,
            ones: 2.0 * query.lo,
            k0: -query.step * query.sum - query.lo * DIM as f32,
            scale: qscale,
            base: qscale * at_mean,
        };
        let mut est = [0f32; BLOCK];
        for start in (0..self.len()).step_by(BLOCK) {
            let n = BLOCK.min(self.len() - start);
            let padded = n.div_ceil(GROUP) * GROUP;
            let words = &self.bits[start * WORDS..(start + padded) * WORDS];
            let rows = (&self.alpha[start..start + padded], &self.ones[start..start + padded]);
            query.estimates(words, rows, &terms, &mut est[..padded]);
            f(start, &est[..n]);
        }
    }
}

/// The terms of an estimate that do not depend on the row.
struct Terms {
    t: f32,
    ones: f32,
    k0: f32,
    scale: f32,
    base: f32,
}

impl Terms {
    fn estimate(&self, t: u32, alpha: f32, ones: f32) -> f32 {
        self.base + self.scale * alpha * (self.t * t as f32 + self.ones * ones + self.k0)
    }
}

/// Where word `c` of row `i` is stored.
fn word_at(i: usize, c: usize) -> usize {
    (i / GROUP) * GROUP * WORDS + c * GROUP + i % GROUP
}

/// The query cut to `PLANES` bits a component: component d ≈ lo + step · level(d), and bit p of
/// every level in `planes[p]` (one 64-bit word per word of a row).
struct Query4 {
    lo: f32,
    step: f32,
    /// Σ over components of their level.
    sum: f32,
    planes: [[u64; WORDS]; PLANES],
    /// How this CPU counts the bits, chosen once per query.
    kernel: Kernel,
}

impl Query4 {
    fn new(q: &[i8]) -> Query4 {
        let lo = q.iter().copied().min().unwrap_or(0) as f32;
        let hi = q.iter().copied().max().unwrap_or(0) as f32;
        let step = ((hi - lo) / LEVELS).max(f32::MIN_POSITIVE);
        let mut planes = [[0u64; WORDS]; PLANES];
        let mut sum = 0u32;
        for (d, &a) in q.iter().take(DIM).enumerate() {
            let level = ((a as f32 - lo) / step).round().clamp(0.0, LEVELS) as u32;
            sum += level;
            for (p, plane) in planes.iter_mut().enumerate() {
                plane[d / 64] |= (((level >> p) & 1) as u64) << (d % 64);
            }
        }
        Query4 { lo, step, sum: sum as f32, planes, kernel: kernel() }
    }

    /// Per row of `words` (whole groups), the sum of the levels its bits select.
    #[cfg(test)]
    fn sums(&self, words: &[u64], out: &mut [u32]) {
        match self.kernel {
            // SAFETY (each): `kernel` chose it only on a CPU with the features it is compiled for.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Popcnt => unsafe { sums_popcnt(&self.planes, words, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Bytes => unsafe { sums_bytes(&self.planes, words, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => unsafe { sums_popcnt64(&self.planes, words, out) },
            _ => sums_portable(&self.planes, words, out),
        }
    }

    /// Per row of `words` (whole groups, at most `BLOCK` rows), its estimate from its sum,
    /// `alpha` and `ones`.
    fn estimates(&self, words: &[u64], (alpha, ones): (&[f32], &[f32]), terms: &Terms, out: &mut [f32]) {
        let mut sums = [0u32; BLOCK];
        let sums = &mut sums[..out.len()];
        match self.kernel {
            // SAFETY (each): `kernel` chose it only on a CPU with the features it is compiled for.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Popcnt => return unsafe { estimates_popcnt(&self.planes, words, (alpha, ones), terms, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Bytes => return unsafe { estimates_bytes(&self.planes, words, (alpha, ones), terms, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => unsafe { sums_popcnt64(&self.planes, words, sums) },
            _ => sums_portable(&self.planes, words, sums),
        }
        for (((e, &t), &a), &o) in out.iter_mut().zip(&*sums).zip(alpha).zip(ones) {
            *e = terms.estimate(t, a, o);
        }
    }
}

/// How this CPU counts the bits: AVX-512 VPOPCNTDQ (Ice Lake, Zen 4 and later), AVX-512BW
/// with a table of each half byte's bits (Skylake-SP, Cascade Lake), a row at a time with the
/// POPCNT instruction, or a row at a time with plain Rust.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kernel {
    Avx512Popcnt,
    Avx512Bytes,
    Popcnt,
    Portable,
}

impl Kernel {
    /// Fastest first.
    const ALL: [Kernel; 4] = [Kernel::Avx512Popcnt, Kernel::Avx512Bytes, Kernel::Popcnt, Kernel::Portable];

    /// Whether this CPU runs it (the AVX-512 ones also need AVX2 and FMA for the estimates).
    fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx512 = || {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
            };
            match self {
                Kernel::Avx512Popcnt => avx512() && is_x86_feature_detected!("avx512vpopcntdq"),
                Kernel::Avx512Bytes => avx512() && is_x86_feature_detected!("avx512bw"),
                Kernel::Popcnt => is_x86_feature_detected!("popcnt"),
                Kernel::Portable => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Portable
        }
    }
}

/// The fastest kernel this CPU has.
fn kernel() -> Kernel {
    Kernel::ALL.into_iter().find(|k| k.supported()).unwrap_or(Kernel::Portable)
}

/// Any CPU: a row's words at a time.
#[inline(always)]
fn sums_portable(planes: &[[u64; WORDS]; PLANES], words: &[u64], out: &mut [u32]) {
    for (group, out) in words.chunks_exact(GROUP * WORDS).zip(out.chunks_mut(GROUP)) {
        for (r, o) in out.iter_mut().enumerate() {
            let mut t = 0u32;
            for c in 0..WORDS {
                let w = group[c * GROUP + r];
                for (p, plane) in planes.iter().enumerate() {
                    t += (w & plane[c]).count_ones() << p;
                }
            }
            *o = t;
        }
    }
}

/// `sums_portable` with the POPCNT instruction (x86-64 CPUs since 2008; without it Rust counts
/// bits with a dozen instructions a word).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn sums_popcnt64(planes: &[[u64; WORDS]; PLANES], words: &[u64], out: &mut [u32]) {
    sums_portable(planes, words, out)
}

/// `Query4::estimates` with AVX-512 VPOPCNTDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,fma")]
unsafe fn estimates_popcnt(
    planes: &[[u64; WORDS]; PLANES],
    words: &[u64],
    rows: (&[f32], &[f32]),
    terms: &Terms,
    out: &mut [f32],
) {
    use std::arch::x86_64::*;
    // SAFETY: this function's features are those of the intrinsics.
    unsafe { estimates_body(planes, words, rows, terms, out, |v| _mm512_popcnt_epi64(v)) }
}

/// `Query4::estimates` with AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
unsafe fn estimates_bytes(
    planes: &[[u64; WORDS]; PLANES],
    words: &[u64],
    rows: (&[f32], &[f32]),
    terms: &Terms,
    out: &mut [f32],
) {
    // SAFETY: this function's features are those of the intrinsics.
    unsafe { estimates_body(planes, words, rows, terms, out, |v| popcnt_bytes(v)) }
}

/// `Query4::sums` with AVX-512 VPOPCNTDQ.
#[cfg(all(test, target_arch = "x86_64"))]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,fma")]
unsafe fn sums_popcnt(planes: &[[u64; WORDS]; PLANES], words: &[u64], out: &mut [u32]) {
    use std::arch::x86_64::*;
    // SAFETY: this function's features are those of the intrinsics.
    unsafe { sums_body(planes, words, out, |_, _| {}, |v| _mm512_popcnt_epi64(v)) }
}

/// `Query4::sums` with AVX-512BW.
#[cfg(all(test, target_arch = "x86_64"))]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
unsafe fn sums_bytes(planes: &[[u64; WORDS]; PLANES], words: &[u64], out: &mut [u32]) {
    // SAFETY: this function's features are those of the intrinsics.
    unsafe { sums_body(planes, words, out, |_, _| {}, |v| popcnt_bytes(v)) }
}

/// The bits set in each 64-bit lane, with AVX-512BW only: each half byte's count from a table
/// (`vpshufb`), the bytes of a lane summed by `vpsadbw`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn popcnt_bytes(v: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    // SAFETY: called only from functions compiled with AVX-512BW.
    unsafe {
        let table = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
        let low = _mm512_set1_epi8(0x0f);
        let lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, low));
        let hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
        _mm512_sad_epu8(_mm512_add_epi8(lo, hi), _mm512_setzero_si512())
    }
}

/// The eight sums of each group, converted and combined with the group's `alpha` and `ones`
/// in one register. Inlined into a function compiled for the features of `popcnt`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn estimates_body(
    planes: &[[u64; WORDS]; PLANES],
    words: &[u64],
    (alpha, ones): (&[f32], &[f32]),
    terms: &Terms,
    out: &mut [f32],
    popcnt: impl Fn(std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i,
) {
    use std::arch::x86_64::*;
    let groups = words.len() / (GROUP * WORDS);
    assert!(alpha.len() >= groups * GROUP && ones.len() >= groups * GROUP && out.len() >= groups * GROUP);
    // SAFETY: the caller is compiled with AVX-512F, AVX2 and FMA; the group's alpha, ones and
    // out are in bounds (asserted above).
    unsafe {
        let (kt, ko, k0) = (_mm256_set1_ps(terms.t), _mm256_set1_ps(terms.ones), _mm256_set1_ps(terms.k0));
        let (scale, base) = (_mm256_set1_ps(terms.scale), _mm256_set1_ps(terms.base));
        sums_body(
            planes,
            words,
            &mut [],
            |g, t| {
                let i = g * GROUP;
                let a = _mm256_loadu_ps(alpha.as_ptr().add(i));
                let o = _mm256_loadu_ps(ones.as_ptr().add(i));
                let inner = _mm256_fmadd_ps(kt, _mm256_cvtepi32_ps(t), _mm256_fmadd_ps(ko, o, k0));
                _mm256_storeu_ps(out.as_mut_ptr().add(i), _mm256_fmadd_ps(_mm256_mul_ps(a, scale), inner, base));
            },
            popcnt,
        )
    }
}

/// One register holds word `c` of a group's eight rows; each of the query's planes is ANDed with
/// it and counted, lane by lane. Each group's eight sums go to `out` when it has room for them,
/// and to `then` with the group's number. Inlined into a function compiled for AVX-512F and the
/// features of `popcnt`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn sums_body(
    planes: &[[u64; WORDS]; PLANES],
    words: &[u64],
    out: &mut [u32],
    mut then: impl FnMut(usize, std::arch::x86_64::__m256i),
    popcnt: impl Fn(std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i,
) {
    use std::arch::x86_64::*;
    let groups = words.len() / (GROUP * WORDS);
    // SAFETY: the caller is compiled with AVX-512F; loads and stores are within the slices.
    unsafe {
        let mut bcast = [[_mm512_setzero_si512(); WORDS]; PLANES];
        for (b, plane) in bcast.iter_mut().zip(planes) {
            for (z, &w) in b.iter_mut().zip(plane) {
                *z = _mm512_set1_epi64(w as i64);
            }
        }
        for g in 0..groups {
            let group = &words[g * GROUP * WORDS..(g + 1) * GROUP * WORDS];
            let mut acc = [_mm512_setzero_si512(); PLANES];
            for (c, run) in group.chunks_exact(GROUP).enumerate() {
                // `run` holds GROUP = 8 words.
                let w = _mm512_loadu_si512(run.as_ptr() as *const _);
                for (a, b) in acc.iter_mut().zip(&bcast) {
                    *a = _mm512_add_epi64(*a, popcnt(_mm512_and_si512(w, b[c])));
                }
            }
            let mut t = acc[0];
            for (p, a) in acc.iter().enumerate().skip(1) {
                t = _mm512_add_epi64(t, _mm512_sll_epi64(*a, _mm_cvtsi32_si128(p as i32)));
            }
            let t = _mm512_cvtepi64_epi32(t);
            if let Some(o) = out.get_mut(g * GROUP..(g + 1) * GROUP) {
                // `o` holds GROUP = 8 u32.
                _mm256_storeu_si256(o.as_mut_ptr() as *mut __m256i, t);
            }
            then(g, t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_sums_the_selected_levels() {
        let q: Vec<i8> = (0..DIM).map(|i| ((i * 37 % 255) as i32 - 127) as i8).collect();
        let query = Query4::new(&q);
        let rows = 3 * GROUP;
        let row_words: Vec<u64> =
            (0..(rows * WORDS) as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 7)).collect();
        let mut words = vec![0u64; rows * WORDS];
        for r in 0..rows {
            for c in 0..WORDS {
                words[word_at(r, c)] = row_words[r * WORDS + c];
            }
        }
        let level = |d: usize| (0..PLANES).map(|p| ((query.planes[p][d / 64] >> (d % 64)) & 1) << p).sum::<u64>();
        let expected: Vec<u32> = (0..rows)
            .map(|r| {
                (0..DIM).filter(|&d| row_words[r * WORDS + d / 64] >> (d % 64) & 1 == 1).map(|d| level(d) as u32).sum()
            })
            .collect();
        // The levels stand for the components: lo + step · level within half a step.
        for (d, &a) in q.iter().enumerate() {
            let back = query.lo + query.step * level(d) as f32;
            assert!((back - a as f32).abs() <= query.step / 2.0 + 1e-3, "component {d}: {a} -> {back}");
        }
        // Every kernel this CPU has, whichever `kernel` picks.
        let kernels: Vec<Kernel> = Kernel::ALL.into_iter().filter(|k| k.supported()).collect();
        assert!(kernels.contains(&Kernel::Portable) && kernels.contains(&query.kernel));
        let mut query = query;
        for &k in &kernels {
            query.kernel = k;
            let mut v = vec![0u32; rows];
            query.sums(&words, &mut v);
            assert_eq!(v, expected, "{k:?}");
        }
        // The estimates of every variant: from the sums, as the formula says.
        let alpha: Vec<f32> = (0..rows).map(|r| 0.01 + r as f32 * 0.001).collect();
        let ones: Vec<f32> =
            (0..rows).map(|r| (0..WORDS).map(|c| row_words[r * WORDS + c].count_ones()).sum::<u32>() as f32).collect();
        let terms = Terms { t: 0.5, ones: -3.0, k0: 7.0, scale: 0.02, base: 0.1 };
        for &k in &kernels {
            query.kernel = k;
            let mut est = vec![0f32; rows];
            query.estimates(&words, (&alpha, &ones), &terms, &mut est);
            for r in 0..rows {
                let want = terms.estimate(expected[r], alpha[r], ones[r]);
                assert!((est[r] - want).abs() <= 1e-4 * want.abs().max(1.0), "{k:?}, row {r}: {} vs {want}", est[r]);
            }
        }
    }

    #[test]
    fn estimates_follow_the_exact_dot_products() {
        // Rows spread around a shared direction, as sentence vectors are.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        // Not a whole number of groups nor of blocks.
        let n = 1203;
        let mut data = Vec::with_capacity(n * DIM);
        let mut scales = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f32> = (0..DIM).map(|d| if d % 5 == 0 { 0.5 } else { 0.0 } + next()).collect();
            let (q, s) = super::super::vectors::quantize(&row);
            data.extend(q);
            scales.push(s);
        }
        let query: Vec<f32> = (0..DIM).map(|d| if d % 5 == 0 { 0.3 } else { 0.0 } + next()).collect();
        let (q, qs) = super::super::vectors::quantize(&query);
        let signs = Signs::new(&data, &scales);
        let mut est = Vec::new();
        signs.estimate(&q, qs, |start, e| {
            assert_eq!(start, est.len());
            est.extend_from_slice(e)
        });
        assert_eq!(est.len(), n);
        let exact: Vec<f32> = data
            .chunks_exact(DIM)
            .zip(&scales)
            .map(|(r, s)| r.iter().zip(&q).map(|(&a, &b)| a as i32 * b as i32).sum::<i32>() as f32 * s * qs)
            .collect();
        // The best tenth by estimate holds most of the best twentieth by exact score.
        let top = |v: &[f32], k: usize| {
            let mut i: Vec<usize> = (0..v.len()).collect();
            i.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
            i.truncate(k);
            i
        };
        let (e, x) = (top(&est, n / 10), top(&exact, n / 20));
        let kept = x.iter().filter(|i| e.contains(i)).count();
        assert!(kept * 4 >= x.len() * 3, "{kept} of {}", x.len());
        // What the four-bit query adds to the one-bit rows' error is small: the same sketch with
        // the query's full components ranks nearly the same rows first.
        let at_mean: f32 = q.iter().zip(&signs.mean).map(|(&a, &m)| a as f32 * m).sum();
        let full: Vec<f32> = (0..n)
            .map(|r| {
                let q_signs: f32 =
                    (0..DIM)
                        .map(|d| {
                            if signs.bits[word_at(r, d / 64)] >> (d % 64) & 1 == 1 {
                                q[d] as f32
                            } else {
                                -(q[d] as f32)
                            }
                        })
                        .sum();
                qs * (at_mean + signs.alpha[r] * q_signs)
            })
            .collect();
        let f = top(&full, n / 10);
        let same = f.iter().filter(|i| e.contains(i)).count();
        assert!(same * 10 >= f.len() * 9, "{same} of {}", f.len());
    }
}
