//! Bad inputs are reported per file with the reason, and never stop a run: empty files, random
//! bytes named .pdf or .docx, a truncated DOCX, invalid UTF-8, a folder that cannot be read,
//! and broken PDFs.

use std::path::Path;

use crate::util::{self, pdf, run_json, s};

fn junk(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

fn good_pdf() -> Vec<u8> {
    let items = vec![
        pdf::Item::Heading(1, "Borehole rehabilitation in Kitui".into()),
        pdf::Item::Para(
            "The sand dams recharged the shallow wells, but the handpumps failed for lack of spare parts.".into(),
        ),
    ];
    pdf::write_pdf(&items, &pdf::Info { title: "Kitui boreholes".into(), ..Default::default() })
}

fn error_for<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no error reported for {name}: {v}"))["error"]
        .as_str()
        .unwrap()
}

#[test]
fn bad_files_are_reported_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    std::fs::create_dir(&dir).unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    w("empty.txt", b"");
    w("random.pdf", &junk(5000, 7));
    w("random.docx", &junk(5000, 9));
    let docx =
        std::fs::read(util::corpus().join("reports/ghana-small-town-piped-water-systems-performance-review-2019.docx"))
            .unwrap();
    w("truncated.docx", &docx[..docx.len() / 3]);
    let pdf = good_pdf();
    w("truncated.pdf", &pdf[..pdf.len() / 2]);
    w("invalid-utf8.txt", b"Latrines \xe9vacu\xe9es au Burkina: la fosse \xe9tait pleine.\n");
    w("good.pdf", &pdf);
    w("good.md", b"# Notes\n\nThe kiosk operators in Lusaka stopped paying the utility.\n");
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("hidden.md"), "# Secret\n").unwrap();
    set_mode(&locked, 0o000);

    let index = tmp.path().join("idx");
    let (code, v) = run_indexer(&index, &dir, tmp.path());
    set_mode(&locked, 0o755);

    assert_eq!(code, 2, "exit code 2 when some files failed: {v}");
    assert_eq!(v["indexed"], 3, "good.pdf, good.md and invalid-utf8.txt go in: {v}");
    assert!(error_for(&v, "empty.txt").contains("empty"));
    assert!(error_for(&v, "random.pdf").contains("not a PDF"));
    assert!(error_for(&v, "random.docx").contains("not a DOCX"));
    assert!(!error_for(&v, "truncated.docx").is_empty());
    assert!(error_for(&v, "truncated.pdf").contains("PDF"));
    assert!(error_for(&v, "locked").contains("ermission"), "{v}");
    assert_eq!(v["failed"].as_u64().unwrap() as usize, v["errors"].as_array().unwrap().len());
}

#[test]
fn unwritable_index_or_bad_config_is_fatal_with_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = util::run(&["index", "--index", s(&file), s(&util::corpus())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--index"));

    let cfg = tmp.path().join("cfg");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(cfg.join("settings.toml"), "version = 1\nbogus = true\n").unwrap();
    let out = util::run(&["--config", s(&cfg), "index", "--index", s(&tmp.path().join("i")), s(&util::corpus())]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("settings.toml") && err.contains("line"), "{err}");

    // A broken taxonomy is read only when there is something to extract, and then stops the run.
    let cfg2 = tmp.path().join("cfg2");
    std::fs::create_dir(&cfg2).unwrap();
    std::fs::write(cfg2.join("taxonomy.toml"), "version = 1\n[[facet]]\npath = 5\n").unwrap();
    let out = util::run(&["--config", s(&cfg2), "index", "--index", s(&tmp.path().join("i2")), s(&util::corpus())]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("taxonomy.toml"), "{err}");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `index --json`, as an unprivileged user when the tests run as root (as CI does), so that
/// a folder without read permission really cannot be read.
fn run_indexer(index: &Path, dir: &Path, tmp: &Path) -> (i32, serde_json::Value) {
    if !is_root() {
        return run_json(&["index", "--index", s(index), "--json", s(dir)]);
    }
    set_mode(tmp, 0o777);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(util::bin())
        .args(["index", "--index", s(index), "--json", s(dir)])
        .current_dir(tmp)
        .output()
        .expect("setpriv runs");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), v)
}
