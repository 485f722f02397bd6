//! `wash-lessons export` and `wash-lessons import`: the index's records as NDJSON, with the
//! OpenSearch template and Quickwit config they fit, and such records read back into an index.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::config::Config;
use crate::index::export::{self, OPENSEARCH_TEMPLATE, QUICKWIT_INDEX};
use crate::index::WashIndex;

use super::{exit, fatal, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Index directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Write the records here (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Leave the passages' vectors out (for an engine without vector search, e.g. Quickwit).
    #[arg(long)]
    no_vectors: bool,
    /// Also write the OpenSearch/Elasticsearch index template (opensearch-template.json) and the
    /// Quickwit index config (quickwit-index.json) into this folder.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Index directory (created when absent).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// NDJSON records written by `export` ("-": standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn export(a: ExportArgs) -> i32 {
    if let Some(dir) = &a.templates {
        let written = std::fs::create_dir_all(dir).and_then(|_| {
            std::fs::write(dir.join("opensearch-template.json"), OPENSEARCH_TEMPLATE)?;
            std::fs::write(dir.join("quickwit-index.json"), QUICKWIT_INDEX)
        });
        if let Err(e) = written {
            return fatal(format!("cannot write the templates in {}: {e}", dir.display()));
        }
    }
    let idx = match WashIndex::open(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let searcher = match idx.reader(false) {
        Ok(r) => r.searcher(),
        Err(e) => return fatal(e),
    };
    let mut out: Box<dyn Write> = match &a.out {
        // Written beside, then renamed: a half-written file never has the final name.
        Some(p) => match std::fs::File::create(p.with_extension("partial")) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return fatal(format!("cannot write {}: {e}", p.display())),
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let stats = match export::export(&idx, &searcher, &mut out, !a.no_vectors) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    drop(out);
    if let Some(p) = &a.out {
        if let Err(e) = std::fs::rename(p.with_extension("partial"), p) {
            return fatal(format!("cannot write {}: {e}", p.display()));
        }
    }
    eprintln!("exported {} documents and {} passages", stats.documents, stats.passages);
    exit::OK
}

pub fn import(a: ImportArgs, config: &Config) -> i32 {
    let idx = match WashIndex::open_or_create(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let mut input: Box<dyn BufRead> = if a.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&a.file) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => return fatal(format!("cannot read {}: {e}", a.file.display())),
        }
    };
    let report = |line: usize, why: &str| eprintln!("line {line}: skipped: {why}");
    let served = &config.settings.languages.served;
    match export::import(&idx, &mut input, served, 1000, &report) {
        Ok(s) => {
            eprintln!("imported {} documents and {} passages; {} lines skipped", s.documents, s.passages, s.failed);
            if s.failed > 0 {
                exit::PARTIAL
            } else {
                exit::OK
            }
        }
        Err(e) => fatal(e),
    }
}
