//! Transport-mode errors: a GRPC status carrying the API `Error` as a detail, the way grpc-go's
//! `status.WithDetails` encodes it (`grpc-status-details-bin` = a `google.rpc.Status` whose
//! `details` hold the `Error` packed in an `Any`).

use gyre_api::ApiError;
use prost::Message as _;
use tonic::{Code, Status};

use crate::pb;

/// `google.rpc.Status` (google/rpc/status.proto).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// The type URL grpc-go gives a packed `centrifugal.centrifugo.api.Error`.
pub(crate) const ERROR_TYPE_URL: &str = "type.googleapis.com/centrifugal.centrifugo.api.Error";

pub(crate) fn transport_status(e: &ApiError) -> Status {
    let code = Code::from_i32(e.grpc_code() as i32);
    let detail = pb::Error {
        code: e.code,
        message: e.message.to_string(),
    };
    let details = RpcStatus {
        code: code as i32,
        message: e.message.to_string(),
        details: vec![prost_types::Any {
            type_url: ERROR_TYPE_URL.to_owned(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(code, e.message.to_string(), details.encode_to_vec().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_decode_as_google_rpc_status() {
        let status = transport_status(&ApiError::UNKNOWN_CHANNEL);
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "unknown channel");
        let decoded = RpcStatus::decode(status.details()).unwrap();
        assert_eq!(decoded.code, Code::NotFound as i32);
        assert_eq!(decoded.details.len(), 1);
        assert_eq!(decoded.details[0].type_url, ERROR_TYPE_URL);
        let error = pb::Error::decode(&decoded.details[0].value[..]).unwrap();
        assert_eq!((error.code, error.message.as_str()), (102, "unknown channel"));
    }
}
