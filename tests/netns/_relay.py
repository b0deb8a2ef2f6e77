"""A userspace TCP relay that delays, jitters, chops and stalls (the kernel here has no netem).

``Relay(target)`` listens on 127.0.0.1 (an ephemeral port) and forwards every
connection to ``target``, both directions, through a delay line::

    with Relay((ns.addr, port), delay=0.1, jitter=0.03, chop=512) as relay:
        url = f"ws://127.0.0.1:{relay.port}/echo"
        relay.stall(True)      # hold every byte (a stalled path), then
        relay.stall(False)     # let them through, in order
        relay.reset_all()      # RST both sides of every relayed connection

Each chunk read is due ``delay`` plus a uniform jitter of +-``jitter`` seconds
after it arrived, never before the chunk ahead of it (TCP keeps order), and
is written in pieces of at most ``chop`` bytes. Every wait has a timeout and
``close()`` joins every thread, so nothing outlives a test.
"""

from __future__ import annotations

import contextlib
import queue
import random
import socket
import struct
import threading
import time
from typing import Optional

__all__ = ["Relay"]

JOIN_TIMEOUT = 5.0
_EOF = b""


class _Pipe:
    """One direction of one relayed connection: a reader and a delayed writer."""

    def __init__(self, relay: Relay, src: socket.socket, dst: socket.socket) -> None:
        self.relay = relay
        self.src, self.dst = src, dst
        self.line: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self.threads = [
            threading.Thread(target=self._read, daemon=True, name="relay-read"),
            threading.Thread(target=self._write, daemon=True, name="relay-write"),
        ]
        for thread in self.threads:
            thread.start()

    def _read(self) -> None:
        last_due = 0.0
        while not self.relay.closed.is_set():
            try:
                chunk = self.src.recv(65536)
            except OSError:
                chunk = _EOF
            if self.relay.aborted.is_set():
                return
            r = self.relay
            last_due = max(last_due, time.monotonic() + r.delay + r.rng.uniform(-r.jitter, r.jitter))
            self.line.put((last_due, chunk))
            if not chunk:
                return

    def _write(self) -> None:
        while not self.relay.closed.is_set():
            try:
                due, chunk = self.line.get(timeout=0.2)
            except queue.Empty:
                continue
            while not self.relay.closed.is_set() and (time.monotonic() < due or not self.relay.flowing.is_set()):
                self.relay.flowing.wait(min(0.05, max(0.0, due - time.monotonic())) or 0.05)
            try:
                if not chunk:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                for start in range(0, len(chunk), self.relay.chop):
                    self.dst.sendall(chunk[start : start + self.relay.chop])
            except OSError:
                return


class Relay:
    """A delay line between 127.0.0.1:``port`` and ``target``."""

    def __init__(
        self, target: tuple[str, int], *, delay: float = 0.0, jitter: float = 0.0, chop: int = 65536, seed: int = 0
    ) -> None:
        self.target = target
        self.delay, self.jitter, self.chop = delay, jitter, max(1, chop)
        self.rng = random.Random(seed)
        self.closed = threading.Event()
        self.flowing = threading.Event()
        self.flowing.set()
        self.aborted = threading.Event()
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._pipes: list[_Pipe] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True, name="relay-accept")
        self._acceptor.start()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.accepted += 1
                self._socks += [client, upstream]
                self._pipes += [_Pipe(self, client, upstream), _Pipe(self, upstream, client)]

    def stall(self, on: bool) -> None:
        """Hold (True) or release (False) every byte in both directions."""
        if on:
            self.flowing.clear()
        else:
            self.flowing.set()

    def reset_all(self) -> None:
        """Abort every relayed connection with an RST on both sides."""
        with self._lock:
            socks, self._socks = self._socks, []
            self.aborted.set()
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)  # wakes the reader without a FIN
                sock.close()  # the RST goes out once the reader has let go
            self.aborted.clear()

    def close(self, timeout: Optional[float] = JOIN_TIMEOUT) -> None:
        """Stop accepting, cut every connection and join every thread."""
        self.closed.set()
        self.flowing.set()
        self._listener.close()
        self.reset_all()
        self._acceptor.join(timeout)
        for pipe in self._pipes:
            for thread in pipe.threads:
                thread.join(timeout)
