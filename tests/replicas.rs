//! Read replicas: several `serve --read-only` over one index directory while another process
//! writes it. They follow its commits, take no writes, and need the index to exist.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{self, get, http, s, wait_for};

/// A read replica on a free port over `index`.
fn replica(dir: &Path, index: &Path) -> (util::Kill, u16, std::path::PathBuf) {
    let port = util::free_port();
    let log = dir.join(format!("replica-{port}.log"));
    let child = Command::new(util::bin())
        .args(["serve", "--read-only", "--index", s(index), "--addr", &format!("127.0.0.1:{port}")])
        .current_dir(util::root())
        .env("WASH_LESSONS_NO_MODEL", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (util::Kill(child), port, log)
}

fn total(port: u16, q: &str) -> Option<u64> {
    get(port, &format!("/api/search?q={q}&mode=keyword")).and_then(|(_, r)| r["total"].as_u64())
}

#[test]
fn read_replicas_follow_the_writer_and_take_no_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let (docs, index) = (tmp.path().join("docs"), tmp.path().join("idx"));
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("chlorine.md"),
        "# Chlorine dispensers\n\nThe dispensers at the springs stood empty once the chlorinator supply contract lapsed.\n",
    )
    .unwrap();
    let out = util::run(&["index", "--index", s(&index), s(&docs)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let replicas = [replica(tmp.path(), &index), replica(tmp.path(), &index)];
    for (_, port, log) in &replicas {
        let (status, h) = wait_for("a replica", 60, log, || get(*port, "/api/health"));
        assert_eq!(status, 200);
        assert_eq!((h["documents"].as_u64(), h["read_only"].as_bool()), (Some(1), Some(true)), "{h}");
        assert_eq!(total(*port, "chlorinator"), Some(1));
    }

    // The writer, another process, adds a document and commits while the replicas serve.
    std::fs::write(
        docs.join("slabs.md"),
        "# Latrine slabs\n\nMasons cast sanplat slabs for two seasons; the moulds were lost when the project left.\n",
    )
    .unwrap();
    let out = util::run(&["index", "--index", s(&index), s(&docs)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (_, port, log) in &replicas {
        wait_for("the writer's commit on a replica", 30, log, || total(*port, "sanplat").filter(|&n| n == 1));
        assert_eq!(total(*port, "chlorinator"), Some(1));
    }

    // Writes are refused with their own code, keys or not.
    let (_, port, _) = &replicas[0];
    let (status, r) =
        http(*port, "POST", "/api/documents", &[("Authorization", "Bearer anything")], b"not a form").unwrap();
    assert_eq!((status, r["error"]["code"].as_str()), (403, Some("read_only")), "{r}");
    let (_, hit) = get(*port, "/api/search?q=sanplat&mode=keyword").unwrap();
    let id = hit["hits"][0]["id"].as_str().unwrap().to_string();
    let (status, r) = http(*port, "DELETE", &format!("/api/documents/{id}"), &[], b"").unwrap();
    assert_eq!((status, r["error"]["code"].as_str()), (403, Some("read_only")), "{r}");
    assert_eq!(total(*port, "sanplat"), Some(1), "nothing was deleted");
}

#[test]
fn a_read_replica_needs_an_existing_index() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing-here");
    let out = util::run(&["serve", "--read-only", "--index", s(&missing), "--addr", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no index in"), "{said}");
    assert!(!missing.exists(), "a replica creates nothing");
}
