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

use crate::model::DIM;

/// 64-bit words of one row's signs.
const WORDS: usize = DIM / 64;

/// The sketch of one segment's rows.
pub(crate) struct Signs {
    /// The segment's mean row (float).
    mean: Vec<f32>,
    /// Per row, bit d set when component d lies above the mean.
    bits: Vec<u64>,
    /// Per row, the mean absolute distance of its components from the mean (float).
    alpha: Vec<f32>,
    /// Per row, the number of bits set.
    ones: Vec<u16>,
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
        let mut bits = vec![0u64; n * WORDS];
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
            for (w, chunk) in bits[i * WORDS..(i + 1) * WORDS].iter_mut().zip(centred.chunks_exact(64)) {
                *w = chunk.iter().enumerate().fold(0u64, |acc, (k, &v)| acc | (((v > 0.0) as u64) << k));
            }
            alpha.push(dist / DIM as f32);
            ones.push(bits[i * WORDS..(i + 1) * WORDS].iter().map(|w| w.count_ones() as u16).sum());
        }
        Signs { mean, bits, alpha, ones }
    }

    /// Rows sketched.
    pub(crate) fn len(&self) -> usize {
        self.alpha.len()
    }

    /// Estimated dot products of the query (`q` int8 at `qscale`) with every row, in the units of
    /// the exact scores (comparable across segments), given to `f` with the row's number in
    /// order, a block at a time (no allocation the size of the segment).
    pub(crate) fn estimate(&self, q: &[i8], qscale: f32, mut f: impl FnMut(usize, f32)) {
        const BLOCK: usize = 1024;
        let at_mean: f32 = q.iter().zip(&self.mean).map(|(&a, &m)| a as f32 * m).sum();
        let q_sum: i32 = q.iter().map(|&a| a as i32).sum();
        let mut qu = [0u8; DIM];
        for (u, &a) in qu.iter_mut().zip(q) {
            *u = (a as i16 + 128) as u8;
        }
        let picker = Picker::new(qu);
        let mut sums = [0u32; BLOCK];
        for start in (0..self.len()).step_by(BLOCK) {
            let n = BLOCK.min(self.len() - start);
            picker.masked_sums(&self.bits[start * WORDS..(start + n) * WORDS], &mut sums[..n]);
            for (k, &t) in sums[..n].iter().enumerate() {
                let (p, a) = (self.ones[start + k], self.alpha[start + k]);
                // Σ over set bits of q = t - 128 p; q·signs = 2 Σ_set q - Σ q.
                let q_signs = 2 * (t as i32 - 128 * p as i32) - q_sum;
                f(start + k, qscale * (at_mean + a * q_signs as f32));
            }
        }
    }
}

/// How the query's bytes selected by a row's bits are summed on this CPU, prepared once per
/// query: AVX-512BW masks, or (any CPU) a table of the sums of each byte's selection.
enum Picker {
    #[cfg(target_arch = "x86_64")]
    Avx512(Box<[u8; DIM]>),
    Table(Vec<u16>),
}

impl Picker {
    fn new(qu: [u8; DIM]) -> Picker {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512bw") {
                return Picker::Avx512(Box::new(qu));
            }
        }
        Picker::Table(byte_table(&qu))
    }

    /// Per row, the sum of the query bytes whose bit is set in the row's words.
    fn masked_sums(&self, bits: &[u64], out: &mut [u32]) {
        match self {
            // SAFETY: `new` chose this variant only on a CPU with AVX-512BW.
            #[cfg(target_arch = "x86_64")]
            Picker::Avx512(qu) => unsafe { masked_sums_avx512(qu, bits, out) },
            Picker::Table(table) => masked_sums_portable(table, bits, out),
        }
    }
}

/// AVX-512BW: each 64-bit word selects 64 query bytes (`vmovdqu8` with a zeroing mask), summed
/// eight at a time by `vpsadbw`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn masked_sums_avx512(qu: &[u8; DIM], bits: &[u64], out: &mut [u32]) {
    use std::arch::x86_64::*;
    assert!(bits.len() >= out.len() * WORDS);
    let mut qz = [_mm512_setzero_si512(); WORDS];
    for (c, z) in qz.iter_mut().enumerate() {
        // SAFETY: qu holds DIM bytes; c * 64 + 64 <= DIM.
        *z = unsafe { _mm512_loadu_si512(qu.as_ptr().add(c * 64) as *const _) };
    }
    let zero = _mm512_setzero_si512();
    for (r, o) in out.iter_mut().enumerate() {
        let words = &bits[r * WORDS..(r + 1) * WORDS];
        let mut acc = _mm512_setzero_si512();
        for (c, &w) in words.iter().enumerate() {
            let picked = _mm512_maskz_mov_epi8(_cvtu64_mask64(w), qz[c]);
            acc = _mm512_add_epi64(acc, _mm512_sad_epu8(picked, zero));
        }
        *o = _mm512_reduce_add_epi64(acc) as u32;
    }
}

/// Per byte position of the query and value of a row's byte there, the sum of the query bytes
/// that value selects.
fn byte_table(qu: &[u8; DIM]) -> Vec<u16> {
    let mut table = vec![0u16; DIM / 8 * 256];
    for (b, chunk) in qu.chunks_exact(8).enumerate() {
        for v in 0..256usize {
            table[b * 256 + v] = (0..8).filter(|k| v & (1 << k) != 0).map(|k| chunk[k] as u16).sum();
        }
    }
    table
}

/// Any CPU: the sums through `byte_table`'s table, a byte of the row at a time.
fn masked_sums_portable(table: &[u16], bits: &[u64], out: &mut [u32]) {
    for (r, o) in out.iter_mut().enumerate() {
        let mut t = 0u32;
        for (c, &w) in bits[r * WORDS..(r + 1) * WORDS].iter().enumerate() {
            for k in 0..8 {
                t += table[(c * 8 + k) * 256 + ((w >> (8 * k)) & 0xff) as usize] as u32;
            }
        }
        *o = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_sums_the_selected_bytes() {
        let mut qu = [0u8; DIM];
        for (i, u) in qu.iter_mut().enumerate() {
            *u = (i * 37 % 256) as u8;
        }
        let bits: Vec<u64> = (0..5 * WORDS as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 7)).collect();
        let expected: Vec<u32> = (0..5)
            .map(|r| (0..DIM).filter(|&d| bits[r * WORDS + d / 64] >> (d % 64) & 1 == 1).map(|d| qu[d] as u32).sum())
            .collect();
        let mut portable = vec![0u32; 5];
        masked_sums_portable(&byte_table(&qu), &bits, &mut portable);
        assert_eq!(portable, expected);
        let mut any = vec![0u32; 5];
        Picker::new(qu).masked_sums(&bits, &mut any);
        assert_eq!(any, expected);
    }

    #[test]
    fn estimates_follow_the_exact_dot_products() {
        // Rows spread around a shared direction, as sentence vectors are.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let n = 400;
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
        signs.estimate(&q, qs, |i, e| {
            assert_eq!(i, est.len());
            est.push(e)
        });
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
        assert!(kept * 10 >= x.len() * 8, "{kept} of {}", x.len());
    }
}
