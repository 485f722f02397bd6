//! The search side of semantic search at scale (run by `benches/scale_vectors.sh`).
//!
//! Takes the real passage vectors of an existing index (`--from DIR`), makes `--passages N` of
//! them by perturbation (each a real vector plus Gaussian-like noise of `--noise` per component,
//! renormalised: the vectors keep real text's clustering but are not copies), writes them as
//! passage documents into a new index (`--work DIR`), builds the nearest-neighbour graphs, then
//! answers `--queries` queries (other perturbed real vectors) through the graphs and by the exact
//! scan. Prints one JSON object: build times, disk, resident memory, p50/p99 latency of both, and
//! recall@100 of the graphs against the exact scan.
//!
//! `cargo run --release --example scale_vectors -- --from IDX --work DIR --passages 1000000`

use std::time::Instant;

use wash_lessons::index::graph;
use wash_lessons::index::vectors::{self, GraphStore, PassageBlob, VectorCache};
use wash_lessons::index::WashIndex;
use wash_lessons::model::DIM;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Resident memory in MB: (anonymous: the heap, file-backed: pages of memory-mapped files).
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    ((kb("RssAnon:") / 1024.0).round(), (kb("RssFile:") / 1024.0).round())
}

fn dir_mb(dir: &std::path::Path) -> f64 {
    let mut total = 0u64;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let m = e.metadata().unwrap();
            total += if m.is_dir() { (dir_mb(&e.path()) * 1048576.0) as u64 } else { m.len() };
        }
    }
    total as f64 / 1048576.0
}

/// A small xorshift generator: the benchmark is the same from run to run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Roughly normal: the sum of four uniforms, centred, unit variance.
    fn normal(&mut self) -> f32 {
        let u: f32 = (0..4).map(|_| (self.next() % 1_000_000) as f32 / 1_000_000.0).sum();
        (u - 2.0) * 1.732
    }
}

fn perturb(base: &[f32], noise: f32, rng: &mut Rng) -> Vec<f32> {
    let v: Vec<f32> = base.iter().map(|x| x + noise * rng.normal()).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn percentile(ms: &mut [f64], p: f64) -> f64 {
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[((ms.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let from = arg("--from").expect("--from INDEX with passage vectors");
    let work = std::path::PathBuf::from(arg("--work").unwrap_or_else(|| "target/scale-vectors".into()));
    let n: usize = arg("--passages").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let queries: usize = arg("--queries").and_then(|v| v.parse().ok()).unwrap_or(200);
    let noise: f32 = arg("--noise").and_then(|v| v.parse().ok()).unwrap_or(0.02);
    let top: usize = arg("--top").and_then(|v| v.parse().ok()).unwrap_or(100);

    // Real vectors.
    let src = WashIndex::open(std::path::Path::new(&from)).expect("source index");
    let searcher = src.reader(false).unwrap().searcher();
    let mut real: Vec<Vec<f32>> = Vec::new();
    let cache = VectorCache::default();
    for (_, seg) in cache.segments(&searcher).unwrap() {
        let mut row = vec![0i8; DIM];
        for i in 0..seg.len() {
            if seg.row(i, &mut row) {
                let s = seg.scale(i);
                real.push(row.iter().map(|&x| x as f32 * s).collect());
            }
        }
    }
    assert!(!real.is_empty(), "no passage vectors in {from}");
    drop(cache);
    let mut rng = Rng(0x5eed_1234_abcd_0001);

    // The index of N perturbed passages, 10 to a document.
    let dir = work.join(format!("passages-{n}"));
    let fresh = !dir.join("meta.json").is_file();
    let t = Instant::now();
    let idx = WashIndex::open_or_create(&dir).unwrap();
    if fresh {
        let mut w = idx.writer(512).unwrap();
        for i in 0..n {
            let v = perturb(&real[i % real.len()], noise, &mut rng);
            let (vector, scale) = vectors::quantize(&v);
            let blob = PassageBlob { page: 1 + (i % 10) as u32, start: 0, end: 1, text_hash: i as u64, scale, vector };
            w.add_document(idx.passage_document(&format!("doc{}", i / 10), 1, &vectors::encode(&blob))).unwrap();
            if (i + 1) % 500_000 == 0 {
                w.commit().unwrap();
            }
        }
        w.commit().unwrap();
        w.wait_merging_threads().unwrap();
    }
    let write_s = t.elapsed().as_secs_f64();
    let reader = idx.reader(false).unwrap();
    let searcher = reader.searcher();
    let t = Instant::now();
    let built = graph::sync(&dir, &searcher, graph::min_passages()).unwrap();
    let graph_s = t.elapsed().as_secs_f64();

    let qs: Vec<Vec<f32>> =
        (0..queries).map(|i| perturb(&real[(i * 7919) % real.len()], noise * 2.0, &mut rng)).collect();
    let rss_before = rss_mb();
    let ann = VectorCache::default();
    ann.use_graphs(GraphStore { dir: dir.clone(), build: false, min_passages: graph::min_passages() });
    let t = Instant::now();
    let segs = ann.segments(&searcher).unwrap();
    let load_ann_s = t.elapsed().as_secs_f64();
    let with_graph = segs.iter().filter(|(_, s)| s.has_graph()).map(|(_, s)| s.len()).sum::<usize>();
    drop(segs);
    let mut ann_ms = Vec::new();
    let mut ann_hits = Vec::new();
    for q in &qs {
        let t = Instant::now();
        ann_hits.push(ann.nearest(&searcher, q, top).unwrap());
        ann_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let rss_ann = rss_mb();
    drop(ann);
    let exact = VectorCache::default();
    exact.scan_exactly();
    let t = Instant::now();
    exact.segments(&searcher).unwrap();
    let load_exact_s = t.elapsed().as_secs_f64();
    let rss_exact = rss_mb();
    let mut exact_ms = Vec::new();
    let (mut found, mut asked) = (0usize, 0usize);
    for (q, a) in qs.iter().zip(&ann_hits) {
        let t = Instant::now();
        let e = exact.nearest(&searcher, q, top).unwrap();
        exact_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let key = |m: &vectors::PassageMatch| (m.parent.clone(), m.page, (m.score * 1e5) as i64);
        let truth: std::collections::HashSet<_> = e.iter().map(key).collect();
        found += a.iter().filter(|m| truth.contains(&key(m))).count();
        asked += e.len();
    }
    let out = serde_json::json!({
        "passages": n,
        "real_vectors": real.len(),
        "noise": noise,
        "top": top,
        "segments": searcher.segment_readers().len(),
        "passages_with_graph": with_graph,
        "write_s": (write_s * 10.0).round() / 10.0,
        "graph_build_s": (graph_s * 10.0).round() / 10.0,
        "graphs_built": built.built,
        "disk_mb": {"index": dir_mb(&dir).round(), "graphs": dir_mb(&dir.join(graph::DIR)).round()},
        "rss_mb_anon_file": {"before": rss_before, "with_graphs": rss_ann, "exact_in_ram": rss_exact},
        "load_s": {"graphs": (load_ann_s * 100.0).round() / 100.0, "exact": (load_exact_s * 100.0).round() / 100.0},
        "graph_ms": {"p50": percentile(&mut ann_ms, 0.5), "p99": percentile(&mut ann_ms, 0.99)},
        "exact_ms": {"p50": percentile(&mut exact_ms, 0.5), "p99": percentile(&mut exact_ms, 0.99)},
        "recall_at_top": found as f64 / asked.max(1) as f64,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
