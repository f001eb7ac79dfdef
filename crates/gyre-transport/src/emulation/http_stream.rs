//! `POST {http_stream.handler_prefix}` (default `/connection/http_stream`): the body holds the
//! first commands (JSON lines, or varint-delimited protobuf with
//! `Content-Type: application/octet-stream`); the answer streams replies and pushes in the same
//! format. OPTIONS is the CORS preflight; other methods get 405; a body over
//! `http_stream.max_request_body_size` gets 413.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use gyre_core::ProtocolType;

use super::endpoint::is_protobuf;
use super::EmulationState;
use crate::body;

pub(super) const NAME: &str = "http_stream";

pub(super) async fn handle(State(state): State<Arc<EmulationState>>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return crate::cors::preflight();
    }
    if request.method() != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let protocol = if is_protobuf(&request) {
        ProtocolType::Protobuf
    } else {
        ProtocolType::Json
    };
    let snapshot = state.config.load_full();
    let limit = body::limit(snapshot.config.http_stream.max_request_body_size);
    let (parts, request_body) = request.into_parts();
    let declared = body::declared_length(&parts.headers);
    let first = match body::read_limited(request_body, declared, limit).await {
        Ok(first) => first,
        Err(e) => {
            tracing::info!(error = ?e, "error reading http stream request body");
            return e.status().into_response();
        }
    };
    super::start(&state, &snapshot, &parts.headers, NAME, protocol, first, limit)
}
