//! `POST /emulation`: an emulated connection's later commands, delivered to the session that
//! holds its stream.
//!
//! Statuses as in Centrifugo: 204 once delivered; 204 as well when this node has no such session
//! (the stream is gone; the SDK learns it from the stream's end) or when the JSON `data` is not a
//! string; 400 for an undecodable body; 404 for another node's id (a single Gyre node knows no
//! other); 413 over `emulation.max_request_body_size`; 405 for methods other than POST/OPTIONS.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use gyre_core::ProtocolType;
use gyre_protocol::codec;

use super::EmulationState;
use crate::body;

pub(super) async fn handle(State(state): State<Arc<EmulationState>>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return crate::cors::preflight();
    }
    if request.method() != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let limit = body::limit(state.config.load().config.emulation.max_request_body_size);
    let format = if is_protobuf(&request) {
        ProtocolType::Protobuf
    } else {
        ProtocolType::Json
    };
    let declared = body::declared_length(request.headers());
    let data = match body::read_limited(request.into_body(), declared, limit).await {
        Ok(data) => data,
        Err(e) => {
            tracing::info!(error = ?e, "error reading emulation request body");
            return e.status().into_response();
        }
    };
    deliver(&state, format, &data).await.into_response()
}

/// Whether a body is protobuf (`Content-Type: application/octet-stream`, exactly as Go compares).
pub(super) fn is_protobuf(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/octet-stream")
}

async fn deliver(state: &EmulationState, format: ProtocolType, data: &[u8]) -> StatusCode {
    let req = match codec::decode_emulation_request(format, data) {
        Ok(req) => req,
        Err(e) => {
            tracing::info!(error = %e, "can't unmarshal emulation request");
            return StatusCode::BAD_REQUEST;
        }
    };
    if req.node != state.node.id() {
        tracing::info!(node = %req.node, "emulation request for an unknown node");
        return StatusCode::NOT_FOUND;
    }
    let Some(session) = state.registry.get(&req.session) else {
        return StatusCode::NO_CONTENT;
    };
    let frame = match session.protocol {
        // A JSON client sends its command frame as a JSON string.
        ProtocolType::Json => match serde_json::from_slice::<String>(&req.data) {
            Ok(text) => Bytes::from(text),
            Err(e) => {
                tracing::info!(error = %e, "emulation request data is not a JSON string");
                return StatusCode::NO_CONTENT;
            }
        },
        ProtocolType::Protobuf => req.data,
    };
    // Fails only when the connection ended meanwhile: the same as an unknown session.
    let _ = session.frames.send(frame).await;
    StatusCode::NO_CONTENT
}
