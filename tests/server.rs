//! The HTTP service: every endpoint and error code through the router without a socket
//! (`oneshot`), responses validated against the OpenAPI document, XSS and path traversal, index
//! changes becoming visible while serving, and one test on a real socket.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wash_lessons::config::Config;
use wash_lessons::index::WashIndex;
use wash_lessons::ingest;
use wash_lessons::server::{app, openapi, AppState, Options, CODES};

use crate::util::{self, multipart, s};

const TOKEN: &str = "test-token-123";

/// A served copy of corpus-sample, built once for all the tests of this module.
fn shared_index() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let idx = WashIndex::open_or_create(&dir.path().join("idx")).unwrap();
        let config = Config::load_dir(&util::root().join("index-config")).unwrap();
        let s = ingest::run(&idx, &config, &[util::corpus()], &|_| {}).unwrap();
        assert!(s.indexed >= 60);
        dir
    })
    .path()
}

/// A fresh index with corpus-sample (for tests that write).
fn fresh_state(options: Options) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("idx");
    copy_dir(&shared_index().join("idx"), &target);
    let idx = WashIndex::open(&target).unwrap();
    let config = Config::load_dir(&util::root().join("index-config")).unwrap();
    let state = AppState::new(idx, config, options, None).unwrap();
    (dir, state)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else if e.file_name() != ".tantivy-writer.lock" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn read_state() -> AppState {
    static STATE: OnceLock<AppState> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let idx = WashIndex::open(&shared_index().join("idx")).unwrap();
            let config = Config::load_dir(&util::root().join("index-config")).unwrap();
            AppState::new(idx, config, Options::default(), None).unwrap()
        })
        .clone()
}

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body, headers)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let (status, body, _) = call(state, Request::get(uri).body(Body::empty()).unwrap()).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, v)
}

async fn get_html(state: &AppState, uri: &str) -> (StatusCode, String) {
    let (status, body, headers) = call(state, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{uri}");
    (status, String::from_utf8(body).unwrap())
}

fn assert_error(status: StatusCode, v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    let expected = CODES.iter().find(|c| c.0 == code).unwrap().1;
    assert_eq!(status.as_u16(), expected, "{code}: {v}");
    validate(&openapi::document(), &serde_json::json!({"$ref": "#/components/schemas/Error"}), v, "error");
}

async fn upload(state: &AppState, token: Option<&str>, fields: &[(&str, Option<&str>, &[u8])]) -> (StatusCode, Value) {
    let (ct, body) = multipart(fields);
    let mut req = Request::post("/api/documents").header(header::CONTENT_TYPE, ct);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let (status, body, _) = call(state, req.body(Body::from(body)).unwrap()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

// ------------------------------------------------------------------------------------------
// A small JSON Schema checker (the subset schemars and our OpenAPI document use).

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => {
            let path = r.trim_start_matches("#/");
            let mut v = doc;
            for part in path.split('/') {
                v = &v[part];
            }
            assert!(!v.is_null(), "unresolved $ref {r}");
            resolve(doc, v)
        }
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn matches(doc: &Value, schema: &Value, v: &Value) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| validate(doc, schema, v, ""))).is_ok()
}

/// Panics with the path of the first mismatch.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if schema == &Value::Bool(true) {
        return;
    }
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)),
            _ => true,
        };
        assert!(ok, "{at}: {v} is not of type {t}");
    }
    if let Some(e) = schema.get("enum").and_then(|e| e.as_array()) {
        assert!(e.contains(v), "{at}: {v} not in {e:?}");
    }
    if let Some(c) = schema.get("const") {
        assert_eq!(c, v, "{at}");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(|a| a.as_array()) {
            assert!(alts.iter().any(|a| matches(doc, a, v)), "{at}: {v} matches none of {key}");
        }
    }
    if let Some(all) = schema.get("allOf").and_then(|a| a.as_array()) {
        for a in all {
            validate(doc, a, v, at);
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(req) = schema.get("required").and_then(|r| r.as_array()) {
            for r in req {
                assert!(obj.contains_key(r.as_str().unwrap()), "{at}: missing required {r} in {v}");
            }
        }
        let props = schema.get("properties").and_then(|p| p.as_object());
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(doc, ps, val, &format!("{at}.{k}")),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => panic!("{at}: unexpected property {k}"),
                    Some(ap) if ap.is_object() => validate(doc, ap, val, &format!("{at}.{k}")),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(doc, items, x, &format!("{at}[{i}]"));
        }
    }
}

fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    let s = &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
    assert!(!s.is_null(), "no schema for {method} {path} {status}");
    s
}

// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn search_endpoint_matches_openapi_and_filters() {
    let st = read_state();
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let (status, v) = get(&st, "/api/search?q=spare+parts&filter=/technology/water&filter=/language/en&limit=5").await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, response_schema(&doc, "/api/search", "get", "200"), &v, "search");
    assert!(v["total"].as_u64().unwrap() > 0);
    assert!(v["hits"].as_array().unwrap().len() <= 5);
    for h in v["hits"].as_array().unwrap() {
        assert_eq!(h["language"], "en");
    }
    // Paging: offset moves through the same result list.
    let (_, p1) = get(&st, "/api/search?q=water&limit=3").await;
    let (_, p2) = get(&st, "/api/search?q=water&limit=3&offset=3").await;
    assert_ne!(p1["hits"][0]["id"], p2["hits"][0]["id"]);
    // More like this, and a typo suggestion.
    let first = p1["hits"][0]["id"].as_str().unwrap().to_string();
    let (status, like) = get(&st, &format!("/api/documents/{first}/similar?limit=4")).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, response_schema(&doc, "/api/documents/{id}/similar", "get", "200"), &like, "similar");
    assert_eq!(like["hits"].as_array().unwrap().len(), 4);
    assert!(like["hits"].as_array().unwrap().iter().all(|h| h["id"] != first.as_str()));
    let (status, v) = get(&st, "/api/documents/0123456789abcdef/similar").await;
    assert_error(status, &v, "not_found");
    let (_, typo) = get(&st, "/api/search?q=santation+marketting").await;
    assert_eq!(typo["did_you_mean"], "sanitation marketing", "{}", typo["did_you_mean"]);
    let (_, newest) = get(&st, "/api/search?sort=newest&limit=5&year_min=2015").await;
    let years: Vec<u64> = newest["hits"].as_array().unwrap().iter().map(|h| h["year"].as_u64().unwrap()).collect();
    assert!(years.windows(2).all(|w| w[0] >= w[1]) && years.iter().all(|y| *y >= 2015), "{years:?}");
}

/// A served copy of corpus-sample with passage vectors and the model; None (and the test
/// skipped) when the model cannot be had.
fn semantic_state(test: &str) -> Option<AppState> {
    static STATE: OnceLock<(tempfile::TempDir, AppState)> = OnceLock::new();
    let model = util::model(test)?;
    let st = STATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("idx");
            copy_dir(&shared_index().join("idx"), &target);
            let idx = WashIndex::open(&target).unwrap();
            let model = wash_lessons::model::Model::load(&model).unwrap();
            let e = ingest::embed::run(&idx, Some(&model), None, 60.0, false).unwrap();
            assert!(e.documents >= 60, "{e:?}");
            let config = Config::load_dir(&util::root().join("index-config")).unwrap();
            let semantic = wash_lessons::search::Semantic::new(model);
            let st = AppState::new(idx, config, Options::default(), Some(semantic)).unwrap();
            (dir, st)
        })
        .1
        .clone();
    Some(st)
}

#[tokio::test]
async fn semantic_and_hybrid_search_explain_their_hits_and_keep_filters() {
    let Some(st) = semantic_state("server::semantic_and_hybrid_search_explain_their_hits") else { return };
    let doc = openapi::document();
    let q = "why+do+village+water+boards+stop+working";
    // Hybrid is the default with a model; every hit says how it was found.
    let (status, v) = get(&st, &format!("/api/search?q={q}&limit=10")).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, response_schema(&doc, "/api/search", "get", "200"), &v, "hybrid");
    assert_eq!(v["mode"], "hybrid");
    let hits = v["hits"].as_array().unwrap();
    assert!(hits.iter().all(|h| !h["matched_by"].as_array().unwrap().is_empty()), "{v}");
    assert!(
        hits.iter().any(|h| h["language"] != "en" && h["matched_by"].as_array().unwrap().contains(&"meaning".into())),
        "{v}"
    );
    // Semantic alone, with a language filter, a year range and paging.
    let (status, v) = get(&st, &format!("/api/search?q={q}&mode=semantic&lang=fr&limit=3")).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, response_schema(&doc, "/api/search", "get", "200"), &v, "semantic");
    assert!(!v["hits"].as_array().unwrap().is_empty(), "{v}");
    for h in v["hits"].as_array().unwrap() {
        assert_eq!(h["language"], "fr");
        assert_eq!(h["matched_by"], serde_json::json!(["meaning"]));
        assert!(!h["passage"]["text"].as_str().unwrap().is_empty());
    }
    let (_, y) = get(&st, &format!("/api/search?q={q}&mode=semantic&year_min=2015&year_max=2020&limit=20")).await;
    for h in y["hits"].as_array().unwrap() {
        let year = h["year"].as_u64().unwrap();
        assert!((2015..=2020).contains(&year), "{h}");
    }
    let (_, all) = get(&st, &format!("/api/search?q={q}&mode=hybrid&limit=8")).await;
    let (_, p1) = get(&st, &format!("/api/search?q={q}&mode=hybrid&limit=4")).await;
    let (_, p2) = get(&st, &format!("/api/search?q={q}&mode=hybrid&limit=4&offset=4")).await;
    let ids = |v: &Value| v["hits"].as_array().unwrap().iter().map(|h| h["id"].clone()).collect::<Vec<_>>();
    assert_eq!([ids(&p1), ids(&p2)].concat(), ids(&all));
    assert_eq!(p1["total"], all["total"]);
    // Similar lessons use the vectors too.
    let first = all["hits"][0]["id"].as_str().unwrap().to_string();
    let (status, like) = get(&st, &format!("/api/documents/{first}/similar?limit=5")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(like["mode"], "hybrid");
    assert!(like["hits"].as_array().unwrap().iter().all(|h| h["id"] != first.as_str()));
    // The page says how each hit was found and offers the modes; without a model it does not.
    let (status, html) = get_html(&st, &format!("/?q={q}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("found by meaning") || html.contains("found by words and meaning"), "{html}");
    assert!(html.contains(r#"name="mode""#));
    let (_, plain) = get_html(&read_state(), "/?q=water").await;
    assert!(!plain.contains(r#"name="mode""#) && !plain.contains("found by"));
    // Bad modes are parameter errors; a semantic mode without a model too, never a 500.
    let (status, v) = get(&st, "/api/search?q=water&mode=vibes").await;
    assert_error(status, &v, "invalid_parameter");
    let (status, v) = get(&read_state(), "/api/search?q=water&mode=semantic").await;
    assert_error(status, &v, "invalid_parameter");
    assert!(v["error"]["message"].as_str().unwrap_or(&v.to_string()).contains("model"), "{v}");
}

#[tokio::test]
async fn documents_facets_health_metrics_openapi() {
    let st = read_state();
    let doc = openapi::document();
    let (_, s) = get(&st, "/api/search?q=handpump&limit=1").await;
    let id = s["hits"][0]["id"].as_str().unwrap().to_string();
    let (status, d) = get(&st, &format!("/api/documents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, response_schema(&doc, "/api/documents/{id}", "get", "200"), &d, "document");
    assert!(!d["pages"].as_array().unwrap().is_empty());
    assert!(d["facets"]["technology"][0]["evidence"].is_array(), "evidence of tags: {}", d["facets"]);

    let (status, _, headers) =
        call(&st, Request::get(format!("/api/documents/{id}/file")).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!headers[header::CONTENT_TYPE].is_empty());
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox");

    let (status, f) = get(&st, "/api/facets").await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, response_schema(&doc, "/api/facets", "get", "200"), &f, "facets");
    assert!(f["facets"]["failure_cause"].as_array().unwrap().iter().any(|n| n["children"].is_array()));
    let (_, h) = get(&st, "/api/health").await;
    validate(&doc, response_schema(&doc, "/api/health", "get", "200"), &h, "health");
    assert!(h["documents"].as_u64().unwrap() >= 60);
    // The served document says what this server accepts: without the encoder, keyword mode only.
    let (status, o) = get(&st, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(o, openapi::document_for(&st.config, false));
    assert_ne!(o, doc, "the full document lists the modes by meaning too");
    let (status, body, headers) = call(&st, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("wash_http_requests_total{route=\"/api/health\",status=\"200\"}"), "{text}");
    // The latency histogram is kept per route.
    for route in ["/api/health", "/api/facets"] {
        assert!(
            text.contains(&format!("wash_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}}")),
            "{text}"
        );
        assert!(text.contains(&format!("wash_http_request_duration_seconds_count{{route=\"{route}\"}}")), "{text}");
    }
    assert!(text.contains("wash_documents "));
}

#[tokio::test]
async fn every_read_error_code() {
    let st = read_state();
    let (s, v) = get(&st, "/api/search?limit=abc").await;
    assert_error(s, &v, "invalid_parameter");
    let (s, v) = get(&st, "/api/search?limit=1000").await;
    assert_error(s, &v, "invalid_parameter");
    let (s, v) = get(&st, "/api/search?offset=99999999").await;
    assert_error(s, &v, "invalid_parameter");
    let (s, v) = get(&st, "/api/search?sort=oldest").await;
    assert_error(s, &v, "invalid_parameter");
    // Years the wrong way round are the same span, not an error.
    let (s, v) = get(&st, "/api/search?year_min=2020&year_max=2010").await;
    let (_, w) = get(&st, "/api/search?year_min=2010&year_max=2020").await;
    assert_eq!((s, &v["total"]), (StatusCode::OK, &w["total"]), "{v}");
    let (s, v) = get(&st, "/api/search?lang=French").await;
    assert_error(s, &v, "invalid_parameter");
    let (s, v) = get(&st, "/api/search?filter=/nonsense/x").await;
    assert_error(s, &v, "invalid_filter");
    let (s, v) = get(&st, "/api/search?filter=technology").await;
    assert_error(s, &v, "invalid_filter");
    let long = "a".repeat(1001);
    let (s, v) = get(&st, &format!("/api/search?q={long}")).await;
    assert_error(s, &v, "invalid_query");
    let (s, v) = get(&st, "/api/documents/0123456789abcdef").await;
    assert_error(s, &v, "not_found");
    let (s, v) = get(&st, "/api/documents/..%2F..%2Fetc%2Fpasswd").await;
    assert_error(s, &v, "not_found");
    let (s, v) = get(&st, "/api/documents/..%2F..%2Fetc%2Fpasswd/file").await;
    assert_error(s, &v, "not_found");
    let (s, v) = get(&st, "/api/no-such-route").await;
    assert_error(s, &v, "not_found");
    let (s, body, _) = call(&st, Request::put("/api/search").body(Body::empty()).unwrap()).await;
    assert_error(s, &serde_json::from_slice(&body).unwrap(), "method_not_allowed");
    // Odd queries are searched leniently: never a 500.
    for q in ["%22spare+parts", "(latrine", "title%3Apump+-sewer", "*", "%5B1+TO", "AND+OR+NOT", "%00%ff"] {
        let (s, body, _) = call(&st, Request::get(format!("/api/search?q={q}")).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "q={q}: {}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_a_json_timeout() {
    // A deletion waits for the write lock; the test holds it, so the request cannot finish in time
    // however fast the machine is (a 1 ns limit on a search raced the search and lost on CI).
    let (_dir, st) = fresh_state(Options {
        api_token: Some(TOKEN.into()),
        request_timeout: Duration::from_millis(500),
        ..Options::default()
    });
    let held = st.write_lock.lock().await;
    let req = Request::delete("/api/documents/0123456789abcdef")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(20), call(&st, req)).await;
    let (s, body, _) = answer.expect("the server's time limit never answered");
    assert_error(s, &serde_json::from_slice(&body).unwrap(), "timeout");
    drop(held);
    // Once the lock is free, the same request answers within the limit.
    let (s, v) = get(&st, "/api/health").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn write_api_needs_a_token_and_checks_uploads() {
    // No token configured: the write API is off.
    let st = read_state();
    let (s, v) = upload(&st, Some("anything"), &[("file", Some("a.md"), b"# A\n\ntext")]).await;
    assert_error(s, &v, "write_disabled");
    let (s, body, _) = call(&st, Request::delete("/api/documents/0123456789abcdef").body(Body::empty()).unwrap()).await;
    assert_error(s, &serde_json::from_slice(&body).unwrap(), "write_disabled");

    let (_dir, st) =
        fresh_state(Options { api_token: Some(TOKEN.into()), upload_limit: 64 << 10, ..Options::default() });
    let (s, v) = upload(&st, None, &[("file", Some("a.md"), b"# A\n\ntext")]).await;
    assert_error(s, &v, "unauthorized");
    let (s, v) = upload(&st, Some("wrong-token-123"), &[("file", Some("a.md"), b"# A\n\ntext")]).await;
    assert_error(s, &v, "unauthorized");
    let (s, v) = upload(&st, Some(TOKEN), &[("title", None, b"no file")]).await;
    assert_error(s, &v, "invalid_upload");
    let (s, v) =
        upload(&st, Some(TOKEN), &[("file", Some("a.md"), b"x"), ("facets", None, b"/technology/Bad Path")]).await;
    assert_error(s, &v, "invalid_upload");
    // Each field as the OpenAPI document says: a year up to 9999, a language code, a known doctype.
    for (field, value) in [("year", "10000"), ("year", "+5"), ("language", "French"), ("doctype", "novel")] {
        let (s, v) =
            upload(&st, Some(TOKEN), &[("file", Some("a.md"), b"# A\n\ntext"), (field, None, value.as_bytes())]).await;
        assert_error(s, &v, "invalid_upload");
    }
    let (s, v) = upload(&st, Some(TOKEN), &[("file", Some("junk.pdf"), &[0u8, 1, 2, 3, 255, 254, 0, 9, 8, 7])]).await;
    assert_error(s, &v, "unprocessable_document");
    let big = vec![b'a'; 100 << 10];
    let (s, v) = upload(&st, Some(TOKEN), &[("file", Some("big.txt"), &big)]).await;
    assert_error(s, &v, "payload_too_large");
    let req = Request::post("/api/documents")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (s, body, _) = call(&st, req).await;
    assert_error(s, &serde_json::from_slice(&body).unwrap(), "invalid_upload");

    // A good upload is searchable when the call returns, then deleted.
    let note = "# Kiosk operators in Kitwe\n\nThe kiosk operators stopped paying the utility after the tariff change. zygomorphic\n";
    let (s, v) = upload(
        &st,
        Some(TOKEN),
        &[
            ("file", Some("../../kitwe notes.md"), note.as_bytes()),
            ("facets", None, b"/context/setting/urban"),
            ("year", None, b"2018"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let doc = openapi::document();
    validate(&doc, &serde_json::json!({"$ref": "#/components/schemas/Uploaded"}), &v, "uploaded");
    assert_eq!(v["facets"]["context"], serde_json::json!(["/context/setting/urban"]));
    assert!(!v["path"].as_str().unwrap().contains(".."), "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (_, r) = get(&st, "/api/search?q=zygomorphic").await;
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["hits"][0]["year"], 2018);
    let (s, body, _) = call(&st, Request::get(format!("/api/documents/{id}/file")).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(String::from_utf8(body).unwrap(), note);

    // Another writer holds the index: the upload waits for nothing and says what to do.
    let other = WashIndex::open(&st.idx.dir).unwrap();
    let held = other.writer(16).unwrap();
    let (s, v) = upload(&st, Some(TOKEN), &[("file", Some("b.md"), b"# B\n\nanother note")]).await;
    assert_error(s, &v, "index_busy");
    drop(held);

    let del = |id: &str, token: &str| {
        Request::delete(format!("/api/documents/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, body, _) = call(&st, del(&id, "wrong")).await;
    assert_error(s, &serde_json::from_slice(&body).unwrap(), "unauthorized");
    let (s, body, _) = call(&st, del(&id, TOKEN)).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (_, r) = get(&st, "/api/search?q=zygomorphic").await;
    assert_eq!(r["total"], 0);
    let (s, v) = get(&st, &format!("/api/documents/{id}/file")).await;
    assert_error(s, &v, "not_found");
    let (s, body, _) = call(&st, del(&id, TOKEN)).await;
    assert_error(s, &serde_json::from_slice(&body).unwrap(), "not_found");

    // Many uploads do not pile up segments (each was a writer of its own whose merges never
    // finished: every search then paid for each segment).
    for i in 0..12 {
        let text = format!("# Note {i}\n\nThe standpipe {i} was closed by the committee.\n");
        let (s, v) = upload(&st, Some(TOKEN), &[("file", Some(&format!("n{i}.md")), text.as_bytes())]).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let segments = st.reader.searcher().segment_readers().len();
    assert!(segments < 8, "{segments} segments after 12 uploads");
    let (_, r) = get(&st, "/api/search?q=standpipe+committee&mode=keyword").await;
    assert!(r["total"].as_u64().unwrap() >= 12, "{r}");
}

#[tokio::test]
async fn curators_correct_tags_through_the_api() {
    let (_dir, st) = fresh_state(Options { api_token: Some(TOKEN.into()), ..Options::default() });
    let put = |id: &str, token: Option<&str>, body: &str| {
        let mut r =
            Request::put(format!("/api/documents/{id}/facets")).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::from(body.to_string())).unwrap()
    };
    let (_, r) = get(&st, "/api/search?q=handpump&limit=1").await;
    let id = r["hits"][0]["id"].as_str().unwrap().to_string();
    let (_, d) = get(&st, &format!("/api/documents/{id}")).await;
    let context: Vec<Value> = d["facets"]["context"].as_array().cloned().unwrap_or_default();
    assert!(!context.is_empty(), "{d}");
    let remove: Vec<&Value> = context.iter().map(|t| &t["path"]).collect();
    let body = serde_json::json!({"add": ["/failure_cause/financial/funding-ended"], "remove": remove}).to_string();
    let body = body.as_str();
    let (s, b, _) = call(&st, put(&id, None, body)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "unauthorized");
    // A path outside the taxonomy, a body of the wrong shape, an unknown id: refused, nothing written.
    let (s, b, _) = call(&st, put(&id, Some(TOKEN), r#"{"add": ["/failure_cause/not-a-cause"]}"#)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "invalid_filter");
    let (s, b, _) = call(&st, put(&id, Some(TOKEN), r#"{"add": "one"}"#)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "invalid_parameter");
    let (s, b, _) = call(&st, put(&id, Some(TOKEN), r#"{"add": []}"#)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "invalid_parameter");
    let (s, b, _) = call(&st, put("0123456789abcdef", Some(TOKEN), body)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "not_found");
    assert_eq!(st.idx.corrections.entries(), 0);

    let (s, b, _) = call(&st, put(&id, Some(TOKEN), body)).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let v: Value = serde_json::from_slice(&b).unwrap();
    let doc = openapi::document();
    validate(&doc, &serde_json::json!({"$ref": "#/components/schemas/DocumentView"}), &v, "corrected");
    assert!(v["facets"].get("context").is_none(), "the context family was removed: {v}");
    let set = v["facets"]["failure_cause"].as_array().unwrap();
    let t = set.iter().find(|t| t["path"] == "/failure_cause/financial/funding-ended").expect("added");
    assert_eq!(t["source"], "curator");
    assert!(t["curator"]["by"].as_str().is_some() && t["curator"]["at"].as_str().unwrap().starts_with("20"));
    // Searching by the corrected facet finds it; the page says who set it.
    let (_, r) = get(&st, "/api/search?q=&filter=/failure_cause/financial/funding-ended&limit=100").await;
    assert!(r["hits"].as_array().unwrap().iter().any(|h| h["id"] == id.as_str()), "{r}");
    let (_, html) = get_html(&st, &format!("/documents/{id}")).await;
    assert!(html.contains("Set by a curator"), "{html}");
    // The correction is in the audit log and survives the document being written again.
    let log = std::fs::read_to_string(st.idx.dir.join("wash-lessons.corrections.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1);
    assert!(log.contains(&id) && log.contains("funding-ended"));
    let config = Config::load_dir(&util::root().join("index-config")).unwrap();
    let file = util::corpus().join(v["path"].as_str().unwrap());
    let reread = WashIndex::open(&st.idx.dir).unwrap();
    let searcher = reread.reader(false).unwrap().searcher();
    let stored = reread.find_document(&searcher, &id).unwrap().unwrap();
    let (state, source) = reread.stored_state(&stored);
    let enricher = wash_lessons::enrich::Enricher::new(&config);
    let job = ingest::Job::file(&file, v["path"].as_str().unwrap());
    let fresh = ingest::process(&job, &enricher, &Default::default(), &|| {}).unwrap();
    let mut w = reread.writer(16).unwrap();
    w.delete_term(reread.id_term(&id));
    w.add_document(reread.to_document(
        &wash_lessons::document::Record { id: id.clone(), ..fresh },
        state,
        &config.settings.languages.served,
        &source,
    ))
    .unwrap();
    w.commit().unwrap();
    drop(w);
    let searcher = reread.reader(false).unwrap().searcher();
    let again = reread.full_record(&reread.find_document(&searcher, &id).unwrap().unwrap()).unwrap();
    assert!(again.facet_paths("failure_cause").contains(&"/failure_cause/financial/funding-ended".to_string()));
    assert!(again.facet_paths("context").is_empty());

    // Corrections of many documents do not pile up segments (each is a writer of its own).
    let (_, r) = get(&st, "/api/search?q=&limit=12").await;
    for h in r["hits"].as_array().unwrap() {
        let body = r#"{"add": ["/failure_cause/financial/funding-ended"]}"#;
        let (s, b, _) = call(&st, put(h["id"].as_str().unwrap(), Some(TOKEN), body)).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    }
    let segments = st.reader.searcher().segment_readers().len();
    assert!(segments < 8, "{segments} segments after 12 corrections");
}

#[tokio::test]
async fn uploads_are_extracted_in_a_worker_process_when_isolated() {
    let iso = wash_lessons::ingest::Isolation {
        exe: util::bin(),
        config_dir: Some(util::root().join("index-config")),
        timeout: Duration::from_secs(30),
        memory_limit: 1 << 30,
    };
    let (_dir, st) = fresh_state(Options { api_token: Some(TOKEN.into()), isolation: Some(iso), ..Options::default() });
    let (s, v) =
        upload(&st, Some(TOKEN), &[("file", Some("n.md"), b"# Pangolin pumps\n\nThe pangolin pumps were repaired.\n")])
            .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, r) = get(&st, "/api/search?q=pangolin").await;
    assert_eq!(r["total"], 1);
    let (s, v) = upload(&st, Some(TOKEN), &[("file", Some("x.docx"), b"PK\x03\x04 not really a zip")]).await;
    assert_error(s, &v, "unprocessable_document");

    // One worker serves upload after upload (a file it refuses does not end it)...
    let first = st.upload_worker.pid().expect("a kept worker");
    let (s, v) =
        upload(&st, Some(TOKEN), &[("file", Some("m.md"), b"# Okapi taps\n\nThe okapi taps ran dry.\n")]).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((st.upload_worker.pid(), st.upload_worker.started()), (Some(first), 1));
    // ...and one that died while idle is replaced before the next upload, which succeeds.
    let killed = std::process::Command::new("kill").args(["-9", &first.to_string()]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(200));
    let (s, v) =
        upload(&st, Some(TOKEN), &[("file", Some("k.md"), b"# Kudu pumps\n\nThe kudu pumps were sold.\n")]).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(st.upload_worker.started(), 2);
    assert_ne!(st.upload_worker.pid(), Some(first));
    for word in ["okapi", "kudu"] {
        let (_, r) = get(&st, &format!("/api/search?q={word}&mode=keyword")).await;
        assert_eq!(r["total"], 1, "{r}");
    }
}

#[tokio::test]
async fn xss_is_escaped_in_json_and_html() {
    let (_dir, st) = fresh_state(Options { api_token: Some(TOKEN.into()), ..Options::default() });
    let evil = "<h1>Borehole <script>alert('t')</script> report</h1><p>The quokkapump broke. \"><img src=x onerror=alert(1)> and <script>steal()</script> quokkapump again.</p>";
    let page = format!(
        "<!doctype html><html><head><title>x\"><script>alert(2)</script></title></head><body>{evil}</body></html>"
    );
    // The HTML extractor drops scripts, so also send the markup as plain text, where it is text.
    let (s, v) = upload(&st, Some(TOKEN), &[("file", Some("evil.html"), page.as_bytes())]).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let text =
        "Field note. The quokkapump broke: <script>alert(3)</script> \"><img src=x onerror=alert(4)> quokkapump.";
    let (s, v) = upload(
        &st,
        Some(TOKEN),
        &[("file", Some("evil.txt"), text.as_bytes()), ("title", None, b"<script>alert(5)</script>")],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let (_, r) = get(&st, "/api/search?q=quokkapump").await;
    assert_eq!(r["total"], 2, "{r}");
    for h in r["hits"].as_array().unwrap() {
        for sn in h["snippets"].as_array().unwrap() {
            let html = sn["html"].as_str().unwrap();
            assert!(html.contains("<mark>"), "{html}");
            let without_marks = html.replace("<mark>", "").replace("</mark>", "");
            assert!(
                !without_marks.contains('<') && !without_marks.contains('>'),
                "unescaped markup in snippet: {html}"
            );
        }
    }
    let (s, html) = get_html(&st, "/?q=quokkapump").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("<script>alert"), "script in page");
    assert!(!html.contains("<img src=x"), "img in page");
    assert!(
        html.contains("&lt;script&gt;alert(5)&lt;/script&gt;") || html.contains("&lt;script&gt;alert(3)"),
        "escaped text shown"
    );
    let id = r["hits"].as_array().unwrap().iter().find(|h| h["format"] == "text").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, doc_page) = get_html(&st, &format!("/documents/{id}")).await;
    assert!(!doc_page.contains("<script>alert") && !doc_page.contains("<img src=x"));
    // Queries are escaped when shown back.
    let (_, html) = get_html(&st, "/?q=%3Cscript%3Ealert(9)%3C%2Fscript%3E").await;
    assert!(!html.contains("<script>alert(9)"));
}

#[tokio::test]
async fn web_page_search_facets_paging_document() {
    let st = read_state();
    let (s, html) = get_html(&st, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.len() < 100_000, "page weighs {} bytes", html.len());
    assert!(html.contains("<label for=\"q\""), "search box has a label");
    assert!(!html.contains("http://") && !html.contains("https://"), "no external resources");
    let (_, html) = get_html(&st, "/?q=latrine&filter=%2Ftechnology%2Fsanitation").await;
    assert!(html.len() < 100_000, "page weighs {} bytes", html.len());
    assert!(html.contains("Active filters"));
    assert!(html.contains("remove"));
    assert!(html.contains("Failure cause") && html.contains("Year"));
    assert!(html.contains("<mark>"));
    assert!(html.contains("next →"), "paging link");
    let (_, html2) = get_html(&st, "/?q=latrine&filter=%2Ftechnology%2Fsanitation&offset=10").await;
    assert!(html2.contains("← previous"));
    let (s, html) = get_html(&st, "/?limit=zzz").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("limit must be a whole number"));
    let (_, r) = get(&st, "/api/search?q=handpump&limit=1").await;
    let id = r["hits"][0]["id"].as_str().unwrap();
    let (s, html) = get_html(&st, &format!("/documents/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Why these tags") && html.contains("Trigger terms score"), "{html}");
    assert!(html.contains("confidence"), "automatic tags show their confidence");
    let (s, _) = get_html(&st, "/documents/doesnotexist").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn file_endpoint_refuses_files_outside_the_roots() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("n.md"), "# Note\n\nThe wallaby borehole dried up.\n").unwrap();
    let idx = WashIndex::open_or_create(&dir.path().join("idx")).unwrap();
    let config = Config::load_dir(&util::root().join("index-config")).unwrap();
    ingest::run(&idx, &config, std::slice::from_ref(&docs), &|_| {}).unwrap();
    let st = AppState::new(idx, config, Options::default(), None).unwrap();
    let (_, r) = get(&st, "/api/search?q=wallaby").await;
    let id = r["hits"][0]["id"].as_str().unwrap().to_string();
    let (s, _, _) = call(&st, Request::get(format!("/api/documents/{id}/file")).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    // The file is replaced by a link to a file outside the roots: refused.
    std::fs::remove_file(docs.join("n.md")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", docs.join("n.md")).unwrap();
    let (s, v) = get(&st, &format!("/api/documents/{id}/file")).await;
    assert_error(s, &v, "file_unavailable");
    std::fs::remove_file(docs.join("n.md")).unwrap();
    let (s, v) = get(&st, &format!("/api/documents/{id}/file")).await;
    assert_error(s, &v, "file_unavailable");
}

#[test]
fn an_index_run_shows_up_while_serving_and_a_real_socket_answers() {
    let (dir, st) = fresh_state(Options::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move { axum::serve(listener, app(st)).await });

    let http_get = |path: &str| -> String {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        out
    };
    let health = http_get("/api/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""));

    // A separate `wash-lessons index` process writes into the served index.
    let notes = dir.path().join("new-notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("late.md"), "# Late note\n\nThe capybara latrine block was handed over.\n").unwrap();
    let out = util::run(&["index", "--index", s(&dir.path().join("idx")), s(&notes)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut seen = false;
    for _ in 0..50 {
        if http_get("/api/search?q=capybara").contains("\"total\":1") {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(seen, "the new document became searchable within 10 s");
    server.abort();
}

#[tokio::test]
async fn the_brief_answers_with_causes_passages_and_its_evidence() {
    let st = read_state();
    let doc = openapi::document();
    let (s, v) = get(&st, "/api/brief?q=why+do+handpumps+break+down+in+rural+areas").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    validate(&doc, &serde_json::json!({"$ref": "#/components/schemas/Brief"}), &v, "brief");
    assert!(v["documents"].as_u64().unwrap() >= 3, "{v}");
    let causes = v["causes"].as_array().unwrap();
    assert!(!causes.is_empty(), "{v}");
    let mut last = f64::MAX;
    for c in causes {
        assert!(c["path"].as_str().unwrap().starts_with("/failure_cause/"), "{c}");
        let share = c["share"].as_f64().unwrap();
        assert!(share <= last + 1e-9 && share > 0.0 && share <= 1.0, "in rank order: {v}");
        last = share;
        assert_eq!(c["single_document"], c["documents"] == 1);
        let ids: Vec<&str> = c["passages"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        let distinct: std::collections::BTreeSet<&&str> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "passages from different documents: {c}");
        for p in c["passages"].as_array().unwrap() {
            assert!(p["url"].as_str().unwrap().starts_with("/api/documents/"), "{p}");
            assert!(!p["text"].as_str().unwrap().is_empty());
        }
    }
    // Filters apply; an empty query gets no invented answer; errors are those of search.
    let (_, f) = get(&st, "/api/brief?q=why+do+handpumps+break+down&filter=/language/fr").await;
    assert!(f["documents"].as_u64().unwrap() < v["documents"].as_u64().unwrap(), "{f}");
    let (s, e) = get(&st, "/api/brief?q=").await;
    assert_eq!(s, StatusCode::OK);
    assert!(e["causes"].as_array().unwrap().is_empty() && e["note"].as_str().is_some(), "{e}");
    let (s, e) = get(&st, "/api/brief?q=x&filter=/nope/x").await;
    assert_error(s, &e, "invalid_filter");
    // The page shows it above the results.
    let (_, html) = get_html(&st, "/?q=why+do+handpumps+break+down+in+rural+areas").await;
    assert!(html.contains("Why it failed") && html.contains("details class=\"brief wide\" open"), "{html}");
}

#[tokio::test]
async fn named_keys_have_scopes_and_a_revoked_key_stops_at_once() {
    use wash_lessons::server::keys::{Keys, Scope};
    // No token and no key: the write API is off.
    let (_dir, st) = fresh_state(Options::default());
    let (s, v) = upload(&st, Some("anything"), &[("file", Some("a.md"), b"# A\n\ntext")]).await;
    assert_error(s, &v, "write_disabled");
    // Keys made while the server runs count at once.
    let mut keys = Keys::load(&st.idx.dir).unwrap();
    let curator = keys.add("alice", &[Scope::FacetsWrite]).unwrap();
    let loader = keys.add("ingest-bot", &[Scope::DocumentsWrite]).unwrap();
    let admin = keys.add("ops", &[Scope::Admin]).unwrap();
    let note: &[u8] = b"# Kiosk note\n\nThe quokka kiosk closed when the operator was not paid.";
    let (s, v) = upload(&st, Some(&curator), &[("file", Some("k.md"), note)]).await;
    assert_error(s, &v, "forbidden");
    let (s, v) = upload(&st, Some("wl_not-a-key"), &[("file", Some("k.md"), note)]).await;
    assert_error(s, &v, "unauthorized");
    let (s, v) = upload(&st, Some(&loader), &[("file", Some("k.md"), note)]).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();

    let put = |key: &str| {
        Request::put(format!("/api/documents/{id}/facets"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::from(r#"{"add": ["/failure_cause/financial/tariff-cost-recovery"]}"#))
            .unwrap()
    };
    let (s, b, _) = call(&st, put(&loader)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "forbidden");
    let (s, b, _) = call(&st, put(&curator)).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let v: Value = serde_json::from_slice(&b).unwrap();
    let t = v["facets"]["failure_cause"].as_array().unwrap().iter().find(|t| t["source"] == "curator").cloned();
    assert_eq!(t.expect("the curator's tag")["curator"]["by"], "alice", "the audit trail names the key");
    let log = std::fs::read_to_string(st.idx.dir.join("wash-lessons.corrections.jsonl")).unwrap();
    assert!(log.contains("\"alice\""), "{log}");

    // Revoked: 401 on the next request; the admin key does everything.
    Keys::load(&st.idx.dir).unwrap().revoke("ingest-bot").unwrap();
    let del = |key: &str| {
        Request::delete(format!("/api/documents/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, b, _) = call(&st, del(&loader)).await;
    assert_error(s, &serde_json::from_slice(&b).unwrap(), "unauthorized");
    let (s, b, _) = call(&st, del(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
}

#[tokio::test]
async fn answers_are_compressed_when_asked_and_cors_is_off_unless_configured() {
    let st = read_state();
    let req = |enc: &str| {
        Request::get("/api/search?q=handpump&limit=20")
            .header(header::ACCEPT_ENCODING, enc)
            .header(header::ORIGIN, "https://elsewhere.example")
            .body(Body::empty())
            .unwrap()
    };
    let (s, plain, h) = call(&st, req("identity")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.get(header::CONTENT_ENCODING).is_none());
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "CORS is off by default");
    let (_, gz, h) = call(&st, req("gzip")).await;
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert!(gz.len() < plain.len() / 2, "{} vs {}", gz.len(), plain.len());
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap();
    let (a, b): (Value, Value) = (serde_json::from_slice(&back).unwrap(), serde_json::from_slice(&plain).unwrap());
    assert_eq!(a["total"], b["total"]);
    let (_, br, h) = call(&st, req("br")).await;
    assert_eq!(h[header::CONTENT_ENCODING], "br");
    assert!(br.len() < plain.len() / 2);

    // With an origin configured: that origin may call, others get no CORS headers.
    let (_dir, st) =
        fresh_state(Options { cors_origins: vec!["https://lessons.example.org".into()], ..Options::default() });
    let preflight = |origin: &str| {
        Request::options("/api/search?q=x")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let (_, _, h) = call(&st, preflight("https://lessons.example.org")).await;
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://lessons.example.org");
    let (_, _, h) = call(&st, preflight("https://elsewhere.example")).await;
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
