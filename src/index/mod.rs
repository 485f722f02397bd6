//! The tantivy index: schema, tokenizers, opening and creating, and turning a [`Record`] into a
//! tantivy document. Tokenizers are not persisted by tantivy, so they are registered on every
//! open, before any query parser or writer is made.
//!
//! Text goes to one field per served language (stemmer and stop words of that language, accents
//! folded after stemming) and always to a language-neutral field (lowercased, accents folded),
//! with separate title fields so that titles can weigh more. Raw page text is stored once.

use std::path::{Path, PathBuf};

use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::config::{ALL_FAMILIES, TRIGGER_LANGUAGES};
use crate::document::Record;
use crate::error::{Error, Result};

pub mod corrections;
pub mod export;
pub mod graph;
pub(crate) mod signs;
pub mod vectors;

/// Bumped when the schema changes; an index of another version must be rebuilt.
pub const SCHEMA_VERSION: u32 = 6;
const VERSION_FILE: &str = "wash-lessons.version";

/// Size, modification time and content hash of an indexed file (the manifest entry stored in
/// the index's fast fields, so that it is committed atomically with the document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileState {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (for an archive member: its CRC-32).
    pub mtime_ns: u64,
    /// Content hash (first 8 bytes of BLAKE3; for an archive member: its CRC-32); 0 = unknown.
    pub hash: u64,
}

/// The fields of the schema.
#[derive(Debug, Clone)]
pub struct Fields {
    /// Stable document id (raw, the delete key).
    pub id: Field,
    /// Path shown to users (raw).
    pub path: Field,
    /// Title, stored.
    pub title: Field,
    /// Per language (en, fr, es, pt, neutral): title field.
    pub titles: Vec<(String, Field)>,
    /// Per language (en, fr, es, pt, neutral): body field.
    pub bodies: Vec<(String, Field)>,
    /// Page texts, stored in order.
    pub page: Field,
    /// The text of lessons sections (neutral analyzer), weighted more in queries.
    pub lessons: Field,
    /// The record (without pages) as JSON, stored.
    pub record: Field,
    /// Year, fast.
    pub year: Field,
    /// File size.
    pub size: Field,
    /// File modification time.
    pub mtime: Field,
    /// Content hash.
    pub hash: Field,
    /// Canonical path of the original file, stored (never shown; serves the file endpoint).
    pub source: Field,
    /// Facet fields by family (context, technology, failure_cause, approach, language, doctype,
    /// country, format).
    pub facets: Vec<(String, Field)>,
    /// Passage documents: the id of the document the passage belongs to (raw, fast).
    pub passage_of: Field,
    /// Passage documents: the version of that document they were computed from (fast).
    pub passage_version: Field,
    /// Passage documents: page, byte range, text hash and int8 vector (see [`vectors`]).
    pub passage: Field,
    /// Fingerprint of the tagger that decided the document's tags with meaning (0: by terms,
    /// waiting for the vector phase), fast.
    pub tagged_with: Field,
}

impl Fields {
    /// The facet field of a family.
    pub fn facet(&self, family: &str) -> Option<Field> {
        self.facets.iter().find(|(f, _)| f == family).map(|(_, f)| *f)
    }
    /// The body field of a language ("neutral" for the fallback).
    pub fn body(&self, lang: &str) -> Field {
        self.bodies.iter().find(|(l, _)| l == lang).map(|(_, f)| *f).unwrap_or_else(|| self.neutral_body())
    }
    /// The language-neutral body field.
    pub fn neutral_body(&self) -> Field {
        self.bodies.iter().find(|(l, _)| l == "neutral").map(|(_, f)| *f).expect("neutral body field")
    }
}

fn tokenizer_name(lang: &str) -> String {
    format!("wl_{lang}")
}

fn stemmer_language(lang: &str) -> Option<Language> {
    match lang {
        "en" => Some(Language::English),
        "fr" => Some(Language::French),
        "es" => Some(Language::Spanish),
        "pt" => Some(Language::Portuguese),
        _ => None,
    }
}

/// The analyzer of a language: words, lowercased, stop words removed, stemmed, accents folded.
pub fn analyzer(lang: &str) -> TextAnalyzer {
    match stemmer_language(lang) {
        Some(l) => {
            let b = TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser);
            match StopWordFilter::new(l) {
                Some(stop) => b.filter(stop).filter(Stemmer::new(l)).filter(AsciiFoldingFilter).build(),
                None => b.filter(Stemmer::new(l)).filter(AsciiFoldingFilter).build(),
            }
        }
        None => TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build(),
    }
}

/// The languages with their own fields, plus "neutral".
pub fn field_languages() -> Vec<String> {
    TRIGGER_LANGUAGES.iter().map(|s| s.to_string()).chain(std::iter::once("neutral".to_string())).collect()
}

/// Collection statistics for BM25 that count documents only: passage documents have no text
/// fields, and counting them would shift every IDF and the average field length as vectors come
/// and go.
pub struct DocumentStatistics<'a> {
    searcher: &'a tantivy::Searcher,
    documents: u64,
}

impl<'a> DocumentStatistics<'a> {
    /// Statistics of the documents of `searcher` (counted once: make one per request).
    pub fn new(searcher: &'a tantivy::Searcher) -> tantivy::Result<Self> {
        Ok(DocumentStatistics { searcher, documents: count_documents(searcher)? })
    }

    /// Live documents, passage documents not counted.
    pub fn documents(&self) -> u64 {
        self.documents
    }
}

/// Live documents of `searcher`, passage documents not counted. A segment never changes but
/// for its deletions, so its count is kept by (segment, deleted documents): counting every
/// document of the index on each request cost 4% of a search under load.
fn count_documents(searcher: &tantivy::Searcher) -> tantivy::Result<u64> {
    use std::collections::HashMap;
    use tantivy::query::{EnableScoring, Query};
    static COUNTS: std::sync::Mutex<Option<HashMap<(tantivy::index::SegmentId, u32), u64>>> =
        std::sync::Mutex::new(None);
    let mut total = 0;
    let mut weight = None;
    for seg in searcher.segment_readers() {
        let key = (seg.segment_id(), seg.num_deleted_docs());
        let known = COUNTS.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|m| m.get(&key).copied());
        let n = match known {
            Some(n) => n,
            None => {
                if weight.is_none() {
                    weight = Some(documents_query().weight(EnableScoring::disabled_from_searcher(searcher))?);
                }
                let n = weight.as_ref().expect("set just above").count(seg)? as u64;
                let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
                let m = counts.get_or_insert_with(HashMap::new);
                if m.len() >= 4096 {
                    m.clear();
                }
                m.insert(key, n);
                n
            }
        };
        total += n;
    }
    Ok(total)
}

impl tantivy::query::Bm25StatisticsProvider for DocumentStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        tantivy::query::Bm25StatisticsProvider::total_num_tokens(self.searcher, field)
    }
    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.documents.max(1))
    }
    /// Capped at the live documents: the term dictionary still counts deleted documents until
    /// their segment is merged, and a frequency above the total panics in tantivy's IDF (a 500
    /// for a common word once enough documents were replaced or deleted).
    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        Ok(tantivy::query::Bm25StatisticsProvider::doc_freq(self.searcher, term)?.min(self.documents.max(1)))
    }
}

/// Every term of a string column, by ordinal (each dictionary block decompressed once).
pub fn column_terms(col: &tantivy::columnar::StrColumn) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(col.num_terms());
    let mut stream = col.dictionary().stream().map_err(|e| Error::Index(format!("cannot read the index: {e}")))?;
    while stream.advance() {
        out.push(String::from_utf8_lossy(stream.key()).into_owned());
    }
    Ok(out)
}

/// Every live document of `seg` with a value in the string column `column` (an indexed, fast
/// field: "id", "passage_of"), given to `f` with that value. With `only`, just the documents
/// holding those values, each looked up in the field's postings instead of a pass over every
/// document of the segment (an upload needs its own document, not the index's).
pub fn for_each_by_column(
    seg: &tantivy::SegmentReader,
    column: &str,
    only: Option<&[&str]>,
    mut f: impl FnMut(&str, tantivy::DocId),
) -> Result<()> {
    use tantivy::DocSet;
    let alive = seg.alive_bitset();
    let is_alive = |doc| alive.is_none_or(|a| a.is_alive(doc));
    match only {
        Some(wanted) => {
            let field = seg.schema().get_field(column)?;
            let inv = seg.inverted_index(field)?;
            for &value in wanted {
                let term = Term::from_field_text(field, value);
                let postings = inv
                    .read_postings(&term, IndexRecordOption::Basic)
                    .map_err(|e| Error::Index(format!("cannot read the index: {e}")))?;
                let Some(mut postings) = postings else { continue };
                let mut doc = postings.doc();
                while doc != tantivy::TERMINATED {
                    if is_alive(doc) {
                        f(value, doc);
                    }
                    doc = postings.advance();
                }
            }
        }
        None => {
            let Some(col) = seg.fast_fields().str(column)? else { return Ok(()) };
            let values = column_terms(&col)?;
            for doc in (0..seg.max_doc()).filter(|&d| is_alive(d)) {
                if let Some(i) = col.term_ords(doc).next() {
                    f(&values[i as usize], doc);
                }
            }
        }
    }
    Ok(())
}

/// Matches every document and no passage document.
pub fn documents_query() -> tantivy::query::ExistsQuery {
    tantivy::query::ExistsQuery::new("id".to_string(), false)
}

/// Builds the schema.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field("id", STRING | STORED | FAST);
    let path = b.add_text_field("path", STRING | STORED);
    let title = b.add_text_field("title", STORED);
    let mut titles = Vec::new();
    let mut bodies = Vec::new();
    for lang in field_languages() {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(&tokenizer_name(&lang))
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let opts = TextOptions::default().set_indexing_options(indexing);
        titles.push((lang.clone(), b.add_text_field(&format!("title_{lang}"), opts.clone())));
        bodies.push((lang.clone(), b.add_text_field(&format!("body_{lang}"), opts)));
    }
    let page = b.add_text_field("page", STORED);
    let lessons = b.add_text_field(
        "lessons",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(&tokenizer_name("neutral"))
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    let record = b.add_text_field("record", STORED);
    let year = b.add_u64_field("year_value", NumericOptions::default().set_indexed().set_fast().set_stored());
    let size = b.add_u64_field("size", STORED | FAST);
    let mtime = b.add_u64_field("mtime", STORED | FAST);
    let hash = b.add_u64_field("hash", STORED | FAST);
    let source = b.add_text_field("source", STRING | STORED | FAST);
    let facets = ALL_FAMILIES
        .iter()
        .map(|fam| (fam.to_string(), b.add_facet_field(fam, FacetOptions::default().set_stored())))
        .collect();
    let passage_of = b.add_text_field("passage_of", STRING | FAST);
    let passage_version = b.add_u64_field("passage_version", FAST);
    let passage = b.add_bytes_field("passage", FAST);
    let tagged_with = b.add_u64_field("tagged_with", FAST);
    (
        b.build(),
        Fields {
            id,
            path,
            title,
            titles,
            bodies,
            page,
            lessons,
            record,
            year,
            size,
            mtime,
            hash,
            source,
            facets,
            passage_of,
            passage_version,
            passage,
            tagged_with,
        },
    )
}

/// An open wash-lessons index.
pub struct WashIndex {
    /// The tantivy index, tokenizers registered.
    pub index: Index,
    /// Its fields.
    pub fields: Fields,
    /// Its directory.
    pub dir: PathBuf,
    /// Curators' corrections, applied to every document written.
    pub corrections: std::sync::Arc<corrections::Corrections>,
}

/// Segments below this many documents are merged after a write as soon as there are two.
pub const TINY_SEGMENT_DOCS: u32 = 500;
/// Segments from [`TINY_SEGMENT_DOCS`] to this many documents are merged as soon as there are
/// two: a tiny segment that outgrew its tier would otherwise wait for seven others of its size
/// (tantivy's log policy puts every segment under 10,000 documents in one level of eight), and
/// each costs every search.
pub const SMALL_SEGMENT_DOCS: u32 = 10_000;

impl WashIndex {
    /// Opens the index in `dir`, creating it (and the directory) when absent.
    pub fn open_or_create(dir: &Path) -> Result<WashIndex> {
        if dir.join("meta.json").is_file() {
            return Self::open(dir);
        }
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::Index(format!(
                    "{} exists and is not a directory; choose another --index",
                    dir.display()
                )));
            }
            let names: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| {
                    Error::Index(format!("cannot read {}: {e}; choose a readable --index directory", dir.display()))
                })?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            // A creation killed half-way leaves our version file and tantivy's bookkeeping but no
            // meta.json: that is ours to finish, not a foreign folder.
            const LEFTOVERS: [&str; 4] = [VERSION_FILE, ".managed.json", ".tantivy-meta.lock", ".tantivy-writer.lock"];
            // tantivy writes meta.json and .managed.json through temporary files (".tmpXXXXXX").
            let half_created = names.iter().any(|n| n == VERSION_FILE)
                && names.iter().all(|n| LEFTOVERS.contains(&n.as_str()) || n.starts_with(".tmp"));
            if half_created {
                for n in &names {
                    let _ = std::fs::remove_file(dir.join(n));
                }
            } else if !names.is_empty() {
                return Err(Error::Index(format!(
                    "{} is not empty and holds no wash-lessons index; give an empty or new --index directory",
                    dir.display()
                )));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Index(format!("cannot create index directory {}: {e}; choose a writable --index", dir.display()))
        })?;
        std::fs::write(dir.join(VERSION_FILE), SCHEMA_VERSION.to_string())
            .map_err(|e| Error::Index(format!("cannot write in {}: {e}; choose a writable --index", dir.display())))?;
        let (schema, fields) = schema();
        let mut index = Index::create_in_dir(dir, schema)
            .map_err(|e| Error::Index(format!("cannot create index in {}: {e}", dir.display())))?;
        register_tokenizers(&mut index);
        let corrections = std::sync::Arc::new(corrections::Corrections::load(dir));
        Ok(WashIndex { index, fields, dir: dir.to_path_buf(), corrections })
    }

    /// Opens an existing index.
    pub fn open(dir: &Path) -> Result<WashIndex> {
        if !dir.join("meta.json").is_file() {
            return Err(Error::Index(format!(
                "no index in {}: build one with `wash-lessons index --index {} PATH...`",
                dir.display(),
                dir.display()
            )));
        }
        let version = std::fs::read_to_string(dir.join(VERSION_FILE)).unwrap_or_default();
        if version.trim() != SCHEMA_VERSION.to_string() {
            return Err(Error::Index(format!(
                "the index in {} was built by another version of wash-lessons (schema {:?}, this one needs {SCHEMA_VERSION}); \
                 delete it and index again",
                dir.display(),
                version.trim()
            )));
        }
        let mut index = Index::open_in_dir(dir)
            .map_err(|e| Error::Index(format!("cannot open index in {}: {e}", dir.display())))?;
        register_tokenizers(&mut index);
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(Error::Index(format!(
                "the index in {} was built with another schema by another version of wash-lessons; \
                 delete it and index again",
                dir.display()
            )));
        }
        let corrections = std::sync::Arc::new(corrections::Corrections::load(dir));
        Ok(WashIndex { index, fields, dir: dir.to_path_buf(), corrections })
    }

    /// A reader that reloads when asked (read-your-writes), or on commit when `follow` is set.
    pub fn reader(&self, follow: bool) -> Result<IndexReader> {
        let policy = if follow { ReloadPolicy::OnCommitWithDelay } else { ReloadPolicy::Manual };
        Ok(self.index.reader_builder().reload_policy(policy).try_into()?)
    }

    /// A writer with `memory_mb` of budget. Another process writing gets a clear error.
    pub fn writer(&self, memory_mb: usize) -> Result<IndexWriter> {
        self.index.writer(memory_mb << 20).map_err(|e| self.writer_error(e))
    }

    fn writer_error(&self, e: tantivy::TantivyError) -> Error {
        match e {
            tantivy::TantivyError::LockFailure(..) => Error::IndexBusy(format!(
                "the index in {} is being written by another wash-lessons process; wait for it to finish and run again",
                self.dir.display()
            )),
            e => Error::Index(format!("cannot write the index in {}: {e}", self.dir.display())),
        }
    }

    /// Merges the segments that tantivy's log merge policy would merge, now, and waits: what a
    /// writer that commits many small changes needs (each upload through the API is a writer of
    /// its own, and its background merges never finished: a merge that a commit starts is
    /// dropped with the writer, or refused at its end when the same commit emptied one of its
    /// segments, as an upload's document rewritten with its passages does; tantivy logs
    /// "couldn't find segment in SegmentManager"). Without it, 80 uploads left 120 segments,
    /// and every search paid for each. Returns the segments merged.
    ///
    /// Segments of fewer than [`TINY_SEGMENT_DOCS`] documents (an upload or two and their
    /// passages) are merged as soon as there are two, so that uploads leave one such segment
    /// instead of up to seven: a hybrid search over 3 segments answered 438-442 requests/s under
    /// load against 381-412 over the same index as 8 (2 large, 6 of a document each). Merging
    /// them rewrites at most that many small documents. So are segments of up to
    /// [`SMALL_SEGMENT_DOCS`] (a tiny one that grew, and the one before it: a few thousand
    /// documents rewritten now and then); larger segments follow the log policy.
    pub fn merge_small_segments(&self) -> Result<usize> {
        if self.small_merges()?.is_empty() {
            return Ok(0);
        }
        self.merge_small_segments_in(self.single_writer()?)
    }

    /// [`WashIndex::merge_small_segments`] with the writer that has just committed (which
    /// saves opening another), consuming it.
    pub fn merge_small_segments_in(&self, mut w: IndexWriter) -> Result<usize> {
        w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let mut merged = 0;
        // A merge can make a segment for the next tier up (tiny ones merged into a small one):
        // a few rounds, each over the segments the last left.
        for _ in 0..3 {
            let candidates = self.small_merges()?;
            if candidates.is_empty() {
                break;
            }
            for c in candidates {
                merged += c.0.len();
                w.merge(&c.0).wait().map_err(|e| Error::Index(format!("merging segments failed: {e}")))?;
            }
        }
        w.wait_merging_threads().map_err(|e| Error::Index(format!("merging segments failed: {e}")))?;
        Ok(merged)
    }

    /// The merges [`WashIndex::merge_small_segments`] makes.
    fn small_merges(&self) -> Result<Vec<tantivy::indexer::MergeCandidate>> {
        use tantivy::indexer::MergePolicy;
        let metas: Vec<_> = self.index.searchable_segment_metas()?.into_iter().filter(|m| m.num_docs() > 0).collect();
        let (tiny, rest): (Vec<_>, Vec<_>) = metas.into_iter().partition(|m| m.num_docs() < TINY_SEGMENT_DOCS);
        let (small, rest): (Vec<_>, Vec<_>) = rest.into_iter().partition(|m| m.num_docs() < SMALL_SEGMENT_DOCS);
        let mut candidates = tantivy::indexer::LogMergePolicy::default().compute_merge_candidates(&rest);
        for tier in [tiny, small] {
            if tier.len() >= 2 {
                candidates.push(tantivy::indexer::MergeCandidate(tier.iter().map(|m| m.id()).collect()));
            }
        }
        Ok(candidates)
    }

    /// A writer for one document's worth of changes (an upload, a deletion): one indexing
    /// thread, so that its documents land in one segment, the smallest memory budget, and no
    /// merges of its own (they would be dropped with it; see
    /// [`WashIndex::merge_small_segments_in`]).
    pub fn single_writer(&self) -> Result<IndexWriter> {
        let w = self.index.writer_with_num_threads(1, 16 << 20).map_err(|e| self.writer_error(e))?;
        w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        Ok(w)
    }

    /// The stored document with this id.
    pub fn find_document(&self, searcher: &tantivy::Searcher, id: &str) -> Result<Option<TantivyDocument>> {
        let q = tantivy::query::TermQuery::new(self.id_term(id), IndexRecordOption::Basic);
        let top = searcher.search(&q, &tantivy::collector::TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            Some((_, addr)) => Ok(Some(searcher.doc(*addr)?)),
            None => Ok(None),
        }
    }

    /// The record of a stored document, without its pages.
    pub fn stored_record(&self, doc: &TantivyDocument) -> Result<Record> {
        use tantivy::schema::Value;
        let json = doc.get_first(self.fields.record).and_then(|v| v.as_str()).unwrap_or("");
        serde_json::from_str(json)
            .map_err(|e| Error::Index(format!("stored record unreadable ({e}); re-index the file")))
    }

    /// The record of a stored document, pages included.
    pub fn full_record(&self, doc: &TantivyDocument) -> Result<Record> {
        use tantivy::schema::Value;
        let mut record = self.stored_record(doc)?;
        record.pages = doc
            .get_all(self.fields.page)
            .filter_map(|v| v.as_str())
            .enumerate()
            .map(|(i, t)| crate::document::PageText { number: i as u32 + 1, text: t.to_string() })
            .collect();
        Ok(record)
    }

    /// The file state and source stored with a document (to write it again unchanged).
    pub fn stored_state(&self, doc: &TantivyDocument) -> (FileState, String) {
        use tantivy::schema::Value;
        let u = |f: Field| doc.get_first(f).and_then(|v| v.as_u64()).unwrap_or(0);
        let source = doc.get_first(self.fields.source).and_then(|v| v.as_str()).unwrap_or("").to_string();
        (FileState { size: u(self.fields.size), mtime_ns: u(self.fields.mtime), hash: u(self.fields.hash) }, source)
    }

    /// Documents whose tags still wait for the vector phase's tagging by meaning.
    pub fn waiting_for_meaning(&self, searcher: &tantivy::Searcher) -> Result<u64> {
        let mut n = 0;
        for seg in searcher.segment_readers() {
            let ff = seg.fast_fields();
            let Some(id) = ff.str("id")? else { continue };
            let tagged = ff.u64("tagged_with")?;
            let alive = seg.alive_bitset();
            for doc in 0..seg.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc)) || id.term_ords(doc).next().is_none() {
                    continue;
                }
                n += (tagged.first(doc).unwrap_or(0) == 0) as u64;
            }
        }
        Ok(n)
    }

    /// Live documents (passage documents, which carry vectors, are not counted).
    pub fn document_count(&self, searcher: &tantivy::Searcher) -> Result<u64> {
        Ok(count_documents(searcher)?)
    }

    /// The term that identifies the passages of a document (their delete key).
    pub fn passage_term(&self, id: &str) -> Term {
        Term::from_field_text(self.fields.passage_of, id)
    }

    /// A passage document: one passage of document `parent` (at `version`), encoded by
    /// [`vectors::encode`].
    pub fn passage_document(&self, parent: &str, version: u64, blob: &[u8]) -> TantivyDocument {
        let mut d = TantivyDocument::new();
        d.add_text(self.fields.passage_of, parent);
        d.add_u64(self.fields.passage_version, version);
        d.add_bytes(self.fields.passage, blob);
        d
    }

    /// The term that identifies a document (the delete key).
    pub fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.fields.id, id)
    }

    /// Turns a record into a tantivy document.
    /// `source` is the file's canonical path, or `ARCHIVE!/MEMBER` for a member of an archive.
    /// Curators' corrections of the document's tags are applied first.
    pub fn to_document(&self, r: &Record, state: FileState, served: &[String], source: &str) -> TantivyDocument {
        let mut corrected;
        let r = match self.corrections.of(&r.id) {
            Some(c) => {
                corrected = r.clone();
                c.apply(&mut corrected);
                &corrected
            }
            None => r,
        };
        let f = &self.fields;
        let mut d = TantivyDocument::new();
        d.add_text(f.source, source);
        d.add_text(f.id, &r.id);
        d.add_text(f.path, &r.path);
        d.add_text(f.title, &r.title);
        let lang = if served.contains(&r.language) && stemmer_language(&r.language).is_some() {
            r.language.as_str()
        } else {
            "neutral"
        };
        let body: String = r.pages.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n\n");
        for (l, field) in &f.titles {
            if l == lang || l == "neutral" {
                d.add_text(*field, &r.title);
            }
        }
        for (l, field) in &f.bodies {
            if l == lang || l == "neutral" {
                d.add_text(*field, &body);
            }
        }
        for p in &r.pages {
            d.add_text(f.page, &p.text);
        }
        for l in &r.lessons {
            d.add_text(f.lessons, &l.text);
        }
        let mut meta = r.clone();
        meta.pages.clear();
        d.add_text(f.record, serde_json::to_string(&meta).expect("record serialises"));
        if let Some(y) = r.year {
            d.add_u64(f.year, y as u64);
        }
        d.add_u64(f.size, state.size);
        d.add_u64(f.mtime, state.mtime_ns);
        d.add_u64(f.hash, state.hash);
        d.add_u64(f.tagged_with, r.tagged_with);
        let add = |d: &mut TantivyDocument, fam: &str, path: &str| {
            if let (Some(field), Ok(facet)) = (f.facet(fam), Facet::from_text(path)) {
                d.add_facet(field, facet);
            }
        };
        for (fam, tags) in &r.facets {
            for t in tags {
                add(&mut d, fam, &t.path);
            }
        }
        add(&mut d, "language", &format!("/language/{}", r.language));
        add(&mut d, "doctype", &r.doctype);
        add(&mut d, "format", &format!("/format/{}", r.format.as_str()));
        for c in &r.countries {
            add(&mut d, "country", &format!("/country/{c}"));
        }
        if let Some(y) = r.year {
            add(&mut d, "year", &format!("/year/{y}"));
        }
        if r.scanned_pages.iter().any(|n| !r.ocr_pages.contains(n)) {
            add(&mut d, "scan", "/scan/needs-ocr");
        }
        if !r.ocr_pages.is_empty() {
            add(&mut d, "scan", "/scan/ocr");
        }
        d
    }
}

const ROOTS_FILE: &str = "wash-lessons.roots";

impl WashIndex {
    /// The folders (and single files) whose documents this index holds: the only places the file
    /// endpoint serves from.
    pub fn roots(&self) -> Vec<PathBuf> {
        std::fs::read_to_string(self.dir.join(ROOTS_FILE))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(PathBuf::from)
            .collect()
    }

    /// Records more roots (canonical paths), written atomically.
    pub fn add_roots(&self, roots: &[PathBuf]) -> Result<()> {
        let mut all = self.roots();
        for r in roots {
            if let Ok(c) = std::fs::canonicalize(r) {
                if !all.contains(&c) {
                    all.push(c);
                }
            }
        }
        let text: String = all.iter().map(|p| format!("{}\n", p.display())).collect();
        let tmp = self.dir.join(format!("{ROOTS_FILE}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, self.dir.join(ROOTS_FILE)))
            .map_err(|e| Error::Index(format!("cannot write {} in {}: {e}", ROOTS_FILE, self.dir.display())))
    }
}

/// Registers the analyzers on an index (needed on every open).
pub fn register_tokenizers(index: &mut Index) {
    for lang in field_languages() {
        index.tokenizers().register(&tokenizer_name(&lang), analyzer(&lang));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(lang: &str, text: &str) -> Vec<String> {
        let mut a = analyzer(lang);
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn analyzers_stem_then_fold() {
        assert_eq!(tokens("en", "the latrines"), vec!["latrin"]);
        assert_eq!(tokens("fr", "échoué"), tokens("fr", "echoue"));
        assert_eq!(tokens("neutral", "Échoué"), vec!["echoue"]);
        assert_eq!(tokens("es", "las bombas"), tokens("es", "bomba"));
    }

    #[test]
    fn refuses_a_non_empty_foreign_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious.txt"), "x").unwrap();
        let e = WashIndex::open_or_create(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not empty"), "{e}");
    }

    #[test]
    fn a_creation_killed_half_way_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(VERSION_FILE), SCHEMA_VERSION.to_string()).unwrap();
        std::fs::write(dir.path().join(".tantivy-meta.lock"), "").unwrap();
        // tantivy's atomic writes leave a temporary file when killed between write and rename.
        std::fs::write(dir.path().join(".tmpXuEEYl"), "{").unwrap();
        WashIndex::open_or_create(dir.path()).unwrap();
        assert!(dir.path().join("meta.json").is_file());
        WashIndex::open(dir.path()).unwrap();
    }

    #[test]
    fn deleted_documents_never_push_a_frequency_above_the_live_count() {
        use tantivy::query::{Bm25StatisticsProvider, QueryParser};
        let dir = tempfile::tempdir().unwrap();
        let idx = WashIndex::open_or_create(dir.path()).unwrap();
        let body = idx.fields.bodies.iter().find(|(l, _)| l == "en").unwrap().1;
        let mut w: IndexWriter = idx.index.writer_with_num_threads(1, 15 << 20).unwrap();
        w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        // Five versions of one document in one segment, each replacing the last: four deleted,
        // one live (a segment left with no live document would be dropped whole).
        for v in 0..5 {
            w.delete_term(idx.id_term("a"));
            let mut d = TantivyDocument::new();
            d.add_text(idx.fields.id, "a");
            d.add_text(body, format!("the handpump broke, version {v}"));
            w.add_document(d).unwrap();
        }
        w.commit().unwrap();
        let searcher = idx.reader(false).unwrap().searcher();
        let stats = DocumentStatistics::new(&searcher).unwrap();
        let term = Term::from_field_text(body, "handpump");
        assert_eq!(stats.documents(), 1);
        assert!(searcher.doc_freq(&term).unwrap() > 1, "the dictionary still counts the deleted versions");
        assert!(stats.doc_freq(&term).unwrap() <= stats.total_num_docs().unwrap());
        // Scoring with these statistics (tantivy asserts frequency <= total in its IDF).
        let q = QueryParser::for_index(&idx.index, vec![body]).parse_query("\"handpump broke\" handpump").unwrap();
        let top = searcher
            .search_with_statistics_provider(&q, &tantivy::collector::TopDocs::with_limit(5).order_by_score(), &stats)
            .unwrap();
        assert_eq!(top.len(), 1);
    }

    #[test]
    fn segments_of_rewritten_uploads_are_merged_on_demand() {
        let dir = tempfile::tempdir().unwrap();
        let idx = WashIndex::open_or_create(dir.path()).unwrap();
        let doc = |id: &str, v: u32| {
            let mut d = TantivyDocument::new();
            d.add_text(idx.fields.id, id);
            d.add_text(idx.fields.bodies[0].1, format!("kiosk note {v}"));
            d
        };
        // As an upload does: the document in one commit, then rewritten (its passages and tags)
        // by another writer, which empties the first segment.
        for i in 0..24 {
            let id = format!("up{i}");
            let mut w = idx.writer(32).unwrap();
            w.add_document(doc(&id, 0)).unwrap();
            w.commit().unwrap();
            drop(w);
            let mut w = idx.writer(32).unwrap();
            w.delete_term(idx.id_term(&id));
            w.add_document(doc(&id, 1)).unwrap();
            w.commit().unwrap();
            w.wait_merging_threads().unwrap();
        }
        let reader = idx.reader(false).unwrap();
        assert_eq!(reader.searcher().num_docs(), 24);
        // tantivy's own merges fail nearly every time (not always: it is a race).
        let before = reader.searcher().segment_readers().len();
        let merged = idx.merge_small_segments().unwrap();
        assert!(before < 8 || merged >= 8, "{before} segments, {merged} merged");
        reader.reload().unwrap();
        assert_eq!(reader.searcher().num_docs(), 24);
        let segments = reader.searcher().segment_readers().len();
        assert!(segments < 8, "{segments} segments after merging");
        // Segments with at least `lo` and fewer than `hi` live documents.
        let segments_between = |lo: u32, hi: u32| {
            reader.searcher().segment_readers().iter().filter(|s| s.num_docs() >= lo && s.num_docs() < hi).count()
        };
        // Small segments do not wait for seven others: after each write, one is left.
        for i in 0..3 {
            let mut w = idx.writer(32).unwrap();
            w.add_document(doc(&format!("more{i}"), 0)).unwrap();
            w.commit().unwrap();
            drop(w);
            idx.merge_small_segments().unwrap();
            reader.reload().unwrap();
            assert_eq!(segments_between(1, TINY_SEGMENT_DOCS), 1, "small segments after write {i}");
        }
        assert_eq!(reader.searcher().num_docs(), 27);
        // Segments that outgrew the tiny tier do not wait for seven others either.
        for i in 0..2 {
            let mut w = idx.writer(32).unwrap();
            for j in 0..TINY_SEGMENT_DOCS + 20 {
                w.add_document(doc(&format!("bulk{i}-{j}"), 0)).unwrap();
            }
            w.commit().unwrap();
            drop(w);
            idx.merge_small_segments().unwrap();
        }
        reader.reload().unwrap();
        let small = segments_between(TINY_SEGMENT_DOCS, SMALL_SEGMENT_DOCS);
        assert_eq!(small, 1, "segments of {TINY_SEGMENT_DOCS} to {SMALL_SEGMENT_DOCS} documents");
        assert_eq!(reader.searcher().num_docs(), 27 + 2 * (TINY_SEGMENT_DOCS as u64 + 20));
    }
}
