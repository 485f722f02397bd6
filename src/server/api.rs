//! The JSON API: search, documents (read, original file, upload, delete), facets, health,
//! metrics and the OpenAPI document. Engine calls run in `spawn_blocking`.

use std::path::{Path, PathBuf};

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use tantivy::schema::Value as _;
use tantivy::TantivyDocument;

use super::error::ApiError;
use super::keys::{Keys, Refusal, Scope};
use super::params::search_request;
use super::AppState;
use crate::config::check_path_syntax;
use crate::document::Record;
use crate::search::{facet_trees, search as run_search, SearchResponse};

/// Runs blocking engine work off the async threads, at most two tasks per core at a time: with
/// unbounded concurrency every request shares the cores and all of them finish late; bounded,
/// requests queue and finish in order, which keeps the tail latency close to the median
/// (measured with benches/http_load.sh: p99 117 ms unbounded, 55 ms at one per core with lower
/// throughput, 46 ms at two per core).
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let sem = PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(2 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
    });
    let _permit = sem.acquire().await.map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?
}

/// Runs a write (upload, correction, deletion) off the async threads without a search slot: the
/// write lock already lets one through at a time, and a write spends much of its time waiting
/// on the disk (two commits, each synced). Holding one of the searches' slots for that time,
/// uploads during `benches/http_load.sh` left a quarter of the searches' slots idle for 60% of
/// the run.
pub(super) async fn blocking_write<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?
}

/// `GET /api/search`.
pub async fn search(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<SearchResponse>, ApiError> {
    let req = search_request(q.as_deref())?;
    let resp =
        blocking(move || run_search(&st.idx, &st.reader, &req, &st.expander, st.semantic()).map_err(ApiError::from))
            .await?;
    Ok(Json(resp))
}

/// `GET /api/brief`: why it failed, as the best-matching documents of the search say together.
pub async fn brief(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<crate::search::Brief>, ApiError> {
    let req = search_request(q.as_deref())?;
    let resp = blocking(move || {
        let labels = |p: &str| st.config.taxonomy.get(p).map(|d| d.label.clone()).unwrap_or_else(|| p.to_string());
        crate::search::brief(&st.idx, &st.reader, &req, &st.expander, st.semantic(), &labels).map_err(ApiError::from)
    })
    .await?;
    Ok(Json(resp))
}

/// `GET /api/documents/{id}/similar`: lessons like this one.
pub async fn similar(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<SearchResponse>, ApiError> {
    let req = search_request(q.as_deref())?;
    let resp = blocking(move || {
        let found = if valid_id(&id) {
            crate::search::similar(&st.idx, &st.reader, &id, &req, st.semantic()).map_err(ApiError::from)?
        } else {
            None
        };
        found.ok_or_else(|| ApiError::new("not_found", format!("no document with id {id:?}")))
    })
    .await?;
    Ok(Json(resp))
}

/// A document as the API shows it: the record, its pages, and where to get the original.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DocumentView {
    /// Everything the indexer stored.
    #[serde(flatten)]
    pub record: Record,
    /// URL of the original file.
    pub file_url: String,
}

fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// The stored document with this id.
pub(super) fn find(st: &AppState, id: &str) -> Result<Option<TantivyDocument>, ApiError> {
    if !valid_id(id) {
        return Ok(None);
    }
    st.idx.find_document(&st.reader.searcher(), id).map_err(ApiError::internal)
}

/// The record of a stored document, pages included.
pub(super) fn load_view(st: &AppState, id: &str) -> Result<DocumentView, ApiError> {
    let doc = find(st, id)?.ok_or_else(|| ApiError::new("not_found", format!("no document with id {id:?}")))?;
    let record = st.idx.full_record(&doc).map_err(ApiError::internal)?;
    Ok(DocumentView { file_url: format!("/api/documents/{}/file", record.id), record })
}

/// `GET /api/documents/{id}`.
pub async fn document(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<DocumentView>, ApiError> {
    Ok(Json(blocking(move || load_view(&st, &id)).await?))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("pdf") => "application/pdf",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("odt") => "application/vnd.oasis.opendocument.text",
        Some("html") | Some("htm") | Some("xhtml") => "text/html; charset=utf-8",
        Some("md") | Some("markdown") => "text/markdown; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

/// The original file of a document, if it still lies inside an indexed root or the uploads.
fn original(st: &AppState, id: &str) -> Result<PathBuf, ApiError> {
    let doc = find(st, id)?.ok_or_else(|| ApiError::new("not_found", format!("no document with id {id:?}")))?;
    let gone = || ApiError::new("file_unavailable", "the original file is no longer available");
    let source = doc.get_first(st.idx.fields.source).and_then(|v| v.as_str()).ok_or_else(gone)?;
    let canon = std::fs::canonicalize(source).map_err(|_| gone())?;
    let mut allowed: Vec<PathBuf> = st.idx.roots();
    if let Ok(u) = std::fs::canonicalize(&st.uploads) {
        allowed.push(u);
    }
    if !canon.is_file() || !allowed.iter().any(|root| canon.starts_with(root)) {
        return Err(gone());
    }
    Ok(canon)
}

/// `GET /api/documents/{id}/file`: the original, inline, with its content type. HTML is sandboxed
/// so that a page from the archive cannot run scripts on this origin.
pub async fn file(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Result<Response, ApiError> {
    let path = blocking(move || original(&st, &id)).await?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::new("file_unavailable", "the original file cannot be read"))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("document").replace(['"', '\\', '\r', '\n'], "_");
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, bytes).into_response())
}

/// `GET /api/facets`: the whole facet tree with counts.
pub async fn facets(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let searcher = st.reader.searcher();
        let trees = facet_trees(&searcher).map_err(ApiError::from)?;
        let documents = st.idx.document_count(&searcher).map_err(ApiError::from)?;
        let waiting = st.idx.waiting_for_meaning(&searcher).map_err(ApiError::from)?;
        Ok(Json(json!({"documents": documents, "waiting_for_meaning": waiting, "facets": trees})))
    })
    .await
}

/// `GET /api/health`.
pub async fn health(State(st): State<AppState>) -> Json<Value> {
    let documents = st.idx.document_count(&st.reader.searcher()).unwrap_or(0);
    Json(json!({
        "status": "ok",
        "documents": documents,
        "semantic": st.semantic().is_some(),
        "read_only": st.options.read_only,
    }))
}

/// `GET /metrics` (Prometheus text).
pub async fn metrics(State(st): State<AppState>) -> Response {
    let docs = st.idx.document_count(&st.reader.searcher()).unwrap_or(0);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render(docs)).into_response()
}

/// `GET /api/openapi.json`.
pub async fn openapi(State(st): State<AppState>) -> Json<Value> {
    Json(super::openapi::document_for(&st.config, st.semantic().is_some()))
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::new("not_found", "no such route; see /api/openapi.json")
}

/// Known routes, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new("method_not_allowed", "this route does not take this method; see /api/openapi.json")
}

/// The name of the key that may do what needs `scope`: the `--api-token` (an admin key named
/// "api-token") or a named key from `wash-lessons keys add`, read afresh so that keys added or
/// revoked while serving count at once.
fn authorize(st: &AppState, headers: &HeaderMap, scope: Scope) -> Result<String, ApiError> {
    if st.options.read_only {
        return Err(ApiError::new(
            "read_only",
            "this server is a read replica (serve --read-only): send writes to the server or the `index` run that writes the index",
        ));
    }
    let keys = Keys::load(&st.idx.dir).map_err(ApiError::internal)?;
    if st.options.api_token.is_none() && !keys.any_active() {
        return Err(ApiError::new(
            "write_disabled",
            "the write API is off: make a key with `wash-lessons keys add`, or start the server with --api-token",
        ));
    }
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return Err(ApiError::new("unauthorized", "this route needs `Authorization: Bearer KEY`"));
    };
    let token_matches =
        st.options.api_token.as_deref().is_some_and(|t| bool::from(given.as_bytes().ct_eq(t.as_bytes())));
    if token_matches {
        return Ok("api-token".into());
    }
    match keys.check(given, scope) {
        Ok(name) => Ok(name),
        Err(Refusal::Unauthorized) => Err(ApiError::new("unauthorized", "wrong or revoked key")),
        Err(Refusal::Forbidden) => Err(ApiError::new(
            "forbidden",
            format!("this key lacks the scope {:?} (or admin) that this route needs", scope.name()),
        )),
    }
}

/// A file name safe to keep on disk.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect::<String>()
        .trim_start_matches('.')
        .chars()
        .take(120)
        .collect();
    if s.is_empty() {
        "upload".to_string()
    } else {
        s
    }
}

/// Metadata sent with an upload; written as the file's sidecar.
#[derive(Debug, Default, Serialize)]
struct UploadMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    countries: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    doctype: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    keywords: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    facets: Vec<String>,
}

fn list(v: &str) -> Vec<String> {
    v.split([',', '\n']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// `POST /api/documents`: multipart with one `file` and optional `title`, `year`, `language`,
/// `countries`, `doctype`, `keywords`, `facets`. Extracted, tagged and indexed before it returns.
pub async fn upload(
    State(st): State<AppState>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let by = authorize(&st, &headers, Scope::DocumentsWrite)?;
    let mut mp = mp.map_err(|e| ApiError::new("invalid_upload", format!("expected a multipart form: {e}")))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut meta = UploadMeta::default();
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                "payload_too_large",
                format!("the upload is larger than {} MB", st.options.upload_limit >> 20),
            )
        } else {
            ApiError::new("invalid_upload", format!("unreadable multipart form: {e}"))
        }
    };
    while let Some(field) = mp.next_field().await.map_err(too_large)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let fname = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(too_large)?;
            file = Some((fname, bytes.to_vec()));
            continue;
        }
        let text = field.text().await.map_err(too_large)?;
        let bad = |m: String| ApiError::new("invalid_upload", m);
        match name.as_str() {
            "title" => meta.title = Some(text),
            "year" => {
                let year = super::params::year(&text);
                meta.year =
                    Some(year.ok_or_else(|| bad(format!("year must be a whole number up to 9999, not {text:?}")))?)
            }
            "language" => {
                let l = crate::text::trim_blanks(&text);
                if !crate::language::is_code(l) {
                    return Err(bad(format!("language must be an ISO 639-1 code like \"fr\", not {text:?}")));
                }
                meta.language = Some(l.to_string())
            }
            "countries" => meta.countries.extend(list(&text)),
            "doctype" => {
                let d = text.trim();
                if st.config.taxonomy.doctype_path(d).is_none() {
                    return Err(bad(format!("doctype {d:?} is not one of the taxonomy's document types")));
                }
                meta.doctype = Some(d.to_string())
            }
            "keywords" => meta.keywords.extend(list(&text)),
            "facets" => {
                for f in list(&text) {
                    check_path_syntax(&f).map_err(|e| bad(format!("facet {f:?}: {e}")))?;
                    if st.config.taxonomy.get(&f).is_none() {
                        return Err(bad(format!("facet {f:?} is not in the taxonomy")));
                    }
                    meta.facets.push(f);
                }
            }
            other => return Err(bad(format!("unknown form field {other:?}"))),
        }
    }
    let (fname, bytes) = file.ok_or_else(|| ApiError::new("invalid_upload", "the form has no `file` field"))?;
    if bytes.is_empty() {
        return Err(ApiError::new("invalid_upload", "the file is empty"));
    }
    let _guard = st.write_lock.lock().await;
    let st2 = st.clone();
    let record = blocking_write(move || store_and_index(&st2, &fname, &bytes, &meta)).await?;
    tracing::info!(id = %record.id, path = %record.path, key = %by, "document uploaded");
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": record.id, "title": record.title, "path": record.path, "language": record.language,
                    "facets": record.facets.iter().map(|(k, v)| (k.clone(), v.iter().map(|t| t.path.clone()).collect::<Vec<_>>())).collect::<std::collections::BTreeMap<_, _>>()})),
    ))
}

fn store_and_index(st: &AppState, fname: &str, bytes: &[u8], meta: &UploadMeta) -> Result<Record, ApiError> {
    let name = safe_name(fname);
    let hash = blake3::hash(bytes).to_hex()[..12].to_string();
    let dir = st.uploads.join(&hash);
    std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
    let path = dir.join(&name);
    std::fs::write(&path, bytes).map_err(ApiError::internal)?;
    let sidecar = dir.join(format!("{name}.meta.toml"));
    let _ = std::fs::remove_file(&sidecar);
    let has_meta = meta.title.is_some()
        || meta.year.is_some()
        || meta.language.is_some()
        || meta.doctype.is_some()
        || !meta.countries.is_empty()
        || !meta.keywords.is_empty()
        || !meta.facets.is_empty();
    if has_meta {
        std::fs::write(&sidecar, toml::to_string(meta).map_err(ApiError::internal)?).map_err(ApiError::internal)?;
    }
    let display = format!("uploads/{hash}/{name}");
    let limits = crate::extract::Limits::from(&st.config.settings.extract);
    let job = crate::ingest::Job::file(&path, &display);
    let extracted = match &st.options.isolation {
        Some(iso) => st.upload_worker.process(iso, &job),
        None => crate::ingest::process(&job, &st.enricher, &limits, &|| {}),
    };
    let record = match extracted {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(ApiError::new("unprocessable_document", e.to_string()));
        }
    };
    let mut state = crate::ingest::file_state(&path).map_err(ApiError::internal)?;
    state.hash = crate::ingest::content_hash(&path).unwrap_or(0);
    // The document and its passages in one writer and one commit.
    let mut writer = st.idx.single_writer().map_err(ApiError::from)?;
    let source = std::fs::canonicalize(&path).unwrap_or(path);
    let source = source.to_string_lossy();
    let served = &st.config.settings.languages.served;
    let mut written = None;
    if let Some(sem) = st.semantic() {
        let tagger = sem.tagger();
        let tagging = tagger.as_deref().map(|t| crate::ingest::embed::Tagging {
            tagger: t,
            fingerprint: t.fingerprint,
            config: &st.config,
        });
        let searcher = st.reader.searcher();
        match crate::ingest::embed::write_with_passages(
            &st.idx,
            &mut writer,
            &searcher,
            &sem.model,
            tagging.as_ref(),
            &record,
            state,
            served,
            &source,
        ) {
            Ok((r, _)) => written = Some(r),
            Err(e) => tracing::warn!(error = %e, "passage vectors of the upload failed; keyword search is unaffected"),
        }
    }
    let record = match written {
        Some(r) => r,
        None => {
            writer.delete_term(st.idx.id_term(&record.id));
            writer.delete_term(st.idx.passage_term(&record.id));
            writer.add_document(st.idx.to_document(&record, state, served, &source)).map_err(ApiError::internal)?;
            record
        }
    };
    writer.commit().map_err(ApiError::internal)?;
    merge_small_segments(&st.idx, Some(writer));
    st.reader.reload().map_err(ApiError::internal)?;
    Ok(record)
}

/// After a write through the API: its small segments merged (see
/// `WashIndex::merge_small_segments`). The write has landed either way; a failed merge is only
/// logged, and the next write tries again.
/// `writer`: the one that has just committed the write, if any.
fn merge_small_segments(idx: &crate::index::WashIndex, writer: Option<tantivy::IndexWriter>) {
    let merged = match writer {
        Some(w) => idx.merge_small_segments_in(w),
        None => idx.merge_small_segments(),
    };
    if let Err(e) = merged {
        tracing::warn!(error = %e, "merging small segments failed; searches are unaffected");
    }
}

/// The body of `PUT /api/documents/{id}/facets`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacetCorrection {
    /// Paths to set on the document.
    #[serde(default)]
    pub add: Vec<String>,
    /// Paths to take off (with everything below them).
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `PUT /api/documents/{id}/facets`: a curator's correction of the document's tags. Durable
/// (kept in the audit log beside the index and applied whenever the document is written again),
/// it wins over automatic evidence.
pub async fn correct_facets(
    State(st): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<FacetCorrection>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<DocumentView>, ApiError> {
    let by = authorize(&st, &headers, Scope::FacetsWrite)?;
    let Json(body) = body.map_err(|e| {
        ApiError::new(
            "invalid_parameter",
            format!("the body must be {{\"add\": [paths], \"remove\": [paths]}}: {}", e.body_text()),
        )
    })?;
    let _guard = st.write_lock.lock().await;
    let st2 = st.clone();
    blocking_write(move || {
        if !valid_id(&id) {
            return Err(ApiError::new("not_found", format!("no document with id {id:?}")));
        }
        let record = crate::ingest::curate::correct(&st2.idx, &st2.config, &id, &body.add, &body.remove, &by)
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::new("not_found", format!("no document with id {id:?}")))?;
        tracing::info!(id = %id, key = %by, add = ?body.add, remove = ?body.remove, "facets corrected");
        merge_small_segments(&st2.idx, None);
        st2.reader.reload().map_err(ApiError::internal)?;
        let view = load_view(&st2, &record.id)?;
        Ok(Json(view))
    })
    .await
}

/// `DELETE /api/documents/{id}`: removes the document (and the file, if it was uploaded).
pub async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let by = authorize(&st, &headers, Scope::DocumentsWrite)?;
    let _guard = st.write_lock.lock().await;
    let st2 = st.clone();
    blocking_write(move || {
        let doc = find(&st2, &id)?.ok_or_else(|| ApiError::new("not_found", format!("no document with id {id:?}")))?;
        let source = doc.get_first(st2.idx.fields.source).and_then(|v| v.as_str()).map(PathBuf::from);
        let mut writer = st2.idx.single_writer().map_err(ApiError::from)?;
        writer.delete_term(st2.idx.id_term(&id));
        writer.delete_term(st2.idx.passage_term(&id));
        writer.commit().map_err(ApiError::internal)?;
        merge_small_segments(&st2.idx, Some(writer));
        st2.reader.reload().map_err(ApiError::internal)?;
        if let (Some(src), Ok(up)) = (source, std::fs::canonicalize(&st2.uploads)) {
            if src.starts_with(&up) {
                if let Some(dir) = src.parent().filter(|d| *d != up) {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
        tracing::info!(id = %id, key = %by, "document deleted");
        Ok(Json(json!({"deleted": id})))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every search slot can be busy while a write runs: the searches below each wait until
    /// all of them run at once, which they cannot if the write holds one of their slots.
    #[test]
    fn a_write_takes_no_search_slot() {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let slots = 2 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
            let (release, held) = std::sync::mpsc::channel::<()>();
            let write = tokio::spawn(blocking_write(move || {
                held.recv().ok();
                Ok(())
            }));
            let all = std::sync::Arc::new(std::sync::Barrier::new(slots));
            let searches: Vec<_> = (0..slots)
                .map(|_| {
                    let all = all.clone();
                    tokio::spawn(blocking(move || {
                        all.wait();
                        Ok(())
                    }))
                })
                .collect();
            let done = tokio::time::timeout(std::time::Duration::from_secs(20), async {
                for s in searches {
                    s.await.unwrap().unwrap();
                }
            })
            .await;
            release.send(()).unwrap();
            write.await.unwrap().unwrap();
            assert!(done.is_ok(), "the searches waited for the write's slot");
        });
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\Rapport final (v2).pdf"), "Rapport_final__v2_.pdf");
        assert_eq!(safe_name("..."), "upload");
        assert_eq!(safe_name(".hidden.md"), "hidden.md");
    }
}
