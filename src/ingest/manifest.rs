//! What the index knows of the files it holds, and what the last runs left behind.
//!
//! The manifest proper (source key, id, size, modification time, content hash of every indexed
//! file) lives in the index's fast fields: it is committed atomically with the documents, so a
//! crash can never leave the two disagreeing. Beside it, two small files written atomically
//! (temporary file + rename): the files that failed (retried when they change, or with
//! `--retry-failed`), and a summary of the last run for `stats`.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::Searcher;

use crate::error::{Error, Result};
use crate::index::FileState;

/// One indexed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The document id.
    pub id: String,
    /// Its state when indexed.
    pub state: FileState,
}

/// Reads the manifest: source key -> entry, from the fast fields of every live document.
pub fn load(searcher: &Searcher) -> Result<HashMap<String, Entry>> {
    let mut out = HashMap::new();
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let (Some(source), Some(id)) = (ff.str("source")?, ff.str("id")?) else { continue };
        let size = ff.u64("size")?;
        let mtime = ff.u64("mtime")?;
        let hash = ff.u64("hash")?;
        let alive = seg.alive_bitset();
        // Each dictionary is read once, in order: looking terms up one by one decompresses a
        // block per lookup, which made a no-change run over 10,000 files take half a second.
        let sources = crate::index::column_terms(&source)?;
        let ids = crate::index::column_terms(&id)?;
        for doc in 0..seg.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let (Some(k), Some(i)) = (source.term_ords(doc).next(), id.term_ords(doc).next()) else { continue };
            let (Some(key), Some(ident)) = (sources.get(k as usize), ids.get(i as usize)) else { continue };
            let state = FileState {
                size: size.first(doc).unwrap_or(0),
                mtime_ns: mtime.first(doc).unwrap_or(0),
                hash: hash.first(doc).unwrap_or(0),
            };
            out.insert(key.clone(), Entry { id: ident.clone(), state });
        }
    }
    Ok(out)
}

/// A file that failed, with its state then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Path shown to users.
    pub path: String,
    /// Size then.
    pub size: u64,
    /// Modification time then.
    pub mtime_ns: u64,
    /// Why.
    pub error: String,
}

const FAILURES_FILE: &str = "wash-lessons.failures.json";
const LAST_RUN_FILE: &str = "wash-lessons.last-run.json";

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, dir.join(name)))
        .map_err(|e| Error::Index(format!("cannot write {name} in {}: {e}", dir.display())))
}

/// The failures of earlier runs, by source key (empty when none or unreadable: a lost failure
/// list only means those files are tried again).
pub fn load_failures(dir: &Path) -> HashMap<String, Failure> {
    std::fs::read(dir.join(FAILURES_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Writes the failures.
pub fn save_failures(dir: &Path, failures: &HashMap<String, Failure>) -> Result<()> {
    let mut sorted: Vec<(&String, &Failure)> = failures.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let map: serde_json::Map<String, serde_json::Value> =
        sorted.into_iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect();
    write_atomic(dir, FAILURES_FILE, &serde_json::to_vec_pretty(&map).unwrap_or_default())
}

/// What the last run did, for `stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
    /// The roots it walked.
    pub roots: Vec<String>,
    /// Files seen.
    pub files: usize,
    /// New or changed documents extracted and indexed.
    pub indexed: usize,
    /// Unchanged, skipped.
    pub unchanged: usize,
    /// Moved or renamed (same content), re-pointed without extraction.
    pub moved: usize,
    /// Gone from the roots, removed from the index.
    pub removed: usize,
    /// Failed in this run.
    pub failed: usize,
    /// Failed in an earlier run and unchanged since, not tried again.
    pub failed_before: usize,
    /// Bytes read for extraction.
    pub bytes: u64,
}

/// Reads the last run's summary.
pub fn load_last_run(dir: &Path) -> Option<LastRun> {
    std::fs::read(dir.join(LAST_RUN_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

/// Writes the last run's summary.
pub fn save_last_run(dir: &Path, run: &LastRun) -> Result<()> {
    write_atomic(dir, LAST_RUN_FILE, &serde_json::to_vec_pretty(run).unwrap_or_default())
}
