//! CORS on the connection endpoints and `/emulation`, as Centrifugo's middleware does it: when the
//! request's `Origin` passes `client.allowed_origins`, the answer allows exactly that origin with
//! credentials and echoes the requested headers. A refused origin is not an error here: the answer
//! simply carries no CORS headers, so a browser hides it from the page.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use gyre_config::SharedConfig;

use crate::origin::OriginCache;

struct Cors {
    config: SharedConfig,
    origins: OriginCache,
}

/// Wraps every route of `router` in the CORS middleware.
pub(crate) fn layer(router: Router, config: SharedConfig) -> Router {
    let state = Arc::new(Cors {
        config,
        origins: OriginCache::default(),
    });
    router.layer(axum::middleware::from_fn_with_state(state, cors))
}

async fn cors(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(ORIGIN).cloned();
    let requested_headers = request.headers().get(ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    let allowed = {
        let snapshot = cors.config.load_full();
        let origin_text = origin.as_ref().map(|v| String::from_utf8_lossy(v.as_bytes()));
        let allowed = cors.origins.checker(&snapshot).allows(origin_text.as_deref());
        if !allowed {
            tracing::info!(origin = ?origin_text, "request Origin is not authorized");
        }
        allowed
    };
    let mut response = next.run(request).await;
    // Without an Origin there is nothing to allow (Go would send an empty one).
    if let (true, Some(origin)) = (allowed, origin) {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if let Some(requested) = requested_headers.filter(|v| !v.is_empty() && v != "null") {
            headers.append(ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    response
}

/// The answer to a browser's preflight `OPTIONS` on the POST endpoints (HTTP-streaming, the
/// unidirectional one and `/emulation`).
pub(crate) fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("300"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    response
}
