//! The API against its own OpenAPI document, as a real client reads it: schemathesis (PyPI,
//! installed by .ci/run) runs all its checks and all its phases (examples, coverage, fuzzing,
//! stateful: uploads followed by their links) against a served copy of corpus-sample with an
//! admin key, and with the sentence encoder when it can be had (every mode then). Any finding
//! fails the test. The one allowance, and why, is in tests/data/schemathesis.toml.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, s};

fn health(port: u16) -> Option<serde_json::Value> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(c, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut raw = String::new();
    c.read_to_string(&mut raw).ok()?;
    serde_json::from_str(raw.split_once("\r\n\r\n")?.1).ok()
}

#[test]
fn schemathesis_finds_nothing_the_openapi_document_does_not_promise() {
    let test = "api_contract::schemathesis_finds_nothing_the_openapi_document_does_not_promise";
    let Some(st) = util::tool(test, "st", "schemathesis from PyPI: python3 -m pip install schemathesis==4.32.5", &[])
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let port = util::free_port();
    let token = "contract-test-key-0123456789";
    let model = util::model_if_available();
    let mut serve = util::command();
    serve
        .args(["serve", "--index", s(&tmp.path().join("idx")), "--addr", &format!("127.0.0.1:{port}")])
        .args(["--sample", s(&util::corpus()), "--api-token", token, "--learn-every-secs", "0"])
        .current_dir(util::root())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(tmp.path().join("serve.log")).unwrap());
    if let Some(m) = &model {
        serve.env_remove("WASH_LESSONS_NO_MODEL").args(["--model", s(m)]);
    }
    let _server = util::Kill(serve.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        // With the encoder, wait for it to be in use (every mode in the document).
        if health(port).is_some_and(|h| h["semantic"] == model.is_some()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not come up: {}",
            std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = Command::new(st)
        .arg("--config-file")
        .arg(util::root().join("tests/data/schemathesis.toml"))
        .args(["run", &format!("http://127.0.0.1:{port}/api/openapi.json"), "--checks", "all"])
        .args(["-H", &format!("Authorization: Bearer {token}"), "--max-examples", "30", "--seed", "1"])
        .args(["--generation-database", "none", "--no-color"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("generated") || l.contains("Selected") || l.contains("Tested") || l.contains("phase"))
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "schemathesis ({} encoder): {}",
        if model.is_some() { "with the" } else { "without the" },
        summary.join(" | ")
    );
    assert!(out.status.success(), "schemathesis found something:\n{said}\n{}", String::from_utf8_lossy(&out.stderr));
}
