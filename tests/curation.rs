//! Tags by meaning arriving with the vectors, a changed tagger re-tagging without embedding, and
//! curators' corrections from the command line surviving re-indexing and moves.

use std::path::Path;

use crate::util::{self, run, run_with_model, s};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn note(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const KIOSK: &str = "# Kiosks in Kisumu\n\nThe water kiosks of the informal settlements closed one after another: the operators were not paid, the utility cut the supply when bills went unpaid, and nobody in the ward office followed up once the project had ended.\n";
const PUMPS: &str = "# Handpumps in Mzimba\n\nOf the handpumps visited in the villages, many were broken. Spare parts had to come from Lilongwe and the area mechanic had stopped working when the NGO left; the water point committees had not collected fees for years.\n";

#[test]
fn tags_by_meaning_arrive_with_the_vectors_and_a_new_tagger_retags_without_embedding() {
    let Some(model) = util::model("curation::tags_by_meaning_arrive_with_the_vectors") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    let index = tmp.path().join("idx");
    note(&docs, "kiosk.md", KIOSK);
    note(&docs, "pumps.md", PUMPS);
    // Without the encoder: tags by terms, every document waiting for meaning.
    json(&run(&["index", "--index", s(&index), "--json", s(&docs)]));
    let st = json(&run(&["stats", "--index", s(&index), "--json"]));
    assert_eq!(st["waiting_for_meaning"], 2, "{st}");
    // With it: the vector phase decides the tags with meaning; none waits.
    let v = json(&run_with_model(&["index", "--index", s(&index), "--json", s(&docs)], &model));
    assert_eq!(v["vectors"]["documents"], 2, "{v}");
    let st = json(&run(&["stats", "--index", s(&index), "--json"]));
    assert_eq!(st["waiting_for_meaning"], 0, "{st}");
    // inspect shows confidence and the passage that carried a tag by meaning.
    let r = json(&run_with_model(&["inspect", "--json", s(&docs.join("pumps.md"))], &model));
    assert_eq!(r["tagged_by"], "meaning", "{r}");
    let tags: Vec<&serde_json::Value> =
        r["facets"].as_object().unwrap().values().flat_map(|v| v.as_array().unwrap()).collect();
    assert!(tags.iter().all(|t| t["confidence"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c))), "{r}");
    let with_passage =
        tags.iter().find(|t| t["passages"].as_array().is_some_and(|p| !p.is_empty())).expect("a passage");
    let p = &with_passage["passages"][0];
    assert!(p["text"].as_str().unwrap().split_whitespace().count() >= 10, "{p}");
    assert!(p["similarity"].as_f64().unwrap() > 0.0, "{p}");
    let paths: Vec<&str> = tags.iter().map(|t| t["path"].as_str().unwrap()).collect();
    assert!(paths.iter().any(|p| p.starts_with("/technology/water/borehole")), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("/failure_cause/")), "{paths:?}");

    // Other weights (a changed tagger.json): re-tagged from the stored vectors, nothing embedded.
    let cfg = tmp.path().join("cfg");
    std::fs::create_dir_all(&cfg).unwrap();
    let mut t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(util::root().join("index-config/tagger.json")).unwrap()).unwrap();
    t["meaning"]["bias"] = serde_json::json!(t["meaning"]["bias"].as_f64().unwrap() - 0.5);
    std::fs::write(cfg.join("tagger.json"), t.to_string()).unwrap();
    let v = json(&run_with_model(&["--config", s(&cfg), "index", "--index", s(&index), "--json", s(&docs)], &model));
    assert_eq!(v["vectors"]["embedded"], 0, "{v}");
    assert_eq!(v["vectors"]["retagged"], 2, "{v}");
    let v = json(&run_with_model(&["--config", s(&cfg), "index", "--index", s(&index), "--json", s(&docs)], &model));
    assert!(v["vectors"].is_null(), "nothing left to do: {v}");
}

#[test]
fn curators_corrections_survive_reindexing_and_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    let index = tmp.path().join("idx");
    note(&docs, "a/kiosk.md", KIOSK);
    note(&docs, "a/pumps.md", PUMPS);
    json(&run(&["index", "--index", s(&index), "--json", s(&docs)]));
    let find = |q: &str, filter: &str| -> Vec<String> {
        let v = json(&run(&["search", "--index", s(&index), "--json", "--filter", filter, q]));
        v["hits"].as_array().unwrap().iter().map(|h| h["path"].as_str().unwrap().to_string()).collect()
    };
    let v = json(&run(&["search", "--index", s(&index), "--json", "Kisumu kiosks"]));
    let id = v["hits"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(v["hits"][0]["path"], "a/kiosk.md");
    // A path outside the taxonomy and an unknown id are refused; nothing is logged.
    let bad = run(&["tag", "--index", s(&index), &id, "+/failure_cause/made-up"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/failure_cause/made-up"));
    let unknown = run(&["tag", "--index", s(&index), "0123456789abcdef", "+/context/setting/urban"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(!index.join("wash-lessons.corrections.jsonl").exists());

    let out = run(&[
        "tag",
        "--index",
        s(&index),
        "--by",
        "amina",
        &id,
        "+/context/humanitarian/camp",
        "-/context/setting/informal-settlement",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/context/humanitarian/camp (set by amina"));
    assert_eq!(find("", "/context/humanitarian/camp"), ["a/kiosk.md"]);
    assert!(find("", "/context/setting/informal-settlement").is_empty());

    // The file changes: indexed again, the correction stands.
    note(&docs, "a/kiosk.md", &format!("{KIOSK}\nA later visit found two kiosks reopened by a women's group.\n"));
    let v = json(&run(&["index", "--index", s(&index), "--json", s(&docs)]));
    assert_eq!(v["indexed"], 1, "{v}");
    assert_eq!(find("", "/context/humanitarian/camp"), ["a/kiosk.md"]);
    assert!(find("", "/context/setting/informal-settlement").is_empty());

    // The file moves: the correction follows it to its new id.
    std::fs::create_dir_all(docs.join("b")).unwrap();
    std::fs::rename(docs.join("a/kiosk.md"), docs.join("b/kiosk-2014.md")).unwrap();
    let v = json(&run(&["index", "--index", s(&index), "--json", s(&docs)]));
    assert_eq!(v["moved"], 1, "{v}");
    assert_eq!(find("", "/context/humanitarian/camp"), ["b/kiosk-2014.md"]);

    // The audit log only grew: the correction, then the move.
    let log = std::fs::read_to_string(index.join("wash-lessons.corrections.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[0]["op"], "correct");
    assert_eq!(lines[0]["by"], "amina");
    assert_eq!(lines[1]["op"], "move");
    let st = json(&run(&["stats", "--index", s(&index), "--json"]));
    assert_eq!(st["corrections"], 2);
}
