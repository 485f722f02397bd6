//! Crafted bad PDFs, generated here: truncated, broken xref, a page tree that loops, a Form
//! XObject that draws itself, absurd sizes, a decompression bomb, deep nesting, a password. Each
//! is reported clearly or extracted, none hangs, and none stops a bulk run: the good files beside
//! them all go in.

use std::io::Write;

use crate::util::{self, pdf, s};

fn text(s: &str) -> Vec<u8> {
    format!("BT /F1 12 Tf 72 700 Td ({s}) Tj ET").into_bytes()
}

#[test]
fn a_folder_of_broken_pdfs_never_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = util::settings_with(
        tmp.path(),
        &[("max_decompressed_mb = 256", "max_decompressed_mb = 8"), ("timeout_secs = 60", "timeout_secs = 10")],
    );
    let dir = tmp.path().join("pdfs");
    std::fs::create_dir(&dir).unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    let items = vec![
        pdf::Item::Heading(1, "Solar pumping in Turkana".into()),
        pdf::Item::Para("The solar pumps failed when the inverters burnt out and no technician came.".into()),
    ];
    let good = pdf::write_pdf(&items, &pdf::Info::default());
    w("good-1.pdf", &good);
    w("good-2.pdf", &pdf::assemble(&pdf::one_page(&text("Kiosk operators in Lusaka"), "", "[0 0 612 792]")));
    w("empty-password.pdf", &pdf::encrypted(&items, ""));
    w("password.pdf", &pdf::encrypted(&items, "secret"));
    w("truncated.pdf", &good[..good.len() / 3]);
    // Broken xref: every offset and startxref point nowhere; lenient parsing rebuilds it.
    let mut broken = pdf::assemble(&pdf::one_page(&text("Broken xref but readable"), "", "[0 0 612 792]"));
    let at = broken.windows(9).rposition(|w| w == b"startxref").unwrap();
    broken.truncate(at);
    broken.extend_from_slice(b"startxref\n999999\n%%EOF\n");
    w("broken-xref.pdf", &broken);
    // A page tree whose node lists itself among its kids.
    let mut looping = pdf::one_page(&text("Loop"), "", "[0 0 612 792]");
    looping[1] = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>".to_vec();
    w("page-tree-loop.pdf", &pdf::assemble(&looping));
    // A Form XObject that draws itself.
    let mut selfdraw = pdf::one_page(b"/X Do", "/XObject << /X 6 0 R >>", "[0 0 612 792]");
    selfdraw.push(pdf::stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X 6 0 R >> >>",
        b"/X Do",
    ));
    w("form-draws-itself.pdf", &pdf::assemble(&selfdraw));
    // Absurd sizes.
    w(
        "absurd-sizes.pdf",
        &pdf::assemble(&pdf::one_page(b"BT /F1 1e30 Tf 1e30 1e30 Td (Huge) Tj ET", "", "[0 0 1e30 1e30]")),
    );
    // A decompression bomb: 64 MB of zeros in a 64 KB content stream.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = z.finish().unwrap();
    let mut bombed = pdf::one_page(b"", "", "[0 0 612 792]");
    bombed[3] = pdf::stream("/Filter /FlateDecode", &bomb);
    w("decompression-bomb.pdf", &pdf::assemble(&bombed));
    // Deeply nested arrays in the page dictionary.
    let mut nested = pdf::one_page(&text("Nested"), "", "[0 0 612 792]");
    nested[2] = format!(
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Junk {}{} /Resources << /Font << /F1 5 0 R >> >> >>",
        "[".repeat(200_000),
        "]".repeat(200_000)
    )
    .into_bytes();
    w("deep-nesting.pdf", &pdf::assemble(&nested));

    let out = util::command()
        .args(["--config", s(&cfg), "index", "--index", s(&tmp.path().join("idx")), "--json", s(&dir)])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let errors: Vec<(String, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap().to_string(), e["error"].as_str().unwrap().to_string()))
        .collect();
    let error = |name: &str| errors.iter().find(|(p, _)| p == name).map(|(_, e)| e.as_str());
    // The good files, and the encrypted one with an empty user password, go in.
    for name in ["good-1.pdf", "good-2.pdf", "empty-password.pdf"] {
        assert!(error(name).is_none(), "{name}: {:?}", error(name));
    }
    assert_eq!(error("password.pdf"), Some("encrypted: needs a password"), "{v}");
    assert!(error("truncated.pdf").is_some_and(|e| e.contains("PDF")), "{v}");
    assert!(
        error("decompression-bomb.pdf").is_some_and(|e| e.contains("max_decompressed_mb = 8 MB")),
        "a page inflating past the limit is refused: {v}"
    );
    assert!(error("page-tree-loop.pdf").is_some_and(|e| e.contains("page tree")), "{v}");
    // Every file is accounted for: indexed or reported, none hung past the timeout.
    let indexed = v["indexed"].as_u64().unwrap() as usize;
    assert_eq!(indexed + errors.len(), 11, "{v}");
    for (p, e) in &errors {
        assert!(!e.starts_with("timeout"), "{p} hung: {e}");
        assert!(!e.is_empty());
    }
    println!("{}", serde_json::to_string_pretty(&v).unwrap());
    let (_, r) = util::run_json(&["search", "--index", s(&tmp.path().join("idx")), "--json", "inverters"]);
    assert_eq!(r["total"], 2, "good-1 and the empty-password copy are searchable: {r}");
}

/// Rotated text (a landscape table, a vertical label) reads as lines, not a letter per line.
#[test]
fn rotated_text_reads_as_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let content = b"BT /F1 12 Tf 0 1 -1 0 300 100 Tm (Borehole yields fell in the dry season) Tj ET \
BT /F1 12 Tf 72 700 Td (An upright line) Tj ET";
    let path = tmp.path().join("rotated.pdf");
    std::fs::write(&path, pdf::assemble(&pdf::one_page(content, "", "[0 0 612 792]"))).unwrap();
    let (code, rec) = util::run_json(&["inspect", "--json", s(&path)]);
    assert_eq!(code, 0, "{rec}");
    let text = rec["pages"][0]["text"].as_str().unwrap();
    assert!(text.lines().any(|l| l.contains("Borehole yields fell in the dry season")), "{text}");
    assert!(text.contains("An upright line"), "{text}");
}
