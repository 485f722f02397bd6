//! The web page for practitioners: server-rendered with minijinja (HTML auto-escaped), no
//! JavaScript, no external resources. Every result and filter state has its own URL.

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use serde::Serialize;

use super::api::{blocking, load_view};
use super::error::ApiError;
use super::params::{link, search_request};
use super::AppState;
use crate::config::family_of;
use crate::search::MatchedBy;
use crate::search::{search, SearchRequest, SearchResponse};

/// The templates, compiled in.
pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in [
        ("base.html", include_str!("templates/base.html")),
        ("search.html", include_str!("templates/search.html")),
        ("document.html", include_str!("templates/document.html")),
    ] {
        env.add_template(name, src).expect("template compiles");
    }
    env
}

const LANGUAGES: [(&str, &str); 5] =
    [("en", "English"), ("fr", "Français"), ("es", "Español"), ("pt", "Português"), ("und", "undetermined")];

const FAMILIES: [(&str, &str); 8] = [
    ("failure_cause", "Failure cause"),
    ("technology", "Technology"),
    ("context", "Context"),
    ("approach", "Approach"),
    ("language", "Language"),
    ("doctype", "Document type"),
    ("country", "Country"),
    ("year", "Year"),
];

/// A template value from any serialisable value.
fn ser<T: Serialize>(t: T) -> Value {
    Value::from(minijinja::value::Serde(t))
}

fn languages() -> Value {
    ser(LANGUAGES.iter().map(|(c, n)| serde_json::json!({"code": c, "name": n})).collect::<Vec<_>>())
}

fn language_name(code: &str) -> String {
    LANGUAGES.iter().find(|(c, _)| *c == code).map(|(_, n)| n.to_string()).unwrap_or_else(|| code.to_string())
}

/// A human label for a facet path.
fn label(st: &AppState, path: &str) -> String {
    if let Some(f) = st.config.taxonomy.get(path) {
        return f.label.clone();
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    match family_of(path) {
        Some("language") => language_name(last),
        _ => last.replace('-', " "),
    }
}

#[derive(Serialize)]
struct Entry {
    label: String,
    count: u64,
    href: String,
    depth: usize,
}

#[derive(Serialize)]
struct Family {
    name: &'static str,
    entries: Vec<Entry>,
}

#[derive(Serialize)]
struct Chip {
    path: String,
    label: String,
    href: String,
}

#[derive(Serialize)]
struct HitView {
    id: String,
    title: String,
    path: String,
    format: String,
    year: Option<u32>,
    language_name: String,
    countries: Vec<String>,
    doctype_label: String,
    tags: Vec<Chip>,
    snippets: Vec<crate::search::Snippet>,
    /// "words", "meaning" or "words and meaning" (empty in keyword mode).
    found_by: String,
    /// The passage closest in meaning, when the snippet is not already that passage.
    passage: Option<crate::search::PassageHit>,
}

#[derive(Serialize)]
struct ActiveFilter {
    path: String,
    label: String,
    remove: String,
}

fn render(st: &AppState, name: &str, ctx: minijinja::Value) -> Response {
    match st.templates.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn page_context(
    st: &AppState,
    req: &SearchRequest,
    resp: Option<&SearchResponse>,
    error: Option<String>,
) -> minijinja::Value {
    let filters: Vec<ActiveFilter> = req
        .filters
        .iter()
        .map(|f| ActiveFilter { path: f.clone(), label: label(st, f), remove: link(req, 0, None, Some(f)) })
        .collect();
    let languages = languages();
    let (mut families, mut hits, mut total, mut first, mut last, mut prev, mut next) =
        (Vec::new(), Vec::new(), 0, 0, 0, None, None);
    let mut did_you_mean: Option<(String, String)> = None;
    if let Some(r) = resp {
        total = r.total;
        if let Some(d) = &r.did_you_mean {
            let mut fixed = req.clone();
            fixed.query = d.clone();
            did_you_mean = Some((d.clone(), link(&fixed, 0, None, None)));
        }
        first = req.offset + 1;
        last = req.offset + r.hits.len();
        if req.offset > 0 {
            prev = Some(link(req, req.offset.saturating_sub(req.limit), None, None));
        }
        if last < total && req.limit > 0 {
            next = Some(link(req, req.offset + req.limit, None, None));
        }
        for (fam, name) in FAMILIES {
            let root_depth = 2;
            let mut entries: Vec<Entry> = r
                .facets
                .get(fam)
                .into_iter()
                .flatten()
                .filter(|c| !req.filters.contains(&c.path))
                .map(|c| Entry {
                    label: label(st, &c.path),
                    count: c.count,
                    href: link(req, 0, Some(&c.path), None),
                    depth: c.path.matches('/').count().saturating_sub(root_depth),
                })
                .collect();
            if fam == "year" {
                entries.sort_by(|a, b| b.label.cmp(&a.label));
            }
            families.push(Family { name, entries });
        }
        hits = r
            .hits
            .iter()
            .map(|h| HitView {
                id: h.id.clone(),
                title: h.title.clone(),
                path: h.path.clone(),
                format: h.format.clone(),
                year: h.year,
                language_name: language_name(&h.language),
                countries: h.countries.clone(),
                doctype_label: label(st, &h.doctype),
                tags: h
                    .facets
                    .values()
                    .flatten()
                    .map(|p| Chip { path: p.clone(), label: label(st, p), href: link(req, 0, Some(p), None) })
                    .collect(),
                snippets: h.snippets.clone(),
                found_by: match (r.mode, h.matched_by.as_slice()) {
                    (crate::search::Mode::Keyword, _) => String::new(),
                    (_, [MatchedBy::Keyword, MatchedBy::Meaning]) => "words and meaning".into(),
                    (_, [MatchedBy::Meaning]) => "meaning".into(),
                    _ => "words".into(),
                },
                passage: h.passage.clone().filter(|_| h.matched_by.contains(&MatchedBy::Keyword)),
            })
            .collect();
    }
    context! {
        q => req.query.clone(), lang => req.lang.clone().unwrap_or_default(), languages,
        filters => ser(&filters), families => ser(&families),
        hits => ser(&hits), total, first, last, prev, next, error,
        did_you_mean => did_you_mean.as_ref().map(|d| d.0.clone()),
        did_you_mean_href => did_you_mean.map(|d| d.1),
        semantic => st.semantic().is_some(), mode => req.mode.map(|m| m.as_str()).unwrap_or_default(),
    }
}

/// `GET /`: the search page.
pub async fn search_page(State(st): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let req = match search_request(q.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            let req = SearchRequest { limit: super::params::DEFAULT_LIMIT, ..Default::default() };
            let ctx = page_context(&st, &req, None, Some(e.message));
            return (StatusCode::BAD_REQUEST, render(&st, "search.html", ctx)).into_response();
        }
    };
    let st2 = st.clone();
    let req2 = req.clone();
    // The brief rides along on the first page of a query.
    let with_brief = req.offset == 0 && !req.query.trim().is_empty();
    match blocking(move || {
        let resp = search(&st2.idx, &st2.reader, &req2, &st2.expander, st2.semantic()).map_err(ApiError::from)?;
        let labels = |p: &str| label(&st2, p);
        let brief = if with_brief {
            crate::search::brief(&st2.idx, &st2.reader, &req2, &st2.expander, st2.semantic(), &labels).ok()
        } else {
            None
        };
        Ok((resp, brief))
    })
    .await
    {
        Ok((resp, brief)) => {
            let mut ctx = page_context(&st, &req, Some(&resp), None);
            if let Some(b) = brief.filter(|b| !b.causes.is_empty() || !b.worked.is_empty()) {
                ctx = minijinja::context! { brief => brief_context(&req, &b), ..ctx };
            }
            render(&st, "search.html", ctx)
        }
        Err(e) if e.status.is_client_error() => {
            let ctx = page_context(&st, &req, None, Some(e.message.clone()));
            (e.status, render(&st, "search.html", ctx)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The brief as the page shows it: each cause links to the results filtered by it.
fn brief_context(req: &SearchRequest, b: &crate::search::Brief) -> minijinja::Value {
    let passage = |p: &crate::search::BriefPassage| {
        context! {
            id => p.id.clone(), title => p.title.clone(), url => p.url.clone(), page => p.page,
            text => p.text.clone(), language => language_name(&p.language), year => p.year,
            countries => p.countries.join(", "),
        }
    };
    let causes: Vec<_> = b
        .causes
        .iter()
        .map(|c| {
            context! {
                label => c.label.clone(), path => c.path.clone(), documents => c.documents,
                share => format!("{:.0}%", c.share * 100.0), single => c.single_document,
                href => link(req, 0, Some(&c.path), None),
                passages => c.passages.iter().map(passage).collect::<Vec<_>>(),
            }
        })
        .collect();
    context! {
        documents => b.documents, total => b.total, note => b.note.clone(), causes,
        worked => b.worked.iter().map(passage).collect::<Vec<_>>(),
    }
}

/// Pages shown on the document page; the rest is in the original.
const MAX_PAGES_SHOWN: usize = 40;

/// `GET /documents/{id}`: metadata, tags with their evidence, and the text.
pub async fn document_page(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let st2 = st.clone();
    let view = match blocking(move || load_view(&st2, &id)).await {
        Ok(v) => v,
        Err(e) => {
            let req = SearchRequest { limit: super::params::DEFAULT_LIMIT, ..Default::default() };
            let ctx = page_context(&st, &req, None, Some(e.message.clone()));
            return (e.status, render(&st, "search.html", ctx)).into_response();
        }
    };
    let d = &view.record;
    let empty = SearchRequest { limit: super::params::DEFAULT_LIMIT, ..Default::default() };
    let tags: Vec<_> = d
        .facets
        .values()
        .flatten()
        .map(|t| {
            use crate::document::TagSource;
            let source = match t.source {
                TagSource::Explicit => "explicit",
                TagSource::Curator => "curator",
                TagSource::Meaning => "meaning",
                TagSource::Text => "text",
            };
            let passages: Vec<_> = t
                .passages
                .iter()
                .map(|p| {
                    context! {
                        page => p.page, text => p.text.clone(), similarity => format!("{:.2}", p.similarity),
                        href => if p.page > 0 { format!("#page-{}", p.page) } else { String::new() },
                    }
                })
                .collect();
            context! {
                path => t.path.clone(), label => t.label.clone(), href => link(&empty, 0, Some(&t.path), None),
                source, score => t.score, threshold => t.threshold, evidence => ser(&t.evidence),
                confidence => t.confidence.map(|c| format!("{:.0}%", c * 100.0)), passages,
                curator => t.curator.as_ref().map(|c| format!("{} on {}", c.by, c.at.get(..10).unwrap_or(&c.at))),
            }
        })
        .collect();
    let pages: Vec<_> = d.pages.iter().take(MAX_PAGES_SHOWN).collect();
    let ctx = context! {
        d => ser(d), tags, pages => ser(&pages), more_pages => d.pages.len().saturating_sub(MAX_PAGES_SHOWN),
        has_pages => d.format.has_pages(), language_name => language_name(&d.language),
        doctype_label => label(&st, &d.doctype), q => "", lang => "", filters => Vec::<String>::new(),
        languages => languages(),
        tagged_by => match d.tagged_by.as_str() {
            "meaning" => "Tags decided from the words of the text and the meaning of its passages.",
            _ if st.semantic().is_some() => "Tags decided from the words of the text; tags by meaning come with the passage vectors.",
            _ => "Tags decided from the words of the text (the sentence encoder is not installed).",
        },
    };
    render(&st, "document.html", ctx)
}
