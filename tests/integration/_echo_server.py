"""A real ``websockets`` (sync) server in a background thread, routed by path.

One server covers many cases; the request path picks the behaviour and the
query string tunes it (values are URL-decoded):

==================  ==========================================================
``/echo``           echo every message with its type (text stays text)
``/sink``           record every message, never answer (for timeouts, floods)
``/close``          ``code=4001&reason=bye&after=N``: echo N messages, then
                    close with that code and reason
``/send``           send the steps in query order, then echo: ``text=hi``,
                    ``binary=<hex>``, ``ping=<text>``, ``sleep=<seconds>``,
                    ``close=<code>[:<reason>]`` (ends the connection)
``/headers``        send the request (path + headers) as JSON text, then echo
``/subprotocol``    pick ``pick=<name>`` (``pick=none`` picks nothing; default:
                    the first one offered), send it back as text, then echo
``/ping``           ``payload=<text>``: ping, wait for the pong (5 s), send
                    ``pong:<payload>`` or ``no-pong``, then echo
``/fragmented``     ``parts=a,b,c&type=text|binary``: one fragmented message,
                    one frame per part, then echo
``/big``            ``size=N&type=binary|text|ascii&count=1``: ``count``
                    messages of ``pattern_bytes(N)`` / ``pattern_text(N)`` (N code
                    points) / ``pattern_ascii(N)`` (N bytes of text), then echo
``/delay``          ``seconds=0.5&text=hi``: wait, send the text, then echo
``/reject``         ``status=403&body=...``: refuse the handshake
``/redirect``       ``to=/echo&status=302&hops=1``: redirect (``hops`` > 1
                    chains through further /redirect hops)
==================  ==========================================================

Any path also takes ``rh=Name:Value`` (repeatable) to add headers to the 101
response, and ``sid=...`` which ties the connection to a ``ServerRecord``
created by ``EchoServer.track()`` so the test can see what the server saw.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Union
from urllib.parse import parse_qsl, urlencode, urlsplit

from _wire import pattern_ascii, pattern_bytes, pattern_text
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

# An idle connection ends after this long, so a handler can never hang the
# shutdown of the session server.
IDLE_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
Message = Union[str, bytes]  # runtime alias: no PEP 604 on Python 3.9


@dataclass
class ServerRecord:
    """What the server saw on one tracked connection."""

    sid: str
    path: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    subprotocol: str | None = None
    received: list[Message] = field(default_factory=list)
    client_close: tuple[int, str] | None = None
    """(code, reason) of the close frame the client sent, if one arrived."""
    error: str | None = None
    opened: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def wait_finished(self, timeout: float = 5.0) -> ServerRecord:
        """Block until the server-side handler ended (connection closed)."""
        assert self.opened.wait(timeout), "server never saw the tracked connection"
        assert self.finished.wait(timeout), "server handler still running"
        return self

    def wait_received(self, count: int, timeout: float = 10.0) -> list[Message]:
        """Block until the server has received ``count`` messages."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.received) >= count, f"server got {len(self.received)} of {count} messages"
        return self.received


class _Route:
    """Per-connection view of the query string."""

    def __init__(self, conn: ServerConnection) -> None:
        assert conn.request is not None
        split = urlsplit(conn.request.path)
        self.conn = conn
        self.path = split.path
        self.pairs = parse_qsl(split.query, keep_blank_values=True)
        self.query = dict(self.pairs)

    def get(self, name: str, default: str) -> str:
        return self.query.get(name, default)


Handler = Callable[[_Route, ServerRecord], None]


class EchoServer:
    """The server object the ``echo_server`` fixture yields.

    ``url`` is the base ``ws://127.0.0.1:PORT``; ``url_for(path, **query)``
    builds a full URL; ``track(path, **query)`` returns ``(url, record)``.
    """

    def __init__(self, *, compression: str | None = None, max_size: int | None = None) -> None:
        self._records: dict[str, ServerRecord] = {}
        self._lock = threading.Lock()
        self._server: Server = serve(
            self._handle,
            "127.0.0.1",
            0,
            compression=compression,
            max_size=max_size,
            ping_interval=None,  # server pings would show up in recv_frame tests
            close_timeout=2,
            process_request=self._process_request,
            process_response=self._process_response,
            select_subprotocol=self._select_subprotocol,
            logger=logging.getLogger("tests.echo_server"),
        )
        self.port: int = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="echo-server", daemon=True)
        self._routes: dict[str, Handler] = {
            "/echo": _echo_route,
            "/sink": _sink_route,
            "/close": _close_route,
            "/send": _send_route,
            "/headers": _headers_route,
            "/subprotocol": _subprotocol_route,
            "/ping": _ping_route,
            "/fragmented": _fragmented_route,
            "/big": _big_route,
            "/delay": _delay_route,
        }

    def url_for(self, path: str, **query: Any) -> str:
        """Full URL for ``path`` with ``query`` (lists repeat the key)."""
        qs = urlencode(query, doseq=True)
        return f"{self.url}{path}" + (f"?{qs}" if qs else "")

    def track(self, path: str, **query: Any) -> tuple[str, ServerRecord]:
        """A URL with a fresh ``sid`` and the record the server will fill for it."""
        sid = uuid.uuid4().hex
        record = ServerRecord(sid)
        with self._lock:
            self._records[sid] = record
        return self.url_for(path, sid=sid, **query), record

    # ----------------------------------------------------------- lifecycle

    def start(self) -> EchoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close connections (1001), stop accepting, join with bounded waits."""
        stopper = threading.Thread(target=self._server.shutdown, name="echo-server-stop", daemon=True)
        stopper.start()
        stopper.join(STOP_TIMEOUT)
        self._thread.join(STOP_TIMEOUT)
        assert not stopper.is_alive(), "echo server shutdown hung"
        assert not self._thread.is_alive(), "echo server thread did not stop"

    # ----------------------------------------------------------- handshake hooks

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        query = dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
        if path == "/reject":
            return conn.respond(int(query.get("status", "403")), query.get("body", "rejected"))
        if path == "/redirect":
            return self._redirect(conn, query)
        if path not in self._routes:
            return conn.respond(404, f"no route {path}")
        return None

    def _redirect(self, conn: ServerConnection, query: dict[str, str]) -> Response:
        hops = int(query.get("hops", "1"))
        target = query.get("to", "/echo")
        if hops > 1:
            target = "/redirect?" + urlencode({**query, "hops": hops - 1})
        response = conn.respond(int(query.get("status", "302")), "")
        if query.get("location") != "omit":
            location = target if query.get("relative") else f"{self.url}{target}"
            response.headers["Location"] = location
        return response

    def _process_response(self, conn: ServerConnection, request: Request, response: Response) -> None:
        for key, value in parse_qsl(urlsplit(request.path).query, keep_blank_values=True):
            if key == "rh":
                name, _, header_value = value.partition(":")
                response.headers[name] = header_value

    def _select_subprotocol(self, conn: ServerConnection, offered: Any) -> Any:
        assert conn.request is not None
        split = urlsplit(conn.request.path)
        if split.path != "/subprotocol":
            return None
        pick = dict(parse_qsl(split.query)).get("pick")
        if pick == "none":
            return None
        return pick or (offered[0] if offered else None)

    # ----------------------------------------------------------- connection

    def _record_for(self, route: _Route) -> ServerRecord:
        sid = route.query.get("sid", "")
        with self._lock:
            record = self._records.get(sid)
        # Untracked connections get a throwaway record nobody reads.
        return record if record is not None else ServerRecord("")

    def _handle(self, conn: ServerConnection) -> None:
        route = _Route(conn)
        record = self._record_for(route)
        record.path = route.path
        record.headers = _header_items(conn.request.headers if conn.request else Headers())
        record.subprotocol = conn.subprotocol
        record.opened.set()
        try:
            self._routes[route.path](route, record)
        except ConnectionClosed:
            pass
        except Exception as exc:  # kept for the test to see, then re-raised
            record.error = repr(exc)
            raise
        finally:
            _note_close(conn, record)
            record.finished.set()


def _header_items(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.raw_items())


def _note_close(conn: ServerConnection, record: ServerRecord) -> None:
    close = conn.protocol.close_rcvd
    if close is not None:
        record.client_close = (int(close.code), close.reason)


# --------------------------------------------------------------- routes


def _serve_messages(route: _Route, record: ServerRecord, *, echo: bool) -> None:
    """Receive until the client closes; echo when asked. Ends on idle timeout."""
    conn = route.conn
    while True:
        try:
            message = conn.recv(timeout=IDLE_TIMEOUT)
        except TimeoutError:
            conn.close(1001, "idle")
            return
        record.received.append(message)
        if echo:
            conn.send(message)


def _echo_route(route: _Route, record: ServerRecord) -> None:
    _serve_messages(route, record, echo=True)


def _sink_route(route: _Route, record: ServerRecord) -> None:
    _serve_messages(route, record, echo=False)


def _close_route(route: _Route, record: ServerRecord) -> None:
    for _ in range(int(route.get("after", "0"))):
        message = route.conn.recv(timeout=IDLE_TIMEOUT)
        record.received.append(message)
        route.conn.send(message)
    route.conn.close(int(route.get("code", "1000")), route.get("reason", ""))


def _send_route(route: _Route, record: ServerRecord) -> None:
    conn = route.conn
    for key, value in route.pairs:
        if key == "text":
            conn.send(value)
        elif key == "binary":
            conn.send(bytes.fromhex(value))
        elif key == "ping":
            conn.ping(value)
        elif key == "sleep":
            time.sleep(float(value))
        elif key == "close":
            code, _, reason = value.partition(":")
            conn.close(int(code), reason)
            return
    _serve_messages(route, record, echo=True)


def _headers_route(route: _Route, record: ServerRecord) -> None:
    assert route.conn.request is not None
    request = {"path": route.conn.request.path, "headers": record.headers}
    route.conn.send(json.dumps(request))
    _serve_messages(route, record, echo=True)


def _subprotocol_route(route: _Route, record: ServerRecord) -> None:
    route.conn.send(route.conn.subprotocol or "")
    _serve_messages(route, record, echo=True)


def _ping_route(route: _Route, record: ServerRecord) -> None:
    payload = route.get("payload", "hello")
    pong = route.conn.ping(payload)
    route.conn.send(f"pong:{payload}" if pong.wait(5) else "no-pong")
    _serve_messages(route, record, echo=True)


def _fragmented_route(route: _Route, record: ServerRecord) -> None:
    parts = route.get("parts", "frag,ment,ed").split(",")
    if route.get("type", "text") == "binary":
        route.conn.send([part.encode() for part in parts])
    else:
        route.conn.send(parts)
    _serve_messages(route, record, echo=True)


def _big_route(route: _Route, record: ServerRecord) -> None:
    size = int(route.get("size", "1048576"))
    makers: dict[str, Callable[[int], Message]] = {"binary": pattern_bytes, "text": pattern_text, "ascii": pattern_ascii}
    message: Message = makers[route.get("type", "binary")](size)
    for _ in range(int(route.get("count", "1"))):
        route.conn.send(message)
    _serve_messages(route, record, echo=True)


def _delay_route(route: _Route, record: ServerRecord) -> None:
    time.sleep(float(route.get("seconds", "0.5")))
    route.conn.send(route.get("text", "late"))
    _serve_messages(route, record, echo=True)


@contextmanager
def running_echo_server(**kwargs: Any) -> Iterator[EchoServer]:
    """Start an ``EchoServer`` (kwargs: compression, max_size) and stop it after."""
    server = EchoServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
