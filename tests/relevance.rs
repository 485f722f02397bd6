//! Relevance on the judged queries of `corpus-sample/queries.toml` (written and graded by reading
//! the documents, not by running this engine): the full pipeline must stay above floors set from
//! its measured figures (`cargo run --release --example relevance` prints the full table with the
//! BM25 baseline, Recoll and Omega). Also: typos are suggested, synonyms and the taxonomy carry a
//! query across languages, and "more like this" finds lessons of the same kind.

use std::sync::OnceLock;

use crate::util::eval::{load_queries, score};
use wash_lessons::index::WashIndex;
use wash_lessons::search::{search, similar, Expander, Mode, SearchRequest, SearchResponse, Semantic};
use wash_lessons::{ingest, Config};

use crate::util;

struct Engine {
    _dir: tempfile::TempDir,
    idx: WashIndex,
    reader: tantivy::IndexReader,
    expander: Expander,
    /// None when the model cannot be had (the semantic parts are then skipped, said once).
    semantic: Option<Semantic>,
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load_dir(&util::root().join("index-config")).unwrap();
        let idx = WashIndex::open_or_create(&dir.path().join("idx")).unwrap();
        let s = ingest::run(&idx, &config, &[util::corpus()], &|e| panic!("{}: {}", e.path, e.error)).unwrap();
        assert_eq!(s.indexed, 64);
        let model = util::model("relevance: the semantic and hybrid parts")
            .map(|p| wash_lessons::model::Model::load(&p).unwrap());
        if let Some(model) = &model {
            ingest::embed::run(&idx, Some(model), None, 60.0, false).unwrap();
        }
        let reader = idx.reader(false).unwrap();
        Engine { _dir: dir, idx, reader, expander: Expander::new(&config), semantic: model.map(Semantic::new) }
    })
}

fn run(q: &str) -> SearchResponse {
    run_mode(q, Mode::Keyword)
}

fn run_mode(q: &str, mode: Mode) -> SearchResponse {
    let e = engine();
    let req = SearchRequest { query: q.to_string(), limit: 10, mode: Some(mode), ..SearchRequest::default() };
    search(&e.idx, &e.reader, &req, &e.expander, e.semantic.as_ref()).unwrap()
}

fn paths(r: &SearchResponse) -> Vec<String> {
    r.hits.iter().map(|h| h.path.clone()).collect()
}

/// The queries judged for keyword relevance (q01 to q78); q79 on were written for semantic search.
fn keyword_era(q: &crate::util::eval::JudgedQuery) -> bool {
    q.id[1..].parse::<u32>().is_ok_and(|n| n <= 78)
}

#[test]
fn judged_queries_stay_above_their_floors() {
    let mut queries = load_queries(&util::corpus().join("queries.toml")).unwrap();
    queries.retain(keyword_era);
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

/// Whether a query is one meaning is for.
fn meaning_query(q: &crate::util::eval::JudgedQuery) -> bool {
    q.kind.iter().any(|k| k == "conceptual" || k == "cross-language")
}

#[test]
fn hybrid_search_beats_keywords_where_words_differ_and_holds_elsewhere() {
    if engine().semantic.is_none() {
        return;
    }
    let queries = load_queries(&util::corpus().join("queries.toml")).unwrap();
    let (meaning, rest): (Vec<_>, Vec<_>) = queries.into_iter().partition(meaning_query);
    assert!(meaning.iter().filter(|q| q.id[1..].parse::<u32>().unwrap() > 78).count() >= 20);
    let ndcg = |qs: &[crate::util::eval::JudgedQuery], mode: Mode| {
        let rankings: Vec<Vec<String>> = qs.iter().map(|q| paths(&run_mode(&q.text, mode))).collect();
        score(qs, &rankings).0
    };
    let (km, hm, sm) = (ndcg(&meaning, Mode::Keyword), ndcg(&meaning, Mode::Hybrid), ndcg(&meaning, Mode::Semantic));
    let (kr, hr) = (ndcg(&rest, Mode::Keyword), ndcg(&rest, Mode::Hybrid));
    println!("conceptual and cross-language: keyword {km:.3}, semantic {sm:.3}, hybrid {hm:.3}; rest: keyword {kr:.3}, hybrid {hr:.3}");
    assert!(hm >= FLOOR_GAIN * km, "hybrid {hm:.3} is not {FLOOR_GAIN}x keyword {km:.3}");
    assert!(sm >= km, "semantic {sm:.3} below keyword {km:.3} where words differ");
    assert!(hr >= kr - REST_TOLERANCE, "hybrid {hr:.3} fell below keyword {kr:.3} on the other queries");
}

/// Hybrid over keyword on the conceptual and cross-language queries of corpus-sample. Measured
/// 1.55x with the rank fusion tuned on these queries; 1.22x with the score fusion tuned on the
/// real-text development set, which ranks real pages better (README, relevance): corpus-sample is
/// the second check, real text decides.
const FLOOR_GAIN: f64 = 1.15;
/// Ties and segment order move single queries; more than this is a real loss.
const REST_TOLERANCE: f64 = 0.01;

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
    let r = similar(&e.idx, &e.reader, &seed.id, &req, None).unwrap().unwrap();
    assert!(r.hits.iter().all(|h| h.id != seed.id), "not itself");
    let handpumps =
        r.hits.iter().filter(|h| h.facets["technology"].iter().any(|t| t.contains("/borehole/handpump"))).count();
    assert!(handpumps >= 3, "{:?}", paths(&r));
    assert!(similar(&e.idx, &e.reader, "0000000000000000", &req, None).unwrap().is_none());
    // With vectors, lessons like it include those close in meaning.
    let Some(semantic) = &e.semantic else { return };
    let r = similar(&e.idx, &e.reader, &seed.id, &req, Some(semantic)).unwrap().unwrap();
    assert!(r.hits.iter().all(|h| h.id != seed.id), "not itself");
    assert!(r.hits.iter().any(|h| h.passage.is_some()), "{:?}", paths(&r));
    let handpumps =
        r.hits.iter().filter(|h| h.facets["technology"].iter().any(|t| t.contains("/borehole/handpump"))).count();
    assert!(handpumps >= 3, "{:?}", paths(&r));
}

#[test]
fn question_words_neither_rank_nor_get_highlighted() {
    let modes = if engine().semantic.is_some() { &[Mode::Keyword, Mode::Hybrid][..] } else { &[Mode::Keyword] };
    for &mode in modes {
        let r = run_mode("why do handpumps break down", mode);
        assert!(!r.hits.is_empty());
        for h in &r.hits {
            for s in &h.snippets {
                let lower = s.html.to_lowercase();
                assert!(!lower.contains("<mark>do</mark>") && !lower.contains("<mark>why</mark>"), "{}", s.html);
            }
        }
        // "happens" is not what a practitioner asks about: the first hit holds "NGO".
        let r = run_mode("what happens after the NGO leaves", mode);
        let top = &r.hits[0];
        let text = top.snippets.iter().map(|s| s.html.to_lowercase()).collect::<String>() + &top.title.to_lowercase();
        assert!(!text.contains("<mark>happens</mark>"), "{text}");
    }
}

#[test]
fn hybrid_totals_and_facet_counts_are_those_of_the_documents_found_either_way() {
    let e = engine();
    let Some(semantic) = &e.semantic else { return };
    let all = |q: &str, mode: Mode| {
        let req = SearchRequest { query: q.to_string(), limit: 100, mode: Some(mode), ..SearchRequest::default() };
        search(&e.idx, &e.reader, &req, &e.expander, Some(semantic)).unwrap()
    };
    for q in ["handpump spare parts", "why do village water committees stop meeting", "vidange des boues"] {
        let (k, s, h) = (all(q, Mode::Keyword), all(q, Mode::Semantic), all(q, Mode::Hybrid));
        assert!(k.total <= 64 && s.total <= 64, "every match is on the page");
        let union: std::collections::BTreeMap<&str, &wash_lessons::search::Hit> =
            k.hits.iter().chain(&s.hits).map(|x| (x.id.as_str(), x)).collect();
        assert_eq!(h.total, union.len(), "{q}");
        for fam in ["technology", "failure_cause", "context"] {
            for c in &h.facets[fam] {
                let n = union
                    .values()
                    .filter(|x| x.facets.get(fam).is_some_and(|v| v.iter().any(|p| p.starts_with(&c.path))))
                    .count();
                assert_eq!(c.count as usize, n, "{q}: {}", c.path);
            }
        }
    }
}
