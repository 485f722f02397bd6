//! The word classifier: which facet categories a document's vocabulary points to, learned from
//! labelled real reports. Trigger terms catch what a report names; this catches how reports
//! talk around a cause ("collect money ... does not work out", "se renvoient la balle"), from the
//! words the labelled documents share.
//!
//! Words are folded (lowercase, no accents), at least three letters, cut to their first six
//! characters (a crude stem that serves four languages alike); a document is their TF-IDF vector
//! (1 + ln tf, L2-normalised) and each category has a logistic regression over it.

use std::collections::HashMap;

use super::learn::Fit;

/// Characters kept of each word.
const STEM_CHARS: usize = 6;
/// Shortest word kept, in characters.
const MIN_CHARS: usize = 3;

/// The stems of a text, in order.
pub fn stems(text: &str) -> Vec<String> {
    crate::text::word_spans(text)
        .filter_map(|(a, b)| {
            let w = crate::text::fold(&text[a..b]);
            (w.chars().count() >= MIN_CHARS).then(|| w.chars().take(STEM_CHARS).collect())
        })
        .collect()
}

/// A vocabulary with document frequencies turned into IDF weights.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    index: HashMap<String, u32>,
    /// The stems, by index.
    pub stems: Vec<String>,
    /// Their IDF weights.
    pub idf: Vec<f32>,
}

impl Vocabulary {
    /// Builds the vocabulary of stems found in at least `min_df` of the texts.
    pub fn build(texts: &[Vec<String>], min_df: usize) -> Vocabulary {
        let mut df: HashMap<&str, usize> = HashMap::new();
        for t in texts {
            let mut seen: Vec<&str> = t.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for s in seen {
                *df.entry(s).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = df.into_iter().filter(|&(_, n)| n >= min_df).collect();
        kept.sort_unstable();
        let n = texts.len() as f32;
        let stems: Vec<String> = kept.iter().map(|(s, _)| s.to_string()).collect();
        let idf = kept.iter().map(|&(_, d)| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0).collect();
        Vocabulary::new(stems, idf)
    }

    /// A vocabulary from its stems and weights.
    pub fn new(stems: Vec<String>, idf: Vec<f32>) -> Vocabulary {
        let index = stems.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
        Vocabulary { index, stems, idf }
    }

    /// Number of stems.
    pub fn len(&self) -> usize {
        self.stems.len()
    }

    /// Whether it has no stems.
    pub fn is_empty(&self) -> bool {
        self.stems.is_empty()
    }

    /// The TF-IDF vector of a text's stems (sparse, sorted by index, L2-normalised).
    pub fn vector(&self, stems: &[String]) -> Vec<(u32, f32)> {
        let mut tf: HashMap<u32, u32> = HashMap::new();
        for s in stems {
            if let Some(&i) = self.index.get(s) {
                *tf.entry(i).or_default() += 1;
            }
        }
        let mut v: Vec<(u32, f32)> =
            tf.into_iter().map(|(i, n)| (i, (1.0 + (n as f32).ln()) * self.idf[i as usize])).collect();
        v.sort_unstable_by_key(|&(i, _)| i);
        let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, x)| *x /= norm);
        }
        v
    }
}

/// The word classifier: a vocabulary and one logistic regression per category.
#[derive(Debug, Clone, Default)]
pub struct WordModel {
    /// The vocabulary.
    pub vocabulary: Vocabulary,
    /// One model per category, in the tagger's category order.
    pub categories: Vec<Fit>,
}

impl WordModel {
    /// The probability of each category for a text.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let v = self.vocabulary.vector(&stems(text));
        self.categories.iter().map(|f| f.predict(&v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_fold_cut_and_skip_short_words() {
        assert_eq!(stems("Les comités de gestion ne paient plus"), ["les", "comite", "gestio", "paient", "plus"]);
    }

    #[test]
    fn vectors_are_normalised_and_weigh_rare_stems_more() {
        let texts: Vec<Vec<String>> =
            ["water pump broken", "water committee fees", "water pump spare parts"].iter().map(|t| stems(t)).collect();
        let v = Vocabulary::build(&texts, 1);
        let x = v.vector(&stems("water committee"));
        let norm: f32 = x.iter().map(|(_, a)| a * a).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let w = |s: &str| x.iter().find(|(i, _)| v.stems[*i as usize] == s).unwrap().1;
        assert!(w("commit") > w("water"));
        assert!(Vocabulary::build(&texts, 2).stems.iter().all(|s| s == "water" || s == "pump"));
    }
}
