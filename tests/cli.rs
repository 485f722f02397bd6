//! The command line end to end: index corpus-sample into a temporary index, search with
//! filters, facet counts, re-indexing without duplicates, inspect and stats.

use crate::util::{self, run_json, s};

#[test]
fn index_search_filter_reindex_inspect_stats() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("idx");
    let corpus = util::corpus();

    // First run: everything goes in.
    let (code, v) = run_json(&["index", "--index", s(&index), "--json", s(&corpus)]);
    assert_eq!(code, 0, "{v}");
    let n = v["indexed"].as_u64().unwrap();
    assert!(n >= 60, "{v}");
    assert_eq!(v["failed"], 0, "{v}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);

    // Second run: nothing changed, nothing re-read.
    let (code, v) = run_json(&["index", "--index", s(&index), "--json", s(&corpus)]);
    assert_eq!(code, 0);
    assert_eq!(v["indexed"], 0, "{v}");
    assert_eq!(v["unchanged"].as_u64().unwrap(), n);

    // The brief: the same shape as GET /api/brief, causes in rank order, from the best matches.
    let (code, b) = run_json(&["brief", "--index", s(&index), "--json", "why do handpumps stop working"]);
    assert_eq!(code, 0, "{b}");
    assert!(b["documents"].as_u64().unwrap() >= 3 && !b["causes"].as_array().unwrap().is_empty(), "{b}");
    let out = util::run(&["brief", "--index", s(&index), "why do handpumps stop working"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Why it failed") && text.contains("documents,"), "{text}");

    // Search finds the handpump evaluations, with snippets that mark the words and name the page.
    let (code, r) = run_json(&["search", "--index", s(&index), "--json", "spare parts handpump"]);
    assert_eq!(code, 0);
    assert!(r["total"].as_u64().unwrap() > 0);
    let hits = r["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    let top = &hits[0];
    for key in ["id", "title", "path", "format", "language", "year", "countries", "facets", "score", "snippets"] {
        assert!(top.get(key).is_some(), "hit lacks {key}: {top}");
    }
    let marked = hits
        .iter()
        .flat_map(|h| h["snippets"].as_array().unwrap())
        .any(|s| s["html"].as_str().unwrap().contains("<mark>"));
    assert!(marked, "no snippet marks the query words: {r}");
    let pdf_hit = hits.iter().find(|h| h["format"] == "pdf").expect("a PDF among the hits");
    assert!(pdf_hit["snippets"][0]["page"].as_u64().is_some(), "PDF snippets carry a page: {pdf_hit}");
    let md_hit = hits.iter().find(|h| h["format"] != "pdf");
    if let Some(h) = md_hit {
        assert!(h["snippets"][0]["page"].is_null(), "formats without pages give page null: {h}");
    }
    for fam in ["context", "technology", "failure_cause", "language", "doctype"] {
        assert!(r["facets"][fam].is_array(), "facets.{fam} missing: {}", r["facets"]);
    }

    // A filter keeps only documents tagged there or below, and its children are counted.
    let (_, f) =
        run_json(&["search", "--index", s(&index), "--json", "--filter", "/technology/water", "--limit", "100", ""]);
    let total_water = f["total"].as_u64().unwrap();
    assert!(total_water > 0 && total_water < n);
    for h in f["hits"].as_array().unwrap() {
        let tech: Vec<&str> =
            h["facets"]["technology"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(tech.iter().any(|t| t.starts_with("/technology/water")), "{h}");
    }
    let tech_counts = f["facets"]["technology"].as_array().unwrap();
    let water_children: Vec<&str> = tech_counts
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .filter(|p| p.starts_with("/technology/water/"))
        .collect();
    assert!(!water_children.is_empty(), "drill-down counts of /technology/water missing: {tech_counts:?}");
    let water_root = tech_counts.iter().find(|c| c["path"] == "/technology/water").unwrap();
    assert_eq!(water_root["count"].as_u64().unwrap(), total_water);

    // Two filters: both must hold.
    let (_, f2) = run_json(&[
        "search",
        "--index",
        s(&index),
        "--json",
        "--filter",
        "/technology/water",
        "--filter",
        "/language/fr",
        "",
    ]);
    assert!(f2["total"].as_u64().unwrap() <= total_water);
    for h in f2["hits"].as_array().unwrap() {
        assert_eq!(h["language"], "fr");
    }

    // Language filter and facet counts per language.
    let (_, l) = run_json(&["search", "--index", s(&index), "--json", "--lang", "es", ""]);
    let es = l["total"].as_u64().unwrap();
    assert!(es >= 6, "{es} Spanish documents");
    let (_, all) = run_json(&["search", "--index", s(&index), "--json", ""]);
    let es_count = all["facets"]["language"].as_array().unwrap().iter().find(|c| c["path"] == "/language/es").unwrap()
        ["count"]
        .as_u64();
    assert_eq!(es_count, Some(es));

    // Newest first, and a year range.
    let (_, nw) = run_json(&["search", "--index", s(&index), "--json", "--newest", "--limit", "20", ""]);
    let years: Vec<u64> = nw["hits"].as_array().unwrap().iter().filter_map(|h| h["year"].as_u64()).collect();
    assert!(years.len() >= 10 && years.windows(2).all(|w| w[0] >= w[1]), "{years:?}");
    let (_, yr) = run_json(&["search", "--index", s(&index), "--json", "--year-min", "2015", "--year-max", "2018", ""]);
    assert!(yr["total"].as_u64().unwrap() > 0);
    for h in yr["hits"].as_array().unwrap() {
        let y = h["year"].as_u64().unwrap();
        assert!((2015..=2018).contains(&y), "{y}");
    }
    let year_counts = yr["facets"]["year"].as_array().unwrap();
    assert!(year_counts.iter().all(|c| c["path"].as_str().unwrap().starts_with("/year/201")), "{year_counts:?}");

    // Bad filters are user errors, not crashes; odd queries are searched leniently.
    let out = util::run(&["search", "--index", s(&index), "--filter", "/nonsense/x", "pumps"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid filter"));
    for q in ["\"spare parts", "(latrine", "title:pump -sewer", "facets:/x", "a AND OR", "*", "[1 TO"] {
        let (code, _) = run_json(&["search", "--index", s(&index), "--json", q]);
        assert_eq!(code, 0, "query {q:?}");
    }

    // Re-indexing a changed file replaces it: no duplicates.
    let copy_dir = tmp.path().join("copy");
    std::fs::create_dir(&copy_dir).unwrap();
    let note = copy_dir.join("note.md");
    std::fs::write(&note, "# Borehole note\n\nThe zanzibarite pump broke twice.\n").unwrap();
    run_json(&["index", "--index", s(&index), "--json", s(&copy_dir)]);
    std::fs::write(&note, "# Borehole note\n\nThe zanzibarite pump broke three times, and was repaired.\n").unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options().write(true).open(&note).unwrap().set_modified(later).unwrap();
    let (_, v) = run_json(&["index", "--index", s(&index), "--json", s(&copy_dir)]);
    assert_eq!(v["indexed"], 1, "{v}");
    let (_, r) = run_json(&["search", "--index", s(&index), "--json", "zanzibarite"]);
    assert_eq!(r["total"], 1, "a changed file is replaced, not duplicated: {r}");
    assert!(r["hits"][0]["snippets"][0]["html"].as_str().unwrap().contains("three"));

    // stats: documents per format, language and facet.
    let (code, st) = run_json(&["stats", "--index", s(&index), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(st["documents"].as_u64().unwrap(), n + 1);
    let formats: Vec<&str> =
        st["facets"]["format"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    for f in ["/format/pdf", "/format/docx", "/format/odt", "/format/html", "/format/markdown", "/format/text"] {
        assert!(formats.contains(&f), "{formats:?}");
    }
    assert!(st["facets"]["failure_cause"][0]["children"].is_array(), "stats show the facet tree");
}

#[test]
fn inspect_shows_what_would_be_stored() {
    let file = util::corpus().join("evaluations/malawi-afridev-handpump-sustainability-evaluation-2014.pdf");
    let (code, r) = run_json(&["inspect", "--json", s(&file)]);
    assert_eq!(code, 0);
    assert_eq!(r["format"], "pdf");
    assert_eq!(r["language"], "en");
    assert_eq!(r["year"], 2014);
    assert!(r["countries"].as_array().unwrap().iter().any(|c| c == "MW"));
    let pages = r["pages"].as_array().unwrap();
    assert!(pages.len() > 2);
    assert_eq!(pages[0]["number"], 1);
    assert!(pages[1]["text"].as_str().unwrap().len() > 200);
    let tech = r["facets"]["technology"].as_array().unwrap();
    let hp = tech.iter().find(|t| t["path"] == "/technology/water/borehole/handpump").expect("handpump tag");
    let ev = &hp["evidence"][0];
    assert!(
        ev["term"].is_string()
            && ev["count"].as_u64().unwrap() >= 1
            && ev["pages"].is_array()
            && ev["zones"].is_array()
    );
}

#[test]
fn legacy_encodings_come_out_right() {
    let f = util::corpus().join("field-notes/haiti-artibonite-household-water-treatment-followup-2011.txt");
    let raw = std::fs::read(&f).unwrap();
    assert!(std::str::from_utf8(&raw).is_err(), "the sample note is Windows-1252");
    let (_, r) = run_json(&["inspect", "--json", s(&f)]);
    let text = r["pages"][0]["text"].as_str().unwrap();
    assert!(!text.contains('\u{FFFD}'), "no replacement characters");
    let g = util::corpus().join("field-notes/zimbabwe-chitungwiza-epworth-trip-report-2019.txt");
    let raw = std::fs::read(&g).unwrap();
    assert!(raw.starts_with(&[0xFF, 0xFE]) || raw.starts_with(&[0xFE, 0xFF]), "the sample note is UTF-16");
    let (_, r) = run_json(&["inspect", "--json", s(&g)]);
    assert_eq!(r["language"], "en");
    assert!(r["pages"][0]["text"].as_str().unwrap().contains("Chitungwiza"));
}

#[test]
fn sidecar_and_front_matter_facets_win() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    // The text speaks of handpumps, but a curator says the document is about springs in Nepal.
    std::fs::write(docs.join("visit.txt"), "Handpumps, handpumps and handpumps everywhere in the district.\n").unwrap();
    std::fs::write(
        docs.join("visit.txt.meta.toml"),
        "title = \"Spring catchments visit\"\nyear = 2012\ncountries = [\"Nepal\"]\nfacets = [\"/technology/water/spring\"]\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("notes.md"),
        "---\ntitle: Learning alliance notes\ndate: 2019-05-02\ncountry: Ghana\nfacets: [/context/setting/small-town]\n---\n# Notes\n\nTown water boards met.\n",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (code, v) = run_json(&["index", "--index", s(&index), "--json", s(&docs)]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["indexed"], 2, "the sidecar is not a document of its own: {v}");
    let (_, r) = run_json(&["search", "--index", s(&index), "--json", "--filter", "/technology/water/spring", ""]);
    assert_eq!(r["total"], 1, "{r}");
    let h = &r["hits"][0];
    assert_eq!(h["title"], "Spring catchments visit");
    assert_eq!(h["year"], 2012);
    assert_eq!(h["countries"][0], "NP");
    assert_eq!(h["facets"]["technology"], serde_json::json!(["/technology/water/spring"]));
    let (_, r) = run_json(&["search", "--index", s(&index), "--json", "--filter", "/context/setting/small-town", ""]);
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["hits"][0]["year"], 2019);
    assert_eq!(r["hits"][0]["countries"][0], "GH");
}
