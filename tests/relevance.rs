//! Relevance on the judged queries of `corpus-sample/queries.toml` (written and graded by reading
//! the documents, not by running this engine): the full pipeline must stay above floors set from
//! its measured figures (`cargo run --release --example relevance` prints the full table with the
//! BM25 baseline, Recoll and Omega). Also: typos are suggested, synonyms and the taxonomy carry a
//! query across languages, and "more like this" finds lessons of the same kind.

use std::sync::OnceLock;

use wash_lessons::eval::{load_queries, score};
use wash_lessons::index::WashIndex;
use wash_lessons::search::{search, similar, Expander, SearchRequest, SearchResponse};
use wash_lessons::{ingest, Config};

use crate::util;

struct Engine {
    _dir: tempfile::TempDir,
    idx: WashIndex,
    reader: tantivy::IndexReader,
    expander: Expander,
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load_dir(&util::root().join("index-config")).unwrap();
        let idx = WashIndex::open_or_create(&dir.path().join("idx")).unwrap();
        let s = ingest::run(&idx, &config, &[util::corpus()], &|e| panic!("{}: {}", e.path, e.error)).unwrap();
        assert_eq!(s.indexed, 64);
        let reader = idx.reader(false).unwrap();
        Engine { _dir: dir, idx, reader, expander: Expander::new(&config) }
    })
}

fn run(q: &str) -> SearchResponse {
    let e = engine();
    let req = SearchRequest { query: q.to_string(), limit: 10, ..SearchRequest::default() };
    search(&e.idx, &e.reader, &req, &e.expander).unwrap()
}

fn paths(r: &SearchResponse) -> Vec<String> {
    r.hits.iter().map(|h| h.path.clone()).collect()
}

#[test]
fn judged_queries_stay_above_their_floors() {
    let queries = load_queries(&util::corpus().join("queries.toml")).unwrap();
    assert!(queries.len() >= 40, "{} queries", queries.len());
    let rankings: Vec<Vec<String>> = queries.iter().map(|q| paths(&run(&q.text))).collect();
    let (ndcg, mrr) = score(&queries, &rankings);
    let words: Vec<_> =
        queries.iter().zip(&rankings).filter(|(q, _)| !q.kind.iter().any(|k| k == "conceptual")).collect();
    let (wq, wr): (Vec<_>, Vec<_>) = words.into_iter().map(|(q, r)| (q.clone(), r.clone())).unzip();
    let (ndcg_words, _) = score(&wq, &wr);
    println!("nDCG@10 {ndcg:.3}, MRR {mrr:.3}; without the conceptual queries nDCG@10 {ndcg_words:.3}");
    assert!(ndcg >= FLOOR_NDCG, "nDCG@10 {ndcg:.3} fell below {FLOOR_NDCG}");
    assert!(mrr >= FLOOR_MRR, "MRR {mrr:.3} fell below {FLOOR_MRR}");
    assert!(ndcg_words >= FLOOR_NDCG_WORDS, "nDCG@10 {ndcg_words:.3} fell below {FLOOR_NDCG_WORDS}");
}

/// Floors: the measured figures less about 0.03 (README, relevance).
const FLOOR_NDCG: f64 = 0.76;
const FLOOR_MRR: f64 = 0.87;
const FLOOR_NDCG_WORDS: f64 = 0.82;

#[test]
fn typos_are_found_and_corrected() {
    let r = run("handpmup mechanics");
    assert!(r.total > 0);
    assert!(r.hits.iter().take(5).any(|h| h.path.contains("handpump") || h.path.contains("pmh")), "{:?}", paths(&r));
    let r = run("desludgeing frequncy");
    assert_eq!(r.did_you_mean.as_deref(), Some("desludging frequency"), "{:?}", r.did_you_mean);
    assert_eq!(run("latrine").did_you_mean, None);
}

#[test]
fn glossary_and_taxonomy_cross_languages() {
    // An acronym finds the documents that spell it out, in other languages too.
    let fsm = paths(&run("FSM"));
    assert!(fsm.iter().any(|p| p.contains("faecal-sludge") || p.contains("boues")), "{fsm:?}");
    // French words find English septic-tank reports through the taxonomy.
    let r = run("fosse septique");
    assert!(r.hits.iter().any(|h| h.language == "en"), "{:?}", paths(&r));
    // "pièces de rechange" finds English spare-parts reports and the other way round.
    let r = run("pièces de rechange");
    assert!(r.hits.iter().any(|h| h.language == "en"), "{:?}", paths(&r));
    let r = run("spare parts");
    assert!(r.hits.iter().any(|h| h.language == "fr"), "{:?}", paths(&r));
}

#[test]
fn more_like_this_finds_lessons_of_the_same_kind() {
    let e = engine();
    let seed = run("Afridev handpump sustainability Malawi").hits[0].clone();
    assert!(seed.path.contains("malawi-afridev"), "{}", seed.path);
    let req = SearchRequest { limit: 5, ..SearchRequest::default() };
    let r = similar(&e.idx, &e.reader, &seed.id, &req).unwrap().unwrap();
    assert!(r.hits.iter().all(|h| h.id != seed.id), "not itself");
    let handpumps =
        r.hits.iter().filter(|h| h.facets["technology"].iter().any(|t| t.contains("/borehole/handpump"))).count();
    assert!(handpumps >= 3, "{:?}", paths(&r));
    assert!(similar(&e.idx, &e.reader, "0000000000000000", &req).unwrap().is_none());
}
