//! PDF through lopdf, page by page with 1-based page numbers, and the Info dictionary (title,
//! author, subject, keywords, creation date). Encrypted files open with the empty user password
//! or are reported as needing one; decompression is capped; a page that fails to decode becomes
//! an empty page with a warning instead of failing the file.

use lopdf::{Document, LoadOptions, Object};
use unicode_normalization::UnicodeNormalization;

use super::Limits;
use crate::document::{Block, Extracted, Format, Metadata, Page};
use crate::error::{Error, Result};
use crate::text::squash_ws;

/// Extracts a PDF.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    let opts = LoadOptions {
        password: Some(String::new()),
        max_decompressed_size: Some(limits.max_decompressed),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, opts).map_err(|e| {
        let msg = e.to_string();
        if msg.to_ascii_lowercase().contains("password") || msg.to_ascii_lowercase().contains("decrypt") {
            Error::extract("encrypted: needs a password")
        } else {
            Error::extract(format!("broken PDF: {msg}"))
        }
    })?;
    if doc.is_encrypted() {
        return Err(Error::extract("encrypted: needs a password"));
    }
    let page_ids = doc.get_pages();
    if page_ids.is_empty() {
        return Err(Error::extract(if doc.was_encrypted() {
            "encrypted: needs a password".to_string()
        } else {
            "broken PDF: no pages found (damaged page tree?)".to_string()
        }));
    }
    let mut warnings = Vec::new();
    if page_ids.len() > limits.max_pages {
        warnings.push(format!(
            "only the first {} of {} pages extracted (see [extract] max_pages)",
            limits.max_pages,
            page_ids.len()
        ));
    }
    let mut pages = Vec::new();
    let mut failed = Vec::new();
    let mut first_failure: Option<String> = None;
    let mut empty = Vec::new();
    let mut texts: Vec<(u32, String)> = Vec::new();
    let mut with_images = Vec::new();
    let mut layer = super::pdf_text::TextLayer::new(&doc, limits.max_decompressed);
    for (&number, &page_id) in page_ids.iter().take(limits.max_pages) {
        // Our text layer first; lopdf's own extraction when it finds nothing.
        let ours = layer.page(page_id);
        if ours.as_ref().is_ok_and(|c| c.images > 0) {
            with_images.push(number);
        }
        let text = match ours {
            Ok(c) if !c.lines.is_empty() => c.lines.join("\n").nfkc().collect::<String>(),
            _ => match doc.extract_text_with_limit(&[number], limits.max_decompressed) {
                Ok(t) => t,
                Err(e) => {
                    failed.push(number);
                    first_failure.get_or_insert_with(|| {
                        let m = e.to_string();
                        if m.contains("decompress") {
                            format!(
                                "{m} (corrupt, or inflating past max_decompressed_mb = {} MB)",
                                limits.max_decompressed >> 20
                            )
                        } else {
                            m
                        }
                    });
                    String::new()
                }
            },
        };
        texts.push((number, text));
    }
    let texts = drop_running_lines(texts);
    for (number, text) in texts {
        let blocks = paragraphs(&text);
        if blocks.is_empty() {
            empty.push(number);
        }
        pages.push(Page { number, blocks });
    }
    if let Some(reason) = &first_failure {
        warnings.push(format!("text of pages {} could not be decoded ({reason})", list(&failed)));
    }
    if pages.iter().all(|p| p.blocks.is_empty()) {
        if let Some(reason) = first_failure {
            return Err(Error::extract(format!("text of pages {} could not be decoded: {reason}", list(&failed))));
        }
    }
    // Pages without text that draw a large image are scans: OCR may fill them in later. Pages
    // with neither hold only drawings (or nothing).
    let failed_set: std::collections::HashSet<u32> = failed.iter().copied().collect();
    let images: std::collections::HashSet<u32> = with_images.into_iter().collect();
    let scanned: Vec<u32> = empty.iter().copied().filter(|n| !failed_set.contains(n) && images.contains(n)).collect();
    if pages.iter().all(|p| p.blocks.is_empty()) && scanned.is_empty() {
        warnings.push("no text on any page (drawings or blank pages only): indexed by its metadata".into());
    }
    Ok(Extracted {
        format: Format::Pdf,
        metadata: info(&doc),
        declared: Metadata::default(),
        pages,
        warnings,
        scanned_pages: scanned,
        ocr_pages: Vec::new(),
    })
}

/// Removes running headers and footers: the first or last line of a page when, with its digits
/// ignored ("Page 3" = "Page 7"), it recurs on at least 60% of the pages (three or more); each is
/// kept on the first page where it appears.
fn drop_running_lines(texts: Vec<(u32, String)>) -> Vec<(u32, String)> {
    if texts.len() < 3 {
        return texts;
    }
    let key = |l: &str| -> String { l.chars().filter(|c| !c.is_ascii_digit() && !c.is_whitespace()).collect() };
    let edges = |t: &str| -> Vec<String> {
        let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
        let n = lines.len();
        let mut v: Vec<String> =
            lines.iter().take(2).chain(lines.iter().skip(n.saturating_sub(2))).map(|l| key(l)).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (_, t) in &texts {
        for k in edges(t) {
            *counts.entry(k).or_default() += 1;
        }
    }
    let running: std::collections::HashSet<String> = counts
        .into_iter()
        .filter(|(k, n)| n * 5 >= texts.len() * 3 && k.chars().count() <= 120)
        .map(|(k, _)| k)
        .collect();
    if running.is_empty() {
        return texts;
    }
    // Each running line is kept where it first appears: a slide deck's title on every slide, or
    // a report's running title, is still found once.
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(texts.len());
    for (n, t) in texts {
        let lines: Vec<&str> = t.lines().collect();
        let last = lines.len();
        let kept: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                let k = key(l);
                let edge = *i == 0 || *i + 1 == last;
                !(edge && running.contains(&k)) || seen.insert(k)
            })
            .map(|(_, l)| *l)
            .collect();
        out.push((n, kept.join("\n")));
    }
    out
}

pub(super) fn list(n: &[u32]) -> String {
    let mut s: Vec<String> = n.iter().take(20).map(|n| n.to_string()).collect();
    if n.len() > 20 {
        s.push(format!("and {} more", n.len() - 20));
    }
    s.join(", ")
}

/// Groups the lines of a page into paragraphs: a line ending a sentence and shorter than the
/// page's usual line ends its paragraph, a short unpunctuated line stands alone (a heading),
/// and a word hyphenated across lines is joined.
pub(super) fn paragraphs(text: &str) -> Vec<Block> {
    let lines: Vec<String> = text.lines().map(squash_ws).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let mut lens: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    lens.sort_unstable();
    let typical = lens[lens.len() * 9 / 10].max(20);
    let mut blocks = Vec::new();
    let mut cur = String::new();
    for line in &lines {
        let len = line.chars().count();
        let last = line.chars().last().unwrap_or(' ');
        let words = line.split_whitespace().count();
        let standalone = words <= 8 && !matches!(last, '.' | ',' | ';' | ':' | '-') && len * 2 < typical;
        if standalone {
            if !cur.is_empty() {
                blocks.push(Block::text(std::mem::take(&mut cur)));
            }
            // A short line standing alone and starting like a title is taken as a heading.
            let titled = line.chars().next().is_some_and(|c| c.is_uppercase() || c.is_ascii_digit());
            blocks.push(if titled { Block::heading(3, line.clone()) } else { Block::text(line.clone()) });
            continue;
        }
        if cur.ends_with('-') && line.chars().next().is_some_and(|c| c.is_lowercase()) {
            cur.pop();
        } else if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(line);
        if matches!(last, '.' | '!' | '?' | ':') && len * 10 < typical * 8 {
            blocks.push(Block::text(std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        blocks.push(Block::text(cur));
    }
    blocks
}

/// Metadata from the Info dictionary, completed by the XMP packet of the catalog.
fn info(doc: &Document) -> Metadata {
    let mut m = info_dict(doc);
    if let Some(x) = xmp(doc) {
        m.fill_from(x);
    }
    m
}

/// The XMP packet (`/Metadata` of the catalog): dc:title, dc:creator, dc:subject (keywords),
/// dc:description, dc:language, xmp:CreateDate, pdf:Keywords.
fn xmp(doc: &Document) -> Option<Metadata> {
    let catalog = doc.catalog().ok()?;
    let id = catalog.get(b"Metadata").and_then(Object::as_reference).ok()?;
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let bytes = stream.decompressed_content_with_limit(4 << 20).unwrap_or_else(|_| stream.content.clone());
    let xml = String::from_utf8_lossy(&bytes).into_owned();
    let mut m = Metadata::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    super::xml::walk(&xml, "XMP metadata", |ev| match ev {
        super::xml::Ev::Start(n, _) => {
            stack.push(n.to_string());
            text.clear();
        }
        super::xml::Ev::Text(t) => text.push_str(t),
        super::xml::Ev::End(n) => {
            let value = squash_ws(&text);
            text.clear();
            stack.pop();
            if value.is_empty() {
                return;
            }
            // The property is the element itself, or the one above rdf:Seq/Alt/Bag > rdf:li.
            let prop = if n == "li" { stack.iter().rev().nth(1).map(String::as_str).unwrap_or("") } else { n };
            match prop {
                "title" if m.title.is_none() => m.title = Some(value),
                "creator" => m.authors.push(value),
                "subject" => m.keywords.extend(super::split_keywords(&value)),
                "Keywords" => m.keywords.extend(super::split_keywords(&value)),
                "description" if m.description.is_none() => m.description = Some(value),
                "language" if m.language.is_none() => m.language = Some(value),
                "CreateDate" if m.date.is_none() => m.date = Some(value),
                _ => {}
            }
        }
        super::xml::Ev::Empty(..) => {}
    })
    .ok()?;
    m.keywords.dedup();
    Some(m)
}

fn info_dict(doc: &Document) -> Metadata {
    let mut m = Metadata::default();
    let Ok(info_ref) = doc.trailer.get(b"Info") else {
        return m;
    };
    let Ok((_, Object::Dictionary(dict))) = doc.dereference(info_ref) else {
        return m;
    };
    let get = |k: &[u8]| -> Option<String> {
        let (_, obj) = doc.dereference(dict.get(k).ok()?).ok()?;
        let s = lopdf::decode_text_string(obj).ok()?;
        let s = squash_ws(&s);
        (!s.is_empty()).then_some(s)
    };
    m.title = get(b"Title");
    m.authors = get(b"Author")
        .map(|a| a.split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    m.description = get(b"Subject");
    m.keywords = get(b"Keywords").map(|k| super::split_keywords(&k)).unwrap_or_default();
    m.date = get(b"CreationDate").or_else(|| get(b"ModDate"));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_paragraphs() {
        let text = "Lessons learned\nThe pumps in the northern district broke down within two years because the\nspare parts were never stocked locally and the mecha-\nnics had left. Committees stopped collecting fees.\nRecommendations\n";
        let b = paragraphs(text);
        assert_eq!(b[0], Block::heading(3, "Lessons learned"));
        assert!(b[1].text.contains("the mechanics had left."), "{:?}", b[1]);
        assert_eq!(b.last().unwrap().text, "Recommendations");
    }

    #[test]
    fn running_headers_and_footers_are_dropped() {
        let pages: Vec<(u32, String)> = (1..=4)
            .map(|n| {
                let body = ["Pumps broke.", "Committees stopped.", "Fees were not paid.", "Parts were missing."]
                    [n as usize - 1];
                (
                    n,
                    format!(
                        "Handpump review 2014\n{body}\nSee section {}.\nPage {n} of 4",
                        ["A", "B", "C", "D"][n as usize - 1]
                    ),
                )
            })
            .collect();
        let out = drop_running_lines(pages);
        // Kept once, where it first appears (a title on every slide is still found).
        assert!(
            out[0].1.starts_with("Handpump review 2014\nPumps broke.") && out[0].1.ends_with("Page 1 of 4"),
            "{}",
            out[0].1
        );
        for (_, t) in &out[1..] {
            assert!(!t.contains("Handpump review 2014") && !t.contains("of 4"), "{t}");
            assert!(t.lines().count() == 2, "{t}");
        }
        let two = vec![(1, "Title\nx".to_string()), (2, "Title\ny".to_string())];
        assert_eq!(drop_running_lines(two.clone()), two, "too few pages to tell");
    }

    #[test]
    fn xmp_metadata_is_read() {
        let xmp = r#"<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="r" xmlns:dc="d" xmlns:xmp="x" xmlns:pdf="p">
<rdf:Description><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Évaluation des PMH</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>Awa Diallo</rdf:li><rdf:li>EauVive</rdf:li></rdf:Seq></dc:creator>
<dc:subject><rdf:Bag><rdf:li>pompes</rdf:li><rdf:li>Burkina Faso</rdf:li></rdf:Bag></dc:subject>
<xmp:CreateDate>2014-05-02T10:00:00Z</xmp:CreateDate><dc:language><rdf:Bag><rdf:li>fr-FR</rdf:li></rdf:Bag></dc:language>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#
            .as_bytes();
        let mut doc = Document::with_version("1.5");
        let meta = doc.add_object(lopdf::Stream::new(
            lopdf::dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            xmp.to_vec(),
        ));
        let pages =
            doc.add_object(lopdf::dictionary! { "Type" => "Pages", "Kids" => Vec::<Object>::new(), "Count" => 0 });
        let catalog = doc.add_object(lopdf::dictionary! { "Type" => "Catalog", "Pages" => pages, "Metadata" => meta });
        doc.trailer.set("Root", catalog);
        let m = info(&doc);
        assert_eq!(m.title.as_deref(), Some("Évaluation des PMH"));
        assert_eq!(m.authors, vec!["Awa Diallo", "EauVive"]);
        assert_eq!(m.keywords, vec!["pompes", "Burkina Faso"]);
        assert_eq!(m.date.as_deref(), Some("2014-05-02T10:00:00Z"));
        assert_eq!(m.language.as_deref(), Some("fr-FR"));
    }

    #[test]
    fn garbage_is_an_error() {
        let e = extract(b"%PDF-1.4\n garbage garbage", &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("PDF"), "{e}");
    }
}
