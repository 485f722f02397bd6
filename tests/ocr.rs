//! Scanned pages: a page without a text layer is OCR'd (pdftoppm + tesseract, installed by
//! `.ci/run`) and its text is searchable with its page number; with OCR off the page and the
//! document are reported as needing OCR, in `inspect`, `stats` and the run's failures.

use std::process::Command;

use crate::util::{self, pdf, s};

/// A page image: the first page of `text_pdf` rendered greyscale by pdftoppm (PGM), as
/// (width, height, pixels).
fn render(text_pdf: &std::path::Path) -> (usize, usize, Vec<u8>) {
    let out = Command::new("pdftoppm")
        .args(["-f", "1", "-l", "1", "-r", "150", "-gray"])
        .arg(text_pdf)
        .output()
        .expect("pdftoppm runs (poppler-utils, installed by .ci/run)");
    assert!(out.status.success());
    let b = out.stdout;
    // "P5\nW H\n255\n" then W*H bytes.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !b[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&b[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = b[i + 1..].to_vec();
    assert_eq!(data.len(), w * h);
    (w, h, data)
}

/// A PDF whose page 1 is only an image (a scan of `scanned_text`) and whose page 2, if given,
/// has a text layer.
fn scanned_pdf(dir: &std::path::Path, scanned_text: &[pdf::Item], text_page: Option<&str>) -> Vec<u8> {
    let source = dir.join("source.pdf");
    std::fs::write(&source, pdf::write_pdf(scanned_text, &pdf::Info::default())).unwrap();
    let (w, h, pixels) = render(&source);
    std::fs::remove_file(&source).unwrap();
    let kids = if text_page.is_some() { "[3 0 R 6 0 R]" } else { "[3 0 R]" };
    let count = if text_page.is_some() { 2 } else { 1 };
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids {kids} /Count {count} >>").into_bytes(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>".to_vec(),
        pdf::stream("", b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
        pdf::stream(
            &format!("/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8"),
            &pixels,
        ),
    ];
    if let Some(t) = text_page {
        objects.push(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 7 0 R /Resources << /Font << /F1 8 0 R >> >> >>"
                .to_vec(),
        );
        objects.push(pdf::stream("", format!("BT /F1 12 Tf 72 700 Td ({t}) Tj ET").as_bytes()));
        objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
    }
    pdf::assemble(&objects)
}

fn scan_items() -> Vec<pdf::Item> {
    vec![
        pdf::Item::Heading(1, "Borehole committees in Kitui".into()),
        pdf::Item::Para(
            "After the drought the committees stopped collecting tariffs and the mechanics left the district.".into(),
        ),
    ]
}

#[test]
fn scanned_pages_are_ocrd_and_found_on_their_page() {
    let test = "ocr::scanned_pages_are_ocrd_and_found_on_their_page";
    if util::tool(test, "pdftoppm", "Debian package poppler-utils", &[]).is_none()
        || util::tool(test, "tesseract", "Debian package tesseract-ocr", &[]).is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let bytes = scanned_pdf(tmp.path(), &scan_items(), Some("The second page has a text layer about latrines."));
    std::fs::write(docs.join("scan.pdf"), bytes).unwrap();
    let index = tmp.path().join("idx");

    let (code, rec) = util::run_json(&["inspect", "--json", s(&docs.join("scan.pdf"))]);
    assert_eq!(code, 0, "{rec}");
    assert_eq!(rec["scanned_pages"], serde_json::json!([1]), "{rec}");
    assert_eq!(rec["ocr_pages"], serde_json::json!([1]), "{}", rec["warnings"]);
    let page1 = rec["pages"][0]["text"].as_str().unwrap().to_lowercase();
    assert!(page1.contains("committees") && page1.contains("tariffs"), "OCR text: {page1}");

    let out = util::run(&["index", "--index", s(&index), s(&docs)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, res) = util::run_json(&["search", "--json", "--index", s(&index), "tariffs drought"]);
    let hit = &res["hits"][0];
    assert_eq!(hit["path"], "scan.pdf", "{res}");
    assert!(hit["snippets"].as_array().unwrap().iter().any(|sn| sn["page"] == 1), "{hit}");
    let (_, stats) = util::run_json(&["stats", "--json", "--index", s(&index)]);
    let scan = stats["facets"]["scan"].to_string();
    assert!(scan.contains("/scan/ocr") && !scan.contains("needs-ocr"), "{scan}");
}

#[test]
fn with_ocr_off_the_pages_and_files_needing_it_are_reported() {
    // pdftoppm draws the scanned page the test needs.
    if util::tool(
        "ocr::with_ocr_off_the_pages_and_files_needing_it_are_reported",
        "pdftoppm",
        "Debian package poppler-utils",
        &[],
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = util::settings_with(tmp.path(), &[("enabled = true", "enabled = false")]);
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("mixed.pdf"), scanned_pdf(tmp.path(), &scan_items(), Some("Latrine slabs in Mzuzu.")))
        .unwrap();
    std::fs::write(docs.join("all-scanned.pdf"), scanned_pdf(tmp.path(), &scan_items(), None)).unwrap();
    let index = tmp.path().join("idx");

    let (_, rec) = util::run_json(&["--config", s(&cfg), "inspect", "--json", s(&docs.join("mixed.pdf"))]);
    assert_eq!(rec["scanned_pages"], serde_json::json!([1]));
    assert_eq!(rec["ocr_pages"], serde_json::json!([]));
    assert!(rec["warnings"].to_string().contains("needs OCR: pages 1"), "{}", rec["warnings"]);

    let (code, summary) = util::run_json(&["--config", s(&cfg), "index", "--json", "--index", s(&index), s(&docs)]);
    assert_eq!(code, 2, "some files failed: {summary}");
    assert_eq!(summary["indexed"], 1);
    let err = &summary["errors"][0];
    assert_eq!(err["path"], "all-scanned.pdf");
    assert!(err["error"].as_str().unwrap().contains("needs OCR"), "{err}");
    let (_, stats) = util::run_json(&["stats", "--json", "--index", s(&index)]);
    assert!(stats["facets"]["scan"].to_string().contains("/scan/needs-ocr"), "{}", stats["facets"]["scan"]);
}
