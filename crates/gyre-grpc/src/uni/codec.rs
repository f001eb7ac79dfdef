//! The uni stream's codec: `ConnectRequest` decoded with prost, pushes written as the bytes the
//! core encoded.

use bytes::{BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

use crate::unistream::ConnectRequest;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UniCodec;

impl Codec for UniCodec {
    type Encode = Bytes;
    type Decode = ConnectRequest;
    type Encoder = RawEncoder;
    type Decoder = ConnectDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ConnectDecoder
    }
}

#[derive(Debug)]
pub(crate) struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct ConnectDecoder;

impl Decoder for ConnectDecoder {
    type Item = ConnectRequest;
    type Error = Status;

    /// A malformed request gets grpc-go's answer to an unmarshal failure.
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ConnectRequest>, Status> {
        <ConnectRequest as prost::Message>::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("grpc: failed to unmarshal the received message: {e}")))
    }
}
