//! `wash-lessons stats`: what the index holds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::index::WashIndex;
use crate::search::{facet_trees, FacetNode};

use super::{exit, fatal, print_json, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Index directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// What `stats --json` prints.
#[derive(Debug, Serialize)]
struct Stats {
    documents: u64,
    /// Documents tagged by terms only, waiting for the vector phase to decide their tags with
    /// meaning (all of them when the sentence encoder is not installed).
    waiting_for_meaning: u64,
    /// Curators' corrections in the audit log.
    corrections: usize,
    facets: BTreeMap<String, Vec<FacetNode>>,
    last_run: Option<crate::ingest::manifest::LastRun>,
}

pub fn run(a: Args) -> i32 {
    let idx = match WashIndex::open(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let searcher = match idx.reader(false) {
        Ok(r) => r.searcher(),
        Err(e) => return fatal(e),
    };
    let facets = match facet_trees(&searcher) {
        Ok(f) => f,
        Err(e) => return fatal(e),
    };
    let last_run = crate::ingest::manifest::load_last_run(&idx.dir);
    let documents = match idx.document_count(&searcher) {
        Ok(n) => n,
        Err(e) => return fatal(e),
    };
    let waiting_for_meaning = match idx.waiting_for_meaning(&searcher) {
        Ok(n) => n,
        Err(e) => return fatal(e),
    };
    let corrections = idx.corrections.entries();
    let stats = Stats { documents, waiting_for_meaning, corrections, facets, last_run };
    if a.json {
        print_json(&stats);
        return exit::OK;
    }
    println!("{} documents in {}", stats.documents, a.index.display());
    if stats.waiting_for_meaning > 0 {
        println!(
            "{} documents tagged by terms only, waiting for tags by meaning (the vector phase of `index` or `serve`, with the sentence encoder)",
            stats.waiting_for_meaning
        );
    }
    if stats.corrections > 0 {
        println!("{} curators' corrections in the audit log", stats.corrections);
    }
    if let Some(r) = &stats.last_run {
        println!(
            "last run: {} ({:.1} s): {} files, {} indexed, {} unchanged, {} moved, {} removed, {} failed, {} failed before",
            r.started,
            r.took_ms as f64 / 1000.0,
            r.files,
            r.indexed,
            r.unchanged,
            r.moved,
            r.removed,
            r.failed,
            r.failed_before
        );
    }
    for fam in [
        "format",
        "language",
        "doctype",
        "year",
        "country",
        "scan",
        "context",
        "technology",
        "failure_cause",
        "approach",
    ] {
        println!("\n{fam}:");
        fn show(nodes: &[FacetNode], depth: usize) {
            for n in nodes {
                let name = n.path.rsplit('/').next().unwrap_or(&n.path);
                println!("{}{name:<28} {:>6}", "  ".repeat(depth + 1), n.count);
                show(&n.children, depth + 1);
            }
        }
        show(&stats.facets[fam], 0);
    }
    exit::OK
}
