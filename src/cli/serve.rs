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
    /// Bearer token of the write API, one admin key (named keys: `wash-lessons keys add`);
    /// with neither, the write API is off.
    #[arg(long, env = "WASH_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// An origin allowed to call the API from a browser (CORS), e.g. https://lessons.example.org;
    /// repeat for more, "*" for any. Default: none.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Log lines as text (colours only on a terminal) or as JSON, one object a line, on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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
    /// Neither load nor install the sentence encoder: search by keywords (also
    /// WASH_LESSONS_NO_MODEL=1). Without this, the first start installs it in the background.
    #[arg(long, env = "WASH_LESSONS_NO_MODEL", value_parser = clap::builder::FalseyValueParser::new())]
    no_model: bool,
    /// How often to look for new curators' corrections and, when there are, learn from them and
    /// re-tag (seconds; 0: never; `tagger learn` does it by hand).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    learn_every_secs: u64,
    /// A read replica: search an index that another process writes (`wash-lessons index`, or one
    /// `serve` taking uploads), following its commits within a second or two. The index must
    /// exist; nothing is written to it (no sample corpus, no vectors, no learning) and the write
    /// API answers `read_only`. Run several over one directory to spread the queries.
    #[arg(long)]
    read_only: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Log lines on stderr: colours only when stderr is a terminal; JSON when asked.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

fn sample_dir(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        [Path::new("corpus-sample").to_path_buf(), Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-sample")]
            .into_iter()
            .find(|p| p.is_dir())
    })
}

pub fn run(a: Args, config: &Config, config_dir: Option<&Path>) -> i32 {
    init_logging(a.log_format);
    let opened = if a.read_only { WashIndex::open(&a.index) } else { WashIndex::open_or_create(&a.index) };
    let idx = match opened {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    // A tagger learnt from this index's curators replaces the configured one.
    let mut config = config.clone();
    if let Err(e) = config.use_index_tagger(&a.index) {
        return fatal(e);
    }
    let config = &config;
    let empty = idx.reader(false).map(|r| r.searcher().num_docs() == 0).unwrap_or(true);
    let (model, install_at) = match super::model_plan(a.model.as_deref(), a.no_model, config) {
        super::ModelPlan::Ready(m) => (m.map(|m| *m), None),
        // A replica writes nothing, not even the model beside the index: it searches by keywords.
        super::ModelPlan::Install(_) if a.read_only => (None, None),
        super::ModelPlan::Install(p) => (None, Some(p)),
    };
    if empty && !a.read_only {
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
        cors_origins: a.cors_origins,
        upload_limit: a.upload_limit_mb << 20,
        request_timeout: Duration::from_secs(a.timeout_secs.max(1)),
        isolation: super::isolation(config, config_dir),
        read_only: a.read_only,
    };
    let keys = crate::server::keys::Keys::load(&a.index).map(|k| k.any_active()).unwrap_or(false);
    if a.read_only {
        tracing::info!(index = %a.index.display(), "read replica: following the index's commits; the write API is off");
    } else if options.api_token.is_none() && !keys {
        tracing::info!(
            "no API key: the write API (uploads, deletions, corrections) is off until `wash-lessons keys add`"
        );
    }
    let graphs = super::graphs(&a.index, !a.read_only);
    let semantic = model.map(|m| crate::search::Semantic::with_tagger(m, config));
    if let Some(s) = &semantic {
        s.vectors.use_graphs(graphs.clone());
    }
    let state = match AppState::new(idx, config.clone(), options, semantic) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    if a.read_only {
        // The writer computes the vectors; a replica only reads them into memory.
        let st = state.clone();
        std::thread::spawn(move || {
            let Some(sem) = st.semantic() else { return };
            match sem.vectors.count(&st.reader.searcher()) {
                Ok(n) => tracing::info!(passages = n, "passage vectors loaded"),
                Err(e) => tracing::warn!(error = %e, "passage vectors unreadable; keyword search is unaffected"),
            }
        });
    } else if state.semantic().is_some() || install_at.is_some() {
        // In the background: the encoder installed when this is the first start, then passage
        // vectors for the documents that lack them (keyword search, and meaning for the
        // documents done, answer meanwhile; uploads wait for it), then the vectors read into
        // memory rather than on the first query.
        let st = state.clone();
        let learn_every = a.learn_every_secs;
        std::thread::spawn(move || {
            if let Some(path) = install_at {
                match super::install_model(&path) {
                    Some(m) => {
                        let sem = crate::search::Semantic::with_tagger(m, &st.config);
                        sem.vectors.use_graphs(graphs);
                        st.set_semantic(sem);
                        tracing::info!("sentence encoder installed: search is hybrid from now on");
                    }
                    None => return,
                }
            }
            compute_vectors(&st);
            if learn_every > 0 {
                learn_loop(st, Duration::from_secs(learn_every));
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

/// Passage vectors for the documents that lack them (writes wait for the write lock), then the
/// vectors read into memory.
fn compute_vectors(st: &AppState) {
    let Some(sem) = st.semantic() else { return };
    if !ingest::embed::complete(&st.idx, Some(st.config.tagger_fingerprint)) {
        let _guard = st.write_lock.blocking_lock();
        tracing::info!("computing passage vectors for semantic search");
        let tagger = sem.tagger();
        let tagging = tagger.as_deref().map(|t| ingest::embed::Tagging {
            tagger: t,
            fingerprint: t.fingerprint,
            config: &st.config,
        });
        match ingest::embed::run(
            &st.idx,
            Some(&sem.model),
            tagging.as_ref(),
            st.config.settings.index.commit_every_secs,
            false,
        ) {
            Ok(s) => {
                tracing::info!(documents = s.documents, passages = s.embedded, ms = s.took_ms, "passage vectors ready")
            }
            Err(e) => tracing::warn!(error = %e, "passage vectors failed; keyword search is unaffected"),
        }
        let _ = st.reader.reload();
    }
    match sem.vectors.count(&st.reader.searcher()) {
        Ok(n) => tracing::info!(passages = n, "passage vectors loaded"),
        Err(e) => tracing::warn!(error = %e, "passage vectors unreadable; keyword search is unaffected"),
    }
}

/// The log of corrections already learnt from, beside the index.
const LEARNT_STATE: &str = "wash-lessons.learnt.json";

/// Every `every`: when curators' corrections came in since the last time, learn from them (as
/// `tagger learn` does), put the new tagger in use and re-tag the documents with it, in the
/// background (searches go on; writes wait for the write lock).
fn learn_loop(st: AppState, every: Duration) {
    let sem = st.semantic().expect("model present");
    let learnt = |idx: &WashIndex| -> usize {
        std::fs::read(idx.dir.join(LEARNT_STATE))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["entries"].as_u64())
            .unwrap_or(0) as usize
    };
    loop {
        std::thread::sleep(every);
        let entries = st.idx.corrections.entries();
        if entries == 0 || entries == learnt(&st.idx) {
            continue;
        }
        let _guard = st.write_lock.blocking_lock();
        // Learn from the configured weights, not from the last learnt ones: the corrections are
        // all in the log, so each time starts from the same place.
        let base = match &st.config.source {
            Some(d) => crate::config::Config::load_dir(d),
            None => crate::config::Config::builtin(),
        };
        let base = match base {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the configuration");
                continue;
            }
        };
        match ingest::curate::learn(&st.idx, &base, &sem.model) {
            Ok(Some(l)) => {
                tracing::info!(
                    documents = l.documents,
                    corrections = l.corrections,
                    "learnt from the curators' corrections"
                );
                let mut now = base.clone();
                if let Err(e) = now.use_index_tagger(&st.idx.dir) {
                    tracing::warn!(error = %e, "cannot read the learnt tagger");
                    continue;
                }
                sem.set_tagger(crate::enrich::combine::MeaningTagger::new(&sem.model, &now));
                let tagger = sem.tagger().expect("just set");
                let tagging = ingest::embed::Tagging { tagger: &tagger, fingerprint: tagger.fingerprint, config: &now };
                match ingest::embed::run(
                    &st.idx,
                    Some(&sem.model),
                    Some(&tagging),
                    now.settings.index.commit_every_secs,
                    false,
                ) {
                    Ok(s) => tracing::info!(
                        retagged = s.retagged + s.documents,
                        "documents re-tagged with the learnt tagger"
                    ),
                    Err(e) => tracing::warn!(error = %e, "re-tagging failed; the next run tries again"),
                }
                let _ = st.reader.reload();
                let _ =
                    std::fs::write(st.idx.dir.join(LEARNT_STATE), serde_json::json!({"entries": entries}).to_string());
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "learning from the corrections failed"),
        }
    }
}
