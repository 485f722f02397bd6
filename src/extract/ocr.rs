//! OCR of PDF pages that have no text layer (scans), through poppler's `pdftoppm` (page to
//! greyscale image) piped into `tesseract`. Both are separate processes with a wall-clock limit per
//! page, so a page that makes them hang or crash costs that page only. When the tools or their
//! language data are missing, nothing is OCR'd and the document says which pages need it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::config::OcrSettings;
use crate::document::{Extracted, Page};

/// The tesseract languages installed, or why OCR cannot run here.
fn installed() -> &'static Result<Vec<String>, String> {
    static TOOLS: OnceLock<Result<Vec<String>, String>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let ok = |cmd: &str, arg: &str| {
            Command::new(cmd).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
        };
        if !ok("pdftoppm", "-v") {
            return Err("pdftoppm (poppler-utils) is not installed".into());
        }
        let out = Command::new("tesseract")
            .arg("--list-langs")
            .stderr(Stdio::null())
            .output()
            .map_err(|_| "tesseract (tesseract-ocr) is not installed".to_string())?;
        let langs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && l != "osd")
            .collect();
        if langs.is_empty() {
            return Err("tesseract has no language data installed".into());
        }
        Ok(langs)
    })
}

/// Tesseract's name for an ISO 639-1 code.
fn tesseract_code(iso: &str) -> Option<&'static str> {
    Some(match iso {
        "en" => "eng",
        "fr" => "fra",
        "es" => "spa",
        "pt" => "por",
        "de" => "deu",
        "it" => "ita",
        "nl" => "nld",
        "sw" => "swa",
        _ => return None,
    })
}

/// The `-l` argument: the document's language when known and installed, else the configured
/// list (keeping the installed ones).
fn languages(doc_language: Option<&str>, settings: &OcrSettings, installed: &[String]) -> Option<String> {
    if let Some(code) = doc_language.and_then(tesseract_code) {
        if installed.iter().any(|l| l == code) {
            return Some(code.to_string());
        }
    }
    let list: Vec<&str> =
        settings.languages.split('+').map(str::trim).filter(|l| installed.iter().any(|i| i == l)).collect();
    (!list.is_empty()).then(|| list.join("+"))
}

/// OCRs the scanned pages of `doc` (read from `pdf`). `doc_language` is the language of the
/// document's other text or metadata, if known. `heartbeat` is called before each page (a worker
/// uses it to tell its parent it is still alive). Pages that cannot be OCR'd stay empty, with a
/// warning.
pub fn ocr_scanned(
    doc: &mut Extracted,
    pdf: &Path,
    doc_language: Option<&str>,
    settings: &OcrSettings,
    heartbeat: &dyn Fn(),
) {
    if doc.scanned_pages.is_empty() {
        return;
    }
    if !settings.enabled {
        doc.warnings.push(format!(
            "needs OCR: pages {} have no text layer ([ocr] enabled = false)",
            super::pdf::list(&doc.scanned_pages)
        ));
        return;
    }
    let langs = match installed() {
        Err(why) => {
            doc.warnings
                .push(format!("needs OCR: pages {} have no text layer ({why})", super::pdf::list(&doc.scanned_pages)));
            return;
        }
        Ok(installed) => match languages(doc_language, settings, installed) {
            Some(l) => l,
            None => {
                doc.warnings.push(format!(
                    "needs OCR: no tesseract data for {:?} (installed: {})",
                    settings.languages,
                    installed.join(", ")
                ));
                return;
            }
        },
    };
    let mut failures = Vec::new();
    let mut first_error = None;
    for &number in doc.scanned_pages.iter().take(settings.max_pages) {
        heartbeat();
        match ocr_page(pdf, number, &langs, settings) {
            Ok(text) => {
                let blocks = super::pdf::paragraphs(&text);
                doc.ocr_pages.push(number);
                if blocks.is_empty() {
                    continue; // a picture without words
                }
                match doc.pages.iter_mut().find(|p| p.number == number) {
                    Some(p) => p.blocks = blocks,
                    None => doc.pages.push(Page { number, blocks }),
                }
            }
            Err(e) => {
                failures.push(number);
                first_error.get_or_insert(e);
            }
        }
    }
    doc.pages.sort_by_key(|p| p.number);
    if let Some(e) = first_error {
        doc.warnings.push(format!("OCR failed on pages {}: {e}", super::pdf::list(&failures)));
    }
    if doc.scanned_pages.len() > settings.max_pages {
        doc.warnings.push(format!(
            "needs OCR: only the first {} scanned pages were OCR'd (see [ocr] max_pages)",
            settings.max_pages
        ));
    }
    if !doc.ocr_pages.is_empty() {
        doc.warnings.push(format!("pages {} were OCR'd ({langs})", super::pdf::list(&doc.ocr_pages)));
    }
}

/// The pages still without text after OCR.
pub fn pages_needing_ocr(doc: &Extracted) -> Vec<u32> {
    doc.scanned_pages.iter().copied().filter(|n| !doc.ocr_pages.contains(n)).collect()
}

/// One page through `pdftoppm | tesseract`, killed after the page timeout.
fn ocr_page(pdf: &Path, page: u32, langs: &str, settings: &OcrSettings) -> Result<String, String> {
    let n = page.to_string();
    let mut render = Command::new("pdftoppm")
        .args(["-f", &n, "-l", &n, "-r", &settings.dpi.to_string(), "-gray"])
        .arg(pdf)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run pdftoppm: {e}"))?;
    let image = render.stdout.take().ok_or("pdftoppm has no output")?;
    let mut tess = match Command::new("tesseract")
        .args(["stdin", "stdout", "-l", langs])
        // One thread per page: the indexer already runs one extraction per core.
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::from(image))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(t) => t,
        Err(e) => {
            let _ = render.kill();
            let _ = render.wait();
            return Err(format!("cannot run tesseract: {e}"));
        }
    };
    let mut out = tess.stdout.take().ok_or("tesseract has no output")?;
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.by_ref().take(16 << 20).read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(settings.page_timeout_secs);
    let status = loop {
        match tess.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break None,
        }
    };
    let _ = render.kill();
    let _ = render.wait();
    let Some(status) = status else {
        let _ = tess.kill();
        let _ = tess.wait();
        return Err(format!("timeout after {} s", settings.page_timeout_secs));
    };
    let text = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    if !status.success() {
        return Err(format!("tesseract failed ({status})"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(languages: &str) -> OcrSettings {
        OcrSettings { enabled: true, dpi: 200, page_timeout_secs: 60, languages: languages.into(), max_pages: 10 }
    }

    #[test]
    fn languages_prefer_the_documents_then_the_configured_installed_ones() {
        let installed = vec!["eng".to_string(), "fra".to_string()];
        assert_eq!(languages(Some("fr"), &settings("eng+spa"), &installed).as_deref(), Some("fra"));
        assert_eq!(languages(Some("pt"), &settings("eng+spa+fra"), &installed).as_deref(), Some("eng+fra"));
        assert_eq!(languages(None, &settings("spa"), &installed), None);
    }
}
