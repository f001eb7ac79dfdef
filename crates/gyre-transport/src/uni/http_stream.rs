//! `POST {uni_http_stream.handler_prefix}` (default `/connection/uni_http_stream`): the body is a
//! JSON connect request (over `uni_http_stream.max_request_body_size` → 413, not a connect request
//! → 400); the answer streams pushes, one JSON message per line. OPTIONS is the CORS preflight;
//! other methods get 405.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::connect::connect_frame;
use super::sse::refused_body;
use super::{ConnectErrorResponses, UniState};
use crate::body;
use crate::stream::Framing;

const NAME: &str = "uni_http_stream";

pub(super) async fn handle(State(state): State<Arc<UniState>>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return crate::cors::preflight();
    }
    if request.method() != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let snapshot = state.config.load_full();
    let config = &snapshot.config.uni_http_stream;
    let (parts, request_body) = request.into_parts();
    let limit = body::limit(config.max_request_body_size);
    let declared = body::declared_length(&parts.headers);
    let request = match body::read_limited(request_body, declared, limit).await {
        Ok(request) => request,
        Err(e) => return refused_body(e),
    };
    let connect = match connect_frame(&request) {
        Ok(connect) => connect,
        Err(e) => {
            tracing::debug!(error = %e, transport = NAME, "malformed connect request");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let connect_errors = ConnectErrorResponses::from_config(&config.connect_code_to_http_response);
    super::serve_stream(
        &state,
        &snapshot,
        &parts.headers,
        NAME,
        Framing::JsonLines,
        connect,
        connect_errors,
    )
    .await
}
