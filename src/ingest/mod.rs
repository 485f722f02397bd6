//! Indexing runs: walk the given files and folders, skip unchanged files, extract and enrich the
//! rest in parallel, and upsert them into the index by their stable id. A file that cannot be
//! read or parsed is reported with its path and the reason, and the run goes on; the previous
//! version of a file that now fails stays in the index.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::{Instant, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{IndexReader, TantivyDocument};

use crate::config::Config;
use crate::document::Record;
use crate::enrich::{Enricher, Source};
use crate::error::{Error, Result};
use crate::extract::{self, Limits};
use crate::index::{FileState, WashIndex};

mod worker;

use worker::Worker;
pub use worker::{serve_requests, Isolation, Request as WorkerRequest, Response as WorkerResponse};

/// A file that could not be indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileError {
    /// The file (or folder).
    pub path: String,
    /// Why.
    pub error: String,
}

/// What an indexing run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// New or changed files indexed.
    pub indexed: usize,
    /// Files skipped because they did not change.
    pub unchanged: usize,
    /// Files (or folders) that could not be indexed.
    pub failed: usize,
    /// The failures.
    pub errors: Vec<FileError>,
    /// Wall time of the run, in milliseconds.
    pub took_ms: u64,
}

/// A document file found under a root.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it is.
    pub path: PathBuf,
    /// Path shown to users: relative to the root folder it was found under.
    pub display: String,
}

/// The stable id of a file: from its canonical path, so that re-indexing replaces it.
pub fn document_id(path: &Path) -> String {
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let h = blake3::hash(canon.to_string_lossy().as_bytes());
    h.to_hex()[..16].to_string()
}

fn display_path(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Finds the document files under `roots` (files are taken as given, folders walked
/// recursively; hidden files and folders are skipped). Unreadable entries become errors.
pub fn collect(roots: &[PathBuf], skip: Option<&Path>) -> (Vec<Candidate>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let skip = skip.and_then(|s| std::fs::canonicalize(s).ok());
    for root in roots {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                errors.push(FileError { path: display_path(root), error: e.to_string() });
                continue;
            }
        };
        if meta.is_file() {
            let display =
                root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| display_path(root));
            files.push(Candidate { path: root.clone(), display });
            continue;
        }
        let walker =
            walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
                let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
                let is_skip = skip.as_ref().is_some_and(|s| std::fs::canonicalize(e.path()).ok().as_ref() == Some(s));
                !hidden && !is_skip
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() && extract::is_candidate(e.path()) => {
                    let rel = e.path().strip_prefix(root).unwrap_or(e.path());
                    files.push(Candidate { path: e.path().to_path_buf(), display: display_path(rel) });
                }
                Ok(_) => {}
                Err(e) => {
                    let path = e.path().map(display_path).unwrap_or_else(|| display_path(root));
                    let reason = e.io_error().map(|io| io.to_string()).unwrap_or_else(|| e.to_string());
                    errors.push(FileError { path, error: format!("cannot read folder: {reason}") });
                }
            }
        }
    }
    (files, errors)
}

/// The state of a file on disk.
pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    let m = std::fs::metadata(path)?;
    let mtime_ns =
        m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_nanos() as u64).unwrap_or(0);
    Ok(FileState { size: m.len(), mtime_ns })
}

/// The state recorded in the index for a document id, if it is indexed.
pub fn indexed_state(idx: &WashIndex, reader: &IndexReader, id: &str) -> Result<Option<FileState>> {
    let searcher = reader.searcher();
    let q = TermQuery::new(idx.id_term(id), IndexRecordOption::Basic);
    let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
    let Some((_, addr)) = top.first() else {
        return Ok(None);
    };
    let doc: TantivyDocument = searcher.doc(*addr)?;
    let get = |f| doc.get_first(f).and_then(|v| v.as_u64()).unwrap_or(0);
    Ok(Some(FileState { size: get(idx.fields.size), mtime_ns: get(idx.fields.mtime) }))
}

/// Extracts and enriches one file (OCR'ing scanned PDF pages). `heartbeat` is called before
/// each slow step (an OCR'd page), so that a worker can tell its parent it is alive.
pub fn process(path: &Path, display: &str, enricher: &Enricher, limits: &Limits, heartbeat: &dyn Fn()) -> Result<Record> {
    let settings = &enricher.config().settings;
    let extracted = extract::extract_file_ocr(path, limits, &settings.ocr, &settings.languages, heartbeat)?;
    Ok(enricher.enrich(extracted, &Source { id: document_id(path), path: display.to_string() }))
}

/// Indexes `roots` into `idx`. `on_error` sees each failure as it happens.
/// Extracts and enriches one file in a fresh worker process (for uploads).
pub fn process_isolated(iso: &Isolation, path: &Path, display: &str) -> Result<Record> {
    let mut w = Worker::spawn(iso).map_err(|e| Error::extract(format!("cannot start an extraction worker: {e}")))?;
    w.process(iso, path, display).map_err(|(reason, _)| Error::extract(reason))
}

/// Indexes `roots` into `idx`, extracting in this process (a panic is caught, but a hang or an
/// abort is not: use [`run_isolated`] for archives that may hold hostile files).
pub fn run(
    idx: &WashIndex,
    config: &Config,
    roots: &[PathBuf],
    on_error: &(dyn Fn(&FileError) + Sync),
) -> Result<Summary> {
    run_isolated(idx, config, roots, on_error, None)
}

/// Indexes `roots` into `idx`; with `isolation`, every file is extracted in a worker process.
pub fn run_isolated(
    idx: &WashIndex,
    config: &Config,
    roots: &[PathBuf],
    on_error: &(dyn Fn(&FileError) + Sync),
    isolation: Option<&Isolation>,
) -> Result<Summary> {
    let start = Instant::now();
    let mut summary = Summary::default();
    let (files, walk_errors) = collect(roots, Some(&idx.dir));
    for e in walk_errors {
        on_error(&e);
        summary.errors.push(e);
    }
    let reader = idx.reader(false)?;
    // Unchanged files (same size and modification time as indexed) are not read again.
    let mut todo = Vec::new();
    for c in files {
        let state = match file_state(&c.path) {
            Ok(s) => s,
            Err(e) => {
                let fe = FileError { path: c.display.clone(), error: e.to_string() };
                on_error(&fe);
                summary.errors.push(fe);
                continue;
            }
        };
        let id = document_id(&c.path);
        if indexed_state(idx, &reader, &id)? == Some(state) {
            summary.unchanged += 1;
        } else {
            todo.push((c, state));
        }
    }
    if !todo.is_empty() {
        let mut writer = idx.writer(config.settings.index.writer_memory_mb)?;
        let served = config.settings.languages.served.clone();
        let commit_every = config.settings.index.commit_every;
        let (tx, rx) = sync_channel::<(String, PathBuf, FileState, Result<Record>)>(rayon::current_num_threads() * 2);
        let mut since_commit = 0usize;
        let mut fatal: Option<Error> = None;
        let todo = &todo;
        let next = &std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            match isolation {
                None => {
                    // Compiled only here: with workers, each worker compiles its own.
                    let enricher = Enricher::new(config);
                    let limits = Limits::from(&config.settings.extract);
                    s.spawn(move || {
                        todo.par_iter().for_each_with(tx, |tx, (c, state)| {
                            let r = process(&c.path, &c.display, &enricher, &limits, &|| {});
                            let _ = tx.send((c.display.clone(), c.path.clone(), *state, r));
                        });
                    });
                }
                Some(iso) => {
                    // One thread per worker process; each takes the next file from a shared cursor.
                    for _ in 0..rayon::current_num_threads().max(1) {
                        let tx = tx.clone();
                        s.spawn(move || {
                            let mut worker: Option<Worker> = None;
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some((c, state)) = todo.get(i) else { break };
                                if worker.is_none() {
                                    worker = Worker::spawn(iso).ok();
                                }
                                let r = match worker.as_mut() {
                                    None => Err(Error::extract("cannot start an extraction worker")),
                                    Some(w) => w.process(iso, &c.path, &c.display).map_err(|(reason, alive)| {
                                        if !alive {
                                            worker = None;
                                        }
                                        Error::extract(reason)
                                    }),
                                };
                                if tx.send((c.display.clone(), c.path.clone(), *state, r)).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    drop(tx);
                }
            }
            for (display, path, state, result) in rx {
                match result {
                    Ok(record) => {
                        if fatal.is_some() {
                            continue;
                        }
                        writer.delete_term(idx.id_term(&record.id));
                        let source = std::fs::canonicalize(&path).unwrap_or(path);
                        if let Err(e) = writer.add_document(idx.to_document(&record, state, &served, &source)) {
                            fatal = Some(e.into());
                            continue;
                        }
                        summary.indexed += 1;
                        since_commit += 1;
                        if since_commit >= commit_every {
                            if let Err(e) = writer.commit() {
                                fatal = Some(e.into());
                            }
                            since_commit = 0;
                        }
                    }
                    Err(e) => {
                        let fe = FileError { path: display, error: e.to_string() };
                        on_error(&fe);
                        summary.errors.push(fe);
                    }
                }
            }
        });
        if let Some(e) = fatal {
            return Err(e);
        }
        writer.commit().map_err(|e| Error::Index(format!("cannot commit the index in {}: {e}", idx.dir.display())))?;
        writer.wait_merging_threads().map_err(|e| Error::Index(format!("merging segments failed: {e}")))?;
    }
    idx.add_roots(roots)?;
    summary.failed = summary.errors.len();
    summary.took_ms = start.elapsed().as_millis() as u64;
    Ok(summary)
}
