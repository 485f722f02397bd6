//! Curators' corrections of facet tags: an append-only audit log beside the index
//! (`wash-lessons.corrections.jsonl`, one JSON line per correction: when, who, which document,
//! which paths added and removed), folded into the corrections in force for each document.
//!
//! Corrections are applied whenever a document is written ([`super::WashIndex::to_document`]),
//! so they survive re-indexing and changed files (same id) and win over automatic evidence; a
//! move of the file is logged as a move of its corrections to the new id. Nothing is ever
//! rewritten in the log: it is the audit trail.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::config::family_of;
use crate::document::{CuratorNote, Record, Tag, TagSource};
use crate::enrich::combine::in_subtree;
use crate::error::{Error, Result};

/// The log's file name in the index folder.
pub const FILE: &str = "wash-lessons.corrections.jsonl";

/// A path added by a curator, with its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Added {
    /// The facet path.
    pub path: String,
    /// Its label in the taxonomy.
    pub label: String,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Entry {
    /// Paths added to and removed from a document.
    Correct {
        /// When (RFC 3339, UTC).
        at: String,
        /// Who: the key's name, or "cli".
        by: String,
        /// The document's id.
        id: String,
        /// Its path then (for people reading the log).
        #[serde(default)]
        path: String,
        /// Paths added.
        #[serde(default)]
        add: Vec<Added>,
        /// Paths removed (with everything below them).
        #[serde(default)]
        remove: Vec<String>,
    },
    /// The document's file moved: its corrections follow it to its new id.
    Move {
        /// When.
        at: String,
        /// The old id.
        from: String,
        /// The new id.
        to: String,
    },
}

/// The corrections in force for one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocCorrections {
    /// Paths added: label and who/when.
    pub add: BTreeMap<String, (String, CuratorNote)>,
    /// Paths removed (with their subtrees): who/when.
    pub remove: BTreeMap<String, CuratorNote>,
}

impl DocCorrections {
    fn fold(&mut self, note: &CuratorNote, add: &[Added], remove: &[String]) {
        for r in remove {
            self.add.retain(|p, _| !in_subtree(p, r));
            self.remove.insert(r.clone(), note.clone());
        }
        for a in add {
            self.remove.retain(|p, _| !in_subtree(&a.path, p) && !in_subtree(p, &a.path));
            self.add.insert(a.path.clone(), (a.label.clone(), note.clone()));
        }
    }

    /// Applies the corrections to a record's facets: removed paths (and what is below them) go,
    /// added paths are set by the curator (an automatic tag of the same path keeps its evidence).
    pub fn apply(&self, r: &mut Record) {
        for tags in r.facets.values_mut() {
            tags.retain(|t| t.source != TagSource::Curator && !self.remove.keys().any(|p| in_subtree(&t.path, p)));
        }
        for (path, (label, note)) in &self.add {
            let fam = family_of(path).unwrap_or("").to_string();
            let tags = r.facets.entry(fam).or_default();
            match tags.iter_mut().find(|t| &t.path == path) {
                Some(t) => {
                    t.source = TagSource::Curator;
                    t.curator = Some(note.clone());
                }
                None => tags.push(Tag {
                    path: path.clone(),
                    label: label.clone(),
                    source: TagSource::Curator,
                    score: 0.0,
                    threshold: 0.0,
                    evidence: Vec::new(),
                    confidence: None,
                    passages: Vec::new(),
                    curator: Some(note.clone()),
                }),
            }
            // An automatic tag above a path the curator set says less than it: it goes.
            tags.retain(|t| t.source == TagSource::Curator || t.path == *path || !in_subtree(path, &t.path));
            tags.sort_by(|a, b| a.path.cmp(&b.path));
        }
        r.facets.retain(|_, v| !v.is_empty());
    }
}

/// The log and the corrections in force, by document id.
#[derive(Debug)]
pub struct Corrections {
    path: PathBuf,
    by_doc: RwLock<HashMap<String, DocCorrections>>,
    entries: RwLock<usize>,
}

impl Corrections {
    /// Reads the log of the index in `dir` (none yet: no corrections). A line that cannot be
    /// read (a write cut by a crash) is skipped with a warning; the rest stands.
    pub fn load(dir: &Path) -> Corrections {
        let path = dir.join(FILE);
        let mut by_doc: HashMap<String, DocCorrections> = HashMap::new();
        let mut entries = 0;
        if let Ok(text) = std::fs::read_to_string(&path) {
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                match serde_json::from_str::<Entry>(line) {
                    Ok(e) => {
                        fold(&mut by_doc, &e);
                        entries += 1;
                    }
                    Err(e) => {
                        tracing::warn!(line = n + 1, error = %e, file = %path.display(), "unreadable correction skipped")
                    }
                }
            }
        }
        Corrections { path, by_doc: RwLock::new(by_doc), entries: RwLock::new(entries) }
    }

    /// Appends an entry to the log (synced to disk) and puts it in force.
    pub fn append(&self, e: &Entry) -> Result<()> {
        let mut line = serde_json::to_string(e).expect("serialisable");
        line.push('\n');
        let io = |source| Error::Io { path: self.path.clone(), source };
        let mut f = std::fs::OpenOptions::new().create(true).append(true).read(true).open(&self.path).map_err(io)?;
        // A line cut by a crash is closed first, so that this one stays readable.
        let len = f.metadata().map_err(io)?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8];
            f.seek(SeekFrom::Start(len - 1)).map_err(io)?;
            f.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                line.insert(0, '\n');
            }
        }
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        fold(&mut self.by_doc.write().unwrap_or_else(|e| e.into_inner()), e);
        *self.entries.write().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(())
    }

    /// The corrections in force for a document.
    pub fn of(&self, id: &str) -> Option<DocCorrections> {
        self.by_doc.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// Ids of the corrected documents.
    pub fn documents(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_doc.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        v.sort();
        v
    }

    /// Entries in the log.
    pub fn entries(&self) -> usize {
        *self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the corrections of `r.id`, if any.
    pub fn apply(&self, r: &mut Record) {
        if let Some(c) = self.by_doc.read().unwrap_or_else(|e| e.into_inner()).get(&r.id) {
            c.apply(r);
        }
    }
}

fn fold(by_doc: &mut HashMap<String, DocCorrections>, e: &Entry) {
    match e {
        Entry::Correct { at, by, id, add, remove, .. } => {
            let note = CuratorNote { by: by.clone(), at: at.clone() };
            by_doc.entry(id.clone()).or_default().fold(&note, add, remove);
        }
        Entry::Move { from, to, .. } => {
            if let Some(c) = by_doc.remove(from) {
                by_doc.insert(to.clone(), c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(path: &str, source: TagSource) -> Tag {
        Tag {
            path: path.into(),
            label: path.into(),
            source,
            score: 2.0,
            threshold: 2.0,
            evidence: vec![],
            confidence: Some(0.6),
            passages: vec![],
            curator: None,
        }
    }

    fn record() -> Record {
        let mut r: Record = serde_json::from_value(serde_json::json!({
            "id": "d1", "path": "a.txt", "format": "text", "title": "t", "authors": [], "language": "en",
            "language_confidence": 1.0, "year": null, "year_source": null, "countries": [], "country_mentions": [],
            "doctype": "/doctype/report", "keywords": [], "description": null, "facets": {}, "words": 1,
            "warnings": [], "pages": []
        }))
        .unwrap();
        r.facets.insert("context".into(), vec![tag("/context/setting/urban", TagSource::Text)]);
        r.facets
            .insert("failure_cause".into(), vec![tag("/failure_cause/financial/funding-ended", TagSource::Meaning)]);
        r
    }

    fn correct(add: &[&str], remove: &[&str], at: &str) -> Entry {
        Entry::Correct {
            at: at.into(),
            by: "alice".into(),
            id: "d1".into(),
            path: "a.txt".into(),
            add: add.iter().map(|p| Added { path: p.to_string(), label: "L".into() }).collect(),
            remove: remove.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn corrections_win_persist_in_the_log_and_follow_a_move() {
        let dir = tempfile::tempdir().unwrap();
        let c = Corrections::load(dir.path());
        c.append(&correct(&["/failure_cause/financial"], &["/context/setting/urban"], "2026-12-01T00:00:00Z")).unwrap();
        c.append(&correct(
            &["/context/setting/rural"],
            &["/failure_cause/financial/funding-ended"],
            "2026-12-02T00:00:00Z",
        ))
        .unwrap();
        let mut r = record();
        c.apply(&mut r);
        let paths: Vec<&str> = r.facets.values().flatten().map(|t| t.path.as_str()).collect();
        assert_eq!(paths, ["/context/setting/rural", "/failure_cause/financial"]);
        let rural = &r.facets["context"][0];
        assert_eq!(rural.source, TagSource::Curator);
        assert_eq!(rural.curator.as_ref().unwrap().by, "alice");
        // Read back from the log, the same corrections are in force.
        let again = Corrections::load(dir.path());
        assert_eq!(again.of("d1"), c.of("d1"));
        assert_eq!(again.entries(), 2);
        // A move carries them to the new id.
        again.append(&Entry::Move { at: "2026-12-03T00:00:00Z".into(), from: "d1".into(), to: "d2".into() }).unwrap();
        assert!(again.of("d1").is_none() && again.of("d2").is_some());
        // The log only grows.
        let lines = std::fs::read_to_string(dir.path().join(FILE)).unwrap().lines().count();
        assert_eq!(lines, 3);
    }

    #[test]
    fn a_cut_line_is_skipped_and_the_rest_stands() {
        let dir = tempfile::tempdir().unwrap();
        let c = Corrections::load(dir.path());
        c.append(&correct(&["/context/setting/rural"], &[], "2026-12-01T00:00:00Z")).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(dir.path().join(FILE)).unwrap();
        f.write_all(b"{\"op\":\"correct\",\"at\":\"2026").unwrap();
        let again = Corrections::load(dir.path());
        assert_eq!(again.entries(), 1);
        assert!(again.of("d1").unwrap().add.contains_key("/context/setting/rural"));
        // The next correction is not lost in the cut line.
        again.append(&correct(&["/context/setting/urban"], &[], "2026-12-02T00:00:00Z")).unwrap();
        assert_eq!(Corrections::load(dir.path()).entries(), 2);
    }
}
