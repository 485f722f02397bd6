//! Fuzzes zip archive listing and member reading (`archive.zip!/inner/a.pdf`, nested archives,
//! limits against bombs). The archive is written to a temporary file, as the indexer reads them
//! from disk. A caught panic comes back as a "crashed:" error: turn it into a real crash.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wash_lessons::config::ArchiveSettings;
use wash_lessons::extract::archive;

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveSettings {
        enabled: true,
        max_depth: 3,
        max_members: 200,
        max_total_mb: 64,
        max_member_mb: 16,
        max_ratio: 200,
    };
    let dir = std::env::temp_dir().join(format!("wash-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("a.zip");
    std::fs::write(&path, data).unwrap();
    match archive::list(&path, &limits, &|_| true) {
        Ok(members) => {
            for m in members.iter().take(20) {
                if let Err(e) = archive::read_member(&path, &m.path, &limits) {
                    assert!(!e.to_string().starts_with("crashed"), "{e}");
                }
            }
        }
        Err(e) => assert!(!e.to_string().starts_with("crashed"), "{e}"),
    }
});
