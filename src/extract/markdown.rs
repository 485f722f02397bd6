//! Markdown notes: front matter, then headings, paragraphs, list items, table rows and code
//! blocks as blocks (via pulldown-cmark, so links, emphasis and the like come out as plain text).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::frontmatter;
use crate::document::{Block, Extracted, Format, Page};
use crate::text::squash_ws;

/// Extracts a Markdown document.
pub fn extract(src: &str) -> Extracted {
    let (metadata, body, warning) = frontmatter::split(src);
    let mut blocks = Vec::new();
    let mut buf = String::new();
    let mut heading: Option<u8> = None;
    let mut row: Vec<String> = Vec::new();
    let mut in_cell = false;
    let flush = |buf: &mut String, blocks: &mut Vec<Block>, heading: Option<u8>| {
        let t = squash_ws(buf);
        buf.clear();
        if !t.is_empty() {
            blocks.push(match heading {
                Some(l) => Block::heading(l, t),
                None => Block::text(t),
            });
        }
    };
    for ev in Parser::new_ext(&body, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut buf, &mut blocks, None);
                heading = Some(level as u8);
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut buf, &mut blocks, heading);
                heading = None;
            }
            Event::Start(Tag::Paragraph | Tag::Item | Tag::CodeBlock(_) | Tag::BlockQuote(_))
            | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock | TagEnd::BlockQuote(_))
                if !in_cell =>
            {
                flush(&mut buf, &mut blocks, None)
            }
            Event::Start(Tag::TableCell) => {
                in_cell = true;
                buf.clear();
            }
            Event::End(TagEnd::TableCell) => {
                in_cell = false;
                let t = squash_ws(&buf);
                buf.clear();
                row.push(t);
            }
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                let cells: Vec<&str> = row.iter().map(|c| c.as_str()).filter(|c| !c.is_empty()).collect();
                if !cells.is_empty() {
                    blocks.push(Block::text(cells.join(" | ")));
                }
                row.clear();
            }
            Event::Text(t) | Event::Code(t) => buf.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buf.push(' '),
            _ => {}
        }
    }
    flush(&mut buf, &mut blocks, None);
    Extracted {
        format: Format::Markdown,
        metadata: Default::default(),
        declared: metadata,
        pages: vec![Page { number: 1, blocks }],
        warnings: warning.into_iter().collect(),
        scanned_pages: Vec::new(),
        ocr_pages: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_lists_tables_links() {
        let d = extract("---\ntitle: Notes\n---\n# Meeting of the WASH alliance\n\nAttendees: *Jane*, [WaterAid](https://x.org).\n\n- Pumps broken\n- No spares\n\n| District | Pumps |\n|---|---|\n| Mzimba | 12 |\n");
        let b = &d.pages[0].blocks;
        assert_eq!(b[0], Block::heading(1, "Meeting of the WASH alliance"));
        assert_eq!(b[1], Block::text("Attendees: Jane, WaterAid."));
        assert_eq!(b[2], Block::text("Pumps broken"));
        assert_eq!(b[3], Block::text("No spares"));
        assert_eq!(b[4], Block::text("District | Pumps"));
        assert_eq!(b[5], Block::text("Mzimba | 12"));
        assert_eq!(d.declared.title.as_deref(), Some("Notes"));
    }
}
