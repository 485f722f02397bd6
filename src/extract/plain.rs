//! Plain-text notes: optional front matter, an e-mail style "Subject:" line as title, paragraphs
//! split on blank lines, and short unpunctuated lines standing alone taken as headings.

use super::frontmatter;
use crate::document::{Block, Extracted, Format, Page};
use crate::text::squash_ws;

/// Extracts a plain-text document.
pub fn extract(src: &str) -> Extracted {
    let (mut metadata, body, warning) = frontmatter::split(src);
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    if metadata.title.is_none() {
        for line in body.lines().take(15) {
            let l = line.trim();
            for p in ["Subject:", "Objet :", "Objet:", "Asunto:", "Assunto:", "Re:"] {
                if let Some(rest) = l.strip_prefix(p) {
                    let t = rest.trim();
                    if !t.is_empty() {
                        metadata.title = Some(t.to_string());
                    }
                }
            }
            if metadata.title.is_some() {
                break;
            }
        }
    }
    let mut blocks = Vec::new();
    for para in body.split("\n\n") {
        let lines: Vec<&str> = para.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            continue;
        }
        // Underlined headings ("Title\n=====") and lone short lines.
        if lines.len() == 2 && lines[1].chars().all(|c| c == '=' || c == '-') && lines[1].len() >= 3 {
            blocks.push(Block::heading(if lines[1].starts_with('=') { 1 } else { 2 }, lines[0]));
            continue;
        }
        // Lists and tables keep their lines.
        let listy = lines.iter().filter(|l| is_list_line(l)).count() * 2 > lines.len();
        if listy {
            for l in lines {
                let t = squash_ws(l.trim_start_matches(['-', '*', '•', '–']));
                if !t.is_empty() {
                    blocks.push(Block::text(t));
                }
            }
            continue;
        }
        let text = squash_ws(&lines.join(" "));
        if text.chars().all(|c| c == '=' || c == '-' || c == '*' || c == '_') {
            continue;
        }
        if lines.len() == 1 && is_heading_line(&text) {
            blocks.push(Block::heading(2, text));
        } else {
            blocks.push(Block::text(text));
        }
    }
    Extracted {
        format: Format::Text,
        metadata: Default::default(),
        declared: metadata,
        pages: vec![Page { number: 1, blocks }],
        warnings: warning.into_iter().collect(),
        scanned_pages: Vec::new(),
        ocr_pages: Vec::new(),
    }
}

fn is_list_line(l: &str) -> bool {
    l.starts_with("- ") || l.starts_with("* ") || l.starts_with('•') || l.starts_with("– ") || l.contains(" | ") || {
        let digits = l.chars().take_while(|c| c.is_ascii_digit()).count();
        digits > 0 && digits < 3 && l[digits..].starts_with(['.', ')'])
    }
}

fn is_heading_line(t: &str) -> bool {
    let words = t.split_whitespace().count();
    let last = t.chars().last().unwrap_or('.');
    words <= 10
        && t.chars().count() <= 80
        && !matches!(last, '.' | ',' | ';' | '!' | '?')
        && t.chars().next().is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_paragraphs_and_headings() {
        let d = extract("From: Ana\nSubject: Trip report Turkana, May 2019\n\nKEY FINDINGS\n\nThe solar pump at Lokori has been down\nsince March.\n\n- tank cracked\n- no funds\n");
        assert_eq!(d.declared.title.as_deref(), Some("Trip report Turkana, May 2019"));
        let b = &d.pages[0].blocks;
        assert!(b.contains(&Block::heading(2, "KEY FINDINGS")));
        assert!(b.contains(&Block::text("The solar pump at Lokori has been down since March.")));
        assert!(b.contains(&Block::text("tank cracked")));
    }
}
