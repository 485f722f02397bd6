//! Extraction runs in worker processes: a file that panics, aborts, overflows the stack, hangs or
//! eats memory ends only its worker, is reported with the reason, and every good file still goes
//! in. The faults are injected by the worker's test hook (`WASH_TEST_FAULTS=1`).

use crate::util::{self, s};

#[test]
fn hostile_files_end_only_their_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = util::settings_with(
        tmp.path(),
        &[("timeout_secs = 60", "timeout_secs = 3"), ("memory_limit_mb = 1024", "memory_limit_mb = 400")],
    );

    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for kind in ["panic", "abort", "hang", "oom", "stack"] {
        std::fs::write(docs.join(format!("fault-{kind}.txt")), format!("WASH-TEST-FAULT: {kind}\n")).unwrap();
    }
    for i in 0..4 {
        std::fs::write(
            docs.join(format!("good-{i}.md")),
            format!("# Note {i}\n\nThe borehole at site {i} was repaired by the area mechanic.\n"),
        )
        .unwrap();
    }
    std::fs::copy(
        util::corpus().join("evaluations/malawi-afridev-handpump-sustainability-evaluation-2014.pdf"),
        docs.join("good.pdf"),
    )
    .unwrap();

    let out = util::command()
        .args(["--config", s(&cfg), "index", "--index", s(&tmp.path().join("idx")), "--json", s(&docs)])
        .env("WASH_TEST_FAULTS", "1")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(v["indexed"], 5, "every good file went in: {v}");
    assert_eq!(v["failed"], 5, "{v}");
    let reason = |name: &str| -> String {
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == name)
            .unwrap_or_else(|| panic!("{name} not reported: {v}"))["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("fault-panic.txt").starts_with("crashed"), "{}", reason("fault-panic.txt"));
    assert!(reason("fault-panic.txt").contains("injected panic"), "{}", reason("fault-panic.txt"));
    assert!(reason("fault-abort.txt").starts_with("crashed: killed by signal 6"), "{}", reason("fault-abort.txt"));
    assert!(reason("fault-stack.txt").starts_with("crashed"), "{}", reason("fault-stack.txt"));
    assert_eq!(reason("fault-hang.txt"), "timeout after 3 s");
    assert_eq!(reason("fault-oom.txt"), "memory limit 400 MiB exceeded");

    // Without the test hook the same files are ordinary text notes.
    let out = util::command()
        .args(["--config", s(&cfg), "index", "--index", s(&tmp.path().join("idx2")), "--json", s(&docs)])
        .env_remove("WASH_TEST_FAULTS")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indexed"], 10, "{v}");
}
