//! Search: a [`SearchRequest`] becomes a tantivy query (the user's words, leniently parsed, over
//! every language's title and body fields, plus facet, language and year filters that do not
//! change scores), and the matches become a [`SearchResponse`]: hits with snippets from the page
//! where the words occur, and facet counts for drill-down. One result shape for the command
//! line and the HTTP API; no HTTP types here.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, FacetCollector, FacetCounts, MultiCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, QueryParser, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, IndexReader, Order, Searcher, TantivyDocument, Term};

use crate::config::{check_path_syntax, family_of, ALL_FAMILIES, TAGGED_FAMILIES};
use crate::document::Record;
use crate::error::{Error, Result};
use crate::index::vectors::PassageMatch;
use crate::index::{DocumentStatistics, WashIndex};

pub mod expand;
pub mod hybrid;

pub use expand::Expander;
use expand::{typo_candidates, typo_distance, Concept};
pub use hybrid::{Fusion, Mode, Semantic};

pub mod brief;
mod execute;
mod facets;
mod plan;
mod request;
mod response;
mod similar;
mod snippet;

pub use brief::{brief, Brief, BriefCause, BriefPassage};
pub use execute::search;
pub use facets::{facet_tree, facet_trees};
pub use plan::query_parser;
pub use request::{SearchRequest, Sort, MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS};
pub use response::{
    escape_html, snippet_text, FacetCount, FacetNode, Hit, MatchedBy, PassageHit, SearchResponse, Snippet,
};
pub use similar::similar;

use execute::*;
use plan::*;
use request::*;
use response::*;
use snippet::*;
