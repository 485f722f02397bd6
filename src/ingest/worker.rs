//! Extraction in worker processes (the same binary, `wash-lessons worker`), so that a panic, an
//! abort, a stack overflow, an endless loop or a memory bomb in one file ends only that worker.
//! Each worker handles many files, one JSON line in and one JSON line out per file; a worker that
//! dies or overruns its wall-clock timeout is replaced, and the file is reported with the reason.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Job;
use crate::document::Record;

/// How to start workers.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// The wash-lessons binary.
    pub exe: PathBuf,
    /// The configuration folder given on the command line, if any.
    pub config_dir: Option<PathBuf>,
    /// Wall-clock limit per file.
    pub timeout: Duration,
    /// Address-space limit of a worker, in bytes.
    pub memory_limit: u64,
}

/// A worker's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    /// The enriched record.
    Ok(Box<Record>),
    /// Why the file could not be extracted.
    Err(String),
    /// Still working (sent before each slow step, such as an OCR'd page): the wall-clock limit
    /// starts again.
    Busy,
}

/// A running worker process.
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Option<String>>,
    stderr: Arc<Mutex<String>>,
}

fn keep_tail(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = s.len() - max;
        while !s.is_char_boundary(cut) {
            cut += 1;
        }
        s.drain(..cut);
    }
}

impl Worker {
    /// Starts a worker.
    pub fn spawn(iso: &Isolation) -> std::io::Result<Worker> {
        let mut cmd = Command::new(&iso.exe);
        if let Some(c) = &iso.config_dir {
            cmd.arg("--config").arg(c);
        }
        cmd.arg("worker")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let limit = iso.memory_limit;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let rl = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: limit as libc::rlim_t };
                    if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send(None);
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
                keep_tail(&mut s, 4096);
            }
        });
        Ok(Worker { child, stdin, lines, stderr })
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Extracts one file. `Err((reason, alive))`: the reason, and whether the worker survived.
    pub fn process(&mut self, iso: &Isolation, job: &Job) -> Result<Record, (String, bool)> {
        let req = serde_json::to_string(job).map_err(|e| (e.to_string(), true))?;
        if writeln!(self.stdin, "{req}").and_then(|_| self.stdin.flush()).is_err() {
            return Err((self.death_reason(iso), false));
        }
        loop {
            return match self.lines.recv_timeout(iso.timeout) {
                Ok(Some(line)) => match serde_json::from_str::<Response>(&line) {
                    Ok(Response::Ok(r)) => Ok(*r),
                    Ok(Response::Err(e)) => Err((e, true)),
                    Ok(Response::Busy) => continue,
                    Err(e) => Err((format!("crashed: unreadable answer from the worker ({e})"), false)),
                },
                Ok(None) | Err(RecvTimeoutError::Disconnected) => Err((self.death_reason(iso), false)),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    Err((format!("timeout after {} s", iso.timeout.as_secs_f64()), false))
                }
            };
        }
    }

    /// Why the worker died, from its exit status and the end of what it printed.
    fn death_reason(&mut self, iso: &Isolation) -> String {
        let status = self.child.wait().ok();
        // Give the stderr reader a moment to drain.
        std::thread::sleep(Duration::from_millis(50));
        let err = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        if err.contains("memory allocation of")
            || err.contains("capacity overflow")
            || err.contains("Cannot allocate memory")
        {
            return format!("memory limit {} MiB exceeded", iso.memory_limit >> 20);
        }
        // A panic prints "thread '…' panicked at FILE:LINE:" and the message on the next line.
        let lines: Vec<&str> = err.lines().collect();
        let panic = lines.iter().position(|l| l.contains("panicked at")).and_then(|i| lines.get(i + 1));
        let last = match panic {
            Some(msg) => format!("panic: {}", msg.trim()),
            None => lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("note:"))
                .unwrap_or(&"")
                .trim()
                .to_string(),
        };
        let how = match status {
            #[cfg(unix)]
            Some(s) if std::os::unix::process::ExitStatusExt::signal(&s).is_some() => {
                format!("killed by signal {}", std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0))
            }
            Some(s) => format!("exit status {}", s.code().unwrap_or(-1)),
            None => "no exit status".to_string(),
        };
        if last.is_empty() {
            format!("crashed: {how}")
        } else {
            format!("crashed: {how}: {last}")
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(resp: &Response) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, resp)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The loop a worker process runs: one request line in, one response line out (after any number
/// of `Busy` lines, sent through the heartbeat given to `handle`), until stdin ends.
pub fn serve_requests(handle: impl Fn(&Job, &dyn Fn()) -> Response) -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let heartbeat = || {
        let _ = send(&Response::Busy);
    };
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Job>(&line) {
            Ok(req) => handle(&req, &heartbeat),
            Err(e) => Response::Err(format!("bad request to worker: {e}")),
        };
        send(&resp)?;
    }
    Ok(())
}
