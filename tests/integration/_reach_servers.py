"""Servers for the "reaching servers" tests (issue 4): a configurable WebSocket server and a SOCKS4a relay.

``WsServer`` is a real ``websockets`` 17.4 sync server in a thread, over TCP
(optionally TLS) or a Unix socket. It records every handshake request (path,
headers, TLS SNI) and lets a test answer some of them itself (a redirect, a
401, a Set-Cookie) through a ``responder``; accepted connections echo.

``Socks4aRelay`` is a small, real SOCKS4/4a server: the proxies the tests
otherwise use (pproxy) do not implement SOCKS4a's host-name form, so this one
covers it, and records what each client asked for (user id, host, port).

Every wait is bounded and ``stop()`` joins every thread it started.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve, unix_serve

JOIN_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0

# A responder returns None (go on with the upgrade) or (status, [(name, value)...]).
Answer = tuple[int, list[tuple[str, str]]]
Responder = Callable[[Request], "Answer | None"]


@dataclass
class Seen:
    """One handshake request as the server received it."""

    path: str
    headers: list[tuple[str, str]]

    def get_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None


@dataclass
class WsServer:
    """A real WebSocket server (TCP, TLS or Unix socket) that records requests and echoes messages."""

    ssl_context: ssl.SSLContext | None = None
    host: str = "127.0.0.1"
    unix_path: str | None = None
    responder: Responder | None = None
    upgrade_headers: list[tuple[str, str]] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)

    def start(self) -> WsServer:
        if self.ssl_context is not None:
            self.ssl_context.sni_callback = self._note_sni
        common: dict[str, Any] = {
            "process_request": self._process_request,
            "process_response": self._process_response,
            "ssl": self.ssl_context,
            "compression": None,
            "ping_interval": None,
            "close_timeout": 0.5,  # stop() does not wait long for clients a test left open
            "logger": logging.getLogger("tests.reach_server"),
        }
        if self.unix_path is not None:
            self._server: Server = unix_serve(self._handle, self.unix_path, **common)
            self.port = 0
        else:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            listener = socket.create_server((self.host, 0), family=family)
            self._server = serve(self._handle, sock=listener, **common)
            self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="reach-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        stopper = threading.Thread(target=self._server.shutdown, daemon=True)
        stopper.start()
        stopper.join(JOIN_TIMEOUT)
        self._thread.join(JOIN_TIMEOUT)
        assert not self._thread.is_alive(), "WebSocket server thread did not stop"

    def __enter__(self) -> WsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "/", *, host: str | None = None, userinfo: str = "") -> str:
        """ws:// or wss:// URL of this server (``host`` replaces the address, e.g. "localhost")."""
        scheme = "wss" if self.ssl_context is not None else "ws"
        name = host or self.host
        name = f"[{name}]" if ":" in name else name
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}{name}:{self.port}{path}"

    def last(self) -> Seen:
        assert self.requests, "the server saw no request"
        return self.requests[-1]

    # ------------------------------------------------------------ hooks

    def _note_sni(self, sslobj: Any, name: str | None, ctx: ssl.SSLContext) -> None:
        self.sni_names.append(name)

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        self.requests.append(Seen(request.path, list(request.headers.raw_items())))
        answer = self.responder(request) if self.responder is not None else None
        if answer is None:
            return None
        status, headers = answer
        response = conn.respond(status, f"status {status}\n")
        for name, value in headers:
            response.headers[name] = value
        return response

    def _process_response(self, conn: ServerConnection, request: Request, response: Response) -> None:
        if response.status_code == 101:
            for name, value in self.upgrade_headers:
                response.headers[name] = value

    def _handle(self, conn: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            while True:
                conn.send(conn.recv(timeout=IDLE_TIMEOUT))


@contextlib.contextmanager
def running(server: WsServer) -> Iterator[WsServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------- SOCKS4a


@dataclass
class SocksRequest:
    user_id: str
    host: str
    port: int
    by_name: bool


class Socks4aRelay:
    """A real SOCKS4/4a CONNECT server on 127.0.0.1 that relays bytes both ways."""

    def __init__(self, user_id: str | None = None) -> None:
        self.user_id = user_id
        self.requests: list[SocksRequest] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> Socks4aRelay:
        self._spawn(self._accept_loop)
        return self

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self._socks.append(client)
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(5)
        try:
            upstream = self._open(client)
        except (OSError, ValueError):
            client.close()
            return
        if upstream is not None:
            self._relay(client, upstream)

    def _open(self, client: socket.socket) -> socket.socket | None:
        head = _read_exact(client, 8)
        version, command, port, ip = head[0], head[1], int.from_bytes(head[2:4], "big"), head[4:8]
        if version != 4 or command != 1:
            raise ValueError("not a SOCKS4 CONNECT")
        user_id = _read_to_nul(client).decode("ascii", "replace")
        by_name = ip[:3] == b"\x00\x00\x00" and ip[3] != 0
        host = _read_to_nul(client).decode("idna") if by_name else socket.inet_ntoa(ip)
        self.requests.append(SocksRequest(user_id, host, port, by_name))
        if self.user_id is not None and user_id != self.user_id:
            client.sendall(b"\x00\x5d" + head[2:8])  # rejected: user id mismatch
            client.close()
            return None
        upstream = socket.create_connection((host, port), timeout=5)
        with self._lock:
            self._socks.append(upstream)
        client.sendall(b"\x00\x5a" + head[2:8])
        return upstream

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        with selectors.DefaultSelector() as sel:
            for s in peers:
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in sel.select(timeout=0.2):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(65536)
                        if not data:
                            raise ConnectionResetError
                        peers[src].setblocking(True)
                        peers[src].sendall(data)
                        peers[src].setblocking(False)
                    except OSError:
                        a.close()
                        b.close()
                        return

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
            assert not thread.is_alive(), "SOCKS relay thread did not stop"


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("client closed during the SOCKS request")
        data += chunk
    return data


def _read_to_nul(sock: socket.socket, limit: int = 512) -> bytes:
    data = b""
    while not data.endswith(b"\x00"):
        if len(data) > limit:
            raise ValueError("SOCKS field too long")
        data += _read_exact(sock, 1)
    return data[:-1]


def stalled_listener() -> socket.socket:
    """A listening socket nobody accepts on: connects succeed (kernel backlog), nothing is ever answered."""
    return socket.create_server(("127.0.0.1", 0), backlog=8)


class ScriptedProxy:
    """A fake HTTP proxy for answers no real proxy gives: records each request head, sends ``reply``, waits.

    Used only for malformed or hostile proxy answers and for the exact bytes
    of the CONNECT request; the working paths use real proxies.
    """

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._loop, name="scripted-proxy", daemon=True)

    def start(self) -> ScriptedProxy:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self._conns.append(conn)
            conn.settimeout(5)
            data = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                conn.sendall(self.reply)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(JOIN_TIMEOUT)
        assert not self._thread.is_alive(), "scripted proxy thread did not stop"
        self._listener.close()
        for conn in self._conns:
            conn.close()

    def __enter__(self) -> ScriptedProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
