"""slack_sdk's Socket Mode client (the websocket-client flavour) on wsline, against a fake Slack.

``SocketModeClient.connect()`` asks ``apps.connections.open`` (HTTP, at the
WebClient's ``base_url``) for a WebSocket URL, runs ``WebSocketApp.run_forever``
in its own thread, hands envelopes to listeners, and reconnects (a new URL each
time) on a ``disconnect`` message or when the server closes the socket.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from _aioserver import WAIT
from aiohttp import WSMsgType, web

pytest.importorskip("slack_sdk", reason="slack_sdk is not installed (the dependents extra)")
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from slack_sdk.web import WebClient


class FakeSlack:
    """apps.connections.open plus the socket: hello, one envelope per connection, then a script."""

    def __init__(self, aio: Any) -> None:
        self.srv = aio([("POST", "/api/apps.connections.open", self.open), ("GET", "/link", self.link)])
        self.numbers = itertools.count(1)
        self.acked = itertools.count(1)  # the script follows the order in which connections ack

    async def open(self, request: web.Request) -> web.Response:
        self.srv.events.put(("open", request.headers.get("Authorization")))
        return web.json_response({"ok": True, "url": f"ws://{self.srv.base}/link?n={next(self.numbers)}"})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self.srv.websocket(request)
        n = int(request.query["n"])
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}))
        await ws.send_str(json.dumps({
            "envelope_id": f"env-{n}", "type": "events_api", "accepts_response_payload": False,
            "payload": {"event": {"type": "app_mention", "text": f"hi {n}"}},
        }))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            ack = json.loads(msg.data)
            turn = next(self.acked)
            self.srv.events.put(("ack", turn, n, ack))
            if turn == 1:  # Slack asks the app to move to a new connection
                await ws.send_str(json.dumps({"type": "disconnect", "reason": "refresh_requested"}))
            elif turn == 2:  # the server goes away without asking
                await ws.close(code=1001, message=b"restart")
                break
        return ws

    def expect(self, kind: str) -> tuple[Any, ...]:  # the next event of that kind, bounded
        while True:
            event = self.srv.next_event()
            if event[0] == kind:
                return event  # type: ignore[no-any-return]


def test_envelopes_acks_disconnect_and_reconnect(aio: Any) -> None:
    slack = FakeSlack(aio)
    web_client = WebClient(base_url=f"http://{slack.srv.base}/api/", timeout=5)
    client = SocketModeClient(app_token="xapp-1-test", web_client=web_client, ping_interval=5)
    seen: list[str] = []

    def on_request(c: SocketModeClient, req: SocketModeRequest) -> None:
        seen.append(req.payload["event"]["text"])
        c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.socket_mode_request_listeners.append(on_request)
    try:
        client.connect()
        assert slack.expect("open") == ("open", "Bearer xapp-1-test")
        # slack_sdk's monitor may replace a session before it is up: connection numbers can skip,
        # but each turn is a new connection, and each envelope is acked with its own id.
        acks = [slack.expect("ack")[1:] for _ in range(3)]  # ack after hello, after disconnect, after a close
        assert [a[0] for a in acks] == [1, 2, 3]
        numbers = [a[1] for a in acks]
        assert numbers == sorted(set(numbers))
        assert [a[2] for a in acks] == [{"envelope_id": f"env-{n}"} for n in numbers]
        deadline = time.monotonic() + WAIT
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.is_connected()
        assert seen[-3:] == [f"hi {n}" for n in numbers]
    finally:
        client.close()
