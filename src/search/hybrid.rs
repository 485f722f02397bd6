//! Meaning beside words: the query's sentence vector against the passage vectors, and the fusion
//! of that ranking with the keyword ranking.
//!
//! Fusion adds the two sides' scores, each scaled to its best: BM25 over the best BM25, the cosine
//! above a floor over the best. Words weigh most for a query written as terms, meaning for a
//! question. (Rank fusion with more weight for documents in another language, tuned on
//! corpus-sample, lost to keyword search on real text: it put French and Portuguese pages above
//! the English ones that answered an English query.) The weights are tuned on the odd half of
//! the real-text development set's queries (`benches/realdev_relevance.sh --tune-fusion`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::index::SegmentId;
use tantivy::query::{BooleanQuery, ConstScorer, EnableScoring, Explanation, Occur, Query, Scorer, Weight};
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
    /// Weight of words against meaning (0-1) for a query written as terms: a document scores
    /// `words * bm25 / best bm25 + (1 - words) * (cosine - floor) / (best cosine - floor)`.
    pub words: f32,
    /// The same for a query written as a question ("why do ...", "what happens when ...?").
    pub words_question: f32,
    /// The same for a query written as a sentence (five words or more, a fifth of them or more
    /// stop words) that is not a question.
    pub words_sentence: f32,
    /// Cosine below which a passage says nothing of the query.
    pub cosine_floor: f32,
    /// Lowest cosine for a passage to count as a match.
    pub min_similarity: f32,
}

impl Default for Fusion {
    /// Tuned on the odd half of the real-text development set's queries
    /// (`benches/realdev_relevance.sh --tune-fusion`); see the README.
    fn default() -> Self {
        Fusion { words: 0.8, words_question: 0.2, words_sentence: 0.5, cosine_floor: 0.1, min_similarity: 0.1 }
    }
}

impl Fusion {
    /// The weight of words for this query: by how it is written.
    pub fn words_for(&self, query: &str) -> f32 {
        if is_question(query) {
            self.words_question
        } else if query.split_whitespace().count() >= 5 && super::expand::stop_share(query) >= 0.2 {
            self.words_sentence
        } else {
            self.words
        }
    }
}

/// Whether a query is written as a question rather than as terms: it ends with a question mark
/// or starts with a question word (English, French, Spanish, Portuguese).
pub fn is_question(query: &str) -> bool {
    const WORDS: [&str; 30] = [
        "why", "what", "who", "how", "when", "where", "which", "do", "does", "is", "are", "can", "pourquoi", "comment",
        "qui", "que", "quoi", "quand", "ou", "porque", "por", "como", "que", "quien", "cuando", "donde", "quem",
        "quando", "onde", "qual",
    ];
    let q = query.trim();
    if q.ends_with('?') || q.starts_with('¿') {
        return true;
    }
    let first = crate::text::folded_words(q).into_iter().next().unwrap_or_default();
    // "por" and "o" open a question only in "por qué", "por que", "o que".
    let words = crate::text::folded_words(q);
    match first.as_str() {
        "por" => words.get(1).is_some_and(|w| w == "que"),
        w => WORDS.contains(&w) && words.len() >= 3,
    }
}

/// Documents scored by meaning, best first.
pub(crate) struct SemanticDoc {
    pub id: String,
    pub addr: DocAddress,
    /// The best passage.
    pub passage: PassageMatch,
}

/// Passages asked for first: enough for `DOC_DEPTH` documents on the archives measured (600
/// filled 200 documents for each of the 48 realdev queries at 20k documents)...
const PASSAGE_FIRST_DEPTH: usize = 800;
/// ...and when they are not, the passages asked for again.
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
    let (mut best, short) = nearest_docs(searcher, sem, query_vector, fusion, exclude, PASSAGE_FIRST_DEPTH)?;
    if short {
        best = nearest_docs(searcher, sem, query_vector, fusion, exclude, PASSAGE_DEPTH)?.0;
    }
    if best.is_empty() {
        return Ok(Vec::new());
    }
    // The live documents of those ids, and those that pass the filters.
    let mut found = sem.ids.resolve(searcher, best.iter().map(|p| p.parent.as_str()))?;
    if !filters.is_empty() {
        let set = AddressSet::new(searcher, found.values().copied());
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(set))];
        clauses.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
        let allowed = searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)?;
        found.retain(|_, a| allowed.contains(a));
    }
    Ok(best
        .into_iter()
        .filter_map(|p| {
            let addr = *found.get(p.parent.as_str())?;
            Some(SemanticDoc { id: p.parent.clone(), addr, passage: p })
        })
        .collect())
}

/// The best passage of each of the first `DOC_DEPTH` documents among the `depth` nearest
/// passages, and whether deeper passages could have given more documents (the passages ran out
/// before `DOC_DEPTH` documents, none of them under the similarity floor).
fn nearest_docs(
    searcher: &Searcher,
    sem: &Semantic,
    query_vector: &[f32],
    fusion: &Fusion,
    exclude: Option<&str>,
    depth: usize,
) -> Result<(Vec<PassageMatch>, bool)> {
    let passages = sem.vectors.nearest(searcher, query_vector, depth)?;
    let full = passages.len() >= depth;
    let mut best: Vec<PassageMatch> = Vec::new();
    let mut seen = HashSet::new();
    for p in passages {
        if p.score < fusion.min_similarity {
            return Ok((best, false));
        }
        if exclude == Some(p.parent.as_str()) || !seen.insert(p.parent.clone()) {
            continue;
        }
        best.push(p);
        if best.len() >= DOC_DEPTH {
            return Ok((best, false));
        }
    }
    Ok((best, full))
}

/// Document id <-> document number, per segment (segments never change), so that the documents
/// of the nearest passages are found by hash lookups rather than a term query per request, and
/// the ids of the keyword side's documents without decompressing the id column's dictionary.
#[derive(Default)]
pub(crate) struct IdCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentIds>>>,
}

/// The ids of one segment.
struct SegmentIds {
    by_id: HashMap<Arc<str>, DocId>,
    /// Document numbers in order (passage documents have no id and are not listed), and the id
    /// of each: a search among documents rather than a slot for every passage.
    docs: Vec<DocId>,
    names: Vec<Arc<str>>,
}

impl IdCache {
    /// The ids of every segment of `searcher`, by segment ordinal; segments gone are forgotten.
    fn segments(&self, searcher: &Searcher) -> Result<Vec<Arc<SegmentIds>>> {
        let mut cache = self.segments.lock().unwrap_or_else(|e| e.into_inner());
        let live: HashSet<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
        cache.retain(|id, _| live.contains(id));
        let mut out = Vec::with_capacity(live.len());
        for seg in searcher.segment_readers() {
            let ids = match cache.get(&seg.segment_id()) {
                Some(m) => m.clone(),
                None => {
                    let m = Arc::new(segment_ids(seg)?);
                    cache.insert(seg.segment_id(), m.clone());
                    m
                }
            };
            out.push(ids);
        }
        Ok(out)
    }

    /// The live documents of `ids`, by id.
    fn resolve<'a>(
        &self,
        searcher: &Searcher,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, DocAddress>> {
        let segs = self.segments(searcher)?;
        let alive: Vec<_> = searcher.segment_readers().iter().map(|s| s.alive_bitset().cloned()).collect();
        let mut out = HashMap::new();
        for id in ids {
            for (ord, (map, alive)) in segs.iter().zip(&alive).enumerate() {
                if let Some(&doc) = map.by_id.get(id) {
                    if alive.as_ref().is_none_or(|a| a.is_alive(doc)) {
                        out.insert(id.to_string(), DocAddress::new(ord as u32, doc));
                        break;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn segment_ids(seg: &SegmentReader) -> Result<SegmentIds> {
    let mut ids = SegmentIds { by_id: HashMap::new(), docs: Vec::new(), names: Vec::new() };
    let Some(col) = seg.fast_fields().str("id")? else { return Ok(ids) };
    let terms: Vec<Arc<str>> = crate::index::column_terms(&col)?.into_iter().map(Arc::from).collect();
    ids.by_id.reserve(terms.len());
    for doc in 0..seg.max_doc() {
        if let Some(ord) = col.term_ords(doc).next() {
            let id = terms[ord as usize].clone();
            ids.by_id.insert(id.clone(), doc);
            ids.docs.push(doc);
            ids.names.push(id);
        }
    }
    Ok(ids)
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

/// Ids of documents, from the semantic side's cache of each segment's ids (reading the id
/// column per document decompressed a dictionary block each time: 8% of a hybrid request).
pub(crate) struct DocLookup {
    segments: Vec<Arc<SegmentIds>>,
}

impl DocLookup {
    pub(crate) fn new(searcher: &Searcher, sem: &Semantic) -> Result<Self> {
        Ok(DocLookup { segments: sem.ids.segments(searcher)? })
    }

    /// The id of a document.
    pub(crate) fn id(&self, addr: DocAddress) -> Option<String> {
        let seg = self.segments.get(addr.segment_ord as usize)?;
        let at = seg.docs.binary_search(&addr.doc_id).ok()?;
        Some(seg.names[at].to_string())
    }
}

/// A fused document: its score, and whether either side found it.
#[derive(Debug, Clone)]
pub(crate) struct Fused {
    pub id: String,
    pub addr: DocAddress,
    pub score: f32,
    pub keyword: bool,
    pub passage: Option<PassageMatch>,
}

/// Fuses a keyword ranking (id, address, BM25 score) with a semantic one by their scores, each
/// scaled to its best (words: BM25 over the best BM25; meaning: the cosine above the floor over
/// the best cosine above it), weighed `words` to `1 - words`. Scores rather than ranks: how far
/// the second document is from the first says something that ranks throw away (measured on the
/// development set's odd half: 0.624 against 0.606 for tuned reciprocal ranks).
pub(crate) fn fuse(
    keyword: &[(String, DocAddress, f32)],
    semantic: &[SemanticDoc],
    words: f32,
    f: &Fusion,
) -> Vec<Fused> {
    let best_kw = keyword.iter().map(|k| k.2).fold(0f32, f32::max);
    let best_sem = semantic.iter().map(|d| d.passage.score).fold(f.cosine_floor, f32::max);
    let mut out: Vec<Fused> = Vec::with_capacity(keyword.len() + semantic.len());
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (id, addr, score) in keyword {
        at.insert(id.as_str(), out.len());
        let s = if best_kw > 0.0 { words * score / best_kw } else { 0.0 };
        out.push(Fused { id: id.clone(), addr: *addr, score: s, keyword: true, passage: None });
    }
    let span = (best_sem - f.cosine_floor).max(1e-6);
    for d in semantic {
        let s = (1.0 - words) * ((d.passage.score - f.cosine_floor).max(0.0) / span);
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

    fn sd(id: &str) -> SemanticDoc {
        SemanticDoc {
            id: id.into(),
            addr: DocAddress::new(0, id.len() as u32),
            passage: PassageMatch { parent: id.into(), page: 1, start: 0, end: 1, score: 0.5 },
        }
    }

    #[test]
    fn documents_found_both_ways_rise_and_scores_not_ranks_decide() {
        let kw = vec![("a".to_string(), DocAddress::new(0, 1), 10.0), ("b".into(), DocAddress::new(0, 2), 9.0)];
        let mut c = sd("c");
        c.passage.score = 0.3;
        let f = Fusion::default();
        let fused = fuse(&kw, &[sd("b"), c], 0.5, &f);
        let order: Vec<&str> = fused.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(order, ["b", "a", "c"]);
        assert!(fused[0].keyword && fused[0].passage.is_some() && !fused[2].keyword);
        // Words alone: the BM25 order; meaning alone: the cosine order.
        assert_eq!(fuse(&kw, &[sd("b")], 1.0, &f)[0].id, "a");
        let fused = fuse(&[], &[c_with(0.2), sd("b")], 0.0, &f);
        assert_eq!(fused[0].id, "b");
    }

    fn c_with(score: f32) -> SemanticDoc {
        let mut d = sd("c");
        d.passage.score = score;
        d
    }

    #[test]
    fn questions_are_told_from_terms() {
        for q in [
            "why do village water pumps stop working?",
            "What happens to cleanliness habits once the outside promoters go home",
            "pourquoi les comités de gestion cessent de fonctionner",
            "¿por qué se abandonan las letrinas",
            "por que as famílias abandonam os filtros",
            "who pays when a community water system needs an expensive overhaul?",
        ] {
            assert!(is_question(q), "{q}");
        }
        for q in ["handpump spare parts supply chain", "WASHCO", "por servicio profesional de mantenimiento", "what"] {
            assert!(!is_question(q), "{q}");
        }
    }
}
