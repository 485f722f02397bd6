//! How a document's tags are decided: three kinds of evidence per facet category, weighed by a
//! model learned from labelled real reports (`index-config/tagger.json`, made by `wash-lessons
//! tagger train`).
//!
//! - **terms**: the trigger terms of `taxonomy.toml` found in the category's paths (their
//!   weighted count, and whether they reach the path's own threshold);
//! - **words**: the word classifier's probability ([`super::words`]);
//! - **meaning** (with the sentence encoder): how close the passages come to the category's
//!   descriptions, relative to the rest of its family ([`super::meaning`]).
//!
//! A logistic regression over these (plus the category's base rate and family) gives each
//! category a probability, the tag's confidence; a threshold per family, chosen by
//! cross-validation, decides. Without the encoder a second set of weights, trained without the
//! meaning features, decides from terms and words alone.
//!
//! Which paths a decided category gets: the paths its terms tagged (the most specific), else the
//! path with the most term evidence, else the category itself. Families of the taxonomy outside
//! the model's categories keep the tags of their terms.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::learn::{logit, sigmoid, Fit};
use super::meaning::CategoryMeaning;
use super::words::{Vocabulary, WordModel};
use crate::document::{PassageEvidence, Record, Tag, TagSource, TermScore};
use crate::error::{Error, Result};

/// The families the model decides.
pub const FAMILIES: [&str; 3] = ["context", "technology", "failure_cause"];

/// Features of a row: terms (3), base rate, family (3), words (3), meaning mean (3), max (3).
pub const FEATURES: usize = 16;
/// Features used without the encoder.
pub const TEXT_FEATURES: usize = 10;

/// The file `tagger.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaggerFile {
    /// Format version, 1.
    pub version: u32,
    /// How the weights were trained (sets, documents, date).
    pub trained: String,
    /// The categories decided: context and technology at depth 2, failure causes at depth 1.
    pub categories: Vec<String>,
    /// Base rate of each category in the training documents.
    pub prior: Vec<f32>,
    /// The word classifier's stems.
    pub vocabulary: Vec<String>,
    /// Their IDF weights.
    pub idf: Vec<f32>,
    /// The word classifier of each category.
    pub words: Vec<PackedFit>,
    /// Combination without the encoder.
    pub text: Combiner,
    /// Combination with the encoder's evidence.
    pub meaning: Combiner,
}

/// A logistic regression over the vocabulary, weights packed as int8 (base64) with one scale.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackedFit {
    /// Scale of the int8 weights.
    pub scale: f32,
    /// The weights, int8, base64.
    pub weights: String,
    /// Intercept.
    pub bias: f32,
}

impl PackedFit {
    /// Packs a fit.
    pub fn pack(f: &Fit) -> PackedFit {
        let max = f.weights.iter().fold(0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let bytes: Vec<u8> = f.weights.iter().map(|w| (w / scale).round().clamp(-127.0, 127.0) as i8 as u8).collect();
        PackedFit { scale, weights: base64::engine::general_purpose::STANDARD.encode(bytes), bias: f.bias }
    }

    fn unpack(&self, dim: usize) -> std::result::Result<Fit, String> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(&self.weights).map_err(|e| format!("weights: {e}"))?;
        if bytes.len() != dim {
            return Err(format!("{} weights for a vocabulary of {dim}", bytes.len()));
        }
        Ok(Fit { weights: bytes.iter().map(|&b| b as i8 as f32 * self.scale).collect(), bias: self.bias })
    }
}

/// Weights of the combination and the threshold of each family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Combiner {
    /// One weight per feature.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
    /// Family -> probability from which a category is tagged.
    pub thresholds: BTreeMap<String, f32>,
}

impl Combiner {
    fn probability(&self, row: &[(u32, f32)]) -> f32 {
        let z: f32 =
            self.bias + row.iter().map(|&(i, v)| self.weights.get(i as usize).copied().unwrap_or(0.0) * v).sum::<f32>();
        sigmoid(z)
    }

    fn threshold(&self, family: &str) -> f32 {
        self.thresholds.get(family).copied().unwrap_or(0.5)
    }
}

/// The loaded tagger model.
#[derive(Debug, Clone, Default)]
pub struct TagModel {
    /// Categories, in order.
    pub categories: Vec<String>,
    /// Family index (in [`FAMILIES`]) of each category.
    family: Vec<usize>,
    /// Base rates.
    pub prior: Vec<f32>,
    /// The word classifier.
    pub words: WordModel,
    /// Combination without the encoder.
    pub text: Combiner,
    /// Combination with the encoder.
    pub meaning: Combiner,
    /// How it was trained.
    pub trained: String,
    /// A hash of the file: documents tagged with another model are tagged again.
    pub fingerprint: u64,
}

/// Evidence of one document, before the decision.
pub struct DocEvidence<'a> {
    /// Term scores of every path with any.
    pub terms: &'a [TermScore],
    /// Word classifier probabilities per category.
    pub words: Vec<f32>,
    /// Meaning per category, when the encoder is there.
    pub meaning: Option<&'a [CategoryMeaning]>,
}

/// A passage of the document, for the evidence of tags by meaning.
pub struct PassageRef<'a> {
    /// Page (0 = title).
    pub page: u32,
    /// Its text.
    pub text: &'a str,
}

impl TagModel {
    /// Parses `tagger.json`.
    pub fn parse(src: &str, name: &str) -> Result<TagModel> {
        let f: TaggerFile = serde_json::from_str(src).map_err(|e| Error::Config(format!("{name}: {e}")))?;
        TagModel::from_file(f, blake3::hash(src.as_bytes())).map_err(|m| Error::Config(format!("{name}: {m}")))
    }

    /// The model of a parsed file.
    pub fn from_file(f: TaggerFile, hash: blake3::Hash) -> std::result::Result<TagModel, String> {
        if f.version != 1 {
            return Err(format!("unsupported version {} (expected 1)", f.version));
        }
        let n = f.categories.len();
        if f.prior.len() != n || f.words.len() != n {
            return Err(format!("{n} categories but {} base rates and {} word models", f.prior.len(), f.words.len()));
        }
        if f.idf.len() != f.vocabulary.len() {
            return Err(format!("{} stems but {} IDF weights", f.vocabulary.len(), f.idf.len()));
        }
        if f.text.weights.len() != TEXT_FEATURES || f.meaning.weights.len() != FEATURES {
            return Err("combination weights of the wrong length".into());
        }
        let mut family = Vec::with_capacity(n);
        for c in &f.categories {
            let fam = crate::config::family_of(c).unwrap_or("");
            family.push(FAMILIES.iter().position(|x| *x == fam).ok_or_else(|| format!("category {c:?} of no family"))?);
        }
        let dim = f.vocabulary.len();
        let categories = f.words.iter().map(|p| p.unpack(dim)).collect::<std::result::Result<Vec<Fit>, String>>()?;
        let fingerprint = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
        Ok(TagModel {
            categories: f.categories,
            family,
            prior: f.prior,
            words: WordModel { vocabulary: Vocabulary::new(f.vocabulary, f.idf), categories },
            text: f.text,
            meaning: f.meaning,
            trained: f.trained,
            fingerprint,
        })
    }

    /// Whether the model has categories (the built-in one always has).
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// The family index of category `c`.
    pub fn family(&self, c: usize) -> usize {
        self.family[c]
    }

    /// The text the word classifier reads: the title and the pages.
    pub fn text_of(record: &Record) -> String {
        let mut t = record.title.clone();
        for p in &record.pages {
            t.push('\n');
            t.push_str(&p.text);
        }
        t
    }

    /// The features of category `c` (sparse), with or without meaning.
    pub fn row(&self, c: usize, ev: &DocEvidence) -> Vec<(u32, f32)> {
        let cat = &self.categories[c];
        let (mut sum, mut ratio) = (0f64, 0f64);
        for t in ev.terms {
            if in_subtree(&t.path, cat) {
                sum += t.score;
                ratio = ratio.max(t.score / t.threshold.max(1e-9));
            }
        }
        let f = self.family[c] as u32;
        let mut row = vec![
            (0, (sum as f32).ln_1p()),
            (1, ratio.min(3.0) as f32),
            (2, if ratio >= 1.0 { 1.0 } else { 0.0 }),
            (3, logit(self.prior[c])),
            (4 + f, 1.0),
            (7 + f, logit(ev.words.get(c).copied().unwrap_or(self.prior[c]))),
        ];
        if let Some(m) = ev.meaning {
            row.push((10 + f, 10.0 * m[c].mean));
            row.push((13 + f, 10.0 * m[c].max));
        }
        row
    }

    /// The probability of every category, and whether it is tagged.
    pub fn decide(&self, ev: &DocEvidence) -> Vec<(f32, bool)> {
        let comb = if ev.meaning.is_some() { &self.meaning } else { &self.text };
        (0..self.categories.len())
            .map(|c| {
                let p = comb.probability(&self.row(c, ev));
                (p, p >= comb.threshold(FAMILIES[self.family[c]]))
            })
            .collect()
    }

    /// Decides the automatic tags of a record from its term scores, its text and, when given,
    /// the meaning of its passages. Families with declared (explicit) tags are left alone.
    pub fn tag_record(
        &self,
        record: &mut Record,
        taxonomy: &crate::config::Taxonomy,
        meaning: Option<(&[CategoryMeaning], &[PassageRef])>,
    ) {
        if self.is_empty() {
            return;
        }
        let words = self.words.probabilities(&Self::text_of(record));
        let ev = DocEvidence { terms: &record.term_scores, words, meaning: meaning.map(|(m, _)| m) };
        let decided = self.decide(&ev);
        let by_path: HashMap<&str, &TermScore> = record.term_scores.iter().map(|t| (t.path.as_str(), t)).collect();
        for (fi, family) in FAMILIES.iter().enumerate() {
            // Curators' tags are set again when the document is written (their corrections are
            // kept beside the index); declared tags decide their family.
            let existing: Vec<Tag> = record
                .facets
                .get(*family)
                .map(|v| v.iter().filter(|t| t.source != TagSource::Curator).cloned().collect())
                .unwrap_or_default();
            if existing.iter().any(|t| t.source == TagSource::Explicit) {
                continue;
            }
            // Tags of paths outside the model's categories stay as the terms decided them.
            let mut tags: Vec<Tag> = existing
                .into_iter()
                .filter(|t| !self.categories.iter().any(|c| in_subtree(&t.path, c)))
                .map(|mut t| {
                    t.confidence = Some(term_confidence(t.score, t.threshold));
                    t
                })
                .collect();
            for (c, cat) in self.categories.iter().enumerate() {
                if self.family[c] != fi || !decided[c].1 {
                    continue;
                }
                let p = decided[c].0 as f64;
                let paths = paths_for(cat, &record.term_scores);
                let source = match meaning {
                    Some(_) if paths.iter().all(|p| by_path.get(p.as_str()).is_none_or(|t| t.score < t.threshold)) => {
                        TagSource::Meaning
                    }
                    _ => TagSource::Text,
                };
                let passages = match meaning {
                    Some((m, ps)) => passage_evidence(&m[c], ps),
                    None => Vec::new(),
                };
                for path in paths {
                    let t = by_path.get(path.as_str());
                    tags.push(Tag {
                        label: taxonomy.get(&path).map(|d| d.label.clone()).unwrap_or_else(|| path.clone()),
                        source,
                        score: t.map(|t| t.score).unwrap_or(0.0),
                        threshold: t.map(|t| t.threshold).unwrap_or(0.0),
                        evidence: t.map(|t| t.evidence.clone()).unwrap_or_default(),
                        confidence: Some(round2(p)),
                        passages: passages.clone(),
                        curator: None,
                        path,
                    });
                }
            }
            tags.sort_by(|a, b| a.path.cmp(&b.path));
            tags.dedup_by(|a, b| a.path == b.path);
            if tags.is_empty() {
                record.facets.remove(*family);
            } else {
                record.facets.insert(family.to_string(), tags);
            }
        }
        record.tagged_by = if meaning.is_some() { "meaning" } else { "terms" }.to_string();
    }
}

/// The tagger with the sentence encoder: the model and the vectors of its descriptions.
pub struct MeaningTagger {
    /// The trained model.
    pub model: std::sync::Arc<TagModel>,
    /// The configuration's tagger fingerprint (weights and descriptions).
    pub fingerprint: u64,
    /// The descriptions' vectors, per category of the model.
    pub prototypes: super::meaning::Prototypes,
}

impl MeaningTagger {
    /// Embeds the descriptions of `config` for the categories of its model.
    pub fn new(encoder: &crate::model::Model, config: &crate::config::Config) -> MeaningTagger {
        let path = crate::model::configured_path();
        let id = std::fs::metadata(&path).map(|m| format!("{}:{:?}", m.len(), m.modified().ok())).unwrap_or_default();
        let cache = path.parent().filter(|d| d.is_dir()).map(|d| (d, id.as_str()));
        let prototypes =
            super::meaning::Prototypes::embed_cached(encoder, &config.descriptions, &config.tagger.categories, cache);
        MeaningTagger { model: config.tagger.clone(), fingerprint: config.tagger_fingerprint, prototypes }
    }

    /// Decides the automatic tags of `record` with the meaning of its passages: `vectors` holds
    /// one unit vector (`DIM` floats) per passage of `passages`.
    pub fn retag(
        &self,
        record: &mut Record,
        taxonomy: &crate::config::Taxonomy,
        vectors: &[f32],
        passages: &[PassageRef],
    ) {
        let meaning = self.prototypes.relative(vectors);
        self.model.tag_record(record, taxonomy, Some((&meaning, passages)));
    }
}

/// Whether `path` is `cat` or below it.
pub fn in_subtree(path: &str, cat: &str) -> bool {
    path == cat || path.strip_prefix(cat).is_some_and(|r| r.starts_with('/'))
}

/// The paths a tagged category gets: the most specific paths its terms tagged; else the path
/// with the most term evidence (relative to its threshold); else the category itself.
fn paths_for(cat: &str, terms: &[TermScore]) -> Vec<String> {
    let inside: Vec<&TermScore> = terms.iter().filter(|t| in_subtree(&t.path, cat)).collect();
    let tagged: Vec<&TermScore> = inside.iter().copied().filter(|t| t.score >= t.threshold && t.score > 0.0).collect();
    if !tagged.is_empty() {
        return tagged
            .iter()
            .filter(|t| !tagged.iter().any(|o| o.path != t.path && in_subtree(&o.path, &t.path)))
            .map(|t| t.path.clone())
            .collect();
    }
    let best = inside.iter().max_by(|a, b| {
        (a.score / a.threshold.max(1e-9))
            .total_cmp(&(b.score / b.threshold.max(1e-9)))
            .then_with(|| a.path.len().cmp(&b.path.len()))
    });
    vec![best.map(|t| t.path.clone()).unwrap_or_else(|| cat.to_string())]
}

/// The confidence of a tag decided by terms alone outside the model's categories: half at the
/// threshold, rising toward 1 with more evidence.
fn term_confidence(score: f64, threshold: f64) -> f64 {
    if threshold <= 0.0 {
        return 1.0;
    }
    round2((1.0 - 0.5 * threshold / score.max(threshold)).clamp(0.5, 0.99))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Characters of a passage shown as evidence.
const PASSAGE_CHARS: usize = 400;

/// The passage that carried a category: the closest one of the body (the title, page 0, only
/// when the document has no other passage: "Solar Energy 75 (2003) 1-9" is nothing to read).
fn passage_evidence(m: &CategoryMeaning, ps: &[PassageRef]) -> Vec<PassageEvidence> {
    let (at, cosine) = match (ps.get(m.best), m.second) {
        (Some(p), Some(second)) if p.page == 0 => (second, m.second_cosine),
        _ => (m.best, m.cosine),
    };
    ps.get(at)
        .map(|p| PassageEvidence { page: p.page, text: cut(p.text), similarity: round2(cosine as f64) })
        .into_iter()
        .collect()
}

/// A text cut at a word after about [`PASSAGE_CHARS`] characters.
fn cut(text: &str) -> String {
    crate::text::cut_at_word(text, PASSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(path: &str, score: f64, threshold: f64) -> TermScore {
        TermScore { path: path.into(), score, threshold, evidence: vec![] }
    }

    #[test]
    fn a_tagged_category_gets_its_most_specific_term_paths_or_itself() {
        let terms = [
            ts("/failure_cause/financial", 2.0, 2.0),
            ts("/failure_cause/financial/tariff-cost-recovery", 3.0, 3.0),
            ts("/failure_cause/financial/funding-ended", 1.0, 2.0),
        ];
        assert_eq!(paths_for("/failure_cause/financial", &terms), ["/failure_cause/financial/tariff-cost-recovery"]);
        let weak = [
            ts("/failure_cause/financial/funding-ended", 1.0, 2.0),
            ts("/failure_cause/financial/capital-maintenance", 1.0, 3.0),
        ];
        assert_eq!(paths_for("/failure_cause/financial", &weak), ["/failure_cause/financial/funding-ended"]);
        assert_eq!(paths_for("/failure_cause/programme", &weak), ["/failure_cause/programme"]);
    }

    #[test]
    fn packed_weights_round_trip_within_their_step() {
        let f = Fit { weights: vec![0.5, -1.27, 0.0, 0.01], bias: 0.3 };
        let p = PackedFit::pack(&f);
        let g = p.unpack(4).unwrap();
        for (a, b) in f.weights.iter().zip(&g.weights) {
            assert!((a - b).abs() <= p.scale / 2.0 + 1e-6);
        }
        assert!(p.unpack(5).is_err());
    }

    #[test]
    fn term_confidence_is_half_at_the_threshold() {
        assert_eq!(term_confidence(2.0, 2.0), 0.5);
        assert!(term_confidence(8.0, 2.0) > 0.8);
    }

    #[test]
    fn the_passage_to_read_is_of_the_body_unless_there_is_none() {
        let ps = [
            PassageRef { page: 0, text: "Solar Energy 75 (2003) 1-9" },
            PassageRef { page: 2, text: "The pumps failed." },
        ];
        let m = CategoryMeaning {
            best: 0,
            cosine: 0.3,
            second: Some(1),
            second_cosine: 0.25,
            ..CategoryMeaning::default()
        };
        let e = passage_evidence(&m, &ps);
        assert_eq!((e.len(), e[0].page, e[0].similarity), (1, 2, 0.25));
        let only_title = CategoryMeaning { best: 0, cosine: 0.3, ..CategoryMeaning::default() };
        assert_eq!(passage_evidence(&only_title, &ps[..1])[0].page, 0);
    }

    #[test]
    fn evidence_passages_are_cut_at_a_word() {
        let long = "word ".repeat(200);
        let c = cut(&long);
        assert!(c.ends_with('…') && c.chars().count() <= PASSAGE_CHARS + 2);
    }
}
