//! wash-lessons: a search engine for what the WASH sector has learned the hard way.
//!
//! The data flows one way:
//!
//! ```text
//! files --extract--> Extracted --enrich--> Record --index--> tantivy index
//! query --search--> SearchRequest -> tantivy query + facet filters -> SearchResponse
//! ```
//!
//! - [`extract`] turns one file (PDF, DOCX, ODT, HTML, Markdown, text) into pages of text blocks and
//!   the metadata the file carries. No tantivy, no tagging here.
//! - [`enrich`] detects the language, year, countries, title and document type, and tags the facets
//!   of `index-config/taxonomy.toml` with the evidence for each tag. Pure: no I/O.
//! - [`index`] owns the tantivy schema, the tokenizers, and the writer that upserts records by id.
//! - [`search`] turns a [`search::SearchRequest`] into hits, snippets and facet counts: one result
//!   shape for the command line and the HTTP API.
//! - [`server`] is the HTTP API and web page (axum); the only place that knows HTTP.
//! - [`cli`] is the only place that knows clap.
//! - [`model`] is the multilingual sentence encoder (USE multilingual v3) behind semantic search.

pub mod cli;
pub mod config;
pub mod document;
pub mod enrich;
pub mod error;
pub mod extract;
pub mod index;
pub mod ingest;
pub mod language;
pub mod model;
pub mod search;
pub mod server;
pub mod text;

pub use config::Config;
pub use error::{Error, Result};
