//! `wash-lessons index`: index files and folders.

use std::path::PathBuf;

use crate::config::Config;
use crate::index::WashIndex;
use crate::ingest;

use super::{exit, fatal, print_json, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Index directory (created when missing).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Index only files matching this glob (relative path; repeatable; adds to [walk] include).
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files and folders matching this glob (repeatable; adds to [walk] exclude).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Index hidden files and folders too.
    #[arg(long)]
    hidden: bool,
    /// Try again the files that failed before, even if they have not changed.
    #[arg(long)]
    retry_failed: bool,
    /// Write one JSON line per failed file to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Stay running and index additions, changes, renames and deletions as they happen.
    #[arg(long)]
    watch: bool,
    /// With --watch: the quiet time that ends a burst of changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    debounce_ms: u64,
    /// Skip the second phase (passage vectors for semantic search); keyword search is unaffected.
    #[arg(long)]
    no_vectors: bool,
    /// The sentence-encoder model file (default: $WASH_LESSONS_MODEL, else
    /// .wash-lessons/models/use-multilingual-v3.wlm; see `wash-lessons model install`).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Neither load nor install the sentence encoder: tags by terms and words, vectors left for
    /// a later run (also WASH_LESSONS_NO_MODEL=1).
    #[arg(long, env = "WASH_LESSONS_NO_MODEL", value_parser = clap::builder::FalseyValueParser::new())]
    no_model: bool,
    /// Files and folders to index.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(a: Args, config: &Config, config_dir: Option<&std::path::Path>) -> i32 {
    let idx = match WashIndex::open_or_create(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    // A tagger learnt from this index's curators replaces the configured one.
    let mut config = config.clone();
    if let Err(e) = config.use_index_tagger(&a.index) {
        return fatal(e);
    }
    let config = &config;
    let json = a.json;
    let on_error = move |e: &ingest::FileError| {
        if !json {
            eprintln!("{}: {}", e.path, e.error);
        }
    };
    let opts = ingest::RunOptions {
        include: a.include.clone(),
        exclude: a.exclude.clone(),
        hidden: a.hidden,
        retry_failed: a.retry_failed,
        progress: !json,
        report: a.report.clone(),
        isolation: super::isolation(config, config_dir),
    };
    let model_path = a.model.clone();
    let mut model: Option<Option<crate::model::Model>> = None;
    // The second phase, when the first changed something or left vectors to do.
    let mut vectors = |summary: &ingest::Summary| -> Option<ingest::embed::EmbedSummary> {
        let changed = summary.indexed + summary.moved + summary.removed > 0;
        if a.no_vectors || (!changed && ingest::embed::complete(&idx, Some(config.tagger_fingerprint))) {
            return None;
        }
        let m = model.get_or_insert_with(|| super::model_for_run(model_path.as_deref(), a.no_model, config));
        if m.is_none() && !changed {
            return None;
        }
        // Tagging by meaning needs the whole configuration (descriptions and weights).
        let full = match config.complete() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return None;
            }
        };
        let tagger = m
            .as_ref()
            .filter(|_| !full.tagger.is_empty())
            .map(|m| crate::enrich::combine::MeaningTagger::new(m, &full));
        let tagging = tagger.as_ref().map(|t| ingest::embed::Tagging {
            tagger: t,
            fingerprint: full.tagger_fingerprint,
            config: &full,
        });
        match ingest::embed::run(&idx, m.as_ref(), tagging.as_ref(), config.settings.index.commit_every_secs, !json) {
            Ok(mut s) => {
                // Graphs for the large segments the phase left, so that searches need not scan
                // them; a failure only means they are scanned exactly.
                let graphs = idx.reader(false).map_err(|e| e.to_string()).and_then(|r| {
                    crate::index::graph::sync(&idx.dir, &r.searcher(), crate::index::graph::min_passages())
                        .map_err(|e| e.to_string())
                });
                match graphs {
                    Ok(g) => {
                        s.graphs_built = g.built;
                        s.took_ms += g.took_ms;
                    }
                    Err(e) => eprintln!("warning: {e}; semantic search scans those passages exactly"),
                }
                Some(s)
            }
            Err(e) => {
                eprintln!("error: passage vectors: {e} (keyword search is unaffected; the next run tries again)");
                None
            }
        }
    };
    let show = |summary: &ingest::Summary, vectors: Option<ingest::embed::EmbedSummary>| {
        if json {
            print_json(&serde_json::json!({
                "indexed": summary.indexed,
                "unchanged": summary.unchanged,
                "moved": summary.moved,
                "removed": summary.removed,
                "failed": summary.failed,
                "failed_before": summary.failed_before,
                "errors": summary.errors,
                "took_ms": summary.took_ms,
                "vectors": vectors,
            }));
        } else {
            let mut line = format!("{} indexed, {} unchanged", summary.indexed, summary.unchanged);
            if summary.moved > 0 {
                line += &format!(", {} moved", summary.moved);
            }
            if summary.removed > 0 {
                line += &format!(", {} removed", summary.removed);
            }
            line += &format!(", {} failed", summary.failed);
            if summary.failed_before > 0 {
                line += &format!(" (and {} that failed before, unchanged: --retry-failed)", summary.failed_before);
            }
            println!("{line} in {:.1} s (index: {})", summary.took_ms as f64 / 1000.0, a.index.display());
            if let Some(v) = vectors.filter(|v| v.documents + v.removed + v.pending > 0) {
                let mut line =
                    format!("vectors: {} documents, {} passages embedded, {} kept", v.documents, v.embedded, v.reused);
                if v.removed > 0 {
                    line += &format!(", {} documents' passages removed", v.removed);
                }
                if v.pending > 0 {
                    line += &format!(", {} documents waiting for a model", v.pending);
                }
                if v.graphs_built > 0 {
                    line += &format!(", {} nearest-neighbour graphs built", v.graphs_built);
                }
                println!("{line} in {:.1} s", v.took_ms as f64 / 1000.0);
            }
        }
    };
    if a.watch {
        let debounce = std::time::Duration::from_millis(a.debounce_ms.max(50));
        let mut after = |s: &ingest::Summary| {
            let v = vectors(s);
            show(s, v)
        };
        return match ingest::watch(&idx, config, &a.paths, &opts, debounce, &on_error, &mut after) {
            Ok(()) => exit::OK,
            Err(e) => fatal(e),
        };
    }
    let summary = match ingest::run_with(&idx, config, &a.paths, &opts, &on_error) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    let v = vectors(&summary);
    show(&summary, v);
    if summary.failed > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}
