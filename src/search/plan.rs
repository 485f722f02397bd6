//! Query planning: the user's words cut into concepts (glossary synonyms, taxonomy facets,
//! typo matches, stop and question words left out), each a clause over every language's fields;
//! documents with all the concepts first, then those with some, proximity as a bonus.

use super::*;

/// The parser of user queries: every language's title and body fields, titles weighted more.
pub fn query_parser(idx: &WashIndex) -> QueryParser {
    let f = &idx.fields;
    let fields: Vec<_> = f.titles.iter().chain(&f.bodies).map(|(_, field)| *field).collect();
    let mut qp = QueryParser::for_index(&idx.index, fields);
    for (lang, field) in &f.titles {
        qp.set_field_boost(*field, title_boost(lang));
    }
    for (lang, field) in &f.bodies {
        qp.set_field_boost(*field, if lang == "neutral" { 0.5 } else { 1.0 });
    }
    qp
}

/// The weight of a title field: a language's stemmed title, or the accent-folded one.
fn title_boost(lang: &str) -> f32 {
    if lang == "neutral" {
        1.5
    } else {
        3.0
    }
}

/// The parser of glossary synonyms: every language's title, and the body in the neutral field
/// only. Every document's body is in the neutral field, so a synonym finds the same documents as
/// over every body field; each language's body field repeats it for that language's documents,
/// at the price of a second pass over the positions of every document where the phrase's words
/// meet. With a concept of twenty synonyms ("junta de agua": water committee, comité de l'eau,
/// JAAP...) that pass was two thirds of the query's time. What synonyms lose is the stemmed match
/// ("water committees" for "water committee"); the user's own words keep it. The neutral body
/// weighs what the two fields weighed together where both matched.
pub fn synonym_parser(idx: &WashIndex) -> QueryParser {
    let f = &idx.fields;
    let neutral = f.neutral_body();
    let fields: Vec<_> = f.titles.iter().map(|(_, field)| *field).chain(std::iter::once(neutral)).collect();
    let mut qp = QueryParser::for_index(&idx.index, fields);
    for (lang, field) in &f.titles {
        qp.set_field_boost(*field, title_boost(lang));
    }
    qp.set_field_boost(neutral, 1.5);
    qp
}

pub(super) const PROXIMITY_SLOP: u32 = 8;

/// How a query is searched: its concepts, each found by its words, synonyms, facets or typos.
pub(super) struct QueryPlan {
    /// One clause per concept, and whether the concept is required.
    pub(super) clauses: Vec<(bool, Box<dyn Query>)>,
    /// Documents with all concepts over those with some.
    pub(super) all_words_boost: f32,
    /// The content words close together.
    pub(super) proximity: Option<Box<dyn Query>>,
    pub(super) concepts: Vec<Concept>,
}

/// Characters of the query syntax: a query using them is taken as written.
pub(super) fn has_syntax(q: &str) -> bool {
    q.contains(['"', ':', '(', ')', '+', '[', '{', '^', '~']) || q.split_whitespace().any(|w| w.starts_with('-'))
}

impl QueryPlan {
    pub(super) fn new(idx: &WashIndex, expander: &Expander, query: &str) -> Option<QueryPlan> {
        if query.trim().is_empty() {
            return None;
        }
        let qp = query_parser(idx);
        if has_syntax(query) || crate::text::folded_words(query).is_empty() {
            let mut strict = query_parser(idx);
            strict.set_conjunction_by_default();
            let q = strict.parse_query_lenient(query).0;
            return Some(QueryPlan {
                clauses: vec![(true, q)],
                all_words_boost: expander.weights.all_words,
                proximity: None,
                concepts: Vec::new(),
            });
        }
        let concepts = expander.concepts(query);
        let w = expander.weights;
        let neutral = idx.fields.neutral_body();
        let synonyms_qp = synonym_parser(idx);
        let phrase_in = |qp: &QueryParser, t: &str| -> Box<dyn Query> {
            let words = crate::text::folded_words(t);
            if words.len() > 1 {
                qp.parse_query_lenient(&format!("\"{}\"", words.join(" "))).0
            } else {
                qp.parse_query_lenient(&words.join(" ")).0
            }
        };
        let phrase = |t: &str| phrase_in(&qp, t);
        let mut lessons_qp = QueryParser::for_index(&idx.index, vec![idx.fields.lessons]);
        lessons_qp.set_field_boost(idx.fields.lessons, w.lessons);
        let mut clauses = Vec::new();
        // Stop and question words ("why", "do", "the") neither rank nor get highlighted when the
        // query has other words: "what happens after the NGO leaves" is about NGOs leaving.
        let has_content = concepts.iter().any(|c| !c.optional);
        for c in concepts.iter().filter(|c| !c.optional || !has_content) {
            let mut alts: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, phrase(&c.text))];
            if !c.optional {
                let words = crate::text::folded_words(&c.text).join(" ");
                alts.push((Occur::Should, lessons_qp.parse_query_lenient(&format!("\"{words}\"")).0));
            }
            for syn in &c.alts.synonyms {
                alts.push((Occur::Should, Box::new(BoostQuery::new(phrase_in(&synonyms_qp, syn), w.synonym))));
            }
            for path in &c.alts.facets {
                let fam = family_of(path).unwrap_or("");
                if let (Some(field), Ok(facet)) = (idx.fields.facet(fam), Facet::from_text(path)) {
                    let tq = TermQuery::new(Term::from_facet(field, &facet), IndexRecordOption::Basic);
                    alts.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(tq), w.facet))));
                }
            }
            if c.words == 1 && !c.optional {
                let word = crate::text::fold(&c.text);
                let d = typo_distance(&word);
                if d > 0 && word.chars().all(char::is_alphabetic) {
                    let fq = FuzzyTermQuery::new(Term::from_field_text(neutral, &word), d, true);
                    alts.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(fq), w.typo))));
                }
            }
            clauses.push((!c.optional, Box::new(BooleanQuery::new(alts)) as Box<dyn Query>));
        }
        if clauses.iter().all(|(req, _)| !req) {
            for c in &mut clauses {
                c.0 = true;
            }
        }
        let content: Vec<String> =
            concepts.iter().filter(|c| !c.optional).flat_map(|c| crate::text::folded_words(&c.text)).collect();
        let proximity = (content.len() >= 2).then(|| {
            let mut p = QueryParser::for_index(&idx.index, vec![neutral]);
            p.set_field_boost(neutral, w.proximity);
            p.parse_query_lenient(&format!("\"{}\"~{PROXIMITY_SLOP}", content.join(" "))).0
        });
        Some(QueryPlan { clauses, all_words_boost: w.all_words, proximity, concepts })
    }

    /// Documents with every required concept.
    pub(super) fn all(&self) -> Box<dyn Query> {
        let mut v: Vec<(Occur, Box<dyn Query>)> = self
            .clauses
            .iter()
            .map(|(req, q)| (if *req { Occur::Must } else { Occur::Should }, q.box_clone()))
            .collect();
        if let Some(p) = &self.proximity {
            v.push((Occur::Should, p.box_clone()));
        }
        Box::new(BooleanQuery::new(v))
    }

    /// Documents with any concept, those with all of them far ahead.
    pub(super) fn any(&self) -> Box<dyn Query> {
        let mut v: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Should, Box::new(BoostQuery::new(self.all(), self.all_words_boost)))];
        v.extend(self.clauses.iter().map(|(_, q)| (Occur::Should, q.box_clone())));
        if let Some(p) = &self.proximity {
            v.push((Occur::Should, p.box_clone()));
        }
        Box::new(BooleanQuery::new(v))
    }

    /// The query with its unknown words replaced by the closest frequent words of the index.
    pub(super) fn suggestion(&self, idx: &WashIndex, searcher: &Searcher, query: &str) -> Option<String> {
        let field = idx.fields.neutral_body();
        let mut out = query.to_string();
        let mut changed = false;
        for w in typo_candidates(&self.concepts) {
            if searcher.doc_freq(&Term::from_field_text(field, &w)).unwrap_or(0) > 0 {
                continue;
            }
            if let Some(best) = closest_term(searcher, field, &w) {
                let typed = self.concepts.iter().find(|c| crate::text::fold(&c.text) == w).map(|c| c.text.clone())?;
                out = out.replacen(&typed, &best, 1);
                changed = true;
            }
        }
        changed.then_some(out)
    }
}

/// The indexed word closest to `word` (same first letter, within its typo distance), the most
/// frequent among the closest.
pub(super) fn closest_term(searcher: &Searcher, field: tantivy::schema::Field, word: &str) -> Option<String> {
    let max = typo_distance(word) as usize;
    let first = word.chars().next()?;
    let lo = first.to_string();
    let hi = char::from_u32(first as u32 + 1)?.to_string();
    let mut best: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for seg in searcher.segment_readers() {
        let Ok(inv) = seg.inverted_index(field) else { continue };
        let Ok(mut stream) = inv.terms().range().ge(lo.as_bytes()).lt(hi.as_bytes()).into_stream() else { continue };
        while stream.advance() {
            let Ok(t) = std::str::from_utf8(stream.key()) else { continue };
            if t.len().abs_diff(word.len()) > max {
                continue;
            }
            let d = expand::edit_distance(word, t, max);
            if d <= max {
                let e = best.entry(t.to_string()).or_insert((d, 0));
                e.1 += stream.value().doc_freq as u64;
            }
        }
    }
    best.into_iter().min_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1))).map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synonyms are searched in the titles and the neutral body only; the user's own words in
    /// every language's fields.
    #[test]
    fn synonyms_search_titles_and_the_neutral_body() {
        let dir = tempfile::tempdir().unwrap();
        let idx = WashIndex::open_or_create(dir.path()).unwrap();
        let expander = Expander::new(&crate::config::Config::builtin().unwrap());
        let plan = QueryPlan::new(&idx, &expander, "water committee").unwrap();
        let f = &idx.fields;
        let name = |field| idx.index.schema().get_field_name(field).to_string();
        let allowed: Vec<String> =
            f.titles.iter().map(|(_, t)| name(*t)).chain(std::iter::once(name(f.neutral_body()))).collect();
        let query = plan.all();
        let mut synonym_fields = Vec::new();
        let mut own_fields = Vec::new();
        query.query_terms(&mut |term, _| {
            match term.value().as_str() {
                Some("jaap") => synonym_fields.push(name(term.field())),
                Some("water") => own_fields.push(name(term.field())),
                _ => {}
            };
        });
        assert!(!synonym_fields.is_empty(), "the glossary's JAAP is not searched");
        assert!(synonym_fields.iter().all(|n| allowed.contains(n)), "{synonym_fields:?}");
        assert!(synonym_fields.contains(&name(f.neutral_body())), "{synonym_fields:?}");
        assert!(own_fields.contains(&"body_en".to_string()), "{own_fields:?}");
    }
}
