"""docker's ``APIClient.attach_socket(..., ws=True)`` on wsline, against a fake daemon.

The real docker package asks ``GET /version`` over HTTP for the API version, then
opens ``ws://.../v1.43/containers/ID/attach/ws?...`` with ``websocket.create_connection``
and hands back the ``WebSocket``: the caller sends stdin and receives the
container's output on it.
"""

from __future__ import annotations

from typing import Any

import pytest
from _aioserver import raw_frame
from aiohttp import WSMsgType, web

docker = pytest.importorskip("docker", reason="docker is not installed (the dependents extra)")

API_VERSION = "1.43"


class FakeDaemon:
    def __init__(self, aio: Any) -> None:
        self.srv = aio([("GET", "/version", self.version), ("GET", "/v{v}/containers/{id}/attach/ws", self.attach)])

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"ApiVersion": API_VERSION, "MinAPIVersion": "1.24", "Version": "fake"})

    async def attach(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self.srv.websocket(request)
        self.srv.events.put((request.match_info["id"], dict(request.query)))
        # A banner of three frames in one write, as a chatty container's output arrives.
        request.transport.write(  # type: ignore[union-attr]
            raw_frame(0x2, b"line 1\n") + raw_frame(0x2, b"line 2\n") + raw_frame(0x1, b"ready\n"))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "exit":
                await ws.close(code=1000, message=b"container exited")
                break
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                await ws.send_bytes(b"echo: " + data)
        return ws


@pytest.fixture
def daemon(aio: Any) -> FakeDaemon:
    return FakeDaemon(aio)


def test_attach_socket_ws_stdin_stdout_and_close(daemon: FakeDaemon) -> None:
    client = docker.APIClient(base_url=f"tcp://{daemon.srv.base}", version="auto", timeout=10)
    assert client.api_version == API_VERSION
    ws = client.attach_socket("c0ffee", params={"stdin": 1, "stdout": 1, "stream": 1, "logs": 0}, ws=True)
    try:
        ws.settimeout(5)
        container, query = daemon.srv.next_event()
        assert container == "c0ffee"
        assert query == {"stdin": "1", "stdout": "1", "stream": "1", "logs": "0"}
        assert [ws.recv() for _ in range(3)] == [b"line 1\n", b"line 2\n", "ready\n"]
        ws.send("ls\n")
        assert ws.recv() == b"echo: ls\n"
        ws.send_binary(bytes(range(256)) * 300)
        assert ws.recv() == b"echo: " + bytes(range(256)) * 300
        ws.send("exit")
        opcode, frame = ws.recv_data_frame(True)
        assert opcode == websocket_close_opcode()
        assert frame.data[:2] == (1000).to_bytes(2, "big") and frame.data[2:] == b"container exited"
    finally:
        ws.close()
        client.close()


def test_attach_socket_default_params(daemon: FakeDaemon) -> None:
    client = docker.APIClient(base_url=f"tcp://{daemon.srv.base}", version=API_VERSION, timeout=10)
    ws = client.attach_socket("abc123", ws=True)
    try:
        ws.settimeout(5)
        assert daemon.srv.next_event() == ("abc123", {"stdout": "1", "stderr": "1", "stream": "1"})
        assert ws.recv() == b"line 1\n"
        assert ws.connected
    finally:
        ws.close()
        client.close()
    assert not ws.connected


def websocket_close_opcode() -> int:
    import websocket

    return int(websocket.ABNF.OPCODE_CLOSE)
