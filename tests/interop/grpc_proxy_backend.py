"""A GRPC proxy backend played by the test: Centrifugo's `CentrifugoProxy` service, Connect and
RPC only, on 127.0.0.1:0 with grpcio.

The messages are built at run time from a descriptor written here (field numbers as in
Centrifugo's `internal/proxyproto/proxy.proto`), so the suite needs no protoc and no generated
code. Every request is recorded as a dict; answers come from per-method scripts.
"""

from __future__ import annotations

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
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in _FIELDS}


MESSAGES = _messages()


def to_dict(message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class GrpcProxyBackend:
    """Records (method, request dict, metadata) and answers each method from `scripts`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.scripts: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self._server: grpc.aio.Server | None = None
        self.port = 0

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

