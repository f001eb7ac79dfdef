//! The status of a request over `max_receive_message_size`. tonic refuses it before buffering
//! the body (so the limit protects memory) but answers `OUT_OF_RANGE`; grpc-go, which Centrifugo
//! clients see, answers `RESOURCE_EXHAUSTED` "grpc: received message larger than max (N vs. M)".
//! This layer rewrites tonic's status into grpc-go's. It only touches headers-only error
//! responses whose message is tonic's decode-limit message, which no handler here produces.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::codegen::http::{self, HeaderMap};
use tonic::Status;
use tower::{Layer, Service};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OversizeStatusLayer;

impl<S> Layer<S> for OversizeStatusLayer {
    type Service = OversizeStatus<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OversizeStatus { inner }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct OversizeStatus<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for OversizeStatus<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            rewrite(response.headers_mut());
            Ok(response)
        })
    }
}

fn rewrite(headers: &mut HeaderMap) {
    if headers.get(Status::GRPC_STATUS).map(|v| v.as_bytes()) != Some(b"11") {
        return;
    }
    let Some((found, limit)) = Status::from_header_map(headers).and_then(|s| sizes(s.message())) else {
        return;
    };
    let status = Status::resource_exhausted(format!(
        "grpc: received message larger than max ({found} vs. {limit})"
    ));
    headers.remove("grpc-message");
    headers.remove("grpc-status-details-bin");
    let _ = status.add_header(headers);
}

/// `(found, limit)` from tonic's "Error, decoded message length too large: found N bytes, the
/// limit is: M bytes".
fn sizes(message: &str) -> Option<(usize, usize)> {
    let rest = message.strip_prefix("Error, decoded message length too large: found ")?;
    let (found, rest) = rest.split_once(" bytes, the limit is: ")?;
    let limit = rest.strip_suffix(" bytes")?;
    Some((found.parse().ok()?, limit.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonic_limit_status_becomes_grpc_go_status() {
        let tonic_status = Status::out_of_range(
            "Error, decoded message length too large: found 2000 bytes, the limit is: 1024 bytes",
        );
        let mut headers = HeaderMap::new();
        tonic_status.add_header(&mut headers).unwrap();
        rewrite(&mut headers);
        let status = Status::from_header_map(&headers).unwrap();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "grpc: received message larger than max (2000 vs. 1024)"
        );

        let mut other = HeaderMap::new();
        Status::out_of_range("unrecoverable position")
            .add_header(&mut other)
            .unwrap();
        rewrite(&mut other);
        assert_eq!(
            Status::from_header_map(&other).unwrap().code(),
            tonic::Code::OutOfRange
        );
    }
}
