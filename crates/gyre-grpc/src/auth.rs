//! `grpc_api.key`: every API call must carry the metadata `authorization: apikey <KEY>`.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Checks the first `authorization` value against `apikey <KEY>`, the whole string at once (no
/// scheme parsing, unlike the HTTP API). Without a key every call passes, as in Centrifugo.
#[derive(Clone)]
pub(crate) struct KeyAuth {
    /// SHA-256 of the expected value: comparing digests keeps the time independent of where,
    /// or whether, the lengths differ.
    expected: Option<Arc<[u8]>>,
}

impl KeyAuth {
    pub(crate) fn new(key: &str) -> Self {
        let expected = (!key.is_empty()).then(|| Sha256::digest(format!("apikey {key}")).to_vec().into());
        KeyAuth { expected }
    }
}

impl Interceptor for KeyAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let valid = request
            .metadata()
            .get("authorization")
            .is_some_and(|given| bool::from(Sha256::digest(given.as_bytes()).as_slice().ct_eq(expected)));
        if valid {
            Ok(request)
        } else {
            Err(Status::unauthenticated("unauthenticated"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(auth: &KeyAuth, value: Option<&str>) -> Result<(), tonic::Code> {
        let mut request = Request::new(());
        if let Some(v) = value {
            request.metadata_mut().insert("authorization", v.parse().unwrap());
        }
        auth.clone().call(request).map(|_| ()).map_err(|s| s.code())
    }

    #[test]
    fn exact_value_only() {
        let auth = KeyAuth::new("secret");
        assert_eq!(call(&auth, Some("apikey secret")), Ok(()));
        for wrong in ["apikey other", "APIKEY secret", "apikey  secret", "secret", ""] {
            assert_eq!(
                call(&auth, Some(wrong)),
                Err(tonic::Code::Unauthenticated),
                "{wrong:?}"
            );
        }
        assert_eq!(call(&auth, None), Err(tonic::Code::Unauthenticated));
        assert_eq!(call(&KeyAuth::new(""), None), Ok(()));
    }
}
