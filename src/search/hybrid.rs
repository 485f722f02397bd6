//! Meaning beside words: the query's sentence vector against the passage vectors, and the fusion
//! of that ranking with the keyword ranking.
//!
//! Fusion is weighted reciprocal-rank: a document gets `keyword / (k + keyword rank)` plus
//! `semantic / (k + semantic rank)`. Ranks rather than scores, because BM25 scores and cosines
//! live on unrelated scales. The semantic weight grows for documents in another language than
//! the query's: keywords (and the glossary) rarely carry a query across languages, meaning does.
//! The weights are tuned on the judged queries (`benches/relevance.sh --tune`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::index::SegmentId;
use tantivy::query::{BooleanQuery, ConstScorer, EnableScoring, Explanation, Occur, Query, Scorer, Weight};
use tantivy::schema::Facet;
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TantivyError, TERMINATED};

use crate::error::Result;
use crate::index::vectors::{PassageMatch, VectorCache};
use crate::model::Model;

/// How a search ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Words only (BM25 over the language fields, glossary, facets, typos).
    Keyword,
    /// Meaning only: passages nearest to the query's sentence vector.
    Semantic,
    /// Both, fused (the default when the model is installed).
    Hybrid,
}

impl Mode {
    /// The name used in the API and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Keyword => "keyword",
            Mode::Semantic => "semantic",
            Mode::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Mode, String> {
        match s {
            "keyword" => Ok(Mode::Keyword),
            "semantic" => Ok(Mode::Semantic),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(format!("unknown mode {other:?}: keyword, semantic or hybrid")),
        }
    }
}

/// The sentence encoder and the passage vectors of the index.
pub struct Semantic {
    /// The encoder.
    pub model: Model,
    /// Passage vectors by segment.
    pub vectors: VectorCache,
    /// Fusion weights.
    pub fusion: Fusion,
    /// Document ids to addresses, by segment.
    ids: IdCache,
    /// The tagger by meaning (the descriptions' vectors), for documents written by the server;
    /// replaced when the server learns from its curators.
    pub tagger: std::sync::RwLock<Option<Arc<crate::enrich::combine::MeaningTagger>>>,
}

impl Semantic {
    /// Semantic search with this model.
    pub fn new(model: Model) -> Semantic {
        Semantic {
            model,
            vectors: VectorCache::default(),
            fusion: Fusion::default(),
            ids: IdCache::default(),
            tagger: std::sync::RwLock::new(None),
        }
    }

    /// Semantic search with this model, and tagging by meaning with the tagger of `config`.
    pub fn with_tagger(model: Model, config: &crate::config::Config) -> Semantic {
        let s = Semantic::new(model);
        if !config.tagger.is_empty() {
            s.set_tagger(crate::enrich::combine::MeaningTagger::new(&s.model, config));
        }
        s
    }

    /// The tagger by meaning in use.
    pub fn tagger(&self) -> Option<Arc<crate::enrich::combine::MeaningTagger>> {
        self.tagger.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the tagger by meaning.
    pub fn set_tagger(&self, t: crate::enrich::combine::MeaningTagger) {
        *self.tagger.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(t));
    }
}

/// Fusion weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    /// Weight of the keyword rank.
    pub keyword: f32,
    /// Weight of the semantic rank when the keyword side is unsure: fewer than a page of
    /// documents hold all the query's concepts (the words are not the documents' words).
    pub semantic: f32,
    /// Weight of the semantic rank when at least `words_match_min` documents hold every concept.
    pub semantic_when_words_match: f32,
    /// Documents holding every concept of the query that make the keyword side sure.
    pub words_match_min: usize,
    /// Weight of the semantic rank for a query of `long_query` words or more that the keyword
    /// side is not sure of: a question in a practitioner's own words rather than a few terms.
    pub semantic_long: f32,
    /// Words from which a query counts as long.
    pub long_query: usize,
    /// Rank offset `k`: larger flattens the difference between the first ranks.
    pub k: f32,
    /// Extra semantic weight (a factor of 1 + this) for a document in another language.
    pub cross_language: f32,
    /// Lowest cosine for a passage to count as a match.
    pub min_similarity: f32,
}

impl Default for Fusion {
    /// Tuned on the 108 judged queries of corpus-sample (`benches/relevance.sh --tune-fusion`).
    fn default() -> Self {
        Fusion {
            keyword: 1.0,
            semantic: 0.3,
            semantic_when_words_match: 0.1,
            words_match_min: 2,
            semantic_long: 3.0,
            long_query: 7,
            k: 1.0,
            cross_language: 2.0,
            min_similarity: 0.15,
        }
    }
}

/// Documents scored by meaning, best first.
pub(crate) struct SemanticDoc {
    pub id: String,
    pub addr: DocAddress,
    pub language: String,
    /// The best passage.
    pub passage: PassageMatch,
}

/// Passages scanned for one query.
const PASSAGE_DEPTH: usize = 2000;
/// Documents kept from them.
pub(crate) const DOC_DEPTH: usize = 200;

/// The documents whose passages are nearest to the query, restricted by `filters`.
pub(crate) fn semantic_docs(
    searcher: &Searcher,
    sem: &Semantic,
    query_vector: &[f32],
    filters: &[Box<dyn Query>],
    fusion: &Fusion,
    exclude: Option<&str>,
) -> Result<Vec<SemanticDoc>> {
    let passages = sem.vectors.nearest(searcher, query_vector, PASSAGE_DEPTH)?;
    let mut best: Vec<PassageMatch> = Vec::new();
    let mut seen = HashSet::new();
    for p in passages {
        if p.score < fusion.min_similarity {
            break;
        }
        if exclude == Some(p.parent.as_str()) || !seen.insert(p.parent.clone()) {
            continue;
        }
        best.push(p);
        if best.len() >= DOC_DEPTH {
            break;
        }
    }
    if best.is_empty() {
        return Ok(Vec::new());
    }
    // The live documents of those ids, those that pass the filters, and their language.
    let mut found = sem.ids.resolve(searcher, best.iter().map(|p| p.parent.as_str()))?;
    if !filters.is_empty() {
        let set = AddressSet::new(searcher, found.values().copied());
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(set))];
        clauses.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
        let allowed = searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)?;
        found.retain(|_, a| allowed.contains(a));
    }
    let mut lookup = DocLookup::new(searcher);
    Ok(best
        .into_iter()
        .filter_map(|p| {
            let addr = *found.get(p.parent.as_str())?;
            let language = lookup.language(addr).unwrap_or_default();
            Some(SemanticDoc { id: p.parent.clone(), addr, language, passage: p })
        })
        .collect())
}

/// Document id -> document number, per segment (segments never change), so that the documents
/// of the nearest passages are found by hash lookups rather than a term query per request.
#[derive(Default)]
struct IdCache {
    segments: Mutex<HashMap<SegmentId, Arc<HashMap<String, DocId>>>>,
}

impl IdCache {
    /// The live documents of `ids`, by id.
    fn resolve<'a>(
        &self,
        searcher: &Searcher,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, DocAddress>> {
        let mut maps = Vec::new();
        {
            let mut cache = self.segments.lock().unwrap_or_else(|e| e.into_inner());
            let live: HashSet<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
            cache.retain(|id, _| live.contains(id));
            for (ord, seg) in searcher.segment_readers().iter().enumerate() {
                let map = match cache.get(&seg.segment_id()) {
                    Some(m) => m.clone(),
                    None => {
                        let m = Arc::new(segment_ids(seg)?);
                        cache.insert(seg.segment_id(), m.clone());
                        m
                    }
                };
                maps.push((ord as u32, map, seg.alive_bitset().cloned()));
            }
        }
        let mut out = HashMap::new();
        for id in ids {
            for (ord, map, alive) in &maps {
                if let Some(&doc) = map.get(id) {
                    if alive.as_ref().is_none_or(|a| a.is_alive(doc)) {
                        out.insert(id.to_string(), DocAddress::new(*ord, doc));
                        break;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn segment_ids(seg: &SegmentReader) -> Result<HashMap<String, DocId>> {
    let Some(col) = seg.fast_fields().str("id")? else { return Ok(HashMap::new()) };
    let terms = crate::index::column_terms(&col)?;
    let mut out = HashMap::with_capacity(terms.len());
    for doc in 0..seg.max_doc() {
        if let Some(ord) = col.term_ords(doc).next() {
            out.insert(terms[ord as usize].clone(), doc);
        }
    }
    Ok(out)
}

/// A query matching the documents at the given addresses: the documents found by meaning, for
/// filters and counts, at no cost beyond the list.
#[derive(Debug, Clone)]
pub(crate) struct AddressSet(Arc<HashMap<SegmentId, Vec<DocId>>>);

impl AddressSet {
    pub(crate) fn new(searcher: &Searcher, addrs: impl Iterator<Item = DocAddress>) -> AddressSet {
        let mut by: HashMap<SegmentId, Vec<DocId>> = HashMap::new();
        for a in addrs {
            by.entry(searcher.segment_reader(a.segment_ord).segment_id()).or_default().push(a.doc_id);
        }
        for docs in by.values_mut() {
            docs.sort_unstable();
            docs.dedup();
        }
        AddressSet(Arc::new(by))
    }
}

/// Sorted document numbers as a doc set.
struct Docs {
    docs: Vec<DocId>,
    at: usize,
}

impl DocSet for Docs {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }
    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }
    fn size_hint(&self) -> u32 {
        self.docs.len() as u32
    }
}

impl Query for AddressSet {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for AddressSet {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.0.get(&reader.segment_id()).cloned().unwrap_or_default();
        Ok(Box::new(ConstScorer::new(Docs { docs, at: 0 }, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        match self.0.get(&reader.segment_id()) {
            Some(docs) if docs.binary_search(&doc).is_ok() => Ok(Explanation::new("found by meaning", 1.0)),
            _ => Err(TantivyError::InvalidArgument(format!("document {doc} was not found by meaning"))),
        }
    }
}

/// Ids and languages of documents, from their fast fields, with each segment's columns opened
/// once per request (opening a column per document cost milliseconds per query).
pub(crate) struct DocLookup<'a> {
    searcher: &'a Searcher,
    columns: HashMap<u32, (Option<tantivy::columnar::StrColumn>, Option<tantivy::fastfield::FacetReader>)>,
}

impl<'a> DocLookup<'a> {
    pub(crate) fn new(searcher: &'a Searcher) -> Self {
        DocLookup { searcher, columns: HashMap::new() }
    }

    fn columns(
        &mut self,
        seg: u32,
    ) -> &(Option<tantivy::columnar::StrColumn>, Option<tantivy::fastfield::FacetReader>) {
        let searcher = self.searcher;
        self.columns.entry(seg).or_insert_with(|| {
            let reader = searcher.segment_reader(seg);
            (reader.fast_fields().str("id").ok().flatten(), reader.facet_reader("language").ok())
        })
    }

    /// The id of a document.
    pub(crate) fn id(&mut self, addr: DocAddress) -> Option<String> {
        let col = self.columns(addr.segment_ord).0.as_ref()?;
        let ord = col.term_ords(addr.doc_id).next()?;
        let mut out = String::new();
        col.ord_to_str(ord, &mut out).ok()?.then_some(out)
    }

    /// The language of a document, from its `/language/xx` facet.
    pub(crate) fn language(&mut self, addr: DocAddress) -> Option<String> {
        let reader = self.columns(addr.segment_ord).1.as_ref()?;
        let ord = reader.facet_ords(addr.doc_id).next()?;
        let mut facet = Facet::root();
        reader.facet_from_ord(ord, &mut facet).ok()?;
        facet.to_path().last().map(|s| s.to_string())
    }
}

/// The language of a query among the served ones (a guess for short queries).
pub(crate) fn query_language(query: &str) -> Option<&'static str> {
    use whatlang::{Detector, Lang};
    let d = Detector::with_allowlist(vec![Lang::Eng, Lang::Fra, Lang::Spa, Lang::Por]);
    Some(match d.detect_lang(query)? {
        Lang::Eng => "en",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Por => "pt",
        _ => return None,
    })
}

/// A fused document: its score, and its ranks on either side.
#[derive(Debug, Clone)]
pub(crate) struct Fused {
    pub id: String,
    pub addr: DocAddress,
    pub score: f32,
    pub keyword: bool,
    pub passage: Option<PassageMatch>,
}

/// Fuses a keyword ranking (id, address, language) with a semantic one. `words_match`: enough
/// documents hold every concept of the query ([`Fusion::words_match_min`]); `query_words`: the
/// length of the query.
pub(crate) fn fuse(
    keyword: &[(String, DocAddress, String)],
    semantic: &[SemanticDoc],
    query_lang: Option<&str>,
    words_match: bool,
    query_words: usize,
    f: &Fusion,
) -> Vec<Fused> {
    let semantic_weight = if words_match {
        f.semantic_when_words_match
    } else if query_words >= f.long_query {
        f.semantic_long
    } else {
        f.semantic
    };
    let mut out: Vec<Fused> = Vec::with_capacity(keyword.len() + semantic.len());
    let mut at: HashMap<&str, usize> = HashMap::new();
    let cross = |lang: &str| query_lang.is_some_and(|q| !lang.is_empty() && lang != q && lang != "und");
    for (rank, (id, addr, _)) in keyword.iter().enumerate() {
        at.insert(id.as_str(), out.len());
        out.push(Fused {
            id: id.clone(),
            addr: *addr,
            score: f.keyword / (f.k + rank as f32 + 1.0),
            keyword: true,
            passage: None,
        });
    }
    for (rank, d) in semantic.iter().enumerate() {
        let w = semantic_weight * if cross(&d.language) { 1.0 + f.cross_language } else { 1.0 };
        let s = w / (f.k + rank as f32 + 1.0);
        match at.get(d.id.as_str()) {
            Some(&i) => {
                out[i].score += s;
                out[i].passage = Some(d.passage.clone());
            }
            None => {
                at.insert(d.id.as_str(), out.len());
                out.push(Fused {
                    id: d.id.clone(),
                    addr: d.addr,
                    score: s,
                    keyword: false,
                    passage: Some(d.passage.clone()),
                });
            }
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd(id: &str, lang: &str) -> SemanticDoc {
        SemanticDoc {
            id: id.into(),
            addr: DocAddress::new(0, id.len() as u32),
            language: lang.into(),
            passage: PassageMatch { parent: id.into(), page: 1, start: 0, end: 1, score: 0.5 },
        }
    }

    #[test]
    fn documents_found_both_ways_rise_and_other_languages_weigh_more_by_meaning() {
        let kw = vec![
            ("a".to_string(), DocAddress::new(0, 1), "en".to_string()),
            ("b".into(), DocAddress::new(0, 2), "en".into()),
        ];
        let f = Fusion { cross_language: 0.0, semantic: 1.0, k: 10.0, ..Fusion::default() };
        let fused = fuse(&kw, &[sd("b", "en"), sd("c", "en")], Some("en"), false, 3, &f);
        let order: Vec<&str> = fused.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(order, ["b", "a", "c"]);
        assert!(fused[0].keyword && fused[0].passage.is_some() && !fused[2].keyword);
        // The same semantic rank counts more for a French document under an English query.
        let f = Fusion { cross_language: 1.0, semantic: 1.0, k: 10.0, ..Fusion::default() };
        let fused = fuse(&[], &[sd("en-doc", "en"), sd("fr-doc", "fr")], Some("en"), false, 3, &f);
        assert_eq!(fused[0].id, "fr-doc");
    }

    #[test]
    fn query_languages_are_told_apart() {
        assert_eq!(query_language("why do village water boards stop working"), Some("en"));
        assert_eq!(query_language("pourquoi les comités de gestion cessent de fonctionner"), Some("fr"));
    }
}
