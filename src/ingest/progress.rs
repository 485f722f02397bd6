//! The progress bar of a run on a terminal: files and MB per second, ETA, failures so far.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing when not on a terminal or not asked for.
pub struct Progress {
    bar: Option<ProgressBar>,
    bytes_total: u64,
    bytes: std::cell::Cell<u64>,
    started: std::time::Instant,
}

impl Progress {
    /// A bar for `files` files of `bytes` bytes in all.
    pub fn new(enabled: bool, files: u64, bytes: u64) -> Progress {
        let bar = (enabled && files > 0 && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(files), ProgressDrawTarget::stderr_with_hz(4));
            b.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} files, {per_sec}, ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress { bar, bytes_total: bytes, bytes: std::cell::Cell::new(0), started: std::time::Instant::now() }
    }

    /// One more file of `bytes` bytes done; `failures` so far.
    pub fn update(&self, files: u64, bytes: u64, failures: usize) {
        let Some(b) = &self.bar else { return };
        self.bytes.set(self.bytes.get() + bytes);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        b.set_message(format!(
            "{:.1} MB/s, {} of {} MB, {failures} failed",
            self.bytes.get() as f64 / 1e6 / secs,
            self.bytes.get() >> 20,
            self.bytes_total >> 20
        ));
        b.inc(files);
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
