//! Enrichment: from an [`Extracted`] document to a [`Record`] ready for the index. Language,
//! year, countries, title, document type, and facet tags with their evidence. Pure: no I/O.
//!
//! What a person declared (sidecar, front matter, facet paths in document keywords) wins over
//! what is inferred from the text.

pub mod combine;
pub mod countries;
pub mod dates;
pub use crate::language;
pub mod learn;
pub mod meaning;
pub mod passages;
pub mod tagger;
pub mod train;
pub mod words;

use std::collections::BTreeMap;

use crate::config::{check_path_syntax, family_of, Config, TAGGED_FAMILIES};
use crate::document::{Block, BlockKind, CountryMention, Extracted, PageText, Record, Tag, TagSource, Zone};
use countries::CountryMatcher;
use tagger::{push_tokens, Tagger, Tok};

/// Where a document comes from: its stable id and the path shown to users.
#[derive(Debug, Clone)]
pub struct Source {
    /// Stable id.
    pub id: String,
    /// Path shown to users.
    pub path: String,
}

/// A compiled configuration, ready to enrich many documents.
pub struct Enricher {
    config: Config,
    tagger: Tagger,
    doctypes: Tagger,
    countries: CountryMatcher,
}

impl Enricher {
    /// Compiles the taxonomy and the gazetteer.
    pub fn new(config: &Config) -> Enricher {
        Enricher {
            config: config.clone(),
            tagger: Tagger::new(&config.taxonomy.facets, &config.taxonomy.defaults),
            doctypes: Tagger::new(&config.taxonomy.doctypes, &config.taxonomy.defaults),
            countries: CountryMatcher::new(&config.countries),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Enriches one document.
    pub fn enrich(&self, doc: Extracted, source: &Source) -> Record {
        let settings = &self.config.settings;
        let mut warnings = doc.warnings.clone();
        let full_text = doc.full_text();
        let words = crate::text::word_count(&full_text);

        let (language, language_confidence) =
            match doc.declared.language.as_deref().and_then(language::normalise_declared) {
                Some(l) => (l, 1.0),
                None => language::detect(&full_text, doc.metadata.language.as_deref(), &settings.languages),
            };
        let title = self.title(&doc, &source.path);
        let (toks, lessons) = self.tokens(&doc, &title);
        let lang_filter = settings.languages.served.contains(&language).then_some(language.as_str());

        // Year: declared, then a date early in the text, then the file's properties, then the title.
        let early: String = full_text.chars().take(3000).collect();
        let (year, year_source) = if let Some(y) = doc.declared.date.as_deref().and_then(dates::year_of) {
            (Some(y), Some("declared"))
        } else if let Some(y) = dates::first_date_year(&early) {
            (Some(y), Some("text"))
        } else if let Some(y) = doc.metadata.date.as_deref().and_then(dates::year_of) {
            (Some(y), Some("metadata"))
        } else if let Some(y) = dates::year_word(&title) {
            (Some(y), Some("title"))
        } else {
            (None, None)
        };

        // Countries: declared ones, then those named often enough (or in the title).
        let mut mentions: Vec<CountryMention> = Vec::new();
        for c in &doc.declared.countries {
            match self.countries.resolve(c) {
                Some(code) => mentions.push(CountryMention { code, mentions: 0 }),
                None => warnings.push(format!("declared country {c:?} not in countries.toml")),
            }
        }
        let counted = self.countries.count(&toks);
        let mut found: Vec<(String, u32, u32)> = counted.into_iter().map(|(c, (b, t))| (c, b, t)).collect();
        found.sort_by(|a, b| (b.1 + 3 * b.2).cmp(&(a.1 + 3 * a.2)).then(a.0.cmp(&b.0)));
        let found_once: Vec<String> = found.iter().filter(|f| f.1 + f.2 > 0).map(|f| f.0.clone()).collect();
        for (code, body, in_title) in found {
            if let Some(m) = mentions.iter_mut().find(|m| m.code == code) {
                m.mentions = body + in_title;
            } else if in_title > 0 || body as usize >= settings.tagging.country_min_mentions {
                mentions.push(CountryMention { code, mentions: body + in_title });
            }
        }
        // A document that names one country once, and no other, is about that country.
        if mentions.is_empty() && found_once.len() == 1 {
            mentions.push(CountryMention { code: found_once[0].clone(), mentions: 1 });
        }
        let countries = mentions.iter().map(|m| m.code.clone()).collect();

        // Facets: evidence from the text, replaced per family by declared facets.
        let term_scores = self.tagger.scores(&toks, lang_filter, words, settings.tagging.length_norm_words);
        let mut facets: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
        for tag in self.tagger.tag(&toks, lang_filter, words, settings.tagging.length_norm_words) {
            facets.entry(family_of(&tag.path).unwrap_or("").to_string()).or_default().push(tag);
        }
        let mut explicit: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
        let keyword_paths = doc.metadata.keywords.iter().filter(|k| k.starts_with('/'));
        for p in doc.declared.facets.iter().chain(keyword_paths) {
            let p = p.trim().trim_end_matches('/');
            let Some(def) = self.config.taxonomy.get(p).filter(|_| check_path_syntax(p).is_ok()) else {
                warnings.push(format!("declared facet {p:?} is not in taxonomy.toml; ignored"));
                continue;
            };
            let fam = family_of(p).unwrap_or("").to_string();
            if !TAGGED_FAMILIES.contains(&fam.as_str()) {
                continue;
            }
            let list = explicit.entry(fam.clone()).or_default();
            if list.iter().any(|t| t.path == p) {
                continue;
            }
            let text_tag = facets.get(&fam).and_then(|v| v.iter().find(|t| t.path == p));
            list.push(Tag {
                path: p.to_string(),
                label: def.label.clone(),
                source: TagSource::Explicit,
                score: text_tag.map(|t| t.score).unwrap_or(0.0),
                threshold: text_tag.map(|t| t.threshold).unwrap_or(0.0),
                evidence: text_tag.map(|t| t.evidence.clone()).unwrap_or_default(),
                confidence: None,
                passages: Vec::new(),
                curator: None,
            });
        }
        for (fam, tags) in explicit {
            facets.insert(fam, tags);
        }

        let doctype = self.doctype(&doc, &title, &early, lang_filter);
        let pages = doc.pages.iter().map(|p| PageText { number: p.number, text: p.text() }).collect();
        let mut keywords = doc.declared.keywords.clone();
        keywords.extend(doc.metadata.keywords.iter().filter(|k| !k.starts_with('/')).cloned());
        let mut authors = doc.declared.authors.clone();
        authors.extend(doc.metadata.authors.iter().cloned());
        if let Some(org) = &doc.declared.organisation {
            authors.push(org.clone());
        }
        authors.dedup();

        let mut record = Record {
            id: source.id.clone(),
            path: source.path.clone(),
            format: doc.format,
            title,
            authors,
            language,
            language_confidence,
            year,
            year_source: year_source.map(str::to_string),
            countries,
            country_mentions: mentions,
            doctype,
            keywords,
            description: doc.declared.description.clone().or(doc.metadata.description.clone()),
            facets,
            term_scores,
            words,
            warnings,
            scanned_pages: doc.scanned_pages.clone(),
            ocr_pages: doc.ocr_pages.clone(),
            lessons,
            pages,
            tagged_by: String::new(),
            tagged_with: 0,
        };
        self.config.tagger.tag_record(&mut record, &self.config.taxonomy, None);
        record
    }

    /// Title: declared, then the file's own (unless it is a placeholder), then the first
    /// heading, then a short first line, then the file name.
    fn title(&self, doc: &Extracted, path: &str) -> String {
        if let Some(t) = doc.declared.title.as_deref().filter(|t| !t.trim().is_empty()) {
            return t.trim().to_string();
        }
        if let Some(t) = doc.metadata.title.as_deref().map(clean_title).filter(|t| !is_placeholder_title(t)) {
            return t;
        }
        let first_blocks: Vec<&Block> = doc.pages.iter().flat_map(|p| &p.blocks).take(12).collect();
        if let Some(b) = first_blocks.iter().find(|b| matches!(b.kind, BlockKind::Heading(l) if l <= 2)) {
            return b.text.clone();
        }
        if let Some(b) = first_blocks.iter().find(|b| {
            let n = crate::text::word_count(&b.text);
            (2..=25).contains(&n) && !b.text.ends_with([',', ';'])
        }) {
            return b.text.clone();
        }
        // Else the first sentence of the text, cut at a word after about 80 characters: what a
        // reader sees first says more than a file name ("h004").
        if let Some(first) = first_blocks.iter().find_map(|b| crate::text::sentences(&b.text).next()) {
            if crate::text::word_count(first) >= 2 {
                return cut_title(first, TITLE_CHARS);
            }
        }
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name).replace(['-', '_'], " ")
    }

    /// Tokens of the document with their zones: title, keywords and description, then the pages;
    /// a heading that names a references section starts a zone that counts for nothing.
    fn tokens(&self, doc: &Extracted, title: &str) -> (Vec<Tok>, Vec<PageText>) {
        let mut toks = Vec::new();
        let mut lessons: Vec<PageText> = Vec::new();
        let title_folded = crate::text::fold(title);
        let first_blocks_hold_title = doc
            .pages
            .first()
            .is_some_and(|p| p.blocks.iter().take(4).any(|b| crate::text::fold(&b.text) == title_folded));
        if !first_blocks_hold_title {
            push_tokens(&mut toks, title, Zone::Title, 1);
        }
        for k in doc.declared.keywords.iter().chain(&doc.metadata.keywords) {
            push_tokens(&mut toks, k, Zone::Heading, 1);
        }
        // A heading that names a references or lessons section starts a zone that lasts until the
        // next heading of the same or a higher level.
        let mut section: Option<(Zone, u8)> = None;
        for page in &doc.pages {
            for (i, b) in page.blocks.iter().enumerate() {
                let folded = crate::text::fold(&b.text);
                if let BlockKind::Heading(level) = b.kind {
                    if section.is_some_and(|(_, l)| level <= l) {
                        section = None;
                    }
                    if let Some(zone) = self.section_zone(&folded) {
                        section = Some((zone, level));
                    }
                }
                let zone = match section {
                    Some((Zone::References, _)) => Zone::References,
                    _ if page.number == 1 && i < 4 && folded == title_folded => Zone::Title,
                    _ if matches!(b.kind, BlockKind::Heading(_)) => Zone::Heading,
                    Some((Zone::Lessons, _)) => Zone::Lessons,
                    _ => Zone::Body,
                };
                push_tokens(&mut toks, &b.text, zone, page.number);
                if zone == Zone::Lessons || (section.is_some_and(|(z, _)| z == Zone::Lessons) && zone == Zone::Heading)
                {
                    match lessons.last_mut() {
                        Some(l) if l.number == page.number => {
                            l.text.push_str("\n\n");
                            l.text.push_str(&b.text);
                        }
                        _ => lessons.push(PageText { number: page.number, text: b.text.clone() }),
                    }
                }
            }
        }
        (toks, lessons)
    }

    /// The zone a heading opens: references, lessons, or none. Numbering ("3.2", "IV.") is ignored.
    fn section_zone(&self, folded_heading: &str) -> Option<Zone> {
        if crate::text::word_count(folded_heading) > 8 {
            return None;
        }
        let h = folded_heading
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')' || c.is_whitespace());
        let h = h
            .strip_prefix(|c: char| "ivx".contains(c))
            .map(|r| r.trim_start_matches(['i', 'v', 'x']))
            .filter(|r| r.starts_with(['.', ')']))
            .map(|r| r[1..].trim_start())
            .unwrap_or(h);
        let t = &self.config.taxonomy;
        if t.references_headings.iter().any(|r| h.starts_with(r.as_str())) {
            Some(Zone::References)
        } else if t.lessons_headings.iter().any(|r| h.starts_with(r.as_str())) {
            Some(Zone::Lessons)
        } else {
            None
        }
    }

    fn doctype(&self, doc: &Extracted, title: &str, early: &str, lang: Option<&str>) -> String {
        for d in [&doc.declared.doctype, &doc.metadata.doctype].into_iter().flatten() {
            if let Some(path) = self.config.taxonomy.doctype_path(d) {
                return path;
            }
        }
        let mut toks = Vec::new();
        push_tokens(&mut toks, title, Zone::Title, 1);
        let head: String = early.chars().take(1500).collect();
        push_tokens(&mut toks, &head, Zone::Body, 1);
        self.doctypes.best(&toks, lang).unwrap_or_else(|| {
            // Web pages are articles more often than reports.
            if doc.format == crate::document::Format::Html { "/doctype/article" } else { "/doctype/report" }.to_string()
        })
    }
}

/// Characters of a title made from the first sentence.
const TITLE_CHARS: usize = 80;

/// `text` cut at a word before `max` characters, with "…" when cut.
fn cut_title(text: &str, max: usize) -> String {
    let t = crate::text::squash_ws(text);
    if t.chars().count() <= max {
        return t;
    }
    let end = t.char_indices().nth(max).map(|(i, _)| i).unwrap_or(t.len());
    let cut = t[..end].rfind(' ').filter(|&i| i > max / 2).unwrap_or(end);
    format!("{}…", t[..cut].trim_end_matches([',', ';', ':', ' ']))
}

fn clean_title(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_prefix("Microsoft Word - ").unwrap_or(t);
    let t = t.strip_prefix("Microsoft PowerPoint - ").unwrap_or(t);
    crate::text::squash_ws(t)
}

fn is_placeholder_title(t: &str) -> bool {
    let l = t.to_ascii_lowercase();
    l.is_empty()
        || ["untitled", "document", "document1", "title", "titre", "sans titre", "slide 1", "no title", "presentation"]
            .contains(&l.as_str())
        || [".doc", ".docx", ".pdf", ".odt", ".indd", ".rtf", ".dvi", ".tex"].iter().any(|e| l.ends_with(e))
        || l.chars().filter(|c| c.is_alphabetic()).count() < 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Format, Metadata, Page};

    fn doc(blocks: Vec<Block>) -> Extracted {
        Extracted {
            format: Format::Markdown,
            metadata: Metadata::default(),
            declared: Metadata::default(),
            pages: vec![Page { number: 1, blocks }],
            warnings: vec![],
            scanned_pages: vec![],
            ocr_pages: vec![],
        }
    }

    fn source() -> Source {
        Source { id: "x".into(), path: "notes/mzimba-review.md".into() }
    }

    #[test]
    fn title_year_language_country_and_tags() {
        let e = Enricher::new(&Config::builtin().unwrap());
        let d = doc(vec![
            Block::heading(1, "Handpump functionality review, Mzimba District"),
            Block::text("Lilongwe, March 2016"),
            Block::text("Of the 120 handpumps visited in Malawi, 41 were broken. Area mechanics said spare parts had to come from Lilongwe, and Malawi has no local stockist of Afridev spares. Villagers walked to unprotected wells while the hand pumps waited for repair."),
        ]);
        let r = e.enrich(d, &source());
        assert_eq!(r.title, "Handpump functionality review, Mzimba District");
        assert_eq!(r.year, Some(2016));
        assert_eq!(r.year_source.as_deref(), Some("text"));
        assert_eq!(r.language, "en");
        assert_eq!(r.countries, vec!["MW"]);
        assert!(
            r.facet_paths("technology").contains(&"/technology/water/borehole/handpump".to_string()),
            "{:?}",
            r.facets
        );
    }

    #[test]
    fn declared_facets_win_and_unknown_ones_warn() {
        let e = Enricher::new(&Config::builtin().unwrap());
        let mut d = doc(vec![Block::text("Handpumps, handpumps and more handpumps in the village.")]);
        d.declared.facets = vec!["/technology/water/spring".into(), "/technology/nonsense".into()];
        d.declared.title = Some("Declared".into());
        d.declared.countries = vec!["Uganda".into()];
        let r = e.enrich(d, &source());
        assert_eq!(r.title, "Declared");
        assert_eq!(r.facet_paths("technology"), vec!["/technology/water/spring"]);
        assert_eq!(r.facets["technology"][0].source, TagSource::Explicit);
        assert!(r.warnings.iter().any(|w| w.contains("/technology/nonsense")));
        assert_eq!(r.countries, vec!["UG"]);
    }

    #[test]
    fn title_falls_back_to_the_first_sentence_then_the_file_name() {
        let e = Enricher::new(&Config::builtin().unwrap());
        let r = e.enrich(doc(vec![Block::text("ok.")]), &source());
        assert_eq!(r.title, "mzimba review");
        let long = "The district water office reported in March that most of the handpumps installed under the programme had broken down within three years, and that nobody had been trained to repair them.";
        let r = e.enrich(doc(vec![Block::text(long)]), &source());
        assert_eq!(r.title, "The district water office reported in March that most of the handpumps…");
        assert!(r.title.chars().count() <= 81);
    }
}
