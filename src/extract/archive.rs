//! Zip archives of documents: their members are documents of their own, addressed
//! `archive.zip!/inner/path.pdf` (and `outer.zip!/inner.zip!/report.docx` when nested). Listing
//! reads only the central directory of the outer archive; limits on depth, member count and
//! total inflated size, and a ratio check, report a zip bomb instead of following it.

use std::io::{Cursor, Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::config::ArchiveSettings;
use crate::error::{Error, Result};

/// One document inside an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Path inside the archive, nested archives joined with `!/`: `docs/a.pdf`, `x.zip!/b.docx`.
    pub path: String,
    /// Inflated size.
    pub size: u64,
    /// CRC-32 of the content, from the archive's directory (of the outermost member for nested
    /// archives, combined with the inner one).
    pub crc: u32,
}

/// Whether a path names a zip archive (by extension).
pub fn is_archive(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Lists the document members of the zip archive at `path` (nested archives included up to
/// `max_depth`), keeping those `keep` accepts (by inner path).
pub fn list(path: &Path, limits: &ArchiveSettings, keep: &dyn Fn(&str) -> bool) -> Result<Vec<Member>> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    let run = || {
        let mut out = Vec::new();
        let mut budget = Budget { members: 0, bytes: 0 };
        list_into(std::io::BufReader::new(file), "", 0, None, limits, keep, &mut budget, &mut out)?;
        Ok(out)
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| Err(Error::extract("crashed: zip reader panicked")))
}

struct Budget {
    members: usize,
    bytes: u64,
}

#[allow(clippy::too_many_arguments)]
fn list_into<R: Read + Seek>(
    reader: R,
    prefix: &str,
    depth: usize,
    outer_crc: Option<u32>,
    limits: &ArchiveSettings,
    keep: &dyn Fn(&str) -> bool,
    budget: &mut Budget,
    out: &mut Vec<Member>,
) -> Result<()> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| Error::extract(format!("broken zip archive: {e}")))?;
    let max_total = limits.max_total_mb << 20;
    for i in 0..zip.len() {
        let (name, size, compressed, crc, is_dir) = {
            let f = zip.by_index_raw(i).map_err(|e| Error::extract(format!("broken zip archive: {e}")))?;
            (f.name().map(|n| n.into_owned()).unwrap_or_default(), f.size(), f.compressed_size(), f.crc32(), f.is_dir())
        };
        if is_dir || name.split('/').any(|c| c.starts_with('.') || c == "..") {
            continue;
        }
        budget.members += 1;
        if budget.members > limits.max_members {
            return Err(Error::extract(format!(
                "zip archive with more than {} members: refused (see [archives] max_members)",
                limits.max_members
            )));
        }
        budget.bytes = budget.bytes.saturating_add(size);
        if budget.bytes > max_total {
            return Err(Error::extract(format!(
                "zip bomb refused: members inflate beyond {} MB (see [archives] max_total_mb)",
                limits.max_total_mb
            )));
        }
        if size > (1 << 20) && size / compressed.max(1) > limits.max_ratio {
            return Err(Error::extract(format!(
                "zip bomb refused: {name} inflates {}x (limit {}x, see [archives] max_ratio)",
                size / compressed.max(1),
                limits.max_ratio
            )));
        }
        let crc = outer_crc.map_or(crc, |o| o.rotate_left(5) ^ crc);
        let full = format!("{prefix}{name}");
        if is_archive(Path::new(&name)) {
            if depth + 1 >= limits.max_depth {
                continue;
            }
            let bytes = read_entry(&mut zip, i, &name, limits)?;
            list_into(Cursor::new(bytes), &format!("{full}!/"), depth + 1, Some(crc), limits, keep, budget, out)?;
            continue;
        }
        if keep(&full) {
            out.push(Member { path: full, size, crc });
        }
    }
    Ok(())
}

fn read_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    i: usize,
    name: &str,
    limits: &ArchiveSettings,
) -> Result<Vec<u8>> {
    let limit = limits.max_member_mb << 20;
    let f = zip.by_index(i).map_err(|e| Error::extract(format!("cannot read {name} in the archive: {e}")))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::extract(format!("cannot inflate {name} (truncated or corrupt archive?): {e}")))?;
    if buf.len() as u64 > limit {
        return Err(Error::extract(format!(
            "zip bomb refused: {name} inflates beyond {} MB (see [archives] max_member_mb)",
            limits.max_member_mb
        )));
    }
    Ok(buf)
}

/// Reads one member (`inner/path.pdf`, or `x.zip!/b.docx` for nested archives) of the archive at
/// `path`, inflating at most `max_member_mb`.
pub fn read_member(path: &Path, member: &str, limits: &ArchiveSettings) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    let run = || -> Result<Vec<u8>> {
        let mut parts = member.split("!/");
        let first = parts.next().unwrap_or_default();
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| Error::extract(format!("broken zip archive: {e}")))?;
        let i =
            zip.index_for_name(first).ok_or_else(|| Error::extract(format!("no member {first:?} in the archive")))?;
        let mut bytes = read_entry(&mut zip, i, first, limits)?;
        for inner in parts {
            let mut z = zip::ZipArchive::new(Cursor::new(bytes))
                .map_err(|e| Error::extract(format!("broken zip archive: {e}")))?;
            let i =
                z.index_for_name(inner).ok_or_else(|| Error::extract(format!("no member {inner:?} in the archive")))?;
            bytes = read_entry(&mut z, i, inner, limits)?;
        }
        Ok(bytes)
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| Err(Error::extract("crashed: zip reader panicked")))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn limits() -> ArchiveSettings {
        ArchiveSettings {
            enabled: true,
            max_depth: 3,
            max_members: 100,
            max_total_mb: 64,
            max_member_mb: 16,
            max_ratio: 200,
        }
    }

    #[test]
    fn members_nested_archives_and_bombs() {
        let dir = tempfile::tempdir().unwrap();
        let inner = zip_of(&[("deep.md", b"# Deep\n\nnotes")]);
        let outer = zip_of(&[
            ("docs/a.txt", b"alpha"),
            ("inner.zip", &inner),
            ("__MACOSX/.junk", b"x"),
            ("image.png", b"\x89PNG"),
        ]);
        let p = dir.path().join("a.zip");
        std::fs::write(&p, &outer).unwrap();
        let keep = |n: &str| !n.ends_with(".png");
        let m = list(&p, &limits(), &keep).unwrap();
        let names: Vec<&str> = m.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(names, vec!["docs/a.txt", "inner.zip!/deep.md"]);
        assert_eq!(read_member(&p, "inner.zip!/deep.md", &limits()).unwrap(), b"# Deep\n\nnotes");
        assert_eq!(read_member(&p, "docs/a.txt", &limits()).unwrap(), b"alpha");

        let bomb = zip_of(&[("zeros.txt", &vec![0u8; 8 << 20])]);
        let b = dir.path().join("bomb.zip");
        std::fs::write(&b, bomb).unwrap();
        let e = list(&b, &limits(), &keep).unwrap_err().to_string();
        assert!(e.contains("zip bomb"), "{e}");

        std::fs::write(dir.path().join("junk.zip"), b"PK\x03\x04 not really").unwrap();
        let e = list(&dir.path().join("junk.zip"), &limits(), &keep).unwrap_err().to_string();
        assert!(e.contains("broken zip"), "{e}");
    }
}
