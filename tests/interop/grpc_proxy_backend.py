"""A GRPC proxy backend played by the test: Centrifugo's `CentrifugoProxy` service (Connect, RPC
and the two subscribe streams) on 127.0.0.1:0 with grpcio.

The messages are built at run time from a descriptor written here (field numbers as in
Centrifugo's `internal/proxyproto/proxy.proto`), so the suite needs no protoc and no generated
code. Every request is recorded as a dict; answers come from per-method scripts.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

PACKAGE = "centrifugal.centrifugo.proxy"
SERVICE = f"{PACKAGE}.CentrifugoProxy"

_F = descriptor_pb2.FieldDescriptorProto
_FIELDS: dict[str, list[tuple[str, int, int, str]]] = {
    # name: [(field, number, type, message type name or "")]
    "Error": [("code", 1, _F.TYPE_UINT32, ""), ("message", 2, _F.TYPE_STRING, ""), ("temporary", 3, _F.TYPE_BOOL, "")],
    "Disconnect": [("code", 1, _F.TYPE_UINT32, ""), ("reason", 2, _F.TYPE_STRING, "")],
    "ConnectRequest": [
        ("client", 1, _F.TYPE_STRING, ""), ("transport", 2, _F.TYPE_STRING, ""),
        ("protocol", 3, _F.TYPE_STRING, ""), ("encoding", 4, _F.TYPE_STRING, ""),
        ("data", 10, _F.TYPE_BYTES, ""), ("b64data", 11, _F.TYPE_STRING, ""),
        ("name", 12, _F.TYPE_STRING, ""), ("version", 13, _F.TYPE_STRING, ""),
    ],
    "ConnectResult": [
        ("user", 1, _F.TYPE_STRING, ""), ("expire_at", 2, _F.TYPE_INT64, ""),
        ("info", 3, _F.TYPE_BYTES, ""), ("data", 5, _F.TYPE_BYTES, ""),
    ],
    "ConnectResponse": [
        ("result", 1, _F.TYPE_MESSAGE, "ConnectResult"), ("error", 2, _F.TYPE_MESSAGE, "Error"),
        ("disconnect", 3, _F.TYPE_MESSAGE, "Disconnect"),
    ],
    "RPCRequest": [
        ("client", 1, _F.TYPE_STRING, ""), ("transport", 2, _F.TYPE_STRING, ""),
        ("protocol", 3, _F.TYPE_STRING, ""), ("encoding", 4, _F.TYPE_STRING, ""),
        ("user", 10, _F.TYPE_STRING, ""), ("method", 11, _F.TYPE_STRING, ""),
        ("data", 12, _F.TYPE_BYTES, ""), ("b64data", 13, _F.TYPE_STRING, ""),
    ],
    "SubscribeRequest": [
        ("client", 1, _F.TYPE_STRING, ""), ("transport", 2, _F.TYPE_STRING, ""),
        ("protocol", 3, _F.TYPE_STRING, ""), ("encoding", 4, _F.TYPE_STRING, ""),
        ("user", 10, _F.TYPE_STRING, ""), ("channel", 11, _F.TYPE_STRING, ""),
        ("token", 12, _F.TYPE_STRING, ""), ("meta", 13, _F.TYPE_BYTES, ""),
        ("data", 14, _F.TYPE_BYTES, ""), ("b64data", 15, _F.TYPE_STRING, ""),
    ],
    "SubscribeResult": [
        ("expire_at", 1, _F.TYPE_INT64, ""), ("info", 2, _F.TYPE_BYTES, ""),
        ("b64info", 3, _F.TYPE_STRING, ""), ("data", 4, _F.TYPE_BYTES, ""),
        ("b64data", 5, _F.TYPE_STRING, ""),
    ],
    "SubscribeResponse": [
        ("result", 1, _F.TYPE_MESSAGE, "SubscribeResult"), ("error", 2, _F.TYPE_MESSAGE, "Error"),
        ("disconnect", 3, _F.TYPE_MESSAGE, "Disconnect"),
    ],
    "Publication": [("data", 4, _F.TYPE_BYTES, ""), ("tags", 7, _F.TYPE_MESSAGE, "Publication.TagsEntry")],
    "StreamSubscribeRequest": [
        ("subscribe_request", 1, _F.TYPE_MESSAGE, "SubscribeRequest"),
        ("publication", 2, _F.TYPE_MESSAGE, "Publication"),
    ],
    "StreamSubscribeResponse": [
        ("subscribe_response", 1, _F.TYPE_MESSAGE, "SubscribeResponse"),
        ("publication", 2, _F.TYPE_MESSAGE, "Publication"),
    ],
    "RPCResult": [("data", 1, _F.TYPE_BYTES, ""), ("b64data", 2, _F.TYPE_STRING, "")],
    "RPCResponse": [
        ("result", 1, _F.TYPE_MESSAGE, "RPCResult"), ("error", 2, _F.TYPE_MESSAGE, "Error"),
        ("disconnect", 3, _F.TYPE_MESSAGE, "Disconnect"),
    ],
}


def _messages() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(name="gyre_test_proxy.proto", package=PACKAGE, syntax="proto3")
    for name, fields in _FIELDS.items():
        msg = file.message_type.add(name=name)
        for field, number, kind, type_name in fields:
            f = msg.field.add(name=field, number=number, type=kind, label=_F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = f".{PACKAGE}.{type_name}"
            if type_name.endswith(".TagsEntry"):
                # map<string, string>: a repeated nested entry message marked as a map entry.
                f.label = _F.LABEL_REPEATED
                entry = msg.nested_type.add(name="TagsEntry")
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
                entry.field.add(name="value", number=2, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in _FIELDS}


MESSAGES = _messages()


def to_dict(message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class StreamEnd(Exception):
    """Put on a stream's queue to fail it with this GRPC status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class OpenStream:
    """One subscribe stream as the backend holds it. The test feeds `outbox` with publication
    dicts (`{"data": b"...", "tags": {...}}`), `None` to end the stream normally or a `StreamEnd`
    to fail it; `received` collects what the client published (bidirectional streams)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.cancelled = asyncio.Event()


class GrpcProxyBackend:
    """Records (method, request dict, metadata) and answers each method from `scripts`. Subscribe
    streams answer their first message from the "SubscribeStream" script and are then driven by
    the test through `streams[channel]`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.scripts: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.streams: dict[str, OpenStream] = {}
        self.stream_opened = asyncio.Condition()
        self._server: grpc.aio.Server | None = None
        self.port = 0

    async def stream(self, channel: str, count: int = 1, timeout: float = 5.0) -> OpenStream:
        """The latest stream opened for `channel`, once `count` streams for it were opened."""

        def ready() -> bool:
            return sum(1 for m, body, _ in self.calls if m.startswith("Subscribe") and body.get("channel") == channel) >= count

        async with self.stream_opened:
            await asyncio.wait_for(self.stream_opened.wait_for(ready), timeout)
        return self.streams[channel]

    def _stream_handler(self, method: str, bidirectional: bool):
        async def run(request_dict: dict[str, Any], metadata: dict[str, str], context, inbound=None):
            opened = OpenStream(request_dict)
            channel = request_dict.get("channel", "")
            self.streams[channel] = opened
            self.calls.append((method, request_dict, metadata))
            async with self.stream_opened:
                self.stream_opened.notify_all()
            reader = None
            try:
                first = self.scripts["SubscribeStream"](request_dict)
                if first == "hang":
                    # Never answer: the caller's timeout has to end the call.
                    await asyncio.Event().wait()
                yield MESSAGES["StreamSubscribeResponse"](subscribe_response=first)
                if inbound is not None:

                    async def read() -> None:
                        async for message in inbound:
                            body = to_dict(message)
                            if "publication" in body:
                                await opened.received.put(body["publication"])

                    reader = asyncio.ensure_future(read())
                while True:
                    item = await opened.outbox.get()
                    if item is None:
                        return
                    if isinstance(item, StreamEnd):
                        await context.abort(item.code, item.details)
                    yield MESSAGES["StreamSubscribeResponse"](publication=item)
            except asyncio.CancelledError:
                opened.cancelled.set()
                raise
            finally:
                if reader is not None:
                    reader.cancel()

        async def unidirectional(request, context):
            metadata = {k: v for k, v in context.invocation_metadata()}
            async for message in run(to_dict(request), metadata, context):
                yield message

        async def bidi(request_iterator, context):
            metadata = {k: v for k, v in context.invocation_metadata()}
            iterator = request_iterator.__aiter__()
            first = to_dict(await iterator.__anext__())
            async for message in run(first.get("subscribe_request", {}), metadata, context, iterator):
                yield message

        if bidirectional:
            return grpc.stream_stream_rpc_method_handler(
                bidi,
                request_deserializer=MESSAGES["StreamSubscribeRequest"].FromString,
                response_serializer=MESSAGES["StreamSubscribeResponse"].SerializeToString,
            )
        return grpc.unary_stream_rpc_method_handler(
            unidirectional,
            request_deserializer=MESSAGES["SubscribeRequest"].FromString,
            response_serializer=MESSAGES["StreamSubscribeResponse"].SerializeToString,
        )

    def script(self, method: str, answer: Callable[[dict[str, Any]], Any]) -> None:
        self.scripts[method] = answer

    def endpoint(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def _handler(self, method: str, request_type: str, response_type: str):
        async def handle(request, context):
            metadata = {k: v for k, v in context.invocation_metadata()}
            body = to_dict(request)
            self.calls.append((method, body, metadata))
            answer = self.scripts[method](body)
            return MESSAGES[response_type](**answer)

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=MESSAGES[request_type].FromString,
            response_serializer=MESSAGES[response_type].SerializeToString,
        )

    async def start(self) -> "GrpcProxyBackend":
        self._server = grpc.aio.server()
        handlers = {
            "Connect": self._handler("Connect", "ConnectRequest", "ConnectResponse"),
            "RPC": self._handler("RPC", "RPCRequest", "RPCResponse"),
            "SubscribeUnidirectional": self._stream_handler("SubscribeUnidirectional", False),
            "SubscribeBidirectional": self._stream_handler("SubscribeBidirectional", True),
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)

    def calls_to(self, method: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
        return [(body, md) for m, body, md in self.calls if m == method]


def result(**fields: Any) -> dict[str, Any]:
    """Keyword arguments for a response message carrying `result`."""
    return {"result": fields}

