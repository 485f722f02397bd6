//! Bulk indexing of archives: incremental runs (unchanged, changed, moved, deleted, failed and
//! retried), zip archives, include/exclude patterns, hidden files, symbolic link loops, the
//! failure report, crash safety under SIGKILL, and `--watch`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use wash_lessons::index::WashIndex;
use wash_lessons::ingest::manifest;

use crate::util::{self, s};

fn note(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, format!("# {name}\n\n{body}\n")).unwrap();
}

fn index(cfg: Option<&Path>, idx: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&str> = Vec::new();
    if let Some(c) = cfg {
        args.extend(["--config", s(c)]);
    }
    args.extend(["index", "--json", "--index", s(idx)]);
    args.extend(extra);
    let (code, v) = util::run_json(&args);
    assert!(code == 0 || code == 2, "exit {code}: {v}");
    v
}

/// Every indexed source key with its document id, read from the index; also checks that the
/// index holds exactly one document per key (no duplicates).
fn contents(idx: &Path) -> BTreeMap<String, String> {
    let i = WashIndex::open(idx).expect("index opens");
    let searcher = i.reader(false).unwrap().searcher();
    let m = manifest::load(&searcher).unwrap();
    assert_eq!(searcher.num_docs() as usize, m.len(), "one document per file");
    let root = std::fs::canonicalize(idx.parent().unwrap()).unwrap();
    m.into_iter().map(|(k, e)| (k.strip_prefix(&*root.to_string_lossy()).unwrap_or(&k).to_string(), e.id)).collect()
}

fn hits(idx: &Path, q: &str) -> Vec<String> {
    let (_, v) = util::run_json(&["search", "--json", "--index", s(idx), q]);
    v["hits"].as_array().unwrap().iter().map(|h| h["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn incremental_runs_follow_changes_moves_deletions_and_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    let idx = tmp.path().join("idx");
    note(&docs, "a/kiosk.md", "Water kiosks in Kisumu closed when the operators were not paid.");
    note(&docs, "a/latrine.md", "Latrine slabs cracked in Mzuzu after the first rains.");
    note(&docs, "b/spring.md", "Spring boxes in Gulu silted up when nobody cleaned the intake.");
    note(&docs, "b/tariff.md", "The tariff committee in Tamale stopped meeting after two years.");
    std::fs::write(docs.join("b/broken.pdf"), b"%PDF-1.4\n1 0 obj <<").unwrap();
    let report = tmp.path().join("failures.jsonl");

    let v = index(None, &idx, &["--report", s(&report), s(&docs)]);
    assert_eq!((v["indexed"].as_u64(), v["failed"].as_u64()), (Some(4), Some(1)), "{v}");
    let lines = std::fs::read_to_string(&report).unwrap();
    let line: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(line["path"], "b/broken.pdf", "{lines}");
    assert!(line["error"].as_str().unwrap().contains("PDF"), "{lines}");
    let first = contents(&idx);

    // Nothing changed: nothing read, and the failed file is not tried again.
    let v = index(None, &idx, &[s(&docs)]);
    assert_eq!(
        (v["unchanged"].as_u64(), v["failed_before"].as_u64(), v["failed"].as_u64()),
        (Some(4), Some(1), Some(0))
    );
    let v = index(None, &idx, &["--retry-failed", s(&docs)]);
    assert_eq!(v["failed"], 1, "{v}");

    // Move one, rename one, delete one, change one, touch one; fix the broken file.
    std::fs::create_dir_all(docs.join("c")).unwrap();
    std::fs::rename(docs.join("a/kiosk.md"), docs.join("c/kiosk-moved.md")).unwrap();
    std::fs::remove_file(docs.join("a/latrine.md")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    note(&docs, "b/spring.md", "Spring boxes in Gulu were rebuilt with a lockable cover and a caretaker.");
    let tariff = std::fs::read(docs.join("b/tariff.md")).unwrap();
    std::fs::write(docs.join("b/tariff.md"), tariff).unwrap(); // same content, new time
    note(&docs, "b/broken.pdf", "Not a PDF after all: notes on chlorine dispensers in Kasese.");
    let v = index(None, &idx, &[s(&docs)]);
    assert_eq!(
        (
            v["moved"].as_u64(),
            v["removed"].as_u64(),
            v["indexed"].as_u64(),
            v["unchanged"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(2), Some(1), Some(0)),
        "{v}"
    );
    let after = contents(&idx);
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(after.keys().any(|k| k.ends_with("/c/kiosk-moved.md")) && !after.keys().any(|k| k.ends_with("kiosk.md")));
    assert_ne!(first.len(), 0);
    assert_eq!(hits(&idx, "Kisumu operators"), vec!["c/kiosk-moved.md"]);
    assert!(hits(&idx, "Mzuzu slabs").is_empty());
    // The changed text is found first (a document tagged with the concept of a query word may
    // follow it).
    assert_eq!(hits(&idx, "caretaker lockable").first().map(String::as_str), Some("b/spring.md"));
    assert_eq!(hits(&idx, "chlorine dispensers Kasese"), vec!["b/broken.pdf"]);
    let (_, stats) = util::run_json(&["stats", "--json", "--index", s(&idx)]);
    assert_eq!(stats["last_run"]["moved"], 1, "{}", stats["last_run"]);
    assert_eq!(stats["last_run"]["removed"], 1);

    // A root that is gone (an unmounted share) removes nothing.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::rename(&docs, &elsewhere).unwrap();
    let out = util::run(&["index", "--json", "--index", s(&idx), s(&docs)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(contents(&idx).len(), 4);
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn archives_patterns_hidden_files_and_link_loops() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    let idx = tmp.path().join("idx");
    let inner =
        zip_of(&[("minutes.md", b"# Minutes\n\nThe learning alliance in Nakuru agreed on a desludging tariff.")]);
    let pdf =
        std::fs::read(util::corpus().join("evaluations/malawi-afridev-handpump-sustainability-evaluation-2014.pdf"))
            .unwrap();
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("archive.zip"),
        zip_of(&[("reports/afridev.pdf", &pdf), ("old/nested.zip", &inner), ("photo.jpg", b"\xff\xd8")]),
    )
    .unwrap();
    std::fs::write(docs.join("bomb.zip"), zip_of(&[("zeros.txt", &vec![b'0'; 64 << 20])])).unwrap();
    note(&docs, "drafts/draft.md", "Draft about boreholes in Wajir.");
    note(&docs, "final/final.md", "Final report about boreholes in Wajir.");
    note(&docs, ".hidden/secret.md", "Hidden notes about boreholes in Wajir.");
    std::os::unix::fs::symlink(&docs, docs.join("final/loop")).unwrap();

    let v = index(None, &idx, &["--exclude", "drafts", s(&docs)]);
    let keys: Vec<String> = contents(&idx).into_keys().collect();
    let paths: Vec<&str> = keys.iter().map(|k| k.rsplit("/docs/").next().unwrap()).collect();
    assert_eq!(
        paths,
        vec!["archive.zip!/old/nested.zip!/minutes.md", "archive.zip!/reports/afridev.pdf", "final/final.md"],
        "{v}"
    );
    let bomb = v["errors"].as_array().unwrap().iter().find(|e| e["path"] == "bomb.zip").expect("bomb reported");
    assert!(bomb["error"].as_str().unwrap().contains("zip bomb"), "{bomb}");
    assert_eq!(hits(&idx, "desludging tariff Nakuru"), vec!["archive.zip!/old/nested.zip!/minutes.md"]);
    assert!(hits(&idx, "Afridev").contains(&"archive.zip!/reports/afridev.pdf".to_string()));

    // Unchanged archive members are skipped; --hidden and --include change what is picked up.
    let v = index(None, &idx, &["--exclude", "drafts", s(&docs)]);
    assert_eq!((v["indexed"].as_u64(), v["unchanged"].as_u64()), (Some(0), Some(3)), "{v}");
    let idx2 = tmp.path().join("idx2");
    index(None, &idx2, &["--hidden", "--include", "*.md", s(&docs)]);
    let keys: Vec<String> = contents(&idx2).into_keys().collect();
    assert!(keys.iter().any(|k| k.ends_with(".hidden/secret.md")), "{keys:?}");
    assert!(keys.iter().all(|k| k.ends_with(".md")), "{keys:?}");
}

/// Kills real runs with SIGKILL at several moments (the first while the index is being created):
/// each time the index opens and searches (the last commit), and the run that follows completes
/// it to exactly what a clean run gives.
#[test]
fn a_killed_run_leaves_a_working_index_and_the_next_run_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = util::settings_with(
        tmp.path(),
        &[("commit_every = 2000", "commit_every = 7"), ("writer_memory_mb = 128", "writer_memory_mb = 32")],
    );
    let docs = tmp.path().join("docs");
    let places = ["Kisumu", "Mzuzu", "Gulu", "Tamale", "Kaolack", "Dodoma", "Nakuru", "Wajir", "Kasese", "Lira"];
    for i in 0..600 {
        let place = places[i % places.len()];
        note(
            &docs,
            &format!("f{:02}/note-{i:03}.md", i / 50),
            &format!(
                "Visit {i} to {place}: the handpump committee met and the mechanic replaced the rods. {}",
                "The caretaker kept the records and the tariff was collected monthly. ".repeat(20)
            ),
        );
    }
    let pdf = "evaluations/malawi-afridev-handpump-sustainability-evaluation-2014.pdf";
    std::fs::copy(util::corpus().join(pdf), docs.join("report.pdf")).unwrap();
    let clean = tmp.path().join("clean");
    let v = index(Some(&cfg), &clean, &[s(&docs)]);
    assert_eq!(v["indexed"], 601, "{v}");
    let expected = contents(&clean);

    let idx = tmp.path().join("idx");
    let mut kills = 0;
    let mut early = Vec::new();
    for delay_ms in [10u64, 40, 100, 200, 350, 600] {
        let mut child = util::command()
            .args(["--config", s(&cfg), "index", "--json", "--index", s(&idx), s(&docs)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        match child.try_wait().unwrap() {
            None => kills += 1,
            Some(status) => {
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
                early.push(format!("{delay_ms} ms: {status}: {err}"));
            }
        }
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
        if idx.join("meta.json").exists() {
            let got = contents(&idx);
            assert!(got.iter().all(|(k, id)| expected.get(k) == Some(id)), "only real documents after a kill");
            let (code, _) = util::run_json(&["search", "--json", "--index", s(&idx), "handpump"]);
            assert_eq!(code, 0, "the index searches after a kill at {delay_ms} ms");
        }
    }
    assert!(kills >= 2, "runs were killed mid-way ({kills}); finished before: {early:?}");
    let v = index(Some(&cfg), &idx, &[s(&docs)]);
    assert_eq!(v["failed"], 0, "{v}");
    assert_eq!(contents(&idx), expected, "the completed index equals a clean run's");
    let (_, a) = util::run_json(&["search", "--json", "--index", s(&idx), "--limit", "100", "caretaker Gulu"]);
    let (_, b) = util::run_json(&["search", "--json", "--index", s(&clean), "--limit", "100", "caretaker Gulu"]);
    assert_eq!(a["total"], b["total"]);
}

#[test]
fn watch_follows_additions_renames_and_deletions() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    let idx = tmp.path().join("idx");
    note(&docs, "first.md", "Rainwater tanks in Machakos leaked at the joints.");
    let mut child = util::command()
        .args(["index", "--watch", "--debounce-ms", "200", "--json", "--index", s(&idx), s(&docs)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The files that hold the words come first and the ones gone are not found (a document
    // tagged with the facet of a query word may follow).
    let wait_for = |q: &str, first: &[&str], gone: &[&str]| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = if idx.join("meta.json").exists() { hits(&idx, q) } else { vec![] };
            let top: Vec<&str> = got.iter().take(first.len()).map(String::as_str).collect();
            if top == first && !got.iter().any(|g| gone.contains(&g.as_str())) {
                return;
            }
            assert!(Instant::now() < deadline, "waiting for {q:?} -> {first:?} without {gone:?}, got {got:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("Machakos tanks", &["first.md"], &[]);
    note(&docs, "sub/second.md", "Sand dams in Kitui filled with silt after two seasons.");
    wait_for("Kitui sand dams", &["sub/second.md"], &[]);
    std::fs::rename(docs.join("sub/second.md"), docs.join("renamed.md")).unwrap();
    wait_for("Kitui sand dams", &["renamed.md"], &["sub/second.md"]);
    std::fs::remove_file(docs.join("first.md")).unwrap();
    wait_for("Machakos tanks", &[], &["first.md"]);
    let _ = child.kill();
    let _ = child.wait();
}
