//! Code-to-text tables of simple PDF fonts, for what lopdf's own encoding refuses: a
//! `/Differences` array with one glyph name it does not know (`.notdef`, `uni0159`, TeX's
//! `dotlessj`...) makes lopdf drop the whole array, and a Type1 font without `/Encoding` uses
//! the built-in encoding of its embedded font program. Glyph names go through the Adobe Glyph
//! List (lopdf's copy, asked one name at a time and cached), plus the `uniXXXX` / `uXXXX`
//! conventions.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use lopdf::{Dictionary, Document, Object};

/// One entry per code: the text the code stands for (empty when unknown).
pub type Table = Vec<String>;

/// The text of a glyph name, or `None` when the name means nothing known.
pub fn glyph_text(name: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(name).ok()?;
    if s.is_empty() || s == ".notdef" {
        return None;
    }
    // "f_f_i" ligature names and "a.sc" variants.
    let base = s.split('.').next().unwrap_or(s);
    if base.is_empty() {
        return None;
    }
    if base.contains('_') {
        let parts: Option<String> = base.split('_').map(|p| glyph_text(p.as_bytes())).collect();
        return parts;
    }
    if let Some(hex) = base.strip_prefix("uni") {
        if hex.len() >= 4 && hex.len() % 4 == 0 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let units: Vec<u16> =
                (0..hex.len() / 4).filter_map(|i| u16::from_str_radix(&hex[i * 4..i * 4 + 4], 16).ok()).collect();
            return String::from_utf16(&units).ok();
        }
    }
    if let Some(hex) = base.strip_prefix('u') {
        if (4..=6).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).map(String::from);
        }
    }
    static CACHE: OnceLock<Mutex<HashMap<String, Option<String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(base) {
        return hit.clone();
    }
    let found = agl(base).or_else(|| tex_name(base));
    cache.lock().unwrap_or_else(|p| p.into_inner()).insert(base.to_string(), found.clone());
    found
}

/// Asks lopdf's Adobe Glyph List: a font whose Differences name only this glyph at code 65.
fn agl(name: &str) -> Option<String> {
    let doc = Document::with_version("1.5");
    let mut enc = Dictionary::new();
    enc.set("Differences", Object::Array(vec![Object::Integer(65), Object::Name(name.as_bytes().to_vec())]));
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Encoding", Object::Dictionary(enc));
    let e = font.get_font_encoding(&doc).ok()?;
    match e {
        lopdf::Encoding::Differences(_) => e.bytes_to_string(b"A").ok().filter(|s| !s.is_empty()),
        _ => None,
    }
}

/// A name outside the glyph list made of one or two letters and a decimal number (`/a97`,
/// `/g65`, `/cc233`: bitmap Type 3 fonts name glyphs by their code) is that code's character, as
/// pdftotext reads it.
fn numeric_name(name: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(name).ok()?;
    let digits = s.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let prefix = s.len() - digits.len();
    if !(1..=2).contains(&prefix)
        || digits.is_empty()
        || digits.len() > 3
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (32..256).contains(&n).then(|| code_itself(n as u8)).filter(|t| !t.is_empty())
}

/// A code read as Latin-1, for a Type 3 glyph with a name nobody knows (control codes say nothing).
fn code_itself(code: u8) -> String {
    if code < 32 || (127..160).contains(&code) {
        String::new()
    } else {
        char::from(code).to_string()
    }
}

/// Names TeX fonts use that are not in the Adobe Glyph List.
fn tex_name(name: &str) -> Option<String> {
    Some(
        match name {
            "dotlessj" => "ȷ",
            "ff" => "ff",
            "ffi" => "ffi",
            "ffl" => "ffl",
            "visiblespace" => "␣",
            "cwm" | "compwordmark" => "",
            "Germandbls" => "SS",
            "suppress" => "",
            _ => return None,
        }
        .to_string(),
    )
}

/// The table of a base encoding name (`WinAnsiEncoding`, `MacRomanEncoding`, `StandardEncoding`,
/// `MacExpertEncoding`), through lopdf.
fn base_table(doc: &Document, base: Option<&[u8]>) -> Table {
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    if let Some(b) = base {
        font.set("Encoding", Object::Name(b.to_vec()));
    }
    let e = font.get_font_encoding(doc).ok();
    (0u8..=255).map(|c| e.as_ref().and_then(|e| e.bytes_to_string(&[c]).ok()).unwrap_or_default()).collect()
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    match o {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(o),
        _ => o,
    }
}

/// The table of a simple font, when lopdf would get it wrong: a `/Differences` array (applied
/// leniently over the base encoding, or over the font program's built-in encoding), or no
/// `/Encoding` at all with an embedded Type1 program. `None`: leave it to lopdf.
pub fn simple_font_table(doc: &Document, font: &Dictionary, limit: usize) -> Option<Table> {
    let builtin = || builtin_encoding(doc, font, limit);
    let type3 = matches!(font.get(b"Subtype").and_then(Object::as_name), Ok(b"Type3"));
    match font.get(b"Encoding").ok().map(|o| deref(doc, o)) {
        Some(Object::Dictionary(enc)) => {
            let diffs = match enc.get(b"Differences").ok().map(|o| deref(doc, o)) {
                Some(Object::Array(a)) => a,
                _ => return None,
            };
            let base = enc.get(b"BaseEncoding").ok().and_then(|o| deref(doc, o).as_name().ok());
            let mut table = match base {
                Some(b) => base_table(doc, Some(b)),
                None => builtin().unwrap_or_else(|| base_table(doc, None)),
            };
            let mut code: i64 = 0;
            for o in diffs {
                match deref(doc, o) {
                    Object::Integer(i) => code = *i,
                    Object::Real(r) => code = *r as i64,
                    Object::Name(n) => {
                        if (0..256).contains(&code) {
                            table[code as usize] = glyph_text(n)
                                .or_else(|| numeric_name(n))
                                .or_else(|| type3.then(|| code_itself(code as u8)))
                                .unwrap_or_default();
                        }
                        code += 1;
                    }
                    _ => {}
                }
            }
            Some(table)
        }
        None => builtin(),
        _ => None,
    }
}

/// The built-in encoding of an embedded font program: a Type1 program's (`/FontFile`) or a
/// Compact Font Format program's (`/FontFile3`, Type1C). `None` when there is no such program or
/// it uses StandardEncoding.
fn builtin_encoding(doc: &Document, font: &Dictionary, limit: usize) -> Option<Table> {
    let desc = match font.get(b"FontDescriptor").ok().map(|o| deref(doc, o)) {
        Some(Object::Dictionary(d)) => d,
        _ => return None,
    };
    if let Some(Object::Stream(s)) = desc.get(b"FontFile3").ok().map(|o| deref(doc, o)) {
        let data = s.decompressed_content_with_limit(limit).unwrap_or_else(|_| s.content.clone());
        return cff_encoding(&data);
    }
    let Some(Object::Stream(s)) = desc.get(b"FontFile").ok().map(|o| deref(doc, o)) else { return None };
    let data = s.decompressed_content_with_limit(limit).unwrap_or_else(|_| s.content.clone());
    let clear_len = s.dict.get(b"Length1").ok().and_then(|o| deref(doc, o).as_i64().ok()).unwrap_or(0).max(0) as usize;
    let clear = &data[..if clear_len > 0 { clear_len } else { 65536 }.min(data.len())];
    let text = String::from_utf8_lossy(clear);
    let start = text.find("/Encoding")?;
    let rest = &text[start..];
    if rest[9..].trim_start().starts_with("StandardEncoding") {
        return None;
    }
    let end = rest.find("readonly def").or_else(|| rest.find(" def")).unwrap_or(rest.len());
    let mut table = vec![String::new(); 256];
    let mut found = false;
    let words: Vec<&str> = rest[..end].split_whitespace().collect();
    for w in words.windows(4) {
        if w[0] == "dup" && w[3] == "put" {
            if let (Ok(code), Some(name)) = (w[1].parse::<usize>(), w[2].strip_prefix('/')) {
                if code < 256 {
                    table[code] = glyph_text(name.as_bytes()).unwrap_or_default();
                    found = true;
                }
            }
        }
    }
    found.then_some(table)
}

/// The built-in encoding of a Compact Font Format program (code -> glyph through its encoding,
/// glyph -> name through its charset), read with ttf-parser. Codes whose glyph has no name we
/// know stay empty; `None` when the program cannot be parsed or names no glyph at all (an
/// OpenType CFF or a CID-keyed program, whose codes are not names).
fn cff_encoding(data: &[u8]) -> Option<Table> {
    let cff = ttf_parser::cff::Table::parse(data)?;
    let mut found = false;
    let table: Table = (0u8..=255)
        .map(|code| {
            let gid = cff.glyph_index(code).filter(|g| g.0 != 0)?;
            let text = glyph_text(cff.glyph_name(gid)?.as_bytes())?;
            found = true;
            Some(text)
        })
        .map(Option::unwrap_or_default)
        .collect();
    found.then_some(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names_through_the_agl_and_conventions() {
        assert_eq!(glyph_text(b"scaron").as_deref(), Some("š"));
        assert_eq!(glyph_text(b"A").as_deref(), Some("A"));
        assert_eq!(glyph_text(b"uni0159").as_deref(), Some("ř"));
        assert_eq!(glyph_text(b"u1F600").as_deref(), Some("😀"));
        assert_eq!(glyph_text(b"f_f_i").as_deref(), Some("ffi"));
        assert_eq!(glyph_text(b"a.sc").as_deref(), Some("a"));
        assert_eq!(glyph_text(b".notdef"), None);
        assert_eq!(glyph_text(b"nonsenseglyph"), None);
    }

    #[test]
    fn differences_survive_unknown_names_and_builtin_type1_encodings_are_read() {
        let doc = Document::with_version("1.5");
        let mut enc = Dictionary::new();
        enc.set(
            "Differences",
            Object::Array(vec![
                Object::Integer(65),
                Object::Name(b".notdef".to_vec()),
                Object::Name(b"zcaron".to_vec()),
                Object::Name(b"weird-name".to_vec()),
                Object::Name(b"rcaron".to_vec()),
            ]),
        );
        let mut font = Dictionary::new();
        font.set("Type", Object::Name(b"Font".to_vec()));
        font.set("Encoding", Object::Dictionary(enc));
        let t = simple_font_table(&doc, &font, 1 << 20).unwrap();
        assert_eq!((t[65].as_str(), t[66].as_str(), t[67].as_str(), t[68].as_str()), ("", "ž", "", "ř"));
        assert_eq!(t[97], "a", "StandardEncoding underneath");

        let mut doc = Document::with_version("1.5");
        let program = b"%!PS-AdobeFont-1.0: CSR10\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 97 /a put\ndup 248 /rcaron put\nreadonly def\ncurrentfile eexec\n";
        let mut sd = Dictionary::new();
        sd.set("Length1", Object::Integer(program.len() as i64));
        let ff = doc.add_object(lopdf::Stream::new(sd, program.to_vec()));
        let mut desc = Dictionary::new();
        desc.set("FontFile", Object::Reference(ff));
        let mut font = Dictionary::new();
        font.set("Type", Object::Name(b"Font".to_vec()));
        font.set("FontDescriptor", Object::Dictionary(desc));
        let t = simple_font_table(&doc, &font, 1 << 20).unwrap();
        assert_eq!((t[97].as_str(), t[248].as_str(), t[98].as_str()), ("a", "ř", ""));
    }
}
