"""GRPC clients of gyre's own servers, built with grpcio (an implementation independent of
tonic): the server API `centrifugal.centrifugo.api.CentrifugoApi` and the unidirectional
stream `centrifugal.centrifugo.unistream.CentrifugoUniStream`.

Only the messages the tests use are declared, at run time from descriptors written here with
the field numbers of Centrifugo's api.proto and unistream.proto (no protoc, no generated code).
Fields left out are skipped by the decoder as unknown fields, as in any protobuf client built
from an older schema.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

_F = descriptor_pb2.FieldDescriptorProto
S, B, BOOL, U32, U64, I32, I64, M = (
    _F.TYPE_STRING, _F.TYPE_BYTES, _F.TYPE_BOOL, _F.TYPE_UINT32, _F.TYPE_UINT64, _F.TYPE_INT32,
    _F.TYPE_INT64, _F.TYPE_MESSAGE,
)
REPEATED = "repeated"

API = "centrifugal.centrifugo.api"
UNI = "centrifugal.centrifugo.unistream"

# message: [(field, number, type, message type or "", optional "repeated")]
_API_FIELDS: dict[str, list[tuple]] = {
    "Error": [("code", 1, U32, ""), ("message", 2, S, "")],
    "StreamPosition": [("offset", 1, U64, ""), ("epoch", 2, S, "")],
    "ClientInfo": [("user", 1, S, ""), ("client", 2, S, ""), ("conn_info", 3, B, ""), ("chan_info", 4, B, "")],
    "PublishRequest": [("channel", 1, S, ""), ("data", 2, B, ""), ("b64data", 3, S, ""), ("idempotency_key", 6, S, "")],
    "PublishResult": [("offset", 1, U64, ""), ("epoch", 2, S, "")],
    "PublishResponse": [("error", 1, M, "Error"), ("result", 2, M, "PublishResult")],
    "Publication": [("data", 2, B, ""), ("info", 3, M, "ClientInfo"), ("offset", 4, U64, "")],
    "HistoryRequest": [("channel", 1, S, ""), ("limit", 2, I32, ""), ("since", 3, M, "StreamPosition"), ("reverse", 4, BOOL, "")],
    "HistoryResult": [("publications", 1, M, "Publication", REPEATED), ("epoch", 2, S, ""), ("offset", 3, U64, "")],
    "HistoryResponse": [("error", 1, M, "Error"), ("result", 2, M, "HistoryResult")],
    "PresenceStatsRequest": [("channel", 1, S, "")],
    "PresenceStatsResult": [("num_clients", 1, U32, ""), ("num_users", 2, U32, "")],
    "PresenceStatsResponse": [("error", 1, M, "Error"), ("result", 2, M, "PresenceStatsResult")],
    "SubscribeRequest": [("channel", 1, S, ""), ("user", 2, S, "")],
    "SubscribeResult": [],
    "SubscribeResponse": [("error", 1, M, "Error"), ("result", 2, M, "SubscribeResult")],
    "Disconnect": [("code", 1, U32, ""), ("reason", 2, S, "")],
    "DisconnectRequest": [("user", 1, S, ""), ("disconnect", 2, M, "Disconnect")],
    "DisconnectResult": [],
    "DisconnectResponse": [("error", 1, M, "Error"), ("result", 2, M, "DisconnectResult")],
    "Command": [("publish", 4, M, "PublishRequest"), ("presence_stats", 10, M, "PresenceStatsRequest")],
    "Reply": [("error", 2, M, "Error"), ("publish", 4, M, "PublishResult"), ("presence_stats", 10, M, "PresenceStatsResult")],
    "BatchRequest": [("commands", 1, M, "Command", REPEATED), ("parallel", 2, BOOL, "")],
    "BatchResponse": [("replies", 1, M, "Reply", REPEATED)],
}

_UNI_FIELDS: dict[str, list[tuple]] = {
    "ConnectRequest": [("token", 1, S, ""), ("data", 2, B, ""), ("name", 4, S, ""), ("version", 5, S, "")],
    "ClientInfo": [("user", 1, S, ""), ("client", 2, S, "")],
    "Publication": [("data", 4, B, ""), ("info", 5, M, "ClientInfo"), ("offset", 6, U64, "")],
    "Subscribe": [("recoverable", 1, BOOL, ""), ("epoch", 4, S, ""), ("offset", 5, U64, ""), ("positioned", 6, BOOL, ""), ("data", 7, B, "")],
    "Connect": [("client", 1, S, ""), ("version", 2, S, ""), ("data", 3, B, ""), ("expires", 5, BOOL, ""), ("ttl", 6, U32, ""), ("ping", 7, U32, ""), ("pong", 8, BOOL, ""), ("session", 9, S, ""), ("node", 10, S, "")],
    "Disconnect": [("code", 1, U32, ""), ("reason", 2, S, ""), ("reconnect", 3, BOOL, "")],
    "Push": [("channel", 2, S, ""), ("pub", 4, M, "Publication"), ("subscribe", 9, M, "Subscribe"), ("connect", 10, M, "Connect"), ("disconnect", 11, M, "Disconnect")],
}


def _messages(package: str, fields: dict[str, list[tuple]]) -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(name=f"gyre_interop_{package}.proto", package=package, syntax="proto3")
    for name, entries in fields.items():
        msg = file.message_type.add(name=name)
        for field, number, kind, type_name, *label in entries:
            f = msg.field.add(
                name=field,
                number=number,
                type=kind,
                label=_F.LABEL_REPEATED if label else _F.LABEL_OPTIONAL,
            )
            if type_name:
                f.type_name = f".{package}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{n}")) for n in fields}


API_MESSAGES = _messages(API, _API_FIELDS)
UNI_MESSAGES = _messages(UNI, _UNI_FIELDS)


def to_dict(message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class ApiClient:
    """Unary calls to `CentrifugoApi`; `key` goes into `authorization: apikey <key>`."""

    def __init__(self, port: int, key: str | None):
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.metadata = (("authorization", f"apikey {key}"),) if key is not None else ()

    async def call(self, method: str, request_type: str, response_type: str, **fields: Any):
        stub = self.channel.unary_unary(
            f"/{API}.CentrifugoApi/{method}",
            request_serializer=API_MESSAGES[request_type].SerializeToString,
            response_deserializer=API_MESSAGES[response_type].FromString,
        )
        return await stub(API_MESSAGES[request_type](**fields), metadata=self.metadata, timeout=10)

    async def close(self) -> None:
        await self.channel.close()


class UniConsumer:
    """One `Consume` stream; `pushes()` yields decoded `Push` messages until the stream ends."""

    def __init__(self, port: int, metadata: tuple = (), **connect: Any):
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        consume = self.channel.unary_stream(
            f"/{UNI}.CentrifugoUniStream/Consume",
            request_serializer=UNI_MESSAGES["ConnectRequest"].SerializeToString,
            response_deserializer=UNI_MESSAGES["Push"].FromString,
        )
        self.call = consume(UNI_MESSAGES["ConnectRequest"](**connect), metadata=metadata)

    async def next(self):
        """The next push, or None when the stream ended."""
        push = await self.call.read()
        return None if push is grpc.aio.EOF else push

    async def close(self) -> None:
        self.call.cancel()
        await self.channel.close()
