//! Criterion benchmarks of semantic search (needs the model: `wash-lessons model install`, or
//! `WASH_LESSONS_MODEL=FILE`):
//!
//! - `embed/passages`: passages of the sample sources (50 to 100 words, as indexing cuts them)
//!   embedded per second on all cores, the indexing path;
//! - `embed/query`: one query sentence, the search path;
//! - `scan/100k`: the 2,000 nearest of 100,000 passage vectors as search finds them (one-bit
//!   sketches first, the best 8,000 rescored with int8 products; one core), from an index of
//!   100,000 passage documents (vectors cached, as in a running server); `scan/100k-exact`:
//!   every vector scored with int8 products (on all cores; random vectors here: see
//!   `examples/scan_recall.rs` for what the sketches lose on real ones);
//! - `added/100k`: what a semantic query adds to a search: embedding the query plus the scan.
//!
//!   cargo bench --bench semantic            (or benches/semantic.sh for the whole report)

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use wash_lessons::document::PageText;
use wash_lessons::enrich::passages;
use wash_lessons::index::vectors::{self, PassageBlob, VectorCache};
use wash_lessons::index::WashIndex;
use wash_lessons::model::{Model, DIM};

fn sample_passages() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-src");
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        let p = e.path();
        if !e.file_type().is_file() || !p.extension().is_some_and(|x| x == "md" || x == "txt") {
            continue;
        }
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let page = PageText { number: 1, text };
        for ps in passages::split(std::slice::from_ref(&page)) {
            out.push(ps.text(&page.text).to_string());
        }
    }
    out
}

/// An index holding `n` passage documents with pseudo-random unit vectors.
fn passage_index(dir: &Path, n: usize) -> WashIndex {
    let idx = WashIndex::open_or_create(dir).unwrap();
    let mut w = idx.writer(256).unwrap();
    let mut state = 0x2545F4914F6CDD1Du64;
    for i in 0..n {
        let v: Vec<f32> = (0..DIM)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let unit: Vec<f32> = v.iter().map(|x| x / norm).collect();
        let (q, scale) = vectors::quantize(&unit);
        let blob = PassageBlob { page: 1, start: 0, end: 10, text_hash: i as u64, scale, vector: q };
        w.add_document(idx.passage_document(&format!("doc{:06}", i / 10), 1, &vectors::encode(&blob))).unwrap();
    }
    w.commit().unwrap();
    w.wait_merging_threads().unwrap();
    idx
}

fn bench(c: &mut Criterion) {
    let path = wash_lessons::model::configured_path();
    let Some(model) = Model::load_if_present(&path).unwrap() else {
        eprintln!("no model at {} (wash-lessons model install): nothing to measure", path.display());
        return;
    };
    let texts = sample_passages();
    let batch: Vec<&str> = texts.iter().take(256).map(String::as_str).collect();
    let words: usize = batch.iter().map(|t| t.split_whitespace().count()).sum();
    eprintln!("{} passages, {:.0} words each on average", batch.len(), words as f64 / batch.len() as f64);
    let mut g = c.benchmark_group("embed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(batch.len() as u64));
    // The precision this machine uses (eight bits with AVX-512 VNNI), then float32 beside it.
    g.bench_function("passages", |b| b.iter(|| model.embed(&batch)));
    g.bench_function("passages-f32", |b| b.iter(|| model.embed_at(wash_lessons::model::Precision::F32, &batch)));
    g.throughput(Throughput::Elements(1));
    g.bench_function("query", |b| b.iter(|| model.embed_one("why do village water boards stop working")));
    g.finish();

    let tmp = tempfile::tempdir().unwrap();
    let idx = passage_index(&tmp.path().join("idx"), 100_000);
    let searcher = idx.reader(false).unwrap().searcher();
    let cache = VectorCache::default();
    assert_eq!(cache.count(&searcher).unwrap(), 100_000);
    let q = model.embed_one("why do village water boards stop working");
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("100k", |b| b.iter(|| cache.nearest(&searcher, &q, 2000).unwrap()));
    let exact = VectorCache::default();
    exact.scan_exactly();
    g.bench_function("100k-exact", |b| b.iter(|| exact.nearest(&searcher, &q, 2000).unwrap()));
    g.finish();
    let mut g = c.benchmark_group("added");
    g.bench_function("100k", |b| {
        b.iter_batched(
            || "what happens after the NGO leaves",
            |text| cache.nearest(&searcher, &model.embed_one(text), 2000).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
