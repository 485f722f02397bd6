//! Font mechanisms of real PDFs that cost words, each in a PDF made here by the project's own
//! writer and read back through `inspect`: an accent drawn as its own glyph over a letter (7-bit
//! TeX fonts), a Type 3 font with numeric glyph names and its own `/FontMatrix`, a ToUnicode CMap
//! with empty targets, a Compact Font Format program with an encoding of its own, and text drawn
//! outside the MediaBox; and word gaps measured without character spacing where words are placed
//! one by one.

use crate::util::{self, pdf, s};

/// The text of the first page of a one-page PDF with `content` and extra objects from 6 on.
fn page_text(content: &[u8], resources: &str, extra: Vec<Vec<u8>>) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut objects = pdf::one_page(content, resources, "[0 0 612 792]");
    objects.extend(extra);
    let file = tmp.path().join("crafted.pdf");
    std::fs::write(&file, pdf::assemble(&objects)).unwrap();
    let (code, rec) = util::run_json(&["inspect", "--json", s(&file)]);
    assert_eq!(code, 0, "{rec}");
    rec["pages"][0]["text"].as_str().unwrap_or_default().to_string()
}

#[test]
fn an_accent_drawn_over_a_letter_merges_with_it() {
    // Helvetica without /Widths: every glyph 500 units wide. The accent is drawn after the
    // letter before it and the next letter is moved back under it, as TeX's \accent does.
    // A dotless i under an acute becomes í. A caret beside letters stays a caret.
    let content = b"BT /F1 12 Tf 72 700 Td [(r\xb4) 500 (eponse)] TJ ET \
        BT /F2 12 Tf 72 680 Td [(ma\xc9) 500 (\xc8z)] TJ ET \
        BT /F1 12 Tf 72 660 Td (x^y) Tj ET";
    let f2 = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [200 /dotlessi /acute] >> >>".to_vec();
    let text = page_text(content, "/Font << /F1 5 0 R /F2 6 0 R >>", vec![f2]);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.contains(&"réponse"), "{text:?}");
    assert!(words.contains(&"maíz"), "{text:?}");
    assert!(words.contains(&"x^y"), "{text:?}");
}

#[test]
fn a_type3_font_with_numeric_names_and_its_own_font_matrix_is_read() {
    // Glyph names /a97.. that no glyph list knows, widths in the font's glyph space (50 units
    // of 0.01): read as their codes, and advanced so that "ll" and "ee" stay two letters each.
    let word = "guillemets";
    let first = 97u8;
    let diffs: String = (first..=117).map(|c| format!("/a{c} ")).collect();
    let widths: String = (first..=117).map(|_| "50 ").collect();
    let t3 = format!(
        "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 100 100] /FontMatrix [0.01 0 0 0.01 0 0] \
         /CharProcs << >> /Resources << >> /FirstChar {first} /LastChar 117 /Widths [{widths}] \
         /Encoding << /Type /Encoding /Differences [{first} {diffs}] >> >>"
    )
    .into_bytes();
    // A line in another font beside it, as in real documents (so no other reader takes over).
    let content = format!("BT /F1 12 Tf 72 720 Td (Les) Tj ET BT /T3 12 Tf 72 700 Td ({word}) Tj ET").into_bytes();
    let text = page_text(&content, "/Font << /F1 5 0 R /T3 6 0 R >>", vec![t3]);
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["Les", word], "{text:?}");
}

#[test]
fn an_empty_to_unicode_target_falls_back_to_the_encoding() {
    // `<66> <>`: the CMap says nothing of "f"; the encoding does.
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <00> <FF> endcodespacerange\n2 beginbfchar\n<66> <>\n<69> <0069>\nendbfchar\nendcmap end end";
    let font =
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 7 0 R >>".to_vec();
    let text = page_text(
        b"BT /F2 12 Tf 72 700 Td (fichier) Tj ET",
        "/Font << /F1 5 0 R /F2 6 0 R >>",
        vec![font, pdf::stream("", cmap)],
    );
    assert_eq!(text.trim(), "fichier", "{text:?}");
}

#[test]
fn text_outside_the_media_box_is_not_on_the_page() {
    let text = page_text(
        b"BT /F1 12 Tf 72 700 Td (Visible words) Tj ET BT /F1 12 Tf 72 2400 Td (Hidden words) Tj ET \
          BT /F1 12 Tf -900 300 Td (Left of the page) Tj ET",
        "",
        vec![],
    );
    assert!(text.contains("Visible words"), "{text:?}");
    assert!(!text.contains("Hidden") && !text.contains("Left of"), "{text:?}");
}

#[test]
fn a_tight_word_gap_still_ends_a_word_and_a_kern_does_not() {
    // TeX moves to the next word with a kern, not a space: 0.14 em here (justified tight),
    // against 0.05 em inside a word.
    let text = page_text(b"BT /F1 12 Tf 72 700 Td [(tight) -140 (words) -140 (ker) -50 (ning)] TJ ET", "", vec![]);
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["tight", "words", "kerning"], "{text:?}");
}

#[test]
fn a_compact_font_program_without_an_encoding_is_read_through_its_own() {
    // As dvipdfmx embeds TeX's symbol fonts: no /Encoding in the PDF, the codes named by the font
    // program alone (StandardEncoding would read the braces as "f" and "g").
    let program =
        pdf::cff_program(&[(102, "braceleft"), (103, "braceright"), (1, "rcaron"), (2, "e"), (3, "k"), (4, "a")]);
    let widths: String = (1..=103).map(|_| "500 ").collect();
    let font = format!(
        "<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Crafted /FirstChar 1 /LastChar 103 \
         /Widths [{widths}] /FontDescriptor 7 0 R >>"
    )
    .into_bytes();
    let descriptor = b"<< /Type /FontDescriptor /FontName /ABCDEF+Crafted /Flags 4 /FontBBox [0 0 500 700] \
        /ItalicAngle 0 /Ascent 700 /Descent 0 /CapHeight 700 /StemV 80 /FontFile3 8 0 R >>"
        .to_vec();
    let text = page_text(
        b"BT /F1 12 Tf 72 720 Td (River) Tj ET BT /F2 12 Tf 72 700 Td (f\x01\x02\x03\x04g) Tj ET",
        "/Font << /F1 5 0 R /F2 6 0 R >>",
        vec![font, descriptor, pdf::stream("/Subtype /Type1C", &program)],
    );
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["River", "{\u{159}eka}"], "{text:?}");
}

#[test]
fn letter_spaced_words_placed_one_by_one_keep_their_breaks() {
    // 0.2 em of character spacing, each word placed with Td 0.25 em after the previous word's
    // last glyph: counted from the advance with its spacing, the gap would be 0.05 em.
    // Inside a word the letters follow one another and stay one word.
    let text =
        page_text(b"BT /F1 12 Tf 2.4 Tc 72 700 Td (LETTER) Tj 51 0 Td (SPACED) Tj 51 0 Td (WORDS) Tj ET", "", vec![]);
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["LETTER", "SPACED", "WORDS"], "{text:?}");
}
