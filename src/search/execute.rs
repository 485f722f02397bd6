//! Running a search: the keyword side (all concepts, then any), the semantic side and their
//! fusion (see `hybrid`), totals and facet counts in one pass, and the page of hits.

use std::collections::HashSet;

use super::*;

/// Below this many documents with all the words, documents with some of them are added.
pub(super) const FULL_PAGE: usize = 10;

/// Families whose counts every response carries.
pub(super) const RESPONSE_FAMILIES: [&str; 8] =
    ["context", "technology", "failure_cause", "approach", "language", "doctype", "country", "year"];

/// Runs a search. `semantic` is the sentence encoder with the passage vectors, when installed.
pub fn search(
    idx: &WashIndex,
    reader: &IndexReader,
    req: &SearchRequest,
    expander: &Expander,
    semantic: Option<&Semantic>,
) -> Result<SearchResponse> {
    let start = Instant::now();
    if req.limit > MAX_LIMIT {
        return Err(Error::InvalidRequest(format!("limit {} is above the maximum of {MAX_LIMIT}", req.limit)));
    }
    if req.offset > MAX_OFFSET {
        return Err(Error::InvalidRequest(format!("offset {} is beyond the deepest page ({MAX_OFFSET})", req.offset)));
    }
    if req.query.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::QueryTooLong(MAX_QUERY_CHARS));
    }
    let mode = match (req.mode, semantic) {
        (None, Some(_)) => Mode::Hybrid,
        (None, None) | (Some(Mode::Keyword), _) => Mode::Keyword,
        (Some(m), Some(_)) => m,
        (Some(m), None) => {
            return Err(Error::InvalidRequest(format!(
                "mode {} needs the sentence-encoder model, which is not installed here (`wash-lessons model install`); \
                 use mode=keyword",
                m.as_str()
            )))
        }
    };
    let searcher = reader.searcher();
    // BM25 statistics of the documents, counted once for every query this request runs.
    let stats = DocumentStatistics::new(&searcher)?;
    let (filters, filter_paths) = request_filters(idx, req)?;
    let plan = QueryPlan::new(idx, expander, &req.query);
    // An empty query lists documents: there is no meaning to compare.
    let mode = if plan.is_none() { Mode::Keyword } else { mode };
    let sem = semantic.filter(|_| mode != Mode::Keyword);

    if let Some(sem) = sem {
        // Meaning and words side by side, one per core.
        let depth = (req.offset + req.limit).max(KEYWORD_DEPTH);
        let newest = req.sort == Sort::Newest;
        let (sdocs, kw) = rayon::join(
            || {
                let query_vector = sem.model.embed_one(&req.query);
                hybrid::semantic_docs(&searcher, sem, &query_vector, &filters, &sem.fusion, None)
            },
            || match (&plan, mode) {
                (Some(p), Mode::Hybrid) => {
                    let deep = SearchRequest { offset: 0, limit: depth, sort: Sort::Relevance, ..req.clone() };
                    // The words' totals and facet counts come with this pass, unless the page is
                    // sorted by year (then one pass over both sides gives the page too).
                    keyword(&searcher, &stats, &deep, p, &filters, &filter_paths, !newest, !newest).map(Some)
                }
                _ => Ok(None),
            },
        );
        let (sdocs, kw) = (sdocs?, kw?);
        let lookup = hybrid::DocLookup::new(&searcher, sem)?;
        let keyword_list: Vec<(String, DocAddress, f32)> = kw
            .as_ref()
            .map(|k| k.found.1.iter().filter_map(|(s, a)| Some((lookup.id(*a)?, *a, *s))).collect())
            .unwrap_or_default();
        let words = sem.fusion.words_for(&req.query);
        let fused = hybrid::fuse(&keyword_list, &sdocs, words, &sem.fusion);
        // Totals and facet counts over documents found either way: those of the words (from
        // their pass) plus those found by meaning alone, counted over at most a few hundred
        // documents; one pass over both sides when the page is sorted by year.
        let (total, newest_top, facets) = match &kw {
            Some(k) if !newest => {
                let only_meaning =
                    hybrid::AddressSet::new(&searcher, sdocs.iter().map(|d| d.addr).filter(|a| !k.matched.contains(a)));
                let counting = SearchRequest { limit: 0, ..req.clone() };
                let (n, _, more) = execute(&searcher, &stats, &counting, &only_meaning, &filters, &filter_paths)?;
                let (kw_total, _, kw_facets) = &k.found;
                (kw_total + n, Vec::new(), add_counts(kw_facets.clone(), more))
            }
            _ => {
                let meaning: Box<dyn Query> =
                    Box::new(hybrid::AddressSet::new(&searcher, sdocs.iter().map(|d| d.addr)));
                let union: Box<dyn Query> = match &kw {
                    Some(k) => Box::new(BooleanQuery::new(vec![
                        (Occur::Should, k.query.box_clone()),
                        (Occur::Should, meaning),
                    ])),
                    None => meaning,
                };
                let counting = SearchRequest { limit: if newest { req.limit } else { 0 }, ..req.clone() };
                execute(&searcher, &stats, &counting, &*union, &filters, &filter_paths)?
            }
        };
        let by_addr: HashMap<DocAddress, &hybrid::Fused> = fused.iter().map(|f| (f.addr, f)).collect();
        let top: Vec<(f32, DocAddress)> = if newest {
            newest_top
        } else {
            fused.iter().skip(req.offset).take(req.limit).map(|f| (f.score, f.addr)).collect()
        };
        let extras: HashMap<DocAddress, Extra> = top
            .iter()
            .map(|(_, a)| {
                let f = by_addr.get(a);
                let extra = Extra {
                    keyword: f.is_some_and(|f| f.keyword) || (f.is_none() && kw.is_some()),
                    passage: f.and_then(|f| f.passage.clone()),
                };
                (*a, extra)
            })
            .collect();
        let snippet_query: Box<dyn Query> = match &kw {
            Some(k) => k.query.box_clone(),
            None => Box::new(BooleanQuery::new(Vec::new())),
        };
        let hits = build_hits(idx, &searcher, &*snippet_query, top, &extras)?;
        let did_you_mean =
            plan.as_ref().filter(|_| mode == Mode::Hybrid).and_then(|p| p.suggestion(idx, &searcher, &req.query));
        return Ok(SearchResponse {
            query: req.query.clone(),
            mode,
            total,
            all_words: kw.as_ref().is_none_or(|k| k.all_words),
            did_you_mean,
            took_ms: start.elapsed().as_millis() as u64,
            hits,
            facets,
        });
    }

    let (text_query, found, all_words) = match &plan {
        None => {
            let q: Box<dyn Query> = Box::new(crate::index::documents_query());
            let f = execute(&searcher, &stats, req, &*q, &filters, &filter_paths)?;
            (q, f, true)
        }
        Some(p) => {
            let k = keyword(&searcher, &stats, req, p, &filters, &filter_paths, true, false)?;
            (k.query, k.found, k.all_words)
        }
    };
    // A word the index has never seen is most likely misspelt, however many documents the
    // typo matching found.
    let did_you_mean = plan.as_ref().and_then(|p| p.suggestion(idx, &searcher, &req.query));
    let (total, top, facets) = found;
    let hits = build_hits(idx, &searcher, &*text_query, top, &HashMap::new())?;
    Ok(SearchResponse {
        query: req.query.clone(),
        mode: Mode::Keyword,
        total,
        all_words,
        did_you_mean,
        took_ms: start.elapsed().as_millis() as u64,
        hits,
        facets,
    })
}

/// Facet counts of two disjoint sets of documents, added path by path.
fn add_counts(
    mut a: BTreeMap<String, Vec<FacetCount>>,
    b: BTreeMap<String, Vec<FacetCount>>,
) -> BTreeMap<String, Vec<FacetCount>> {
    for (fam, list) in b {
        let into = a.entry(fam).or_default();
        for c in list {
            match into.iter_mut().find(|x| x.path == c.path) {
                Some(x) => x.count += c.count,
                None => into.push(c),
            }
        }
        // As `execute_with` lists them: the family's children by count, then deeper paths.
        into.sort_by(|x, y| {
            let depth = |p: &str| p.matches('/').count();
            depth(&x.path).cmp(&depth(&y.path)).then(y.count.cmp(&x.count)).then_with(|| x.path.cmp(&y.path))
        });
    }
    a
}

/// Documents the keyword side ranks for fusion (more when the page asked for is deeper).
pub(super) const KEYWORD_DEPTH: usize = 100;

/// The keyword side of a search.
pub(super) struct KeywordFound {
    pub(super) query: Box<dyn Query>,
    pub(super) found: Found,
    pub(super) all_words: bool,
    /// Every matching document, when asked for.
    pub(super) matched: HashSet<DocAddress>,
}

/// Documents with all the concepts of the query. When fewer than a page of them exist,
/// documents with some of them follow, ranked below those that have them all. `collect` keeps
/// every matching document (for counting those found by meaning alone).
#[allow(clippy::too_many_arguments)]
pub(super) fn keyword(
    searcher: &Searcher,
    stats: &DocumentStatistics,
    req: &SearchRequest,
    plan: &QueryPlan,
    filters: &[Box<dyn Query>],
    filter_paths: &[String],
    facets: bool,
    collect: bool,
) -> Result<KeywordFound> {
    let mut query = plan.all();
    let mut matched = HashSet::new();
    let mut found =
        execute_with(searcher, stats, req, &*query, filters, filter_paths, facets, collect.then_some(&mut matched))?;
    let mut all_words = true;
    if found.0 < FULL_PAGE {
        let q = plan.any();
        let mut more = HashSet::new();
        let f = execute_with(searcher, stats, req, &*q, filters, filter_paths, facets, collect.then_some(&mut more))?;
        if f.0 > found.0 {
            all_words = false;
            query = q;
            found = f;
            matched = more;
        }
    }
    Ok(KeywordFound { query, found, all_words, matched })
}

/// Matches, top documents and facet counts of one query.
pub(super) type Found = (usize, Vec<(f32, DocAddress)>, BTreeMap<String, Vec<FacetCount>>);

pub(super) fn execute(
    searcher: &Searcher,
    stats: &DocumentStatistics,
    req: &SearchRequest,
    text_query: &dyn Query,
    filters: &[Box<dyn Query>],
    filter_paths: &[String],
) -> Result<Found> {
    execute_with(searcher, stats, req, text_query, filters, filter_paths, true, None)
}

/// [`execute`], with facet counts only when `facets` is set (a ranking for fusion needs none),
/// and every matching document put in `matched` when given.
#[allow(clippy::too_many_arguments)]
pub(super) fn execute_with(
    searcher: &Searcher,
    stats: &DocumentStatistics,
    req: &SearchRequest,
    text_query: &dyn Query,
    filters: &[Box<dyn Query>],
    filter_paths: &[String],
    facets: bool,
    matched: Option<&mut HashSet<DocAddress>>,
) -> Result<Found> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.box_clone())];
    clauses.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
    let query = BooleanQuery::new(clauses);

    // Counts for every family root and every filtered path: one collector per path, since a
    // collector cannot hold a facet and its descendant.
    let mut multi = MultiCollector::new();
    let count_handle = multi.add_collector(Count);
    let set_handle = matched.is_some().then(|| multi.add_collector(tantivy::collector::DocSetCollector));
    let mut facet_handles = Vec::new();
    let mut roots: Vec<String> = RESPONSE_FAMILIES.iter().map(|f| format!("/{f}")).collect();
    roots.extend(filter_paths.iter().cloned());
    roots.dedup();
    if !facets {
        roots.clear();
    }
    for root in &roots {
        let fam = family_of(root).unwrap_or("");
        let mut c = FacetCollector::for_field(fam);
        c.add_facet(root.as_str());
        facet_handles.push((root.clone(), multi.add_collector(c)));
    }
    let mut top: Vec<(f32, DocAddress)> = Vec::new();
    let mut fruits = if req.limit == 0 {
        searcher.search_with_statistics_provider(&query, &multi, stats)?
    } else {
        let td = TopDocs::with_limit(req.limit).and_offset(req.offset);
        match req.sort {
            Sort::Relevance => {
                let (hits, fruits) =
                    searcher.search_with_statistics_provider(&query, &(td.order_by_score(), multi), stats)?;
                top = hits;
                fruits
            }
            Sort::Newest => {
                let (hits, fruits) = searcher.search_with_statistics_provider(
                    &query,
                    &(td.order_by_fast_field::<u64>("year_value", Order::Desc), multi),
                    stats,
                )?;
                top = hits.into_iter().map(|(_, a)| (0.0, a)).collect();
                fruits
            }
        }
    };
    let total = count_handle.extract(&mut fruits);
    if let (Some(h), Some(m)) = (set_handle, matched) {
        *m = h.extract(&mut fruits);
    }
    let mut facets: BTreeMap<String, Vec<FacetCount>> =
        RESPONSE_FAMILIES.iter().map(|f| (f.to_string(), Vec::new())).collect();
    for (root, handle) in facet_handles {
        let counts: FacetCounts = handle.extract(&mut fruits);
        let fam = family_of(&root).unwrap_or("").to_string();
        let list = facets.entry(fam).or_default();
        let mut children: Vec<FacetCount> =
            counts.get(root.as_str()).map(|(f, c)| FacetCount { path: f.to_string(), count: c }).collect();
        children.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        for c in children {
            if !list.iter().any(|x| x.path == c.path) {
                list.push(c);
            }
        }
    }
    Ok((total, top, facets))
}
