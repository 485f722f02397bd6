//! A server killed with SIGKILL while uploads go on restarts with every document it
//! acknowledged, and an index that opens.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::util::{self, get, http, multipart, s, wait_for};

const TOKEN: &str = "durability-test-token";

fn serve(dir: &std::path::Path, sample: &std::path::Path, port: u16, log: &std::path::Path) -> util::Kill {
    let child = Command::new(util::bin())
        .args(["serve", "--index", s(&dir.join("idx")), "--addr", &format!("127.0.0.1:{port}")])
        .args(["--sample", s(sample), "--api-token", TOKEN])
        .current_dir(util::root())
        .env("WASH_LESSONS_NO_MODEL", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    util::Kill(child)
}

#[test]
fn a_server_killed_during_uploads_keeps_every_acknowledged_document() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = tmp.path().join("sample");
    std::fs::create_dir_all(&sample).unwrap();
    std::fs::write(sample.join("one.md"), "# Boreholes\n\nThe borehole pumps stopped when the diesel ran out.\n")
        .unwrap();
    let port = util::free_port();
    let log = tmp.path().join("serve-1.log");
    let mut server = serve(tmp.path(), &sample, port, &log);
    wait_for("the server", 60, &log, || get(port, "/api/health").filter(|(s, _)| *s == 200));

    // Uploads one after another from another thread, each with a word of its own.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let uploader = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            for i in 0..400 {
                let word = format!("kioskword{i}x");
                let text = format!("# Kiosk {i}\n\nKiosk {i} closed when its operator left; {word} was its name.\n");
                let (ctype, body) = multipart(&[("file", Some(&format!("kiosk-{i}.md")), text.as_bytes())]);
                let auth = format!("Bearer {TOKEN}");
                match http(port, "POST", "/api/documents", &[("Content-Type", &ctype), ("Authorization", &auth)], &body)
                {
                    Some((201, r)) => acked.lock().unwrap().push((r["id"].as_str().unwrap().to_string(), word)),
                    _ => return,
                }
            }
        })
    };
    wait_for("some uploads", 120, &log, || (acked.lock().unwrap().len() >= 12).then_some(()));
    server.0.kill().unwrap(); // SIGKILL, mid-upload most likely
    server.0.wait().unwrap();
    uploader.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 12);

    let log2 = tmp.path().join("serve-2.log");
    let _again = serve(tmp.path(), &sample, port, &log2);
    let (_, h) = wait_for("the restarted server", 60, &log2, || get(port, "/api/health").filter(|(s, _)| *s == 200));
    assert!(h["documents"].as_u64().unwrap() > acked.len() as u64, "{h}");
    for (id, word) in &acked {
        let (status, d) = get(port, &format!("/api/documents/{id}")).unwrap();
        assert_eq!(status, 200, "acknowledged {id} is gone: {d}");
        let (_, r) = get(port, &format!("/api/search?q={word}&mode=keyword")).unwrap();
        assert_eq!(r["total"], 1, "{word}: {r}");
    }
}
