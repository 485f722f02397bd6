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
    if cfg!(unix) {
        p.to_string_lossy().into_owned()
    } else {
        p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }
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
        let mut linked = std::collections::HashSet::new();
        walk_dir(canon_root, canon_root, "", skip.as_deref(), opts, &mut linked, found, errors);
    }
}

/// Walks one folder with walkdir, which reads file types from the directory listing (no `stat`
/// per entry): symbolic links are not followed by walkdir but here, so that a regular file costs
/// one `stat` only. A link to a file is indexed under its canonical path; a link to a folder is
/// walked unless it leads back to a folder above it or to one already walked (a loop).
#[allow(clippy::too_many_arguments)]
fn walk_dir(
    dir: &Path,
    canon_dir: &Path,
    rel_prefix: &str,
    skip: Option<&Path>,
    opts: &WalkOptions,
    linked: &mut std::collections::HashSet<PathBuf>,
    found: &mut dyn FnMut(Candidate),
    errors: &mut Vec<FileError>,
) {
    let dir_len = dir.as_os_str().len();
    // Paths below `dir` start with its bytes and a separator: slicing is much cheaper than
    // `strip_prefix`, which compares component by component, for every file of an archive.
    let below = move |p: &Path| -> String {
        let b = p.as_os_str().as_encoded_bytes();
        if b.len() > dir_len && b.starts_with(dir.as_os_str().as_encoded_bytes()) {
            String::from_utf8_lossy(b[dir_len..].strip_prefix(b"/").unwrap_or(&b[dir_len..])).into_owned()
        } else {
            display_path(p.strip_prefix(dir).unwrap_or(p))
        }
    };
    let rel_of = |p: &Path| -> String {
        let r = below(p);
        if rel_prefix.is_empty() {
            r
        } else if r.is_empty() {
            rel_prefix.to_string()
        } else {
            format!("{rel_prefix}/{r}")
        }
    };
    let walker = walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
        if e.depth() == 0 {
            return true;
        }
        if !opts.hidden && e.file_name().as_encoded_bytes().starts_with(b".") {
            return false;
        }
        if e.file_type().is_dir() {
            if skip.is_some_and(|s| e.path() == s) {
                return false;
            }
            let rel = rel_of(e.path());
            return !opts.exclude.is_match(&rel) && !opts.exclude.is_match(format!("{rel}/"));
        }
        true
    });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                // Below a canonical folder, a path without links is canonical.
                let rel = rel_of(e.path());
                if dir == canon_dir {
                    add_file(e.path(), e.path(), rel, opts, found, errors);
                } else {
                    add_file(e.path(), &canon_dir.join(below(e.path())), rel, opts, found, errors);
                }
            }
            Ok(e) if e.file_type().is_symlink() && opts.follow_symlinks => {
                let Ok(target) = std::fs::canonicalize(e.path()) else { continue }; // dangling
                if target.is_file() {
                    add_file(e.path(), &target, rel_of(e.path()), opts, found, errors);
                } else if target.is_dir() {
                    let here = canon_dir.join(below(e.path()));
                    let loops = here.starts_with(&target) || skip.is_some_and(|s| target.starts_with(s));
                    if loops || !linked.insert(target.clone()) {
                        tracing::debug!(path = ?e.path(), "symbolic link loop skipped");
                        continue;
                    }
                    walk_dir(e.path(), &target, &rel_of(e.path()), skip, opts, linked, found, errors);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().map(&rel_of);
                let reason = e.io_error().map(|io| io.to_string()).unwrap_or_else(|| e.to_string());
                errors.push(FileError {
                    path: path.unwrap_or_else(|| rel_prefix.to_string()),
                    error: format!("cannot read: {reason}"),
                });
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
