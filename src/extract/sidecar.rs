//! Sidecar files `NAME.meta.toml`: metadata and facets a curator gives for a file. They win over
//! what the file says about itself and over tagging. Strict: an unknown key is an error.

use std::path::Path;

use serde::Deserialize;

use crate::document::Metadata;
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    title: Option<String>,
    date: Option<String>,
    year: Option<u32>,
    language: Option<String>,
    #[serde(default)]
    countries: Vec<String>,
    organisation: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    doctype: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    description: Option<String>,
    #[serde(default)]
    facets: Vec<String>,
}

/// Reads a sidecar file.
pub fn read(path: &Path) -> Result<Metadata> {
    let src = std::fs::read_to_string(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    parse(&src).map_err(|e| Error::extract(format!("sidecar {}: {e}", path.display())))
}

fn parse(src: &str) -> std::result::Result<Metadata, String> {
    let s: Sidecar = toml::from_str(src).map_err(|e| e.to_string())?;
    Ok(Metadata {
        title: s.title,
        authors: s.authors,
        date: s.date.or(s.year.map(|y| y.to_string())),
        keywords: s.keywords,
        description: s.description,
        language: s.language,
        countries: s.countries,
        organisation: s.organisation,
        doctype: s.doctype,
        facets: s.facets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let m = parse("title = \"X\"\nyear = 2011\nfacets = [\"/technology/water/spring\"]\n").unwrap();
        assert_eq!(m.date.as_deref(), Some("2011"));
        assert_eq!(m.facets, vec!["/technology/water/spring"]);
        let e = parse("titel = \"X\"\n").unwrap_err();
        assert!(e.contains("titel") && e.contains("line 1"), "{e}");
    }
}
