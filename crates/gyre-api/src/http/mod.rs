//! The HTTP adapter: `POST {prefix}/<method>` plus the legacy `POST {prefix}`.
//!
//! Per request: method check (405 from the router), API key check on the head, body read under a
//! cap, JSON decode, executor call, JSON encode. Configuration (key, error mode) is read from the
//! live snapshot on every request; the prefix is fixed when the router is built.

mod auth;
mod body;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use gyre_config::SharedConfig;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use body::MAX_BODY_SIZE;

use crate::error::ApiError;
use crate::raw::decode;
use crate::results::Envelope;
use crate::{ApiObserver, Executor, LegacyError};

#[derive(Clone)]
pub(crate) struct HttpState {
    executor: Executor,
    config: SharedConfig,
}

impl HttpState {
    fn observer(&self) -> &Arc<dyn ApiObserver> {
        self.executor.observer()
    }

    fn count_error(&self, method: &str, error: &str) {
        self.observer()
            .command_error(self.executor.protocol(), method, error);
    }

    /// Checks the key, then reads the body. `Err` is the response to send instead.
    async fn authorized_body(&self, method: &str, req: Request) -> Result<Bytes, Response> {
        let (parts, body) = req.into_parts();
        let allowed = {
            let snapshot = self.config.load();
            auth::authorized(&snapshot.config.http_api, &parts.headers, parts.uri.query())
        };
        if !allowed {
            return Err(empty(StatusCode::UNAUTHORIZED));
        }
        match body::read_body(&parts.headers, body, MAX_BODY_SIZE).await {
            Ok(bytes) => Ok(bytes),
            Err(body::BodyError::TooLarge) => {
                tracing::error!(path = parts.uri.path(), "API request body too large");
                self.count_error(method, "read_body");
                Err(body::plain_error(StatusCode::PAYLOAD_TOO_LARGE))
            }
            Err(body::BodyError::Read(e)) => {
                tracing::error!(error = %e, path = parts.uri.path(), "error reading API request body");
                self.count_error(method, "read_body");
                Err(body::plain_error(StatusCode::INTERNAL_SERVER_ERROR))
            }
        }
    }

    fn transport_error_mode(&self, headers: &HeaderMap) -> bool {
        self.config.load().config.http_api.error_mode == "transport"
            || headers
                .get("x-centrifugo-error-mode")
                .is_some_and(|v| v.as_bytes() == b"transport")
    }
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = status;
    response
}

/// One single-method request, start to finish.
async fn serve_method<Req, Res, F, Fut>(
    state: HttpState,
    method: &'static str,
    req: Request,
    call: F,
) -> Response
where
    Req: DeserializeOwned + Default,
    Res: Serialize + Send + 'static,
    F: FnOnce(Executor, Req) -> Fut,
    Fut: Future<Output = Result<Res, ApiError>> + Send + 'static,
{
    let transport_mode = state.transport_error_mode(req.headers());
    let body = match state.authorized_body(method, req).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: Req = match decode(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, method, "error decoding API request body");
            state.count_error(method, "unmarshal");
            return body::plain_error(StatusCode::BAD_REQUEST);
        }
    };
    let Some(result) = run_to_completion(call(state.executor.clone(), request)).await else {
        return body::plain_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    if let Err(e) = &result {
        state.count_error(method, &e.code.to_string());
        if transport_mode {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return match serde_json::to_vec(e) {
                Ok(bytes) => body::json(status, bytes),
                Err(_) => body::plain_error(StatusCode::INTERNAL_SERVER_ERROR),
            };
        }
    }
    encode(&state, method, &Envelope::from(&result))
}

fn encode<T: Serialize>(state: &HttpState, method: &str, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => body::json(StatusCode::OK, bytes),
        Err(e) => {
            tracing::error!(error = %e, method, "error encoding API response");
            state.count_error(method, "marshal");
            body::plain_error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

async fn serve_batch(State(state): State<HttpState>, req: Request) -> Response {
    let body = match state.authorized_body("batch", req).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: crate::BatchRequest = match decode(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "error decoding API batch request body");
            state.count_error("batch", "unmarshal");
            return body::plain_error(StatusCode::BAD_REQUEST);
        }
    };
    // Errors stay inside the replies: a batch never uses transport error mode.
    let executor = state.executor.clone();
    let Some(result) = run_to_completion(async move { executor.batch(request).await }).await else {
        return body::plain_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    encode(&state, "batch", &result)
}

async fn serve_legacy(State(state): State<HttpState>, req: Request) -> Response {
    let body = match state.authorized_body("legacy", req).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let executor = state.executor.clone();
    let outcome = run_to_completion(async move { crate::execute_legacy(&executor, &body).await }).await;
    match outcome {
        Some(Ok(out)) => body::json(StatusCode::OK, out),
        Some(Err(e @ (LegacyError::Empty | LegacyError::Malformed(_)))) => {
            tracing::error!(error = %e, "bad legacy API request");
            body::plain_error(StatusCode::BAD_REQUEST)
        }
        Some(Err(e @ LegacyError::Encode(_))) => {
            tracing::error!(error = %e, "legacy API reply");
            state.count_error("legacy", "marshal");
            body::plain_error(StatusCode::INTERNAL_SERVER_ERROR)
        }
        None => body::plain_error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// Runs an API call on its own task so it completes even if the HTTP client goes away
/// mid-request (half a broadcast or batch must not be silently dropped), and so a panic in it
/// becomes a 500 rather than a dropped connection. `None` when the task panicked.
async fn run_to_completion<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> Option<T> {
    match tokio::spawn(future).await {
        Ok(output) => Some(output),
        Err(e) => {
            tracing::error!(error = %e, "API call failed");
            None
        }
    }
}

/// Adds `POST {prefix}/<name>` for each executor method.
macro_rules! method_routes {
    ($router:expr, $prefix:expr, [$($name:ident),* $(,)?]) => {{
        let mut router = $router;
        $(
            router = router.route(
                &format!("{}/{}", $prefix, stringify!($name)),
                post(|State(state): State<HttpState>, req: Request| async move {
                    serve_method(state, stringify!($name), req, |executor: Executor, body| async move {
                        executor.$name(body).await
                    })
                    .await
                }),
            );
        )*
        router
    }};
}

pub(crate) fn router(executor: Executor, config: SharedConfig, observer: Arc<dyn ApiObserver>) -> Router {
    let prefix = config
        .load()
        .config
        .http_api
        .handler_prefix
        .trim_end_matches('/')
        .to_owned();
    let state = HttpState {
        executor: executor.with_observer("http", observer),
        config,
    };
    let legacy_path = if prefix.is_empty() {
        "/".to_owned()
    } else {
        prefix.clone()
    };
    let router = Router::new()
        .route(&legacy_path, post(serve_legacy))
        .route(&format!("{prefix}/batch"), post(serve_batch));
    let router = method_routes!(
        router,
        prefix,
        [
            publish,
            broadcast,
            subscribe,
            unsubscribe,
            disconnect,
            presence,
            presence_stats,
            history,
            history_remove,
            info,
            rpc,
            refresh,
            channels,
        ]
    );
    router.with_state(state)
}
