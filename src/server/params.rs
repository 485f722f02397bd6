//! Query-string parameters of `/api/search` and `/`, parsed by hand so that repeated `filter`
//! keys work and every bad value gets its own `invalid_parameter` message.

use crate::search::{SearchRequest, Sort};

use super::error::ApiError;
use crate::text::trim_blanks as blank_trimmed;

/// Default hits per page.
pub const DEFAULT_LIMIT: usize = 10;

/// Parses a query string into a search request.
pub fn search_request(query: Option<&str>) -> Result<SearchRequest, ApiError> {
    let mut req = SearchRequest { limit: DEFAULT_LIMIT, ..SearchRequest::default() };
    let num = |key: &str, v: &str| -> Result<u64, ApiError> {
        let t = blank_trimmed(v);
        t.parse::<u64>()
            .ok()
            .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ApiError::new("invalid_parameter", format!("{key} must be a whole number, not {v:?}")))
    };
    let year_param = |key: &str, v: &str| -> Result<u32, ApiError> {
        year(v).ok_or_else(|| ApiError::new("invalid_parameter", format!("{key} must be a year up to 9999, not {v:?}")))
    };
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "q" => req.query = v.into_owned(),
            "filter" if !blank_trimmed(&v).is_empty() => req.filters.push(blank_trimmed(&v).to_string()),
            "lang" if !blank_trimmed(&v).is_empty() => req.lang = Some(blank_trimmed(&v).to_string()),
            "year_min" if !blank_trimmed(&v).is_empty() => req.year_min = Some(year_param("year_min", &v)?),
            "year_max" if !blank_trimmed(&v).is_empty() => req.year_max = Some(year_param("year_max", &v)?),
            "limit" => req.limit = num("limit", &v)?.min(usize::MAX as u64) as usize,
            "offset" => req.offset = num("offset", &v)?.min(usize::MAX as u64) as usize,
            "mode" if !blank_trimmed(&v).is_empty() => {
                req.mode = Some(blank_trimmed(&v).parse().map_err(|e: String| ApiError::new("invalid_parameter", e))?)
            }
            "sort" => {
                req.sort = match v.as_ref() {
                    "relevance" | "" => Sort::Relevance,
                    "newest" => Sort::Newest,
                    other => {
                        return Err(ApiError::new(
                            "invalid_parameter",
                            format!("sort must be relevance or newest, not {other:?}"),
                        ))
                    }
                }
            }
            _ => {}
        }
    }
    Ok(req)
}

/// A year as the API takes it: digits (blanks around them forgiven), up to 9999.
pub fn year(v: &str) -> Option<u32> {
    let t = blank_trimmed(v);
    let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    t.parse::<u32>().ok().filter(|y| digits && *y <= 9999)
}

/// The query string of a request, for links: `q`, filters, language, years and sort, with
/// `offset` replaced and a filter added or removed.
pub fn link(req: &SearchRequest, offset: usize, add: Option<&str>, remove: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !req.query.is_empty() {
        s.append_pair("q", &req.query);
    }
    for f in &req.filters {
        if Some(f.as_str()) != remove {
            s.append_pair("filter", f);
        }
    }
    if let Some(a) = add {
        if !req.filters.iter().any(|f| f == a) {
            s.append_pair("filter", a);
        }
    }
    if let Some(l) = &req.lang {
        s.append_pair("lang", l);
    }
    if let Some(y) = req.year_min {
        s.append_pair("year_min", &y.to_string());
    }
    if let Some(y) = req.year_max {
        s.append_pair("year_max", &y.to_string());
    }
    if req.sort == Sort::Newest {
        s.append_pair("sort", "newest");
    }
    if let Some(m) = req.mode {
        s.append_pair("mode", m.as_str());
    }
    if offset > 0 {
        s.append_pair("offset", &offset.to_string());
    }
    if req.limit != DEFAULT_LIMIT {
        s.append_pair("limit", &req.limit.to_string());
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_filters_and_bad_values() {
        let r = search_request(Some(
            "q=spare+parts&filter=%2Fcontext%2Fsetting%2Frural&filter=/language/en&limit=5&sort=newest",
        ))
        .unwrap();
        assert_eq!(r.query, "spare parts");
        assert_eq!(r.filters, vec!["/context/setting/rural", "/language/en"]);
        assert_eq!(r.limit, 5);
        assert_eq!(r.sort, Sort::Newest);
        let e = search_request(Some("limit=ten")).unwrap_err();
        assert_eq!(e.code, "invalid_parameter");
        assert!(search_request(Some("sort=oldest")).is_err());
        assert_eq!(search_request(Some("mode=semantic")).unwrap().mode, Some(crate::search::Mode::Semantic));
        assert_eq!(search_request(Some("mode=vibes")).unwrap_err().code, "invalid_parameter");
        assert!(search_request(Some("year_min=-3")).is_err());
        assert!(search_request(Some("year_max=10000")).is_err());
        assert_eq!(search_request(Some("year_max=9999")).unwrap().year_max, Some(9999));
    }

    #[test]
    fn links_keep_state() {
        let r = search_request(Some("q=vidange&filter=/language/fr")).unwrap();
        let l = link(&r, 10, Some("/technology/sanitation"), None);
        assert_eq!(l, "q=vidange&filter=%2Flanguage%2Ffr&filter=%2Ftechnology%2Fsanitation&offset=10");
        assert_eq!(link(&r, 0, None, Some("/language/fr")), "q=vidange");
    }
}
