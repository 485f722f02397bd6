//! The OpenAPI 3.1 document of the API. Response schemas are generated from the Rust types the
//! handlers serialise (schemars), so the document cannot drift from what the server answers; a
//! test validates real responses against it.

use schemars::generate::{Contract, SchemaSettings};
use serde_json::{json, Map, Value};

use super::api::DocumentView;
use super::error::CODES;
use crate::search::{FacetNode, SearchResponse};

/// A facet filter as the server takes it: a path of a known family (surrounding blanks and a
/// trailing '/' are forgiven), or a country by its upper-case ISO code.
/// An empty value is no filter.
const FILTER_PATTERN: &str = r"^[ \t\n\r\x0b\x0c]*((/(context|technology|failure_cause|approach|language|doctype|format|year|scan|country)(/[a-z0-9_-]+)*|/country/[A-Z]{2})/?)?[ \t\n\r\x0b\x0c]*$";
/// A language filter: an ISO 639-1 code (or "und"), blanks forgiven; empty means none.
const LANG_PATTERN: &str = r"^[ \t\n\r\x0b\x0c]*([a-z]{2,3})?[ \t\n\r\x0b\x0c]*$";
/// A year, blanks forgiven; empty means none.
const YEAR_PATTERN: &str = r"^[ \t\n\r\x0b\x0c]*(0*[0-9]{1,4})?[ \t\n\r\x0b\x0c]*$";

/// The OpenAPI document of a server with the built-in configuration and the sentence encoder
/// (every mode): what the tests validate responses against.
pub fn document() -> Value {
    let config = crate::config::Config::builtin().expect("the built-in configuration is valid");
    document_for(&config, true)
}

/// The OpenAPI document of a server with `config` (its taxonomy's paths are the only facets a
/// curator or an upload may set) and, when `semantic`, the sentence encoder (modes semantic and
/// hybrid; without it only keyword is accepted).
pub fn document_for(config: &crate::config::Config, semantic: bool) -> Value {
    use crate::config::{family_of, TAGGED_FAMILIES};
    let paths: Vec<&str> = config
        .taxonomy
        .paths()
        .into_iter()
        .filter(|p| family_of(p).is_some_and(|f| TAGGED_FAMILIES.contains(&f)))
        .collect();
    let doctypes: Vec<String> = config
        .taxonomy
        .doctypes
        .iter()
        .flat_map(|d| [d.path.clone(), d.path.trim_start_matches("/doctype/").to_string()])
        .collect();
    // An empty mode or sort is the default (HTML forms send empty fields).
    let modes: Vec<&str> = if semantic { vec!["", "keyword", "semantic", "hybrid"] } else { vec!["", "keyword"] };
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.contract = Contract::Serialize;
            s.meta_schema = None;
        })
        .into_generator();
    let search = generator.subschema_for::<SearchResponse>().to_value();
    let doc = generator.subschema_for::<DocumentView>().to_value();
    let node = generator.subschema_for::<FacetNode>().to_value();
    let brief = generator.subschema_for::<crate::search::Brief>().to_value();
    let mut schemas: Map<String, Value> = generator.take_definitions(true);
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
            "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": CODES.iter().map(|c| c.0).collect::<Vec<_>>()},
                "message": {"type": "string"}}}}}),
    );
    schemas.insert(
        "Facets".into(),
        json!({"type": "object", "required": ["documents", "waiting_for_meaning", "facets"], "properties": {
            "documents": {"type": "integer", "minimum": 0},
            "waiting_for_meaning": {"type": "integer", "minimum": 0,
                "description": "documents tagged by terms only, waiting for the vector phase to decide their tags with meaning"},
            "facets": {"type": "object", "additionalProperties": {"type": "array", "items": node}}}}),
    );
    schemas.insert(
        "Health".into(),
        json!({"type": "object", "required": ["status", "documents", "semantic", "read_only"], "properties": {
            "read_only": {"type": "boolean", "description": "a read replica (`serve --read-only`): it follows the commits of the process that writes the index and takes no writes"},
            "status": {"type": "string"}, "documents": {"type": "integer", "minimum": 0},
            "semantic": {"type": "boolean", "description": "whether the sentence encoder is in use (search by meaning and hybrid); false while the first start installs it"}}}),
    );
    schemas.insert(
        "Uploaded".into(),
        json!({"type": "object", "required": ["id", "title", "path", "language", "facets"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "path": {"type": "string"},
            "language": {"type": "string"},
            "facets": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}),
    );
    schemas.insert(
        "Deleted".into(),
        json!({"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "string"}}}),
    );
    let err = |desc: &str| json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |schema: Value| json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    let id_param = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
        "description": "the document's id (16 hex digits); any other gets 404"});
    let facet_path = json!({"type": "string", "enum": paths});
    // What a stateful client can do with an uploaded document.
    let links = json!({
        "GetDocument": {"operationId": "getDocument", "parameters": {"id": "$response.body#/id"}},
        "SimilarDocuments": {"operationId": "similarDocuments", "parameters": {"id": "$response.body#/id"}},
        "DocumentFile": {"operationId": "documentFile", "parameters": {"id": "$response.body#/id"}},
        "CorrectFacets": {"operationId": "correctFacets", "parameters": {"id": "$response.body#/id"}},
        "DeleteDocument": {"operationId": "deleteDocument", "parameters": {"id": "$response.body#/id"}}});
    let auth_errors = |scope: &str| {
        (
            err("no key, a wrong one or a revoked one"),
            err(&format!("the key lacks the scope {scope} (or admin), the write API is off (no key configured), or this server is a read replica")),
        )
    };
    let (docs401, docs403) = auth_errors("documents:write");
    let (facets401, facets403) = auth_errors("facets:write");
    let q = |name: &str, schema: Value, desc: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": desc});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "wash-lessons", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Search lessons learned in water, sanitation and hygiene."},
        "paths": {
            "/api/search": {"get": {
                "operationId": "search",
                "summary": "Search documents, with facet counts for drill-down",
                "parameters": [
                    q("q", json!({"type": "string", "maxLength": 1000}), "words, \"phrases\", -excluded"),
                    q("filter", json!({"type": "array", "items": {"type": "string", "pattern": FILTER_PATTERN}}), "facet path; repeatable, all must hold"),
                    q("lang", json!({"type": "string", "pattern": LANG_PATTERN}), "ISO 639-1 language"),
                    q("year_min", json!({"type": "string", "pattern": YEAR_PATTERN}), "earliest year (up to 9999)"),
                    q("year_max", json!({"type": "string", "pattern": YEAR_PATTERN}), "latest year (up to 9999)"),
                    q("sort", json!({"type": "string", "enum": ["", "relevance", "newest"]}), "order"),
                    q("mode", json!({"type": "string", "enum": modes}),
                      "by words, by meaning (passage vectors) or both fused; default hybrid when the model is installed, else keyword"),
                    q("limit", json!({"type": "integer", "minimum": 0, "maximum": 100}), "hits per page (default 10)"),
                    q("offset", json!({"type": "integer", "minimum": 0, "maximum": 10000}), "hits to skip")],
                "responses": {"200": ok(search.clone()), "400": err("invalid parameter, filter or query; a semantic mode without the model")}}},
            "/api/brief": {"get": {
                "operationId": "brief",
                "summary": "Why it failed: the failure causes the best-matching documents carry (weighed by rank and tag confidence), each with passages from different documents, and what worked",
                "parameters": [
                    q("q", json!({"type": "string", "maxLength": 1000}), "the question"),
                    q("filter", json!({"type": "array", "items": {"type": "string", "pattern": FILTER_PATTERN}}), "facet path; repeatable, all must hold"),
                    q("lang", json!({"type": "string", "pattern": LANG_PATTERN}), "ISO 639-1 language"),
                    q("year_min", json!({"type": "string", "pattern": YEAR_PATTERN}), "earliest year (up to 9999)"),
                    q("year_max", json!({"type": "string", "pattern": YEAR_PATTERN}), "latest year (up to 9999)"),
                    q("mode", json!({"type": "string", "enum": modes}), "how documents are found")],
                "responses": {"200": ok(brief), "400": err("invalid parameter, filter or query; a semantic mode without the model")}}},
            "/api/documents": {"post": {
                "operationId": "uploadDocument",
                "summary": "Upload, extract, tag and index one file (needs a key with documents:write)",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object",
                    "required": ["file"], "additionalProperties": false, "properties": {
                        "file": {"type": "string", "format": "binary", "minLength": 1,
                                 "description": "PDF, DOCX, ODT, HTML, Markdown, plain text or a zip of them; anything else is answered 422"},
                        "title": {"type": "string"},
                        "year": {"type": "integer", "minimum": 0, "maximum": 9999},
                        "language": {"type": "string", "pattern": r"^[ \t\n\r\x0b\x0c]*[a-z]{2,3}[ \t\n\r\x0b\x0c]*$"},
                        "countries": {"type": "string", "description": "country names or ISO codes, comma-separated"},
                        "doctype": {"type": "string", "enum": doctypes},
                        "keywords": {"type": "string", "description": "comma-separated"},
                        "facets": {"type": "array", "items": facet_path.clone(),
                                   "description": "taxonomy paths: one per field, repeated (a comma-separated list in one field is taken too)"}}},
                    "encoding": {"file": {"contentType": "application/octet-stream"}},
                    "example": {"file": "# Handpump repairs in Mzimba\n\nOf the handpumps visited, many were broken: spare parts came from Lilongwe and the area mechanic had stopped working when the NGO left.\n",
                                "title": "Handpump repairs in Mzimba", "year": 2019, "language": "en", "doctype": "report",
                                "facets": ["/technology/water/borehole/handpump"]}}}},
                "responses": {"201": {"description": "Indexed", "links": links,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Uploaded"}}}},
                    "400": err("a form without exactly one non-empty `file`, an unknown field, or a field with a wrong value"),
                    "401": docs401, "403": docs403,
                    "409": err("index busy"), "413": err("too large"), "422": err("the file could not be read: an unknown format or a damaged file")}}},
            "/api/documents/{id}": {
                "get": {"operationId": "getDocument", "summary": "A document: metadata, facets with evidence, pages", "parameters": [id_param],
                        "responses": {"200": ok(doc.clone()), "404": err("no such document")}},
                "delete": {"operationId": "deleteDocument", "summary": "Remove a document (needs a key with documents:write)", "security": [{"bearer": []}],
                        "parameters": [id_param],
                        "responses": {"200": ok(json!({"$ref": "#/components/schemas/Deleted"})), "401": docs401.clone(),
                                      "403": docs403.clone(), "404": err("no such document"), "409": err("index busy")}}},
            "/api/documents/{id}/similar": {"get": {
                "operationId": "similarDocuments",
                "summary": "Lessons like this document: shared technology, context, failure causes and vocabulary, and passages close in meaning when the model is installed",
                "parameters": [id_param,
                    q("filter", json!({"type": "array", "items": {"type": "string", "pattern": FILTER_PATTERN}}), "facet path; repeatable, all must hold"),
                    q("limit", json!({"type": "integer", "minimum": 0, "maximum": 100}), "hits per page (default 10)"),
                    q("offset", json!({"type": "integer", "minimum": 0, "maximum": 10000}), "hits to skip")],
                "responses": {"200": ok(search.clone()), "400": err("invalid parameter"), "404": err("no such document")}}},
            "/api/documents/{id}/facets": {"put": {
                "operationId": "correctFacets",
                "summary": "A curator's correction of the document's tags (needs a key with facets:write): paths added are set by the curator, paths removed go with everything below them; durable, logged, and it wins over automatic tags",
                "security": [{"bearer": []}],
                "parameters": [id_param],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "add": {"type": "array", "items": facet_path.clone()},
                        "remove": {"type": "array", "items": facet_path.clone()}},
                    "description": "at least one path to add or to remove",
                    "anyOf": [{"required": ["add"], "properties": {"add": {"minItems": 1}}},
                              {"required": ["remove"], "properties": {"remove": {"minItems": 1}}}]}}}},
                "responses": {"200": ok(doc.clone()), "400": err("a path that is not in the taxonomy, an empty correction, or a malformed body"),
                    "401": facets401, "403": facets403, "404": err("no such document"), "409": err("index busy")}}},
            "/api/documents/{id}/file": {"get": {"operationId": "documentFile", "summary": "The original file", "parameters": [id_param],
                "responses": {"200": {"description": "The file, with its content type"}, "404": err("no such document or file")}}},
            "/api/facets": {"get": {"operationId": "facets", "summary": "The whole facet tree with counts",
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/Facets"}))}}},
            "/api/health": {"get": {"operationId": "health", "summary": "Liveness and document count",
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/Health"}))}}},
            "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics", "responses": {"200": {"description": "Prometheus text"}}}},
            "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
    })
}
