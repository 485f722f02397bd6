//! API errors: every error has a stable snake_case code, an HTTP status and a message, and is
//! answered as `{"error": {"code": "...", "message": "..."}}`. User mistakes are 4xx; an internal
//! error is a 500 with a generic message, and its details go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::Error;

/// The stable error codes, with their status and meaning (listed in the README).
pub const CODES: [(&str, u16, &str); 16] = [
    ("invalid_parameter", 400, "a query parameter has a wrong value (limit, offset, year_min, sort...)"),
    ("invalid_filter", 400, "a filter is not a facet path of a known family"),
    ("invalid_query", 400, "the query is longer than 1000 characters"),
    ("invalid_upload", 400, "the upload is not a multipart form with one `file` field, or its metadata is invalid"),
    ("unauthorized", 401, "the write API needs `Authorization: Bearer KEY` with a key in force (or the --api-token)"),
    ("forbidden", 403, "the key is good but lacks the scope the route needs (documents:write, facets:write or admin)"),
    ("write_disabled", 403, "no key and no API token is configured, so the write API is off"),
    (
        "read_only",
        403,
        "this server is a read replica (`serve --read-only`): send writes to the one that writes the index",
    ),
    ("not_found", 404, "no document with this id, or no such route"),
    ("file_unavailable", 404, "the original file is gone or lies outside the indexed roots"),
    ("method_not_allowed", 405, "the route exists but not with this method"),
    ("index_busy", 409, "another process is writing the index; retry when it has finished"),
    ("payload_too_large", 413, "the request body is larger than the upload limit"),
    ("unprocessable_document", 422, "the uploaded file could not be read or parsed"),
    ("timeout", 503, "the request took longer than the server's time limit"),
    ("internal", 500, "an unexpected error; details are in the server log"),
];

/// An error answered as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

impl ApiError {
    /// An error with one of the [`CODES`].
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        let status = CODES.iter().find(|(c, _, _)| *c == code).map(|(_, s, _)| *s).unwrap_or(500);
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
        }
    }

    /// An internal error: logged, answered with a generic message.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError::new("internal", "internal error; see the server log")
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::InvalidFilter { .. } => ApiError::new("invalid_filter", e.to_string()),
            Error::QueryTooLong(_) => ApiError::new("invalid_query", e.to_string()),
            Error::InvalidRequest(_) => ApiError::new("invalid_parameter", e.to_string()),
            Error::IndexBusy(m) => ApiError::new("index_busy", m),
            Error::Extract(_) | Error::Unsupported(_) | Error::Io { .. } => {
                ApiError::new("unprocessable_document", e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
