//! Search: a [`SearchRequest`] becomes a tantivy query (the user's words, leniently parsed, over
//! every language's title and body fields, plus facet, language and year filters that do not
//! change scores), and the matches become a [`SearchResponse`]: hits with snippets from the page
//! where the words occur, and facet counts for drill-down. One result shape for the command
//! line and the HTTP API; no HTTP types here.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, FacetCollector, FacetCounts, MultiCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, QueryParser, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, IndexReader, Order, Searcher, TantivyDocument, Term};

use crate::config::{check_path_syntax, family_of, ALL_FAMILIES, TAGGED_FAMILIES};
use crate::document::Record;
use crate::error::{Error, Result};
use crate::index::vectors::PassageMatch;
use crate::index::{DocumentStatistics, WashIndex};

pub mod expand;
pub mod hybrid;

pub use expand::Expander;
use expand::{typo_candidates, typo_distance, Concept};
pub use hybrid::{Fusion, Mode, Semantic};

/// Most hits one request may ask for.
pub const MAX_LIMIT: usize = 100;
/// Deepest offset a request may page to.
pub const MAX_OFFSET: usize = 10_000;
/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Below this many documents with all the words, documents with some of them are added.
const FULL_PAGE: usize = 10;
/// Families whose counts every response carries.
const RESPONSE_FAMILIES: [&str; 8] =
    ["context", "technology", "failure_cause", "approach", "language", "doctype", "country", "year"];

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// Most recent year first.
    Newest,
}

/// A search.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchRequest {
    /// The user's words; empty lists everything.
    pub query: String,
    /// Facet paths that must all hold (a path matches itself and everything below).
    pub filters: Vec<String>,
    /// Only documents in this language (ISO 639-1 or "und").
    pub lang: Option<String>,
    /// Earliest year.
    pub year_min: Option<u32>,
    /// Latest year.
    pub year_max: Option<u32>,
    /// Order.
    pub sort: Sort,
    /// Hits per page (at most [`MAX_LIMIT`]).
    pub limit: usize,
    /// Hits skipped (at most [`MAX_OFFSET`]).
    pub offset: usize,
    /// keyword, semantic or hybrid; default hybrid when the sentence-encoder model is
    /// installed, else keyword.
    #[serde(default)]
    pub mode: Option<Mode>,
}

/// A highlighted passage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Snippet {
    /// HTML-escaped text with `<mark>` around the matches.
    pub html: String,
    /// The page it comes from (null for formats without pages).
    pub page: Option<u32>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hit {
    /// Document id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Path, relative to the indexed root.
    pub path: String,
    /// Format name.
    pub format: String,
    /// Language.
    pub language: String,
    /// Year.
    pub year: Option<u32>,
    /// ISO country codes.
    pub countries: Vec<String>,
    /// `/doctype/...`.
    pub doctype: String,
    /// Facet paths per tagged family.
    pub facets: BTreeMap<String, Vec<String>>,
    /// Relevance score.
    pub score: f32,
    /// Highlighted passages.
    pub snippets: Vec<Snippet>,
    /// How the document was found: by the query's words (or their synonyms and facets), by
    /// meaning (a passage near the query), or both.
    pub matched_by: Vec<MatchedBy>,
    /// The passage nearest in meaning to the query, when it was found by meaning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passage: Option<PassageHit>,
}

/// A way a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// The words of the query, their synonyms, facets or near spellings.
    Keyword,
    /// A passage close in meaning (sentence vectors).
    Meaning,
}

/// The passage of a hit nearest in meaning to the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PassageHit {
    /// Its page (null for formats without pages).
    pub page: Option<u32>,
    /// Its text (plain, cut to 400 characters).
    pub text: String,
    /// Cosine similarity with the query.
    pub similarity: f32,
}

/// A facet value and how many matching documents carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FacetCount {
    /// The facet path.
    pub path: String,
    /// Matching documents under it.
    pub count: u64,
}

/// The answer to a search.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchResponse {
    /// The query as given.
    pub query: String,
    /// How it was searched.
    pub mode: Mode,
    /// Matching documents in all.
    pub total: usize,
    /// Whether every hit holds all the words of the query. When fewer than ten documents do,
    /// documents with some of the words follow them and this is false.
    pub all_words: bool,
    /// When a word of the query is unknown to the index: the query with that word corrected
    /// to the closest frequent word ("handpmup" -> "handpump").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
    /// Time spent, in milliseconds.
    pub took_ms: u64,
    /// The requested page of hits.
    pub hits: Vec<Hit>,
    /// Per family: counts of the children of the family root and of every filtered path.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}

/// A node of the facet tree with counts (for stats and the facet browser).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FacetNode {
    /// The facet path.
    pub path: String,
    /// Documents under it.
    pub count: u64,
    /// Its children with documents.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<FacetNode>,
}

fn parse_filter(idx: &WashIndex, filter: &str) -> Result<(String, Box<dyn Query>)> {
    let invalid = |reason: String| Error::InvalidFilter { filter: filter.to_string(), reason };
    let path = filter.trim().trim_end_matches('/');
    check_path_syntax(path).or_else(|e| {
        // Country codes are upper case: /country/MW.
        let ok = path.starts_with("/country/") && path.len() == 11 && path[9..].chars().all(|c| c.is_ascii_uppercase());
        if ok {
            Ok(())
        } else {
            Err(invalid(e))
        }
    })?;
    let fam = family_of(path).unwrap_or("");
    let field = idx
        .fields
        .facet(fam)
        .ok_or_else(|| invalid(format!("unknown facet family {fam:?}; families are {}", ALL_FAMILIES.join(", "))))?;
    let facet = Facet::from_text(path).map_err(|e| invalid(e.to_string()))?;
    let q: Box<dyn Query> = Box::new(ConstScoreQuery::new(
        Box::new(TermQuery::new(Term::from_facet(field, &facet), IndexRecordOption::Basic)),
        0.0,
    ));
    Ok((path.to_string(), q))
}

/// The parser of user queries: every language's title and body fields, titles weighted more.
pub fn query_parser(idx: &WashIndex) -> QueryParser {
    let f = &idx.fields;
    let fields: Vec<_> = f.titles.iter().chain(&f.bodies).map(|(_, field)| *field).collect();
    let mut qp = QueryParser::for_index(&idx.index, fields);
    for (lang, field) in &f.titles {
        qp.set_field_boost(*field, if lang == "neutral" { 1.5 } else { 3.0 });
    }
    for (lang, field) in &f.bodies {
        qp.set_field_boost(*field, if lang == "neutral" { 0.5 } else { 1.0 });
    }
    qp
}

const PROXIMITY_SLOP: u32 = 8;

/// How a query is searched: its concepts, each found by its words, synonyms, facets or typos.
struct QueryPlan {
    /// One clause per concept, and whether the concept is required.
    clauses: Vec<(bool, Box<dyn Query>)>,
    /// Documents with all concepts over those with some.
    all_words_boost: f32,
    /// The content words close together.
    proximity: Option<Box<dyn Query>>,
    concepts: Vec<Concept>,
}

/// Characters of the query syntax: a query using them is taken as written.
fn has_syntax(q: &str) -> bool {
    q.contains(['"', ':', '(', ')', '+', '[', '{', '^', '~']) || q.split_whitespace().any(|w| w.starts_with('-'))
}

impl QueryPlan {
    fn new(idx: &WashIndex, expander: &Expander, query: &str) -> Option<QueryPlan> {
        if query.trim().is_empty() {
            return None;
        }
        let qp = query_parser(idx);
        if has_syntax(query) || crate::text::folded_words(query).is_empty() {
            let mut strict = query_parser(idx);
            strict.set_conjunction_by_default();
            let q = strict.parse_query_lenient(query).0;
            return Some(QueryPlan {
                clauses: vec![(true, q)],
                all_words_boost: expander.weights.all_words,
                proximity: None,
                concepts: Vec::new(),
            });
        }
        let concepts = expander.concepts(query);
        let w = expander.weights;
        let neutral = idx.fields.neutral_body();
        let phrase = |t: &str| -> Box<dyn Query> {
            let words = crate::text::folded_words(t);
            if words.len() > 1 {
                qp.parse_query_lenient(&format!("\"{}\"", words.join(" "))).0
            } else {
                qp.parse_query_lenient(&words.join(" ")).0
            }
        };
        let mut lessons_qp = QueryParser::for_index(&idx.index, vec![idx.fields.lessons]);
        lessons_qp.set_field_boost(idx.fields.lessons, w.lessons);
        let mut clauses = Vec::new();
        // Stop and question words ("why", "do", "the") neither rank nor get highlighted when the
        // query has other words: "what happens after the NGO leaves" is about NGOs leaving.
        let has_content = concepts.iter().any(|c| !c.optional);
        for c in concepts.iter().filter(|c| !c.optional || !has_content) {
            let mut alts: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, phrase(&c.text))];
            if !c.optional {
                let words = crate::text::folded_words(&c.text).join(" ");
                alts.push((Occur::Should, lessons_qp.parse_query_lenient(&format!("\"{words}\"")).0));
            }
            for syn in &c.alts.synonyms {
                alts.push((Occur::Should, Box::new(BoostQuery::new(phrase(syn), w.synonym))));
            }
            for path in &c.alts.facets {
                let fam = family_of(path).unwrap_or("");
                if let (Some(field), Ok(facet)) = (idx.fields.facet(fam), Facet::from_text(path)) {
                    let tq = TermQuery::new(Term::from_facet(field, &facet), IndexRecordOption::Basic);
                    alts.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(tq), w.facet))));
                }
            }
            if c.words == 1 && !c.optional {
                let word = crate::text::fold(&c.text);
                let d = typo_distance(&word);
                if d > 0 && word.chars().all(char::is_alphabetic) {
                    let fq = FuzzyTermQuery::new(Term::from_field_text(neutral, &word), d, true);
                    alts.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(fq), w.typo))));
                }
            }
            clauses.push((!c.optional, Box::new(BooleanQuery::new(alts)) as Box<dyn Query>));
        }
        if clauses.iter().all(|(req, _)| !req) {
            for c in &mut clauses {
                c.0 = true;
            }
        }
        let content: Vec<String> =
            concepts.iter().filter(|c| !c.optional).flat_map(|c| crate::text::folded_words(&c.text)).collect();
        let proximity = (content.len() >= 2).then(|| {
            let mut p = QueryParser::for_index(&idx.index, vec![neutral]);
            p.set_field_boost(neutral, w.proximity);
            p.parse_query_lenient(&format!("\"{}\"~{PROXIMITY_SLOP}", content.join(" "))).0
        });
        Some(QueryPlan { clauses, all_words_boost: w.all_words, proximity, concepts })
    }

    /// Documents with every required concept.
    fn all(&self) -> Box<dyn Query> {
        let mut v: Vec<(Occur, Box<dyn Query>)> = self
            .clauses
            .iter()
            .map(|(req, q)| (if *req { Occur::Must } else { Occur::Should }, q.box_clone()))
            .collect();
        if let Some(p) = &self.proximity {
            v.push((Occur::Should, p.box_clone()));
        }
        Box::new(BooleanQuery::new(v))
    }

    /// Documents with any concept, those with all of them far ahead.
    fn any(&self) -> Box<dyn Query> {
        let mut v: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Should, Box::new(BoostQuery::new(self.all(), self.all_words_boost)))];
        v.extend(self.clauses.iter().map(|(_, q)| (Occur::Should, q.box_clone())));
        if let Some(p) = &self.proximity {
            v.push((Occur::Should, p.box_clone()));
        }
        Box::new(BooleanQuery::new(v))
    }

    /// The query with its unknown words replaced by the closest frequent words of the index.
    fn suggestion(&self, idx: &WashIndex, searcher: &Searcher, query: &str) -> Option<String> {
        let field = idx.fields.neutral_body();
        let mut out = query.to_string();
        let mut changed = false;
        for w in typo_candidates(&self.concepts) {
            if searcher.doc_freq(&Term::from_field_text(field, &w)).unwrap_or(0) > 0 {
                continue;
            }
            if let Some(best) = closest_term(searcher, field, &w) {
                let typed = self.concepts.iter().find(|c| crate::text::fold(&c.text) == w).map(|c| c.text.clone())?;
                out = out.replacen(&typed, &best, 1);
                changed = true;
            }
        }
        changed.then_some(out)
    }
}

/// The indexed word closest to `word` (same first letter, within its typo distance), the most
/// frequent among the closest.
fn closest_term(searcher: &Searcher, field: tantivy::schema::Field, word: &str) -> Option<String> {
    let max = typo_distance(word) as usize;
    let first = word.chars().next()?;
    let lo = first.to_string();
    let hi = char::from_u32(first as u32 + 1)?.to_string();
    let mut best: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for seg in searcher.segment_readers() {
        let Ok(inv) = seg.inverted_index(field) else { continue };
        let Ok(mut stream) = inv.terms().range().ge(lo.as_bytes()).lt(hi.as_bytes()).into_stream() else { continue };
        while stream.advance() {
            let Ok(t) = std::str::from_utf8(stream.key()) else { continue };
            if t.len().abs_diff(word.len()) > max {
                continue;
            }
            let d = expand::edit_distance(word, t, max);
            if d <= max {
                let e = best.entry(t.to_string()).or_insert((d, 0));
                e.1 += stream.value().doc_freq as u64;
            }
        }
    }
    best.into_iter().min_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1))).map(|(t, _)| t)
}

/// Runs a search. `semantic` is the sentence encoder with the passage vectors, when installed.
pub fn search(
    idx: &WashIndex,
    reader: &IndexReader,
    req: &SearchRequest,
    expander: &Expander,
    semantic: Option<&Semantic>,
) -> Result<SearchResponse> {
    let start = Instant::now();
    if req.limit > MAX_LIMIT {
        return Err(Error::InvalidRequest(format!("limit {} is above the maximum of {MAX_LIMIT}", req.limit)));
    }
    if req.offset > MAX_OFFSET {
        return Err(Error::InvalidRequest(format!("offset {} is beyond the deepest page ({MAX_OFFSET})", req.offset)));
    }
    if req.query.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::QueryTooLong(MAX_QUERY_CHARS));
    }
    if let (Some(a), Some(b)) = (req.year_min, req.year_max) {
        if a > b {
            return Err(Error::InvalidRequest(format!("year_min {a} is after year_max {b}")));
        }
    }
    let mode = match (req.mode, semantic) {
        (None, Some(_)) => Mode::Hybrid,
        (None, None) | (Some(Mode::Keyword), _) => Mode::Keyword,
        (Some(m), Some(_)) => m,
        (Some(m), None) => {
            return Err(Error::InvalidRequest(format!(
                "mode {} needs the sentence-encoder model, which is not installed here (`wash-lessons model install`); \
                 use mode=keyword",
                m.as_str()
            )))
        }
    };
    let searcher = reader.searcher();
    // BM25 statistics of the documents, counted once for every query this request runs.
    let stats = DocumentStatistics::new(&searcher)?;
    let (filters, filter_paths) = request_filters(idx, req)?;
    let plan = QueryPlan::new(idx, expander, &req.query);
    // An empty query lists documents: there is no meaning to compare.
    let mode = if plan.is_none() { Mode::Keyword } else { mode };
    let sem = semantic.filter(|_| mode != Mode::Keyword);

    if let Some(sem) = sem {
        // Meaning and words side by side, one per core.
        let depth = (req.offset + req.limit).max(KEYWORD_DEPTH);
        let (sdocs, kw) = rayon::join(
            || {
                let query_vector = sem.model.embed_one(&req.query);
                hybrid::semantic_docs(&searcher, sem, &query_vector, &filters, &sem.fusion, None)
            },
            || match (&plan, mode) {
                (Some(p), Mode::Hybrid) => {
                    let deep = SearchRequest { offset: 0, limit: depth, sort: Sort::Relevance, ..req.clone() };
                    keyword(&searcher, &stats, &deep, p, &filters, &filter_paths, false).map(Some)
                }
                _ => Ok(None),
            },
        );
        let (sdocs, kw) = (sdocs?, kw?);
        let mut lookup = hybrid::DocLookup::new(&searcher);
        let keyword_list: Vec<(String, DocAddress, f32)> = kw
            .as_ref()
            .map(|k| k.found.1.iter().filter_map(|(s, a)| Some((lookup.id(*a)?, *a, *s))).collect())
            .unwrap_or_default();
        let words = sem.fusion.words_for(&req.query);
        let fused = hybrid::fuse(&keyword_list, &sdocs, words, &sem.fusion);
        // Totals and facet counts over documents found either way.
        let meaning: Box<dyn Query> = Box::new(hybrid::AddressSet::new(&searcher, sdocs.iter().map(|d| d.addr)));
        let union: Box<dyn Query> = match &kw {
            Some(k) => {
                Box::new(BooleanQuery::new(vec![(Occur::Should, k.query.box_clone()), (Occur::Should, meaning)]))
            }
            None => meaning,
        };
        let newest = req.sort == Sort::Newest;
        let counting = SearchRequest { limit: if newest { req.limit } else { 0 }, ..req.clone() };
        let (total, newest_top, facets) = execute(&searcher, &stats, &counting, &*union, &filters, &filter_paths)?;
        let by_addr: HashMap<DocAddress, &hybrid::Fused> = fused.iter().map(|f| (f.addr, f)).collect();
        let top: Vec<(f32, DocAddress)> = if newest {
            newest_top
        } else {
            fused.iter().skip(req.offset).take(req.limit).map(|f| (f.score, f.addr)).collect()
        };
        let extras: HashMap<DocAddress, Extra> = top
            .iter()
            .map(|(_, a)| {
                let f = by_addr.get(a);
                let extra = Extra {
                    keyword: f.is_some_and(|f| f.keyword) || (f.is_none() && kw.is_some()),
                    passage: f.and_then(|f| f.passage.clone()),
                };
                (*a, extra)
            })
            .collect();
        let snippet_query: Box<dyn Query> = match &kw {
            Some(k) => k.query.box_clone(),
            None => Box::new(BooleanQuery::new(Vec::new())),
        };
        let hits = build_hits(idx, &searcher, &*snippet_query, top, &extras)?;
        let did_you_mean =
            plan.as_ref().filter(|_| mode == Mode::Hybrid).and_then(|p| p.suggestion(idx, &searcher, &req.query));
        return Ok(SearchResponse {
            query: req.query.clone(),
            mode,
            total,
            all_words: kw.as_ref().is_none_or(|k| k.all_words),
            did_you_mean,
            took_ms: start.elapsed().as_millis() as u64,
            hits,
            facets,
        });
    }

    let (text_query, found, all_words) = match &plan {
        None => {
            let q: Box<dyn Query> = Box::new(crate::index::documents_query());
            let f = execute(&searcher, &stats, req, &*q, &filters, &filter_paths)?;
            (q, f, true)
        }
        Some(p) => {
            let k = keyword(&searcher, &stats, req, p, &filters, &filter_paths, true)?;
            (k.query, k.found, k.all_words)
        }
    };
    // A word the index has never seen is most likely misspelt, however many documents the
    // typo matching found.
    let did_you_mean = plan.as_ref().and_then(|p| p.suggestion(idx, &searcher, &req.query));
    let (total, top, facets) = found;
    let hits = build_hits(idx, &searcher, &*text_query, top, &HashMap::new())?;
    Ok(SearchResponse {
        query: req.query.clone(),
        mode: Mode::Keyword,
        total,
        all_words,
        did_you_mean,
        took_ms: start.elapsed().as_millis() as u64,
        hits,
        facets,
    })
}

/// Documents the keyword side ranks for fusion (more when the page asked for is deeper).
const KEYWORD_DEPTH: usize = 100;

/// The filters of a request as zero-score queries, and the facet paths among them.
/// Filter queries, and the facet paths among them.
type Filters = (Vec<Box<dyn Query>>, Vec<String>);

fn request_filters(idx: &WashIndex, req: &SearchRequest) -> Result<Filters> {
    let mut filters: Vec<Box<dyn Query>> = Vec::new();
    let mut filter_paths: Vec<String> = Vec::new();
    for f in &req.filters {
        let (path, q) = parse_filter(idx, f)?;
        filter_paths.push(path);
        filters.push(q);
    }
    if let Some(l) = req.lang.as_deref().filter(|l| !l.is_empty()) {
        if !(2..=3).contains(&l.len()) || !l.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(Error::InvalidRequest(format!("lang {l:?} is not an ISO 639-1 code like \"fr\"")));
        }
        filters.push(parse_filter(idx, &format!("/language/{l}"))?.1);
    }
    if req.year_min.is_some() || req.year_max.is_some() {
        let y = idx.fields.year;
        let lo = req.year_min.map(|v| Bound::Included(Term::from_field_u64(y, v as u64))).unwrap_or(Bound::Unbounded);
        let hi = req.year_max.map(|v| Bound::Included(Term::from_field_u64(y, v as u64))).unwrap_or(Bound::Unbounded);
        filters.push(Box::new(ConstScoreQuery::new(Box::new(RangeQuery::new(lo, hi)), 0.0)));
    }
    Ok((filters, filter_paths))
}

/// The keyword side of a search.
struct KeywordFound {
    query: Box<dyn Query>,
    found: Found,
    all_words: bool,
}

/// Documents with all the concepts of the query. When fewer than a page of them exist,
/// documents with some of them follow, ranked below those that have them all.
fn keyword(
    searcher: &Searcher,
    stats: &DocumentStatistics,
    req: &SearchRequest,
    plan: &QueryPlan,
    filters: &[Box<dyn Query>],
    filter_paths: &[String],
    facets: bool,
) -> Result<KeywordFound> {
    let mut query = plan.all();
    let mut found = execute_with(searcher, stats, req, &*query, filters, filter_paths, facets)?;
    let mut all_words = true;
    if found.0 < FULL_PAGE {
        let q = plan.any();
        let f = execute_with(searcher, stats, req, &*q, filters, filter_paths, facets)?;
        if f.0 > found.0 {
            all_words = false;
            query = q;
            found = f;
        }
    }
    Ok(KeywordFound { query, found, all_words })
}

/// How a hit was found, beyond the keyword query.
#[derive(Debug, Clone, Default)]
struct Extra {
    keyword: bool,
    passage: Option<PassageMatch>,
}

/// Longest passage text shown with a hit, in characters.
const PASSAGE_CHARS: usize = 400;

/// The hits of the top documents, with their snippets; `extras` says how each was found (absent:
/// by keywords).
fn build_hits(
    idx: &WashIndex,
    searcher: &Searcher,
    query: &dyn Query,
    top: Vec<(f32, DocAddress)>,
    extras: &HashMap<DocAddress, Extra>,
) -> Result<Vec<Hit>> {
    let mut snippets = Snippets::new(searcher, query, idx);
    let mut hits = Vec::with_capacity(top.len());
    for (score, addr) in top {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let record = idx.stored_record(&doc)?;
        let pages: Vec<&str> = doc.get_all(idx.fields.page).filter_map(|v| v.as_str()).collect();
        let facets = TAGGED_FAMILIES.iter().map(|f| (f.to_string(), record.facet_paths(f))).collect();
        let extra = extras.get(&addr).cloned().unwrap_or(Extra { keyword: true, passage: None });
        let paged = record.format.has_pages();
        let passage = extra.passage.as_ref().and_then(|p| {
            // Page 0 is the title's passage.
            let text = match p.page {
                0 => record.title.as_str(),
                n => pages.get(n as usize - 1)?.get(p.start as usize..p.end as usize)?,
            };
            Some(PassageHit {
                page: (paged && p.page > 0).then_some(p.page),
                text: cut_chars(&crate::text::squash_ws(text), PASSAGE_CHARS),
                similarity: (p.score * 1000.0).round() / 1000.0,
            })
        });
        let mut snips = snippets.best(&record, &pages);
        // A document found by meaning alone has no highlighted words: its passage is the snippet.
        if let Some(p) = passage.as_ref().filter(|_| !snips.iter().any(|s| s.html.contains("<mark>"))) {
            snips = vec![Snippet { html: escape_html(&p.text), page: p.page }];
        }
        let mut matched_by = Vec::new();
        if extra.keyword {
            matched_by.push(MatchedBy::Keyword);
        }
        if passage.is_some() {
            matched_by.push(MatchedBy::Meaning);
        }
        hits.push(Hit {
            snippets: snips,
            id: record.id,
            title: record.title,
            path: record.path,
            format: record.format.as_str().to_string(),
            language: record.language,
            year: record.year,
            countries: record.countries,
            doctype: record.doctype,
            facets,
            score,
            matched_by,
            passage,
        });
    }
    Ok(hits)
}

/// The first `max` characters of `s`, cut at a word, with an ellipsis when cut.
fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", &cut[..at])
}

/// Weights of shared facets in "more like this", per family (shared vocabulary adds the rest).
const SIMILAR_FACETS: [(&str, f32); 4] =
    [("technology", 2.0), ("failure_cause", 2.0), ("context", 1.0), ("approach", 0.5)];

/// Lessons like document `id`: sharing its technology, context and failure causes (facets) and
/// its vocabulary (the most telling words of its text, in its language's field). `None` when no
/// document has that id. Filters and paging of `req` apply; its query is ignored.
///
/// With passage vectors, documents whose passages are near the mean of this document's passages
/// are fused in (as in hybrid search), so that a French report can be like an English one.
pub fn similar(
    idx: &WashIndex,
    reader: &IndexReader,
    id: &str,
    req: &SearchRequest,
    semantic: Option<&Semantic>,
) -> Result<Option<SearchResponse>> {
    let start = Instant::now();
    if req.limit > MAX_LIMIT || req.offset > MAX_OFFSET {
        return Err(Error::InvalidRequest(format!("limit at most {MAX_LIMIT}, offset at most {MAX_OFFSET}")));
    }
    let searcher = reader.searcher();
    // BM25 statistics of the documents, counted once for every query this request runs.
    let stats = DocumentStatistics::new(&searcher)?;
    let Some(doc) = idx.find_document(&searcher, id)? else { return Ok(None) };
    let record = idx.stored_record(&doc)?;
    let mut text = String::new();
    for p in doc.get_all(idx.fields.page).filter_map(|v| v.as_str()) {
        if text.len() > 200_000 {
            break;
        }
        text.push_str(p);
        text.push('\n');
    }
    let field = idx.fields.body(&record.language);
    let mlt = tantivy::query::MoreLikeThisQuery::builder()
        .with_min_doc_frequency(1)
        .with_max_doc_frequency((stats.documents() / 3).max(2))
        .with_min_term_frequency(2)
        .with_max_query_terms(30)
        .with_min_word_length(4)
        .with_document_fields(vec![(field, vec![tantivy::schema::OwnedValue::Str(text)])]);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, Box::new(mlt))];
    for (fam, weight) in SIMILAR_FACETS {
        let Some(field) = idx.fields.facet(fam) else { continue };
        for path in record.facet_paths(fam) {
            if let Ok(f) = Facet::from_text(&path) {
                let tq = TermQuery::new(Term::from_facet(field, &f), IndexRecordOption::Basic);
                clauses.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(tq), weight))));
            }
        }
    }
    clauses.push((Occur::MustNot, Box::new(TermQuery::new(idx.id_term(id), IndexRecordOption::Basic))));
    let query: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
    let (filters, filter_paths) = request_filters(idx, req)?;
    let plain = SearchRequest { sort: Sort::Relevance, ..req.clone() };
    let centroid = match semantic {
        Some(sem) => sem.vectors.centroid(&searcher, id)?,
        None => None,
    };
    let (mode, total, top, facets, extras) = match (semantic, centroid) {
        (Some(sem), Some(c)) => {
            let sdocs = hybrid::semantic_docs(&searcher, sem, &c, &filters, &sem.fusion, Some(id))?;
            let deep = SearchRequest { offset: 0, limit: (req.offset + req.limit).max(KEYWORD_DEPTH), ..plain.clone() };
            let (_, kw_top, _) = execute(&searcher, &stats, &deep, &*query, &filters, &filter_paths)?;
            let keyword_list: Vec<(String, DocAddress, f32)> = {
                let mut lookup = hybrid::DocLookup::new(&searcher);
                kw_top.iter().filter_map(|(s, a)| Some((lookup.id(*a)?, *a, *s))).collect()
            };
            // Shared vocabulary and facets, and closeness in meaning, weigh the same.
            let fused = hybrid::fuse(&keyword_list, &sdocs, 0.5, &sem.fusion);
            let meaning: Box<dyn Query> = Box::new(hybrid::AddressSet::new(&searcher, sdocs.iter().map(|d| d.addr)));
            let union = BooleanQuery::new(vec![(Occur::Should, query.box_clone()), (Occur::Should, meaning)]);
            let counting = SearchRequest { limit: 0, ..plain.clone() };
            let (total, _, facets) = execute(&searcher, &stats, &counting, &union, &filters, &filter_paths)?;
            let top: Vec<(f32, DocAddress)> =
                fused.iter().skip(req.offset).take(req.limit).map(|f| (f.score, f.addr)).collect();
            let extras = fused
                .iter()
                .skip(req.offset)
                .take(req.limit)
                .map(|f| (f.addr, Extra { keyword: f.keyword, passage: f.passage.clone() }))
                .collect();
            (Mode::Hybrid, total, top, facets, extras)
        }
        _ => {
            let (total, top, facets) = execute(&searcher, &stats, &plain, &*query, &filters, &filter_paths)?;
            (Mode::Keyword, total, top, facets, HashMap::new())
        }
    };
    let hits = build_hits(idx, &searcher, &*query, top, &extras)?;
    Ok(Some(SearchResponse {
        query: format!("like:{id}"),
        mode,
        total,
        all_words: false,
        did_you_mean: None,
        took_ms: start.elapsed().as_millis() as u64,
        hits,
        facets,
    }))
}

/// Matches, top documents and facet counts of one query.
type Found = (usize, Vec<(f32, DocAddress)>, BTreeMap<String, Vec<FacetCount>>);

fn execute(
    searcher: &Searcher,
    stats: &DocumentStatistics,
    req: &SearchRequest,
    text_query: &dyn Query,
    filters: &[Box<dyn Query>],
    filter_paths: &[String],
) -> Result<Found> {
    execute_with(searcher, stats, req, text_query, filters, filter_paths, true)
}

/// [`execute`], with facet counts only when `facets` is set (a ranking for fusion needs none).
fn execute_with(
    searcher: &Searcher,
    stats: &DocumentStatistics,
    req: &SearchRequest,
    text_query: &dyn Query,
    filters: &[Box<dyn Query>],
    filter_paths: &[String],
    facets: bool,
) -> Result<Found> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.box_clone())];
    clauses.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
    let query = BooleanQuery::new(clauses);

    // Counts for every family root and every filtered path: one collector per path, since a
    // collector cannot hold a facet and its descendant.
    let mut multi = MultiCollector::new();
    let count_handle = multi.add_collector(Count);
    let mut facet_handles = Vec::new();
    let mut roots: Vec<String> = RESPONSE_FAMILIES.iter().map(|f| format!("/{f}")).collect();
    roots.extend(filter_paths.iter().cloned());
    roots.dedup();
    if !facets {
        roots.clear();
    }
    for root in &roots {
        let fam = family_of(root).unwrap_or("");
        let mut c = FacetCollector::for_field(fam);
        c.add_facet(root.as_str());
        facet_handles.push((root.clone(), multi.add_collector(c)));
    }
    let mut top: Vec<(f32, DocAddress)> = Vec::new();
    let mut fruits = if req.limit == 0 {
        searcher.search_with_statistics_provider(&query, &multi, stats)?
    } else {
        let td = TopDocs::with_limit(req.limit).and_offset(req.offset);
        match req.sort {
            Sort::Relevance => {
                let (hits, fruits) =
                    searcher.search_with_statistics_provider(&query, &(td.order_by_score(), multi), stats)?;
                top = hits;
                fruits
            }
            Sort::Newest => {
                let (hits, fruits) = searcher.search_with_statistics_provider(
                    &query,
                    &(td.order_by_fast_field::<u64>("year_value", Order::Desc), multi),
                    stats,
                )?;
                top = hits.into_iter().map(|(_, a)| (0.0, a)).collect();
                fruits
            }
        }
    };
    let total = count_handle.extract(&mut fruits);
    let mut facets: BTreeMap<String, Vec<FacetCount>> =
        RESPONSE_FAMILIES.iter().map(|f| (f.to_string(), Vec::new())).collect();
    for (root, handle) in facet_handles {
        let counts: FacetCounts = handle.extract(&mut fruits);
        let fam = family_of(&root).unwrap_or("").to_string();
        let list = facets.entry(fam).or_default();
        let mut children: Vec<FacetCount> =
            counts.get(root.as_str()).map(|(f, c)| FacetCount { path: f.to_string(), count: c }).collect();
        children.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        for c in children {
            if !list.iter().any(|x| x.path == c.path) {
                list.push(c);
            }
        }
    }
    Ok((total, top, facets))
}

/// A snippet generator for one body field, and the query's terms in that field.
struct Generator {
    snippets: SnippetGenerator,
    terms: Vec<String>,
}

/// Snippet generators per body field, made on first use.
///
/// Stemming whole pages is what made snippets slow, so each page is first scanned with the cheap
/// language-neutral analyzer (lowercase, accents folded, no stemming) for words that start with
/// one of the query's terms; only the best window of the best pages goes through the stemming
/// snippet generator.
struct Snippets<'a> {
    searcher: &'a Searcher,
    query: &'a dyn Query,
    idx: &'a WashIndex,
    generators: BTreeMap<String, Option<Generator>>,
    scanner: tantivy::tokenizer::TextAnalyzer,
}

/// Bytes of text handed to the snippet generator around the best cluster of matches.
const WINDOW: usize = 420;

impl<'a> Snippets<'a> {
    fn new(searcher: &'a Searcher, query: &'a dyn Query, idx: &'a WashIndex) -> Self {
        Snippets { searcher, query, idx, generators: BTreeMap::new(), scanner: crate::index::analyzer("neutral") }
    }

    fn generator(&mut self, lang: &str) -> Option<&Generator> {
        let (searcher, query, idx) = (self.searcher, self.query, self.idx);
        self.generators
            .entry(lang.to_string())
            .or_insert_with(|| {
                let field = idx.fields.body(lang);
                let mut terms = Vec::new();
                query.query_terms(&mut |term, _| {
                    if term.field() == field {
                        if let Some(t) = term.value().as_str() {
                            terms.push(t.to_string());
                        }
                    }
                });
                terms.sort();
                terms.dedup();
                if terms.is_empty() {
                    return None;
                }
                let mut g = SnippetGenerator::create(searcher, query, field).ok()?;
                g.set_max_num_chars(240);
                Some(Generator { snippets: g, terms })
            })
            .as_ref()
    }

    /// The best window of `text` for `terms`: (distinct terms, matches, start, end), or None.
    fn window(
        scanner: &mut tantivy::tokenizer::TextAnalyzer,
        text: &str,
        terms: &[String],
    ) -> Option<(usize, usize, usize, usize)> {
        let mut hits: Vec<(usize, usize)> = Vec::new();
        let mut stream = scanner.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            if let Some(k) = terms.iter().position(|term| t.text.starts_with(term.as_str())) {
                hits.push((t.offset_from, k));
            }
        }
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, &(pos, _)) in hits.iter().enumerate() {
            let mut seen = vec![false; terms.len()];
            let mut n = 0;
            for &(_, k) in hits[i..].iter().take_while(|(p, _)| *p < pos + WINDOW / 2) {
                seen[k] = true;
                n += 1;
            }
            let distinct = seen.iter().filter(|s| **s).count();
            if best.is_none_or(|(d, m, _)| (distinct, n) > (d, m)) {
                best = Some((distinct, n, pos));
            }
        }
        let (distinct, n, pos) = best?;
        let mut start = pos.saturating_sub(WINDOW / 4);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        // Start at a word: just after the first space at or after `start` (but before the match).
        if start > 0 {
            if let Some(sp) = text[start..pos].find(char::is_whitespace) {
                start += sp + 1;
            } else {
                start = pos;
            }
            while !text.is_char_boundary(start) {
                start += 1;
            }
        }
        let mut end = (start + WINDOW).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        Some((distinct, n, start, end))
    }

    /// The best passages: the pages with the most query terms close together, best first.
    fn best(&mut self, record: &Record, pages: &[&str]) -> Vec<Snippet> {
        let paged = record.format.has_pages();
        let mut out: Vec<Snippet> = Vec::new();
        for lang in [record.language.as_str(), "neutral"] {
            let mut scanner = self.scanner.clone();
            let Some(g) = self.generator(lang) else {
                continue;
            };
            let mut windows: Vec<(usize, usize, u32, usize, usize)> = pages
                .iter()
                .enumerate()
                .filter_map(|(i, text)| {
                    Self::window(&mut scanner, text, &g.terms).map(|(d, n, a, b)| (d, n, i as u32 + 1, a, b))
                })
                .collect();
            windows.sort_by(|x, y| (y.0, y.1).cmp(&(x.0, x.1)).then(x.2.cmp(&y.2)));
            for (_, _, page, a, b) in windows {
                let mut s = g.snippets.snippet(&pages[page as usize - 1][a..b]);
                if s.highlighted().is_empty() {
                    continue;
                }
                s.set_snippet_prefix_postfix("<mark>", "</mark>");
                out.push(Snippet { html: crate::text::squash_ws(&s.to_html()), page: paged.then_some(page) });
                if out.len() == 2 {
                    break;
                }
            }
            if !out.is_empty() {
                break;
            }
        }
        if out.is_empty() {
            if let Some((i, text)) = pages.iter().enumerate().find(|(_, t)| !t.trim().is_empty()) {
                let cut: String = text.chars().take(240).collect();
                out.push(Snippet {
                    html: escape_html(&crate::text::squash_ws(&cut)),
                    page: paged.then_some(i as u32 + 1),
                });
            }
        }
        out
    }
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The facet trees of every family, with counts over the whole index.
pub fn facet_trees(searcher: &Searcher) -> Result<BTreeMap<String, Vec<FacetNode>>> {
    ALL_FAMILIES.iter().map(|f| Ok((f.to_string(), facet_tree(searcher, f)?))).collect()
}

/// The whole tree of one facet family with document counts, level by level.
pub fn facet_tree(searcher: &Searcher, family: &str) -> Result<Vec<FacetNode>> {
    let root = format!("/{family}");
    let mut kids: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut level = vec![root.clone()];
    while !level.is_empty() {
        // Siblings may share a collector; a facet and its descendant may not.
        let mut c = FacetCollector::for_field(family);
        for p in &level {
            c.add_facet(p.as_str());
        }
        let counts = searcher.search(&AllQuery, &c)?;
        let mut next = Vec::new();
        for p in &level {
            let v: Vec<(String, u64)> = counts.get(p.as_str()).map(|(f, n)| (f.to_string(), n)).collect();
            next.extend(v.iter().map(|(c, _)| c.clone()));
            kids.insert(p.clone(), v);
        }
        level = next;
    }
    fn build(path: &str, kids: &BTreeMap<String, Vec<(String, u64)>>) -> Vec<FacetNode> {
        let mut v: Vec<FacetNode> = kids
            .get(path)
            .into_iter()
            .flatten()
            .map(|(p, n)| FacetNode { path: p.clone(), count: *n, children: build(p, kids) })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        v
    }
    Ok(build(&root, &kids))
}
