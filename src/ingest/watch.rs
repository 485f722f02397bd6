//! `index --watch`: after the first run, stay running and bring the index up to date whenever
//! files under the roots are added, changed, renamed or deleted. Events are debounced (a burst of
//! changes, such as a folder copied in, becomes one run), and each run is the ordinary
//! incremental run: unchanged files cost a `stat`, moves are re-pointed, deletions removed.

use std::path::PathBuf;
use std::sync::mpsc::channel;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_mini::new_debouncer;

use super::{run_with, FileError, RunOptions, Summary};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::WashIndex;

/// Watches `roots` until the process is stopped, calling `after_run` after every run (the first
/// one included). `debounce` is the quiet time that ends a burst of changes.
pub fn watch(
    idx: &WashIndex,
    config: &Config,
    roots: &[PathBuf],
    opts: &RunOptions,
    debounce: Duration,
    on_error: &(dyn Fn(&FileError) + Sync),
    after_run: &mut dyn FnMut(&Summary),
) -> Result<()> {
    let (tx, rx) = channel();
    let mut debouncer =
        new_debouncer(debounce, tx).map_err(|e| Error::Index(format!("cannot watch for file changes: {e}")))?;
    for r in roots {
        debouncer
            .watcher()
            .watch(r, RecursiveMode::Recursive)
            .map_err(|e| Error::Index(format!("cannot watch {}: {e}", r.display())))?;
    }
    let index_dir = std::fs::canonicalize(&idx.dir).unwrap_or_else(|_| idx.dir.clone());
    after_run(&run_with(idx, config, roots, opts, on_error)?);
    loop {
        let Ok(batch) = rx.recv() else { return Ok(()) };
        let relevant = match batch {
            Ok(events) => events.iter().any(|e| !e.path.starts_with(&index_dir)),
            Err(e) => {
                tracing::warn!(error = %e, "file watcher error; running a full check");
                true
            }
        };
        // Drain what else arrived meanwhile: one run covers it all.
        while rx.try_recv().is_ok() {}
        if relevant {
            after_run(&run_with(idx, config, roots, opts, on_error)?);
        }
    }
}
