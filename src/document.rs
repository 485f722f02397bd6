//! The records passed along the pipeline: [`Extracted`] from extraction to enrichment, and
//! [`Record`] from enrichment to the index (and to `inspect`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The formats the indexer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PDF.
    Pdf,
    /// Office Open XML word processing (Word).
    Docx,
    /// OpenDocument text (LibreOffice).
    Odt,
    /// HTML page.
    Html,
    /// Markdown notes.
    Markdown,
    /// Plain text notes.
    Text,
}

impl Format {
    /// The lowercase name used in the index and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Odt => "odt",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
        }
    }

    /// Whether the format has real pages.
    pub fn has_pages(self) -> bool {
        matches!(self, Format::Pdf)
    }
}

/// The role of a block of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// A heading (level 1 is the highest).
    Heading(u8),
    /// A paragraph, list item, table row or line.
    Text,
}

/// A paragraph, heading or table row.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Heading or text.
    pub kind: BlockKind,
    /// The text, whitespace squashed.
    pub text: String,
}

impl Block {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Block {
        Block { kind: BlockKind::Text, text: text.into() }
    }
    /// A heading block.
    pub fn heading(level: u8, text: impl Into<String>) -> Block {
        Block { kind: BlockKind::Heading(level), text: text.into() }
    }
}

/// One page of blocks (formats without pages have one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    /// The blocks in reading order.
    pub blocks: Vec<Block>,
}

impl Page {
    /// The page's text: blocks separated by blank lines.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for b in &self.blocks {
            if !s.is_empty() {
                s.push_str("\n\n");
            }
            s.push_str(&b.text);
        }
        s
    }
}

/// Metadata carried by the file itself (document properties, front matter, a sidecar).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metadata {
    /// Title.
    pub title: Option<String>,
    /// Authors or organisations.
    pub authors: Vec<String>,
    /// A date as written (ISO, PDF date, free text).
    pub date: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Description or subject.
    pub description: Option<String>,
    /// Language as declared (ISO 639-1 or a locale like "fr-FR").
    pub language: Option<String>,
    /// Countries as declared (names or codes).
    pub countries: Vec<String>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Document type as declared (a `/doctype/...` path or a bare name).
    pub doctype: Option<String>,
    /// Facet paths given explicitly.
    pub facets: Vec<String>,
}

impl Metadata {
    /// Fills the fields of `self` that are empty from `other`.
    pub fn fill_from(&mut self, other: Metadata) {
        if self.title.is_none() {
            self.title = other.title;
        }
        if self.authors.is_empty() {
            self.authors = other.authors;
        }
        if self.date.is_none() {
            self.date = other.date;
        }
        if self.keywords.is_empty() {
            self.keywords = other.keywords;
        }
        if self.description.is_none() {
            self.description = other.description;
        }
        if self.language.is_none() {
            self.language = other.language;
        }
        if self.countries.is_empty() {
            self.countries = other.countries;
        }
        if self.organisation.is_none() {
            self.organisation = other.organisation;
        }
        if self.doctype.is_none() {
            self.doctype = other.doctype;
        }
        self.facets.extend(other.facets);
    }
}

/// What extraction yields for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The format, known from the content.
    pub format: Format,
    /// Metadata the file carries in its properties (PDF Info, DOCX core, ODT meta, HTML meta).
    pub metadata: Metadata,
    /// Metadata declared by a person: front matter and the sidecar file. Wins over `metadata`.
    pub declared: Metadata,
    /// Pages in order, numbered from 1.
    pub pages: Vec<Page>,
    /// Notes about the extraction (e.g. "pages 3, 7 have no text layer").
    pub warnings: Vec<String>,
    /// Pages without a text layer (scans), before OCR.
    pub scanned_pages: Vec<u32>,
    /// Scanned pages that were OCR'd.
    pub ocr_pages: Vec<u32>,
}

impl Extracted {
    /// All the text, pages separated by blank lines.
    pub fn full_text(&self) -> String {
        self.pages.iter().map(Page::text).collect::<Vec<_>>().join("\n\n")
    }
}

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    /// Title (and keywords).
    Title,
    /// A section heading.
    Heading,
    /// Body text.
    Body,
    /// Body text of a section that carries lessons ("lessons learned", "challenges"...).
    Lessons,
    /// A references or bibliography section (not counted).
    References,
}

/// The evidence of one trigger term for a tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    /// The trigger as written in the taxonomy.
    pub term: String,
    /// How often it occurs.
    pub count: u32,
    /// Where it occurs.
    pub zones: Vec<Zone>,
    /// The pages it occurs on.
    pub pages: Vec<u32>,
}

/// How a tag was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagSource {
    /// Decided from the words of the text: trigger terms and the word classifier.
    Text,
    /// Decided with the sentence encoder: passages close in meaning to the path's descriptions,
    /// weighed together with the words.
    Meaning,
    /// Given in front matter, document keywords or a sidecar file.
    Explicit,
    /// Set by a curator (wins over everything else; see `curator`).
    Curator,
}

/// A passage that carried a tag by meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PassageEvidence {
    /// Page (1-based; 0 = the title).
    pub page: u32,
    /// The passage's text (cut at a word after about 400 characters).
    pub text: String,
    /// Cosine of the passage to the nearest statement describing the path.
    pub similarity: f64,
}

/// Who set a curator's tag, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CuratorNote {
    /// The name of the key (or "cli" for the command line).
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// One facet tag with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tag {
    /// The facet path.
    pub path: String,
    /// Human label from the taxonomy.
    pub label: String,
    /// Text or explicit.
    pub source: TagSource,
    /// Weighted evidence score (0 for explicit tags without text evidence).
    pub score: f64,
    /// Score needed for this document.
    pub threshold: f64,
    /// The terms found.
    pub evidence: Vec<Evidence>,
    /// How sure the tagger is (0-1), for automatic tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The passages that carried a tag by meaning, the closest first: which to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passages: Vec<PassageEvidence>,
    /// For a curator's tag: who set it and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curator: Option<CuratorNote>,
}

/// Term evidence for one facet path, tagged or not: what tags by meaning weigh together with
/// the passages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TermScore {
    /// The facet path.
    pub path: String,
    /// Weighted count of its trigger terms (title and headings weigh more).
    pub score: f64,
    /// The score that tags by terms alone, for this document's length.
    pub threshold: f64,
    /// The terms found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// A country named in the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CountryMention {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    /// Mentions counted.
    pub mentions: u32,
}

/// Page text as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageText {
    /// 1-based page number.
    pub number: u32,
    /// Text of the page.
    pub text: String,
}

/// An enriched document, ready for the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    /// Stable id (from the file's canonical path).
    pub id: String,
    /// Path shown to users, relative to the indexed root.
    pub path: String,
    /// Format name.
    pub format: Format,
    /// Title.
    pub title: String,
    /// Authors.
    pub authors: Vec<String>,
    /// ISO 639-1 code, or "und".
    pub language: String,
    /// Detector confidence (1.0 when declared).
    pub language_confidence: f64,
    /// Year of the document.
    pub year: Option<u32>,
    /// Where the year came from.
    pub year_source: Option<String>,
    /// ISO codes of the countries named, most mentioned first.
    pub countries: Vec<String>,
    /// Mentions per country.
    pub country_mentions: Vec<CountryMention>,
    /// `/doctype/...`.
    pub doctype: String,
    /// Keywords from the file.
    pub keywords: Vec<String>,
    /// Description from the file.
    pub description: Option<String>,
    /// Tags per family (context, technology, failure_cause, approach).
    pub facets: BTreeMap<String, Vec<Tag>>,
    /// Term evidence of every facet path that has any (tagged or not).
    #[serde(default)]
    pub term_scores: Vec<TermScore>,
    /// How the automatic tags were decided: "terms" (words of the text only) or "meaning" (with
    /// the sentence encoder's passage vectors).
    #[serde(default)]
    pub tagged_by: String,
    /// Fingerprint of the tagger and descriptions that decided the tags with meaning (0: not
    /// yet: the tags are by terms, and the vector phase will decide them again).
    #[serde(default)]
    pub tagged_with: u64,
    /// Words in the text.
    pub words: usize,
    /// Notes about extraction and enrichment.
    pub warnings: Vec<String>,
    /// Pages without a text layer (scans).
    #[serde(default)]
    pub scanned_pages: Vec<u32>,
    /// Scanned pages that were OCR'd; the others still need it.
    #[serde(default)]
    pub ocr_pages: Vec<u32>,
    /// The text of the sections that carry lessons ("lessons learned", "challenges",
    /// "recommendations" and their French, Spanish and Portuguese forms), page by page.
    #[serde(default)]
    pub lessons: Vec<PageText>,
    /// The text, page by page.
    pub pages: Vec<PageText>,
}

impl Record {
    /// The facet paths of one family.
    pub fn facet_paths(&self, family: &str) -> Vec<String> {
        self.facets.get(family).map(|v| v.iter().map(|t| t.path.clone()).collect()).unwrap_or_default()
    }
}
