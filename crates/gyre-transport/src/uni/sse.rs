//! `{uni_sse.handler_prefix}` (default `/connection/uni_sse`): a unidirectional stream of Server-
//! Sent Events, readable by a browser's plain `EventSource`. The connect request is the
//! `cf_connect` query parameter of a GET (absent: an empty request) or a POST body (over
//! `uni_sse.max_request_body_size` → 413). Not a JSON connect request → 400; other methods → 405.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::connect::{connect_frame, CONNECT_PARAM};
use super::{ConnectErrorResponses, UniState};
use crate::stream::Framing;
use crate::{body, query};

const NAME: &str = "uni_sse";

pub(super) async fn handle(State(state): State<Arc<UniState>>, request: Request) -> Response {
    let snapshot = state.config.load_full();
    let config = &snapshot.config.uni_sse;
    let (parts, request_body) = request.into_parts();
    let request = if parts.method == Method::GET {
        query::get(parts.uri.query(), CONNECT_PARAM)
            .filter(|v| !v.is_empty())
            .map_or_else(|| Bytes::from_static(b"{}"), Bytes::from)
    } else if parts.method == Method::POST {
        let limit = body::limit(config.max_request_body_size);
        let declared = body::declared_length(&parts.headers);
        match body::read_limited(request_body, declared, limit).await {
            Ok(request) => request,
            Err(e) => return refused_body(e),
        }
    } else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    let connect = match connect_frame(&request) {
        Ok(connect) => connect,
        Err(e) => {
            tracing::info!(error = %e, transport = NAME, "error unmarshalling connect request");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let connect_errors = ConnectErrorResponses::from_config(&config.connect_code_to_http_response);
    super::serve_stream(
        &state,
        &snapshot,
        &parts.headers,
        NAME,
        Framing::Sse,
        connect,
        connect_errors,
    )
    .await
}

/// A body the unidirectional streams could not read: 413 when too large; a broken one gets an
/// empty 200, as Go's handler returns without writing anything.
pub(super) fn refused_body(e: body::BodyError) -> Response {
    tracing::info!(error = ?e, "error reading unidirectional connect request body");
    match e {
        body::BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        body::BodyError::Failed => StatusCode::OK.into_response(),
    }
}
