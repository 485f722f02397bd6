//! Relevance evaluation: judged queries (`corpus-sample/queries.toml`) and the measures the
//! relevance test and the relevance example (`examples/relevance.rs`, which includes this file)
//! report, nDCG@10 and MRR. Not part of the library: the product does not judge queries.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// One judged query.
#[derive(Debug, Clone, Deserialize)]
pub struct JudgedQuery {
    /// Identifier (`q01`).
    pub id: String,
    /// The words as a practitioner types them.
    pub text: String,
    /// Language the query is written in.
    pub lang: String,
    /// Kinds: keyword, acronym, typo, cross-language, conceptual.
    #[serde(default)]
    pub kind: Vec<String>,
    /// Graded documents: path (relative to the corpus) -> grade 1..3.
    pub judgments: Vec<Judgment>,
}

/// A graded document.
#[derive(Debug, Clone, Deserialize)]
pub struct Judgment {
    /// Path relative to the corpus folder.
    pub path: String,
    /// 3 = about this, 2 = substantially relevant, 1 = marginally.
    pub grade: u8,
}

#[derive(Debug, Deserialize)]
struct QueriesFile {
    version: u32,
    query: Vec<JudgedQuery>,
}

/// Reads a queries file.
pub fn load_queries(path: &Path) -> Result<Vec<JudgedQuery>, String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f: QueriesFile = toml::from_str(&src).map_err(|e| format!("{}: {e}", path.display()))?;
    if f.version != 1 {
        return Err(format!("{}: unsupported version {}", path.display(), f.version));
    }
    Ok(f.query)
}

impl JudgedQuery {
    fn grades(&self) -> BTreeMap<&str, u8> {
        self.judgments.iter().map(|j| (j.path.as_str(), j.grade)).collect()
    }

    /// nDCG@k of a ranking (paths, best first): gains 2^grade - 1, log2 discounts.
    pub fn ndcg(&self, ranking: &[String], k: usize) -> f64 {
        let grades = self.grades();
        let dcg = |gs: &mut dyn Iterator<Item = u8>| -> f64 {
            gs.take(k).enumerate().map(|(i, g)| (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2()).sum()
        };
        let mut seen = std::collections::HashSet::new();
        let got = dcg(&mut ranking
            .iter()
            .filter(|p| seen.insert(p.as_str()))
            .map(|p| grades.get(p.as_str()).copied().unwrap_or(0)));
        let mut ideal: Vec<u8> = grades.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let best = dcg(&mut ideal.into_iter());
        if best == 0.0 {
            0.0
        } else {
            got / best
        }
    }

    /// Reciprocal rank of the first document graded 2 or more within the first `k`.
    pub fn reciprocal_rank(&self, ranking: &[String], k: usize) -> f64 {
        let grades = self.grades();
        ranking
            .iter()
            .take(k)
            .position(|p| grades.get(p.as_str()).copied().unwrap_or(0) >= 2)
            .map(|i| 1.0 / (i + 1) as f64)
            .unwrap_or(0.0)
    }
}

/// Mean nDCG@10 and MRR@10 of rankings (one per query, same order).
pub fn score(queries: &[JudgedQuery], rankings: &[Vec<String>]) -> (f64, f64) {
    let n = queries.len().max(1) as f64;
    let ndcg: f64 = queries.iter().zip(rankings).map(|(q, r)| q.ndcg(r, 10)).sum::<f64>() / n;
    let mrr: f64 = queries.iter().zip(rankings).map(|(q, r)| q.reciprocal_rank(r, 10)).sum::<f64>() / n;
    (ndcg, mrr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> JudgedQuery {
        JudgedQuery {
            id: "q".into(),
            text: "x".into(),
            lang: "en".into(),
            kind: vec![],
            judgments: vec![Judgment { path: "a".into(), grade: 3 }, Judgment { path: "b".into(), grade: 1 }],
        }
    }

    #[test]
    fn ndcg_and_mrr() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!((q().ndcg(&s(&["a", "b"]), 10) - 1.0).abs() < 1e-9);
        let swapped = q().ndcg(&s(&["b", "a"]), 10);
        assert!(swapped < 1.0 && swapped > 0.5, "{swapped}");
        assert_eq!(q().ndcg(&s(&["z"]), 10), 0.0);
        assert_eq!(q().reciprocal_rank(&s(&["z", "b", "a"]), 10), 1.0 / 3.0);
        assert_eq!(q().reciprocal_rank(&s(&["b"]), 10), 0.0);
    }
}
