//! `wash-lessons search`: query the index from the command line.

use std::path::PathBuf;

use crate::index::WashIndex;
use crate::search::{search, SearchRequest, SearchResponse, Sort};

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
    /// Most recent first instead of best match first.
    #[arg(long)]
    newest: bool,
    /// Number of hits.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Hits to skip.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Lessons like the document with this id (shared facets and vocabulary) instead of a query.
    #[arg(long, value_name = "ID")]
    like: Option<String>,
    /// keyword, semantic or hybrid (default: hybrid when the sentence-encoder model is installed).
    #[arg(long, value_name = "MODE")]
    mode: Option<crate::search::Mode>,
    /// The sentence-encoder model file (default: $WASH_LESSONS_MODEL, else
    /// .wash-lessons/models/use-multilingual-v3.wlm).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
    /// The query (words, "phrases", -excluded); empty lists everything.
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
        sort: if a.newest { Sort::Newest } else { Sort::Relevance },
        limit: a.limit,
        offset: a.offset,
        mode: a.mode,
    };
    let semantic = super::semantic_unless_keyword(a.mode, a.model.as_deref(), &a.index);
    let result = match &a.like {
        Some(id) => match crate::search::similar(&idx, &reader, id, &req, semantic.as_ref()) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => return fatal(format!("no document with id {id:?}")),
            Err(e) => Err(e),
        },
        None => search(&idx, &reader, &req, &crate::search::Expander::new(config), semantic.as_ref()),
    };
    match result {
        Ok(r) if a.json => print_json(&r),
        Ok(r) => print_human(&r),
        Err(e) => return fatal(e),
    }
    exit::OK
}

fn plain(html: &str) -> String {
    crate::search::snippet_text(html, "[", "]")
}

fn print_human(r: &SearchResponse) {
    println!("{} documents match {:?} ({} search, {} ms)", r.total, r.query, r.mode.as_str(), r.took_ms);
    if let Some(d) = &r.did_you_mean {
        println!("did you mean: {d}");
    }
    println!();
    for (i, h) in r.hits.iter().enumerate() {
        let year = h.year.map(|y| y.to_string()).unwrap_or_else(|| "----".into());
        println!("{:>2}. {} ({}, {}, {})", i + 1, h.title, year, h.language, h.countries.join(" "));
        let how: Vec<&str> = h
            .matched_by
            .iter()
            .map(|m| match m {
                crate::search::MatchedBy::Keyword => "words",
                crate::search::MatchedBy::Meaning => "meaning",
            })
            .collect();
        println!("    {}  [{}]  score {:.3}, found by {}", h.path, h.format, h.score, how.join(" and "));
        let tags: Vec<&str> = h.facets.values().flatten().map(|s| s.as_str()).collect();
        if !tags.is_empty() {
            println!("    tags: {}", tags.join(", "));
        }
        for s in &h.snippets {
            let page = s.page.map(|p| format!("p. {p}: ")).unwrap_or_default();
            println!("    {page}{}", plain(&s.html));
        }
        println!();
    }
    for (family, counts) in &r.facets {
        if counts.is_empty() {
            continue;
        }
        let list: Vec<String> = counts.iter().take(8).map(|c| format!("{} ({})", c.path, c.count)).collect();
        println!("{family}: {}", list.join(", "));
    }
}
