//! The relevance benchmark (run by `benches/relevance.sh`): the judged queries of
//! `corpus-sample/queries.toml` through four systems over corpus-sample, with nDCG@10 and MRR:
//!
//! - **baseline**: plain BM25 in tantivy, default tokenizer, title and body, no synonyms, any word;
//! - **wash-lessons keyword / semantic / hybrid**: the full pipeline (per-language fields,
//!   glossary, taxonomy, typos...), by words, by meaning (passage vectors of USE multilingual v3;
//!   needs `wash-lessons model install`) and the two fused;
//! - **recoll**: `recollq` over an index built by `recollindex` (when installed);
//! - **omega**: Xapian Omega's `quest` over a database built by `omindex` (when installed).
//!
//! ```text
//! cargo run --release --example relevance -- [CORPUS] [QUERIES] [--misses] [--tune] [--tune-fusion]
//!     [--compare] [--subset odd|even] [--fusion name=value,...]
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, Value, STORED, STRING, TEXT};
use tantivy::{doc, Index, TantivyDocument};
#[path = "../tests/util/eval.rs"]
mod eval;

use eval::{load_queries, score, JudgedQuery};
use wash_lessons::index::WashIndex;
use wash_lessons::search::{search, Expander, Fusion, Mode, SearchRequest, Semantic};
use wash_lessons::{ingest, Config};

fn corpus_files(corpus: &Path) -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    for e in walkdir::WalkDir::new(corpus).sort_by_file_name() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if e.file_type().is_file() && !name.ends_with(".toml") {
            let rel = e.path().strip_prefix(corpus).unwrap().to_string_lossy().replace('\\', "/");
            v.push((rel, e.path().to_path_buf()));
        }
    }
    v
}

struct Ours {
    idx: WashIndex,
    reader: tantivy::IndexReader,
    expander: Expander,
    semantic: Option<Semantic>,
}

impl Ours {
    fn new(corpus: &Path, tmp: &Path) -> Ours {
        let config = Config::discover(None).unwrap();
        let idx = WashIndex::open_or_create(&tmp.join("ours")).unwrap();
        ingest::run(&idx, &config, &[corpus.to_path_buf()], &|e| eprintln!("{}: {}", e.path, e.error)).unwrap();
        let path = wash_lessons::model::configured_path();
        let model = wash_lessons::model::Model::load_if_present(&path).unwrap();
        if model.is_none() {
            eprintln!("no model at {} (wash-lessons model install): semantic and hybrid skipped", path.display());
        }
        ingest::embed::run(&idx, model.as_ref(), None, 60.0, false).unwrap();
        let reader = idx.reader(false).unwrap();
        Ours { idx, reader, expander: Expander::new(&config), semantic: model.map(Semantic::new) }
    }

    fn rank(&self, queries: &[JudgedQuery], mode: Mode) -> Vec<Vec<String>> {
        queries
            .iter()
            .map(|q| {
                let req =
                    SearchRequest { query: q.text.clone(), limit: 10, mode: Some(mode), ..SearchRequest::default() };
                search(&self.idx, &self.reader, &req, &self.expander, self.semantic.as_ref())
                    .unwrap()
                    .hits
                    .into_iter()
                    .map(|h| h.path)
                    .collect()
            })
            .collect()
    }
}

/// Coordinate search over the weights of the query expansion, on the judged queries.
fn tune(ours: &mut Ours, queries: &[JudgedQuery]) {
    let grid: &[(&str, &[f32])] = &[
        ("synonym", &[0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.7]),
        ("facet", &[0.0, 0.5, 1.0, 1.5, 2.5, 4.0, 6.0, 9.0]),
        ("typo", &[0.0, 0.25, 0.5, 1.0, 2.0]),
        ("proximity", &[0.0, 0.4, 0.8, 1.5, 3.0, 5.0]),
        ("lessons", &[0.0, 0.35, 0.7, 1.5]),
        ("all_words", &[1.0, 3.0, 10.0, 30.0]),
    ];
    for round in 0..2 {
        for (name, values) in grid {
            let mut best = (score(queries, &ours.rank(queries, Mode::Keyword)).0, None);
            let keep = ours.expander.weights;
            for &v in *values {
                let mut w = keep;
                match *name {
                    "synonym" => w.synonym = v,
                    "facet" => w.facet = v,
                    "typo" => w.typo = v,
                    "proximity" => w.proximity = v,
                    "lessons" => w.lessons = v,
                    _ => w.all_words = v,
                }
                ours.expander.weights = w;
                let n = score(queries, &ours.rank(queries, Mode::Keyword)).0;
                if n > best.0 + 1e-9 {
                    best = (n, Some(w));
                }
            }
            ours.expander.weights = best.1.unwrap_or(keep);
            println!("round {round} {name}: nDCG@10 {:.4} with {:?}", best.0, ours.expander.weights);
        }
    }
}

/// Whether a query is one of those meaning is for: conceptual or cross-language.
fn meaning_query(q: &JudgedQuery) -> bool {
    q.kind.iter().any(|k| k == "conceptual" || k == "cross-language")
}

/// Sets the fusion weight called `name`; false for an unknown name.
fn set_fusion(f: &mut Fusion, name: &str, v: f32) -> bool {
    match name {
        "words" => f.words = v,
        "words_question" => f.words_question = v,
        "words_sentence" => f.words_sentence = v,
        "cosine_floor" => f.cosine_floor = v,
        "min_similarity" => f.min_similarity = v,
        _ => return false,
    }
    true
}

/// nDCG@10 of the fused ranking on the conceptual and cross-language queries and on the rest.
fn fusion_scores(ours: &Ours, queries: &[JudgedQuery]) -> (f64, f64, f64) {
    let r = ours.rank(queries, Mode::Hybrid);
    let (mq, mr) = subset(queries, &r, meaning_query);
    let (rq, rr) = subset(queries, &r, |q| !meaning_query(q));
    (score(queries, &r).0, score(&mq, &mr).0, score(&rq, &rr).0)
}

/// Coordinate search over the fusion weights: the best overall nDCG@10, less four times any loss
/// against keyword search on the queries that are neither conceptual nor cross-language.
fn tune_fusion(ours: &mut Ours, queries: &[JudgedQuery]) {
    let (rq, rr) = subset(queries, &ours.rank(queries, Mode::Keyword), |q| !meaning_query(q));
    let floor = score(&rq, &rr).0;
    println!("keyword search on the other queries: {floor:.4}");
    let grid: &[(&str, &[f32])] = &[
        ("words", &[0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        ("words_question", &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        ("words_sentence", &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
        ("cosine_floor", &[0.0, 0.05, 0.1, 0.15, 0.2]),
        ("min_similarity", &[0.05, 0.1, 0.15, 0.2]),
    ];
    for round in 0..2 {
        for (name, values) in grid {
            let keep = ours.semantic.as_ref().unwrap().fusion;
            let (a, m, r) = fusion_scores(ours, queries);
            let penalty = |a: f64, r: f64| a - 4.0 * (floor - r).max(0.0);
            let mut best = (penalty(a, r), keep);
            for &v in *values {
                let mut f = keep;
                set_fusion(&mut f, name, v);
                ours.semantic.as_mut().unwrap().fusion = f;
                let (a, m, r) = fusion_scores(ours, queries);
                println!("    {name}={v}: all {a:.4}, conceptual+cross-language {m:.4}, rest {r:.4}");
                if penalty(a, r) > best.0 + 1e-9 {
                    best = (penalty(a, r), f);
                }
            }
            ours.semantic.as_mut().unwrap().fusion = best.1;
            println!("round {round} {name}: nDCG@10 {:.4} with {:?} (before: {a:.4}/{m:.4}/{r:.4})", best.0, best.1);
        }
    }
}

fn baseline(corpus: &Path, queries: &[JudgedQuery]) -> Vec<Vec<String>> {
    let config = Config::discover(None).unwrap();
    let mut b = Schema::builder();
    let path = b.add_text_field("path", STRING | STORED);
    let title = b.add_text_field("title", TEXT);
    let body = b.add_text_field("body", TEXT);
    let index = Index::create_in_ram(b.build());
    let mut w = index.writer(64 << 20).unwrap();
    let limits = wash_lessons::extract::Limits::from(&config.settings.extract);
    for (rel, p) in corpus_files(corpus) {
        if let Ok(d) = wash_lessons::extract::extract_file(&p, &limits) {
            let t = d.metadata.title.clone().or(d.declared.title.clone()).unwrap_or_default();
            w.add_document(doc!(path => rel, title => t, body => d.full_text())).unwrap();
        }
    }
    w.commit().unwrap();
    let searcher = index.reader().unwrap().searcher();
    let qp = QueryParser::for_index(&index, vec![title, body]);
    queries
        .iter()
        .map(|q| {
            let query = qp.parse_query_lenient(&q.text).0;
            let top = searcher.search(&query, &TopDocs::with_limit(10).order_by_score()).unwrap();
            top.into_iter()
                .map(|(_, a)| {
                    let d: TantivyDocument = searcher.doc(a).unwrap();
                    d.get_first(path).and_then(|v| v.as_str()).unwrap_or("").to_string()
                })
                .collect()
        })
        .collect()
}

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd} >/dev/null")).status().is_ok_and(|s| s.success())
}

fn rel_of(corpus: &Path, url_path: &str) -> String {
    let p = url_path.trim_start_matches("file://");
    let canon = std::fs::canonicalize(corpus).unwrap();
    p.strip_prefix(&*canon.to_string_lossy()).unwrap_or(p).trim_start_matches('/').to_string()
}

fn recoll(corpus: &Path, queries: &[JudgedQuery], tmp: &Path) -> Option<Vec<Vec<String>>> {
    if !have("recollq") {
        return None;
    }
    let conf = tmp.join("recoll");
    std::fs::create_dir_all(&conf).unwrap();
    let canon = std::fs::canonicalize(corpus).unwrap();
    std::fs::write(
        conf.join("recoll.conf"),
        format!(
            "topdirs = {}\ndbdir = {}\nnoaspell = 1\nskippedNames+ = *.toml\n",
            canon.display(),
            conf.join("xapiandb").display()
        ),
    )
    .unwrap();
    let ok = Command::new("recollindex").arg("-c").arg(&conf).arg("-z").output().ok()?.status.success();
    if !ok {
        return None;
    }
    Some(
        queries
            .iter()
            .map(|q| {
                let out =
                    Command::new("recollq").arg("-c").arg(&conf).args(["-b", "-n", "10", &q.text]).output().unwrap();
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.starts_with("file://"))
                    .map(|l| rel_of(corpus, l.trim()))
                    .collect()
            })
            .collect(),
    )
}

fn omega(corpus: &Path, queries: &[JudgedQuery], tmp: &Path) -> Option<Vec<Vec<String>>> {
    if !have("omindex") || !have("quest") {
        return None;
    }
    let db = tmp.join("omega");
    let canon = std::fs::canonicalize(corpus).unwrap();
    let ok = Command::new("omindex")
        .arg("--db")
        .arg(&db)
        .args(["--url", "/", "-Mmd:text/plain"])
        .arg(&canon)
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    Some(
        queries
            .iter()
            .map(|q| {
                let out = Command::new("quest")
                    .arg("-d")
                    .arg(&db)
                    .args(["-m", "10", "-s", "english", &q.text])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.split("url=").nth(1))
                    .map(|u| u.split_whitespace().next().unwrap_or("").trim_start_matches('/').to_string())
                    .collect()
            })
            .collect(),
    )
}

/// The judged queries of the real-text development set (`../shared/realdev/queries.tsv`: qid,
/// query, kind, judgments `rNNN:g`), with each judged id turned into the file of that stem in
/// `corpus` (its `mixed/` folder).
fn load_realdev(tsv: &Path, corpus: &Path) -> Vec<JudgedQuery> {
    let files: std::collections::HashMap<String, String> = corpus_files(corpus)
        .into_iter()
        .map(|(rel, p)| (p.file_stem().unwrap().to_string_lossy().into_owned(), rel))
        .collect();
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let judgments = cells[3]
            .split_whitespace()
            .filter_map(|j| {
                let (id, g) = j.rsplit_once(':')?;
                Some(eval::Judgment { path: files.get(id)?.clone(), grade: g.parse().ok()? })
            })
            .collect();
        out.push(JudgedQuery {
            id: cells[0].to_string(),
            text: cells[1].to_string(),
            lang: String::new(),
            kind: vec![cells[2].to_string()],
            judgments,
        });
    }
    out
}

/// The queries `keep` accepts, with their rankings.
fn subset(
    queries: &[JudgedQuery],
    rankings: &[Vec<String>],
    keep: impl Fn(&JudgedQuery) -> bool,
) -> (Vec<JudgedQuery>, Vec<Vec<String>>) {
    queries.iter().zip(rankings).filter(|(q, _)| keep(q)).map(|(q, r)| (q.clone(), r.clone())).unzip()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let misses = args.iter().any(|a| a == "--misses");
    let tuning = args.iter().any(|a| a == "--tune");
    let takes_value = |i: usize| i > 0 && matches!(args[i - 1].as_str(), "--subset" | "--fusion");
    let pos: Vec<&String> =
        args.iter().enumerate().filter(|(i, a)| !a.starts_with("--") && !takes_value(*i)).map(|(_, a)| a).collect();
    let corpus = PathBuf::from(pos.first().map(|s| s.to_string()).unwrap_or_else(|| "corpus-sample".into()));
    let qfile = pos.get(1).map(PathBuf::from).unwrap_or_else(|| corpus.join("queries.toml"));
    let mut queries = if qfile.extension().is_some_and(|e| e == "tsv") {
        load_realdev(&qfile, &corpus)
    } else {
        load_queries(&qfile).unwrap()
    };
    // --subset odd|even: half of the queries by id number, for a held-out check of tuning.
    if let Some(half) = args.iter().position(|a| a == "--subset").and_then(|i| args.get(i + 1)) {
        let odd = half == "odd";
        queries.retain(|q| q.id[1..].parse::<u32>().is_ok_and(|n| (n % 2 == 1) == odd));
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut engine = Ours::new(&corpus, tmp.path());
    // --fusion name=value,...: fusion weights other than the defaults.
    if let Some(spec) = args.iter().position(|a| a == "--fusion").and_then(|i| args.get(i + 1)) {
        let sem = engine.semantic.as_mut().expect("--fusion needs the model");
        for kv in spec.split(',') {
            let (k, v) = kv.split_once('=').expect("name=value");
            let v: f32 = v.parse().expect("a number");
            assert!(set_fusion(&mut sem.fusion, k, v), "unknown fusion weight {k}");
        }
        eprintln!("fusion: {:?}", sem.fusion);
    }
    if tuning {
        tune(&mut engine, &queries);
        return;
    }
    if args.iter().any(|a| a == "--tune-fusion") {
        if engine.semantic.is_none() {
            eprintln!("--tune-fusion needs the model");
            std::process::exit(1);
        }
        tune_fusion(&mut engine, &queries);
        return;
    }
    let mut systems: Vec<(&str, Vec<Vec<String>>)> = vec![
        ("baseline (BM25)", baseline(&corpus, &queries)),
        ("wash-lessons keyword", engine.rank(&queries, Mode::Keyword)),
    ];
    if engine.semantic.is_some() {
        systems.push(("wash-lessons semantic", engine.rank(&queries, Mode::Semantic)));
        systems.push(("wash-lessons hybrid", engine.rank(&queries, Mode::Hybrid)));
    }
    match recoll(&corpus, &queries, tmp.path()) {
        Some(r) => systems.push(("recoll", r)),
        None => eprintln!("recoll not installed (apt-get install recollcmd): skipped"),
    }
    match omega(&corpus, &queries, tmp.path()) {
        Some(r) => systems.push(("omega", r)),
        None => eprintln!("omega not installed (apt-get install xapian-omega): skipped"),
    }
    let mut kinds: Vec<&str> = Vec::new();
    for q in &queries {
        for k in &q.kind {
            if !kinds.contains(&k.as_str()) {
                kinds.push(k);
            }
        }
    }
    println!("{} judged queries, {}", queries.len(), qfile.display());
    print!("| system | nDCG@10 | MRR | nDCG@10 without conceptual | nDCG conceptual or cross-language | MRR same | nDCG rest |");
    for k in &kinds {
        print!(" nDCG {k} |");
    }
    println!();
    println!("|---|---|---|---|---|---|---|{}", "---|".repeat(kinds.len()));
    for (name, rankings) in &systems {
        let (ndcg, mrr) = score(&queries, rankings);
        let (q, r) = subset(&queries, rankings, |q| !q.kind.iter().any(|x| x == "conceptual"));
        print!("| {name} | {ndcg:.3} | {mrr:.3} | {:.3} ({}) |", score(&q, &r).0, q.len());
        let (mq, mr) = subset(&queries, rankings, meaning_query);
        let (rq, rr) = subset(&queries, rankings, |q| !meaning_query(q));
        let m = score(&mq, &mr);
        print!(" {:.3} ({}) | {:.3} | {:.3} ({}) |", m.0, mq.len(), m.1, score(&rq, &rr).0, rq.len());
        for k in &kinds {
            let (q, r) = subset(&queries, rankings, |q| q.kind.iter().any(|x| x == k));
            print!(" {:.3} ({}) |", score(&q, &r).0, q.len());
        }
        println!();
    }
    if args.iter().any(|a| a == "--compare") && systems.len() >= 4 {
        // Per query, keyword against hybrid (and semantic), on the conceptual and cross-language
        // queries: where meaning helps most and where it still misses.
        let find = |n: &str| &systems.iter().find(|(name, _)| *name == n).unwrap().1;
        let (kw, sem, hyb) = (find("wash-lessons keyword"), find("wash-lessons semantic"), find("wash-lessons hybrid"));
        let mut rows: Vec<(f64, f64, f64, &JudgedQuery, &Vec<String>)> = queries
            .iter()
            .enumerate()
            .filter(|(_, q)| meaning_query(q))
            .map(|(i, q)| (q.ndcg(&kw[i], 10), q.ndcg(&sem[i], 10), q.ndcg(&hyb[i], 10), q, &hyb[i]))
            .collect();
        rows.sort_by(|a, b| (b.2 - b.0).total_cmp(&(a.2 - a.0)));
        println!("\nconceptual and cross-language queries, by gain of hybrid over keyword (nDCG@10 keyword / semantic / hybrid):");
        for (k, s, h, q, r) in &rows {
            println!("{k:.3} / {s:.3} / {h:.3} {} {:?} [{}] {}", q.id, q.text, q.lang, q.kind.join(","));
            println!("    hybrid top 3: {}", r.iter().take(3).cloned().collect::<Vec<_>>().join("; "));
        }
    }
    if args.iter().any(|a| a == "--per-query") && systems.len() >= 4 {
        let find = |n: &str| &systems.iter().find(|(name, _)| *name == n).unwrap().1;
        let (kw, sem, hyb) = (find("wash-lessons keyword"), find("wash-lessons semantic"), find("wash-lessons hybrid"));
        println!("\nper query, nDCG@10 keyword / semantic / hybrid:");
        for (i, q) in queries.iter().enumerate() {
            println!(
                "{:.3} / {:.3} / {:.3} {} [{}] {:?}",
                q.ndcg(&kw[i], 10),
                q.ndcg(&sem[i], 10),
                q.ndcg(&hyb[i], 10),
                q.id,
                q.kind.join(","),
                q.text
            );
        }
    }
    if misses {
        let (name, ours) = systems.iter().find(|(n, _)| *n == "wash-lessons hybrid").unwrap_or(&systems[1]);
        println!("\n(worst for {name})");
        let mut worst: Vec<(f64, &JudgedQuery, &Vec<String>)> =
            queries.iter().zip(ours).map(|(q, r)| (q.ndcg(r, 10), q, r)).collect();
        worst.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!("\nworst queries for wash-lessons:");
        for (n, q, r) in worst.iter().take(15) {
            println!("{n:.3} {} {:?} [{}]", q.id, q.text, q.kind.join(","));
            let want: Vec<String> =
                q.judgments.iter().filter(|j| j.grade >= 2).map(|j| format!("{} ({})", j.path, j.grade)).collect();
            println!("    want: {}", want.join("; "));
            println!("    got:  {}", r.iter().take(5).cloned().collect::<Vec<_>>().join("; "));
        }
    }
}
