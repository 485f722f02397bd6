//! The OpenAPI 3.1 document of the API. Response schemas are generated from the Rust types the
//! handlers serialise (schemars), so the document cannot drift from what the server answers; a
//! test validates real responses against it.

use schemars::generate::{Contract, SchemaSettings};
use serde_json::{json, Map, Value};

use super::api::DocumentView;
use super::error::CODES;
use crate::search::{FacetNode, SearchResponse};

/// Builds the OpenAPI document.
pub fn document() -> Value {
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
        json!({"type": "object", "required": ["status", "documents", "semantic"], "properties": {
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
    let id_param = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let q = |name: &str, schema: Value, desc: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": desc});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "wash-lessons", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Search lessons learned in water, sanitation and hygiene."},
        "paths": {
            "/api/search": {"get": {
                "summary": "Search documents, with facet counts for drill-down",
                "parameters": [
                    q("q", json!({"type": "string", "maxLength": 1000}), "words, \"phrases\", -excluded"),
                    q("filter", json!({"type": "array", "items": {"type": "string"}}), "facet path; repeatable, all must hold"),
                    q("lang", json!({"type": "string"}), "ISO 639-1 language"),
                    q("year_min", json!({"type": "integer"}), "earliest year"),
                    q("year_max", json!({"type": "integer"}), "latest year"),
                    q("sort", json!({"type": "string", "enum": ["relevance", "newest"]}), "order"),
                    q("mode", json!({"type": "string", "enum": ["keyword", "semantic", "hybrid"]}),
                      "by words, by meaning (passage vectors) or both fused; default hybrid when the model is installed, else keyword"),
                    q("limit", json!({"type": "integer", "minimum": 0, "maximum": 100}), "hits per page (default 10)"),
                    q("offset", json!({"type": "integer", "minimum": 0, "maximum": 10000}), "hits to skip")],
                "responses": {"200": ok(search.clone()), "400": err("invalid parameter, filter or query; a semantic mode without the model")}}},
            "/api/brief": {"get": {
                "summary": "Why it failed: the failure causes the best-matching documents carry (weighed by rank and tag confidence), each with passages from different documents, and what worked",
                "parameters": [
                    q("q", json!({"type": "string", "maxLength": 1000}), "the question"),
                    q("filter", json!({"type": "array", "items": {"type": "string"}}), "facet path; repeatable, all must hold"),
                    q("lang", json!({"type": "string"}), "ISO 639-1 language"),
                    q("year_min", json!({"type": "integer"}), "earliest year"),
                    q("year_max", json!({"type": "integer"}), "latest year"),
                    q("mode", json!({"type": "string", "enum": ["keyword", "semantic", "hybrid"]}), "how documents are found")],
                "responses": {"200": ok(brief), "400": err("invalid parameter, filter or query; a semantic mode without the model")}}},
            "/api/documents": {"post": {
                "summary": "Upload, extract, tag and index one file (needs the bearer token)",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object",
                    "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"}, "title": {"type": "string"},
                        "year": {"type": "integer"}, "language": {"type": "string"},
                        "countries": {"type": "string"}, "doctype": {"type": "string"},
                        "keywords": {"type": "string"}, "facets": {"type": "string", "description": "facet paths, comma-separated"}}}}}},
                "responses": {"201": {"description": "Indexed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Uploaded"}}}},
                    "400": err("invalid upload"), "401": err("missing or wrong token"), "403": err("write API off"),
                    "409": err("index busy"), "413": err("too large"), "422": err("unreadable document")}}},
            "/api/documents/{id}": {
                "get": {"summary": "A document: metadata, facets with evidence, pages", "parameters": [id_param],
                        "responses": {"200": ok(doc.clone()), "404": err("no such document")}},
                "delete": {"summary": "Remove a document (needs the bearer token)", "security": [{"bearer": []}],
                        "parameters": [id_param],
                        "responses": {"200": ok(json!({"$ref": "#/components/schemas/Deleted"})), "401": err("missing or wrong token"),
                                      "403": err("write API off"), "404": err("no such document"), "409": err("index busy")}}},
            "/api/documents/{id}/similar": {"get": {
                "summary": "Lessons like this document: shared technology, context, failure causes and vocabulary, and passages close in meaning when the model is installed",
                "parameters": [id_param,
                    q("filter", json!({"type": "array", "items": {"type": "string"}}), "facet path; repeatable, all must hold"),
                    q("limit", json!({"type": "integer", "minimum": 0, "maximum": 100}), "hits per page (default 10)"),
                    q("offset", json!({"type": "integer", "minimum": 0, "maximum": 10000}), "hits to skip")],
                "responses": {"200": ok(search.clone()), "400": err("invalid parameter"), "404": err("no such document")}}},
            "/api/documents/{id}/facets": {"put": {
                "summary": "A curator's correction of the document's tags (needs the bearer token): paths added are set by the curator, paths removed go with everything below them; durable, logged, and it wins over automatic tags",
                "security": [{"bearer": []}],
                "parameters": [id_param],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                    "additionalProperties": false, "properties": {
                        "add": {"type": "array", "items": {"type": "string", "pattern": "^/(context|technology|failure_cause|approach)(/[a-z0-9_-]+)+$"}},
                        "remove": {"type": "array", "items": {"type": "string", "pattern": "^/(context|technology|failure_cause|approach)(/[a-z0-9_-]+)+$"}}}}}}},
                "responses": {"200": ok(doc.clone()), "400": err("a path that is not in the taxonomy, an empty correction, or a malformed body"),
                    "401": err("missing or wrong token"), "403": err("write API off"), "404": err("no such document"), "409": err("index busy")}}},
            "/api/documents/{id}/file": {"get": {"summary": "The original file", "parameters": [id_param],
                "responses": {"200": {"description": "The file, with its content type"}, "404": err("no such document or file")}}},
            "/api/facets": {"get": {"summary": "The whole facet tree with counts",
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/Facets"}))}}},
            "/api/health": {"get": {"summary": "Liveness and document count",
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/Health"}))}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Prometheus text"}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
    })
}
