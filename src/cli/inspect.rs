//! `wash-lessons inspect`: what the indexer would store for one file.

use std::path::PathBuf;

use crate::config::Config;
use crate::enrich::Enricher;
use crate::extract::Limits;
use crate::ingest;

use super::{exit, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the full record as JSON (with the text page by page).
    #[arg(long)]
    json: bool,
    /// The file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn run(a: Args, config: &Config) -> i32 {
    let enricher = Enricher::new(config);
    let limits = Limits::from(&config.settings.extract);
    let display = a.file.to_string_lossy().into_owned();
    let r = match ingest::process(&ingest::Job::file(&a.file, &display), &enricher, &limits, &|| {}) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", a.file.display());
            return exit::PARTIAL;
        }
    };
    if a.json {
        print_json(&r);
        return exit::OK;
    }
    println!("title:     {}", r.title);
    println!("format:    {}", r.format.as_str());
    println!("language:  {} (confidence {:.2})", r.language, r.language_confidence);
    println!(
        "year:      {}",
        r.year
            .map(|y| format!("{y} (from {})", r.year_source.as_deref().unwrap_or("?")))
            .unwrap_or_else(|| "unknown".into())
    );
    println!(
        "countries: {}",
        r.country_mentions.iter().map(|c| format!("{} ({})", c.code, c.mentions)).collect::<Vec<_>>().join(", ")
    );
    println!("doctype:   {}", r.doctype);
    println!("words:     {} on {} page(s)", r.words, r.pages.len());
    for (family, tags) in &r.facets {
        for t in tags {
            let ev: Vec<String> = t.evidence.iter().take(6).map(|e| format!("{:?} x{}", e.term, e.count)).collect();
            println!("{family:<14} {} [{:?}, score {} / {}] {}", t.path, t.source, t.score, t.threshold, ev.join(", "));
        }
    }
    for w in &r.warnings {
        println!("warning:   {w}");
    }
    exit::OK
}
