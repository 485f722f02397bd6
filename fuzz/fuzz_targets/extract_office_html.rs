//! Fuzzes DOCX, ODT, HTML, Markdown and text extraction: the first byte picks the extension the
//! file claims. A panic caught by the extractor comes back as a "crashed:" error: turn it into a
//! real crash so that the fuzzer reports it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wash_lessons::extract::{extract_bytes, Limits};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let ext = ["docx", "odt", "html", "md", "txt"][pick as usize % 5];
    let limits = Limits { max_file_bytes: 1 << 24, max_decompressed: 1 << 24, max_pages: 50 };
    if let Err(e) = extract_bytes(rest, Some(ext), &limits) {
        let m = e.to_string();
        assert!(!m.starts_with("crashed"), "{m}");
    }
});
