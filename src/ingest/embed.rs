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
//! - with the tagger ([`Tagging`]), each document whose passages were just embedded, or whose tags
//!   were decided by another tagger (or by terms alone), gets its tags decided again with the
//!   meaning of its passages, and is written again with them (same file state, same passages).
//!
//! A small file in the index folder records whether every document has its vectors and its tags
//! by meaning (and from which tagger), so that a run with nothing new does not look at passages
//! at all.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::{DocAddress, IndexWriter, Searcher};

use crate::config::Config;
use crate::document::Record;
use crate::enrich::combine::{MeaningTagger, PassageRef};
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
    /// Documents whose tags were decided again with meaning (without embedding anything: their
    /// passages were current).
    #[serde(default)]
    pub retagged: usize,
    /// Nearest-neighbour graphs built for large segments after the phase (see `index::graph`).
    #[serde(default)]
    pub graphs_built: usize,
    /// Wall time, milliseconds.
    pub took_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct State {
    complete: bool,
    /// The tagger every document was tagged with by meaning (0: none).
    #[serde(default)]
    tagger: u64,
}

/// Tagging by meaning in the vector phase.
pub struct Tagging<'a> {
    /// The tagger with its descriptions' vectors.
    pub tagger: &'a MeaningTagger,
    /// Its fingerprint ([`MeaningTagger::fingerprint`]).
    pub fingerprint: u64,
    /// The configuration (taxonomy labels, served languages).
    pub config: &'a Config,
}

/// The passages of a record as this phase embeds them, embedded now, with their vectors after
/// the index's int8 quantisation (so that tags by meaning come out the same in `inspect`, in
/// training and in the index).
pub fn embed_record<'a>(encoder: &Model, record: &'a Record) -> (Vec<f32>, Vec<PassageRef<'a>>) {
    let ps = passages::of_document(&record.title, &record.pages);
    let texts: Vec<&str> = ps.iter().map(|p| p.3).collect();
    let v = encoder.embed(&texts);
    let mut out = Vec::with_capacity(v.len());
    for chunk in v.chunks_exact(DIM) {
        let (q, s) = vectors::quantize(chunk);
        out.extend(q.iter().map(|&x| x as f32 * s));
    }
    (out, ps.iter().map(|p| PassageRef { page: p.0, text: p.3 }).collect())
}

/// Whether the last phase left every document with its vectors (and, when `tagger` is given,
/// with tags by meaning from that tagger).
pub fn complete(idx: &WashIndex, tagger: Option<u64>) -> bool {
    std::fs::read(idx.dir.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<State>(&b).ok())
        .is_some_and(|s| s.complete && tagger.is_none_or(|t| t == s.tagger))
}

fn save_state(idx: &WashIndex, complete: bool, tagger: u64) -> Result<()> {
    let path = idx.dir.join(STATE_FILE);
    let tmp = idx.dir.join(format!("{STATE_FILE}.tmp"));
    let body = serde_json::to_vec(&State { complete, tagger }).expect("serialisable");
    std::fs::write(&tmp, body).and_then(|_| std::fs::rename(&tmp, &path)).map_err(|source| Error::Io { path, source })
}

/// Brings passages in line with documents; embeds with `model` when there is one, and decides
/// tags with meaning when `tagging` is given.
pub fn run(
    idx: &WashIndex,
    model: Option<&Model>,
    tagging: Option<&Tagging>,
    commit_every_secs: f64,
    progress: bool,
) -> Result<EmbedSummary> {
    let start = Instant::now();
    let mut summary = EmbedSummary::default();
    let tagging = tagging.filter(|_| model.is_some());
    let fingerprint = tagging.map(|t| t.fingerprint).unwrap_or(0);
    let reader = idx.reader(false)?;
    let searcher = reader.searcher();
    let docs = documents(&searcher)?;
    let passages = passage_versions(&searcher)?;
    let orphans: Vec<&String> = passages.keys().filter(|p| !docs.contains_key(*p)).collect();
    let mut todo: Vec<(&String, u64, DocAddress)> = docs
        .iter()
        .filter(|(id, d)| passages.get(*id).is_none_or(|vs| vs.len() != 1 || !vs.contains(&d.version)))
        .map(|(id, d)| (id, d.version, d.addr))
        .collect();
    todo.sort_by_key(|(_, _, a)| (a.segment_ord, a.doc_id));
    let in_todo: HashSet<&str> = todo.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut retag: Vec<(&String, DocAddress)> = match tagging {
        Some(_) => docs
            .iter()
            .filter(|(id, d)| d.tagged_with != fingerprint && !in_todo.contains(id.as_str()))
            .map(|(id, d)| (id, d.addr))
            .collect(),
        None => Vec::new(),
    };
    retag.sort_by_key(|(_, a)| (a.segment_ord, a.doc_id));
    if orphans.is_empty() && todo.is_empty() && retag.is_empty() {
        save_state(idx, true, fingerprint)?;
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
        save_state(idx, todo.is_empty(), 0)?;
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

    let bar = bar(progress, (todo.len() + retag.len()) as u64);
    let commit_every = Duration::from_secs_f64(commit_every_secs.max(0.05));
    let mut last_commit = Instant::now();

    // Documents whose passages are current but whose tags are not: tagged again from the
    // vectors they have.
    if let Some(t) = tagging {
        let mut done = 0;
        for chunk in retag.chunks(64) {
            let ids: HashSet<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            let stored = vectors::stored(&searcher, &ids)?;
            for (id, addr) in chunk {
                let doc = searcher.doc(*addr)?;
                let record = idx.full_record(&doc)?;
                let blobs = stored.get(id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                rewrite(idx, &mut writer, t, &doc, record, blobs)?;
                done += 1;
                bar.set_position(done as u64);
            }
            summary.retagged += chunk.len();
            if last_commit.elapsed() >= commit_every {
                commit(idx, &mut writer)?;
                last_commit = Instant::now();
            }
        }
    }

    let mut pending: Vec<Pending> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for (id, version, addr) in &todo {
        let doc = searcher.doc(*addr)?;
        let record = idx.full_record(&doc)?;
        let blobs = passage_blobs(&record, &reuse, &mut texts, &mut summary.reused);
        let retag = tagging.map(|_| (doc, record));
        pending.push(Pending { id: (*id).clone(), version: *version, blobs, retag });
        if texts.len() >= BATCH {
            summary.embedded +=
                flush(idx, &mut writer, model, tagging, &mut pending, &mut texts, &mut reuse, &mut summary.documents)?;
            bar.set_position((summary.retagged + summary.documents) as u64);
            if last_commit.elapsed() >= commit_every {
                commit(idx, &mut writer)?;
                last_commit = Instant::now();
            }
        }
    }
    summary.embedded +=
        flush(idx, &mut writer, model, tagging, &mut pending, &mut texts, &mut reuse, &mut summary.documents)?;
    bar.finish_and_clear();
    commit(idx, &mut writer)?;
    writer.wait_merging_threads().map_err(|e| Error::Index(format!("merging segments failed: {e}")))?;
    save_state(idx, true, fingerprint)?;
    summary.took_ms = start.elapsed().as_millis() as u64;
    Ok(summary)
}

struct Pending {
    id: String,
    version: u64,
    /// Each passage, with the index of its text in the batch when it needs embedding.
    blobs: Vec<(PassageBlob, Option<usize>)>,
    /// The stored document and its record, when its tags are to be decided with meaning.
    retag: Option<(tantivy::TantivyDocument, Record)>,
}

/// Decides the tags of `record` with the meaning of its passages and writes the document again
/// (same file state and source; its passages are not touched).
fn rewrite(
    idx: &WashIndex,
    writer: &mut IndexWriter,
    t: &Tagging,
    doc: &tantivy::TantivyDocument,
    record: Record,
    blobs: &[PassageBlob],
) -> Result<()> {
    let record = retagged(t, record, blobs);
    let (state, source) = idx.stored_state(doc);
    writer.delete_term(idx.id_term(&record.id));
    writer.add_document(idx.to_document(&record, state, &t.config.settings.languages.served, &source))?;
    Ok(())
}

/// `record` with its tags decided with the meaning of its passages (`blobs`, with vectors).
fn retagged(t: &Tagging, mut record: Record, blobs: &[PassageBlob]) -> Record {
    let mut vectors = Vec::with_capacity(blobs.len() * DIM);
    let mut refs = Vec::with_capacity(blobs.len());
    for b in blobs.iter().filter(|b| b.vector.len() == DIM) {
        vectors.extend(b.vector.iter().map(|&x| x as f32 * b.scale));
        refs.push((b.page, b.start as usize, b.end as usize));
    }
    let texts: Vec<PassageRef> = refs
        .iter()
        .map(|&(page, start, end)| {
            let text = if page == 0 {
                record.title.as_str()
            } else {
                record.pages.get(page as usize - 1).and_then(|p| p.text.get(start..end)).unwrap_or("")
            };
            PassageRef { page, text }
        })
        .collect();
    let mut tagged = record.clone();
    t.tagger.retag(&mut tagged, &t.config.taxonomy, &vectors, &texts);
    drop(texts);
    record = tagged;
    record.tagged_with = t.fingerprint;
    record
}

/// The passages of `record`, each with the vector of an earlier passage of the same text from
/// `reuse`, or else the index in `texts` where its text is added to be embedded.
fn passage_blobs(
    record: &Record,
    reuse: &HashMap<u64, (f32, Vec<i8>)>,
    texts: &mut Vec<String>,
    reused: &mut usize,
) -> Vec<(PassageBlob, Option<usize>)> {
    let ps = passages::of_document(&record.title, &record.pages);
    let mut blobs = Vec::with_capacity(ps.len());
    for (page, start, end, text) in ps {
        let hash = vectors::text_hash(&format!("{page}\u{1f}{text}"));
        let mut blob =
            PassageBlob { page, start: start as u32, end: end as u32, text_hash: hash, scale: 0.0, vector: Vec::new() };
        match reuse.get(&hash) {
            Some((scale, v)) => {
                blob.scale = *scale;
                blob.vector = v.clone();
                *reused += 1;
                blobs.push((blob, None));
            }
            None => {
                blobs.push((blob, Some(texts.len())));
                texts.push(text.to_string());
            }
        }
    }
    blobs
}

/// The passages, those waiting for a vector given theirs from `vecs` (the embedded texts, in
/// order), quantised as the index keeps them.
fn with_vectors(blobs: Vec<(PassageBlob, Option<usize>)>, vecs: &[f32]) -> Vec<PassageBlob> {
    blobs
        .into_iter()
        .map(|(mut blob, at)| {
            if let Some(i) = at {
                (blob.vector, blob.scale) = vectors::quantize(&vecs[i * DIM..(i + 1) * DIM]);
            }
            blob
        })
        .collect()
}

/// Replaces the passages of document `id` with `blobs` (computed from its version `version`).
fn write_passages(
    idx: &WashIndex,
    writer: &mut IndexWriter,
    id: &str,
    version: u64,
    blobs: &[PassageBlob],
) -> Result<()> {
    writer.delete_term(idx.passage_term(id));
    if blobs.is_empty() {
        // A marker: this version was looked at and has nothing to embed.
        let marker = PassageBlob { page: 0, start: 0, end: 0, text_hash: 0, scale: 0.0, vector: Vec::new() };
        writer.add_document(idx.passage_document(id, version, &vectors::encode(&marker)))?;
    }
    for blob in blobs {
        writer.add_document(idx.passage_document(id, version, &vectors::encode(blob)))?;
    }
    Ok(())
}

/// Writes one document (new, or replacing the one with its id) together with its passages into
/// `writer`, uncommitted, so that a single commit makes both visible: an upload through the API
/// is one writer and one commit, where writing the document and then embedding it took two of
/// each. The vectors of the document's earlier passages are reused by text (looked up
/// in `searcher`); with `tagging`, the tags are decided with meaning before the document is
/// written. Returns the record as written.
#[allow(clippy::too_many_arguments)]
pub fn write_with_passages(
    idx: &WashIndex,
    writer: &mut IndexWriter,
    searcher: &Searcher,
    model: &Model,
    tagging: Option<&Tagging>,
    record: &Record,
    state: FileState,
    served: &[String],
    source: &str,
) -> Result<(Record, EmbedSummary)> {
    let start = Instant::now();
    let mut summary = EmbedSummary::default();
    let reuse = reusable(searcher, &HashSet::from([record.id.as_str()]))?;
    let mut texts = Vec::new();
    let blobs = passage_blobs(record, &reuse, &mut texts, &mut summary.reused);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = if refs.is_empty() { Vec::new() } else { model.embed(&refs) };
    summary.embedded = texts.len();
    let done = with_vectors(blobs, &vecs);
    write_passages(idx, writer, &record.id, vectors::version(state), &done)?;
    let record = match tagging {
        Some(t) => retagged(t, record.clone(), &done),
        None => record.clone(),
    };
    writer.delete_term(idx.id_term(&record.id));
    writer.add_document(idx.to_document(&record, state, served, source))?;
    summary.documents = 1;
    summary.took_ms = start.elapsed().as_millis() as u64;
    Ok((record, summary))
}

/// Embeds the batch and writes the passages of the pending documents (and the documents again,
/// with tags by meaning, when `tagging` is given); returns passages embedded.
#[allow(clippy::too_many_arguments)]
fn flush(
    idx: &WashIndex,
    writer: &mut IndexWriter,
    model: &Model,
    tagging: Option<&Tagging>,
    pending: &mut Vec<Pending>,
    texts: &mut Vec<String>,
    reuse: &mut HashMap<u64, (f32, Vec<i8>)>,
    documents: &mut usize,
) -> Result<usize> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = model.embed(&refs);
    let embedded = texts.len();
    for p in pending.drain(..) {
        let done = with_vectors(p.blobs, &vecs);
        for b in &done {
            reuse.entry(b.text_hash).or_insert_with(|| (b.scale, b.vector.clone()));
        }
        write_passages(idx, writer, &p.id, p.version, &done)?;
        if let (Some(t), Some((doc, record))) = (tagging, p.retag) {
            rewrite(idx, writer, t, &doc, record, &done)?;
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

/// A live document as the phase sees it.
struct Live {
    version: u64,
    addr: DocAddress,
    tagged_with: u64,
}

/// Live documents by id.
fn documents(searcher: &Searcher) -> Result<HashMap<String, Live>> {
    let mut out = HashMap::new();
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let ff = seg.fast_fields();
        let (size, mtime, hash) = (ff.u64("size")?, ff.u64("mtime")?, ff.u64("hash")?);
        let tagged = ff.u64("tagged_with")?;
        crate::index::for_each_by_column(seg, "id", None, |id, doc| {
            let state = FileState {
                size: size.first(doc).unwrap_or(0),
                mtime_ns: mtime.first(doc).unwrap_or(0),
                hash: hash.first(doc).unwrap_or(0),
            };
            let live = Live {
                version: vectors::version(state),
                addr: DocAddress::new(ord as u32, doc),
                tagged_with: tagged.first(doc).unwrap_or(0),
            };
            out.insert(id.to_string(), live);
        })?;
    }
    Ok(out)
}

/// Live passages: document id -> the versions they were computed from.
fn passage_versions(searcher: &Searcher) -> Result<HashMap<String, HashSet<u64>>> {
    let mut out: HashMap<String, HashSet<u64>> = HashMap::new();
    for seg in searcher.segment_readers() {
        let version = seg.fast_fields().u64("passage_version")?;
        crate::index::for_each_by_column(seg, "passage_of", None, |id, doc| {
            out.entry(id.to_string()).or_default().insert(version.first(doc).unwrap_or(0));
        })?;
    }
    Ok(out)
}

/// Vectors of the live passages of the given documents, by text hash.
fn reusable(searcher: &Searcher, of: &HashSet<&str>) -> Result<HashMap<u64, (f32, Vec<i8>)>> {
    Ok(vectors::stored(searcher, of)?
        .into_values()
        .flatten()
        .filter(|b| b.vector.len() == DIM)
        .map(|b| (b.text_hash, (b.scale, b.vector)))
        .collect())
}
