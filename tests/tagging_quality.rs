//! Tagging precision and recall against `corpus-sample/labels.toml`, per facet family. The
//! floors are set a little below the measured figures (see the README), so that a change that
//! makes the tagger worse fails here. Run with `--nocapture` to see the table.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use wash_lessons::config::Config;
use wash_lessons::enrich::Enricher;
use wash_lessons::extract::Limits;
use wash_lessons::ingest;

use crate::util;

#[derive(Debug, Deserialize)]
struct Labels {
    documents: BTreeMap<String, Label>,
}

#[derive(Debug, Deserialize)]
struct Label {
    language: String,
    doctype: String,
    countries: Vec<String>,
    context: Vec<String>,
    technology: Vec<String>,
    failure_cause: Vec<String>,
    #[serde(default)]
    approach: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn add(&mut self, pred: &BTreeSet<String>, gold: &BTreeSet<String>) {
        self.tp += pred.intersection(gold).count();
        self.fp += pred.difference(gold).count();
        self.fn_ += gold.difference(pred).count();
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Truncates a path to its first two levels below the family ("/failure_cause/financial").
fn branch(p: &str) -> String {
    p.split('/').take(3).collect::<Vec<_>>().join("/")
}

/// Floors a little below the measured figures (exact paths, measured on 2026-11-27:
/// context P 0.731 R 0.632, technology P 0.688 R 0.771, failure_cause P 0.578 R 0.408,
/// approach P 0.591 R 0.765).
const FLOORS: [(&str, f64, f64); 4] = [
    // (family, precision floor, recall floor)
    ("context", 0.69, 0.59),
    ("technology", 0.65, 0.73),
    ("failure_cause", 0.54, 0.37),
    ("approach", 0.55, 0.72),
];

#[test]
fn tagging_precision_and_recall_against_labels() {
    let labels: Labels = toml::from_str(&std::fs::read_to_string(util::corpus().join("labels.toml")).unwrap()).unwrap();
    assert!(labels.documents.len() >= 60, "labels for {} documents", labels.documents.len());
    let config = Config::load_dir(&util::root().join("index-config")).unwrap();
    let enricher = Enricher::new(&config);
    let limits = Limits::default();
    let families = ["context", "technology", "failure_cause", "approach"];
    let mut exact: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut branches: BTreeMap<&str, Counts> = BTreeMap::new();
    let (mut lang_ok, mut doctype_ok, mut country_ok, mut year_found) = (0, 0, 0, 0);
    let mut misses: Vec<String> = Vec::new();
    for (path, label) in &labels.documents {
        let file = util::corpus().join(path);
        let r = ingest::process(&ingest::Job::file(&file, path), &enricher, &limits, &|| {})
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        lang_ok += (r.language == label.language) as usize;
        doctype_ok += (r.doctype == label.doctype) as usize;
        year_found += r.year.is_some() as usize;
        let gold_c: BTreeSet<&String> = label.countries.iter().collect();
        let pred_c: BTreeSet<&String> = r.countries.iter().collect();
        country_ok += (gold_c == pred_c) as usize;
        for fam in families {
            let gold: BTreeSet<String> = match fam {
                "context" => &label.context,
                "technology" => &label.technology,
                "failure_cause" => &label.failure_cause,
                _ => &label.approach,
            }
            .iter()
            .cloned()
            .collect();
            let pred: BTreeSet<String> = r.facet_paths(fam).into_iter().collect();
            exact.entry(fam).or_default().add(&pred, &gold);
            let gb: BTreeSet<String> = gold.iter().map(|p| branch(p)).collect();
            let pb: BTreeSet<String> = pred.iter().map(|p| branch(p)).collect();
            branches.entry(fam).or_default().add(&pb, &gb);
            for p in pred.difference(&gold) {
                misses.push(format!("FP {path}: {p}"));
            }
            for g in gold.difference(&pred) {
                misses.push(format!("FN {path}: {g}"));
            }
        }
    }
    let n = labels.documents.len();
    if std::env::var_os("WASH_TAGGING_MISSES").is_some() {
        for m in &misses {
            println!("{m}");
        }
    }
    println!("\nTagging quality on corpus-sample ({n} documents), exact paths | first two levels:");
    println!(
        "{:<14} {:>9} {:>7} {:>6}   {:>9} {:>7} {:>6}",
        "family", "precision", "recall", "F1", "precision", "recall", "F1"
    );
    for fam in families {
        let (e, b) = (exact[fam], branches[fam]);
        println!(
            "{fam:<14} {:>9.3} {:>7.3} {:>6.3}   {:>9.3} {:>7.3} {:>6.3}",
            e.precision(),
            e.recall(),
            e.f1(),
            b.precision(),
            b.recall(),
            b.f1()
        );
    }
    println!("language {lang_ok}/{n}, doctype {doctype_ok}/{n}, countries exact {country_ok}/{n}, year found {year_found}/{n}");
    for (fam, p_floor, r_floor) in FLOORS {
        let e = exact[fam];
        assert!(e.precision() >= p_floor, "{fam} precision {:.3} below floor {p_floor}", e.precision());
        assert!(e.recall() >= r_floor, "{fam} recall {:.3} below floor {r_floor}", e.recall());
    }
    assert!(lang_ok * 100 >= n * 95, "language right on only {lang_ok}/{n}");
    assert!(country_ok * 100 >= n * 90, "countries right on only {country_ok}/{n}");
    assert!(year_found * 100 >= n * 95, "year found on only {year_found}/{n}");
    assert!(doctype_ok * 100 >= n * 70, "doctype right on only {doctype_ok}/{n}");
}
