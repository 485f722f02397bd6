//! What a search answers: hits (title, metadata, facets, snippets from the page where the
//! words are, the passage found by meaning), totals and facet counts; one shape for the command
//! line and the HTTP API.

use super::*;

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

/// How a hit was found, beyond the keyword query.
#[derive(Debug, Clone, Default)]
pub(super) struct Extra {
    pub(super) keyword: bool,
    pub(super) passage: Option<PassageMatch>,
}

/// Longest passage text shown with a hit, in characters.
pub(super) const PASSAGE_CHARS: usize = 400;

/// The hits of the top documents, with their snippets; `extras` says how each was found (absent:
/// by keywords).
pub(super) fn build_hits(
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
pub(super) fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", &cut[..at])
}

/// The text of a snippet's HTML: `<mark>` and `</mark>` replaced by `open` and `close`, and
/// [`escape_html`]'s entities undone (`&amp;` last, so that an escaped entity stays as written).
pub fn snippet_text(html: &str, open: &str, close: &str) -> String {
    html.replace("<mark>", open)
        .replace("</mark>", close)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
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
