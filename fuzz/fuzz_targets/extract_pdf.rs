//! Fuzzes PDF extraction (lopdf parsing plus our text layer). A panic caught by the extractor
//! comes back as a "crashed:" error: turn it into a real crash so that the fuzzer reports it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wash_lessons::extract::{extract_bytes, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_file_bytes: 1 << 24, max_decompressed: 1 << 24, max_pages: 50 };
    if let Err(e) = extract_bytes(data, Some("pdf"), &limits) {
        let m = e.to_string();
        assert!(!m.starts_with("crashed"), "{m}");
    }
});
