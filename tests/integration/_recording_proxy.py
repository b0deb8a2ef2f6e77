"""A raw HTTP CONNECT proxy that records every byte it receives, for what a real proxy would never show.

``RecordingProxy(mode)`` listens on 127.0.0.1; for each client it reads the
request head and then, by ``mode``:

``tunnel``  answers 200, connects to the requested 127.0.0.1 port and relays
            both ways, keeping every byte the client sent (``received``);
``close``   closes without a word;
``stall``   says nothing and keeps the connection open;
``reply``   sends ``reply`` and keeps the connection open (``close_after``:
            closes right after it).

``heads`` holds the request heads. Every wait is bounded; ``stop()`` closes
every socket and joins every thread.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Any

JOIN_TIMEOUT = 10.0
IO_TIMEOUT = 10.0


class RecordingProxy:
    """See the module docstring."""

    def __init__(self, mode: str = "tunnel", reply: bytes = b"", close_after: bool = False) -> None:
        assert mode in ("tunnel", "close", "stall", "reply")
        self.mode, self.reply, self.close_after = mode, reply, close_after
        self.heads: list[bytes] = []
        self.received = bytearray()  # everything any client sent, the heads included
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> RecordingProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="recording-proxy")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._socks.append(sock)
        return sock

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self._spawn(self._serve, self._keep(client))

    def _read_head(self, client: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                break
            data += chunk
            self._note(chunk)
        return data

    def _note(self, data: bytes) -> None:
        with self._lock:
            self.received += data

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(IO_TIMEOUT)
        with contextlib.suppress(OSError):
            head = self._read_head(client)
            self.heads.append(head)
            if self.mode == "close":
                client.close()
            elif self.mode == "reply":
                client.sendall(self.reply)
                if self.close_after:
                    client.close()
            elif self.mode == "tunnel":
                self._tunnel(client, head)

    def _tunnel(self, client: socket.socket, head: bytes) -> None:
        target = head.split(b" ", 2)[1].decode("ascii")
        host, _, port = target.rpartition(":")
        assert host.strip("[]") in ("127.0.0.1", "localhost", "::1"), f"the proxy only relays to the loopback, not {host}"
        upstream = self._keep(socket.create_connection((host.strip("[]"), int(port)), timeout=IO_TIMEOUT))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while sel.get_map() and not self._stopping.is_set():
                for key, _ in sel.select(0.2):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:  # pass the half close on, keep relaying the other way
                        sel.unregister(key.fileobj)
                        key.data.shutdown(socket.SHUT_WR)
                        continue
                    if key.fileobj is client:
                        self._note(data)
                    key.data.sendall(data)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            threads, socks = list(self._threads), list(self._socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
            assert not thread.is_alive(), "recording proxy thread did not stop"
        self._listener.close()
