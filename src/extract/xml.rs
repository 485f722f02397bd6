//! A small event layer over quick-xml for the office formats: local names only, attributes
//! unescaped, entity and character references resolved into the text.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{Error, Result};

/// One XML event, reduced to what the office extractors need.
pub enum Ev<'a> {
    /// An opening tag (local name, attributes by local name).
    Start(&'a str, &'a [(String, String)]),
    /// A closing tag (local name).
    End(&'a str),
    /// A self-closing tag.
    Empty(&'a str, &'a [(String, String)]),
    /// Character data.
    Text(&'a str),
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn attrs(e: &BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key: &str = a.key.as_ref();
            let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok()?;
            Some((local(key).to_string(), value.into_owned()))
        })
        .collect()
}

/// The value of an attribute by local name.
pub fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Walks `xml`, calling `f` for every event. Errors name the part being read.
pub fn walk(xml: &str, part: &str, mut f: impl FnMut(Ev<'_>)) -> Result<()> {
    let mut reader = Reader::from_str(xml);
    loop {
        let ev = reader.read_event().map_err(|e| {
            Error::extract(format!("malformed XML in {part} at byte {}: {e}", reader.buffer_position()))
        })?;
        match ev {
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                f(Ev::Start(local(&name), &attrs(&e)));
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                f(Ev::Empty(local(&name), &attrs(&e)));
            }
            Event::End(e) => {
                let name = e.name().as_ref().to_string();
                f(Ev::End(local(&name)));
            }
            Event::Text(t) => f(Ev::Text(&t.xml10_content())),
            Event::CData(t) => f(Ev::Text(&t.xml10_content())),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    f(Ev::Text(c.encode_utf8(&mut [0; 4])));
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r) {
                    f(Ev::Text(s));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}

/// Text children of simple metadata elements (`dc:title` and the like), by local name.
pub fn simple_fields(xml: &str, part: &str) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    walk(xml, part, |ev| match ev {
        Ev::Start(n, _) => {
            stack.push(n.to_string());
            out.push((n.to_string(), String::new()));
        }
        Ev::End(_) => {
            stack.pop();
        }
        Ev::Text(t) => {
            if let (Some(top), Some(last)) = (stack.last(), out.last_mut()) {
                if &last.0 == top {
                    last.1.push_str(t);
                }
            }
        }
        Ev::Empty(..) => {}
    })?;
    out.retain(|(_, v)| !v.trim().is_empty());
    for (_, v) in out.iter_mut() {
        *v = crate::text::squash_ws(v);
    }
    Ok(out)
}
