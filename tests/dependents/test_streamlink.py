"""streamlink's ``WebsocketClient`` (a Thread around ``WebSocketApp``) on wsline, against a local server.

Plugins subclass it and override the ``on_*`` callbacks; the client sends the
session's User-Agent, the plugin's headers and cookie, keeps the connection
alive with pings, reconnects on ``reconnect()`` and closes with a chosen code.
"""

from __future__ import annotations

import queue
from typing import Any

import pytest
from _aioserver import WAIT, raw_frame
from aiohttp import WSMsgType, web

pytest.importorskip("streamlink", reason="streamlink is not installed (the dependents extra)")
from streamlink import Streamlink
from streamlink.plugin.api.websocket import WebsocketClient


class Recorder(WebsocketClient):
    """What a plugin sees, as ``(callback, ...)`` tuples on a queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.seen: queue.Queue[tuple[Any, ...]] = queue.Queue()
        super().__init__(*args, **kwargs)

    def on_open(self, wsapp: Any) -> None:
        self.seen.put(("open", wsapp.url))

    def on_message(self, wsapp: Any, data: str) -> None:
        self.seen.put(("message", data))

    def on_data(self, wsapp: Any, data: Any, data_type: int, cont: Any) -> None:
        self.seen.put(("data", data, data_type, cont))

    def on_ping(self, wsapp: Any, data: bytes) -> None:
        self.seen.put(("ping", data))

    def on_close(self, wsapp: Any, status: int, message: str) -> None:
        self.seen.put(("close", status, message))

    def on_error(self, wsapp: Any, error: Exception) -> None:
        self.seen.put(("error", repr(error)))

    def next(self, kind: str) -> tuple[Any, ...]:
        """The next event of ``kind`` (others in between are dropped), bounded."""
        while True:
            event = self.seen.get(timeout=WAIT)
            if event[0] == kind:
                return event


class Site:
    """A streaming site's chat/stream socket: scripted by the path."""

    def __init__(self, aio: Any) -> None:
        self.srv = aio([("GET", "/{name}", self.handle)])
        self.backlog: list[tuple[Any, ...]] = []  # events seen while looking for another

    def url(self, name: str) -> str:
        return f"ws://{self.srv.base}/{name}"

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self.srv.websocket(request, autoping=False, protocols=("chat.v1",))
        name = request.match_info["name"]
        self.srv.events.put(("connect", name, dict(request.headers), ws.ws_protocol))
        write = request.transport.write  # type: ignore[union-attr]
        # A text message in three fragments, with a ping between them, in one write.
        write(raw_frame(0x1, b"hel", fin=False) + raw_frame(0x9, b"beat") + raw_frame(0x0, b"lo ", fin=False)
              + raw_frame(0x0, "wörld".encode(), fin=True))
        if name == "going-away":
            await ws.close(code=1001, message=b"server restart")
            return ws
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
            self.srv.events.put((name, msg.type, msg.data, msg.extra))
            if msg.type == WSMsgType.TEXT:
                await ws.send_str("got " + msg.data)
        self.srv.events.put((name, "closed", ws.close_code))
        return ws

    def next(self, kind: Any, msg_type: Any = None) -> tuple[Any, ...]:
        """The first event of ``kind`` (and ``msg_type``, if given) not taken yet, bounded."""
        def wanted(event: tuple[Any, ...]) -> bool:
            return event[0] == kind and (msg_type is None or event[1] == msg_type)

        for event in self.backlog:
            if wanted(event):
                self.backlog.remove(event)
                return event
        while True:
            event = self.srv.next_event()
            if wanted(event):
                return event  # type: ignore[no-any-return]
            self.backlog.append(event)


@pytest.fixture
def site(aio: Any) -> Site:
    return Site(aio)


@pytest.fixture
def session() -> Streamlink:
    return Streamlink()


def test_headers_cookie_fragments_ping_and_close_code(site: Site, session: Streamlink) -> None:
    client = Recorder(session, site.url("live"), subprotocols=["chat.v1"], header={"X-Plugin": "test"},
                      cookie="sid=abc; lang=en")
    client.start()
    try:
        _, name, headers, protocol = site.next("connect")
        assert name == "live" and protocol == "chat.v1"
        assert headers["X-Plugin"] == "test" and headers["Cookie"] == "sid=abc; lang=en"
        assert headers["User-Agent"] == session.http.headers["User-Agent"]
        assert client.next("open") == ("open", site.url("live"))
        # WebsocketClient defines on_cont_message, so each fragment reaches on_data as it comes
        # (the first one's flag is the real fin, False: a documented difference).
        assert client.next("data") == ("data", "hel", WebsocketClient.OPCODE_TEXT, False)
        assert client.next("ping") == ("ping", b"beat")
        assert client.next("data") == ("data", b"lo ", WebsocketClient.OPCODE_CONT, False)
        assert client.next("data") == ("data", "wörld".encode(), WebsocketClient.OPCODE_CONT, True)
        assert site.next("live")[1:3] == (WSMsgType.PONG, b"beat")  # the ping was answered
        client.send_json({"type": "join", "room": 7})
        assert site.next("live")[1:3] == (WSMsgType.TEXT, '{"type":"join","room":7}')
        assert client.next("message") == ("message", 'got {"type":"join","room":7}')
    finally:
        client.close(status=4000, reason="bye", timeout=3)
    assert site.next("live")[1:] == ("closed", 4000)
    assert not client.is_alive()


def test_client_pings_with_payload(site: Site, session: Streamlink) -> None:
    client = Recorder(session, site.url("pinged"), ping_interval=0.2, ping_payload="keepalive")
    client.start()
    try:
        assert site.next("pinged", WSMsgType.PING)[1:3] == (WSMsgType.PING, b"keepalive")
    finally:
        client.close()
    assert not client.is_alive()


def test_reconnect_to_another_url(site: Site, session: Streamlink) -> None:
    client = Recorder(session, site.url("first"), header=["X-Try: 1"])
    client.start()
    try:
        assert site.next("connect")[1] == "first"
        client.next("open")
        client.reconnect(url=site.url("second"))
        assert client.reconnect_done.wait(WAIT)
        _, name, headers, _ = site.next("connect")
        assert name == "second" and headers["X-Try"] == "1"  # the header survives the reconnect
        assert site.next("first", "closed")[1:] == ("closed", 1000)  # the old socket was closed normally
        assert client.next("open") == ("open", site.url("second"))
        client.send("still there")
        assert client.next("message") == ("message", "hel")  # the greeting's first fragment
        assert client.next("message") == ("message", "got still there")
    finally:
        client.close()
    assert not client.is_alive()


def test_server_close_code_reaches_on_close(site: Site, session: Streamlink) -> None:
    client = Recorder(session, site.url("going-away"))
    client.start()
    assert client.next("close") == ("close", 1001, "server restart")
    client.join(WAIT)
    assert not client.is_alive()  # run() returns: no reconnect was asked for
