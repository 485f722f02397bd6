//! What a search asks: the words, filters, language, years, sort, mode and page, checked
//! (limits, filters as facet paths of known families) and turned into zero-score filter queries.

use super::*;

/// Most hits one request may ask for.
pub const MAX_LIMIT: usize = 100;

/// Deepest offset a request may page to.
pub const MAX_OFFSET: usize = 10_000;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

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

/// The filters of a request as zero-score queries, and the facet paths among them.
/// Filter queries, and the facet paths among them.
pub(super) type Filters = (Vec<Box<dyn Query>>, Vec<String>);

pub(super) fn request_filters(idx: &WashIndex, req: &SearchRequest) -> Result<Filters> {
    let mut filters: Vec<Box<dyn Query>> = Vec::new();
    let mut filter_paths: Vec<String> = Vec::new();
    for f in &req.filters {
        let (path, q) = parse_filter(idx, f)?;
        filter_paths.push(path);
        filters.push(q);
    }
    if let Some(l) = req.lang.as_deref().filter(|l| !l.is_empty()) {
        if !crate::language::is_code(l) {
            return Err(Error::InvalidRequest(format!("lang {l:?} is not an ISO 639-1 code like \"fr\"")));
        }
        filters.push(parse_filter(idx, &format!("/language/{l}"))?.1);
    }
    if req.year_min.is_some() || req.year_max.is_some() {
        let y = idx.fields.year;
        // Years given the wrong way round are the same span.
        let (year_min, year_max) = match (req.year_min, req.year_max) {
            (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
            other => other,
        };
        let lo = year_min.map(|v| Bound::Included(Term::from_field_u64(y, v as u64))).unwrap_or(Bound::Unbounded);
        let hi = year_max.map(|v| Bound::Included(Term::from_field_u64(y, v as u64))).unwrap_or(Bound::Unbounded);
        filters.push(Box::new(ConstScoreQuery::new(Box::new(RangeQuery::new(lo, hi)), 0.0)));
    }
    Ok((filters, filter_paths))
}

pub(super) fn parse_filter(idx: &WashIndex, filter: &str) -> Result<(String, Box<dyn Query>)> {
    let invalid = |reason: String| Error::InvalidFilter { filter: filter.to_string(), reason };
    let path = crate::text::trim_blanks(filter).trim_end_matches('/');
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
