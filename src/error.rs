//! One error type for the library. User errors (a bad file, a bad filter, a bad config) are kept
//! apart from internal ones so that callers can report them plainly and pick an exit code.

use std::path::PathBuf;

/// Everything that can go wrong in wash-lessons.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration file is missing, malformed or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file could not be read from disk.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// A file was read but its content could not be extracted.
    #[error("{0}")]
    Extract(String),
    /// The file is of a kind the indexer does not handle.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// A search filter is not a facet path the index knows.
    #[error("invalid filter {filter:?}: {reason}")]
    InvalidFilter {
        /// The filter as given.
        filter: String,
        /// Why it was refused.
        reason: String,
    },
    /// The query is longer than the search accepts.
    #[error("query longer than {0} characters")]
    QueryTooLong(usize),
    /// Another process holds the index writer lock.
    #[error("{0}")]
    IndexBusy(String),
    /// Another request parameter is invalid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The index directory cannot be created, opened or written.
    #[error("{0}")]
    Index(String),
    /// The sentence-encoder model is missing, damaged, or cannot be installed.
    #[error("model: {0}")]
    Model(String),
    /// An error from tantivy.
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An extraction error with a message.
    pub fn extract(msg: impl Into<String>) -> Self {
        Error::Extract(msg.into())
    }
}
