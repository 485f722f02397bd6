//! The HTTP service (axum on tokio): a JSON API for other tools and a server-rendered web page
//! for practitioners. The only module that knows axum. Searches run in `spawn_blocking` with one
//! shared `IndexReader`; the reader follows commits, so a `wash-lessons index` run into the same
//! index shows up within a second or so.

mod api;
mod error;
pub mod keys;
mod metrics;
pub mod openapi;
mod params;
mod ui;

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tantivy::IndexReader;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, CODES};

use crate::config::Config;
use crate::enrich::Enricher;
use crate::error::Result;
use crate::index::WashIndex;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bearer token of the write API, an admin key named "api-token" (named keys from
    /// `wash-lessons keys` work beside it; with neither, the write API is off).
    pub api_token: Option<String>,
    /// Origins allowed to call the API from a browser (CORS); empty: none (the default), "*": any.
    pub cors_origins: Vec<String>,
    /// Largest upload, in bytes.
    pub upload_limit: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Extract uploads in a worker process (as bulk indexing does); `None`: in this process.
    pub isolation: Option<crate::ingest::Isolation>,
    /// A read replica: searches the index another process writes, following its commits; the
    /// write API answers `read_only`.
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            api_token: None,
            cors_origins: Vec::new(),
            upload_limit: 100 << 20,
            request_timeout: Duration::from_secs(30),
            isolation: None,
            read_only: false,
        }
    }
}

/// What every handler shares.
pub struct Inner {
    /// The index.
    pub idx: WashIndex,
    /// One reader for all requests.
    pub reader: IndexReader,
    /// The configuration.
    pub config: Config,
    /// The enricher, for uploads.
    pub enricher: Enricher,
    /// The query expander (glossary, taxonomy triggers).
    pub expander: crate::search::Expander,
    /// Options.
    pub options: Options,
    /// Where uploaded files are kept (beside the index).
    pub uploads: PathBuf,
    /// Request metrics.
    pub metrics: metrics::Metrics,
    /// Uploads and deletions of this server, one at a time.
    pub write_lock: tokio::sync::Mutex<()>,
    /// The extraction worker of uploads, kept from one to the next (with `options.isolation`).
    pub upload_worker: crate::ingest::KeptWorker,
    /// Page templates.
    pub templates: minijinja::Environment<'static>,
    /// The sentence encoder and passage vectors, once the model is installed (set once: at the
    /// start, or when the first run has installed it).
    semantic: std::sync::OnceLock<crate::search::Semantic>,
}

impl Inner {
    /// The sentence encoder and passage vectors, when the model is installed.
    pub fn semantic(&self) -> Option<&crate::search::Semantic> {
        self.semantic.get()
    }

    /// Puts the encoder in use (once the first run has installed it); false if one already was.
    pub fn set_semantic(&self, semantic: crate::search::Semantic) -> bool {
        self.semantic.set(semantic).is_ok()
    }
}

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens the state over an index.
    /// `semantic`: the sentence encoder, when installed (without it, search is by keywords).
    pub fn new(
        idx: WashIndex,
        config: Config,
        options: Options,
        semantic: Option<crate::search::Semantic>,
    ) -> Result<AppState> {
        let reader = idx.reader(true)?;
        let uploads = idx.dir.join("uploads");
        Ok(AppState(Arc::new(Inner {
            enricher: Enricher::new(&config),
            expander: crate::search::Expander::new(&config),
            reader,
            config,
            options,
            uploads,
            metrics: metrics::Metrics::default(),
            write_lock: tokio::sync::Mutex::new(()),
            upload_worker: crate::ingest::KeptWorker::default(),
            templates: ui::templates(),
            semantic: semantic.map(std::sync::OnceLock::from).unwrap_or_default(),
            idx,
        })))
    }
}

/// The application: every route, with limits, timeouts, tracing and metrics.
pub fn app(state: AppState) -> Router {
    let limit = state.options.upload_limit;
    let timeout = state.options.request_timeout;
    let cors = cors(&state.options.cors_origins);
    Router::new()
        .route("/", get(ui::search_page))
        .route("/documents/{id}", get(ui::document_page))
        .route("/api/search", get(api::search))
        .route("/api/brief", get(api::brief))
        .route("/api/documents", axum::routing::post(api::upload))
        .route("/api/documents/{id}", get(api::document).delete(api::delete))
        .route("/api/documents/{id}/file", get(api::file))
        .route("/api/documents/{id}/facets", axum::routing::put(api::correct_facets))
        .route("/api/documents/{id}/similar", get(api::similar))
        .route("/api/facets", get(api::facets))
        .route("/api/health", get(api::health))
        .route("/api/openapi.json", get(api::openapi))
        .route("/metrics", get(api::metrics))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(timeout, time_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(limit))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// CORS: off unless origins are given; "*" allows any origin (reads and writes alike, the
/// write API still needing its key).
fn cors(origins: &[String]) -> CorsLayer {
    use axum::http::{header, HeaderValue, Method};
    if origins.is_empty() {
        return CorsLayer::new();
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    if origins.iter().any(|o| o == "*") {
        return base.allow_origin(AllowOrigin::any());
    }
    base.allow_origin(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect::<Vec<_>>())
}

/// Answers `timeout` (JSON, 503) when a request takes longer than the limit.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            ApiError::new("timeout", format!("the request took longer than {} s", limit.as_secs())).into_response()
        }
    }
}

/// Serves `state` on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
