//! Front matter of Markdown and text notes: a YAML block between `---` lines at the top, with title, date, country, organisation, language, doctype, keywords and
//! facets. Unknown keys are kept out of the metadata but do not fail the file.

use gray_matter::engine::YAML;
use gray_matter::Matter;
use serde_json::Value;

use crate::document::Metadata;

/// Splits front matter from the body. Returns the metadata, the body, and a warning when a
/// front matter block was present but could not be read (the text is then kept whole).
pub fn split(text: &str) -> (Metadata, String, Option<String>) {
    let t = text.trim_start_matches('\u{feff}');
    let trimmed = t.trim_start();
    let parsed = if trimmed.starts_with("---") {
        Matter::<YAML>::new().parse::<Value>(trimmed)
    } else {
        return (Metadata::default(), t.to_string(), None);
    };
    match parsed {
        Ok(entity) => match entity.data {
            Some(Value::Object(map)) => (from_map(&map), entity.content, None),
            Some(_) | None => (Metadata::default(), t.to_string(), None),
        },
        Err(e) => (Metadata::default(), t.to_string(), Some(format!("front matter ignored: {e}"))),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => crate::extract::split_keywords(s),
        Value::Number(n) => vec![n.to_string()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn one(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(one),
        _ => None,
    }
}

fn from_map(map: &serde_json::Map<String, Value>) -> Metadata {
    let mut m = Metadata::default();
    for (k, v) in map {
        match k.to_ascii_lowercase().as_str() {
            "title" | "titre" | "titulo" | "título" => m.title = one(v),
            "date" | "year" | "fecha" | "data" => m.date = one(v),
            "country" | "countries" | "pays" | "pais" | "país" => m.countries = strings(v),
            "organisation" | "organization" | "org" => m.organisation = one(v),
            "author" | "authors" | "auteur" | "autor" => m.authors = strings(v),
            "language" | "lang" | "langue" | "idioma" => m.language = one(v),
            "doctype" | "type" => m.doctype = one(v),
            "keywords" | "tags" => m.keywords = strings(v),
            "description" | "summary" | "subject" => m.description = one(v),
            "facets" => m.facets = strings(v),
            _ => {}
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_front_matter() {
        let (m, body, w) = split("---\ntitle: Learning alliance meeting\ndate: 2019-03-12\ncountry: [Uganda, Kenya]\norganisation: WASH Alliance\nfacets:\n  - /context/setting/rural\n---\n# Notes\n\nBody text.\n");
        assert!(w.is_none());
        assert_eq!(m.title.as_deref(), Some("Learning alliance meeting"));
        assert_eq!(m.date.as_deref(), Some("2019-03-12"));
        assert_eq!(m.countries, vec!["Uganda", "Kenya"]);
        assert_eq!(m.organisation.as_deref(), Some("WASH Alliance"));
        assert_eq!(m.facets, vec!["/context/setting/rural"]);
        assert!(body.trim_start().starts_with("# Notes"));
    }

    #[test]
    fn no_front_matter_keeps_text() {
        let (m, body, w) = split("Just notes.\n---\nmore");
        assert_eq!(m, Metadata::default());
        assert_eq!(body, "Just notes.\n---\nmore");
        assert!(w.is_none());
    }

    #[test]
    fn broken_front_matter_is_a_warning() {
        let (_, body, w) = split("---\ntitle: [unclosed\n---\nBody");
        assert!(body.contains("Body"));
        assert!(w.is_some());
    }
}
