//! Countries named in the text, from the gazetteer of `countries.toml` (names in English, French,
//! Spanish and Portuguese -> ISO 3166 alpha-2). Names match whole words, case-sensitively with
//! accents folded, the longest name first ("Guinea-Bissau" before "Guinea").

use std::collections::{BTreeMap, HashMap};

use crate::config::CountryDef;
use crate::document::Zone;
use crate::enrich::tagger::Tok;

/// Phrases that contain a country name without naming the country.
const NOT_COUNTRIES: [&str; 8] = [
    "Guinea worm",
    "Guinea worms",
    "ver de Guinee",
    "gusano de Guinea",
    "verme da Guine",
    "American Samoa",
    // The handpump, not the country.
    "India Mark",
    "India MK",
];

/// A compiled gazetteer.
pub struct CountryMatcher {
    /// First word -> (words, code); code "" for phrases that are not countries.
    by_first: HashMap<String, Vec<(Vec<String>, String)>>,
}

impl CountryMatcher {
    /// Compiles the gazetteer.
    pub fn new(countries: &[CountryDef]) -> CountryMatcher {
        let mut by_first: HashMap<String, Vec<(Vec<String>, String)>> = HashMap::new();
        let mut add = |name: &str, code: &str| {
            let words: Vec<String> =
                crate::text::word_spans(name).map(|(a, b)| crate::text::fold_case(&name[a..b], false)).collect();
            if let Some(first) = words.first() {
                by_first.entry(first.clone()).or_default().push((words, code.to_string()));
            }
        };
        for c in countries {
            for n in &c.names {
                add(n, &c.code);
            }
        }
        for n in NOT_COUNTRIES {
            add(n, "");
        }
        for v in by_first.values_mut() {
            v.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
            v.dedup();
        }
        CountryMatcher { by_first }
    }

    /// Counts country mentions: (code -> (mentions in body, mentions in title or metadata)).
    pub fn count(&self, toks: &[Tok]) -> BTreeMap<String, (u32, u32)> {
        let mut out: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        let mut i = 0;
        while i < toks.len() {
            let mut step = 1;
            if let Some(cands) = self.by_first.get(&toks[i].cased) {
                for (words, code) in cands {
                    let end = i + words.len();
                    if end <= toks.len() && words.iter().zip(&toks[i..end]).all(|(w, t)| *w == t.cased) {
                        step = words.len();
                        if !code.is_empty() {
                            let e = out.entry(code.clone()).or_default();
                            match toks[i].zone {
                                Zone::Title => e.1 += 1,
                                Zone::References => {}
                                _ => e.0 += 1,
                            }
                        }
                        break;
                    }
                }
            }
            i += step;
        }
        out
    }

    /// Resolves a declared country (a name or an ISO code) to its code.
    pub fn resolve(&self, s: &str) -> Option<String> {
        let t = s.trim();
        if t.len() == 2 && t.chars().all(|c| c.is_ascii_uppercase()) {
            return Some(t.to_string());
        }
        let mut toks = Vec::new();
        crate::enrich::tagger::push_tokens(&mut toks, t, Zone::Title, 0);
        self.count(&toks).into_keys().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::enrich::tagger::push_tokens;

    fn matcher() -> CountryMatcher {
        CountryMatcher::new(&Config::builtin().unwrap().countries)
    }

    #[test]
    fn names_in_four_languages_longest_first() {
        let m = matcher();
        let mut t = Vec::new();
        push_tokens(
            &mut t,
            "Projets au Sénégal, en Guinée-Bissau et en Côte d'Ivoire; Moçambique; Nigeria, not Niger.",
            Zone::Body,
            1,
        );
        let c = m.count(&t);
        for code in ["SN", "GW", "CI", "MZ", "NG", "NE"] {
            assert!(c.contains_key(code), "{code} missing from {c:?}");
        }
        assert!(!c.contains_key("GN"), "{c:?}");
    }

    #[test]
    fn case_matters_and_guinea_worm_is_not_a_country() {
        let m = matcher();
        let mut t = Vec::new();
        push_tokens(&mut t, "They chad to turkey. Guinea worm eradication. India Mark II pumps.", Zone::Body, 1);
        assert!(m.count(&t).is_empty(), "{:?}", m.count(&t));
        assert_eq!(m.resolve("Uganda").as_deref(), Some("UG"));
        assert_eq!(m.resolve("KE").as_deref(), Some("KE"));
    }
}
