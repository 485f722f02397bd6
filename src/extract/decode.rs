//! Text decoding for notes and pages that are not UTF-8: byte order marks, UTF-16 without a
//! mark, and legacy single-byte encodings (Windows-1252 and friends) guessed by chardetng.

use crate::error::{Error, Result};

/// Decodes bytes to text. Returns the text and the name of the encoding used.
pub fn decode_text(bytes: &[u8]) -> Result<(String, &'static str)> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok((String::from_utf8_lossy(rest).into_owned(), "UTF-8"));
    }
    if let Some(enc) = utf16_kind(bytes) {
        let (text, _, _) = enc.decode(bytes); // handles and strips a BOM
        return Ok((text.into_owned(), enc.name()));
    }
    if looks_binary(bytes) {
        return Err(Error::extract("binary content, not text"));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8"));
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    let enc = det.guess(None, chardetng::Utf8Detection::Deny);
    let (text, _, _) = enc.decode(bytes);
    Ok((text.into_owned(), enc.name()))
}

/// UTF-16 by byte order mark, or by the pattern of zero bytes of mostly-ASCII UTF-16 text.
fn utf16_kind(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return Some(encoding_rs::UTF_16LE);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Some(encoding_rs::UTF_16BE);
    }
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 8 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even_zero = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_zero = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if odd_zero * 10 > pairs * 7 && even_zero * 10 < pairs {
        Some(encoding_rs::UTF_16LE)
    } else if even_zero * 10 > pairs * 7 && odd_zero * 10 < pairs {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Binary data: NUL bytes, or many control characters, in the first 8 KB (UTF-16 excluded).
pub fn looks_binary(bytes: &[u8]) -> bool {
    if utf16_kind(bytes).is_some() {
        return false;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.contains(&0) {
        return true;
    }
    let controls = sample.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)).count();
    controls * 100 > sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_notes_come_out_right() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("Réunion du comité – coût 20 € “pompe”");
        let (text, enc) = decode_text(&bytes).unwrap();
        assert_eq!(text, "Réunion du comité – coût 20 € “pompe”");
        assert_eq!(enc, "windows-1252");
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let s = "Comité de gestion: la pompe est en panne depuis mars.";
        let mut le: Vec<u8> = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&le).unwrap().0, s);
        let be: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(decode_text(&be).unwrap().0, s);
    }

    #[test]
    fn invalid_utf8_is_decoded_not_fatal() {
        let bytes = b"Latrines \xe9vacu\xe9es, invalid \xff\xfe\xfd bytes".to_vec();
        let (text, _) = decode_text(&bytes).unwrap();
        assert!(text.starts_with("Latrines"));
    }

    #[test]
    fn binary_is_refused() {
        assert!(decode_text(b"\x00\x01\x02\x03binary\x00").is_err());
    }
}
