//! Extraction: one file in, pages of text blocks and the file's own metadata out.
//!
//! The format is known from the content (magic bytes, zip members, markup), the extension only
//! breaks ties between plain text and Markdown. Each format has its own module; none knows
//! about tagging or the index. A panic inside a parser is caught and reported as an error for that
//! file, so one bad file never stops a run.

pub mod archive;
mod decode;
mod docx;
mod frontmatter;
mod html;
mod markdown;
mod ocr;
mod odt;
mod pdf;
mod pdf_encoding;
mod pdf_text;
mod plain;
mod sidecar;
mod xml;
mod zipfile;

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

pub use decode::decode_text;

use crate::config::{ExtractSettings, LanguageSettings, OcrSettings};
use crate::document::{Extracted, Format};
use crate::error::{Error, Result};

/// Limits applied while extracting.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest size one compressed stream may inflate to, in bytes.
    pub max_decompressed: usize,
    /// Pages beyond this are not extracted.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_bytes: 200 << 20, max_decompressed: 256 << 20, max_pages: 5000 }
    }
}

impl From<&ExtractSettings> for Limits {
    fn from(s: &ExtractSettings) -> Self {
        Limits {
            max_file_bytes: s.max_file_mb << 20,
            max_decompressed: (s.max_decompressed_mb << 20) as usize,
            max_pages: s.max_pages,
        }
    }
}

/// Extensions the walker picks up without looking inside.
const DOCUMENT_EXTENSIONS: [&str; 10] = ["pdf", "docx", "odt", "html", "htm", "xhtml", "md", "markdown", "txt", "text"];

/// Whether a file name has one of the document extensions (for archive members).
pub fn is_document_name(name: &str) -> bool {
    extension(Path::new(name)).is_some_and(|e| DOCUMENT_EXTENSIONS.contains(&e.as_str()))
}

/// Whether a file found while walking is a document candidate: a known extension, or no
/// extension at all and content that says PDF, DOCX, ODT or HTML.
pub fn is_candidate(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with(".meta.toml") {
        return false;
    }
    match extension(path) {
        Some(ext) => DOCUMENT_EXTENSIONS.contains(&ext.as_str()),
        None => {
            let mut head = [0u8; 1024];
            let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
            let head = &head[..n];
            find(head, b"%PDF-").is_some() || head.starts_with(b"PK\x03\x04") || looks_like_html(head)
        }
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase())
}

/// Reads and extracts one file, with its sidecar `NAME.meta.toml` if there is one.
pub fn extract_file(path: &Path, limits: &Limits) -> Result<Extracted> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    if meta.is_dir() {
        return Err(Error::extract("is a directory"));
    }
    if meta.len() > limits.max_file_bytes {
        return Err(Error::extract(format!(
            "file too large: {} MB (limit {} MB, see [extract] max_file_mb)",
            meta.len() >> 20,
            limits.max_file_bytes >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    let ext = extension(path);
    let mut doc = extract_bytes(&bytes, ext.as_deref(), limits)?;
    if let Some(sc) = sidecar_path(path) {
        // The sidecar wins over front matter and everything the file says about itself.
        let mut side = sidecar::read(&sc)?;
        side.fill_from(std::mem::take(&mut doc.declared));
        doc.declared = side;
    }
    Ok(doc)
}

/// Reads and extracts one file, then OCRs the PDF pages that have no text layer (see [`ocr`]).
/// A document with no text at all, even after OCR, is an error that says why.
pub fn extract_file_ocr(
    path: &Path,
    limits: &Limits,
    ocr_settings: &OcrSettings,
    languages: &LanguageSettings,
    heartbeat: &dyn Fn(),
) -> Result<Extracted> {
    let mut doc = extract_file(path, limits)?;
    if doc.scanned_pages.is_empty() {
        return Ok(doc);
    }
    let declared = doc.declared.language.as_deref().or(doc.metadata.language.as_deref());
    let text = doc.full_text();
    let lang = if declared.is_some() || text.split_whitespace().count() >= 30 {
        Some(crate::language::detect(&text, declared, languages).0)
    } else {
        None
    };
    ocr::ocr_scanned(&mut doc, path, lang.as_deref().filter(|l| *l != "und"), ocr_settings, heartbeat);
    let still = ocr::pages_needing_ocr(&doc);
    if doc.pages.iter().all(|p| p.blocks.is_empty()) && !still.is_empty() {
        // Scans that could not be read: fail, so that the file is tried again (when it changes,
        // or with --retry-failed) once OCR is available.
        let why = doc
            .warnings
            .iter()
            .rev()
            .find(|w| w.starts_with("needs OCR") || w.starts_with("OCR failed"))
            .cloned()
            .unwrap_or_else(|| "needs OCR".into());
        return Err(Error::extract(format!("no text layer on any page (scanned PDF): {why}")));
    }
    if doc.pages.iter().all(|p| p.blocks.is_empty()) {
        doc.warnings.push("OCR found no text on the scanned pages: indexed by its metadata".into());
    }
    if !still.is_empty() && !doc.warnings.iter().any(|w| w.starts_with("needs OCR")) {
        doc.warnings.push(format!("needs OCR: pages {} have no text layer", pdf::list(&still)));
    }
    Ok(doc)
}

/// The sidecar of a file: `report.pdf.meta.toml` or `report.meta.toml`, when it exists.
pub fn sidecar_path(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let full = path.with_file_name(format!("{name}.meta.toml"));
    if full.is_file() {
        return Some(full);
    }
    let stem = path.file_stem()?.to_str()?;
    let short = path.with_file_name(format!("{stem}.meta.toml"));
    short.is_file().then_some(short)
}

/// Extracts a document from its bytes. `ext` is the lowercase file extension, if any.
pub fn extract_bytes(bytes: &[u8], ext: Option<&str>, limits: &Limits) -> Result<Extracted> {
    let format = detect(bytes, ext)?;
    let run = || -> Result<Extracted> {
        let mut doc = match format {
            Format::Pdf => pdf::extract(bytes, limits)?,
            Format::Docx => docx::extract(bytes, limits)?,
            Format::Odt => odt::extract(bytes, limits)?,
            Format::Html => html::extract(&decode_text(bytes)?.0),
            Format::Markdown => markdown::extract(&decode_text(bytes)?.0),
            Format::Text => plain::extract(&decode_text(bytes)?.0),
        };
        if let Some(e) = ext {
            let named = match e {
                "pdf" => Some(Format::Pdf),
                "docx" => Some(Format::Docx),
                "odt" => Some(Format::Odt),
                _ => None,
            };
            if named.is_some_and(|n| n != format) {
                doc.warnings.push(format!("named .{e} but the content is {}", format.as_str()));
            }
        }
        Ok(doc)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::extract(format!("crashed: {} parser panicked: {msg}", format.as_str())))
        }
    }
}

/// Tells the format from the content, using the extension only to choose between text formats
/// (and to word the error when a file is not what its name says).
pub fn detect(bytes: &[u8], ext: Option<&str>) -> Result<Format> {
    if bytes.is_empty() {
        return Err(Error::extract("empty file"));
    }
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return zipfile::office_kind(bytes).map_err(|e| match ext {
            Some("docx") | Some("odt") => Error::extract(format!("not a valid .{} file: {e}", ext.unwrap_or(""))),
            _ => e,
        });
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(Error::Unsupported("legacy Microsoft Office file (.doc/.xls): save it as DOCX or PDF".into()));
    }
    if decode::looks_binary(bytes) {
        return Err(match ext {
            Some("pdf") => Error::extract("not a PDF: no %PDF header, the content is binary data"),
            Some("docx") => Error::extract("not a DOCX: not a zip archive, the content is binary data"),
            Some("odt") => Error::extract("not an ODT: not a zip archive, the content is binary data"),
            _ => Error::Unsupported("binary content of unknown format".into()),
        });
    }
    if matches!(ext, Some("html") | Some("htm") | Some("xhtml")) || looks_like_html(head) {
        return Ok(Format::Html);
    }
    if matches!(ext, Some("md") | Some("markdown")) {
        return Ok(Format::Markdown);
    }
    Ok(Format::Text)
}

fn looks_like_html(head: &[u8]) -> bool {
    let s = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = s.trim_start_matches('\u{feff}').trim_start();
    t.starts_with("<!doctype html")
        || t.starts_with("<html")
        || (t.starts_with('<') && (s.contains("<html") || s.contains("<body")))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits a keywords property ("a, b; c") into keywords.
pub(crate) fn split_keywords(s: &str) -> Vec<String> {
    s.split([',', ';']).map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_content_not_name() {
        assert_eq!(detect(b"%PDF-1.4\n...", Some("txt")).unwrap(), Format::Pdf);
        assert_eq!(detect(b"<!DOCTYPE html><html><body>x</body></html>", Some("txt")).unwrap(), Format::Html);
        assert_eq!(detect(b"# Notes\n\nhello", Some("md")).unwrap(), Format::Markdown);
        assert_eq!(detect(b"hello", None).unwrap(), Format::Text);
        assert!(detect(b"", Some("txt")).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn random_bytes_named_pdf_are_reported() {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let e = detect(&junk, Some("pdf")).unwrap_err().to_string();
        assert!(e.contains("not a PDF"), "{e}");
        let e = detect(&junk, Some("docx")).unwrap_err().to_string();
        assert!(e.contains("not a DOCX"), "{e}");
    }

    #[test]
    fn text_named_pdf_is_read_as_text_with_a_warning() {
        let d =
            extract_bytes(b"Field notes: the pump at Kalonga was broken.", Some("pdf"), &Limits::default()).unwrap();
        assert_eq!(d.format, Format::Text);
        assert!(d.warnings[0].contains("named .pdf"));
    }
}
