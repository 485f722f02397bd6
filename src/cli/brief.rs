//! `wash-lessons brief "QUESTION"`: why it failed, as the best-matching reports say it together:
//! the failure causes that come back, how often, and where to read each one.

use std::path::PathBuf;

use crate::index::WashIndex;
use crate::search::{brief, Brief, SearchRequest};

use super::{exit, fatal, print_json, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Index directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Keep documents tagged with this facet path or below it (repeatable: all must hold).
    #[arg(long = "filter", value_name = "PATH")]
    filters: Vec<String>,
    /// Only documents in this language (en, fr, es, pt...).
    #[arg(long)]
    lang: Option<String>,
    /// Earliest year.
    #[arg(long)]
    year_min: Option<u32>,
    /// Latest year.
    #[arg(long)]
    year_max: Option<u32>,
    /// keyword, semantic or hybrid (default: hybrid when the sentence-encoder model is installed).
    #[arg(long, value_name = "MODE")]
    mode: Option<crate::search::Mode>,
    /// The sentence-encoder model file.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Print the brief as JSON (the shape of GET /api/brief).
    #[arg(long)]
    json: bool,
    /// The question.
    #[arg(value_name = "QUERY", num_args = 0..)]
    query: Vec<String>,
}

pub fn run(a: Args, config: &crate::config::Config) -> i32 {
    let idx = match WashIndex::open(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let reader = match idx.reader(false) {
        Ok(r) => r,
        Err(e) => return fatal(e),
    };
    let req = SearchRequest {
        query: a.query.join(" "),
        filters: a.filters,
        lang: a.lang,
        year_min: a.year_min,
        year_max: a.year_max,
        mode: a.mode,
        ..SearchRequest::default()
    };
    let semantic = super::semantic_unless_keyword(a.mode, a.model.as_deref(), &a.index);
    let labels = |p: &str| config.taxonomy.get(p).map(|d| d.label.clone()).unwrap_or_else(|| p.to_string());
    match brief(&idx, &reader, &req, &crate::search::Expander::new(config), semantic.as_ref(), &labels) {
        Ok(b) if a.json => print_json(&b),
        Ok(b) => print_human(&b),
        Err(e) => return fatal(e),
    }
    exit::OK
}

fn print_human(b: &Brief) {
    println!(
        "Why it failed, from the {} best-matching of {} documents for {:?} ({} search, {} ms):",
        b.documents,
        b.total,
        b.query,
        b.mode.as_str(),
        b.took_ms
    );
    if let Some(n) = &b.note {
        println!("  ({n})");
    }
    for (i, c) in b.causes.iter().enumerate() {
        let one = if c.single_document { ", one document only" } else { "" };
        println!("\n{}. {} ({} documents, {:.0}% of the weight{one})", i + 1, c.label, c.documents, c.share * 100.0);
        for p in &c.passages {
            print_passage(p);
        }
    }
    if !b.worked.is_empty() {
        println!("\nWhat worked, from lessons and recommendations:");
        for p in &b.worked {
            print_passage(p);
        }
    }
}

fn print_passage(p: &crate::search::BriefPassage) {
    let page = p.page.map(|n| format!(", p. {n}")).unwrap_or_default();
    let year = p.year.map(|y| format!(", {y}")).unwrap_or_default();
    println!("   - {} [{}{year}{page}, {}]: {}", p.title, p.language, p.countries.join(" "), p.text);
}
