//! `export` writes records that fit the OpenSearch template and the Quickwit config it ships,
//! and `import` reads them back into an index: the same records, facets and vectors, a bad line
//! reported and skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::util::{self, s};

/// Three notes in three languages.
fn notes(dir: &Path) -> std::path::PathBuf {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("kiosks.md"),
        "# Water kiosks in Kisumu\n\nThe kiosks closed one after another: operators were not paid and the utility never took them over after the project ended.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("pompes.md"),
        "# Pompes à motricité humaine au Niger\n\nLes pompes tombent en panne faute de pièces de rechange; le comité de gestion ne collecte plus les cotisations.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("letrinas.md"),
        "# Letrinas escolares en Bolivia\n\nLas letrinas se llenaron en dos años y nadie presupuestó el vaciado de los pozos.\n",
    )
    .unwrap();
    docs
}

/// The lines of an export, by id.
fn lines(file: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["id"].as_str().unwrap().to_string(), v))
        .collect()
}

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Exports `index` to `file` (templates into `templates`), with the model `model`.
fn export(index: &Path, file: &Path, templates: &Path, model: &Path) {
    ok(&util::run_with_model(&["export", "--index", s(index), "--out", s(file), "--templates", s(templates)], model));
}

#[test]
fn exported_records_fit_the_templates_and_come_back_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (index, file, templates) = (tmp.path().join("idx"), tmp.path().join("out.ndjson"), tmp.path().join("tpl"));
    let no_model = tmp.path().join("none.wlm");
    ok(&util::run(&["index", "--index", s(&index), s(&notes(tmp.path()))]));
    export(&index, &file, &templates, &no_model);
    let first = lines(&file);
    assert_eq!(first.len(), 3);

    // Every field is one the OpenSearch template maps (it is "dynamic": "strict"), the text in
    // the field of the document's language, facet paths for path_hierarchy.
    let os: Value =
        serde_json::from_str(&std::fs::read_to_string(templates.join("opensearch-template.json")).unwrap()).unwrap();
    let mappings = &os["template"]["mappings"];
    assert_eq!(mappings["dynamic"], "strict");
    let mapped: BTreeSet<&str> = mappings["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(mappings["properties"]["passages"]["properties"]["vector"]["type"], "knn_vector");
    assert_eq!(mappings["properties"]["passages"]["properties"]["vector"]["dimension"], 512);
    assert_eq!(os["template"]["settings"]["analysis"]["tokenizer"]["facet_path"]["type"], "path_hierarchy");
    let qw: Value =
        serde_json::from_str(&std::fs::read_to_string(templates.join("quickwit-index.json")).unwrap()).unwrap();
    let qw_fields: BTreeSet<&str> =
        qw["doc_mapping"]["field_mappings"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    let mut languages = BTreeSet::new();
    for line in first.values() {
        for key in line.as_object().unwrap().keys() {
            assert!(mapped.contains(key.as_str()) || key.starts_with("text_"), "{key} is not in the template");
        }
        let lang = line["language"].as_str().unwrap();
        languages.insert(lang.to_string());
        assert!(line[format!("text_{lang}")].as_str().unwrap().split_whitespace().count() > 10, "{line}");
        let paths = line["facet_paths"].as_array().unwrap();
        assert!(paths.iter().all(|p| p.as_str().unwrap().starts_with('/')), "{line}");
        for tags in line["facets"].as_object().unwrap().values() {
            for t in tags.as_array().unwrap() {
                assert!(paths.contains(&t["path"]), "{line}");
            }
        }
    }
    assert_eq!(languages, ["en", "es", "fr"].map(String::from).into(), "one text field per language");
    for f in ["id", "title", "facet_paths", "language", "year", "text_en", "text_fr", "text_es"] {
        assert!(qw_fields.contains(f), "Quickwit maps {f}");
    }
    assert!(first.values().any(|l| !l["facet_paths"].as_array().unwrap().is_empty()), "some document is tagged");

    // Back into a new index, with a broken line among them: reported, skipped, the rest in.
    let mut input = std::fs::read_to_string(&file).unwrap();
    input.insert_str(input.find('\n').unwrap() + 1, "{\"id\": \"broken\", \"title\": 3}\nnot json at all\n");
    let with_bad = tmp.path().join("with-bad.ndjson");
    std::fs::write(&with_bad, input).unwrap();
    let copy = tmp.path().join("idx2");
    let out = util::run(&["import", "--index", s(&copy), s(&with_bad)]);
    assert_eq!(out.status.code(), Some(2), "partial: {}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("line 2: skipped") && said.contains("line 3: skipped"), "{said}");
    export(&copy, &tmp.path().join("again.ndjson"), &templates, &no_model);
    assert_eq!(lines(&tmp.path().join("again.ndjson")), first, "the same records after the round trip");
    let (code, r) = util::run_json(&["search", "--index", s(&copy), "--json", "pièces de rechange"]);
    assert_eq!(code, 0);
    assert!(r["hits"][0]["title"].as_str().unwrap().starts_with("Pompes"), "{r}");
}

#[test]
fn passage_vectors_survive_the_round_trip() {
    let Some(model) = util::model("passage_vectors_survive_the_round_trip") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (index, file, templates) = (tmp.path().join("idx"), tmp.path().join("out.ndjson"), tmp.path().join("tpl"));
    ok(&util::run_with_model(&["index", "--index", s(&index), s(&notes(tmp.path()))], &model));
    export(&index, &file, &templates, &model);
    let first = lines(&file);
    for line in first.values() {
        assert_eq!(line["embedded"], true);
        let passages = line["passages"].as_array().unwrap();
        assert!(!passages.is_empty(), "{line}");
        for p in passages {
            let v: Vec<f64> = p["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            assert_eq!(v.len(), 512);
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 0.02, "unit vectors: {norm}");
            assert!(!p["text"].as_str().unwrap().is_empty());
        }
    }
    let copy = tmp.path().join("idx2");
    ok(&util::run_with_model(&["import", "--index", s(&copy), s(&file)], &model));
    let again = tmp.path().join("again.ndjson");
    export(&copy, &again, &templates, &model);
    let second = lines(&again);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    for (id, a) in &first {
        let b = &second[id];
        let (pa, pb) = (a["passages"].as_array().unwrap(), b["passages"].as_array().unwrap());
        assert_eq!(pa.len(), pb.len());
        for (x, y) in pa.iter().zip(pb) {
            assert_eq!(
                (&x["page"], &x["start"], &x["end"], &x["text"]),
                (&y["page"], &y["start"], &y["end"], &y["text"])
            );
            for (u, v) in x["vector"].as_array().unwrap().iter().zip(y["vector"].as_array().unwrap()) {
                assert!((u.as_f64().unwrap() - v.as_f64().unwrap()).abs() < 1e-6, "{id}: {u} vs {v}");
            }
        }
    }
    // Meaning search works on the imported index without embedding anything again.
    let out = util::run_with_model(
        &["search", "--index", s(&copy), "--json", "--mode", "semantic", "toilets filled up at schools"],
        &model,
    );
    ok(&out);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["hits"][0]["title"].as_str().unwrap().starts_with("Letrinas"), "{r}");
}
