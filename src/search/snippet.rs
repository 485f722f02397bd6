//! Snippets: the best window of the best page for the query's words, highlighted by tantivy's
//! snippet generator on that window only (stemming whole pages was slow).

use super::*;

/// A snippet generator for one body field, and the query's terms in that field.
pub(super) struct Generator {
    pub(super) snippets: SnippetGenerator,
    pub(super) terms: Vec<String>,
}

/// Snippet generators per body field, made on first use.
///
/// Stemming whole pages is what made snippets slow, so each page is first scanned with the cheap
/// language-neutral analyzer (lowercase, accents folded, no stemming) for words that start with
/// one of the query's terms; only the best window of the best pages goes through the stemming
/// snippet generator.
pub(super) struct Snippets<'a> {
    pub(super) searcher: &'a Searcher,
    pub(super) query: &'a dyn Query,
    pub(super) idx: &'a WashIndex,
    pub(super) generators: BTreeMap<String, Option<Generator>>,
    pub(super) scanner: tantivy::tokenizer::TextAnalyzer,
}

/// Bytes of text handed to the snippet generator around the best cluster of matches.
pub(super) const WINDOW: usize = 420;

impl<'a> Snippets<'a> {
    pub(super) fn new(searcher: &'a Searcher, query: &'a dyn Query, idx: &'a WashIndex) -> Self {
        Snippets { searcher, query, idx, generators: BTreeMap::new(), scanner: crate::index::analyzer("neutral") }
    }

    fn generator(&mut self, lang: &str) -> Option<&Generator> {
        let (searcher, query, idx) = (self.searcher, self.query, self.idx);
        self.generators
            .entry(lang.to_string())
            .or_insert_with(|| {
                let field = idx.fields.body(lang);
                let mut terms = Vec::new();
                query.query_terms(&mut |term, _| {
                    if term.field() == field {
                        if let Some(t) = term.value().as_str() {
                            terms.push(t.to_string());
                        }
                    }
                });
                terms.sort();
                terms.dedup();
                if terms.is_empty() {
                    return None;
                }
                let mut g = SnippetGenerator::create(searcher, query, field).ok()?;
                g.set_max_num_chars(240);
                Some(Generator { snippets: g, terms })
            })
            .as_ref()
    }

    /// The best window of `text` for `terms`: (distinct terms, matches, start, end), or None.
    fn window(
        scanner: &mut tantivy::tokenizer::TextAnalyzer,
        text: &str,
        terms: &[String],
    ) -> Option<(usize, usize, usize, usize)> {
        let mut hits: Vec<(usize, usize)> = Vec::new();
        let mut stream = scanner.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            if let Some(k) = terms.iter().position(|term| t.text.starts_with(term.as_str())) {
                hits.push((t.offset_from, k));
            }
        }
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, &(pos, _)) in hits.iter().enumerate() {
            let mut seen = vec![false; terms.len()];
            let mut n = 0;
            for &(_, k) in hits[i..].iter().take_while(|(p, _)| *p < pos + WINDOW / 2) {
                seen[k] = true;
                n += 1;
            }
            let distinct = seen.iter().filter(|s| **s).count();
            if best.is_none_or(|(d, m, _)| (distinct, n) > (d, m)) {
                best = Some((distinct, n, pos));
            }
        }
        let (distinct, n, pos) = best?;
        let mut start = pos.saturating_sub(WINDOW / 4);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        // Start at a word: just after the first space at or after `start` (but before the match).
        if start > 0 {
            if let Some(sp) = text[start..pos].find(char::is_whitespace) {
                start += sp + 1;
            } else {
                start = pos;
            }
            while !text.is_char_boundary(start) {
                start += 1;
            }
        }
        let mut end = (start + WINDOW).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        Some((distinct, n, start, end))
    }

    /// The best passages: the pages with the most query terms close together, best first.
    pub(super) fn best(&mut self, record: &Record, pages: &[&str]) -> Vec<Snippet> {
        let paged = record.format.has_pages();
        let mut out: Vec<Snippet> = Vec::new();
        for lang in [record.language.as_str(), "neutral"] {
            let mut scanner = self.scanner.clone();
            let Some(g) = self.generator(lang) else {
                continue;
            };
            let mut windows: Vec<(usize, usize, u32, usize, usize)> = pages
                .iter()
                .enumerate()
                .filter_map(|(i, text)| {
                    Self::window(&mut scanner, text, &g.terms).map(|(d, n, a, b)| (d, n, i as u32 + 1, a, b))
                })
                .collect();
            windows.sort_by(|x, y| (y.0, y.1).cmp(&(x.0, x.1)).then(x.2.cmp(&y.2)));
            for (_, _, page, a, b) in windows {
                let mut s = g.snippets.snippet(&pages[page as usize - 1][a..b]);
                if s.highlighted().is_empty() {
                    continue;
                }
                s.set_snippet_prefix_postfix("<mark>", "</mark>");
                out.push(Snippet { html: crate::text::squash_ws(&s.to_html()), page: paged.then_some(page) });
                if out.len() == 2 {
                    break;
                }
            }
            if !out.is_empty() {
                break;
            }
        }
        if out.is_empty() {
            if let Some((i, text)) = pages.iter().enumerate().find(|(_, t)| !t.trim().is_empty()) {
                let cut: String = text.chars().take(240).collect();
                out.push(Snippet {
                    html: escape_html(&crate::text::squash_ws(&cut)),
                    page: paged.then_some(i as u32 + 1),
                });
            }
        }
        out
    }
}
