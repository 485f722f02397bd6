//! Helpers shared by the integration tests.

#![allow(dead_code)]

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

/// Runs the binary with `args` in the repository root.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).current_dir(root()).output().expect("binary runs")
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
