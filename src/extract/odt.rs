//! ODT (OpenDocument text): headings with their outline level, paragraphs, list items, tables
//! row by row, and `meta.xml` (title, creator, dates, keywords, subject, language).

use super::xml::{attr, simple_fields, walk, Ev};
use super::zipfile::Zip;
use super::Limits;
use crate::document::{Block, Extracted, Format, Metadata, Page};
use crate::error::{Error, Result};
use crate::text::squash_ws;

/// Extracts an ODT file.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    let mut zip = Zip::open(bytes, limits.max_decompressed)?;
    let content = zip.read_text("content.xml")?.ok_or_else(|| Error::extract("ODT without content.xml"))?;
    let blocks = body_blocks(&content)?;
    let mut warnings = Vec::new();
    let metadata = match zip.read_text("meta.xml") {
        Ok(Some(meta)) => meta_properties(&meta).unwrap_or_else(|e| {
            warnings.push(format!("meta.xml ignored: {e}"));
            Metadata::default()
        }),
        Ok(None) => Metadata::default(),
        Err(e) => {
            warnings.push(format!("meta.xml ignored: {e}"));
            Metadata::default()
        }
    };
    Ok(Extracted {
        format: Format::Odt,
        metadata,
        declared: Metadata::default(),
        pages: vec![Page { number: 1, blocks }],
        warnings,
        scanned_pages: Vec::new(),
        ocr_pages: Vec::new(),
    })
}

fn body_blocks(xml: &str) -> Result<Vec<Block>> {
    let mut blocks = Vec::new();
    // Paragraphs may nest (a note inside a paragraph): keep a stack of open ones.
    let mut stack: Vec<(Option<u8>, String)> = Vec::new();
    let mut in_body = false;
    let mut table_depth = 0usize;
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    fn finish(level: Option<u8>, text: String, table_depth: usize, cell: &mut String, blocks: &mut Vec<Block>) {
        let text = squash_ws(&text);
        if text.is_empty() {
            return;
        }
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
    walk(xml, "content.xml", |ev| match ev {
        Ev::Start("text", _) => in_body = true,
        Ev::End("text") if stack.is_empty() => in_body = false,
        Ev::Start("h", a) if in_body => {
            let l = attr(a, "outline-level").and_then(|v| v.parse::<u8>().ok()).unwrap_or(1);
            stack.push((Some(l.clamp(1, 9)), String::new()));
        }
        Ev::Start("p", a) if in_body => {
            let style = attr(a, "style-name").unwrap_or("");
            let level = matches!(style, "Title" | "Titre" | "Título").then_some(1);
            stack.push((level, String::new()));
        }
        Ev::End("h") | Ev::End("p") => {
            if let Some((level, text)) = stack.pop() {
                finish(level, text, table_depth, &mut cell, &mut blocks);
            }
        }
        Ev::Text(t) => {
            if let Some((_, buf)) = stack.last_mut() {
                buf.push_str(t);
            }
        }
        Ev::Empty("s", a) => {
            if let Some((_, buf)) = stack.last_mut() {
                let n = attr(a, "c").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).min(100);
                buf.push_str(&" ".repeat(n));
            }
        }
        Ev::Empty("tab", _) | Ev::Empty("line-break", _) => {
            if let Some((_, buf)) = stack.last_mut() {
                buf.push(' ');
            }
        }
        Ev::Start("table", _) => table_depth += 1,
        Ev::End("table") => table_depth = table_depth.saturating_sub(1),
        Ev::Start("table-row", _) => row.clear(),
        Ev::Start("table-cell", _) => cell.clear(),
        Ev::End("table-cell") => row.push(std::mem::take(&mut cell)),
        Ev::End("table-row") => {
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

fn meta_properties(xml: &str) -> Result<Metadata> {
    let mut m = Metadata::default();
    for (k, v) in simple_fields(xml, "meta.xml")? {
        match k.as_str() {
            "title" => m.title = Some(v),
            "creator" | "initial-creator" if !m.authors.contains(&v) => m.authors.push(v),
            "creation-date" => m.date = Some(v),
            "date" if m.date.is_none() => m.date = Some(v),
            "keyword" => m.keywords.extend(super::split_keywords(&v)),
            "subject" | "description" if m.description.is_none() => m.description = Some(v),
            "language" => m.language = Some(v),
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn make_odt(content: &str, meta: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut buf));
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            z.start_file("mimetype", stored).unwrap();
            z.write_all(b"application/vnd.oasis.opendocument.text").unwrap();
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("content.xml", opts).unwrap();
            z.write_all(content.as_bytes()).unwrap();
            z.start_file("meta.xml", opts).unwrap();
            z.write_all(meta.as_bytes()).unwrap();
            z.finish().unwrap();
        }
        buf
    }

    #[test]
    fn headings_paragraphs_tables_and_meta() {
        let content = r#"<office:document-content xmlns:office="o" xmlns:text="t" xmlns:table="tb"><office:body><office:text>
<text:p text:style-name="Title">Évaluation finale</text:p>
<text:h text:outline-level="2">Leçons apprises</text:h>
<text:p>Les comités<text:s text:c="2"/>ne se <text:span>réunissent</text:span> plus.<text:line-break/>Fin.</text:p>
<text:list><text:list-item><text:p>Pièces de rechange absentes</text:p></text:list-item></text:list>
<table:table><table:table-row><table:table-cell><text:p>Commune</text:p></table:table-cell><table:table-cell><text:p>Taux</text:p></table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>"#;
        let meta = r#"<office:document-meta xmlns:office="o" xmlns:meta="m" xmlns:dc="d"><office:meta><dc:title>Rapport AEP</dc:title><meta:initial-creator>Awa Diallo</meta:initial-creator><meta:keyword>eau potable</meta:keyword><meta:keyword>Mali</meta:keyword><meta:creation-date>2014-06-01T00:00:00</meta:creation-date></office:meta></office:document-meta>"#;
        let d = extract(&make_odt(content, meta), &Limits::default()).unwrap();
        let b = &d.pages[0].blocks;
        assert_eq!(b[0], Block::heading(1, "Évaluation finale"));
        assert_eq!(b[1], Block::heading(2, "Leçons apprises"));
        assert_eq!(b[2], Block::text("Les comités ne se réunissent plus. Fin."));
        assert_eq!(b[3], Block::text("Pièces de rechange absentes"));
        assert_eq!(b[4], Block::text("Commune | Taux"));
        assert_eq!(d.metadata.title.as_deref(), Some("Rapport AEP"));
        assert_eq!(d.metadata.keywords, vec!["eau potable", "Mali"]);
        assert_eq!(d.metadata.authors, vec!["Awa Diallo"]);
    }
}
