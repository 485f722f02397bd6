//! `wash-lessons worker`: the extraction worker that `index` and `serve` start. Reads one JSON
//! request per line on stdin, answers one JSON line on stdout.
//!
//! For the isolation tests only: when `WASH_TEST_FAULTS=1` is set, a file whose content starts
//! with `WASH-TEST-FAULT: KIND` makes the worker misbehave on purpose (`panic`, `abort`, `hang`,
//! `oom`, `stack`), as a hostile file would. Without the variable such a file is plain text.

use crate::config::Config;
use crate::enrich::Enricher;
use crate::extract::Limits;
use crate::ingest::{self, Job, WorkerResponse};

use super::exit;

fn fault(req: &Job) {
    if std::env::var_os("WASH_TEST_FAULTS").is_none() {
        return;
    }
    let Ok(head) = std::fs::read(&req.path).map(|b| b.into_iter().take(64).collect::<Vec<u8>>()) else { return };
    let head = String::from_utf8_lossy(&head);
    let Some(kind) = head.strip_prefix("WASH-TEST-FAULT: ") else { return };
    match kind.split_whitespace().next().unwrap_or("") {
        "panic" => panic!("injected panic"),
        "abort" => std::process::abort(),
        "hang" => loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        },
        "oom" => {
            let mut v: Vec<Vec<u8>> = Vec::new();
            loop {
                v.push(vec![1u8; 64 << 20]);
            }
        }
        "stack" => {
            fn deep(n: u64) -> u64 {
                if n == u64::MAX {
                    return 0;
                }
                let pad = [n; 64];
                std::hint::black_box(&pad);
                deep(n + 1) + pad[0]
            }
            deep(0);
        }
        _ => {}
    }
}

pub fn run(config: &Config) -> i32 {
    let enricher = Enricher::new(config);
    let limits = Limits::from(&config.settings.extract);
    let result = ingest::serve_requests(|req, heartbeat| {
        fault(req);
        match ingest::process(req, &enricher, &limits, heartbeat) {
            Ok(r) => WorkerResponse::Ok(Box::new(r)),
            Err(e) => WorkerResponse::Err(e.to_string()),
        }
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => super::fatal(format!("worker: {e}")),
    }
}
