//! More like this: lessons that share a document's technology, context, failure causes and
//! vocabulary, and, with the model, passages close in meaning to it.

use super::*;

/// Weights of shared facets in "more like this", per family (shared vocabulary adds the rest).
pub(super) const SIMILAR_FACETS: [(&str, f32); 4] =
    [("technology", 2.0), ("failure_cause", 2.0), ("context", 1.0), ("approach", 0.5)];

/// Lessons like document `id`: sharing its technology, context and failure causes (facets) and
/// its vocabulary (the most telling words of its text, in its language's field). `None` when no
/// document has that id. Filters and paging of `req` apply; its query is ignored.
///
/// With passage vectors, documents whose passages are near the mean of this document's passages
/// are fused in (as in hybrid search), so that a French report can be like an English one.
pub fn similar(
    idx: &WashIndex,
    reader: &IndexReader,
    id: &str,
    req: &SearchRequest,
    semantic: Option<&Semantic>,
) -> Result<Option<SearchResponse>> {
    let start = Instant::now();
    if req.limit > MAX_LIMIT || req.offset > MAX_OFFSET {
        return Err(Error::InvalidRequest(format!("limit at most {MAX_LIMIT}, offset at most {MAX_OFFSET}")));
    }
    let searcher = reader.searcher();
    // BM25 statistics of the documents, counted once for every query this request runs.
    let stats = DocumentStatistics::new(&searcher)?;
    let Some(doc) = idx.find_document(&searcher, id)? else { return Ok(None) };
    let record = idx.stored_record(&doc)?;
    let mut text = String::new();
    for p in doc.get_all(idx.fields.page).filter_map(|v| v.as_str()) {
        if text.len() > 200_000 {
            break;
        }
        text.push_str(p);
        text.push('\n');
    }
    let field = idx.fields.body(&record.language);
    let mlt = tantivy::query::MoreLikeThisQuery::builder()
        .with_min_doc_frequency(1)
        .with_max_doc_frequency((stats.documents() / 3).max(2))
        .with_min_term_frequency(2)
        .with_max_query_terms(30)
        .with_min_word_length(4)
        .with_document_fields(vec![(field, vec![tantivy::schema::OwnedValue::Str(text)])]);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, Box::new(mlt))];
    for (fam, weight) in SIMILAR_FACETS {
        let Some(field) = idx.fields.facet(fam) else { continue };
        for path in record.facet_paths(fam) {
            if let Ok(f) = Facet::from_text(&path) {
                let tq = TermQuery::new(Term::from_facet(field, &f), IndexRecordOption::Basic);
                clauses.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(tq), weight))));
            }
        }
    }
    clauses.push((Occur::MustNot, Box::new(TermQuery::new(idx.id_term(id), IndexRecordOption::Basic))));
    let query: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
    let (filters, filter_paths) = request_filters(idx, req)?;
    let plain = SearchRequest { sort: Sort::Relevance, ..req.clone() };
    let centroid = match semantic {
        Some(sem) => sem.vectors.centroid(&searcher, id)?,
        None => None,
    };
    let (mode, total, top, facets, extras) = match (semantic, centroid) {
        (Some(sem), Some(c)) => {
            let sdocs = hybrid::semantic_docs(&searcher, sem, &c, &filters, &sem.fusion, Some(id))?;
            let deep = SearchRequest { offset: 0, limit: (req.offset + req.limit).max(KEYWORD_DEPTH), ..plain.clone() };
            let (_, kw_top, _) = execute(&searcher, &stats, &deep, &*query, &filters, &filter_paths)?;
            let keyword_list: Vec<(String, DocAddress, f32)> = {
                let lookup = hybrid::DocLookup::new(&searcher, sem)?;
                kw_top.iter().filter_map(|(s, a)| Some((lookup.id(*a)?, *a, *s))).collect()
            };
            // Shared vocabulary and facets, and closeness in meaning, weigh the same.
            let fused = hybrid::fuse(&keyword_list, &sdocs, 0.5, &sem.fusion);
            let meaning: Box<dyn Query> = Box::new(hybrid::AddressSet::new(&searcher, sdocs.iter().map(|d| d.addr)));
            let union = BooleanQuery::new(vec![(Occur::Should, query.box_clone()), (Occur::Should, meaning)]);
            let counting = SearchRequest { limit: 0, ..plain.clone() };
            let (total, _, facets) = execute(&searcher, &stats, &counting, &union, &filters, &filter_paths)?;
            let top: Vec<(f32, DocAddress)> =
                fused.iter().skip(req.offset).take(req.limit).map(|f| (f.score, f.addr)).collect();
            let extras = fused
                .iter()
                .skip(req.offset)
                .take(req.limit)
                .map(|f| (f.addr, Extra { keyword: f.keyword, passage: f.passage.clone() }))
                .collect();
            (Mode::Hybrid, total, top, facets, extras)
        }
        _ => {
            let (total, top, facets) = execute(&searcher, &stats, &plain, &*query, &filters, &filter_paths)?;
            (Mode::Keyword, total, top, facets, HashMap::new())
        }
    };
    let hits = build_hits(idx, &searcher, &*query, top, &extras)?;
    Ok(Some(SearchResponse {
        query: format!("like:{id}"),
        mode,
        total,
        all_words: false,
        did_you_mean: None,
        took_ms: start.elapsed().as_millis() as u64,
        hits,
        facets,
    }))
}
