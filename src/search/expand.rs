//! Query understanding: what a practitioner's few words stand for.
//!
//! The query is cut into concepts: the longest phrases known to the WASH glossary
//! (`index-config/synonyms.toml`) or to the taxonomy's triggers, and single words otherwise. A
//! concept is found by its own words (in every language's fields), by its glossary synonyms
//! (acronyms and expansions, other languages, other spellings), by the facet its trigger stands
//! for (so "fosse septique" finds English septic-tank reports), and, for a word of five letters or
//! more, by words one or two edits away (typos), each ranked below the words as typed. Question
//! and stop words ("why", "did", "les") are never required.

use std::collections::{HashMap, HashSet};

use crate::config::Config;
use crate::text::{fold, word_spans};

/// What a concept may also be found by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alternatives {
    /// Other terms meaning the same (glossary).
    pub synonyms: Vec<String>,
    /// Facet paths whose triggers the concept is.
    pub facets: Vec<String>,
}

/// One concept of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// The words as typed.
    pub text: String,
    /// How many words.
    pub words: usize,
    /// A stop or question word: not required.
    pub optional: bool,
    /// What else finds it.
    pub alts: Alternatives,
}

/// How much each way of finding a concept weighs, relative to its own words (tuned on the
/// judged queries: `cargo run --release --example relevance -- --tune`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// A glossary synonym (boost).
    pub synonym: f32,
    /// A facet whose trigger the concept is (constant score; a matched word scores about 2-8).
    pub facet: f32,
    /// A word one or two edits away (constant score).
    pub typo: f32,
    /// The words of the query close together (boost).
    pub proximity: f32,
    /// The concept's words inside a lessons section (boost, on top).
    pub lessons: f32,
    /// Documents with all the concepts over those with some (boost).
    pub all_words: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { synonym: 1.0, facet: 5.0, typo: 0.0, proximity: 1.5, lessons: 0.7, all_words: 1.0 }
    }
}

/// The glossary and the taxonomy's triggers, compiled for queries.
#[derive(Debug, Clone, Default)]
pub struct Expander {
    /// The weights of the alternatives.
    pub weights: Weights,
    /// Lowercase folded words -> alternatives.
    phrases: HashMap<Vec<String>, Alternatives>,
    /// Acronyms and other terms with two or more capitals: matched only as written (folded,
    /// case kept), so that "ASH" is not "ash".
    cased: HashMap<Vec<String>, Alternatives>,
    /// Single-word prefix triggers (`desludg*`) and their facets.
    prefixes: Vec<(String, String)>,
    max_words: usize,
}

/// Written with two or more capitals ("FSM", "WASH FIT", "O&M"): matched as written.
fn is_acronym(term: &str) -> bool {
    term.chars().filter(|c| c.is_uppercase()).count() >= 2
}

fn cased_words(term: &str) -> Vec<String> {
    word_spans(term).map(|(a, b)| crate::text::fold_case(&term[a..b], false)).collect()
}

/// Question words of the four languages, never required in a query.
const QUESTION_WORDS: &[&str] = &[
    "why", "how", "what", "when", "where", "which", "who", "did", "does", "do", "was", "were", "has", "have", "happen",
    "happens", "happened", "get", "gets", "got", "go", "goes", "went", "can", "could", "would", "should", "pourquoi",
    "comment", "quoi", "quand", "quel", "quels", "quelle", "quelles", "ont", "est", "sont", "por", "que", "qué",
    "como", "cómo", "cuando", "cuál", "cuales", "porque", "quais", "qual", "quando", "onde",
];

/// The share of a query's words that are stop words or question words of the four languages:
/// high for a sentence in a practitioner's own words, zero for a list of terms.
pub fn stop_share(query: &str) -> f32 {
    let words: Vec<&str> = word_spans(query).map(|(a, b)| &query[a..b]).collect();
    if words.is_empty() {
        return 0.0;
    }
    words.iter().filter(|w| is_stop(w)).count() as f32 / words.len() as f32
}

fn is_stop(word: &str) -> bool {
    let folded = fold(word);
    if QUESTION_WORDS.iter().any(|q| fold(q) == folded) {
        return true;
    }
    ["en", "fr", "es", "pt"].iter().any(|l| {
        let mut a = crate::index::analyzer(l);
        let mut s = a.token_stream(word);
        !s.advance()
    })
}

impl Expander {
    /// Compiles the glossary and the taxonomy of `config`.
    pub fn new(config: &Config) -> Expander {
        let mut phrases: HashMap<Vec<String>, Alternatives> = HashMap::new();
        let mut cased: HashMap<Vec<String>, Alternatives> = HashMap::new();
        for group in &config.synonyms {
            for t in group {
                let key = crate::text::folded_words(t);
                if key.is_empty() {
                    continue;
                }
                let alts = if is_acronym(t) {
                    cased.entry(cased_words(t)).or_default()
                } else {
                    phrases.entry(key).or_default()
                };
                for other in group.iter().filter(|o| *o != t) {
                    if !alts.synonyms.contains(other) {
                        alts.synonyms.push(other.clone());
                    }
                }
            }
        }
        let mut prefixes = Vec::new();
        for f in &config.taxonomy.facets {
            for t in f.triggers.iter().filter(|t| t.near.is_empty()) {
                for phrase in &t.alts {
                    if phrase.len() == 1 && phrase[0].prefix {
                        if phrase[0].text.chars().count() >= 5 {
                            prefixes.push((phrase[0].text.to_lowercase(), f.path.clone()));
                        }
                        continue;
                    }
                    if phrase.iter().any(|w| w.prefix) {
                        continue;
                    }
                    // A single short word ("pit", "tap") is too vague to stand for a facet.
                    if phrase.len() == 1 && phrase[0].text.chars().count() < 5 && !t.case_sensitive {
                        continue;
                    }
                    let alts = if t.case_sensitive {
                        cased.entry(phrase.iter().map(|w| w.text.clone()).collect()).or_default()
                    } else {
                        phrases.entry(phrase.iter().map(|w| w.text.to_lowercase()).collect()).or_default()
                    };
                    if !alts.facets.contains(&f.path) {
                        alts.facets.push(f.path.clone());
                    }
                }
            }
        }
        let max_words = phrases.keys().chain(cased.keys()).map(Vec::len).max().unwrap_or(1).min(6);
        Expander { weights: Weights::default(), phrases, cased, prefixes, max_words }
    }

    /// The alternatives of a run of words: as written (acronyms), lowercased, or with the last
    /// word in the singular ("boreholes" -> "borehole").
    fn lookup(&self, lower: &[String], cased: &[String]) -> Option<Alternatives> {
        let mut found: Option<Alternatives> = None;
        let mut add = |a: &Alternatives| {
            let f = found.get_or_insert_with(Alternatives::default);
            for s in &a.synonyms {
                if !f.synonyms.contains(s) {
                    f.synonyms.push(s.clone());
                }
            }
            for p in &a.facets {
                if !f.facets.contains(p) {
                    f.facets.push(p.clone());
                }
            }
        };
        if let Some(a) = self.cased.get(cased) {
            add(a);
        }
        if let Some(a) = self.phrases.get(lower) {
            add(a);
        } else {
            // Plurals: "boreholes", "puntos de agua" find "borehole", "punto de agua".
            let singular: Vec<String> = lower
                .iter()
                .map(|w| match w.strip_suffix('s') {
                    Some(stem) if stem.chars().count() >= 3 => stem.to_string(),
                    _ => w.clone(),
                })
                .collect();
            if singular != lower {
                if let Some(a) = self.phrases.get(&singular) {
                    add(a);
                }
            }
        }
        found
    }

    /// Cuts a query into concepts, longest known phrases first.
    pub fn concepts(&self, query: &str) -> Vec<Concept> {
        let spans: Vec<(usize, usize)> = word_spans(query).collect();
        let words: Vec<String> = spans.iter().map(|&(a, b)| fold(&query[a..b])).collect();
        let cased: Vec<String> = spans.iter().map(|&(a, b)| crate::text::fold_case(&query[a..b], false)).collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = None;
            for n in (2..=self.max_words.min(words.len() - i)).rev() {
                if let Some(alts) = self.lookup(&words[i..i + n], &cased[i..i + n]) {
                    matched = Some((n, alts));
                    break;
                }
            }
            let (n, alts) = matched.unwrap_or_else(|| {
                let w = &words[i];
                let mut alts = self.lookup(&words[i..=i], &cased[i..=i]).unwrap_or_default();
                // Two-letter words ("RO") only when typed in capitals.
                if w.chars().count() <= 2 && cased[i] != cased[i].to_uppercase() {
                    alts = Alternatives::default();
                }
                for (p, facet) in &self.prefixes {
                    if w.starts_with(p.as_str()) && !alts.facets.contains(facet) {
                        alts.facets.push(facet.clone());
                    }
                }
                (1, alts)
            });
            let text = query[spans[i].0..spans[i + n - 1].1].to_string();
            let optional = n == 1 && alts.synonyms.is_empty() && alts.facets.is_empty() && is_stop(&text);
            out.push(Concept { text, words: n, optional, alts });
            i += n;
        }
        out
    }
}

/// Words of the query that are worth a typo check: five letters or more, not stop words.
pub fn typo_candidates(concepts: &[Concept]) -> Vec<String> {
    let mut seen = HashSet::new();
    concepts
        .iter()
        .filter(|c| c.words == 1 && !c.optional)
        .map(|c| fold(&c.text))
        .filter(|w| w.chars().count() >= 5 && w.chars().all(char::is_alphabetic) && seen.insert(w.clone()))
        .collect()
}

/// The edit distance allowed for a typo in a word: one from five letters, two from nine.
pub fn typo_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Damerau-Levenshtein distance (optimal string alignment), stopping early above `max`.
pub fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concepts_glossary_triggers_and_stop_words() {
        let config = Config::builtin().unwrap();
        let e = Expander::new(&config);
        let c = e.concepts("why did FSM fail in peri-urban Kenya");
        let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert!(texts.contains(&"FSM"), "{texts:?}");
        assert!(c.iter().find(|c| c.text == "why").unwrap().optional);
        assert!(c.iter().find(|c| c.text == "did").unwrap().optional);
        assert!(!c.iter().find(|c| c.text == "Kenya").unwrap().optional);
        let fsm = c.iter().find(|c| c.text == "FSM").unwrap();
        assert!(fsm.alts.synonyms.iter().any(|s| s.to_lowercase().contains("sludge")), "{fsm:?}");
        let fosse = e.concepts("fosse septique pleine");
        assert_eq!(fosse[0].text, "fosse septique");
        assert!(fosse[0].alts.facets.iter().any(|f| f.contains("septic")), "{fosse:?}");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("handpump", "handpmup", 2), 1);
        assert_eq!(edit_distance("sanitation", "santation", 2), 1);
        assert_eq!(edit_distance("latrine", "latrines", 2), 1);
        assert_eq!(edit_distance("kiosk", "borehole", 2), 3);
        assert_eq!((typo_distance("pump"), typo_distance("latrine"), typo_distance("desludging")), (0, 1, 2));
    }
}
