//! Indexing runs: walk the roots, compare with the manifest, and bring the index up to date.
//!
//! - Unchanged files (same size and modification time) are skipped without being read.
//! - Changed files are extracted again and replace their document; new files are added.
//! - Files gone from the roots are removed; a file that reappears elsewhere with the same
//!   content (moved or renamed) is re-pointed without extracting it again.
//! - A file that fails is reported and remembered: it is tried again when it changes, or with
//!   `--retry-failed`. The previous version of a file that now fails stays in the index.
//!
//! Extraction runs on all cores (in worker processes when isolated) into a bounded channel; one
//! writer thread upserts by id and commits every `commit_every` documents or `commit_every_secs`,
//! so a crash loses at most the last batch and the next run redoes it.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tantivy::IndexWriter;

use crate::config::Config;
use crate::document::Record;
use crate::enrich::{Enricher, Source};
use crate::error::{Error, Result};
use crate::extract::{self, archive, Limits};
use crate::index::{FileState, WashIndex};

pub mod curate;
pub mod embed;
pub mod manifest;
mod progress;
pub mod walk;
mod watch;
mod worker;

pub use walk::{content_hash, file_state, Candidate, Root, WalkOptions};
pub use watch::watch;
use worker::Worker;
pub use worker::{serve_requests, Isolation, Response as WorkerResponse};

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
    /// Files moved or renamed (same content), re-pointed without extraction.
    pub moved: usize,
    /// Documents removed because their file is gone from the roots.
    pub removed: usize,
    /// Files (or folders) that could not be indexed.
    pub failed: usize,
    /// Files that failed in an earlier run and have not changed (not tried again).
    pub failed_before: usize,
    /// The failures.
    pub errors: Vec<FileError>,
    /// Wall time of the run, in milliseconds.
    pub took_ms: u64,
}

/// One file (or archive member) to extract: also the request sent to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The file on disk (the archive, for a member).
    pub path: PathBuf,
    /// The member inside the archive, if any.
    pub member: Option<String>,
    /// Path shown to users.
    pub display: String,
    /// Document id.
    pub id: String,
}

impl Job {
    /// A job for a plain file, its id from its canonical path.
    pub fn file(path: &Path, display: &str) -> Job {
        Job { path: path.to_path_buf(), member: None, display: display.to_string(), id: document_id(path) }
    }
}

/// How a run behaves, beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Extra include patterns.
    pub include: Vec<String>,
    /// Extra exclude patterns.
    pub exclude: Vec<String>,
    /// Index hidden files and folders.
    pub hidden: bool,
    /// Try again the files that failed before even if they did not change.
    pub retry_failed: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// Write one JSON line per failed file here.
    pub report: Option<PathBuf>,
    /// Extract in worker processes.
    pub isolation: Option<Isolation>,
}

/// The id of a source key.
pub fn key_id(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..16].to_string()
}

/// The stable id of a file: from its canonical path, so that re-indexing replaces it.
pub fn document_id(path: &Path) -> String {
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    key_id(&canon.to_string_lossy())
}

/// Extracts and enriches one file or member (OCR'ing scanned PDF pages of files). `heartbeat` is
/// called before each slow step (an OCR'd page), so that a worker can tell its parent it is alive.
pub fn process(job: &Job, enricher: &Enricher, limits: &Limits, heartbeat: &dyn Fn()) -> Result<Record> {
    let settings = &enricher.config().settings;
    let extracted = match &job.member {
        None => extract::extract_file_ocr(&job.path, limits, &settings.ocr, &settings.languages, heartbeat)?,
        Some(m) => {
            let bytes = archive::read_member(&job.path, m, &settings.archives)?;
            let name = m.rsplit("!/").next().unwrap_or(m);
            let ext = Path::new(name).extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
            let mut doc = extract::extract_bytes(&bytes, ext.as_deref(), limits)?;
            if !doc.scanned_pages.is_empty() {
                doc.warnings.push("needs OCR: scanned pages inside an archive are not OCR'd".into());
                if doc.pages.iter().all(|p| p.blocks.is_empty()) {
                    return Err(Error::extract("no text layer on any page (scanned PDF inside an archive): needs OCR"));
                }
            }
            doc
        }
    };
    Ok(enricher.enrich(extracted, &Source { id: job.id.clone(), path: job.display.clone() }))
}

/// One worker process kept from file to file (the server's, for uploads): started with the
/// first file, and again after one that killed it or ran out of time, so that a hostile file
/// still ends only its worker. A fresh process per upload read and compiled the configuration
/// each time: 40% of an upload's CPU (`perf record` of the server over 60 uploads).
#[derive(Default)]
pub struct KeptWorker {
    worker: std::sync::Mutex<Option<Worker>>,
    started: std::sync::atomic::AtomicU64,
}

impl KeptWorker {
    /// Extracts and enriches one file in the kept worker.
    pub fn process(&self, iso: &Isolation, job: &Job) -> Result<Record> {
        let mut slot = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        // One that died while idle (killed, say) is replaced before it is given a file.
        let mut w = match slot.take().and_then(|mut w| w.is_alive().then_some(w)) {
            Some(w) => w,
            None => {
                self.started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Worker::spawn(iso).map_err(|e| Error::extract(format!("cannot start an extraction worker: {e}")))?
            }
        };
        match w.process(iso, job) {
            Ok(r) => {
                *slot = Some(w);
                Ok(r)
            }
            Err((reason, alive)) => {
                if alive {
                    *slot = Some(w);
                }
                Err(Error::extract(reason))
            }
        }
    }

    /// Worker processes started so far.
    pub fn started(&self) -> u64 {
        self.started.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The process id of the kept worker, if one is running.
    pub fn pid(&self) -> Option<u32> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(Worker::id)
    }
}

/// Indexes `roots` into `idx` with the default options (extraction in this process unless
/// `isolation` is given).
pub fn run_isolated(
    idx: &WashIndex,
    config: &Config,
    roots: &[PathBuf],
    on_error: &(dyn Fn(&FileError) + Sync),
    isolation: Option<&Isolation>,
) -> Result<Summary> {
    let opts = RunOptions { isolation: isolation.cloned(), ..RunOptions::default() };
    run_with(idx, config, roots, &opts, on_error)
}

/// Indexes `roots` into `idx`, extracting in this process.
pub fn run(
    idx: &WashIndex,
    config: &Config,
    roots: &[PathBuf],
    on_error: &(dyn Fn(&FileError) + Sync),
) -> Result<Summary> {
    run_isolated(idx, config, roots, on_error, None)
}

/// What the writer thread receives: the candidate and the result of its extraction.
type Extracted = (usize, Result<Record>, u64);

/// Indexes `roots` into `idx`.
pub fn run_with(
    idx: &WashIndex,
    config: &Config,
    roots: &[PathBuf],
    opts: &RunOptions,
    on_error: &(dyn Fn(&FileError) + Sync),
) -> Result<Summary> {
    let start = Instant::now();
    let started = SystemTime::now();
    let mut summary = Summary::default();
    let s = &config.settings;
    let walk_opts = WalkOptions::new(&s.walk, &s.archives, &opts.include, &opts.exclude, opts.hidden)?;
    let roots: Vec<Root> =
        roots.iter().map(|r| Root { given: r.clone(), canon: std::fs::canonicalize(r).ok() }).collect();
    let mut report = match &opts.report {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| Error::Io { path: p.clone(), source: e })?,
        )),
        None => None,
    };
    let mut fail = |summary: &mut Summary, e: FileError| {
        on_error(&e);
        if let Some(r) = report.as_mut() {
            let _ = serde_json::to_writer(&mut *r, &e).map(|_| r.write_all(b"\n"));
        }
        summary.errors.push(e);
    };

    // 1. Walk, and compare with the manifest.
    let reader = idx.reader(false)?;
    let searcher = reader.searcher();
    let known = manifest::load(&searcher)?;
    let mut failures = manifest::load_failures(&idx.dir);
    let mut seen: HashSet<String> = HashSet::new();
    let mut todo: Vec<Candidate> = Vec::new();
    let mut touched: Vec<(Candidate, String)> = Vec::new();
    let mut walk_errors = Vec::new();
    let mut files = 0usize;
    walk::walk(
        &roots,
        Some(&idx.dir),
        &walk_opts,
        &mut |c| {
            if !seen.insert(c.key.clone()) {
                return; // the same file reached twice (a link)
            }
            files += 1;
            match known.get(&c.key) {
                Some(e) if e.state.size == c.state.size && e.state.mtime_ns == c.state.mtime_ns => {
                    summary.unchanged += 1;
                }
                Some(e) => touched.push((c, e.id.clone())),
                None => match failures.get(&c.key) {
                    Some(f) if !opts.retry_failed && f.size == c.state.size && f.mtime_ns == c.state.mtime_ns => {
                        summary.failed_before += 1;
                    }
                    _ => todo.push(c),
                },
            }
        },
        &mut walk_errors,
    );
    for e in walk_errors {
        fail(&mut summary, e);
    }
    // Failures of files that are gone are forgotten.
    let in_scope = |key: &str| {
        roots.iter().filter_map(|r| r.canon.as_deref()).any(|r| {
            let r = r.to_string_lossy();
            key == r || key.starts_with(&format!("{r}/")) || key.starts_with(&format!("{r}!/"))
        })
    };
    let index_dir = std::fs::canonicalize(&idx.dir).unwrap_or_else(|_| idx.dir.clone());
    let index_dir = index_dir.to_string_lossy().into_owned();
    failures.retain(|k, _| seen.contains(k) || !in_scope(k));
    // Documents of the roots whose file is gone (uploads, kept in the index folder, stay).
    let mut gone: HashMap<String, manifest::Entry> = known
        .iter()
        .filter(|(k, _)| in_scope(k) && !seen.contains(*k) && !k.starts_with(&format!("{index_dir}/")))
        .map(|(k, e)| (k.clone(), e.clone()))
        .collect();

    // 2. Touched files (same path, new time) with the same content need no extraction; others do.
    let mut writer: Option<IndexWriter> = None;
    let open_writer = |w: &mut Option<IndexWriter>| -> Result<()> {
        if w.is_none() {
            *w = Some(idx.writer(s.index.writer_memory_mb)?);
        }
        Ok(())
    };
    let served = s.languages.served.clone();
    let mut fatal: Option<Error> = None;
    for (c, id) in touched {
        let old = known.get(&c.key).map(|e| e.state).unwrap_or_default();
        let same = old.size == c.state.size && old.hash != 0 && hash_of(&c).ok() == Some(old.hash);
        if same {
            if let Some(record) = idx.find_document(&searcher, &id)?.map(|d| idx.full_record(&d)).transpose()? {
                open_writer(&mut writer)?;
                let w = writer.as_mut().expect("writer");
                let state = FileState { hash: old.hash, ..c.state };
                w.delete_term(idx.id_term(&id));
                w.add_document(idx.to_document(&record, state, &served, &c.key))?;
                summary.unchanged += 1;
                continue;
            }
        }
        todo.push(c);
    }

    // 3. New files with the content of a gone file were moved or renamed: re-point them.
    if !gone.is_empty() {
        let mut by_content: HashMap<(u64, u64), String> = HashMap::new();
        for (k, e) in &gone {
            if e.state.hash != 0 {
                by_content.insert((e.state.size, e.state.hash), k.clone());
            }
        }
        let sizes: HashSet<u64> = by_content.keys().map(|(s, _)| *s).collect();
        let mut rest = Vec::with_capacity(todo.len());
        for c in std::mem::take(&mut todo) {
            let moved_from = if sizes.contains(&c.state.size) && !known.contains_key(&c.key) {
                hash_of(&c).ok().and_then(|h| by_content.remove(&(c.state.size, h)).map(|k| (k, h)))
            } else {
                None
            };
            let Some((old_key, h)) = moved_from else {
                rest.push(c);
                continue;
            };
            let old = gone.remove(&old_key).expect("gone entry");
            let Some(mut record) = idx.find_document(&searcher, &old.id)?.map(|d| idx.full_record(&d)).transpose()?
            else {
                rest.push(c);
                continue;
            };
            record.id = key_id(&c.key);
            record.path = c.display.clone();
            if idx.corrections.of(&old.id).is_some() {
                idx.corrections.append(&crate::index::corrections::Entry::Move {
                    at: rfc3339(std::time::SystemTime::now()),
                    from: old.id.clone(),
                    to: record.id.clone(),
                })?;
            }
            open_writer(&mut writer)?;
            let w = writer.as_mut().expect("writer");
            w.delete_term(idx.id_term(&old.id));
            w.delete_term(idx.id_term(&record.id));
            w.add_document(idx.to_document(&record, FileState { hash: h, ..c.state }, &served, &c.key))?;
            summary.moved += 1;
        }
        todo = rest;
    }

    // 4. Files gone from the roots leave the index.
    if !gone.is_empty() {
        open_writer(&mut writer)?;
        let w = writer.as_mut().expect("writer");
        for e in gone.values() {
            w.delete_term(idx.id_term(&e.id));
            summary.removed += 1;
        }
    }

    // 5. Extract the rest in parallel; upsert and commit as results come.
    let total_bytes: u64 = todo.iter().map(|c| c.state.size).sum();
    let mut bytes_done = 0u64;
    if !todo.is_empty() {
        open_writer(&mut writer)?;
    }
    // The taxonomy is read and checked only now that there is something to extract (workers read
    // their own copy; a broken taxonomy stops the run here with its own message).
    let full = if todo.is_empty() { None } else { Some(config.complete()?) };
    let bar = progress::Progress::new(opts.progress, todo.len() as u64, total_bytes);
    if let Some(w) = writer.as_mut() {
        let commit_every = s.index.commit_every.max(1);
        let commit_secs = Duration::from_secs_f64(s.index.commit_every_secs.max(0.05));
        let mut since_commit = 0usize;
        let mut last_commit = Instant::now();
        let (tx, rx) = sync_channel::<Extracted>(rayon::current_num_threads() * 2);
        let todo = &todo;
        let next = &AtomicUsize::new(0);
        std::thread::scope(|scope| {
            match &opts.isolation {
                None => {
                    // Compiled only here: with workers, each worker compiles its own.
                    let enricher = Enricher::new(full.as_deref().unwrap_or(config));
                    let limits = Limits::from(&s.extract);
                    scope.spawn(move || {
                        (0..todo.len()).into_par_iter().for_each_with(tx, |tx, i| {
                            let r = process(&job_of(&todo[i]), &enricher, &limits, &|| {});
                            let h = if r.is_ok() { hash_of(&todo[i]).unwrap_or(0) } else { 0 };
                            let _ = tx.send((i, r, h));
                        });
                    });
                }
                Some(iso) => {
                    // One thread per worker process; each takes the next file from a shared cursor.
                    for _ in 0..rayon::current_num_threads().max(1) {
                        let tx = tx.clone();
                        scope.spawn(move || {
                            let mut worker: Option<Worker> = None;
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let Some(c) = todo.get(i) else { break };
                                if worker.is_none() {
                                    worker = Worker::spawn(iso).ok();
                                }
                                let r = match worker.as_mut() {
                                    None => Err(Error::extract("cannot start an extraction worker")),
                                    Some(wk) => wk.process(iso, &job_of(c)).map_err(|(reason, alive)| {
                                        if !alive {
                                            worker = None;
                                        }
                                        Error::extract(reason)
                                    }),
                                };
                                // Hashed here, beside the extraction, not on the writer thread.
                                let h = if r.is_ok() { hash_of(c).unwrap_or(0) } else { 0 };
                                if tx.send((i, r, h)).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    drop(tx);
                }
            }
            for (i, result, hash) in rx {
                let c = &todo[i];
                bytes_done += c.state.size;
                match result {
                    Ok(record) => {
                        if fatal.is_some() {
                            continue;
                        }
                        // The hash is kept for move detection; archive members carry their CRC.
                        let state = FileState { hash, ..c.state };
                        w.delete_term(idx.id_term(&record.id));
                        if let Err(e) = w.add_document(idx.to_document(&record, state, &served, &c.key)) {
                            fatal = Some(e.into());
                            continue;
                        }
                        failures.remove(&c.key);
                        summary.indexed += 1;
                        since_commit += 1;
                    }
                    Err(e) => {
                        failures.insert(
                            c.key.clone(),
                            manifest::Failure {
                                path: c.display.clone(),
                                size: c.state.size,
                                mtime_ns: c.state.mtime_ns,
                                error: e.to_string(),
                            },
                        );
                        fail(&mut summary, FileError { path: c.display.clone(), error: e.to_string() });
                    }
                }
                bar.update(1, c.state.size, summary.errors.len());
                if fatal.is_none() && (since_commit >= commit_every || last_commit.elapsed() >= commit_secs) {
                    match w.commit() {
                        Ok(_) => {
                            let _ = manifest::save_failures(&idx.dir, &failures);
                        }
                        Err(e) => fatal = Some(e.into()),
                    }
                    since_commit = 0;
                    last_commit = Instant::now();
                }
            }
        });
    }
    bar.finish();
    if let Some(e) = fatal {
        return Err(e);
    }
    if let Some(mut w) = writer {
        w.commit().map_err(|e| Error::Index(format!("cannot commit the index in {}: {e}", idx.dir.display())))?;
        w.wait_merging_threads().map_err(|e| Error::Index(format!("merging segments failed: {e}")))?;
    }
    manifest::save_failures(&idx.dir, &failures)?;
    let existing: Vec<PathBuf> = roots.iter().filter(|r| r.canon.is_some()).map(|r| r.given.clone()).collect();
    idx.add_roots(&existing)?;
    if let Some(mut r) = report {
        let _ = r.flush();
    }
    summary.failed = summary.errors.len();
    summary.took_ms = start.elapsed().as_millis() as u64;
    manifest::save_last_run(
        &idx.dir,
        &manifest::LastRun {
            started: rfc3339(started),
            took_ms: summary.took_ms,
            roots: roots.iter().map(|r| r.given.display().to_string()).collect(),
            files,
            indexed: summary.indexed,
            unchanged: summary.unchanged,
            moved: summary.moved,
            removed: summary.removed,
            failed: summary.failed,
            failed_before: summary.failed_before,
            bytes: bytes_done,
        },
    )?;
    Ok(summary)
}

fn job_of(c: &Candidate) -> Job {
    Job { path: c.path.clone(), member: c.member.clone(), display: c.display.clone(), id: key_id(&c.key) }
}

/// The content hash of a candidate: BLAKE3 of a file, the CRC of an archive member.
fn hash_of(c: &Candidate) -> std::io::Result<u64> {
    match c.member {
        Some(_) => Ok(c.state.hash),
        None => content_hash(&c.path),
    }
}

/// A time as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000)), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
