//! `uni_sse.connect_code_to_http_response` / `uni_http_stream.connect_code_to_http_response`: a
//! failed connect answered with an HTTP status instead of a stream holding a `disconnect` push.

use axum::http::StatusCode;

use gyre_config::ConnectCodeToHttpResponse;
use gyre_core::Disconnect;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectErrorResponses {
    /// Error or disconnect code → status and body (empty body: the error's own message).
    transforms: Vec<(u32, StatusCode, String)>,
}

impl ConnectErrorResponses {
    /// `(code, status, body)` triples; a status that is not a valid HTTP status becomes 500.
    pub(crate) fn new(transforms: &[(u32, i64, String)]) -> ConnectErrorResponses {
        let transforms = transforms
            .iter()
            .map(|(code, status, body)| {
                let status = u16::try_from(*status)
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (*code, status, body.clone())
            })
            .collect();
        ConnectErrorResponses { transforms }
    }

    /// The configured mapping, when enabled.
    pub(crate) fn from_config(config: &ConnectCodeToHttpResponse) -> Option<ConnectErrorResponses> {
        config.enabled.then(|| {
            let transforms: Vec<_> = config
                .transforms
                .iter()
                .map(|t| (t.code, t.to.status_code, t.to.body.clone()))
                .collect();
            ConnectErrorResponses::new(&transforms)
        })
    }

    /// The answer to a connect that ended with `disconnect` (the connect error's code and message
    /// as the core passes them on): the first transform of that code, else 500.
    pub(crate) fn answer(&self, disconnect: &Disconnect) -> (StatusCode, String) {
        match self
            .transforms
            .iter()
            .find(|(code, _, _)| *code == disconnect.code)
        {
            Some((_, status, body)) if body.is_empty() => (*status, disconnect.reason.to_string()),
            Some((_, status, body)) => (*status, body.clone()),
            None => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error".to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let r = ConnectErrorResponses::new(&[
            (109, 401, String::new()),
            (3501, 400, "bad".into()),
            (109, 403, "second".into()),
            (4000, 70_000, String::new()),
        ]);
        assert_eq!(
            r.answer(&Disconnect::custom(109, "token expired")),
            (StatusCode::UNAUTHORIZED, "token expired".into())
        );
        assert_eq!(
            r.answer(&Disconnect::BAD_REQUEST),
            (StatusCode::BAD_REQUEST, "bad".into())
        );
        assert_eq!(
            r.answer(&Disconnect::custom(103, "permission denied")),
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error".into())
        );
        assert_eq!(
            r.answer(&Disconnect::custom(4000, "x")).0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn only_when_enabled() {
        let mut config = ConnectCodeToHttpResponse::default();
        assert_eq!(ConnectErrorResponses::from_config(&config), None);
        config.enabled = true;
        assert_eq!(
            ConnectErrorResponses::from_config(&config)
                .unwrap()
                .answer(&Disconnect::SHUTDOWN)
                .0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
