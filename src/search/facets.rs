//! Facet trees with document counts, level by level, for drill-down and statistics.

use super::*;

/// The facet trees of every family, with counts over the whole index.
pub fn facet_trees(searcher: &Searcher) -> Result<BTreeMap<String, Vec<FacetNode>>> {
    ALL_FAMILIES.iter().map(|f| Ok((f.to_string(), facet_tree(searcher, f)?))).collect()
}

/// The whole tree of one facet family with document counts, level by level.
pub fn facet_tree(searcher: &Searcher, family: &str) -> Result<Vec<FacetNode>> {
    let root = format!("/{family}");
    let mut kids: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut level = vec![root.clone()];
    while !level.is_empty() {
        // Siblings may share a collector; a facet and its descendant may not.
        let mut c = FacetCollector::for_field(family);
        for p in &level {
            c.add_facet(p.as_str());
        }
        let counts = searcher.search(&AllQuery, &c)?;
        let mut next = Vec::new();
        for p in &level {
            let v: Vec<(String, u64)> = counts.get(p.as_str()).map(|(f, n)| (f.to_string(), n)).collect();
            next.extend(v.iter().map(|(c, _)| c.clone()));
            kids.insert(p.clone(), v);
        }
        level = next;
    }
    fn build(path: &str, kids: &BTreeMap<String, Vec<(String, u64)>>) -> Vec<FacetNode> {
        let mut v: Vec<FacetNode> = kids
            .get(path)
            .into_iter()
            .flatten()
            .map(|(p, n)| FacetNode { path: p.clone(), count: *n, children: build(p, kids) })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        v
    }
    Ok(build(&root, &kids))
}
