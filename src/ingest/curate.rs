//! Curators' corrections of a document's tags: checked against the taxonomy, appended to the
//! audit log beside the index ([`crate::index::corrections`]), and the document written again
//! with them, in one commit.

use crate::config::{check_path_syntax, family_of, Config, TAGGED_FAMILIES};
use crate::document::Record;
use crate::error::{Error, Result};
use crate::index::corrections::{Added, Entry};
use crate::index::WashIndex;

/// Checks that `path` is a taxonomy path of a tagged family; returns its label.
pub fn check(config: &Config, path: &str) -> Result<String> {
    let bad = |reason: String| Error::InvalidFilter { filter: path.to_string(), reason };
    check_path_syntax(path).map_err(bad)?;
    if !family_of(path).is_some_and(|f| TAGGED_FAMILIES.contains(&f)) {
        return Err(bad(format!("curators correct the families {}", TAGGED_FAMILIES.join(", "))));
    }
    config.taxonomy.get(path).map(|d| d.label.clone()).ok_or_else(|| bad("not a path of taxonomy.toml".into()))
}

/// Adds and removes tags of document `id` on behalf of `by`. Returns the corrected record, or
/// `None` when there is no such document (nothing is written then). Every path is checked before
/// anything is written.
pub fn correct(
    idx: &WashIndex,
    config: &Config,
    id: &str,
    add: &[String],
    remove: &[String],
    by: &str,
) -> Result<Option<Record>> {
    let added: Vec<Added> = add
        .iter()
        .map(|p| {
            let path = p.trim().trim_end_matches('/').to_string();
            check(config, &path).map(|label| Added { path, label })
        })
        .collect::<Result<_>>()?;
    let removed: Vec<String> = remove
        .iter()
        .map(|p| {
            let path = p.trim().trim_end_matches('/').to_string();
            check(config, &path).map(|_| path)
        })
        .collect::<Result<_>>()?;
    if added.is_empty() && removed.is_empty() {
        return Err(Error::InvalidRequest("nothing to correct: give paths to add or to remove".into()));
    }
    let reader = idx.reader(false)?;
    let Some(doc) = idx.find_document(&reader.searcher(), id)? else { return Ok(None) };
    let record = idx.full_record(&doc)?;
    let (state, source) = idx.stored_state(&doc);
    let mut writer = idx.writer(32)?;
    idx.corrections.append(&Entry::Correct {
        at: super::rfc3339(std::time::SystemTime::now()),
        by: by.to_string(),
        id: id.to_string(),
        path: record.path.clone(),
        add: added,
        remove: removed,
    })?;
    writer.delete_term(idx.id_term(id));
    writer.add_document(idx.to_document(&record, state, &config.settings.languages.served, &source))?;
    writer.commit().map_err(|e| Error::Index(format!("cannot commit the index in {}: {e}", idx.dir.display())))?;
    let mut out = record;
    idx.corrections.apply(&mut out);
    Ok(Some(out))
}

/// What [`learn`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Learnt {
    /// Corrected documents learnt from.
    pub documents: usize,
    /// Entries of the corrections log they reflect.
    pub corrections: usize,
    /// Where the weights went.
    pub written: std::path::PathBuf,
}

/// Name of the weights learnt beside an index.
pub const LEARNT_FILE: &str = "tagger.json";

/// Adjusts the configuration's tagger with the corrected documents of the index (their tags as
/// the curators left them are their labels) and writes the weights beside the index
/// (`tagger.json`, atomically), where `index` and `serve` pick them up. `None` when no document
/// was corrected.
pub fn learn(idx: &WashIndex, config: &Config, encoder: &crate::model::Model) -> Result<Option<Learnt>> {
    use crate::enrich::meaning::Prototypes;
    use crate::enrich::train::{refine, TrainDoc};
    let ids = idx.corrections.documents();
    let corrections = idx.corrections.entries();
    if ids.is_empty() || config.tagger.is_empty() {
        return Ok(None);
    }
    let prototypes = Prototypes::embed(encoder, &config.descriptions, &config.tagger.categories);
    let reader = idx.reader(false)?;
    let searcher = reader.searcher();
    let mut docs = Vec::new();
    for id in &ids {
        let Some(doc) = idx.find_document(&searcher, id)? else { continue };
        let record = idx.full_record(&doc)?;
        let labels = record.facets.values().flatten().map(|t| t.path.clone()).collect();
        let meaning = {
            let (vectors, _) = super::embed::embed_record(encoder, &record);
            prototypes.relative(&vectors)
        };
        docs.push(TrainDoc { record, meaning, labels, weight: 1.0, calibrate: true });
    }
    if docs.is_empty() {
        return Ok(None);
    }
    // The word classifiers stay as trained: refined on a few dozen corrected documents they
    // learnt those documents and lost on the others (benches/tagging.sh --curators: even half
    // 0.658 -> 0.556 with them, 0.669 without). The combination is refined, pulled toward the
    // shipped weights.
    let mut file = refine(&config.tagger, &docs, 0.0, 0.3);
    file.trained = format!(
        "{}; then refined {} with {} corrected documents ({} corrections)",
        config.tagger.trained,
        super::rfc3339(std::time::SystemTime::now()),
        docs.len(),
        corrections
    );
    let path = idx.dir.join(LEARNT_FILE);
    let tmp = idx.dir.join(format!("{LEARNT_FILE}.tmp"));
    let body = serde_json::to_string_pretty(&file).expect("serialisable") + "\n";
    std::fs::write(&tmp, body)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|source| Error::Io { path: path.clone(), source })?;
    Ok(Some(Learnt { documents: docs.len(), corrections, written: path }))
}
