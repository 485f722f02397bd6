//! Passage vectors in the index, and the scan that finds the passages nearest to a query.
//!
//! Every passage is a small document of its own in the same tantivy index (fields `passage_of`,
//! `passage_version`, `passage`), so it is committed atomically with the documents. Its
//! `passage` value packs where the passage is and its vector:
//!
//! ```text
//! page:u32  start:u32  end:u32  text_hash:u64  scale:f32  vector: i8 × 512 (absent for a marker)
//! ```
//! The vector is the unit sentence vector quantised to int8 with one scale per passage. A marker
//! (no vector) records that a document with no text was looked at, so it is not looked at again.
//!
//! At search time a segment with an HNSW graph (`graph`: large segments, once built) is
//! searched through it, memory-mapped, and its candidates rescored exactly; the vectors of the
//! other segments are read once from the fast fields into one contiguous int8 matrix, cached by
//! segment id (segments never change), and scanned with an integer dot product that the
//! compiler vectorises (AVX2 or AVX-512 when the CPU has them).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use tantivy::index::SegmentId;
use tantivy::{DocId, Searcher};

use super::FileState;
use crate::error::{Error, Result};
use crate::model::DIM;

const HEADER: usize = 24;

/// Where a passage is, and its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct PassageBlob {
    /// Page number.
    pub page: u32,
    /// Byte range in the page text.
    pub start: u32,
    /// End of that range.
    pub end: u32,
    /// Hash of the passage text (vectors are reused for unchanged text).
    pub text_hash: u64,
    /// Quantisation scale.
    pub scale: f32,
    /// The int8 vector; empty for a marker.
    pub vector: Vec<i8>,
}

/// Encodes a passage.
pub fn encode(b: &PassageBlob) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + b.vector.len());
    out.extend_from_slice(&b.page.to_le_bytes());
    out.extend_from_slice(&b.start.to_le_bytes());
    out.extend_from_slice(&b.end.to_le_bytes());
    out.extend_from_slice(&b.text_hash.to_le_bytes());
    out.extend_from_slice(&b.scale.to_le_bytes());
    out.extend(b.vector.iter().map(|&v| v as u8));
    out
}

/// Decodes a passage; None for bytes of another shape.
pub fn decode(bytes: &[u8]) -> Option<PassageBlob> {
    if bytes.len() != HEADER && bytes.len() != HEADER + DIM {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4"));
    Some(PassageBlob {
        page: u32_at(0),
        start: u32_at(4),
        end: u32_at(8),
        text_hash: u64::from_le_bytes(bytes[12..20].try_into().expect("8")),
        scale: f32::from_le_bytes(bytes[20..24].try_into().expect("4")),
        vector: bytes[HEADER..].iter().map(|&b| b as i8).collect(),
    })
}

/// The version of a document that its passages record: its content hash, or when unknown its
/// size and modification time.
pub fn version(state: FileState) -> u64 {
    if state.hash != 0 {
        state.hash
    } else {
        state.mtime_ns ^ state.size.rotate_left(32) ^ 1
    }
}

/// Hash of a passage text.
pub fn text_hash(text: &str) -> u64 {
    u64::from_le_bytes(blake3::hash(text.as_bytes()).as_bytes()[..8].try_into().expect("8"))
}

/// Quantises a unit vector to int8 with one scale.
pub fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    (v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

/// The vectors of one segment.
pub struct SegmentVectors {
    docs: Vec<DocId>,
    parents: Vec<u32>,
    parent_ids: Vec<String>,
    places: Vec<(u32, u32, u32)>,
    scales: Vec<f32>,
    /// The int8 rows, when the segment is scanned exactly (empty when it has a graph).
    data: Vec<i8>,
    /// Its HNSW graph, which holds the rows, memory-mapped.
    graph: Option<super::graph::Graph>,
    /// The one-bit sketch of the rows, when they are in memory.
    signs: Option<super::signs::Signs>,
}

impl SegmentVectors {
    /// Reads a segment's passages from its fast fields; their int8 rows too when `rows`.
    pub(crate) fn load(seg: &tantivy::SegmentReader, rows: bool) -> Result<SegmentVectors> {
        let ff = seg.fast_fields();
        let mut out = SegmentVectors {
            docs: Vec::new(),
            parents: Vec::new(),
            parent_ids: Vec::new(),
            places: Vec::new(),
            scales: Vec::new(),
            data: Vec::new(),
            graph: None,
            signs: None,
        };
        let (Some(blobs), Some(parents)) = (ff.bytes("passage")?, ff.str("passage_of")?) else { return Ok(out) };
        let bad = |e: std::io::Error| Error::Index(format!("cannot read passage vectors: {e}"));
        // The distinct values in order, kept compact: where the passage is and its scale, and
        // its row only when the rows are wanted (a segment with a graph reads none into RAM).
        let mut places: Vec<Option<(Place, f32)>> = Vec::with_capacity(blobs.num_terms());
        let mut rows_by_value: Vec<i8> = Vec::new();
        let mut stream = blobs.dictionary().stream().map_err(bad)?;
        while stream.advance() {
            let blob = decode(stream.key()).filter(|b| b.vector.len() == DIM);
            places.push(blob.as_ref().map(|b| ((b.page, b.start, b.end), b.scale)));
            if rows {
                match &blob {
                    Some(b) => rows_by_value.extend_from_slice(&b.vector),
                    None => rows_by_value.extend_from_slice(&[0; DIM]),
                }
            }
        }
        out.parent_ids = super::column_terms(&parents)?;
        for doc in 0..seg.max_doc() {
            let (Some(b), Some(p)) = (blobs.term_ords(doc).next(), parents.term_ords(doc).next()) else { continue };
            let Some(Some((place, scale))) = places.get(b as usize) else { continue };
            out.docs.push(doc);
            out.parents.push(p as u32);
            out.places.push(*place);
            out.scales.push(*scale);
            if rows {
                out.data.extend_from_slice(&rows_by_value[b as usize * DIM..(b as usize + 1) * DIM]);
            }
        }
        if rows {
            out.signs = Some(super::signs::Signs::new(&out.data, &out.scales));
        }
        Ok(out)
    }

    /// The int8 rows held in memory (empty for a segment searched through its graph).
    pub(crate) fn rows(&self) -> &[i8] {
        &self.data
    }

    /// Row `i` into `out`: from memory, or from the graph's file.
    pub fn row(&self, i: usize, out: &mut [i8]) -> bool {
        match &self.graph {
            Some(g) => g.vector(i as u64, out),
            None => match self.data.get(i * DIM..(i + 1) * DIM) {
                Some(r) => {
                    out.copy_from_slice(r);
                    true
                }
                None => false,
            },
        }
    }

    /// The same passages without their rows, searched through `graph`.
    fn with_graph(&self, graph: super::graph::Graph) -> SegmentVectors {
        SegmentVectors {
            docs: self.docs.clone(),
            parents: self.parents.clone(),
            parent_ids: self.parent_ids.clone(),
            places: self.places.clone(),
            scales: self.scales.clone(),
            data: Vec::new(),
            graph: Some(graph),
            signs: None,
        }
    }

    /// The quantisation scale of row `i`.
    pub fn scale(&self, i: usize) -> f32 {
        self.scales.get(i).copied().unwrap_or(0.0)
    }

    /// Whether the segment is searched through a graph.
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Passages with a vector.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the segment has no vectors.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

/// Where the graphs of an index are, and whether this process builds the missing ones.
#[derive(Debug, Clone)]
pub struct GraphStore {
    /// The index directory.
    pub dir: PathBuf,
    /// Build graphs in the background for large segments without one (the writer: `serve`;
    /// not a read replica, which only uses those the writer built).
    pub build: bool,
    /// The smallest segment that gets a graph.
    pub min_passages: usize,
}

type Segments = Arc<Mutex<HashMap<SegmentId, Arc<SegmentVectors>>>>;

/// Page, start and end of a passage.
type Place = (u32, u32, u32);

/// Vectors of the segments of the searchers seen, by segment id.
#[derive(Default)]
pub struct VectorCache {
    segments: Segments,
    /// When the scan starts from the sketches: scanned rows from which it does (0: never),
    /// and the fewest rows rescored; unset: `SKETCH_MIN_ROWS`, `SKETCH_MIN_CANDIDATES`.
    sketch: OnceLock<(usize, usize)>,
    store: OnceLock<GraphStore>,
    building: Arc<Mutex<std::collections::HashSet<SegmentId>>>,
}

/// A passage near the query.
#[derive(Debug, Clone, PartialEq)]
pub struct PassageMatch {
    /// The id of its document.
    pub parent: String,
    /// Page.
    pub page: u32,
    /// Byte range in the page text.
    pub start: u32,
    /// End of the range.
    pub end: u32,
    /// Cosine similarity with the query (approximately: both sides are int8).
    pub score: f32,
}

impl VectorCache {
    /// Scores every row exactly, without a first pass over the sketches: the reference against
    /// which the first pass is measured (also set by `WASH_LESSONS_EXACT_SCAN=1`).
    pub fn scan_exactly(&self) {
        self.sketch_from(0, 0);
    }

    /// Starts the scan from the sketches once `rows` rows are scanned (0: never), rescoring at
    /// least `min_candidates` rows exactly (once; later calls are ignored).
    pub fn sketch_from(&self, rows: usize, min_candidates: usize) {
        let _ = self.sketch.set((rows, min_candidates));
    }

    fn sketch_policy(&self) -> (usize, usize) {
        static ENV: OnceLock<bool> = OnceLock::new();
        let exact = *ENV.get_or_init(|| std::env::var("WASH_LESSONS_EXACT_SCAN").is_ok_and(|v| v == "1"));
        match self.sketch.get() {
            Some(&p) => p,
            None if exact => (0, 0),
            None => (SKETCH_MIN_ROWS, SKETCH_MIN_CANDIDATES),
        }
    }

    /// Searches large segments through the graphs in `store` (once; later calls are ignored).
    pub fn use_graphs(&self, store: GraphStore) {
        let _ = self.store.set(store);
    }

    /// A segment's vectors: through its graph when there is a whole one, else its rows in
    /// memory (a writer then builds the missing graph in the background: see `segments`).
    fn load(&self, seg: &tantivy::SegmentReader) -> Result<SegmentVectors> {
        let Some(store) = self.store.get() else { return SegmentVectors::load(seg, true) };
        let path = super::graph::path(&store.dir, seg.segment_id());
        if path.is_file() {
            let v = SegmentVectors::load(seg, false)?;
            if let Some(g) = super::graph::Graph::open(&path, v.len()) {
                return Ok(SegmentVectors { graph: Some(g), ..v });
            }
            tracing::warn!(path = %path.display(), "passage graph unreadable; scanning that segment exactly");
        }
        SegmentVectors::load(seg, true)
    }

    /// Whether segment vectors `v` should get a graph built by this process.
    fn wants_graph(&self, v: &SegmentVectors) -> bool {
        self.store.get().is_some_and(|s| s.build && v.graph.is_none() && v.len() >= s.min_passages.max(1))
    }

    /// Builds the graph of segment `id` in another thread; once it is written, the segment is
    /// searched through it.
    fn build_in_background(&self, id: SegmentId, path: PathBuf) {
        if !self.building.lock().unwrap_or_else(|e| e.into_inner()).insert(id) {
            return;
        }
        let (segments, building) = (self.segments.clone(), self.building.clone());
        std::thread::spawn(move || {
            let current = segments.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned();
            if let Some(v) = current.filter(|v| v.graph.is_none() && !v.data.is_empty()) {
                let start = std::time::Instant::now();
                let built = super::graph::Graph::build(&v.data).and_then(|g| g.save(&path));
                match built.map(|_| super::graph::Graph::open(&path, v.len())) {
                    Ok(Some(g)) => {
                        let with = Arc::new(v.with_graph(g));
                        segments.lock().unwrap_or_else(|e| e.into_inner()).entry(id).and_modify(|e| *e = with);
                        let ms = start.elapsed().as_millis() as u64;
                        tracing::info!(passages = v.len(), ms, "passage graph built");
                    }
                    Ok(None) => tracing::warn!(path = %path.display(), "passage graph written but unreadable"),
                    Err(e) => tracing::warn!(error = %e, "passage graph not built; the segment is scanned exactly"),
                }
            }
            building.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        });
    }

    /// The vectors of every segment of `searcher` (loading new segments, forgetting merged ones).
    pub fn segments(&self, searcher: &Searcher) -> Result<Vec<(usize, Arc<SegmentVectors>)>> {
        let mut out = Vec::new();
        let mut live = Vec::new();
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let id = seg.segment_id();
            live.push(id);
            let cached = self.segments.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned();
            let v = match cached {
                Some(v) => v,
                None => {
                    let v = Arc::new(self.load(seg)?);
                    let v = self.segments.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_insert(v).clone();
                    // Only once the segment is in the cache: the builder swaps it for the graph.
                    if let Some(store) = self.store.get().filter(|_| self.wants_graph(&v)) {
                        self.build_in_background(id, super::graph::path(&store.dir, id));
                    }
                    v
                }
            };
            out.push((ord, v));
        }
        self.segments.lock().unwrap_or_else(|e| e.into_inner()).retain(|id, _| live.contains(id));
        Ok(out)
    }

    /// Live passages with a vector.
    pub fn count(&self, searcher: &Searcher) -> Result<usize> {
        let segs = self.segments(searcher)?;
        Ok(segs
            .iter()
            .map(|(ord, v)| {
                let alive = searcher.segment_reader(*ord as u32).alive_bitset();
                v.docs.iter().filter(|&&d| alive.is_none_or(|a| a.is_alive(d))).count()
            })
            .sum())
    }

    /// The mean of the live passage vectors of document `id`, at unit length (None without any).
    pub fn centroid(&self, searcher: &Searcher, id: &str) -> Result<Option<Vec<f32>>> {
        let mut sum = vec![0f32; DIM];
        let mut row = vec![0i8; DIM];
        let mut n = 0;
        for (ord, v) in self.segments(searcher)? {
            let Ok(parent) = v.parent_ids.binary_search_by(|p| p.as_str().cmp(id)) else { continue };
            let alive = searcher.segment_reader(ord as u32).alive_bitset();
            for i in 0..v.len() {
                if v.parents[i] as usize != parent || alive.is_some_and(|a| !a.is_alive(v.docs[i])) {
                    continue;
                }
                if !v.row(i, &mut row) {
                    continue;
                }
                for (s, q) in sum.iter_mut().zip(&row) {
                    *s += *q as f32 * v.scales[i];
                }
                n += 1;
            }
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n == 0 || norm == 0.0 {
            return Ok(None);
        }
        Ok(Some(sum.iter().map(|x| x / norm).collect()))
    }

    /// The `top` live passages nearest to the unit vector `query`, best first.
    ///
    /// Segments with a graph give its candidates; the others are scanned. Once the scanned rows
    /// are many (`SKETCH_MIN_ROWS`), the scan reads their one-bit sketches first and scores
    /// exactly only the rows of the best `SKETCH_CANDIDATES` x `top` estimates; every score
    /// returned is the exact int8 one either way.
    pub fn nearest(&self, searcher: &Searcher, query: &[f32], top: usize) -> Result<Vec<PassageMatch>> {
        let (q, qscale) = quantize(query);
        let segs = self.segments(searcher)?;
        let alive = |ord: usize| searcher.segment_reader(ord as u32).alive_bitset();
        let live = |v: &SegmentVectors, a: Option<&tantivy::fastfield::AliveBitSet>, i: usize| {
            a.is_none_or(|a| a.is_alive(v.docs[i]))
        };
        let scanned: usize = segs.iter().filter(|(_, v)| v.graph.is_none()).map(|(_, v)| v.len()).sum();
        let (min_rows, min_candidates) = self.sketch_policy();
        let sketch =
            min_rows > 0 && scanned >= min_rows && segs.iter().all(|(_, v)| v.graph.is_some() || v.signs.is_some());
        // (score, segment, row)
        let mut scored: Vec<(f32, u32, u32)> = Vec::new();
        let mut dot = [0i32; 1];
        for (si, (ord, v)) in segs.iter().enumerate() {
            let a = alive(*ord);
            match &v.graph {
                // A segment with a graph: its candidates, rescored exactly as the scan scores.
                Some(g) => {
                    let keep = |key: u64| a.is_none_or(|a| v.docs.get(key as usize).is_some_and(|&d| a.is_alive(d)));
                    let mut row = vec![0i8; DIM];
                    for k in g.search(&q, top.min(v.len()), keep) {
                        let i = k as usize;
                        if i < v.len() && g.vector(k, &mut row) && live(v, a, i) {
                            dot_rows(&q, &row, &mut dot);
                            scored.push((dot[0] as f32 * qscale * v.scales[i], si as u32, i as u32));
                        }
                    }
                }
                None if sketch => {}
                None => {
                    for (i, d) in dot_all(&q, &v.data).into_iter().enumerate() {
                        if live(v, a, i) {
                            scored.push((d as f32 * qscale * v.scales[i], si as u32, i as u32));
                        }
                    }
                }
            }
        }
        if sketch {
            let want = top.saturating_mul(SKETCH_CANDIDATES).max(min_candidates);
            // The best estimates, kept to at most twice `want` with the floor they set.
            let mut cands: Vec<(f32, u32, u32)> = Vec::with_capacity(2 * want);
            let mut floor = f32::NEG_INFINITY;
            for (si, (ord, v)) in segs.iter().enumerate() {
                let (Some(signs), None) = (&v.signs, &v.graph) else { continue };
                let a = alive(*ord);
                signs.estimate(&q, qscale, |start, est| {
                    for (c, chunk) in est.chunks(MASK_ROWS).enumerate() {
                        // Most rows fall under the floor: one compare of sixteen rows, then only
                        // the rows above it, without a branch per row.
                        let mut above = rows_above(chunk, floor);
                        while above != 0 {
                            let k = above.trailing_zeros() as usize;
                            above &= above - 1;
                            let i = start + c * MASK_ROWS + k;
                            if live(v, a, i) {
                                cands.push((chunk[k], si as u32, i as u32));
                                if cands.len() >= 2 * want {
                                    keep_best(&mut cands, want);
                                    floor = cands.iter().map(|c| c.0).fold(f32::INFINITY, f32::min);
                                }
                            }
                        }
                    }
                });
            }
            keep_best(&mut cands, want);
            // Row order: the rows are read from memory in ascending addresses.
            cands.sort_unstable_by_key(|&(_, si, i)| (si, i));
            for (_, si, i) in cands {
                let v = &segs[si as usize].1;
                let i = i as usize;
                dot_rows(&q, &v.data[i * DIM..(i + 1) * DIM], &mut dot);
                scored.push((dot[0] as f32 * qscale * v.scales[i], si, i as u32));
            }
        }
        keep_best(&mut scored, top);
        let mut out: Vec<PassageMatch> = scored
            .into_iter()
            .map(|(score, si, i)| {
                let v = &segs[si as usize].1;
                let (page, start, end) = v.places[i as usize];
                PassageMatch { parent: v.parent_ids[v.parents[i as usize] as usize].clone(), page, start, end, score }
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.parent.cmp(&b.parent)));
        Ok(out)
    }
}

/// Rows scanned (outside graphs) from which the scan starts with the sketches.
const SKETCH_MIN_ROWS: usize = 50_000;
/// Rows scored exactly per row asked for, after the sketches...
const SKETCH_CANDIDATES: usize = 4;
/// ...and at least this many.
const SKETCH_MIN_CANDIDATES: usize = 4_096;

/// Rows compared with the floor at a time.
const MASK_ROWS: usize = 16;

/// Bit k set where `chunk[k]` (at most `MASK_ROWS` values) is above `floor`.
#[inline]
fn rows_above(chunk: &[f32], floor: f32) -> u32 {
    match <&[f32; MASK_ROWS]>::try_from(chunk) {
        // A whole chunk: sixteen compares the compiler turns into vector compares and one mask.
        Ok(full) => full.iter().enumerate().fold(0, |m, (k, &e)| m | (((e > floor) as u32) << k)),
        Err(_) => chunk.iter().enumerate().fold(0, |m, (k, &e)| m | (((e > floor) as u32) << k)),
    }
}

/// Keeps the `n` best-scored entries (in no order).
fn keep_best(v: &mut Vec<(f32, u32, u32)>, n: usize) {
    if v.len() > n {
        if n > 0 {
            v.select_nth_unstable_by(n - 1, |a, b| b.0.total_cmp(&a.0));
        }
        v.truncate(n);
    }
}

/// The live passages of the given documents, in the order they were written (title first).
pub fn stored(searcher: &Searcher, of: &std::collections::HashSet<&str>) -> Result<HashMap<String, Vec<PassageBlob>>> {
    let mut out: HashMap<String, Vec<(u32, u32, PassageBlob)>> = HashMap::new();
    // A few documents' passages are looked up by id; many, read in one pass.
    let wanted: Vec<&str> = of.iter().copied().collect();
    let only = (of.len() <= LOOKUP_MAX).then_some(wanted.as_slice());
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let Some(blobs) = seg.fast_fields().bytes("passage")? else { continue };
        let mut found: Vec<(String, DocId)> = Vec::new();
        super::for_each_by_column(seg, "passage_of", only, |id, doc| {
            if of.contains(id) {
                found.push((id.to_string(), doc));
            }
        })?;
        let mut buf = Vec::new();
        for (id, doc) in found {
            let Some(b) = blobs.term_ords(doc).next() else { continue };
            buf.clear();
            if blobs.ord_to_bytes(b, &mut buf).map_err(|e| Error::Index(format!("cannot read passages: {e}")))? {
                if let Some(blob) = decode(&buf) {
                    out.entry(id).or_default().push((ord as u32, doc, blob));
                }
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(id, mut v)| {
            v.sort_by_key(|(s, d, _)| (*s, *d));
            (id, v.into_iter().map(|(_, _, b)| b).collect())
        })
        .collect())
}

/// Documents whose passages [`stored`] looks up by id rather than in a pass over every passage.
const LOOKUP_MAX: usize = 64;

/// Integer dot products of `q` with every row of `data` (rows of `DIM`), in parallel chunks.
pub fn dot_all(q: &[i8], data: &[i8]) -> Vec<i32> {
    const CHUNK: usize = 8192;
    let mut out = vec![0i32; data.len() / DIM];
    out.par_chunks_mut(CHUNK).zip(data.par_chunks(CHUNK * DIM)).for_each(|(o, d)| dot_rows(q, d, o));
    out
}

fn dot_rows(q: &[i8], data: &[i8], out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512BW, checked just above.
            return unsafe { dot_rows_avx512(q, data, out) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { dot_rows_avx2(q, data, out) };
        }
    }
    dot_rows_portable(q, data, out)
}

/// AVX-512BW: the query widened to 16-bit once (16 registers); per row, 32 bytes at a time are
/// widened and multiplied-and-added in pairs into 32-bit lanes (`vpmaddwd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn dot_rows_avx512(q: &[i8], data: &[i8], out: &mut [i32]) {
    use std::arch::x86_64::*;
    assert!(q.len() == DIM && data.len() >= out.len() * DIM);
    let mut qw = [_mm512_setzero_si512(); DIM / 32];
    for (c, w) in qw.iter_mut().enumerate() {
        // SAFETY: q holds DIM bytes; c * 32 + 32 <= DIM.
        *w = _mm512_cvtepi8_epi16(unsafe { _mm256_loadu_si256(q.as_ptr().add(c * 32) as *const __m256i) });
    }
    for (r, o) in out.iter_mut().enumerate() {
        let row = data.as_ptr().wrapping_add(r * DIM);
        let mut acc = _mm512_setzero_si512();
        for (c, w) in qw.iter().enumerate() {
            // SAFETY: row r holds DIM bytes (asserted above); c * 32 + 32 <= DIM.
            let v = _mm512_cvtepi8_epi16(unsafe { _mm256_loadu_si256(row.add(c * 32) as *const __m256i) });
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, *w));
        }
        *o = _mm512_reduce_add_epi32(acc);
    }
}

/// AVX2: as above with 16 bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_rows_avx2(q: &[i8], data: &[i8], out: &mut [i32]) {
    use std::arch::x86_64::*;
    assert!(q.len() == DIM && data.len() >= out.len() * DIM);
    let mut qw = [_mm256_setzero_si256(); DIM / 16];
    for (c, w) in qw.iter_mut().enumerate() {
        // SAFETY: q holds DIM bytes; c * 16 + 16 <= DIM.
        *w = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(q.as_ptr().add(c * 16) as *const __m128i) });
    }
    for (r, o) in out.iter_mut().enumerate() {
        let row = data.as_ptr().wrapping_add(r * DIM);
        let mut acc = _mm256_setzero_si256();
        for (c, w) in qw.iter().enumerate() {
            // SAFETY: row r holds DIM bytes (asserted above); c * 16 + 16 <= DIM.
            let v = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(row.add(c * 16) as *const __m128i) });
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(v, *w));
        }
        let lanes: [i32; 8] = std::mem::transmute(acc);
        *o = lanes.iter().sum();
    }
}

/// The loop every variant compiles: fixed-size rows let the compiler vectorise it fully.
#[inline(always)]
pub fn dot_rows_portable(q: &[i8], data: &[i8], out: &mut [i32]) {
    let q: &[i8; DIM] = q.try_into().expect("query of DIM values");
    for (row, o) in data.chunks_exact(DIM).zip(out.iter_mut()) {
        let row: &[i8; DIM] = row.try_into().expect("DIM");
        let mut acc = [0i32; 32];
        for c in 0..DIM / 32 {
            for k in 0..32 {
                acc[k] += q[c * 32 + k] as i16 as i32 * row[c * 32 + k] as i16 as i32;
            }
        }
        *o = acc.iter().sum();
    }
}

/// Unit vectors around a few centres, as real passages cluster by topic (for tests).
#[cfg(test)]
pub(crate) fn clustered(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 20_000) as f32 / 10_000.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..24).map(|_| (0..DIM).map(|_| next()).collect()).collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % centres.len()];
            let v: Vec<f32> = c.iter().map(|a| a + 0.8 * next()).collect();
            let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.into_iter().map(|a| a / norm).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_above_the_floor_are_the_mask_bits() {
        let full: Vec<f32> = (0..MASK_ROWS).map(|k| if k % 3 == 0 { 1.0 } else { -1.0 }).collect();
        let want: u32 = (0..MASK_ROWS).filter(|k| k % 3 == 0).map(|k| 1 << k).sum();
        assert_eq!(rows_above(&full, 0.0), want);
        assert_eq!(rows_above(&full, f32::NEG_INFINITY), (1u32 << MASK_ROWS) - 1);
        // Equal to the floor is not above it; a short last chunk; NaN never passes.
        assert_eq!(rows_above(&[0.5, 0.25, 0.75, f32::NAN], 0.5), 0b100);
        assert_eq!(rows_above(&[], 0.0), 0);
    }

    #[test]
    fn blobs_round_trip_and_refuse_other_shapes() {
        let b = PassageBlob {
            page: 7,
            start: 10,
            end: 900,
            text_hash: 42,
            scale: 0.01,
            vector: (0..DIM).map(|i| (i % 255) as i8).collect(),
        };
        assert_eq!(decode(&encode(&b)), Some(b.clone()));
        let marker = PassageBlob { vector: Vec::new(), ..b };
        assert_eq!(decode(&encode(&marker)), Some(marker));
        assert_eq!(decode(&[0; 30]), None);
    }

    #[test]
    fn int8_dot_products_match_float_cosines_and_every_variant_agrees() {
        let mk = |seed: u32| -> Vec<f32> {
            let v: Vec<f32> = (0..DIM)
                .map(|i| ((((i as u32).wrapping_mul(2654435761)) ^ seed) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect()
        };
        let (a, b) = (mk(1), mk(99));
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let ((qa, sa), (qb, sb)) = (quantize(&a), quantize(&b));
        let mut data = qb.clone();
        data.extend_from_slice(&qa);
        let mut portable = vec![0; 2];
        dot_rows_portable(&qa, &data, &mut portable);
        assert_eq!(dot_all(&qa, &data), portable);
        #[cfg(target_arch = "x86_64")]
        {
            let mut v = vec![0; 2];
            if is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                unsafe { dot_rows_avx2(&qa, &data, &mut v) };
                assert_eq!(v, portable);
            }
            if is_x86_feature_detected!("avx512bw") {
                // SAFETY: the CPU has AVX-512BW.
                unsafe { dot_rows_avx512(&qa, &data, &mut v) };
                assert_eq!(v, portable);
            }
        }
        assert!((portable[0] as f32 * sa * sb - exact).abs() < 0.01, "{} vs {exact}", portable[0] as f32 * sa * sb);
        assert!((portable[1] as f32 * sa * sa - 1.0).abs() < 0.01);
    }

    #[test]
    fn the_sketched_scan_finds_what_the_exact_scan_finds_with_exact_scores() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = crate::index::WashIndex::open_or_create(tmp.path()).unwrap();
        let mut w: tantivy::IndexWriter = idx.index.writer_with_num_threads(1, 64 << 20).unwrap();
        for (i, v) in clustered(6000, 11).iter().enumerate() {
            let (vector, scale) = quantize(v);
            let blob = PassageBlob { page: 1, start: i as u32, end: i as u32 + 1, text_hash: i as u64, scale, vector };
            w.add_document(idx.passage_document(&format!("doc{}", i % 100), 1, &encode(&blob))).unwrap();
        }
        w.delete_term(idx.passage_term("doc7"));
        w.commit().unwrap();
        let searcher = idx.reader(false).unwrap().searcher();
        let exact = VectorCache::default();
        exact.scan_exactly();
        let sketched = VectorCache::default();
        // From 1,000 rows on, with 1,000 rows of 6,000 rescored.
        sketched.sketch_from(1000, 1000);
        let key = |m: &PassageMatch| (m.parent.clone(), m.start);
        let (mut found, mut asked) = (0, 0);
        for q in &clustered(40, 5) {
            let e = exact.nearest(&searcher, q, 50).unwrap();
            let s = sketched.nearest(&searcher, q, 50).unwrap();
            assert_eq!(s.len(), 50);
            assert!(s.iter().all(|m| m.parent != "doc7"), "a deleted passage was found");
            assert!(s.windows(2).all(|p| p[0].score >= p[1].score), "not best first");
            // Every score is the exact one of that passage.
            let all = exact.nearest(&searcher, q, 6000).unwrap();
            let by_key: HashMap<_, f32> = all.iter().map(|m| (key(m), m.score)).collect();
            assert!(s.iter().all(|m| by_key[&key(m)] == m.score), "a score was not the exact one");
            let truth: std::collections::HashSet<_> = e.iter().map(key).collect();
            found += s.iter().filter(|m| truth.contains(&key(m))).count();
            asked += e.len();
        }
        let recall = found as f64 / asked as f64;
        assert!(recall >= 0.9, "recall@50 of the sketched scan against the exact one: {recall}");
    }
}
