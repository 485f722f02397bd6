//! Finding the documents under the roots of a run: folders walked recursively (symbolic links
//! followed, loops detected and skipped), hidden entries skipped unless asked, include and exclude
//! glob patterns applied to paths relative to the root, and zip archives opened into members.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::FileError;
use crate::config::{ArchiveSettings, WalkSettings};
use crate::error::{Error, Result};
use crate::extract::{self, archive};
use crate::index::FileState;

/// What a run picks up.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    include: GlobSet,
    has_include: bool,
    exclude: GlobSet,
    hidden: bool,
    follow_symlinks: bool,
    archives: ArchiveSettings,
}

fn globs(patterns: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = Glob::new(p).map_err(|e| Error::Config(format!("bad glob pattern {p:?}: {e}")))?;
        b.add(g);
        // "drafts" or "*.pdf" also match below any folder.
        if !p.contains('/') {
            b.add(Glob::new(&format!("**/{p}")).map_err(|e| Error::Config(format!("bad glob pattern {p:?}: {e}")))?);
        }
    }
    b.build().map_err(|e| Error::Config(format!("bad glob patterns: {e}")))
}

impl WalkOptions {
    /// From the settings plus the patterns given for this run.
    pub fn new(
        walk: &WalkSettings,
        archives: &ArchiveSettings,
        include: &[String],
        exclude: &[String],
        hidden: bool,
    ) -> Result<WalkOptions> {
        let inc: Vec<String> = walk.include.iter().chain(include).cloned().collect();
        let exc: Vec<String> = walk.exclude.iter().chain(exclude).cloned().collect();
        Ok(WalkOptions {
            include: globs(&inc)?,
            has_include: !inc.is_empty(),
            exclude: globs(&exc)?,
            hidden: hidden || walk.hidden,
            follow_symlinks: walk.follow_symlinks,
            archives: archives.clone(),
        })
    }

    fn wanted(&self, rel: &str) -> bool {
        !self.exclude.is_match(rel) && (!self.has_include || self.include.is_match(rel))
    }
}

/// A document found under a root: a file, or a member of a zip archive.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The file on disk (the archive, for a member).
    pub path: PathBuf,
    /// The member's path inside the archive (`inner/a.pdf`, `x.zip!/b.docx`).
    pub member: Option<String>,
    /// Path shown to users: relative to the root (`sub/a.pdf`, `sub/archive.zip!/inner/a.pdf`).
    pub display: String,
    /// Canonical source key: the canonical path, `!/MEMBER` appended for a member. Its hash is
    /// the document id.
    pub key: String,
    /// Size and modification time (for a member: inflated size, and the CRC-32 as both time
    /// and hash).
    pub state: FileState,
}

fn display_path(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// The state of a file on disk (hash unknown).
pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    let m = std::fs::metadata(path)?;
    let mtime_ns =
        m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_nanos() as u64).unwrap_or(0);
    Ok(FileState { size: m.len(), mtime_ns, hash: 0 })
}

/// A root of a run, canonical.
#[derive(Debug, Clone)]
pub struct Root {
    /// As given.
    pub given: PathBuf,
    /// Canonical, when it exists.
    pub canon: Option<PathBuf>,
}

/// Walks `roots`, calling `found` for every candidate; unreadable entries and broken archives
/// become errors. `skip` (the index folder) is never entered.
pub fn walk(
    roots: &[Root],
    skip: Option<&Path>,
    opts: &WalkOptions,
    found: &mut dyn FnMut(Candidate),
    errors: &mut Vec<FileError>,
) {
    let skip = skip.and_then(|s| std::fs::canonicalize(s).ok());
    for root in roots {
        let Some(canon_root) = &root.canon else {
            errors.push(FileError { path: display_path(&root.given), error: "no such file or folder".into() });
            continue;
        };
        if canon_root.is_file() {
            let display = root
                .given
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| display_path(&root.given));
            add_file(canon_root, canon_root, display, opts, found, errors);
            continue;
        }
        let walker = walkdir::WalkDir::new(canon_root)
            .follow_links(opts.follow_symlinks)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.depth() == 0 {
                    return true;
                }
                let name = e.file_name().to_string_lossy();
                if !opts.hidden && name.starts_with('.') {
                    return false;
                }
                if skip.as_deref().is_some_and(|s| e.path() == s || e.path().starts_with(s)) {
                    return false;
                }
                if e.file_type().is_dir() {
                    let rel = display_path(e.path().strip_prefix(canon_root).unwrap_or(e.path()));
                    return !opts.exclude.is_match(&rel) && !opts.exclude.is_match(format!("{rel}/"));
                }
                true
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    let rel = display_path(e.path().strip_prefix(canon_root).unwrap_or(e.path()));
                    // Paths below the canonical root are canonical unless a link was followed.
                    let canon = if e.path_is_symlink() {
                        std::fs::canonicalize(e.path()).unwrap_or_else(|_| e.path().to_path_buf())
                    } else {
                        e.path().to_path_buf()
                    };
                    add_file(e.path(), &canon, rel, opts, found, errors);
                }
                Ok(_) => {}
                Err(e) if e.loop_ancestor().is_some() => {
                    // A symbolic link back to a folder above: its content is walked already.
                    tracing::debug!(path = ?e.path(), "symbolic link loop skipped");
                }
                Err(e) => {
                    let path = e.path().map(|p| display_path(p.strip_prefix(canon_root).unwrap_or(p)));
                    let reason = e.io_error().map(|io| io.to_string()).unwrap_or_else(|| e.to_string());
                    errors.push(FileError {
                        path: path.unwrap_or_else(|| display_path(&root.given)),
                        error: format!("cannot read: {reason}"),
                    });
                }
            }
        }
    }
}

fn add_file(
    path: &Path,
    canon: &Path,
    rel: String,
    opts: &WalkOptions,
    found: &mut dyn FnMut(Candidate),
    errors: &mut Vec<FileError>,
) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".meta.toml") || !opts.wanted(&rel) && !archive::is_archive(path) {
        return;
    }
    if opts.archives.enabled && archive::is_archive(path) {
        if opts.exclude.is_match(&rel) {
            return;
        }
        let keep = |inner: &str| {
            let full = format!("{rel}!/{inner}");
            let last = inner.rsplit("!/").next().unwrap_or(inner);
            extract::is_document_name(last) && opts.wanted(&full)
        };
        match archive::list(path, &opts.archives, &keep) {
            Ok(members) => {
                for m in members {
                    found(Candidate {
                        path: path.to_path_buf(),
                        display: format!("{rel}!/{}", m.path),
                        key: format!("{}!/{}", canon.display(), m.path),
                        member: Some(m.path),
                        state: FileState { size: m.size, mtime_ns: m.crc as u64, hash: m.crc as u64 | 1 << 32 },
                    });
                }
            }
            Err(e) => errors.push(FileError { path: rel, error: e.to_string() }),
        }
        return;
    }
    if !extract::is_candidate(path) {
        return;
    }
    match file_state(path) {
        Ok(state) => found(Candidate {
            path: path.to_path_buf(),
            member: None,
            display: rel,
            key: canon.to_string_lossy().into_owned(),
            state,
        }),
        Err(e) => errors.push(FileError { path: rel, error: e.to_string() }),
    }
}

/// The content hash of a file: the first 8 bytes of its BLAKE3 hash (never 0).
pub fn content_hash(path: &Path) -> std::io::Result<u64> {
    let mut h = blake3::Hasher::new();
    let mut f = std::fs::File::open(path)?;
    std::io::copy(&mut f, &mut h)?;
    let b = h.finalize();
    let v = u64::from_le_bytes(b.as_bytes()[..8].try_into().expect("8 bytes"));
    Ok(v.max(1))
}
