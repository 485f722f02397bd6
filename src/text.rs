//! Small text utilities shared by extraction and enrichment: accent folding and word splitting,
//! done the same way for documents and for the trigger terms of the taxonomy.

use unicode_normalization::UnicodeNormalization;

/// Lowercases and folds accents: "Éché" -> "eche", "Œuvre" -> "oeuvre", "ß" -> "ss".
pub fn fold(s: &str) -> String {
    fold_case(s, true)
}

/// Folds accents, keeping or lowering case.
pub fn fold_case(s: &str, lower: bool) -> String {
    if s.is_ascii() {
        // Most words of most reports: nothing to decompose.
        return if lower { s.to_ascii_lowercase() } else { s.to_string() };
    }
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        match c {
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str(if lower { "ae" } else { "AE" }),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str(if lower { "oe" } else { "OE" }),
            'ø' => out.push('o'),
            'Ø' => out.push(if lower { 'o' } else { 'O' }),
            'ł' => out.push('l'),
            'Ł' => out.push(if lower { 'l' } else { 'L' }),
            'đ' => out.push('d'),
            'ı' => out.push('i'),
            _ if lower => out.extend(c.to_lowercase()),
            _ => out.push(c),
        }
    }
    out
}

/// Splits text into words: maximal runs of letters and digits. Returns byte ranges into `s`.
pub fn word_spans(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = s.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = chars.peek() {
            if c.is_alphanumeric() {
                break;
            }
            chars.next();
        }
        let (start, _) = *chars.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        Some((start, end))
    })
}

/// The words of `s`, folded (lowercased, accents removed).
pub fn folded_words(s: &str) -> Vec<String> {
    word_spans(s).map(|(a, b)| fold(&s[a..b])).collect()
}

/// Counts the words of `s`.
pub fn word_count(s: &str) -> usize {
    word_spans(s).count()
}

/// Collapses runs of whitespace to one space and trims.
pub fn squash_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` with its white space squashed, cut at a word after about `max` characters (then
/// ending in " …").
pub fn cut_at_word(text: &str, max: usize) -> String {
    let t = squash_ws(text);
    if t.chars().count() <= max {
        return t;
    }
    let end = t.char_indices().nth(max).map(|(i, _)| i).unwrap_or(t.len());
    let cut = t[..end].rfind(' ').unwrap_or(end);
    format!("{} …", &t[..cut])
}

/// `v` without the ASCII blanks (space, tab, CR, LF, VT, FF) around it: the blanks the API's
/// patterns forgive, no more.
pub fn trim_blanks(v: &str) -> &str {
    v.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'))
}

/// The sentences of a text: cut at line breaks and after `.`, `!`, `?`, `…` or `;` followed by a
/// space, trimmed, empty ones skipped. (Abbreviations such as "e.g." cut a sentence short: the
/// pieces still say what the sentence says.)
pub fn sentences(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split('\n').flat_map(|line| {
        let mut out = Vec::new();
        let mut start = 0;
        let mut prev_end = false;
        for (i, c) in line.char_indices() {
            if prev_end && c.is_whitespace() {
                out.push(&line[start..i]);
                start = i;
            }
            prev_end = matches!(c, '.' | '!' | '?' | '…' | ';');
        }
        out.push(&line[start..]);
        out.into_iter().map(str::trim).filter(|s| !s.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold("Échoué à Ségou"), "echoue a segou");
        assert_eq!(fold("Œuvre, Straße"), "oeuvre, strasse");
        assert_eq!(fold_case("Côte d'Ivoire", false), "Cote d'Ivoire");
        assert_eq!(fold("São Tomé"), "sao tome");
    }

    #[test]
    fn splits_words() {
        assert_eq!(folded_words("pit-latrine, l'eau (O&M) 2019"), vec!["pit", "latrine", "l", "eau", "o", "m", "2019"]);
        assert_eq!(word_count("  "), 0);
    }
}
