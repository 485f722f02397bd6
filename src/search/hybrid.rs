//! Meaning beside words: the query's sentence vector against the passage vectors, and the fusion
//! of that ranking with the keyword ranking.
//!
//! Fusion is weighted reciprocal-rank: a document gets `keyword / (k + keyword rank)` plus
//! `semantic / (k + semantic rank)`. Ranks rather than scores, because BM25 scores and cosines
//! live on unrelated scales. The semantic weight grows for documents in another language than
//! the query's: keywords (and the glossary) rarely carry a query across languages, meaning does.
//! The weights are tuned on the judged queries (`benches/relevance.sh --tune`).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, TermSetQuery};
use tantivy::schema::Facet;
use tantivy::{DocAddress, Searcher, Term};

use crate::error::Result;
use crate::index::vectors::{PassageMatch, VectorCache};
use crate::index::WashIndex;
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
}

impl Semantic {
    /// Semantic search with this model.
    pub fn new(model: Model) -> Semantic {
        Semantic { model, vectors: VectorCache::default(), fusion: Fusion::default() }
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
            k: 1.0,
            cross_language: 2.0,
            min_similarity: 0.2,
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
    idx: &WashIndex,
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
    // Resolve the ids to live documents that pass the filters, with their language.
    let terms: Vec<Term> = best.iter().map(|p| idx.id_term(&p.parent)).collect();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(TermSetQuery::new(terms)))];
    clauses.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
    let found = searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)?;
    let mut by_id: HashMap<String, (DocAddress, String)> = HashMap::with_capacity(found.len());
    for addr in found {
        if let Some(id) = doc_id(searcher, addr) {
            let lang = doc_language(searcher, addr).unwrap_or_default();
            by_id.insert(id, (addr, lang));
        }
    }
    Ok(best
        .into_iter()
        .filter_map(|p| {
            let (addr, language) = by_id.get(&p.parent)?.clone();
            Some(SemanticDoc { id: p.parent.clone(), addr, language, passage: p })
        })
        .collect())
}

/// The id of a document, from its fast field.
pub(crate) fn doc_id(searcher: &Searcher, addr: DocAddress) -> Option<String> {
    let col = searcher.segment_reader(addr.segment_ord).fast_fields().str("id").ok()??;
    let ord = col.term_ords(addr.doc_id).next()?;
    let mut out = String::new();
    col.ord_to_str(ord, &mut out).ok()?.then_some(out)
}

/// The language of a document, from its `/language/xx` facet.
pub(crate) fn doc_language(searcher: &Searcher, addr: DocAddress) -> Option<String> {
    let reader = searcher.segment_reader(addr.segment_ord).facet_reader("language").ok()?;
    let ord = reader.facet_ords(addr.doc_id).next()?;
    let mut facet = Facet::root();
    reader.facet_from_ord(ord, &mut facet).ok()?;
    facet.to_path().last().map(|s| s.to_string())
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
/// documents hold every concept of the query ([`Fusion::words_match_min`]).
pub(crate) fn fuse(
    keyword: &[(String, DocAddress, String)],
    semantic: &[SemanticDoc],
    query_lang: Option<&str>,
    words_match: bool,
    f: &Fusion,
) -> Vec<Fused> {
    let semantic_weight = if words_match { f.semantic_when_words_match } else { f.semantic };
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
        let fused = fuse(&kw, &[sd("b", "en"), sd("c", "en")], Some("en"), false, &f);
        let order: Vec<&str> = fused.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(order, ["b", "a", "c"]);
        assert!(fused[0].keyword && fused[0].passage.is_some() && !fused[2].keyword);
        // The same semantic rank counts more for a French document under an English query.
        let f = Fusion { cross_language: 1.0, semantic: 1.0, k: 10.0, ..Fusion::default() };
        let fused = fuse(&[], &[sd("en-doc", "en"), sd("fr-doc", "fr")], Some("en"), false, &f);
        assert_eq!(fused[0].id, "fr-doc");
    }

    #[test]
    fn query_languages_are_told_apart() {
        assert_eq!(query_language("why do village water boards stop working"), Some("en"));
        assert_eq!(query_language("pourquoi les comités de gestion cessent de fonctionner"), Some("fr"));
    }
}
