//! The second phase of an indexing run: passage vectors. Keyword search works as soon as the first
//! phase commits; this phase then brings the passages in line with the documents:
//!
//! - passages of documents that are gone are removed (also without a model);
//! - a document whose passages were computed from another version of it (or never) is cut into
//!   passages again; a passage whose text is unchanged keeps its vector (the text hash is the
//!   key, so moved and renamed files are not embedded again either), the others are embedded in
//!   batches, in parallel;
//! - commits come every `commit_every_secs`, between documents, so a run killed here leaves
//!   every document with either its old passages or its new ones, and the next run resumes.
//!
//! A small file in the index folder records whether every document has its vectors, so that a
//! run with nothing new does not look at passages at all.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::{DocAddress, IndexWriter, Searcher};

use crate::enrich::passages;
use crate::error::{Error, Result};
use crate::index::vectors::{self, PassageBlob};
use crate::index::{FileState, WashIndex};
use crate::model::{Model, DIM};

const STATE_FILE: &str = "wash-lessons.vectors.json";
/// Passages embedded together.
const BATCH: usize = 256;

/// What the phase did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmbedSummary {
    /// Documents whose passages were (re)computed.
    pub documents: usize,
    /// Passages embedded.
    pub embedded: usize,
    /// Passages whose text was unchanged and kept their vector.
    pub reused: usize,
    /// Documents whose passages were removed (the document is gone, or no model to redo them).
    pub removed: usize,
    /// Documents still without current vectors (no model installed).
    pub pending: usize,
    /// Wall time, milliseconds.
    pub took_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct State {
    complete: bool,
}

/// Whether the last phase left every document with its vectors.
pub fn complete(idx: &WashIndex) -> bool {
    std::fs::read(idx.dir.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<State>(&b).ok())
        .is_some_and(|s| s.complete)
}

fn save_state(idx: &WashIndex, complete: bool) -> Result<()> {
    let path = idx.dir.join(STATE_FILE);
    let tmp = idx.dir.join(format!("{STATE_FILE}.tmp"));
    let body = serde_json::to_vec(&State { complete }).expect("serialisable");
    std::fs::write(&tmp, body).and_then(|_| std::fs::rename(&tmp, &path)).map_err(|source| Error::Io { path, source })
}

/// Brings passages in line with documents; embeds with `model` when there is one.
pub fn run(idx: &WashIndex, model: Option<&Model>, commit_every_secs: u64, progress: bool) -> Result<EmbedSummary> {
    let start = Instant::now();
    let mut summary = EmbedSummary::default();
    let reader = idx.reader(false)?;
    let searcher = reader.searcher();
    let docs = documents(&searcher)?;
    let passages = passage_versions(&searcher)?;
    let orphans: Vec<&String> = passages.keys().filter(|p| !docs.contains_key(*p)).collect();
    let mut todo: Vec<(&String, u64, DocAddress)> = docs
        .iter()
        .filter(|(id, (v, _))| passages.get(*id).is_none_or(|vs| vs.len() != 1 || !vs.contains(v)))
        .map(|(id, (v, a))| (id, *v, *a))
        .collect();
    todo.sort_by_key(|(_, _, a)| (a.segment_ord, a.doc_id));
    if orphans.is_empty() && todo.is_empty() {
        save_state(idx, true)?;
        summary.took_ms = start.elapsed().as_millis() as u64;
        return Ok(summary);
    }
    let mut writer = idx.writer(64)?;
    let Some(model) = model else {
        // Without a model, passages that no longer describe their document go; the documents
        // wait for a model.
        for p in &orphans {
            writer.delete_term(idx.passage_term(p));
        }
        let stale: Vec<_> = todo.iter().filter(|(id, _, _)| passages.contains_key(*id)).collect();
        for (id, _, _) in &stale {
            writer.delete_term(idx.passage_term(id));
        }
        summary.removed = orphans.len() + stale.len();
        summary.pending = todo.len();
        commit(idx, &mut writer)?;
        save_state(idx, todo.is_empty())?;
        summary.took_ms = start.elapsed().as_millis() as u64;
        return Ok(summary);
    };

    // Vectors of passages about to be replaced, by text: unchanged text is not embedded again.
    let replaced: HashSet<&str> =
        orphans.iter().map(|s| s.as_str()).chain(todo.iter().map(|(id, _, _)| id.as_str())).collect();
    let mut reuse = reusable(&searcher, &replaced)?;
    for p in &orphans {
        writer.delete_term(idx.passage_term(p));
    }
    summary.removed = orphans.len();

    let bar = bar(progress, todo.len() as u64);
    let commit_every = Duration::from_secs(commit_every_secs.max(1));
    let mut last_commit = Instant::now();
    let mut pending: Vec<Pending> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for (id, version, addr) in &todo {
        let doc = searcher.doc(*addr)?;
        let record = idx.full_record(&doc)?;
        let ps = passages::of_document(&record.title, &record.pages);
        let mut blobs = Vec::with_capacity(ps.len());
        for (page, start, end, text) in ps {
            let hash = vectors::text_hash(&format!("{page}\u{1f}{text}"));
            let mut blob = PassageBlob {
                page,
                start: start as u32,
                end: end as u32,
                text_hash: hash,
                scale: 0.0,
                vector: Vec::new(),
            };
            match reuse.get(&hash) {
                Some((scale, v)) => {
                    blob.scale = *scale;
                    blob.vector = v.clone();
                    summary.reused += 1;
                    blobs.push((blob, None));
                }
                None => {
                    blobs.push((blob, Some(texts.len())));
                    texts.push(text.to_string());
                }
            }
        }
        pending.push(Pending { id: (*id).clone(), version: *version, blobs });
        if texts.len() >= BATCH {
            summary.embedded +=
                flush(idx, &mut writer, model, &mut pending, &mut texts, &mut reuse, &mut summary.documents)?;
            bar.set_position(summary.documents as u64);
            if last_commit.elapsed() >= commit_every {
                commit(idx, &mut writer)?;
                last_commit = Instant::now();
            }
        }
    }
    summary.embedded += flush(idx, &mut writer, model, &mut pending, &mut texts, &mut reuse, &mut summary.documents)?;
    bar.finish_and_clear();
    commit(idx, &mut writer)?;
    writer.wait_merging_threads().map_err(|e| Error::Index(format!("merging segments failed: {e}")))?;
    save_state(idx, true)?;
    summary.took_ms = start.elapsed().as_millis() as u64;
    Ok(summary)
}

struct Pending {
    id: String,
    version: u64,
    /// Each passage, with the index of its text in the batch when it needs embedding.
    blobs: Vec<(PassageBlob, Option<usize>)>,
}

/// Embeds the batch and writes the passages of the pending documents; returns passages embedded.
fn flush(
    idx: &WashIndex,
    writer: &mut IndexWriter,
    model: &Model,
    pending: &mut Vec<Pending>,
    texts: &mut Vec<String>,
    reuse: &mut HashMap<u64, (f32, Vec<i8>)>,
    documents: &mut usize,
) -> Result<usize> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = model.embed(&refs);
    let embedded = texts.len();
    for p in pending.drain(..) {
        writer.delete_term(idx.passage_term(&p.id));
        if p.blobs.is_empty() {
            // A marker: this version was looked at and has nothing to embed.
            let marker = PassageBlob { page: 0, start: 0, end: 0, text_hash: 0, scale: 0.0, vector: Vec::new() };
            writer.add_document(idx.passage_document(&p.id, p.version, &vectors::encode(&marker)))?;
        }
        for (mut blob, at) in p.blobs {
            if let Some(i) = at {
                let (q, scale) = vectors::quantize(&vecs[i * DIM..(i + 1) * DIM]);
                reuse.insert(blob.text_hash, (scale, q.clone()));
                blob.vector = q;
                blob.scale = scale;
            }
            writer.add_document(idx.passage_document(&p.id, p.version, &vectors::encode(&blob)))?;
        }
        *documents += 1;
    }
    texts.clear();
    Ok(embedded)
}

fn commit(idx: &WashIndex, writer: &mut IndexWriter) -> Result<()> {
    writer
        .commit()
        .map(|_| ())
        .map_err(|e| Error::Index(format!("cannot commit the index in {}: {e}", idx.dir.display())))
}

fn bar(enabled: bool, total: u64) -> indicatif::ProgressBar {
    if !enabled || total == 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr_with_hz(4));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} documents embedded, {per_sec}, ETA {eta}",
    ) {
        b.set_style(style);
    }
    b
}

/// Live documents: id -> (version, address).
fn documents(searcher: &Searcher) -> Result<HashMap<String, (u64, DocAddress)>> {
    let mut out = HashMap::new();
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let ff = seg.fast_fields();
        let Some(id) = ff.str("id")? else { continue };
        let (size, mtime, hash) = (ff.u64("size")?, ff.u64("mtime")?, ff.u64("hash")?);
        let ids = crate::index::column_terms(&id)?;
        let alive = seg.alive_bitset();
        for doc in 0..seg.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let Some(i) = id.term_ords(doc).next() else { continue };
            let state = FileState {
                size: size.first(doc).unwrap_or(0),
                mtime_ns: mtime.first(doc).unwrap_or(0),
                hash: hash.first(doc).unwrap_or(0),
            };
            out.insert(ids[i as usize].clone(), (vectors::version(state), DocAddress::new(ord as u32, doc)));
        }
    }
    Ok(out)
}

/// Live passages: document id -> the versions they were computed from.
fn passage_versions(searcher: &Searcher) -> Result<HashMap<String, HashSet<u64>>> {
    let mut out: HashMap<String, HashSet<u64>> = HashMap::new();
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let Some(of) = ff.str("passage_of")? else { continue };
        let version = ff.u64("passage_version")?;
        let ids = crate::index::column_terms(&of)?;
        let alive = seg.alive_bitset();
        for doc in 0..seg.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let Some(i) = of.term_ords(doc).next() else { continue };
            out.entry(ids[i as usize].clone()).or_default().insert(version.first(doc).unwrap_or(0));
        }
    }
    Ok(out)
}

/// Vectors of the live passages of the given documents, by text hash.
fn reusable(searcher: &Searcher, of: &HashSet<&str>) -> Result<HashMap<u64, (f32, Vec<i8>)>> {
    let mut out = HashMap::new();
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let (Some(parents), Some(blobs)) = (ff.str("passage_of")?, ff.bytes("passage")?) else { continue };
        let ids = crate::index::column_terms(&parents)?;
        let alive = seg.alive_bitset();
        let mut buf = Vec::new();
        for doc in 0..seg.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let Some(i) = parents.term_ords(doc).next() else { continue };
            if !of.contains(ids[i as usize].as_str()) {
                continue;
            }
            let Some(b) = blobs.term_ords(doc).next() else { continue };
            buf.clear();
            if blobs.ord_to_bytes(b, &mut buf).map_err(|e| Error::Index(format!("cannot read passages: {e}")))? {
                if let Some(blob) = vectors::decode(&buf).filter(|b| b.vector.len() == DIM) {
                    out.insert(blob.text_hash, (blob.scale, blob.vector));
                }
            }
        }
    }
    Ok(out)
}
