"""Fixtures: the gyre binary, gyre servers per scenario, SDK clients, the cent API client."""

from __future__ import annotations

import shutil
from typing import Any, Optional

import cent
import pytest

from gyre_harness import API_KEY, GyreServer, base_config, locate_gyre, merged
from sdk_clients import SDK_KINDS, SdkClient, SdkKind, start_client
from tcp_proxy import TcpProxy


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Lets fixtures know in teardown whether the test failed (to dump the server log).
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def gyre_bin() -> str:
    return locate_gyre()


@pytest.fixture(scope="session")
def node_available() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is required for the centrifuge-js scenarios")


@pytest.fixture
def gyre(gyre_bin, request):
    """Factory: `gyre(patch)` starts a server with base_config() deep-merged with `patch`
    (or exactly `config=` when given). Every server is stopped after the test; on failure
    its log is printed (pytest shows it under "Captured stdout teardown")."""
    servers: list[GyreServer] = []

    def start(patch: Optional[dict[str, Any]] = None, *, config: Optional[dict[str, Any]] = None) -> GyreServer:
        cfg = config if config is not None else merged(base_config(), patch)
        server = GyreServer(gyre_bin, cfg)
        servers.append(server)
        return server.start()

    yield start
    failed = any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )
    for server in servers:
        server.stop()
        if failed:
            print(f"==== gyre log (port {server.port}, exit {server.returncode}) ====")
            print(server.log_tail(300))


@pytest.fixture(params=SDK_KINDS)
def sdk(request) -> SdkKind:
    kind = SdkKind.parse(request.param)
    if kind.lang == "js":
        request.getfixturevalue("node_available")
    return kind


@pytest.fixture(params=[k for k in SDK_KINDS if k.startswith("js-")])
def js_sdk(request) -> SdkKind:
    """For scenarios that use a centrifuge-js feature centrifuge-python 0.7.0 lacks."""
    request.getfixturevalue("node_available")
    return SdkKind.parse(request.param)


@pytest.fixture
async def proxies(gyre):
    """Factory: `await proxies(server)` -> a started TcpProxy in front of the server; pass
    it to `clients(...)` in place of the server to route that client through it."""
    made: list[TcpProxy] = []

    async def make(server: GyreServer) -> TcpProxy:
        assert server.port is not None
        proxy = await TcpProxy(server.port).start()
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        await proxy.close()


@pytest.fixture
async def clients(request, gyre, proxies):
    # Depends on `gyre` (and `proxies`) so that clients close before their servers (and
    # relays) stop.
    """Factory: `await clients(server_or_proxy, kind, label, token=..., getTokens=[...])`."""
    made: list[SdkClient] = []

    async def make(server: "GyreServer | TcpProxy", kind: SdkKind, label: str = "client", **opts: Any) -> SdkClient:
        client = await start_client(server.ws_url, kind, f"{kind}:{label}", **opts)
        made.append(client)
        return client

    yield make
    failed = getattr(getattr(request.node, "rep_call", None), "failed", False)
    for client in made:
        if failed:
            print(f"==== events of {client.events.label} ====")
            for ev in client.events.items:
                print(ev)
        await client.close()


@pytest.fixture
async def api_factory(gyre):
    """Factory: `api(server)` -> cent.AsyncClient bound to the server's HTTP API."""
    made: list[cent.AsyncClient] = []

    def make(server: GyreServer, key: str = API_KEY) -> cent.AsyncClient:
        client = cent.AsyncClient(server.api_url, key, timeout=10)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
