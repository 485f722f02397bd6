//! The forward pass of USE multilingual v3, on the CPU.
//!
//! Token embeddings (512, stored at 6 bits with a scale and offset per row group) -> one
//! projection to three 256-wide branches and a layer norm -> per branch, two n-gram convolutions
//! (windows of 2, 3 and 5 tokens, ReLU, residual) -> layer norm over [embedding | branches] ->
//! sum over the sentence, projection, scaled by 1/sqrt(length) -> a feed-forward stack with skip
//! connections -> tanh -> unit length. This is the network of the reference package's numpy
//! backend, computed the same way: every matrix product is a GEMM over all the tokens of a
//! micro-batch of sentences, and a window never reaches into the neighbouring sentence.

use rustc_hash::FxHashMap;

use super::file::{Tensor, Tensors};
use super::int8::{self, QMatrix, QRows};
use crate::{Error, Result};

/// Width of the sentence vectors.
pub const DIM: usize = 512;
const EMB: usize = 512;
const CNN: usize = 256;
/// Pooled features per sentence: [embedding | three branches].
pub const FEAT: usize = EMB + 3 * CNN;
const HIDDEN: usize = 320;
/// Row groups of the quantised embedding table: row r belongs to group r % GROUPS.
pub const GROUPS: usize = 17;
/// Bytes of one packed 6-bit embedding row.
pub const PACKED_ROW: usize = EMB * 6 / 8;
/// (n-gram order, tokens of left context) of the three branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];

/// The weights.
pub struct Network {
    emb: Vec<u8>,
    rows: usize,
    scale: Vec<f32>,
    lo: Vec<f32>,
    proj_w: Vec<f32>,
    proj_b: Vec<f32>,
    ln_g_all: Vec<f32>,
    ln_b_all: Vec<f32>,
    w1: [Vec<f32>; 3],
    b1: [Vec<f32>; 3],
    w2: [Vec<f32>; 3],
    b2: [Vec<f32>; 3],
    ln_g: Vec<f32>,
    ln_b: Vec<f32>,
    cnn_w: Vec<f32>,
    cnn_b: Vec<f32>,
    d0: Vec<f32>,
    d1: Vec<f32>,
    p1: Vec<f32>,
    d2: Vec<f32>,
    p3: Vec<f32>,
    d3: Vec<f32>,
    eps: f32,
    /// The per-token products in eight bits, when the CPU runs them ([`int8::available`]).
    quantised: Option<Quantised>,
    /// What [`Network::forward`] uses.
    precision: Precision,
}

thread_local! {
    /// The per-token features of the thread's last batch, reused by its next.
    static FEATS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Eight-bit copies of the per-token weights: the projection; each branch's first convolution
/// with its taps side by side (`256 × order·256`: column block j is the weight of the token j
/// places into the window), so one product gives every tap of every distinct token and each
/// window sums shifted rows of it; the second convolutions per tap, for
/// [`QMatrix::window_product`].
struct Quantised {
    proj: QMatrix,
    conv1: [QMatrix; 3],
    /// The second convolutions, one 256 × 256 matrix per tap (window position).
    conv2: [Vec<QMatrix>; 3],
    cache: TokenCache,
    /// Tokens whose entries were computed (not found in the cache), over the network's life.
    computed: std::sync::atomic::AtomicU64,
}

/// Floats kept per token: its projection after the layer norm (3·CNN), then the taps of the
/// three first convolutions (2, 3 and 5 taps of CNN).
const ENTRY: usize = 3 * CNN + 10 * CNN;
/// Where each branch's taps start in an entry.
const TAPS_AT: [usize; 3] = [3 * CNN, 5 * CNN, 8 * CNN];
/// Tokens whose entries are kept (the first this many seen; the frequent ones come early):
/// 16,384 x 13 kB = 218 MB at most. On the 10,000-file archive's vector phase (118,6xx passages,
/// old and new builds alternating): 4,096 took 47.1-54.4 s, 16,384 44.7-51.0 s (4-11% less,
/// 150-200 MB more at the peak), 32,768 42.6-44.0 s (another ~3%, for 290 MB more).
const CACHED_TOKENS: usize = 16384;

/// The per-token work that depends on the token alone (projection, layer norm, the first
/// convolutions' taps), kept across batches for the most common tokens: computed the same way,
/// so a vector does not depend on what was cached.
struct TokenCache {
    slots: Vec<std::sync::OnceLock<Box<[f32]>>>,
    used: std::sync::atomic::AtomicUsize,
}

impl TokenCache {
    fn new(rows: usize) -> TokenCache {
        TokenCache { slots: (0..rows).map(|_| std::sync::OnceLock::new()).collect(), used: Default::default() }
    }

    fn get(&self, id: u32) -> Option<&[f32]> {
        self.slots.get(id as usize)?.get().map(|b| &**b)
    }

    fn put(&self, id: u32, entry: &[f32]) {
        use std::sync::atomic::Ordering;
        let Some(slot) = self.slots.get(id as usize) else { return };
        if slot.get().is_none() && self.used.fetch_add(1, Ordering::Relaxed) < CACHED_TOKENS {
            let _ = slot.set(entry.into());
        }
    }
}

/// The weights of each tap of a convolution (taps·CNN × CNN, the window's rows stacked).
fn per_tap(w: &[f32], taps: usize) -> Vec<QMatrix> {
    (0..taps).map(|j| QMatrix::new(&w[j * CNN * CNN..(j + 1) * CNN * CNN], CNN, CNN)).collect()
}

/// How the per-token products are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Float32 GEMMs throughout.
    F32,
    /// Eight-bit products for the projection and the convolutions (AVX-512 VNNI), float32 for
    /// the rest.
    Int8,
}

/// `w` (taps·CNN × CNN, the window's rows stacked) as CNN × taps·CNN, taps side by side.
fn taps_side_by_side(w: &[f32], taps: usize) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for j in 0..taps {
        for r in 0..CNN {
            let src = &w[(j * CNN + r) * CNN..(j * CNN + r + 1) * CNN];
            out[r * taps * CNN + j * CNN..r * taps * CNN + (j + 1) * CNN].copy_from_slice(src);
        }
    }
    out
}

impl Network {
    /// Takes the tensors of a model file, checking every shape.
    pub fn from_tensors(mut t: Tensors) -> Result<Network> {
        let mut f = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            match t.remove(name) {
                Some(Tensor::F32 { shape: s, data }) if s == shape => Ok(data),
                Some(Tensor::F32 { shape: s, .. }) => {
                    Err(Error::Model(format!("tensor {name} has shape {s:?}, expected {shape:?}")))
                }
                Some(_) => Err(Error::Model(format!("tensor {name} is not float32"))),
                None => Err(Error::Model(format!("tensor {name} is missing"))),
            }
        };
        let scale = f("emb_scale", &[GROUPS])?;
        let lo = f("emb_lo", &[GROUPS])?;
        let eps = f("eps", &[1])?[0];
        let proj_w = f("proj_w", &[EMB, 3 * CNN])?;
        let proj_b = f("proj_b", &[3 * CNN])?;
        let ln_g_all = f("ln_g_all", &[3 * CNN])?;
        let ln_b_all = f("ln_b_all", &[3 * CNN])?;
        let mut w1: [Vec<f32>; 3] = Default::default();
        let mut b1: [Vec<f32>; 3] = Default::default();
        let mut w2: [Vec<f32>; 3] = Default::default();
        let mut b2: [Vec<f32>; 3] = Default::default();
        for (i, &(n, _)) in ORDERS.iter().enumerate() {
            w1[i] = f(&format!("w1_{n}"), &[n * CNN, CNN])?;
            b1[i] = f(&format!("b1_{n}"), &[CNN])?;
            w2[i] = f(&format!("w2_{n}"), &[n * CNN, CNN])?;
            b2[i] = f(&format!("b2_{n}"), &[CNN])?;
        }
        let net_rest = (
            f("ln_g", &[FEAT])?,
            f("ln_b", &[FEAT])?,
            f("cnn_w", &[FEAT, DIM])?,
            f("cnn_b", &[DIM])?,
            f("d0", &[DIM, HIDDEN])?,
            f("d1", &[HIDDEN, HIDDEN])?,
            f("p1", &[DIM, HIDDEN])?,
            f("d2", &[HIDDEN, DIM])?,
            f("p3", &[HIDDEN, DIM])?,
            f("d3", &[DIM, DIM])?,
        );
        let (emb, rows) = match t.remove("emb") {
            Some(Tensor::U8 { shape, data })
                if shape.len() == 2 && shape[1] == PACKED_ROW && data.len() == shape[0] * PACKED_ROW =>
            {
                (data, shape[0])
            }
            _ => return Err(Error::Model("tensor emb is missing or not packed 6-bit rows of 512".into())),
        };
        let (ln_g, ln_b, cnn_w, cnn_b, d0, d1, p1, d2, p3, d3) = net_rest;
        let quantised = int8::available().then(|| Quantised {
            proj: QMatrix::new(&proj_w, EMB, 3 * CNN),
            conv1: std::array::from_fn(|i| {
                QMatrix::new(&taps_side_by_side(&w1[i], ORDERS[i].0), CNN, ORDERS[i].0 * CNN)
            }),
            conv2: std::array::from_fn(|i| per_tap(&w2[i], ORDERS[i].0)),
            cache: TokenCache::new(rows),
            computed: Default::default(),
        });
        Ok(Network {
            emb,
            rows,
            scale,
            lo,
            proj_w,
            proj_b,
            ln_g_all,
            ln_b_all,
            w1,
            b1,
            w2,
            b2,
            ln_g,
            ln_b,
            cnn_w,
            cnn_b,
            d0,
            d1,
            p1,
            d2,
            p3,
            d3,
            eps,
            precision: if quantised.is_some() && std::env::var_os("WASH_LESSONS_F32").is_none_or(|v| v != "1") {
                Precision::Int8
            } else {
                Precision::F32
            },
            quantised,
        })
    }

    /// The precision [`Network::forward`] uses on this CPU: eight bits where the CPU runs them,
    /// unless `WASH_LESSONS_F32=1`.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// How many times the eight-bit path computed a token's own work (projection and first
    /// convolutions) rather than finding it in the cache, since the model was loaded.
    pub fn tokens_computed(&self) -> u64 {
        self.quantised.as_ref().map_or(0, |q| q.computed.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Rows of the embedding table (the vocabulary size the weights cover).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the dequantised embedding of token `id` into `out` (512 values).
    #[inline(always)]
    fn embedding(&self, id: u32, out: &mut [f32]) {
        let id = (id as usize).min(self.rows - 1);
        let g = id % GROUPS;
        let (scale, lo) = (self.scale[g], self.lo[g]);
        let packed = &self.emb[id * PACKED_ROW..(id + 1) * PACKED_ROW];
        for (o, b) in out.chunks_exact_mut(4).zip(packed.chunks_exact(3)) {
            let v = unpack6(b);
            for k in 0..4 {
                o[k] = v[k] as f32 * scale + lo;
            }
        }
    }

    /// Sentence vectors (unit length, `DIM` values each, appended to `out`) of sentences given as
    /// token ids. All sentences are computed together; callers cut work into micro-batches.
    pub fn forward(&self, sentences: &[&[u32]], out: &mut Vec<f32>) {
        self.forward_with(self.precision(), sentences, out)
    }

    /// [`Network::forward`] at a given precision (float32 when eight bits are not available).
    pub fn forward_with(&self, precision: Precision, sentences: &[&[u32]], out: &mut Vec<f32>) {
        let mut sums = Vec::new();
        self.pooled_with(precision, sentences, &mut sums);
        let lens: Vec<usize> = sentences.iter().map(|s| s.len()).collect();
        self.sentence_layers(&sums, &lens, out);
    }

    /// The per-token part of [`Network::forward_with`]: each sentence's pooled features (`FEAT`
    /// values, the sum over its tokens), appended to `sums`, for [`Network::sentence_layers`].
    pub fn pooled_with(&self, precision: Precision, sentences: &[&[u32]], sums: &mut Vec<f32>) {
        match (precision, &self.quantised) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `quantised` is only built when the CPU has AVX-512 F, BW and VNNI.
            (Precision::Int8, Some(q)) => unsafe { self.forward_avx512(q, sentences, sums) },
            _ => self.forward_body(None, sentences, sums),
        }
    }

    /// The eight-bit forward pass, with every loop inlined into it compiled for AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
    unsafe fn forward_avx512(&self, q: &Quantised, sentences: &[&[u32]], sums: &mut Vec<f32>) {
        self.forward_body(Some(q), sentences, sums)
    }

    #[inline(always)]
    fn forward_body(&self, quantised: Option<&Quantised>, sentences: &[&[u32]], sums: &mut Vec<f32>) {
        let n: usize = sentences.iter().map(|s| s.len()).sum();
        if sentences.is_empty() {
            return;
        }
        // Sentence bounds of every token.
        let mut bounds = Vec::with_capacity(n);
        let mut start = 0;
        for s in sentences {
            bounds.extend(std::iter::repeat_n((start, start + s.len()), s.len()));
            start += s.len();
        }

        // [raw embedding | branch 2 | branch 3 | branch 5] per token, every value written below:
        // the buffer is kept per thread rather than zeroed for each batch.
        let mut feats = FEATS.with(|f| std::mem::take(&mut *f.borrow_mut()));
        if feats.len() < n * FEAT {
            feats.resize(n * FEAT, 0.0);
        }
        // The projection and its layer norm depend on the token alone: compute them once per
        // distinct token of the batch.
        let mut distinct: FxHashMap<u32, usize> = FxHashMap::with_capacity_and_hasher(n, Default::default());
        let mut slot = Vec::with_capacity(n);
        let mut order = Vec::new();
        for &id in sentences.iter().flat_map(|s| s.iter()) {
            let next = distinct.len();
            let k = *distinct.entry(id).or_insert_with(|| {
                order.push(id);
                next
            });
            slot.push(k);
        }
        let u = order.len();
        let mut emb_u = vec![0f32; u * EMB];
        for (k, &id) in order.iter().enumerate() {
            self.embedding(id, &mut emb_u[k * EMB..(k + 1) * EMB]);
        }
        for (t, &k) in slot.iter().enumerate() {
            feats[t * FEAT..t * FEAT + EMB].copy_from_slice(&emb_u[k * EMB..(k + 1) * EMB]);
        }
        match quantised {
            Some(q) => {
                // Each distinct token's entry: computed now, or kept from an earlier batch.
                let (computed, ids) = self.token_entries(q, &order, &emb_u);
                let entries: Vec<&[f32]> = order
                    .iter()
                    .map(|&id| match ids.binary_search(&id) {
                        Ok(i) => &computed[i * ENTRY..(i + 1) * ENTRY],
                        Err(_) => q.cache.get(id).expect("a token not computed now is cached"),
                    })
                    .collect();
                self.convolutions_int8(q, &entries, &slot, &bounds, &mut feats);
            }
            None => {
                let mut x_u = vec![0f32; u * 3 * CNN];
                for row in x_u.chunks_exact_mut(3 * CNN) {
                    row.copy_from_slice(&self.proj_b);
                }
                gemm(&emb_u, u, EMB, &self.proj_w, 3 * CNN, &mut x_u, 1.0);
                for row in x_u.chunks_exact_mut(3 * CNN) {
                    layer_norm(row, &self.ln_g_all, &self.ln_b_all, self.eps);
                }
                self.convolutions_f32(&x_u, &slot, &bounds, &mut feats);
            }
        }
        self.pool(sentences, &feats, sums);
        FEATS.with(|f| *f.borrow_mut() = feats);
    }

    /// The three branches' convolutions in float32, into columns EMB.. of `feats`.
    fn convolutions_f32(&self, x_u: &[f32], slot: &[usize], bounds: &[(usize, usize)], feats: &mut [f32]) {
        let n = slot.len();
        let mut xs = vec![0f32; n * CNN];
        let mut h = vec![0f32; n * CNN];
        let mut c2 = vec![0f32; n * CNN];
        let mut window = vec![0f32; n * 5 * CNN];
        for (i, &(order_n, left)) in ORDERS.iter().enumerate() {
            for (t, &k) in slot.iter().enumerate() {
                xs[t * CNN..(t + 1) * CNN].copy_from_slice(&x_u[k * 3 * CNN + i * CNN..k * 3 * CNN + (i + 1) * CNN]);
            }
            let width = order_n * CNN;
            // h = relu(window(xs) @ w1 + b1) + xs
            gather(&xs, bounds, order_n, left, &mut window[..n * width]);
            fill_rows(&mut h, &self.b1[i]);
            gemm(&window[..n * width], n, width, &self.w1[i], CNN, &mut h, 1.0);
            for (hv, xv) in h.iter_mut().zip(&xs) {
                *hv = hv.max(0.0) + xv;
            }
            // c2 = relu(window(h) @ w2 + b2) + h
            gather(&h, bounds, order_n, left, &mut window[..n * width]);
            fill_rows(&mut c2, &self.b2[i]);
            gemm(&window[..n * width], n, width, &self.w2[i], CNN, &mut c2, 1.0);
            let off = EMB + i * CNN;
            for t in 0..n {
                let dst = &mut feats[t * FEAT + off..t * FEAT + off + CNN];
                let (c, hh) = (&c2[t * CNN..(t + 1) * CNN], &h[t * CNN..(t + 1) * CNN]);
                for j in 0..CNN {
                    dst[j] = c[j].max(0.0) + hh[j];
                }
            }
        }
    }

    /// The entries ([`ENTRY`] floats) of the distinct tokens `order` (embeddings `emb_u`) that
    /// the cache does not hold, computed in eight bits and offered to the cache; returned with
    /// their token ids, sorted by id.
    #[inline(always)]
    fn token_entries(&self, q: &Quantised, order: &[u32], emb_u: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let mut miss: Vec<(u32, usize)> =
            order.iter().enumerate().filter(|(_, &id)| q.cache.get(id).is_none()).map(|(k, &id)| (id, k)).collect();
        miss.sort_unstable();
        let m = miss.len();
        let mut local = vec![0f32; m * ENTRY];
        if m == 0 {
            return (local, Vec::new());
        }
        let mut rows = QRows::with_width(EMB);
        for &(_, k) in &miss {
            rows.push(&emb_u[k * EMB..(k + 1) * EMB]);
        }
        let mut x = vec![0f32; m * 3 * CNN];
        q.proj.product(&rows, &mut x);
        for (i, row) in x.chunks_exact_mut(3 * CNN).enumerate() {
            for (v, b) in row.iter_mut().zip(&self.proj_b) {
                *v += b;
            }
            layer_norm(row, &self.ln_g_all, &self.ln_b_all, self.eps);
            local[i * ENTRY..i * ENTRY + 3 * CNN].copy_from_slice(row);
        }
        let mut rows = QRows::with_width(CNN);
        let mut taps = vec![0f32; m * 5 * CNN];
        for (b, &(order_n, _)) in ORDERS.iter().enumerate() {
            rows.clear();
            for row in x.chunks_exact(3 * CNN) {
                rows.push(&row[b * CNN..(b + 1) * CNN]);
            }
            let width = order_n * CNN;
            q.conv1[b].product(&rows, &mut taps[..m * width]);
            for i in 0..m {
                local[i * ENTRY + TAPS_AT[b]..i * ENTRY + TAPS_AT[b] + width]
                    .copy_from_slice(&taps[i * width..(i + 1) * width]);
            }
        }
        for (i, &(id, _)) in miss.iter().enumerate() {
            q.cache.put(id, &local[i * ENTRY..(i + 1) * ENTRY]);
        }
        q.computed.fetch_add(m as u64, std::sync::atomic::Ordering::Relaxed);
        (local, miss.into_iter().map(|(id, _)| id).collect())
    }

    /// The three branches' convolutions in eight bits, into columns EMB.. of `feats`, from the
    /// distinct tokens' entries: each window of the first convolution sums its tokens' taps;
    /// the second is one fused window product per token.
    #[inline(always)]
    fn convolutions_int8(
        &self,
        q: &Quantised,
        entries: &[&[f32]],
        slot: &[usize],
        bounds: &[(usize, usize)],
        feats: &mut [f32],
    ) {
        let n = slot.len();
        let mut rows = QRows::with_width(CNN);
        let mut h = vec![0f32; n * CNN];
        let mut c = vec![0f32; n * CNN];
        // src[j][t]: the token tap j of token t's window sees (NONE outside its sentence).
        let mut src: [Vec<u32>; 5] = Default::default();
        for (i, &(order_n, left)) in ORDERS.iter().enumerate() {
            for (j, src) in src.iter_mut().enumerate().take(order_n) {
                src.clear();
                for (t, &(s, e)) in bounds.iter().enumerate() {
                    match (t + j).checked_sub(left).filter(|p| *p >= s && *p < e) {
                        Some(p) => src.push(p as u32),
                        None => src.push(int8::NONE),
                    }
                }
            }
            // h = relu(Σ taps + b1) + xs
            for t in 0..n {
                let dst = &mut h[t * CNN..(t + 1) * CNN];
                dst.copy_from_slice(&self.b1[i]);
                for (j, s) in src[..order_n].iter().enumerate() {
                    if s[t] != int8::NONE {
                        let e = entries[slot[s[t] as usize]];
                        add(dst, &e[TAPS_AT[i] + j * CNN..TAPS_AT[i] + (j + 1) * CNN]);
                    }
                }
                let xs = &entries[slot[t]][i * CNN..(i + 1) * CNN];
                for (hv, xv) in dst.iter_mut().zip(xs) {
                    *hv = hv.max(0.0) + xv;
                }
            }
            rows.clear();
            for row in h.chunks_exact(CNN) {
                rows.push(row);
            }
            let refs: Vec<&[u32]> = src[..order_n].iter().map(Vec::as_slice).collect();
            QMatrix::window_product(&q.conv2[i], &rows, &refs, &mut c);
            // feats = relu(window · w2 + b2) + h
            let off = EMB + i * CNN;
            for t in 0..n {
                let dst = &mut feats[t * FEAT + off..t * FEAT + off + CNN];
                let (cc, hh) = (&c[t * CNN..(t + 1) * CNN], &h[t * CNN..(t + 1) * CNN]);
                for (((d, cv), hv), b) in dst.iter_mut().zip(cc).zip(hh).zip(&self.b2[i]) {
                    *d = (cv + b).max(0.0) + hv;
                }
            }
        }
    }

    /// Layer norm of every token's features and their sum over each sentence, appended to `out`.
    #[inline(always)]
    fn pool(&self, sentences: &[&[u32]], feats: &[f32], out: &mut Vec<f32>) {
        // Σ_t layer_norm(x_t) = γ ⊙ Σ_t (x_t − μ_t) / σ_t + len · β: each token's row is read
        // once more after its mean and variance, and never written back.
        let s = sentences.len();
        let first = out.len();
        out.resize(first + s * FEAT, 0.0);
        let sums = &mut out[first..];
        let mut t = 0;
        for (j, sent) in sentences.iter().enumerate() {
            let dst = &mut sums[j * FEAT..(j + 1) * FEAT];
            for _ in 0..sent.len() {
                let row = &feats[t * FEAT..(t + 1) * FEAT];
                let mean = lane_sum(row, |x| x) / FEAT as f32;
                let var = lane_sum(row, |x| (x - mean) * (x - mean)) / FEAT as f32;
                let inv = 1.0 / (var + self.eps).sqrt();
                let shift = mean * inv;
                for (d, v) in dst.iter_mut().zip(row) {
                    *d += v * inv - shift;
                }
                t += 1;
            }
            let len = sent.len() as f32;
            for ((d, g), b) in dst.iter_mut().zip(&self.ln_g).zip(&self.ln_b) {
                *d = *d * g + len * b;
            }
        }
    }

    /// The per-sentence layers: from the pooled sums ([`Network::pooled_with`], `FEAT` values
    /// per sentence) and the sentences' lengths in tokens to unit vectors of `DIM` values,
    /// appended to `out`. Many sentences at once make these products efficient (their weights
    /// are streamed or packed once per call).
    pub fn sentence_layers(&self, sums: &[f32], lens: &[usize], out: &mut Vec<f32>) {
        let s = lens.len();
        assert_eq!(sums.len(), s * FEAT);
        if s == 0 {
            return;
        }
        let mut mean = vec![0f32; s * DIM];
        gemm(sums, s, FEAT, &self.cnn_w, DIM, &mut mean, 0.0);
        for (j, &len) in lens.iter().enumerate() {
            let len = len as f32;
            let inv = 1.0 / len.sqrt();
            for (m, b) in mean[j * DIM..(j + 1) * DIM].iter_mut().zip(&self.cnn_b) {
                *m = (*m + len * b) * inv;
            }
        }

        let mut y0 = vec![0f32; s * HIDDEN];
        gemm(&mean, s, DIM, &self.d0, HIDDEN, &mut y0, 0.0);
        relu(&mut y0);
        let mut y1 = vec![0f32; s * HIDDEN];
        gemm(&mean, s, DIM, &self.p1, HIDDEN, &mut y1, 0.0);
        gemm(&y0, s, HIDDEN, &self.d1, HIDDEN, &mut y1, 1.0);
        relu(&mut y1);
        let mut y2 = vec![0f32; s * DIM];
        gemm(&y1, s, HIDDEN, &self.d2, DIM, &mut y2, 0.0);
        relu(&mut y2);
        let mut z = vec![0f32; s * DIM];
        gemm(&y1, s, HIDDEN, &self.p3, DIM, &mut z, 0.0);
        gemm(&y2, s, DIM, &self.d3, DIM, &mut z, 1.0);
        for row in z.chunks_exact_mut(DIM) {
            for v in row.iter_mut() {
                *v = v.tanh();
            }
            let norm2: f32 = row.iter().map(|v| v * v).sum();
            let inv = 1.0 / norm2.max(self.eps).sqrt();
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
        out.extend_from_slice(&z);
    }
}

/// Floating-point operations (a multiply-add counts two) of one sentence of `tokens` tokens:
/// per token, the projection to the three branches and each branch's two convolutions; per
/// sentence, the projection of the pooled features and the feed-forward stack. Layer norms,
/// activations and the embedding lookup are left out (a few per cent).
pub fn flops(tokens: usize) -> f64 {
    let (per_token, per_sentence) = flops_split(tokens);
    per_token + per_sentence
}

/// Operations of the per-token work that depends on the token alone (projection and first
/// convolutions), which the eight-bit path computes once per distinct token of a batch and
/// keeps for common tokens ([`Network::tokens_computed`] counts how often it ran).
pub fn flops_token_alone() -> f64 {
    2.0 * (EMB * 3 * CNN + ORDERS.iter().map(|&(n, _)| n * CNN * CNN).sum::<usize>()) as f64
}

/// [`flops`] in two parts: the per-token products (eight-bit where the CPU runs them) and the
/// per-sentence ones (always float32).
pub fn flops_split(tokens: usize) -> (f64, f64) {
    let per_token = EMB * 3 * CNN + ORDERS.iter().map(|&(n, _)| 2 * n * CNN * CNN).sum::<usize>();
    let per_sentence = FEAT * DIM + 2 * DIM * HIDDEN + HIDDEN * HIDDEN + 2 * HIDDEN * DIM + DIM * DIM;
    (2.0 * (tokens * per_token) as f64, 2.0 * per_sentence as f64)
}

/// The matrix-product throughput of this machine, in GFLOP/s: products of the network's
/// per-token shape (512 tokens x 768 by 768 x 256, as the convolutions run) on every core at
/// once, for about `secs` seconds, through the same GEMM as the network.
pub fn gemm_gflops(secs: f64) -> f64 {
    let (m, k, n) = (512, 3 * CNN, CNN);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.01).collect();
    on_every_core(secs, 2.0 * (m * k * n) as f64, m * n, |c| gemm(&a, m, k, &b, n, c, 0.0))
}

/// Billions of operations per second of `product` (`ops` operations per call, writing into a
/// buffer of `out` floats) called on every core at once for about `secs` seconds.
pub(crate) fn on_every_core(secs: f64, ops: f64, out: usize, product: impl Fn(&mut [f32]) + Sync) -> f64 {
    use rayon::prelude::*;
    const CALLS: usize = 8;
    let threads = rayon::current_num_threads().max(1);
    let start = std::time::Instant::now();
    let mut rounds = 0usize;
    while start.elapsed().as_secs_f64() < secs || rounds == 0 {
        (0..threads).into_par_iter().for_each(|_| {
            let mut c = vec![0f32; out];
            for _ in 0..CALLS {
                product(&mut c);
            }
            std::hint::black_box(&c);
        });
        rounds += 1;
    }
    ops * (CALLS * threads * rounds) as f64 / start.elapsed().as_secs_f64() / 1e9
}

/// Four 6-bit values from three bytes (little end first).
#[inline]
pub fn unpack6(b: &[u8]) -> [u8; 4] {
    [b[0] & 63, (b[0] >> 6) | ((b[1] & 15) << 2), (b[1] >> 4) | ((b[2] & 3) << 4), b[2] >> 2]
}

/// Three bytes from four 6-bit values; the inverse of [`unpack6`].
pub fn pack6(v: &[u8]) -> [u8; 3] {
    [v[0] | (v[1] << 6), (v[1] >> 2) | (v[2] << 4), (v[2] >> 4) | (v[3] << 2)]
}

/// Row t of `out` = the rows t-left .. t-left+n-1 of `x` side by side; rows outside t's sentence
/// are zeros.
fn gather(x: &[f32], bounds: &[(usize, usize)], n: usize, left: usize, out: &mut [f32]) {
    let width = n * CNN;
    for (t, &(s, e)) in bounds.iter().enumerate() {
        let row = &mut out[t * width..(t + 1) * width];
        for j in 0..n {
            let dst = &mut row[j * CNN..(j + 1) * CNN];
            let p = (t + j).checked_sub(left);
            match p {
                Some(p) if p >= s && p < e => dst.copy_from_slice(&x[p * CNN..(p + 1) * CNN]),
                _ => dst.fill(0.0),
            }
        }
    }
}

#[inline(always)]
fn add(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

fn fill_rows(m: &mut [f32], row: &[f32]) {
    for r in m.chunks_exact_mut(row.len()) {
        r.copy_from_slice(row);
    }
}

fn relu(v: &mut [f32]) {
    for x in v {
        *x = x.max(0.0);
    }
}

/// Sum in sixteen lanes (which the compiler turns into vector adds; a single running sum cannot
/// be reordered).
#[inline(always)]
fn lane_sum(v: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; 16];
    let chunks = v.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += f(x);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[inline(always)]
fn layer_norm(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let d = row.len() as f32;
    let mean = lane_sum(row, |x| x) / d;
    for v in row.iter_mut() {
        *v -= mean;
    }
    let var = lane_sum(row, |x| x * x);
    let inv = 1.0 / (var / d + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = *v * inv * g + b;
    }
}

/// Rows of `a` up to which [`gemm`] streams `b` once instead of calling the packed SGEMM: a
/// query is a handful of tokens, and packing every weight matrix for them costs more than the
/// product.
const SMALL_M: usize = 24;

/// c (m×n) = a (m×k) · b (k×n) + beta · c, all row-major.
fn gemm(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32], beta: f32) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 {
        return;
    }
    if m <= SMALL_M {
        if beta == 0.0 {
            c[..m * n].fill(0.0);
        }
        return small_gemm(a, m, k, b, n, c);
    }
    packed_gemm(a, m, k, b, n, c, beta);
}

/// c = a · b + beta · c through matrixmultiply's packed SGEMM.
fn packed_gemm(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32], beta: f32) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the slices hold at least m×k, k×n and m×n elements (asserted) with the row-major
    // strides given.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// c += a · b for a few rows of `a`: each row of `b` is read once and added, scaled, into every
/// row of `c` (which stays in cache).
fn small_gemm(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { small_gemm_avx512(a, m, k, b, n, c) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { small_gemm_avx2(a, m, k, b, n, c) };
        }
    }
    small_gemm_portable(a, m, k, b, n, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn small_gemm_avx512(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32]) {
    small_gemm_portable(a, m, k, b, n, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_gemm_avx2(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32]) {
    small_gemm_portable(a, m, k, b, n, c)
}

/// The loop every variant compiles.
#[inline(always)]
fn small_gemm_portable(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, c: &mut [f32]) {
    for p in 0..k {
        let row = &b[p * n..(p + 1) * n];
        for i in 0..m {
            let x = a[i * k + p];
            if x == 0.0 {
                continue;
            }
            for (cv, bv) in c[i * n..(i + 1) * n].iter_mut().zip(row) {
                *cv += x * bv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_count_every_product_of_the_network() {
        // Per token: 512x768 projection, convolutions of 2, 3 and 5 windows (two each) 256 wide.
        let per_token = 2.0 * (512.0 * 768.0 + 2.0 * (2.0 + 3.0 + 5.0) * 256.0 * 256.0);
        assert_eq!(flops(11) - flops(10), per_token);
        // Per sentence: 1280x512, the feed-forward stack's six products.
        let per_sentence =
            2.0 * (1280.0 * 512.0 + 2.0 * 512.0 * 320.0 + 320.0 * 320.0 + 2.0 * 320.0 * 512.0 + 512.0 * 512.0);
        assert_eq!(flops(0), per_sentence);
        assert!(gemm_gflops(0.05) > 0.1);
    }

    #[test]
    fn the_small_product_agrees_with_the_packed_one() {
        let (k, n) = (37, 29);
        for m in [1, 3, SMALL_M, SMALL_M + 5] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 97) as f32 / 50.0 - 1.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729) % 89) as f32 / 40.0 - 1.0).collect();
            let mut small = vec![0.5f32; m * n];
            let mut packed = small.clone();
            small_gemm(&a, m, k, &b, n, &mut small);
            packed_gemm(&a, m, k, &b, n, &mut packed, 1.0);
            for (x, y) in small.iter().zip(&packed) {
                assert!((x - y).abs() < 1e-4, "{x} vs {y}");
            }
            let mut zeroed = vec![9.0f32; m * n];
            gemm(&a, m, k, &b, n, &mut zeroed, 0.0);
            for (x, y) in zeroed.iter().zip(&packed) {
                assert!((x - (y - 0.5)).abs() < 1e-4);
            }
        }
    }

    /// A network of the real shapes with pseudo-random weights of the real model's magnitudes
    /// (Glorot-like: ±sqrt(3/fan_in)).
    fn random_network(rows: usize) -> Network {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        let mut t = Tensors::new();
        let mut put = |name: &str, shape: &[usize], scale: f32, offset: f32, next: &mut dyn FnMut() -> f32| {
            let data = (0..shape.iter().product::<usize>()).map(|_| offset + scale * next()).collect();
            t.insert(name.into(), Tensor::F32 { shape: shape.to_vec(), data });
        };
        let glorot = |fan_in: usize| (3.0 / fan_in as f32).sqrt();
        put("emb_scale", &[GROUPS], 0.002, 0.01, &mut next);
        put("emb_lo", &[GROUPS], 0.05, -0.3, &mut next);
        put("eps", &[1], 0.0, 1e-6, &mut next);
        put("proj_w", &[EMB, 3 * CNN], glorot(EMB), 0.0, &mut next);
        put("proj_b", &[3 * CNN], 0.1, 0.0, &mut next);
        put("ln_g_all", &[3 * CNN], 0.2, 1.0, &mut next);
        put("ln_b_all", &[3 * CNN], 0.1, 0.0, &mut next);
        for (n, _) in ORDERS {
            put(&format!("w1_{n}"), &[n * CNN, CNN], glorot(n * CNN), 0.0, &mut next);
            put(&format!("b1_{n}"), &[CNN], 0.1, 0.0, &mut next);
            put(&format!("w2_{n}"), &[n * CNN, CNN], glorot(n * CNN), 0.0, &mut next);
            put(&format!("b2_{n}"), &[CNN], 0.1, 0.0, &mut next);
        }
        put("ln_g", &[FEAT], 0.2, 1.0, &mut next);
        put("ln_b", &[FEAT], 0.1, 0.0, &mut next);
        put("cnn_w", &[FEAT, DIM], glorot(FEAT), 0.0, &mut next);
        put("cnn_b", &[DIM], 0.1, 0.0, &mut next);
        for (name, k, n) in [
            ("d0", DIM, HIDDEN),
            ("d1", HIDDEN, HIDDEN),
            ("p1", DIM, HIDDEN),
            ("d2", HIDDEN, DIM),
            ("p3", HIDDEN, DIM),
            ("d3", DIM, DIM),
        ] {
            put(name, &[k, n], glorot(k), 0.0, &mut next);
        }
        let emb = (0..rows * PACKED_ROW).map(|_| ((next() + 1.0) * 127.9) as u8).collect();
        t.insert("emb".into(), Tensor::U8 { shape: vec![rows, PACKED_ROW], data: emb });
        Network::from_tensors(t).unwrap()
    }

    #[test]
    fn eight_bit_products_give_the_float_vectors_and_batching_changes_nothing() {
        let net = random_network(300);
        if !int8::available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI, so the eight-bit path is never used");
            assert_eq!(net.precision(), Precision::F32);
            return;
        }
        // Sentences of 1 to 40 tokens with repeats, so windows cross every boundary case.
        let sentences: Vec<Vec<u32>> =
            (0..23).map(|i| (0..1 + (i * 7) % 40).map(|j| ((i * 31 + j * j * 17) % 300) as u32).collect()).collect();
        let refs: Vec<&[u32]> = sentences.iter().map(Vec::as_slice).collect();
        let (mut f32s, mut int8s) = (Vec::new(), Vec::new());
        net.forward_with(Precision::F32, &refs, &mut f32s);
        net.forward_with(Precision::Int8, &refs, &mut int8s);
        assert_eq!(int8s.len(), 23 * DIM);
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        for (i, (a, b)) in f32s.chunks_exact(DIM).zip(int8s.chunks_exact(DIM)).enumerate() {
            assert!(cos(a, b) >= 0.999, "sentence {i}: cosine {}", cos(a, b));
        }
        // One sentence alone gives the vector it gets in the batch.
        for (i, s) in refs.iter().enumerate() {
            let mut one = Vec::new();
            net.forward_with(Precision::Int8, &[s], &mut one);
            assert!(cos(&one, &int8s[i * DIM..(i + 1) * DIM]) > 0.99999, "sentence {i}");
        }
    }

    #[test]
    fn kept_token_work_gives_the_vectors_computed_afresh_bit_for_bit() {
        if !int8::available() {
            eprintln!("skipped: no AVX-512 VNNI, so no eight-bit path and no token cache");
            return;
        }
        let sentences: Vec<Vec<u32>> =
            (0..9).map(|i| (0..3 + (i * 5) % 17).map(|j| ((i * 13 + j * 7) % 120) as u32).collect()).collect();
        let refs: Vec<&[u32]> = sentences.iter().map(Vec::as_slice).collect();
        let net = random_network(300);
        let (mut first, mut again) = (Vec::new(), Vec::new());
        net.forward_with(Precision::Int8, &refs, &mut first);
        let q = net.quantised.as_ref().unwrap();
        assert!(q.cache.get(sentences[0][0]).is_some(), "tokens of the first batch are kept");
        // The same batch again: every token's entry now comes from the cache.
        net.forward_with(Precision::Int8, &refs, &mut again);
        assert_eq!(first, again);
        // Mixed: half the tokens new to a fresh network's cache.
        let fresh = random_network(300);
        let mut warm = Vec::new();
        fresh.forward_with(Precision::Int8, &refs[..4], &mut warm);
        let mut mixed = Vec::new();
        fresh.forward_with(Precision::Int8, &refs, &mut mixed);
        assert_eq!(first, mixed);
    }

    #[test]
    fn the_token_cache_keeps_at_most_its_bound() {
        let cache = TokenCache::new(CACHED_TOKENS + 100);
        for id in 0..(CACHED_TOKENS + 100) as u32 {
            cache.put(id, &[id as f32; 4]);
        }
        let kept = (0..(CACHED_TOKENS + 100) as u32).filter(|&id| cache.get(id).is_some()).count();
        assert_eq!(kept, CACHED_TOKENS);
        assert_eq!(cache.get(7), Some(&[7.0f32; 4][..]));
        assert_eq!(cache.get(u32::MAX), None);
    }

    #[test]
    fn six_bit_packing_round_trips() {
        for a in 0..64u8 {
            for b in [0u8, 1, 31, 62, 63] {
                let v = [a, b, 63 - a, b ^ 21];
                assert_eq!(unpack6(&pack6(&v)), v);
            }
        }
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let mut row = vec![1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut row, &[1.0; 4], &[0.5; 4], 1e-12);
        let mean: f32 = row.iter().sum::<f32>() / 4.0;
        assert!((mean - 0.5).abs() < 1e-5);
        let var: f32 = row.iter().map(|v| (v - 0.5) * (v - 0.5)).sum::<f32>() / 4.0;
        assert!((var - 1.0).abs() < 1e-4);
    }
}
