//! Approximate nearest neighbours over the passage vectors: one HNSW graph per tantivy segment,
//! built with usearch and kept in `<index>/vectors/<segment id>.usearch`.
//!
//! Segments never change once written, so neither does a segment's graph: it is built once (by
//! the vector phase of `index`, or in the background by `serve` when a merge made a new large
//! segment), written to a temporary file and renamed into place, and memory-mapped by every
//! process that searches (the graph file holds the int8 vectors too, so a segment with a graph
//! keeps none of its vectors in RAM). Deleted passages are skipped by the search's filter; a
//! merged-away segment's graph is removed by the next build. The graphs are a cache of the
//! index: a missing, partial or unreadable file only means that segment is scanned exactly, as
//! small segments always are, until the graph is built again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tantivy::index::SegmentId;
use tantivy::Searcher;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::error::{Error, Result};
use crate::model::DIM;

/// The folder of the graphs, inside the index directory.
pub const DIR: &str = "vectors";
/// Segments with fewer passages are scanned exactly. Measured on 1M passages in 4 segments
/// (`benches/scale_vectors.sh`, 2 cores): for the 100 nearest, the graphs take 5 ms (p50)
/// against 20 ms for the scan; for the 2,000 nearest that hybrid search asks for, 40 ms against
/// 22 ms, since a graph search visits more of the graph the more results it wants. So a graph
/// is kept for segments large enough that their scan would be slow and their rows heavy in RAM
/// (512 MB a million).
pub const MIN_PASSAGES: usize = 1_000_000;
/// HNSW links per node (usearch's default is 16).
const CONNECTIVITY: usize = 16;
/// Candidates kept while building (higher: better graph, slower build).
const EXPANSION_ADD: usize = 128;
/// Candidates kept while searching, at least (a search for more results keeps as many).
const EXPANSION_SEARCH: usize = 256;

/// The smallest segment that gets a graph: `WASH_LESSONS_GRAPH_MIN` when set (benchmarks and
/// tests), else [`MIN_PASSAGES`].
pub fn min_passages() -> usize {
    std::env::var("WASH_LESSONS_GRAPH_MIN").ok().and_then(|v| v.parse().ok()).unwrap_or(MIN_PASSAGES)
}

/// Where the graph of segment `id` lives.
pub fn path(index_dir: &Path, id: SegmentId) -> PathBuf {
    index_dir.join(DIR).join(format!("{}.usearch", id.uuid_string()))
}

/// The graph of one segment: key `i` is the segment's `i`th passage with a vector.
pub struct Graph {
    index: Index,
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Index(format!("passage graph: {what}: {e}"))
}

fn options() -> IndexOptions {
    IndexOptions {
        dimensions: DIM,
        metric: MetricKind::Cos,
        quantization: ScalarKind::I8,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

impl Graph {
    /// Builds the graph of `rows` (int8 vectors of [`DIM`], one after another), in parallel.
    pub fn build(rows: &[i8]) -> Result<Graph> {
        use rayon::prelude::*;
        let n = rows.len() / DIM;
        let index = Index::new(&options()).map_err(|e| err("create", e))?;
        index.reserve_capacity_and_threads(n, rayon::current_num_threads().max(1)).map_err(|e| err("reserve", e))?;
        rows.par_chunks(DIM)
            .enumerate()
            .try_for_each(|(i, row)| index.add(i as u64, row).map_err(|e| err("add", e)))?;
        Ok(Graph { index })
    }

    /// Writes the graph to `path` through a temporary file renamed into place, so that a crash
    /// leaves either no file or a whole one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| err("create folder", e))?;
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let tmp_s = tmp.to_str().ok_or_else(|| err("path", "not UTF-8"))?;
        self.index.save(tmp_s).map_err(|e| err("save", e))?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| err("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| err("rename", e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Memory-maps the graph at `path` when it is whole and holds `len` passages; None
    /// otherwise (the segment is then scanned exactly).
    pub fn open(path: &Path, len: usize) -> Option<Graph> {
        let meta = std::fs::metadata(path).ok()?;
        if meta.len() < 64 {
            return None;
        }
        let index = Index::restore_view(path.to_str()?).ok()?;
        if index.size() != len || index.dimensions() != DIM || index.scalar_kind() != ScalarKind::I8 {
            return None;
        }
        index.change_expansion_search(EXPANSION_SEARCH);
        Some(Graph { index })
    }

    /// Up to `count` keys of passages near `query`, best first, among those `keep` accepts.
    pub fn search(&self, query: &[i8], count: usize, keep: impl Fn(u64) -> bool) -> Vec<u64> {
        match self.index.filtered_search(query, count, keep) {
            Ok(m) => m.keys,
            Err(e) => {
                tracing::warn!(error = %e, "passage graph search failed");
                Vec::new()
            }
        }
    }

    /// The int8 vector of passage `key` into `out` (of [`DIM`]); false when it is not there.
    pub fn vector(&self, key: u64, out: &mut [i8]) -> bool {
        matches!(self.index.get(key, out), Ok(n) if n > 0)
    }

    /// Passages in the graph.
    pub fn len(&self) -> usize {
        self.index.size()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Passage documents in a segment, deleted ones included (an upper bound, read cheaply).
fn passages(seg: &tantivy::SegmentReader) -> Result<usize> {
    let Some(parents) = seg.fast_fields().str("passage_of")? else { return Ok(0) };
    Ok((0..seg.max_doc()).filter(|&d| parents.term_ords(d).next().is_some()).count())
}

/// What [`sync`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SyncStats {
    /// Graphs built.
    pub built: usize,
    /// Passages in them.
    pub passages: usize,
    /// Graphs (and leftover temporary files) of segments no longer in the index, removed.
    pub removed: usize,
    /// Time taken.
    pub took_ms: u64,
}

/// Builds the graphs that the segments of `searcher` with `min` passages or more lack, and
/// removes the files of segments no longer in it. Run by the process that writes the index,
/// after its commits.
pub fn sync(index_dir: &Path, searcher: &Searcher, min: usize) -> Result<SyncStats> {
    let start = Instant::now();
    let mut stats = SyncStats::default();
    let live: Vec<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
    for seg in searcher.segment_readers() {
        let path = path(index_dir, seg.segment_id());
        if path.is_file() || passages(seg)? < min.max(1) {
            continue;
        }
        let v = super::vectors::SegmentVectors::load(seg, true)?;
        if v.len() < min.max(1) {
            continue;
        }
        Graph::build(v.rows())?.save(&path)?;
        stats.built += 1;
        stats.passages += v.len();
    }
    if let Ok(entries) = std::fs::read_dir(index_dir.join(DIR)) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap_or("");
            if !live.iter().any(|id| id.uuid_string() == stem) && std::fs::remove_file(e.path()).is_ok() {
                stats.removed += 1;
            }
        }
    }
    stats.took_ms = start.elapsed().as_millis() as u64;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::vectors::{self, clustered as vectors, GraphStore, PassageBlob, VectorCache};
    use crate::index::WashIndex;

    fn store(dir: &Path, build: bool) -> GraphStore {
        GraphStore { dir: dir.to_path_buf(), build, min_passages: 1000 }
    }

    #[test]
    fn graphs_find_what_the_exact_scan_finds_and_follow_deletions_and_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = WashIndex::open_or_create(tmp.path()).unwrap();
        // One indexing thread: one segment.
        let mut w: tantivy::IndexWriter = idx.index.writer_with_num_threads(1, 64 << 20).unwrap();
        for (i, v) in vectors(3000, 7).iter().enumerate() {
            let (vector, scale) = vectors::quantize(v);
            let blob = PassageBlob { page: 1, start: 0, end: 1, text_hash: i as u64, scale, vector };
            w.add_document(idx.passage_document(&format!("doc{}", i % 60), 1, &vectors::encode(&blob))).unwrap();
        }
        w.commit().unwrap();
        let reader = idx.reader(false).unwrap();
        let searcher = reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 1);

        let s = sync(tmp.path(), &searcher, 1000).unwrap();
        assert_eq!((s.built, s.passages), (1, 3000));
        let file = path(tmp.path(), searcher.segment_readers()[0].segment_id());
        assert!(file.is_file());

        let exact = VectorCache::default();
        let ann = VectorCache::default();
        ann.use_graphs(store(tmp.path(), false));
        assert!(ann.segments(&searcher).unwrap()[0].1.has_graph());
        let queries = vectors(40, 99);
        let (mut found, mut asked) = (0, 0);
        for q in &queries {
            let e = exact.nearest(&searcher, q, 100).unwrap();
            let a = ann.nearest(&searcher, q, 100).unwrap();
            let key = |m: &vectors::PassageMatch| (m.parent.clone(), (m.score * 1e4) as i64);
            let truth: std::collections::HashSet<_> = e.iter().map(key).collect();
            found += a.iter().filter(|m| truth.contains(&key(m))).count();
            asked += e.len();
        }
        let recall = found as f64 / asked as f64;
        assert!(recall >= 0.95, "recall@100 against the exact scan: {recall}");

        // Deleted passages are not found through the graph.
        w.delete_term(idx.passage_term("doc0"));
        w.commit().unwrap();
        reader.reload().unwrap();
        let searcher = reader.searcher();
        for q in &queries[..10] {
            let a = ann.nearest(&searcher, q, 200).unwrap();
            assert!(a.iter().all(|m| m.parent != "doc0"));
            assert_eq!(a.len(), 200);
        }

        // A damaged graph file: that segment is scanned exactly, with the same answers.
        std::fs::write(&file, b"not a graph at all, only some bytes that are not one").unwrap();
        let fresh = VectorCache::default();
        fresh.use_graphs(store(tmp.path(), false));
        assert!(!fresh.segments(&searcher).unwrap()[0].1.has_graph());
        assert_eq!(
            fresh.nearest(&searcher, &queries[0], 50).unwrap(),
            exact.nearest(&searcher, &queries[0], 50).unwrap()
        );

        // A writer builds it again in the background and then searches through it.
        std::fs::remove_file(&file).unwrap();
        let writer_side = VectorCache::default();
        writer_side.use_graphs(store(tmp.path(), true));
        writer_side.nearest(&searcher, &queries[0], 10).unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        while !writer_side.segments(&searcher).unwrap()[0].1.has_graph() {
            assert!(Instant::now() < deadline, "graph not built in the background");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(file.is_file());

        // Graphs of segments no longer in the index go.
        std::fs::write(tmp.path().join(DIR).join("0123456789abcdef0123456789abcdef.usearch"), b"old").unwrap();
        let s = sync(tmp.path(), &searcher, 1000).unwrap();
        assert_eq!((s.built, s.removed), (0, 1));
    }
}
