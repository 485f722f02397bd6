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
    let mut r = match ingest::process(&ingest::Job::file(&a.file, &display), &enricher, &limits, &|| {}) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", a.file.display());
            return exit::PARTIAL;
        }
    };
    // With the sentence encoder, tags are decided with the meaning of the passages too, as the
    // index's vector phase decides them.
    if let Some(encoder) = super::load_model(None) {
        let tagger = crate::enrich::combine::MeaningTagger::new(&encoder, config);
        let snapshot = r.clone();
        let (vectors, passages) = crate::ingest::embed::embed_record(&encoder, &snapshot);
        tagger.retag(&mut r, &config.taxonomy, &vectors, &passages);
    }
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
            let conf = t.confidence.map(|c| format!(", confidence {c:.2}")).unwrap_or_default();
            println!(
                "{family:<14} {} [{:?}{conf}, terms {} / {}] {}",
                t.path,
                t.source,
                t.score,
                t.threshold,
                ev.join(", ")
            );
            for p in &t.passages {
                let page = if p.page == 0 { "title".to_string() } else { format!("p. {}", p.page) };
                println!("{:<14}   read {page} (similarity {:.2}): {}", "", p.similarity, p.text);
            }
        }
    }
    for w in &r.warnings {
        println!("warning:   {w}");
    }
    exit::OK
}
