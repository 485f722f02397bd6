//! DOCX (Office Open XML): paragraphs, headings (by style or outline level), tables row by row,
//! and the core properties (title, author, dates, keywords, subject, description, language).

use super::xml::{attr, simple_fields, walk, Ev};
use super::zipfile::Zip;
use super::Limits;
use crate::document::{Block, Extracted, Format, Metadata, Page};
use crate::error::{Error, Result};
use crate::text::squash_ws;

/// Extracts a DOCX file.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    let mut zip = Zip::open(bytes, limits.max_decompressed)?;
    let body = zip.read_text("word/document.xml")?.ok_or_else(|| Error::extract("DOCX without word/document.xml"))?;
    let blocks = body_blocks(&body)?;
    let mut warnings = Vec::new();
    let metadata = match zip.read_text("docProps/core.xml") {
        Ok(Some(core)) => core_properties(&core).unwrap_or_else(|e| {
            warnings.push(format!("core properties ignored: {e}"));
            Metadata::default()
        }),
        Ok(None) => Metadata::default(),
        Err(e) => {
            warnings.push(format!("core properties ignored: {e}"));
            Metadata::default()
        }
    };
    Ok(Extracted {
        format: Format::Docx,
        metadata,
        declared: Metadata::default(),
        pages: vec![Page { number: 1, blocks }],
        warnings,
        scanned_pages: Vec::new(),
        ocr_pages: Vec::new(),
    })
}

/// The heading level a paragraph style stands for ("Heading2", "Titre 1", "Title"...).
fn style_level(style: &str) -> Option<u8> {
    let s = style.to_ascii_lowercase().replace([' ', '_', '-'], "");
    if s == "title" || s == "titre" || s == "titulo" {
        return Some(1);
    }
    for prefix in ["heading", "titre", "titulo", "ttulo", "berschrift", "kop"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            if let Ok(n) = rest.parse::<u8>() {
                return Some(n.clamp(1, 9));
            }
        }
    }
    None
}

fn body_blocks(xml: &str) -> Result<Vec<Block>> {
    let mut blocks = Vec::new();
    let mut para = String::new();
    let mut level: Option<u8> = None;
    let mut in_text = false;
    let mut table_depth = 0usize;
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    walk(xml, "word/document.xml", |ev| match ev {
        Ev::Start("p", _) => {
            para.clear();
            level = None;
        }
        Ev::Empty("pStyle", a) => level = attr(a, "val").and_then(style_level).or(level),
        Ev::Empty("outlineLvl", a) => {
            if let Some(n) = attr(a, "val").and_then(|v| v.parse::<u8>().ok()) {
                if n < 9 {
                    level = Some(n + 1);
                }
            }
        }
        Ev::Start("t", _) => in_text = true,
        Ev::End("t") => in_text = false,
        Ev::Text(t) if in_text => para.push_str(t),
        Ev::Empty("tab", _) | Ev::Empty("br", _) | Ev::Empty("cr", _) => para.push(' '),
        Ev::End("p") => {
            let text = squash_ws(&para);
            if !text.is_empty() {
                if table_depth > 0 {
                    if !cell.is_empty() {
                        cell.push(' ');
                    }
                    cell.push_str(&text);
                } else {
                    blocks.push(match level {
                        Some(l) => Block::heading(l, text),
                        None => Block::text(text),
                    });
                }
            }
            para.clear();
        }
        Ev::Start("tbl", _) => table_depth += 1,
        Ev::End("tbl") => table_depth = table_depth.saturating_sub(1),
        Ev::Start("tr", _) => row.clear(),
        Ev::Start("tc", _) => cell.clear(),
        Ev::End("tc") => row.push(std::mem::take(&mut cell)),
        Ev::End("tr") => {
            let cells: Vec<&str> = row.iter().map(|c| c.as_str()).filter(|c| !c.is_empty()).collect();
            if !cells.is_empty() {
                blocks.push(Block::text(cells.join(" | ")));
            }
            row.clear();
        }
        _ => {}
    })?;
    Ok(blocks)
}

/// Reads `docProps/core.xml`.
fn core_properties(xml: &str) -> Result<Metadata> {
    let mut m = Metadata::default();
    for (k, v) in simple_fields(xml, "docProps/core.xml")? {
        match k.as_str() {
            "title" => m.title = Some(v),
            "creator" => m.authors.extend(v.split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty())),
            "created" => m.date = Some(v),
            "modified" if m.date.is_none() => m.date = Some(v),
            "keywords" => m.keywords.extend(super::split_keywords(&v)),
            "subject" | "description" if m.description.is_none() => m.description = Some(v),
            "language" => m.language = Some(v),
            "category" => m.doctype = Some(v),
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds a small DOCX in memory.
    pub fn make_docx(paragraphs: &[(&str, &str)], core: &str) -> Vec<u8> {
        let mut body = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
        );
        for (style, text) in paragraphs {
            if *style == "table" {
                body.push_str("<w:tbl><w:tr>");
                for c in text.split('|') {
                    body.push_str(&format!("<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>"));
                }
                body.push_str("</w:tr></w:tbl>");
                continue;
            }
            body.push_str("<w:p>");
            if !style.is_empty() {
                body.push_str(&format!(r#"<w:pPr><w:pStyle w:val="{style}"/></w:pPr>"#));
            }
            body.push_str(&format!("<w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>"));
        }
        body.push_str("</w:body></w:document>");
        let mut buf = Vec::new();
        {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut buf));
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("[Content_Types].xml", opts).unwrap();
            z.write_all(b"<Types/>").unwrap();
            z.start_file("word/document.xml", opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
            if !core.is_empty() {
                z.start_file("docProps/core.xml", opts).unwrap();
                z.write_all(core.as_bytes()).unwrap();
            }
            z.finish().unwrap();
        }
        buf
    }

    const CORE: &str = r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="x" xmlns:dc="y" xmlns:dcterms="z"><dc:title>Handpump review &amp; lessons</dc:title><dc:creator>A. Banda; WaterNet</dc:creator><cp:keywords>handpumps, Malawi; spare parts</cp:keywords><dcterms:created>2016-04-02T10:00:00Z</dcterms:created></cp:coreProperties>"#;

    #[test]
    fn paragraphs_headings_tables_and_properties() {
        let bytes = make_docx(
            &[
                ("Heading1", "Findings"),
                ("", "Pumps broke &amp; stayed broken."),
                ("table", "District|Functional"),
                ("Titre2", "Leçons"),
            ],
            CORE,
        );
        let d = extract(&bytes, &Limits::default()).unwrap();
        let b = &d.pages[0].blocks;
        assert_eq!(b[0], Block::heading(1, "Findings"));
        assert_eq!(b[1], Block::text("Pumps broke & stayed broken."));
        assert_eq!(b[2], Block::text("District | Functional"));
        assert_eq!(b[3], Block::heading(2, "Leçons"));
        assert_eq!(d.metadata.title.as_deref(), Some("Handpump review & lessons"));
        assert_eq!(d.metadata.authors, vec!["A. Banda", "WaterNet"]);
        assert_eq!(d.metadata.keywords, vec!["handpumps", "Malawi", "spare parts"]);
        assert_eq!(d.metadata.date.as_deref(), Some("2016-04-02T10:00:00Z"));
    }

    #[test]
    fn truncated_docx_is_an_error_not_a_panic() {
        let bytes = make_docx(&[("", "hello")], CORE);
        let cut = &bytes[..bytes.len() / 2];
        assert!(extract(cut, &Limits::default()).is_err());
    }

    #[test]
    fn zip_bomb_member_is_refused() {
        let big = "<w:p><w:r><w:t>aaaaaaaaaa</w:t></w:r></w:p>".repeat(50_000);
        let bytes = make_docx(&[("", &big)], "");
        let limits = Limits { max_decompressed: 100_000, ..Limits::default() };
        let e = extract(&bytes, &limits).unwrap_err().to_string();
        assert!(e.contains("decompression bomb"), "{e}");
    }
}
