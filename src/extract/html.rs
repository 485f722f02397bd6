//! HTML pages: the visible text of the body as blocks (headings kept as headings, table rows
//! joined), `<title>`, the meta description, keywords, author and date, and the `lang` attribute.
//! Scripts, styles, templates, navigation menus and hidden elements are dropped.

use ego_tree::NodeRef;
use scraper::{Html, Node, Selector};

use crate::document::{Block, Extracted, Format, Metadata, Page};
use crate::text::squash_ws;

const SKIP: [&str; 10] =
    ["script", "style", "noscript", "template", "svg", "nav", "head", "iframe", "object", "button"];
const BLOCKS: [&str; 28] = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "form",
    "fieldset",
    "address",
    "hr",
    "br",
    "caption",
    "details",
];

/// Extracts an HTML page.
pub fn extract(src: &str) -> Extracted {
    let doc = Html::parse_document(src);
    let mut m = Metadata::default();
    let sel = |s: &str| Selector::parse(s).expect("static selector");
    if let Some(t) = doc.select(&sel("title")).next() {
        let t = squash_ws(&t.text().collect::<String>());
        if !t.is_empty() {
            m.title = Some(t);
        }
    }
    for meta in doc.select(&sel("meta")) {
        let el = meta.value();
        let key = el.attr("name").or_else(|| el.attr("property")).unwrap_or("").to_ascii_lowercase();
        let Some(content) = el.attr("content").map(squash_ws).filter(|c| !c.is_empty()) else {
            continue;
        };
        match key.as_str() {
            "description" | "og:description" | "dc.description" if m.description.is_none() => {
                m.description = Some(content)
            }
            "keywords" | "dc.subject" => m.keywords.extend(super::split_keywords(&content)),
            "author" | "dc.creator" => m.authors.push(content),
            "date" | "dc.date" | "dcterms.date" | "article:published_time" | "citation_publication_date"
                if m.date.is_none() =>
            {
                m.date = Some(content)
            }
            "og:title" | "dc.title" if m.title.is_none() => m.title = Some(content),
            "language" | "dc.language" if m.language.is_none() => m.language = Some(content),
            _ => {}
        }
    }
    if let Some(lang) = doc.root_element().value().attr("lang").filter(|l| !l.trim().is_empty()) {
        m.language.get_or_insert_with(|| lang.trim().to_string());
    }
    if m.date.is_none() {
        if let Some(t) = doc.select(&sel("time[datetime]")).next() {
            m.date = t.value().attr("datetime").map(str::to_string);
        }
    }
    let body = doc.select(&sel("body")).next();
    let mut w = Walker { blocks: Vec::new(), buf: String::new(), row: Vec::new(), in_cell: false };
    match body {
        Some(b) => w.walk(*b),
        None => w.walk(doc.tree.root()),
    }
    w.flush();
    Extracted {
        format: Format::Html,
        metadata: m,
        declared: Metadata::default(),
        pages: vec![Page { number: 1, blocks: w.blocks }],
        warnings: Vec::new(),
        scanned_pages: Vec::new(),
        ocr_pages: Vec::new(),
    }
}

struct Walker {
    blocks: Vec<Block>,
    buf: String,
    row: Vec<String>,
    in_cell: bool,
}

impl Walker {
    fn flush(&mut self) {
        let t = squash_ws(&self.buf);
        self.buf.clear();
        if t.is_empty() {
            return;
        }
        if self.in_cell {
            self.row.push(t);
        } else {
            self.blocks.push(Block::text(t));
        }
    }

    fn walk(&mut self, node: NodeRef<'_, Node>) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => self.buf.push_str(t),
                Node::Element(el) => {
                    let name = el.name();
                    if SKIP.contains(&name) || el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
                        continue;
                    }
                    if let Some(level) =
                        name.strip_prefix('h').and_then(|l| l.parse::<u8>().ok()).filter(|l| (1..=6).contains(l))
                    {
                        self.flush();
                        let mut inner =
                            Walker { blocks: Vec::new(), buf: String::new(), row: Vec::new(), in_cell: false };
                        inner.walk(child);
                        inner.flush();
                        let text = inner.blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join(" ");
                        if !text.is_empty() {
                            self.blocks.push(Block::heading(level, text));
                        }
                        continue;
                    }
                    match name {
                        "tr" => {
                            self.flush();
                            let saved = (std::mem::take(&mut self.row), self.in_cell);
                            self.walk(child);
                            self.flush();
                            let cells = std::mem::replace(&mut self.row, saved.0);
                            self.in_cell = saved.1;
                            if !cells.is_empty() {
                                self.blocks.push(Block::text(cells.join(" | ")));
                            }
                        }
                        "td" | "th" => {
                            self.flush();
                            let was = self.in_cell;
                            self.in_cell = true;
                            self.walk(child);
                            self.flush();
                            self.in_cell = was;
                        }
                        _ if BLOCKS.contains(&name) => {
                            self.flush();
                            self.walk(child);
                            self.flush();
                        }
                        _ => self.walk(child),
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_title_and_meta() {
        let html = r#"<!DOCTYPE html><html lang="fr"><head><title>Leçons du projet</title>
<meta name="description" content="Ce que nous avons appris."><meta name="keywords" content="latrines, Bénin">
<style>p { color: red }</style><script>var tracking = "secret";</script></head>
<body><nav><a href="/">Accueil</a></nav><h1>Leçons <em>apprises</em></h1><p>Les latrines &amp; les
 lave-mains.</p><table><tr><th>Commune</th><td>Abomey</td></tr></table><div hidden>caché</div>
<noscript>JS off</noscript><p>Fin</p></body></html>"#;
        let d = extract(html);
        let b = &d.pages[0].blocks;
        assert_eq!(b[0], Block::heading(1, "Leçons apprises"));
        assert_eq!(b[1], Block::text("Les latrines & les lave-mains."));
        assert_eq!(b[2], Block::text("Commune | Abomey"));
        assert_eq!(b[3], Block::text("Fin"));
        assert_eq!(b.len(), 4);
        let all = d.full_text();
        assert!(
            !all.contains("secret") && !all.contains("color") && !all.contains("Accueil") && !all.contains("caché")
        );
        assert_eq!(d.metadata.title.as_deref(), Some("Leçons du projet"));
        assert_eq!(d.metadata.description.as_deref(), Some("Ce que nous avons appris."));
        assert_eq!(d.metadata.keywords, vec!["latrines", "Bénin"]);
        assert_eq!(d.metadata.language.as_deref(), Some("fr"));
    }
}
