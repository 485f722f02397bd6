//! The lessons brief: what the best-matching reports say together about why things failed.
//!
//! A search's first [`DEPTH`] documents are read with their tags: every failure cause they carry
//! weighs by the document's rank (as nDCG discounts, 1 / log2(rank + 2)) and by the tag's
//! confidence (a curator's tag counts fully). Causes come in the order of that weight, each with
//! the share of the weighted result set that carries it, how many documents, and one to three
//! passages from different documents: the passage that carried the tag by meaning, else the
//! passage of the document closest to the query, else its best snippet. Then what worked:
//! passages of the lessons and recommendations sections of the first documents that have them.
//!
//! Honest about its evidence: it says on how many documents it rests, marks a cause that only
//! one document carries, and gives no causes for an empty query (a listing, not a question).

use serde::{Deserialize, Serialize};

use super::*;
use crate::document::TagSource;

/// Documents of the result set read for the brief.
pub const DEPTH: usize = 30;
/// Causes in a brief at most.
const MAX_CAUSES: usize = 6;
/// Passages per cause at most.
const PASSAGES: usize = 3;
/// "What worked" passages at most.
const WORKED: usize = 3;
/// Characters of a passage shown.
const PASSAGE_CHARS: usize = 360;

/// A passage of the brief, with where to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BriefPassage {
    /// Document id.
    pub id: String,
    /// Document title.
    pub title: String,
    /// Year of the document.
    pub year: Option<u32>,
    /// ISO country codes.
    pub countries: Vec<String>,
    /// Language of the passage (the document's), shown as written.
    pub language: String,
    /// Page (1-based; null for formats without pages or the title).
    pub page: Option<u32>,
    /// The text.
    pub text: String,
    /// The original file, at the page when there is one.
    pub url: String,
}

/// One failure cause of the brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BriefCause {
    /// The facet path (`/failure_cause/...`, category level).
    pub path: String,
    /// Its label.
    pub label: String,
    /// Documents of the brief's set that carry it.
    pub documents: usize,
    /// Its weight as a share of the set's (rank and confidence weighed), 0-1.
    pub share: f64,
    /// Only one document carries it.
    pub single_document: bool,
    /// Where to read it, from different documents.
    pub passages: Vec<BriefPassage>,
}

/// The brief of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Brief {
    /// The query.
    pub query: String,
    /// How the documents were found (keyword, semantic or hybrid).
    pub mode: Mode,
    /// Documents the brief rests on (the first of the result set).
    pub documents: usize,
    /// Matching documents in all.
    pub total: usize,
    /// Failure causes, the most carried first.
    pub causes: Vec<BriefCause>,
    /// What worked: passages of lessons and recommendations sections.
    pub worked: Vec<BriefPassage>,
    /// Why the brief is empty or thin, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Milliseconds taken.
    pub took_ms: u64,
}

/// The brief of a search request (its paging is ignored: the brief reads the first documents).
pub fn brief(
    idx: &WashIndex,
    reader: &IndexReader,
    req: &SearchRequest,
    expander: &Expander,
    semantic: Option<&Semantic>,
    labels: &dyn Fn(&str) -> String,
) -> Result<Brief> {
    let start = Instant::now();
    let deep = SearchRequest { limit: DEPTH, offset: 0, sort: Sort::Relevance, ..req.clone() };
    let r = search(idx, reader, &deep, expander, semantic)?;
    let mut out = Brief {
        query: req.query.clone(),
        mode: r.mode,
        documents: r.hits.len(),
        total: r.total,
        causes: Vec::new(),
        worked: Vec::new(),
        note: None,
        took_ms: 0,
    };
    if req.query.trim().is_empty() {
        out.note = Some("no question asked: the brief answers a query, not a listing".into());
        out.took_ms = start.elapsed().as_millis() as u64;
        return Ok(out);
    }
    if r.hits.is_empty() {
        out.note = Some("no document matches: nothing to say".into());
        out.took_ms = start.elapsed().as_millis() as u64;
        return Ok(out);
    }
    let searcher = reader.searcher();
    let records: Vec<Option<Record>> = r
        .hits
        .iter()
        .map(|h| idx.find_document(&searcher, &h.id).ok().flatten().and_then(|d| idx.stored_record(&d).ok()))
        .collect();
    // Weighed evidence per cause category.
    struct Acc {
        weight: f64,
        docs: Vec<usize>,
    }
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total_weight = 0.0;
    for (rank, rec) in records.iter().enumerate() {
        let w = 1.0 / ((rank + 2) as f64).log2();
        total_weight += w;
        let Some(rec) = rec else { continue };
        let mut best: BTreeMap<String, f64> = BTreeMap::new();
        for t in rec.facets.get("failure_cause").into_iter().flatten() {
            let Some(cat) = cause_category(&t.path) else { continue };
            let conf = match t.source {
                TagSource::Curator | TagSource::Explicit => 1.0,
                _ => t.confidence.unwrap_or(0.5),
            };
            let e = best.entry(cat).or_insert(0.0);
            *e = e.max(conf);
        }
        for (cat, conf) in best {
            let a = acc.entry(cat).or_insert(Acc { weight: 0.0, docs: Vec::new() });
            a.weight += w * conf;
            a.docs.push(rank);
        }
    }
    let mut causes: Vec<(String, Acc)> = acc.into_iter().collect();
    causes.sort_by(|a, b| b.1.weight.total_cmp(&a.1.weight).then_with(|| a.0.cmp(&b.0)));
    for (path, a) in causes.into_iter().take(MAX_CAUSES) {
        let mut passages = Vec::new();
        for &rank in &a.docs {
            if passages.len() >= PASSAGES {
                break;
            }
            if let Some(p) = cause_passage(&r.hits[rank], records[rank].as_ref(), &path) {
                passages.push(p);
            }
        }
        out.causes.push(BriefCause {
            label: labels(&path),
            documents: a.docs.len(),
            share: ((a.weight / total_weight.max(1e-9)) * 100.0).round() / 100.0,
            single_document: a.docs.len() == 1,
            passages,
            path,
        });
    }
    for (hit, rec) in r.hits.iter().zip(&records) {
        if out.worked.len() >= WORKED {
            break;
        }
        let Some(rec) = rec else { continue };
        if let Some(l) = rec.lessons.iter().find(|l| crate::text::word_count(&l.text) >= 8) {
            out.worked.push(passage(hit, Some(l.number).filter(|_| hit_has_pages(hit)), &l.text));
        }
    }
    if out.causes.is_empty() {
        out.note =
            Some(format!("none of the {} best-matching documents is tagged with a failure cause", out.documents));
    } else if out.documents < 3 {
        out.note = Some(format!("resting on {} document(s) only", out.documents));
    }
    out.took_ms = start.elapsed().as_millis() as u64;
    Ok(out)
}

/// The category of a failure cause path (`/failure_cause/financial/...` -> `/failure_cause/financial`).
fn cause_category(path: &str) -> Option<String> {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some("failure_cause"), Some(c)) if !c.is_empty() => Some(format!("/failure_cause/{c}")),
        _ => None,
    }
}

fn hit_has_pages(hit: &Hit) -> bool {
    matches!(hit.format.as_str(), "pdf" | "docx" | "odt")
}

/// The passage of a document for a cause: the one that carried the tag by meaning, else the one
/// closest to the query, else the first snippet.
fn cause_passage(hit: &Hit, rec: Option<&Record>, cause: &str) -> Option<BriefPassage> {
    if let Some(rec) = rec {
        let carried = rec
            .facets
            .get("failure_cause")
            .into_iter()
            .flatten()
            .filter(|t| t.path.starts_with(cause))
            .flat_map(|t| t.passages.iter())
            .find(|p| p.page > 0);
        if let Some(p) = carried {
            return Some(passage(hit, Some(p.page).filter(|_| hit_has_pages(hit)), &p.text));
        }
    }
    if let Some(p) = &hit.passage {
        return Some(passage(hit, p.page.filter(|&n| n > 0 && hit_has_pages(hit)), &p.text));
    }
    let s = hit.snippets.first()?;
    Some(passage(hit, s.page, &strip_marks(&s.html)))
}

fn passage(hit: &Hit, page: Option<u32>, text: &str) -> BriefPassage {
    let url = match page {
        Some(n) => format!("/api/documents/{}/file#page={n}", hit.id),
        None => format!("/api/documents/{}/file", hit.id),
    };
    BriefPassage {
        id: hit.id.clone(),
        title: hit.title.clone(),
        year: hit.year,
        countries: hit.countries.clone(),
        language: hit.language.clone(),
        page,
        text: crate::text::cut_at_word(text, PASSAGE_CHARS),
        url,
    }
}

/// A snippet's text without its marks, unescaped.
fn strip_marks(html: &str) -> String {
    super::response::snippet_text(html, "", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_cut_to_their_category() {
        assert_eq!(
            cause_category("/failure_cause/financial/funding-ended").as_deref(),
            Some("/failure_cause/financial")
        );
        assert_eq!(cause_category("/failure_cause/technical").as_deref(), Some("/failure_cause/technical"));
        assert_eq!(cause_category("/context/setting/rural"), None);
        assert_eq!(strip_marks("a <mark>pump</mark> &amp; b"), "a pump & b");
        // The entities escape_html writes, undone once: an apostrophe, and an escaped "&lt;".
        assert_eq!(strip_marks("the operator&#39;s &amp;lt;fee&amp;gt;"), "the operator's &lt;fee&gt;");
    }
}
