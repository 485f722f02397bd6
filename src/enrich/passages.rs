//! Passages: the pieces of a document that get a sentence vector. The encoder averages over its
//! input, so a whole report would blur into one vague vector; a passage of 50 to 100 words is
//! about one thing. (Measured on the judged queries, nDCG@10 of semantic search on the conceptual
//! and cross-language ones: 0.407 with 100-200 words, 0.411 with 60-120, 0.453 with 50-100,
//! 0.448 with 30-60.) Passages stay within a page (so a hit can name its page) and end at a
//! sentence end when one comes after the minimum.

use crate::document::PageText;

/// Words after which a sentence end closes the passage.
pub const MIN_WORDS: usize = 50;
/// Words at which a passage is closed wherever it is.
pub const MAX_WORDS: usize = 100;
/// A tail shorter than this joins the passage before it on the same page.
const TAIL_WORDS: usize = 40;
/// Passages with fewer words say too little to embed (page numbers, running titles).
const MIN_PASSAGE_WORDS: usize = 4;

/// A passage: bytes `start..end` of the text of page `page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passage {
    /// Page number (1-based), as in [`PageText::number`].
    pub page: u32,
    /// Byte offset of the first word in the page text.
    pub start: usize,
    /// Byte offset just after the last word.
    pub end: usize,
}

impl Passage {
    /// The passage's text within its page's text.
    pub fn text<'a>(&self, page_text: &'a str) -> &'a str {
        page_text.get(self.start..self.end).unwrap_or("")
    }
}

/// Cuts pages into passages.
pub fn split(pages: &[PageText]) -> Vec<Passage> {
    let mut out = Vec::new();
    for page in pages {
        let words = words(&page.text);
        let first_of_page = out.len();
        let mut begin = 0;
        for i in 0..words.len() {
            let n = i + 1 - begin;
            let (ws, we) = words[i];
            let sentence_end = page.text[ws..we]
                .trim_end_matches(['"', '\'', ')', '»', '”', '’'])
                .ends_with(['.', '!', '?', '…', ';']);
            if n >= MAX_WORDS || (n >= MIN_WORDS && sentence_end) {
                out.push(Passage { page: page.number, start: words[begin].0, end: we });
                begin = i + 1;
            }
        }
        if begin < words.len() {
            let tail = words.len() - begin;
            let end = words[words.len() - 1].1;
            let has_prev = out.len() > first_of_page;
            match out.last_mut() {
                Some(prev) if has_prev && tail < TAIL_WORDS => prev.end = end,
                _ if tail >= MIN_PASSAGE_WORDS => out.push(Passage { page: page.number, start: words[begin].0, end }),
                _ => {}
            }
        }
    }
    out
}

/// The passages of a document as the vector phase embeds them: the title as a passage of its own
/// (page 0, when it has two words or more: the densest statement of what the document is
/// about), then the passages of the pages. Each as (page, start, end, text).
pub fn of_document<'a>(title: &'a str, pages: &'a [PageText]) -> Vec<(u32, usize, usize, &'a str)> {
    let title = (title.split_whitespace().count() >= 2).then_some((0u32, 0usize, 0usize, title));
    let body = split(pages).into_iter().filter_map(move |p| {
        let page = pages
            .get((p.page as usize).wrapping_sub(1))
            .filter(|pg| pg.number == p.page)
            .or_else(|| pages.iter().find(|pg| pg.number == p.page))?;
        Some((p.page, p.start, p.end, p.text(&page.text)))
    });
    title.into_iter().chain(body).collect()
}

/// Byte ranges of the whitespace-separated words of `text`.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(number: u32, text: String) -> PageText {
        PageText { number, text }
    }

    fn sentences(n: usize, words_each: usize) -> String {
        (0..n).map(|s| format!("{}word{s} ends.", "w ".repeat(words_each - 2))).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn passages_end_at_sentences_between_the_bounds_and_stay_on_their_page() {
        // 30 sentences of 12 words = 360 words: passages close at the first sentence end after 50.
        let pages = [page(1, sentences(30, 12)), page(2, "Short page with seven words here.".into())];
        let ps = split(&pages);
        let counts: Vec<usize> =
            ps.iter().map(|p| p.text(&pages[p.page as usize - 1].text).split_whitespace().count()).collect();
        assert_eq!(ps.last().unwrap().page, 2);
        for (p, &n) in ps.iter().zip(&counts) {
            let text = p.text(&pages[p.page as usize - 1].text);
            if p.page == 1 {
                assert!((MIN_WORDS..=MAX_WORDS + TAIL_WORDS).contains(&n), "{n} words");
                assert!(text.ends_with('.'), "{text:?}");
            }
        }
        assert_eq!(counts.iter().sum::<usize>(), 360 + 6);
    }

    #[test]
    fn text_without_sentence_ends_is_cut_at_the_maximum_and_tiny_pages_are_skipped() {
        let pages = [page(3, "word ".repeat(230)), page(4, "12".into())];
        let ps = split(&pages);
        let counts: Vec<usize> = ps.iter().map(|p| p.text(&pages[0].text).split_whitespace().count()).collect();
        assert_eq!(counts, vec![100, 130]);
        assert!(ps.iter().all(|p| p.page == 3));
    }
}
