//! `{sse.handler_prefix}` (default `/connection/sse`): bidirectional emulation over Server-Sent
//! Events, JSON only. The first commands come in the `cf_connect` query parameter of a GET (the
//! browser's `EventSource`; missing → 400) or as a POST body (over `sse.max_request_body_size` →
//! 413). Other methods get 405 (there is no preflight: an `EventSource` never sends one).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use gyre_core::ProtocolType;

use super::EmulationState;
use crate::{body, query};

pub(super) const NAME: &str = "sse";

/// The query parameter holding the first commands of a GET.
pub(crate) const CONNECT_PARAM: &str = "cf_connect";

pub(super) async fn handle(State(state): State<Arc<EmulationState>>, request: Request) -> Response {
    let snapshot = state.config.load_full();
    let limit = body::limit(snapshot.config.sse.max_request_body_size);
    let (parts, request_body) = request.into_parts();
    let first = if parts.method == Method::GET {
        match query::get(parts.uri.query(), CONNECT_PARAM).filter(|v| !v.is_empty()) {
            Some(commands) => Bytes::from(commands),
            None => {
                tracing::debug!("no connect command");
                return StatusCode::BAD_REQUEST.into_response();
            }
        }
    } else if parts.method == Method::POST {
        let declared = body::declared_length(&parts.headers);
        match body::read_limited(request_body, declared, limit).await {
            Ok(first) => first,
            Err(e) => {
                tracing::info!(error = ?e, "error reading sse request body");
                return e.status().into_response();
            }
        }
    } else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    super::start(
        &state,
        &snapshot,
        &parts.headers,
        NAME,
        ProtocolType::Json,
        first,
        limit,
    )
}
