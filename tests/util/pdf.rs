//! The project's own small PDF writer, for tests and for the corpus sample: headings and
//! paragraphs set in the standard Helvetica fonts (WinAnsi encoding), wrapped to the page width,
//! flowing over A4 pages with a running header and a page number, and an Info dictionary.
//! It is a second PDF producer beside LibreOffice, not a general typesetter.

#![allow(dead_code)]

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream, StringFormat};

/// A block of the document to typeset.
#[derive(Debug, Clone)]
pub enum Item {
    /// A heading of level 1 (largest) to 3.
    Heading(u8, String),
    /// A paragraph.
    Para(String),
}

/// Document properties for the Info dictionary.
#[derive(Debug, Clone, Default)]
pub struct Info {
    pub title: String,
    pub author: String,
    pub subject: String,
    pub keywords: String,
    /// `D:YYYYMMDD000000Z`.
    pub creation_date: String,
    /// Running header text (short title).
    pub header: String,
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 64.0;

fn winansi(s: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
    bytes.into_owned()
}

/// Approximate Helvetica advance widths (per 1000 em) for wrapping.
fn char_width(c: char, bold: bool) -> f32 {
    let w = match c {
        'i' | 'j' | 'l' | '\'' | '.' | ',' | ':' | ';' | '!' | '|' => 250.0,
        'f' | 't' | 'r' | 'I' | ' ' | '(' | ')' | '-' => 320.0,
        'm' | 'w' | 'M' | 'W' => 850.0,
        c if c.is_uppercase() => 690.0,
        c if c.is_ascii_digit() => 556.0,
        _ => 540.0,
    };
    if bold {
        w * 1.06
    } else {
        w
    }
}

fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0.0;
    let space = char_width(' ', bold) * size / 1000.0;
    for word in text.split_whitespace() {
        let w: f32 = word.chars().map(|c| char_width(c, bold) * size / 1000.0).sum();
        if !cur.is_empty() && cur_w + space + w > width {
            lines.push(std::mem::take(&mut cur));
            cur_w = 0.0;
        }
        if !cur.is_empty() {
            cur.push(' ');
            cur_w += space;
        }
        cur.push_str(word);
        cur_w += w;
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Typesets `items` into a PDF.
pub fn write_pdf(items: &[Item], info: &Info) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let regular = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let bold = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica-Bold", "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });

    // Lay out lines: (font, size, text, gap before).
    let width = PAGE_W - 2.0 * MARGIN;
    let mut lines: Vec<(&str, f32, String, f32)> = Vec::new();
    for item in items {
        match item {
            Item::Heading(level, text) => {
                let size = match level {
                    1 => 17.0,
                    2 => 13.5,
                    _ => 11.5,
                };
                for (i, l) in wrap(text, size, true, width).into_iter().enumerate() {
                    lines.push(("F2", size, l, if i == 0 { size * 1.2 } else { 0.0 }));
                }
            }
            Item::Para(text) => {
                for (i, l) in wrap(text, 10.5, false, width).into_iter().enumerate() {
                    lines.push(("F1", 10.5, l, if i == 0 { 6.0 } else { 0.0 }));
                }
            }
        }
    }

    let mut page_ids = Vec::new();
    let mut ops: Vec<Operation> = Vec::new();
    let mut y = PAGE_H - MARGIN;
    let mut page_no = 1;
    let text_op = |ops: &mut Vec<Operation>, font: &str, size: f32, x: f32, y: f32, s: &str| {
        ops.push(Operation::new("BT", vec![]));
        ops.push(Operation::new("Tf", vec![font.into(), size.into()]));
        ops.push(Operation::new("Td", vec![x.into(), y.into()]));
        ops.push(Operation::new("Tj", vec![Object::String(winansi(s), StringFormat::Literal)]));
        ops.push(Operation::new("ET", vec![]));
    };
    let mut finish_page = |doc: &mut Document, ops: &mut Vec<Operation>, page_no: i32| {
        if !info.header.is_empty() {
            text_op(ops, "F1", 8.0, MARGIN, PAGE_H - 36.0, &info.header);
        }
        text_op(ops, "F1", 8.0, PAGE_W / 2.0 - 10.0, 30.0, &format!("Page {page_no}"));
        let content = Content { operations: std::mem::take(ops) };
        let stream = Stream::new(dictionary! {}, content.encode().expect("content encodes"));
        let content_id = doc.add_object(stream);
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        page_ids.push(page);
    };
    for (font, size, text, gap) in &lines {
        let lead = size * 1.35;
        if y - gap - lead < MARGIN {
            finish_page(&mut doc, &mut ops, page_no);
            page_no += 1;
            y = PAGE_H - MARGIN;
        } else {
            y -= gap;
        }
        y -= lead;
        text_op(&mut ops, font, *size, MARGIN, y, text);
    }
    finish_page(&mut doc, &mut ops, page_no);

    let kids: Vec<Object> = page_ids.iter().map(|&id| id.into()).collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => page_ids.len() as i64,
            "Resources" => resources, "MediaBox" => vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let text = |s: &str| Object::string_literal(winansi(s));
    let mut info_dict =
        dictionary! { "Producer" => text("wash-lessons pdfgen"), "Creator" => text("wash-lessons pdfgen") };
    for (k, v) in [
        ("Title", &info.title),
        ("Author", &info.author),
        ("Subject", &info.subject),
        ("Keywords", &info.keywords),
        ("CreationDate", &info.creation_date),
    ] {
        if !v.is_empty() {
            info_dict.set(k, text(v));
        }
    }
    let info_id = doc.add_object(info_dict);
    doc.trailer.set("Info", info_id);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("PDF writes");
    out
}

/// Reads the small Markdown subset of the corpus sources: YAML front matter (title, author,
/// date, keywords, subject), `#` headings, paragraphs, list items and pipe tables (as lines).
pub fn from_markdown(src: &str) -> (Vec<Item>, Info) {
    let mut info = Info::default();
    let mut body = src;
    if let Some(rest) = src.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---") {
            for line in rest[..end].lines() {
                if let Some((k, v)) = line.split_once(':') {
                    let v = v.trim().trim_matches('"').trim_matches('[').trim_matches(']').replace('"', "");
                    match k.trim() {
                        "title" => info.title = v,
                        "author" => info.author = v,
                        "subject" => info.subject = v,
                        "keywords" => info.keywords = v,
                        "date" => {
                            let d: String = v.chars().filter(|c| c.is_ascii_digit()).collect();
                            if d.len() >= 8 {
                                info.creation_date = format!("D:{}000000Z", &d[..8]);
                            }
                        }
                        _ => {}
                    }
                }
            }
            body = rest[end + 4..].trim_start_matches('-');
        }
    }
    info.header = info.title.chars().take(70).collect();
    let mut items = Vec::new();
    let mut para = String::new();
    let flush = |para: &mut String, items: &mut Vec<Item>| {
        let t = para.split_whitespace().collect::<Vec<_>>().join(" ");
        if !t.is_empty() {
            items.push(Item::Para(t));
        }
        para.clear();
    };
    for line in body.lines() {
        let l = line.trim();
        if l.is_empty() {
            flush(&mut para, &mut items);
        } else if let Some(h) = l.strip_prefix('#') {
            flush(&mut para, &mut items);
            let level = 1 + h.chars().take_while(|&c| c == '#').count() as u8;
            items.push(Item::Heading(level.min(3), h.trim_start_matches('#').trim().to_string()));
        } else if l.starts_with('|') {
            flush(&mut para, &mut items);
            if l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                continue;
            }
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            items.push(Item::Para(cells.join("   ")));
        } else if l.starts_with("- ")
            || l.starts_with("* ")
            || l.chars().next().is_some_and(|c| c.is_ascii_digit()) && l.contains(". ") && l.find(". ") < Some(4)
        {
            flush(&mut para, &mut items);
            para.push_str(l.trim_start_matches(['-', '*']).trim());
            flush(&mut para, &mut items);
        } else {
            para.push(' ');
            para.push_str(&l.replace("**", "").replace('*', ""));
        }
    }
    flush(&mut para, &mut items);
    (items, info)
}

/// Assembles a PDF from numbered object bodies (object 1 is the catalog), computing the xref.
pub fn assemble(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// A stream object body.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// A one-page PDF showing `text` in Helvetica, with extra page resources.
pub fn one_page(content: &[u8], resources_extra: &str, media_box: &str) -> Vec<Vec<u8>> {
    vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox {media_box} /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> {resources_extra} >> >>"
        )
        .into_bytes(),
        stream("", content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ]
}

/// An encrypted copy (RC4, 128-bit) of a PDF written by [`write_pdf`].
pub fn encrypted(items: &[Item], user_password: &str) -> Vec<u8> {
    let bytes = write_pdf(items, &Info { title: "Encrypted report".into(), ..Default::default() });
    let mut doc = Document::load_mem(&bytes).expect("own PDF loads");
    let id = Object::String(b"0123456789abcdef".to_vec(), StringFormat::Literal);
    doc.trailer.set("ID", Object::Array(vec![id.clone(), id]));
    let version = lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner-secret",
        user_password,
        key_length: 128,
        permissions: lopdf::Permissions::all(),
    };
    let state = lopdf::EncryptionState::try_from(version).expect("encryption state");
    doc.encrypt(&state).expect("encrypts");
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    out
}

/// A Compact Font Format (Type1C) font program with an encoding of its own, as dvipdfmx embeds
/// TeX's symbol fonts: glyph `i + 1` is named `glyphs[i].1` and drawn by code `glyphs[i].0`.
/// Every name is a custom string (SID 391 on) and every glyph draws nothing.
pub fn cff_program(glyphs: &[(u8, &str)]) -> Vec<u8> {
    fn index(items: &[&[u8]]) -> Vec<u8> {
        let mut v = (items.len() as u16).to_be_bytes().to_vec();
        if items.is_empty() {
            return v;
        }
        v.push(2);
        let mut off = 1u16;
        v.extend(off.to_be_bytes());
        for it in items {
            off += it.len() as u16;
            v.extend(off.to_be_bytes());
        }
        for it in items {
            v.extend_from_slice(it);
        }
        v
    }
    // Five-byte integers keep the Top DICT's size fixed, so offsets are known before it is written.
    fn int(n: usize) -> Vec<u8> {
        let mut v = vec![29];
        v.extend((n as i32).to_be_bytes());
        v
    }
    let header = [1u8, 0, 4, 2];
    let name = index(&[b"Crafted"]);
    let names: Vec<&[u8]> = glyphs.iter().map(|(_, n)| n.as_bytes()).collect();
    let strings = index(&names);
    let global_subrs = index(&[]);
    let top_len = 5 * 3 + 3 + 5 * 2 + 1;
    let start = header.len() + name.len() + index(&[&vec![0u8; top_len]]).len() + strings.len() + global_subrs.len();
    let mut charset = vec![0u8];
    for i in 0..glyphs.len() {
        charset.extend(((391 + i) as u16).to_be_bytes());
    }
    let mut encoding = vec![0u8, glyphs.len() as u8];
    encoding.extend(glyphs.iter().map(|(c, _)| *c));
    let endchar: &[u8] = &[14];
    let charstrings = index(&vec![endchar; glyphs.len() + 1]);
    let mut private = int(0);
    private.push(20); // defaultWidthX 0
    let (charset_at, encoding_at) = (start, start + charset.len());
    let charstrings_at = encoding_at + encoding.len();
    let private_at = charstrings_at + charstrings.len();
    let mut top = Vec::new();
    for (value, op) in [(charset_at, 15u8), (encoding_at, 16), (charstrings_at, 17)] {
        top.extend(int(value));
        top.push(op);
    }
    top.extend(int(private.len()));
    top.extend(int(private_at));
    top.push(18);
    assert_eq!(top.len(), top_len);
    let mut out = header.to_vec();
    for part in [name, index(&[&top]), strings, global_subrs, charset, encoding, charstrings, private] {
        out.extend(part);
    }
    out
}
