//! `wash-lessons serve`: the HTTP API and the web page. On a fresh machine it first indexes the
//! bundled corpus-sample, so that one command gives a working site.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::index::WashIndex;
use crate::ingest;
use crate::server::{serve, AppState, Options};

use super::{exit, fatal, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Index directory (created and filled with the sample corpus when missing or empty).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Bearer token of the write API (uploads, deletions); without it the write API is off.
    #[arg(long, env = "WASH_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Largest upload, in MB.
    #[arg(long, default_value_t = 100)]
    upload_limit_mb: usize,
    /// Longest a request may take, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Folder indexed when the index is missing or empty. Default: ./corpus-sample.
    #[arg(long, value_name = "DIR")]
    sample: Option<PathBuf>,
    /// The sentence-encoder model file (default: $WASH_LESSONS_MODEL, else
    /// .wash-lessons/models/use-multilingual-v3.wlm). Without it, search is by keywords only.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
}

fn sample_dir(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        [Path::new("corpus-sample").to_path_buf(), Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-sample")]
            .into_iter()
            .find(|p| p.is_dir())
    })
}

pub fn run(a: Args, config: &Config, config_dir: Option<&Path>) -> i32 {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info")),
        )
        .with_target(false)
        .init();
    let idx = match WashIndex::open_or_create(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let empty = idx.reader(false).map(|r| r.searcher().num_docs() == 0).unwrap_or(true);
    let model = super::load_model(a.model.as_deref());
    if empty {
        match sample_dir(a.sample.clone()) {
            Some(dir) => {
                tracing::info!(dir = %dir.display(), "index is empty: indexing the sample corpus first");
                let report = |e: &ingest::FileError| tracing::warn!(path = %e.path, error = %e.error, "not indexed");
                match ingest::run_isolated(&idx, config, &[dir], &report, super::isolation(config, config_dir).as_ref())
                {
                    Ok(s) => tracing::info!(indexed = s.indexed, failed = s.failed, ms = s.took_ms, "sample indexed"),
                    Err(e) => return fatal(e),
                }
            }
            None => tracing::warn!("index is empty and no corpus-sample folder was found; serving an empty index"),
        }
    }
    let options = Options {
        api_token: a.api_token.filter(|t| !t.is_empty()),
        upload_limit: a.upload_limit_mb << 20,
        request_timeout: Duration::from_secs(a.timeout_secs.max(1)),
        isolation: super::isolation(config, config_dir),
    };
    if options.api_token.is_none() {
        tracing::info!("no API token: the write API (uploads, deletions) is off");
    }
    let vectors_pending = model.is_some() && !ingest::embed::complete(&idx, Some(config.tagger_fingerprint));
    let semantic = model.map(|m| crate::search::Semantic::with_tagger(m, config));
    let state = match AppState::new(idx, config.clone(), options, semantic) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    if state.semantic.is_some() {
        // In the background: passage vectors for the documents that lack them (keyword search,
        // and meaning for the documents done, answer meanwhile; uploads wait for it), then the
        // vectors read into memory rather than on the first query.
        let st = state.clone();
        std::thread::spawn(move || {
            let sem = st.semantic.as_ref().expect("model present");
            if vectors_pending {
                let _guard = st.write_lock.blocking_lock();
                tracing::info!("computing passage vectors for semantic search");
                let tagging = sem.tagging(&st.config);
                match ingest::embed::run(
                    &st.idx,
                    Some(&sem.model),
                    tagging.as_ref(),
                    st.config.settings.index.commit_every_secs,
                    false,
                ) {
                    Ok(s) => tracing::info!(
                        documents = s.documents,
                        passages = s.embedded,
                        ms = s.took_ms,
                        "passage vectors ready"
                    ),
                    Err(e) => tracing::warn!(error = %e, "passage vectors failed; keyword search is unaffected"),
                }
                let _ = st.reader.reload();
            }
            match sem.vectors.count(&st.reader.searcher()) {
                Ok(n) => tracing::info!(passages = n, "passage vectors loaded"),
                Err(e) => tracing::warn!(error = %e, "passage vectors unreadable; keyword search is unaffected"),
            }
        });
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fatal(e),
    };
    match rt.block_on(serve(state, a.addr)) {
        Ok(()) => exit::OK,
        Err(e) => fatal(format!("cannot serve on {}: {e}", a.addr)),
    }
}
