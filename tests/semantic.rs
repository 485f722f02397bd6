//! Semantic retrieval end to end: the model installed from the reference wheel reproduces the
//! reference tokens and vectors; damaged or wrong models are refused; index runs embed passages
//! and re-embed only what changed; without a model everything falls back to keywords and says
//! so; semantic and hybrid search cross languages and keep filters, years and paging.

use std::path::Path;

use wash_lessons::model::{install, Model, DIM};

use crate::util::{self, run_with_model, s};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

#[test]
fn the_installed_model_reproduces_the_reference_and_damage_is_refused() {
    let Some(model_path) = util::model("semantic::the_installed_model_reproduces_the_reference") else { return };
    let out = run_with_model(&["model", "verify", "--model", s(&model_path)], &model_path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
    // Its speed beside this machine's limit: measured, positive, and not above the limit by
    // more than the counting's few per cent.
    let out = run_with_model(&["model", "speed", "--model", s(&model_path), "--json"], &model_path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let speed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let share = speed["share_of_limit"].as_f64().unwrap();
    assert!(speed["passages_per_s"].as_f64().unwrap() > 0.0 && share > 0.0 && share < 1.5, "{speed}");
    assert!(speed["tokens_per_passage"].as_f64().unwrap() > 40.0, "{speed}");
    let eight_bits = wash_lessons::model::int8::available();
    assert_eq!(speed["precision"], if eight_bits { "int8" } else { "f32" }, "{speed}");
    assert_eq!(speed["int8_gops"].is_number(), eight_bits, "{speed}");

    let model = Model::load(&model_path).unwrap();
    let v = install::verify(&model);
    assert!(v.token_mismatches.is_empty(), "{:?}", v.token_mismatches);
    assert!(v.min_cosine >= install::MIN_COSINE, "lowest cosine {}", v.min_cosine);
    // Eight-bit products (where the CPU has them) stay within the bound of float32.
    match v.int8_min_cosine {
        Some(c) => assert!((install::INT8_MIN_COSINE..1.0).contains(&c), "eight-bit cosine {c}"),
        None => eprintln!("note: no AVX-512 VNNI here, the eight-bit products are not tested against the model"),
    }
    assert_eq!(v.int8_min_cosine.is_some(), wash_lessons::model::int8::available());
    // Batching never lets one sentence's windows reach into another's.
    let texts = ["hand pump", "Les latrines ont été abandonnées.", "", "água"];
    let batch = model.embed(&texts);
    for (i, t) in texts.iter().enumerate() {
        let one = model.embed_one(t);
        let cos: f32 = one.iter().zip(&batch[i * DIM..(i + 1) * DIM]).map(|(a, b)| a * b).sum();
        assert!(cos > 0.99999, "{t:?}: {cos}");
    }

    // A damaged file is refused at load, with the way out.
    let tmp = tempfile::tempdir().unwrap();
    let damaged = tmp.path().join("damaged.wlm");
    let mut bytes = std::fs::read(&model_path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&damaged, bytes).unwrap();
    let out = run_with_model(&["model", "verify", "--model", s(&damaged)], &damaged);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"), "{}", String::from_utf8_lossy(&out.stderr));

    // Installing from something that is not the package fails clearly and leaves no model.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let dest = tmp.path().join("m.wlm");
    let out = run_with_model(&["model", "install", "--from", s(&empty), "--model", s(&dest)], &dest);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds neither"), "{}", String::from_utf8_lossy(&out.stderr));
    let not_a_wheel = tmp.path().join("x.whl");
    std::fs::write(&not_a_wheel, b"PK\x03\x04 this is not a zip").unwrap();
    let out = run_with_model(&["model", "install", "--from", s(&not_a_wheel), "--model", s(&dest)], &dest);
    assert_eq!(out.status.code(), Some(1));
    assert!(!dest.exists() && !dest.with_extension("wlm.part").exists());
}

/// Copies these files of corpus-sample into `dir`, keeping their relative paths.
fn sample_files(dir: &Path, files: &[&str]) {
    for f in files {
        let to = dir.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(util::corpus().join(f), to).unwrap();
    }
}

#[test]
fn index_runs_embed_passages_and_reembed_only_what_changed() {
    let Some(model) = util::model("semantic::index_runs_embed_passages") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    let index = tmp.path().join("idx");
    sample_files(
        &docs,
        &[
            "field-notes/rdc-kasai-central-note-mission-forages-2023.txt",
            "meeting-notes/kenya-mukuru-sanitation-learning-alliance-2014-03.md",
            "evaluations/malawi-afridev-handpump-sustainability-evaluation-2014.pdf",
        ],
    );
    let index_run = || {
        let out = run_with_model(&["index", "--index", s(&index), "--json", s(&docs)], &model);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json(&out)
    };
    let v = index_run();
    let vec = &v["vectors"];
    assert_eq!(vec["documents"], 3, "{v}");
    let first = vec["embedded"].as_u64().unwrap();
    assert!(first > 10, "{v}");
    assert_eq!(vec["reused"], 0);

    // Nothing changed: no second phase at all.
    let v = index_run();
    assert!(v["vectors"].is_null(), "{v}");

    // A paragraph added at the end: that document again, its earlier passages kept.
    let notes = docs.join("meeting-notes/kenya-mukuru-sanitation-learning-alliance-2014-03.md");
    let mut text = std::fs::read_to_string(&notes).unwrap();
    text.push_str("\n\nAddendum: the landlords' association asked for a second meeting on emptying fees, which the ward office agreed to host in April.\n");
    std::fs::write(&notes, text).unwrap();
    let v = index_run();
    let vec = &v["vectors"];
    assert_eq!(vec["documents"], 1, "{v}");
    assert!(vec["reused"].as_u64().unwrap() > 0, "{v}");
    let embedded = vec["embedded"].as_u64().unwrap();
    assert!((1..=3).contains(&embedded), "only the changed end is embedded again: {v}");

    // A renamed file: nothing embedded, its vectors follow it.
    std::fs::rename(&notes, docs.join("meeting-notes/mukuru-2014.md")).unwrap();
    let v = index_run();
    assert_eq!(v["moved"], 1, "{v}");
    assert_eq!(v["vectors"]["embedded"], 0, "{v}");
    assert!(v["vectors"]["reused"].as_u64().unwrap() > 0, "{v}");

    // A deleted file: its passages go too.
    std::fs::remove_file(docs.join("field-notes/rdc-kasai-central-note-mission-forages-2023.txt")).unwrap();
    let v = index_run();
    assert_eq!(v["removed"], 1, "{v}");
    assert_eq!(v["vectors"]["removed"], 1, "{v}");

    // Semantic search says which passage matched, on which page.
    let out = run_with_model(
        &[
            "search",
            "--index",
            s(&index),
            "--json",
            "--mode",
            "semantic",
            "where do people buy replacement parts for broken pumps",
        ],
        &model,
    );
    let r = json(&out);
    assert_eq!(r["mode"], "semantic");
    let top = &r["hits"][0];
    assert!(top["path"].as_str().unwrap().contains("malawi"), "{r}");
    assert_eq!(top["matched_by"], serde_json::json!(["meaning"]));
    assert!(top["passage"]["page"].as_u64().unwrap() >= 1, "{top}");
    assert!(top["passage"]["text"].as_str().unwrap().split_whitespace().count() >= 20, "{top}");
    assert!(top["passage"]["similarity"].as_f64().unwrap() > 0.2, "{top}");
}

/// The Kasai note and the Sikasso case study indexed with no model (a missing file named as the
/// model): the temporary folder, the index, the documents, the missing model and the run.
fn two_documents_indexed_without_a_model(
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf, std::path::PathBuf, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("idx");
    let docs = tmp.path().join("docs");
    sample_files(
        &docs,
        &[
            "field-notes/rdc-kasai-central-note-mission-forages-2023.txt",
            "case-studies/mali-sikasso-reseau-reparateurs-pmh-fiche-capitalisation-2024.html",
        ],
    );
    let none = tmp.path().join("no-model.wlm");
    let out = run_with_model(&["index", "--index", s(&index), "--json", s(&docs)], &none);
    (tmp, index, docs, none, out)
}

/// An upload's document and passages are written together (`embed::write_with_passages`, one
/// commit): the passages carry the version the vector phase checks, so a full run afterwards
/// leaves the document alone and finds only the other one still waiting; written again, the
/// document's vectors are reused by text, and it is still one document.
#[test]
fn a_document_written_with_its_passages_needs_no_vector_phase() {
    let Some(model_path) = util::model("semantic::a_document_written_with_its_passages_needs_no_vector_phase") else {
        return;
    };
    let (_tmp, index, _docs, none, out) = two_documents_indexed_without_a_model();
    assert_eq!(json(&out)["vectors"]["pending"], 2);
    let out = run_with_model(&["search", "--index", s(&index), "--json", "--mode", "keyword", "Kasai"], &none);
    let r = json(&out);
    let kasai = r["hits"][0]["id"].as_str().unwrap().to_string();
    assert!(r["hits"][0]["path"].as_str().unwrap().contains("kasai"), "{r}");

    let config = wash_lessons::config::Config::load_dir(&util::root().join("index-config")).unwrap();
    let served = &config.settings.languages.served;
    let idx = wash_lessons::index::WashIndex::open(&index).unwrap();
    let model = Model::load(&model_path).unwrap();
    let write = |idx: &wash_lessons::index::WashIndex| {
        let reader = idx.reader(false).unwrap();
        let searcher = reader.searcher();
        let doc = idx.find_document(&searcher, &kasai).unwrap().unwrap();
        let record = idx.full_record(&doc).unwrap();
        let (state, source) = idx.stored_state(&doc);
        let mut w = idx.single_writer().unwrap();
        let (written, summary) = wash_lessons::ingest::embed::write_with_passages(
            idx, &mut w, &searcher, &model, None, &record, state, served, &source,
        )
        .unwrap();
        w.commit().unwrap();
        assert_eq!(written.id, kasai);
        summary
    };
    let one = write(&idx);
    assert_eq!(one.documents, 1, "{one:?}");
    assert!(one.embedded > 3, "{one:?}");
    let again = write(&idx);
    assert_eq!((again.embedded, again.reused), (0, one.embedded), "{again:?}");
    let rest = wash_lessons::ingest::embed::run(&idx, Some(&model), None, 60.0, false).unwrap();
    assert_eq!((rest.documents, rest.removed), (1, 0), "{rest:?}");
    let out = run_with_model(&["search", "--index", s(&index), "--json", "--mode", "keyword", "Kasai"], &none);
    assert_eq!(json(&out)["total"], 1);
}

#[test]
fn without_a_model_search_is_by_keywords_and_says_so_once() {
    let (_tmp, index, docs, none, out) = two_documents_indexed_without_a_model();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("search is by keywords only").count(), 1, "{err}");
    let v = json(&out);
    assert_eq!(v["vectors"]["pending"], 2, "{v}");

    let out = run_with_model(&["search", "--index", s(&index), "--json", "forage"], &none);
    assert_eq!(json(&out)["mode"], "keyword");
    let out = run_with_model(&["search", "--index", s(&index), "--mode", "semantic", "forage"], &none);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the sentence-encoder model"));

    // Once a model is there, the next run embeds what waited, though no file changed.
    let Some(model) = util::model("semantic::without_a_model_search_is_by_keywords (its second half)") else { return };
    let out = run_with_model(&["index", "--index", s(&index), "--json", s(&docs)], &model);
    let v = json(&out);
    assert_eq!(v["indexed"], 0, "{v}");
    assert_eq!(v["vectors"]["documents"], 2, "{v}");
}

#[test]
fn a_run_killed_while_embedding_leaves_a_working_index_and_the_next_run_completes_it() {
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let Some(model) = util::model("semantic::a_run_killed_while_embedding") else { return };
    let tmp = tempfile::tempdir().unwrap();
    // Commits every 0.1 s, so that kills land between commits of the vector phase.
    let cfg = util::settings_with(tmp.path(), &[("commit_every_secs = 60", "commit_every_secs = 0.1")]);
    let idx = tmp.path().join("idx");
    let corpus = util::corpus();
    let passages = |dir: &Path| {
        let i = wash_lessons::index::WashIndex::open(dir).unwrap();
        let searcher = i.reader(false).unwrap().searcher();
        wash_lessons::index::vectors::VectorCache::default().count(&searcher).unwrap()
    };
    let clean = tmp.path().join("clean");
    let started = std::time::Instant::now();
    let out = run_with_model(&["--config", s(&cfg), "index", "--index", s(&clean), "--json", s(&corpus)], &model);
    let wall_ms = started.elapsed().as_millis() as u64;
    assert!(out.status.success());
    let expected = passages(&clean);
    assert!(expected > 500, "{expected} passages");
    // Kill moments spread over the clean run's vector phase (its end is the run's end; how long
    // it takes depends on the machine and on the precision of the products), plus one in the
    // keyword phase and one after the end.
    let v = json(&out);
    let vectors_ms = v["vectors"]["took_ms"].as_u64().unwrap();
    let vectors_start = wall_ms.saturating_sub(vectors_ms);
    let mut delays: Vec<u64> =
        [0.15, 0.35, 0.55, 0.75, 0.9].iter().map(|f| vectors_start + (vectors_ms as f64 * f) as u64).collect();
    delays.extend([vectors_start / 2, wall_ms + 500]);
    let mut killed_while_embedding = 0;
    for delay_ms in delays {
        let _ = std::fs::remove_dir_all(&idx);
        let mut child = Command::new(util::bin())
            .args(["--config", s(&cfg), "index", "--json", "--index", s(&idx), s(&corpus)])
            .env("WASH_LESSONS_MODEL", &model)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let running = child.try_wait().unwrap().is_none();
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
        if !idx.join("meta.json").exists() {
            continue;
        }
        // Whatever was committed searches, by words and by meaning.
        let out = run_with_model(&["search", "--index", s(&idx), "--json", "--mode", "keyword", "latrine"], &model);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // The next run completes what the killed one left; the one after finds nothing to do.
        let out = run_with_model(&["--config", s(&cfg), "index", "--index", s(&idx), "--json", s(&corpus)], &model);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v = json(&out);
        if running && v["indexed"] == 0 && v["vectors"]["documents"].as_u64().is_some_and(|d| d > 0 && d < 64) {
            killed_while_embedding += 1;
        }
        let out = run_with_model(&["--config", s(&cfg), "index", "--index", s(&idx), "--json", s(&corpus)], &model);
        let v = json(&out);
        assert!(v["vectors"].is_null(), "every document has its vectors: {v}");
        assert_eq!(passages(&idx), expected, "the same passages as a clean run, none twice (kill at {delay_ms} ms)");
        let out = run_with_model(
            &["search", "--index", s(&idx), "--json", "--mode", "semantic", "--limit", "100", "comités de gestion"],
            &model,
        );
        let r = json(&out);
        let ids: std::collections::HashSet<&str> =
            r["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), r["hits"].as_array().unwrap().len(), "no document twice");
        assert!(ids.len() >= 10, "{r}");
    }
    assert!(killed_while_embedding >= 1, "no kill landed between commits of the vector phase");
}
