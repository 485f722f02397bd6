//! How much the sketch pass of the passage scan loses against scoring every row: for each
//! query, the nearest passages through the sketches and by the exact scan of the same index,
//! then recall@TOP of the passages and of the first DOCS distinct documents (what hybrid search
//! keeps), with the latency of both. Queries are embedded with the installed model.
//!
//!   cargo run --release --example scan_recall -- INDEX QUERIES.tsv [TOP=2000] [DOCS=200]
//!
//! `docs_found`: distinct documents among the exact scan's TOP passages (at most DOCS), which says
//! whether TOP passages are enough to fill DOCS documents.
//!
//! QUERIES.tsv: the query in its second tab-separated column (the realdev set's format); the
//! first line is a header.

use std::collections::HashSet;
use std::time::Instant;

use wash_lessons::index::vectors::VectorCache;
use wash_lessons::index::WashIndex;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(index), Some(queries)) = (args.first(), args.get(1)) else {
        eprintln!("usage: scan_recall INDEX QUERIES.tsv [TOP] [DOCS]");
        std::process::exit(2);
    };
    let top: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let docs: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(200);
    let idx = WashIndex::open(std::path::Path::new(index)).expect("index");
    let searcher = idx.reader(false).expect("reader").searcher();
    let model = wash_lessons::model::Model::load_if_present(&wash_lessons::model::configured_path())
        .expect("model")
        .expect("no model installed (wash-lessons model install)");
    let text = std::fs::read_to_string(queries).expect("queries");
    let queries: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split('\t').nth(1)).collect();
    let (sketched, exact) = (VectorCache::default(), VectorCache::default());
    exact.scan_exactly();
    let passages = exact.count(&searcher).expect("count");
    sketched.count(&searcher).expect("load");
    let (mut rp, mut rd, mut ts, mut te) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Distinct documents among the exact scan's TOP passages (at most DOCS): whether TOP is deep enough.
    let mut found = Vec::new();
    let first_docs = |m: &[wash_lessons::index::vectors::PassageMatch]| {
        let mut seen = Vec::new();
        for p in m {
            if !seen.contains(&p.parent) {
                seen.push(p.parent.clone());
            }
            if seen.len() == docs {
                break;
            }
        }
        seen
    };
    for q in &queries {
        let v = model.embed_one(q);
        let t = Instant::now();
        let a = sketched.nearest(&searcher, &v, top).expect("sketched");
        ts.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let e = exact.nearest(&searcher, &v, top).expect("exact");
        te.push(t.elapsed().as_secs_f64() * 1000.0);
        let key = |m: &wash_lessons::index::vectors::PassageMatch| (m.parent.clone(), m.page, m.start);
        let got: HashSet<_> = a.iter().map(key).collect();
        rp.push(e.iter().filter(|m| got.contains(&key(m))).count() as f64 / e.len().max(1) as f64);
        let (da, de) = (first_docs(&a), first_docs(&e));
        found.push(de.len() as f64);
        rd.push(de.iter().filter(|d| da.contains(d)).count() as f64 / de.len().max(1) as f64);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
    };
    println!(
        "{{\"passages\": {passages}, \"queries\": {}, \"top\": {top}, \"docs\": {docs}, \
         \"recall_passages\": {:.4}, \"min_recall_passages\": {:.4}, \"recall_docs\": {:.4}, \"min_recall_docs\": {:.4}, \
         \"docs_found_mean\": {:.1}, \"docs_found_min\": {}, \"sketched_ms_p50\": {:.2}, \"exact_ms_p50\": {:.2}}}",
        queries.len(),
        mean(&rp),
        rp.iter().cloned().fold(1.0, f64::min),
        mean(&rd),
        rd.iter().cloned().fold(1.0, f64::min),
        mean(&found),
        found.iter().cloned().fold(f64::INFINITY, f64::min),
        pct(&mut ts, 0.5),
        pct(&mut te, 0.5)
    );
}
