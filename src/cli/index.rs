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
    /// Files and folders to index.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(a: Args, config: &Config, config_dir: Option<&std::path::Path>) -> i32 {
    let idx = match WashIndex::open_or_create(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let json = a.json;
    let on_error = move |e: &ingest::FileError| {
        if !json {
            eprintln!("{}: {}", e.path, e.error);
        }
    };
    let iso = super::isolation(config, config_dir);
    let summary = match ingest::run_isolated(&idx, config, &a.paths, &on_error, iso.as_ref()) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    if json {
        print_json(&serde_json::json!({
            "indexed": summary.indexed,
            "unchanged": summary.unchanged,
            "failed": summary.failed,
            "errors": summary.errors,
            "took_ms": summary.took_ms,
        }));
    } else {
        println!(
            "{} indexed, {} unchanged, {} failed in {:.1} s (index: {})",
            summary.indexed,
            summary.unchanged,
            summary.failed,
            summary.took_ms as f64 / 1000.0,
            a.index.display()
        );
    }
    if summary.failed > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}
