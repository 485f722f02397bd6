//! Zip containers of DOCX and ODT: telling them apart, and reading members with a size cap so
//! that a zip bomb is reported instead of filling memory.

use std::io::{Cursor, Read};

use crate::document::Format;
use crate::error::{Error, Result};

/// An open zip archive over a byte slice.
pub struct Zip<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    max: usize,
}

impl<'a> Zip<'a> {
    /// Opens the archive; `max` caps the inflated size of any member read.
    pub fn open(bytes: &'a [u8], max: usize) -> Result<Zip<'a>> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| Error::extract(format!("broken zip container: {e}")))?;
        Ok(Zip { archive, max })
    }

    /// Whether a member exists.
    pub fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// Reads a member as UTF-8 text; `Ok(None)` when it does not exist.
    pub fn read_text(&mut self, name: &str) -> Result<Option<String>> {
        let Some(idx) = self.archive.index_for_name(name) else {
            return Ok(None);
        };
        let file = self
            .archive
            .by_index(idx)
            .map_err(|e| Error::extract(format!("cannot read {name} in the container: {e}")))?;
        let mut buf = Vec::new();
        let limit = self.max as u64;
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::extract(format!("cannot inflate {name} (truncated or corrupt file?): {e}")))?;
        if buf.len() as u64 > limit {
            return Err(Error::extract(format!(
                "{name} inflates beyond {} MB: decompression bomb refused (see [extract] max_decompressed_mb)",
                limit >> 20
            )));
        }
        let text = match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Some(text))
    }
}

/// DOCX or ODT, from the members of the archive.
pub fn office_kind(bytes: &[u8]) -> Result<Format> {
    let mut z = Zip::open(bytes, 1 << 16)?;
    if z.has("word/document.xml") {
        return Ok(Format::Docx);
    }
    if z.has("content.xml") {
        let mime = z.read_text("mimetype").unwrap_or(None).unwrap_or_default();
        if mime.is_empty() || mime.trim().starts_with("application/vnd.oasis.opendocument.text") {
            return Ok(Format::Odt);
        }
        return Err(Error::Unsupported(format!(
            "OpenDocument of type {:?} (only text documents are indexed)",
            mime.trim()
        )));
    }
    Err(Error::Unsupported("zip archive that is not a DOCX or ODT document".into()))
}
