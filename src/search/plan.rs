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
        qp.set_field_boost(*field, if lang == "neutral" { 1.5 } else { 3.0 });
    }
    for (lang, field) in &f.bodies {
        qp.set_field_boost(*field, if lang == "neutral" { 0.5 } else { 1.0 });
    }
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
        let phrase = |t: &str| -> Box<dyn Query> {
            let words = crate::text::folded_words(t);
            if words.len() > 1 {
                qp.parse_query_lenient(&format!("\"{}\"", words.join(" "))).0
            } else {
                qp.parse_query_lenient(&words.join(" ")).0
            }
        };
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
                alts.push((Occur::Should, Box::new(BoostQuery::new(phrase(syn), w.synonym))));
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
