//! `wash-lessons tag ID +/path -/path ...`: a curator's correction from the command line, as
//! `PUT /api/documents/{id}/facets` makes it from the API (logged with the curator's name).

use std::path::PathBuf;

use crate::config::Config;
use crate::index::WashIndex;

use super::{exit, fatal, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Index directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Who corrects (kept in the audit log).
    #[arg(long, default_value = "cli")]
    by: String,
    /// The document's id (see `search --json` or the document page).
    id: String,
    /// Paths to add (+/failure_cause/financial) and to remove (-/context/setting/urban).
    #[arg(required = true, allow_hyphen_values = true, value_name = "+PATH|-PATH")]
    changes: Vec<String>,
}

pub fn run(a: Args, config: &Config) -> i32 {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for c in &a.changes {
        match (c.strip_prefix('+'), c.strip_prefix('-')) {
            (Some(p), _) => add.push(p.to_string()),
            (_, Some(p)) => remove.push(p.to_string()),
            _ => return fatal(format!("{c:?}: write +PATH to add a tag, -PATH to remove one")),
        }
    }
    let idx = match WashIndex::open(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    match crate::ingest::curate::correct(&idx, config, &a.id, &add, &remove, &a.by) {
        Ok(Some(r)) => {
            println!("{} ({}): tags now", r.title, r.id);
            for t in r.facets.values().flatten() {
                let who = t.curator.as_ref().map(|c| format!(" (set by {} on {})", c.by, c.at)).unwrap_or_default();
                println!("  {}{who}", t.path);
            }
            exit::OK
        }
        Ok(None) => fatal(format!("no document with id {:?} in {}", a.id, a.index.display())),
        Err(e) => fatal(e),
    }
}
