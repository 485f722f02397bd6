//! Facet tagging by evidence: trigger terms of `taxonomy.toml` found in the document, weighted by
//! where they occur (title, heading, body; references count nothing), summed per facet (a parent
//! is tagged by its own generic terms only: summing the children's evidence made vague tags), and
//! compared with the facet's threshold scaled by the document's length.
//! Every tag keeps its evidence: which terms, how often, where, and on which pages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::{Defaults, FacetDef, Phrase, Trigger, PROXIMITY_WINDOW};
use crate::document::{Evidence, Tag, TagSource, TermScore, Zone};

/// A word of the document with its place.
#[derive(Debug, Clone)]
pub struct Tok {
    /// Folded, lowercased.
    pub lower: String,
    /// Folded, case kept.
    pub cased: String,
    /// Where it stands.
    pub zone: Zone,
    /// Its page.
    pub page: u32,
}

impl Tok {
    /// A boundary between blocks: no phrase matches across it.
    pub fn boundary() -> Tok {
        Tok { lower: String::new(), cased: String::new(), zone: Zone::Body, page: 0 }
    }
    fn is_boundary(&self) -> bool {
        self.lower.is_empty()
    }
}

/// A compiled set of facets, ready to tag many documents.
pub struct Tagger {
    facets: Vec<FacetDef>,
    weights: Defaults,
    /// First word (lowercase) -> (facet, trigger, alternative) for case-insensitive triggers.
    exact: HashMap<String, Vec<Key>>,
    /// First word (case kept) -> (facet, trigger, alternative) for case-sensitive triggers.
    cased: HashMap<String, Vec<Key>>,
    /// Triggers whose first word is a prefix, by the prefix's first (up to) three characters.
    prefixed: HashMap<String, Vec<Key>>,
    /// Parent facet index of each facet (within the family).
    parent: Vec<Option<usize>>,
}

/// Prefix triggers are found through their first characters (a linear scan of them per word
/// was a fifth of the indexing time).
const PREFIX_HEAD: usize = 3;

/// (facet, trigger, alternative of the trigger's first group).
type Key = (usize, usize, usize);

/// Raw evidence for one facet.
#[derive(Debug, Default, Clone)]
struct Found {
    score: f64,
    terms: BTreeMap<usize, (u32, BTreeSet<Zone>, BTreeSet<u32>)>,
}

fn word_matches(w: &crate::config::TriggerWord, tok: &str) -> bool {
    if w.prefix {
        tok.starts_with(&w.text)
    } else {
        tok == w.text || tok.strip_prefix(w.text.as_str()).is_some_and(|rest| rest == "s" || rest == "es")
    }
}

impl Tagger {
    /// Compiles the facets.
    pub fn new(facets: &[FacetDef], weights: &Defaults) -> Tagger {
        let mut exact: HashMap<String, Vec<Key>> = HashMap::new();
        let mut cased: HashMap<String, Vec<Key>> = HashMap::new();
        let mut prefixed: HashMap<String, Vec<Key>> = HashMap::new();
        for (fi, f) in facets.iter().enumerate() {
            for (ti, t) in f.triggers.iter().enumerate() {
                for (ai, alt) in t.alts.iter().enumerate() {
                    let w = &alt[0];
                    if w.prefix {
                        let head: String = w.text.chars().take(PREFIX_HEAD).collect();
                        prefixed.entry(head).or_default().push((fi, ti, ai));
                    } else if t.case_sensitive {
                        cased.entry(w.text.clone()).or_default().push((fi, ti, ai));
                    } else {
                        exact.entry(w.text.clone()).or_default().push((fi, ti, ai));
                    }
                }
            }
        }
        let index: HashMap<&str, usize> = facets.iter().enumerate().map(|(i, f)| (f.path.as_str(), i)).collect();
        let parent = facets
            .iter()
            .map(|f| {
                let p = &f.path[..f.path.rfind('/').unwrap_or(0)];
                index.get(p).copied()
            })
            .collect();
        Tagger { facets: facets.to_vec(), weights: weights.clone(), exact, cased, prefixed, parent }
    }

    fn weight(&self, zone: Zone) -> f64 {
        match zone {
            Zone::Title => self.weights.title_weight,
            Zone::Heading => self.weights.heading_weight,
            Zone::Body => self.weights.body_weight,
            Zone::Lessons => self.weights.lessons_weight,
            Zone::References => 0.0,
        }
    }

    /// Length of the match of `phrase` at `toks[i..]`, if it matches.
    fn phrase_at(phrase: &Phrase, case_sensitive: bool, toks: &[Tok], i: usize) -> Option<usize> {
        if i + phrase.len() > toks.len() {
            return None;
        }
        for (k, w) in phrase.iter().enumerate() {
            let tok = &toks[i + k];
            if tok.is_boundary() {
                return None;
            }
            let text = if case_sensitive { &tok.cased } else { &tok.lower };
            if !word_matches(w, text) {
                return None;
            }
        }
        Some(phrase.len())
    }

    /// Length of the match of alternative `ai` of trigger `t` at `toks[i..]`, with every other
    /// group of a proximity trigger found nearby in the same block.
    fn match_at(t: &Trigger, ai: usize, toks: &[Tok], i: usize) -> Option<usize> {
        let n = Self::phrase_at(&t.alts[ai], t.case_sensitive, toks, i)?;
        if t.near.is_empty() {
            return Some(n);
        }
        let mut lo = i;
        while lo > 0 && i - lo < PROXIMITY_WINDOW && !toks[lo - 1].is_boundary() {
            lo -= 1;
        }
        let mut hi = i + n;
        while hi < toks.len() && hi - (i + n) < PROXIMITY_WINDOW && !toks[hi].is_boundary() {
            hi += 1;
        }
        for group in &t.near {
            let found = (lo..hi)
                .filter(|&j| j < i || j >= i + n)
                .any(|j| group.iter().any(|alt| Self::phrase_at(alt, t.case_sensitive, &toks[..hi], j).is_some()));
            if !found {
                return None;
            }
        }
        Some(n)
    }

    fn lookup<'a>(map: &'a HashMap<String, Vec<Key>>, word: &str, out: &mut Vec<&'a Key>) {
        for key in [Some(word), word.strip_suffix('s'), word.strip_suffix("es")].into_iter().flatten() {
            if let Some(v) = map.get(key) {
                out.extend(v.iter());
            }
        }
    }

    /// Tags a document. `lang` limits the triggers to that language and `any`; `None` tries all.
    /// `words` is the document's length, `length_norm` the length above which more evidence is
    /// needed.
    fn find(&self, toks: &[Tok], lang: Option<&str>) -> Vec<Found> {
        let mut found: Vec<Found> = vec![Found::default(); self.facets.len()];
        let mut covered: Vec<usize> = vec![0; self.facets.len()];
        let mut cands: Vec<&Key> = Vec::new();
        for i in 0..toks.len() {
            let tok = &toks[i];
            if tok.is_boundary() {
                continue;
            }
            cands.clear();
            Self::lookup(&self.exact, &tok.lower, &mut cands);
            Self::lookup(&self.cased, &tok.cased, &mut cands);
            let ends = tok.lower.char_indices().skip(1).map(|(i, _)| i).chain([tok.lower.len()]);
            for end in ends.take(PREFIX_HEAD) {
                if let Some(v) = self.prefixed.get(&tok.lower[..end]) {
                    cands.extend(v.iter().filter(|&&(fi, ti, ai)| {
                        tok.lower.starts_with(&self.facets[fi].triggers[ti].alts[ai][0].text)
                    }));
                }
            }
            if cands.is_empty() {
                continue;
            }
            // Longest phrase first, so that "India Mark II" wins over "India Mark".
            cands.sort_by_key(|&&(fi, ti, ai)| std::cmp::Reverse(self.facets[fi].triggers[ti].alts[ai].len()));
            cands.dedup();
            for &&(fi, ti, ai) in &cands {
                if covered[fi] > i {
                    continue;
                }
                let t = &self.facets[fi].triggers[ti];
                if let Some(l) = lang {
                    if t.lang != l && t.lang != "any" {
                        continue;
                    }
                }
                if let Some(n) = Self::match_at(t, ai, toks, i) {
                    covered[fi] = i + n;
                    let f = &mut found[fi];
                    f.score += self.weight(tok.zone);
                    let e = f.terms.entry(ti).or_default();
                    e.0 += 1;
                    e.1.insert(tok.zone);
                    e.2.insert(tok.page);
                }
            }
        }
        found
    }

    /// Term evidence for every facet that has any, below its threshold too: the raw weighted
    /// score and the threshold for this document. Tags by meaning weigh it with the passages.
    pub fn scores(&self, toks: &[Tok], lang: Option<&str>, words: usize, length_norm: usize) -> Vec<TermScore> {
        let found = self.find(toks, lang);
        let scale = (words as f64 / length_norm.max(1) as f64).sqrt().max(1.0);
        found
            .iter()
            .enumerate()
            .filter(|(_, f)| f.score > 0.0)
            .map(|(i, f)| TermScore {
                path: self.facets[i].path.clone(),
                score: round2(f.score),
                threshold: round2(self.facets[i].min_score * scale),
                evidence: self.evidence(i, f),
            })
            .collect()
    }

    /// The evidence of facet `i`: its terms, most frequent first.
    fn evidence(&self, i: usize, found: &Found) -> Vec<Evidence> {
        let f = &self.facets[i];
        let mut evidence: Vec<Evidence> = found
            .terms
            .iter()
            .map(|(&ti, (count, zones, pages))| Evidence {
                term: f.triggers[ti].term.clone(),
                count: *count,
                zones: zones.iter().copied().collect(),
                pages: pages.iter().copied().filter(|&p| p > 0).collect(),
            })
            .collect();
        evidence.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.term.cmp(&b.term)));
        evidence
    }

    pub fn tag(&self, toks: &[Tok], lang: Option<&str>, words: usize, length_norm: usize) -> Vec<Tag> {
        let found = self.find(toks, lang);
        let total: Vec<f64> = found.iter().map(|f| f.score).collect();
        let scale = (words as f64 / length_norm.max(1) as f64).sqrt().max(1.0);
        let tagged: Vec<usize> = (0..self.facets.len())
            .filter(|&i| total[i] > 0.0 && total[i] >= self.facets[i].min_score * scale)
            .collect();
        let tagged_set: BTreeSet<usize> = tagged.iter().copied().collect();
        // Keep the most specific tags: drop a facet when one of its descendants is tagged.
        let mut has_tagged_child = vec![false; self.facets.len()];
        for &i in &tagged {
            let mut p = self.parent[i];
            while let Some(pi) = p {
                has_tagged_child[pi] = true;
                p = self.parent[pi];
            }
        }
        let mut tags = Vec::new();
        for &i in &tagged_set {
            if has_tagged_child[i] {
                continue;
            }
            let f = &self.facets[i];
            tags.push(Tag {
                path: f.path.clone(),
                label: f.label.clone(),
                source: TagSource::Text,
                score: round2(total[i]),
                threshold: round2(f.min_score * scale),
                evidence: self.evidence(i, &found[i]),
                confidence: None,
                passages: Vec::new(),
                curator: None,
            });
        }
        tags
    }

    /// The best-scoring facet (used for document types): a classification, so the single
    /// highest score wins once it reaches one body occurrence; ties go to the facet listed first.
    pub fn best(&self, toks: &[Tok], lang: Option<&str>) -> Option<String> {
        let found = self.find(toks, lang);
        let mut best: Option<(usize, f64)> = None;
        for (i, f) in found.iter().enumerate() {
            if f.score >= self.weights.body_weight && best.is_none_or(|(_, s)| f.score > s) {
                best = Some((i, f.score));
            }
        }
        best.map(|(i, _)| self.facets[i].path.clone())
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Turns text into tokens of one zone and page (appends a boundary first).
pub fn push_tokens(out: &mut Vec<Tok>, text: &str, zone: Zone, page: u32) {
    out.push(Tok::boundary());
    for (a, b) in crate::text::word_spans(text) {
        let w = &text[a..b];
        let cased = crate::text::fold_case(w, false);
        let lower = if cased.is_ascii() { cased.to_ascii_lowercase() } else { cased.to_lowercase() };
        out.push(Tok { lower, cased, zone, page });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn toks(parts: &[(&str, Zone)]) -> Vec<Tok> {
        let mut v = Vec::new();
        for (t, z) in parts {
            push_tokens(&mut v, t, *z, 1);
        }
        v
    }

    fn tagger() -> Tagger {
        let c = Config::builtin().unwrap();
        Tagger::new(&c.taxonomy.facets, &c.taxonomy.defaults)
    }

    fn paths(tags: &[Tag]) -> Vec<&str> {
        tags.iter().map(|t| t.path.as_str()).collect()
    }

    #[test]
    fn enough_evidence_tags_and_keeps_evidence() {
        let t = tagger();
        let d = toks(&[
            ("Why the handpumps stopped", Zone::Title),
            ("Most handpumps in the district were broken. Spare parts were not available and no pump mechanic lived nearby; spare parts came from the capital.", Zone::Body),
        ]);
        let tags = t.tag(&d, Some("en"), 200, 2500);
        let p = paths(&tags);
        assert!(p.contains(&"/technology/water/borehole/handpump"), "{p:?}");
        assert!(p.contains(&"/failure_cause/operation-maintenance/spare-parts-supply-chain"), "{p:?}");
        let hp = tags.iter().find(|t| t.path.ends_with("/handpump")).unwrap();
        let e = hp.evidence.iter().find(|e| e.term.to_lowercase().contains("handpump")).unwrap();
        assert!(e.zones.contains(&Zone::Title) && e.zones.contains(&Zone::Body));
        assert!(hp.score >= hp.threshold);
    }

    #[test]
    fn a_passing_mention_does_not_tag() {
        let t = tagger();
        let d = toks(&[("The report also notes that a septic tank was built at the office.", Zone::Body)]);
        let p = paths(&t.tag(&d, Some("en"), 15, 2500)).into_iter().map(String::from).collect::<Vec<_>>();
        assert!(!p.iter().any(|p| p.contains("septic-tank")), "{p:?}");
    }

    #[test]
    fn references_do_not_count() {
        let t = tagger();
        let d = toks(&[
            ("Smith (2010) Arsenic in groundwater: fluoride and arsenic removal. Arsenic Journal.", Zone::References),
            ("Arsenic mitigation handbook, arsenic arsenic.", Zone::References),
        ]);
        assert!(t.tag(&d, Some("en"), 20, 2500).iter().all(|t| !t.path.contains("geogenic")));
    }

    #[test]
    fn other_language_triggers_are_not_tried_when_language_is_known() {
        let t = tagger();
        let d = toks(&[("Fosse septique fosse septique fosse septique", Zone::Body)]);
        assert!(paths(&t.tag(&d, Some("fr"), 6, 2500)).iter().any(|p| p.ends_with("septic-tank")));
        assert!(!paths(&t.tag(&d, Some("en"), 6, 2500)).iter().any(|p| p.ends_with("septic-tank")));
        assert!(paths(&t.tag(&d, None, 6, 2500)).iter().any(|p| p.ends_with("septic-tank")));
    }

    #[test]
    fn proximity_triggers_match_within_a_window_and_a_block() {
        use crate::config::{Defaults, FacetDef};
        let c = Config::builtin().unwrap();
        let mut f: FacetDef = c.taxonomy.facets.iter().find(|f| f.path.ends_with("/monitoring-gap")).unwrap().clone();
        f.triggers = vec![crate::config::tests_support::trigger("monitor* ~ ended|stopped|never", "en")];
        f.min_score = 1.0;
        let t = Tagger::new(
            &[f],
            &Defaults { min_score: 1.0, title_weight: 3.0, heading_weight: 2.0, body_weight: 1.0, lessons_weight: 1.5 },
        );
        let hit = toks(&[("The programme's own monitoring ended at handover.", Zone::Body)]);
        assert_eq!(t.tag(&hit, Some("en"), 10, 2500).len(), 1);
        let far = toks(&[(
            "Monitoring was planned with great care by the district and partners, and then the rains ended.",
            Zone::Body,
        )]);
        assert!(t.tag(&far, Some("en"), 20, 2500).is_empty());
        let split = toks(&[("Monitoring was planned.", Zone::Body), ("It ended.", Zone::Body)]);
        assert!(t.tag(&split, Some("en"), 10, 2500).is_empty());
    }

    #[test]
    fn long_documents_need_more_evidence() {
        let t = tagger();
        let d = toks(&[("The septic tank overflowed. Septic tanks were never emptied.", Zone::Body)]);
        assert!(paths(&t.tag(&d, Some("en"), 500, 2500)).iter().any(|p| p.ends_with("septic-tank")));
        assert!(!paths(&t.tag(&d, Some("en"), 100_000, 2500)).iter().any(|p| p.ends_with("septic-tank")));
    }
}
