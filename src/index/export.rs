//! Records out of the index and back in. Every document is one JSON object a line (NDJSON) in
//! the shape of the OpenSearch template and the Quickwit config of `index-config/export/`: the
//! record's fields, its facets with confidence and evidence, `facet_paths` for filters, the text
//! in the field of its language (`text_en`, `text_fr`...; pages separated by form feeds), and
//! its passages with their vectors. Such lines read back into an index (a round trip, or
//! records moved between nodes) give the same documents and vectors.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::{json, Value};
use tantivy::{DocAddress, Searcher};

use super::vectors::{self, PassageBlob};
use super::{FileState, WashIndex};
use crate::document::{PageText, Record};
use crate::error::{Error, Result};
use crate::model::DIM;

/// The OpenSearch / Elasticsearch index template the records fit.
pub const OPENSEARCH_TEMPLATE: &str = include_str!("../../index-config/export/opensearch-template.json");
/// The Quickwit index config the records fit.
pub const QUICKWIT_INDEX: &str = include_str!("../../index-config/export/quickwit-index.json");

/// Separates pages in the text field.
const PAGE_BREAK: char = '\u{c}';
/// Documents read per scan of the passages.
const CHUNK: usize = 512;

/// What an export wrote.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ExportStats {
    /// Documents.
    pub documents: u64,
    /// Passages with a vector.
    pub passages: u64,
}

/// Writes every live document of `searcher` to `out`, one JSON object a line; passages carry
/// their vectors unless `vectors` is false.
pub fn export(idx: &WashIndex, searcher: &Searcher, out: &mut dyn Write, vectors: bool) -> Result<ExportStats> {
    let mut addrs = Vec::new();
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let Some(ids) = seg.fast_fields().str("id")? else { continue };
        let alive = seg.alive_bitset();
        for doc in 0..seg.max_doc() {
            if alive.is_none_or(|a| a.is_alive(doc)) && ids.term_ords(doc).next().is_some() {
                addrs.push(DocAddress::new(ord as u32, doc));
            }
        }
    }
    let mut stats = ExportStats::default();
    let io = |e: std::io::Error| Error::Index(format!("cannot write the export: {e}"));
    for chunk in addrs.chunks(CHUNK) {
        let docs: Vec<_> = chunk.iter().map(|a| searcher.doc(*a)).collect::<tantivy::Result<_>>()?;
        let records: Vec<Record> = docs.iter().map(|d| idx.full_record(d)).collect::<Result<_>>()?;
        let ids: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        let passages = vectors::stored(searcher, &ids)?;
        for (doc, record) in docs.iter().zip(&records) {
            let (state, source) = idx.stored_state(doc);
            let blobs = passages.get(&record.id).map(Vec::as_slice).unwrap_or(&[]);
            let line = to_line(record, state, &source, blobs, vectors);
            stats.passages += line["passages"].as_array().map_or(0, Vec::len) as u64;
            serde_json::to_writer(&mut *out, &line)
                .map_err(|e| Error::Index(format!("cannot write the export: {e}")))?;
            out.write_all(b"\n").map_err(io)?;
            stats.documents += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(stats)
}

/// One document as an exported line.
fn to_line(record: &Record, state: FileState, source: &str, all: &[PassageBlob], with_vectors: bool) -> Value {
    let mut v = serde_json::to_value(record).unwrap_or(Value::Null);
    let Value::Object(m) = &mut v else { return v };
    m.remove("pages");
    let text: Vec<&str> = record.pages.iter().map(|p| p.text.as_str()).collect();
    m.insert(format!("text_{}", record.language), Value::String(text.join(&PAGE_BREAK.to_string())));
    let mut paths: Vec<&str> = record.facets.values().flatten().map(|t| t.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    m.insert("facet_paths".into(), json!(paths));
    m.insert("source".into(), json!(source));
    m.insert("file_state".into(), json!({"size": state.size, "mtime_ns": state.mtime_ns, "hash": state.hash}));
    m.insert("embedded".into(), json!(!all.is_empty()));
    // In reading order (title first), whatever segments they were written to.
    let mut blobs: Vec<&PassageBlob> = all.iter().filter(|b| b.vector.len() == DIM).collect();
    blobs.sort_by_key(|b| (b.page, b.start, b.end));
    let passages: Vec<Value> = blobs
        .iter()
        .map(|b| {
            let text = passage_text(record, b);
            let mut p = json!({"page": b.page, "start": b.start, "end": b.end, "text": text});
            if with_vectors {
                p["vector"] = json!(b.vector.iter().map(|&x| x as f32 * b.scale).collect::<Vec<f32>>());
            }
            p
        })
        .collect();
    m.insert("passages".into(), Value::Array(passages));
    v
}

/// The text of a passage: the title (page 0) or a range of its page.
fn passage_text<'a>(record: &'a Record, b: &PassageBlob) -> &'a str {
    if b.page == 0 {
        return &record.title;
    }
    record
        .pages
        .iter()
        .find(|p| p.number == b.page)
        .and_then(|p| p.text.get(b.start as usize..b.end as usize))
        .unwrap_or("")
}

/// What an import read.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportStats {
    /// Documents written (replacing any with the same id).
    pub documents: u64,
    /// Passages with a vector written.
    pub passages: u64,
    /// Lines that could not be read; each was reported and skipped.
    pub failed: u64,
}

/// A document and its passage blobs read from an exported line.
struct Imported {
    record: Record,
    state: FileState,
    source: String,
    embedded: bool,
    blobs: Vec<PassageBlob>,
}

/// Reads exported lines into `idx` (documents of the same id are replaced), committing every
/// `commit_every` documents and at the end. A line that cannot be read is reported through
/// `failed` (line number, reason) and skipped; the others go in.
pub fn import(
    idx: &WashIndex,
    input: &mut dyn BufRead,
    served: &[String],
    commit_every: usize,
    failed: &dyn Fn(usize, &str),
) -> Result<ImportStats> {
    let mut writer = idx.writer(128)?;
    let mut stats = ImportStats::default();
    let mut since_commit = 0;
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = input.read_line(&mut line).map_err(|e| Error::Index(format!("cannot read the records: {e}")))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let d = match from_line(&line) {
            Ok(d) => d,
            Err(why) => {
                failed(number, &why);
                stats.failed += 1;
                continue;
            }
        };
        writer.delete_term(idx.id_term(&d.record.id));
        writer.delete_term(idx.passage_term(&d.record.id));
        writer.add_document(idx.to_document(&d.record, d.state, served, &d.source))?;
        let version = vectors::version(d.state);
        for b in &d.blobs {
            writer.add_document(idx.passage_document(&d.record.id, version, &vectors::encode(b)))?;
        }
        if d.embedded && d.blobs.is_empty() {
            let marker = PassageBlob { page: 0, start: 0, end: 0, text_hash: 0, scale: 0.0, vector: Vec::new() };
            writer.add_document(idx.passage_document(&d.record.id, version, &vectors::encode(&marker)))?;
        }
        stats.documents += 1;
        stats.passages += d.blobs.len() as u64;
        since_commit += 1;
        if since_commit >= commit_every.max(1) {
            writer.commit()?;
            since_commit = 0;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(stats)
}

/// Parses one exported line.
fn from_line(line: &str) -> std::result::Result<Imported, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut m) = v else { return Err("not a JSON object".into()) };
    let text_key = m.keys().find(|k| k.starts_with("text_")).cloned();
    let text = match text_key.and_then(|k| m.remove(&k)) {
        Some(Value::String(s)) => s,
        Some(_) => return Err("the text field is not a string".into()),
        None => String::new(),
    };
    let pages: Vec<PageText> = text
        .split(PAGE_BREAK)
        .enumerate()
        .map(|(i, t)| PageText { number: i as u32 + 1, text: t.to_string() })
        .collect();
    let state = m.remove("file_state").unwrap_or(Value::Null);
    let u = |k: &str| state[k].as_u64().unwrap_or(0);
    let state = FileState { size: u("size"), mtime_ns: u("mtime_ns"), hash: u("hash") };
    let source = m.remove("source").and_then(|s| s.as_str().map(str::to_string));
    let embedded = m.remove("embedded").and_then(|e| e.as_bool()).unwrap_or(false);
    let passages = m.remove("passages").unwrap_or(Value::Array(Vec::new()));
    m.remove("facet_paths");
    m.insert("pages".into(), serde_json::to_value(&pages).map_err(|e| e.to_string())?);
    let record: Record = serde_json::from_value(Value::Object(m)).map_err(|e| format!("not a record: {e}"))?;
    if record.id.is_empty() {
        return Err("the record has no id".into());
    }
    let Value::Array(passages) = passages else { return Err("passages is not an array".into()) };
    let mut blobs = Vec::new();
    for p in passages.iter().map(passage_blob) {
        if let Some(b) = p? {
            blobs.push(b);
        }
    }
    let source = source.unwrap_or_else(|| record.path.clone());
    Ok(Imported { record, state, source, embedded, blobs })
}

/// A passage with a vector of the model's size; None without a vector.
fn passage_blob(p: &Value) -> std::result::Result<Option<PassageBlob>, String> {
    let Some(Value::Array(v)) = p.get("vector") else { return Ok(None) };
    if v.len() != DIM {
        return Err(format!("a passage vector has {} numbers; the model's have {DIM}", v.len()));
    }
    let v: Vec<f32> =
        v.iter().map(|x| x.as_f64().map(|x| x as f32)).collect::<Option<_>>().ok_or("a vector holds a non-number")?;
    let (vector, scale) = vectors::quantize(&v);
    let n = |k: &str| p[k].as_u64().unwrap_or(0) as u32;
    let page = n("page");
    let text = p["text"].as_str().unwrap_or("");
    let text_hash = vectors::text_hash(&format!("{page}\u{1f}{text}"));
    Ok(Some(PassageBlob { page, start: n("start"), end: n("end"), text_hash, scale, vector }))
}
