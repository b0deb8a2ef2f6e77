"""Single-threaded raw-socket WebSocket peer for the benchmarks.

Run by run.py in its own process. Prints ``{"port": N}`` on stdout once listening,
then serves one benchmark connection at a time. The request path names the scenario
(``/recv_bin_32?count=1000``):

* recv scenarios: wait for one message from the client (the "go"), then ``sendall`` a
  pre-built buffer of frames, built once per scenario and reused, until ``count``
  frames went out; then wait for the client's close frame;
* send scenarios: parse headers only and skip payloads, except for a few sampled
  frames (first, middle, last) which are unmasked and compared with the expected
  payload; compressed scenarios inflate and compare every message. A text message
  starting with ``end:`` ends the stream and is answered with a JSON summary;
* echo / connect: echo every data frame, answer the closing handshake;
* idle_memory: complete the handshake and park the socket until the client goes away.

No WebSocket library is used: the point is that this side costs as little as possible.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time
import zlib
from dataclasses import dataclass
from itertools import accumulate

from bench_proto import (
    DEFLATE_TAIL,
    END_MARKER,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    accept_key,
    build_frame,
    close_frame,
    frame_header,
    parse_query,
    payload,
    variants,
    xor_mask,
)
from bench_scenarios import BY_ID, Scenario

IO_TIMEOUT = 60.0  # seconds; bounds every blocking socket call of a connection
READ_BUFFER = 4 << 20
MAX_REQUEST = 64 << 10
BLAST_CHUNK = 1 << 20  # repeat the frame cycle until a sendall() moves at least this much
MAX_BAD = 5  # mismatches reported back in a summary

# Status codes returned by Peer.handle_frame().
DATA, CONTROL, MARKER, CLOSED = range(4)


class ProtocolError(Exception):
    """The client sent something this peer does not accept."""


@dataclass(frozen=True)
class Blast:
    """Pre-built frames for a recv scenario: ``data`` holds ``len(ends)`` whole frames."""

    data: bytes
    ends: tuple[int, ...]  # ends[i] = offset just past frame i


_BLASTS: dict[tuple[str, bool], Blast] = {}
_READ_BUF = bytearray(READ_BUFFER)
_READ_VIEW = memoryview(_READ_BUF)


def get_blast(scenario: Scenario) -> Blast:
    """Build (once) the frame buffer that a recv scenario streams."""
    key = (scenario.id, scenario.compress)
    blast = _BLASTS.get(key)
    if blast is None:
        cycle = scenario.server_frames()
        reps = max(1, BLAST_CHUNK // sum(len(f) for f in cycle))
        frames = cycle * reps
        blast = Blast(b"".join(frames), tuple(accumulate(len(f) for f in frames)))
        _BLASTS[key] = blast
    return blast


_REPLIES: dict[str, list[bytes]] = {}


def echo_replies(scenario: Scenario) -> list[bytes]:
    """Return (built once) the unmasked frames the echo scenario answers with, by variant.

    Only payloads under 126 bytes, which have a 2-byte header; others are echoed for real.
    """
    replies = _REPLIES.get(scenario.id)
    if replies is None:
        small = scenario.size < 126
        replies = scenario.server_frames() if small else [b""]
        _REPLIES[scenario.id] = replies
    return replies


def read_request(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read an HTTP request head; return it and any bytes that followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_REQUEST:
            raise ProtocolError("request head too large")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed during handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def parse_request(head: bytes) -> tuple[str, dict[str, str]]:
    """Return the request target and the headers (lower-cased names)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or parts[0] != "GET":
        raise ProtocolError(f"bad request line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        # Repeated headers (Sec-WebSocket-Extensions may be) are joined as HTTP allows.
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return parts[1], headers


def deflate_offer(headers: dict[str, str]) -> dict[str, str] | None:
    """Return the parameters of the first permessage-deflate offer, or None."""
    for offer in headers.get("sec-websocket-extensions", "").split(","):
        name, *params = (p.strip() for p in offer.split(";"))
        if name == "permessage-deflate":
            result: dict[str, str] = {}
            for p in params:
                key, _, value = p.partition("=")
                result[key.strip()] = value.strip().strip('"')
            return result
    return None


def reject(sock: socket.socket, reason: str) -> None:
    """Refuse the upgrade with a 400 so that the client fails loudly."""
    body = reason.encode()
    sock.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )


class Peer:
    """Serves one accepted connection for one scenario."""

    def __init__(self, sock: socket.socket, scenario: Scenario, count: int, initial: bytes):
        self.sock = sock
        self.scenario = scenario
        self.count = count
        # One buffer for all connections (they are served one at a time): allocating
        # 4 MiB per connection would dominate the connect scenario.
        self.buf = _READ_BUF
        self.view = _READ_VIEW
        self.start = 0
        self.end = len(initial)
        self.buf[: self.end] = initial
        self.inflater = zlib.decompressobj(-15) if scenario.compress else None
        self.expected_variants = variants(scenario.family, scenario.size)
        self.frames = 0  # data messages seen
        self.nbytes = 0  # their application payload bytes
        self.bad: list[str] = []
        self.echo = scenario.kind in ("echo", "connect")

    # --- reading -------------------------------------------------------------------------

    def fill(self) -> None:
        """Read more bytes into the buffer, first moving a partial header to the front."""
        if self.start == self.end:
            self.start = self.end = 0
        elif len(self.buf) - self.end < 64:
            pending = bytes(self.view[self.start : self.end])
            self.buf[: len(pending)] = pending
            self.start, self.end = 0, len(pending)
        n = self.sock.recv_into(self.view[self.end :])
        if n == 0:
            raise ConnectionError("client closed the TCP connection")
        self.end += n

    def loop(self, stop_on_data: bool = False) -> int:
        """Parse frames until the client closes (or, optionally, until a first data frame).

        Bulk binary frames of a plain send scenario take a fast path that only reads
        the header and skips the payload; every other frame is collected, unmasked
        and passed to handle_frame(). The parsing stays inline in one function on
        purpose: a call per frame would make this peer slower than the fastest
        clients' 32-byte send path, which is exactly what it must not be.
        """
        buf, view = self.buf, self.view
        fast_op = -1 if (self.echo or self.scenario.compress or stop_on_data) else self.scenario.opcode
        sampled = {0, self.count // 2, self.count - 1}
        echo_fast = self.echo and not self.scenario.compress
        replies = echo_replies(self.scenario) if echo_fast else []
        n_replies = len(replies)
        skip = 0  # payload bytes still to skip or collect
        collect: bytearray | None = None
        cur_b0 = 0
        cur_mask = b""
        start, end = self.start, self.end
        while True:
            if skip:
                k = min(skip, end - start)
                if collect is not None:
                    collect += view[start : start + k]
                start += k
                skip -= k
                if not skip and collect is not None:
                    status = self.handle_frame(cur_b0, cur_mask, bytes(collect))
                    collect = None
                    if status == CLOSED or (stop_on_data and status == DATA):
                        self.start, self.end = start, end
                        return status
            while not skip and end - start >= 2:
                b0 = buf[start]
                b1 = buf[start + 1]
                length = b1 & 127
                p = start + 2
                if length == 126:
                    if end - p < 2:
                        break
                    length = buf[p] << 8 | buf[p + 1]
                    p += 2
                elif length == 127:
                    if end - p < 8:
                        break
                    length = int.from_bytes(view[p : p + 8], "big")
                    p += 8
                if b1 & 0x80:
                    if end - p < 4:
                        break
                    mask = bytes(view[p : p + 4])
                    p += 4
                else:
                    mask = b""
                avail = end - p
                if echo_fast and b0 in (0x81, 0x82) and mask and avail >= length:
                    # Hot path of the echo scenario: answer at once with the pre-built frame
                    # of the message the client must have sent; unmask and compare only a
                    # sample (every 64th), otherwise send back what really came.
                    start = p + length
                    reply = replies[self.frames % n_replies]
                    if len(reply) != length + 2 or b0 != reply[0] or not self.frames & 63:
                        key = (mask * (length // 4 + 1))[:length]
                        value = int.from_bytes(view[p:start], "big") ^ int.from_bytes(key, "big")
                        reply = frame_header(b0 & 15, length) + value.to_bytes(length, "big")
                    self.sock.sendall(reply)
                    self.frames += 1
                    continue
                if b0 & 15 == fast_op and b0 & 0x80 and mask and self.frames not in sampled:
                    # Hot path: count the message, skip its payload unread.
                    self.frames += 1
                    self.nbytes += length
                    if avail >= length:
                        start = p + length
                    else:
                        start = end
                        skip = length - avail
                    continue
                if avail >= length:
                    start = p + length
                    status = self.handle_frame(b0, mask, bytes(view[p:start]))
                    if status == CLOSED or (stop_on_data and status == DATA):
                        self.start, self.end = start, end
                        return status
                else:
                    cur_b0, cur_mask = b0, mask
                    collect = bytearray(view[p:end])
                    skip = length - avail
                    start = end
            self.start, self.end = start, end
            self.fill()
            start, end = self.start, self.end

    def handle_frame(self, b0: int, mask: bytes, data: bytes) -> int:
        """Process one collected frame; return DATA, CONTROL, MARKER or CLOSED."""
        if not mask:
            raise ProtocolError("client frame without mask")
        data = xor_mask(mask, data)
        opcode = b0 & 15
        if opcode == OP_CLOSE:
            self.sock.sendall(build_frame(OP_CLOSE, data[:2]))
            return CLOSED
        if opcode == OP_PING:
            self.sock.sendall(build_frame(OP_PONG, data))
            return CONTROL
        if opcode == OP_PONG:
            return CONTROL
        if not b0 & 0x80:
            raise ProtocolError("fragmented messages are not expected in these scenarios")
        if b0 & 0x40:
            if self.inflater is None:
                raise ProtocolError("RSV1 set without permessage-deflate")
            data = self.inflater.decompress(data + DEFLATE_TAIL)
        if self.echo:
            self.sock.sendall(frame_header(opcode, len(data)) + data)
        elif opcode == OP_TEXT and data.startswith(END_MARKER):
            self.send_summary(data)
            return MARKER
        else:
            self.check_message(opcode, data)
        self.frames += 1
        self.nbytes += len(data)
        return DATA

    def check_message(self, opcode: int, data: bytes) -> None:
        """Compare a collected message of a send scenario with the payload it must carry."""
        scen = self.scenario
        variant = self.frames % self.expected_variants
        if opcode != scen.opcode:
            problem = f"message {self.frames}: opcode {opcode}, expected {scen.opcode}"
        elif data != payload(scen.family, scen.size, variant):
            problem = f"message {self.frames}: payload differs ({len(data)} bytes)"
        else:
            return
        if len(self.bad) < MAX_BAD:
            self.bad.append(problem)

    def send_summary(self, marker: bytes) -> None:
        """Answer the end marker with what was received, for the client to verify."""
        summary = {
            "marker": marker.decode("utf-8", "replace"),
            "frames": self.frames,
            "bytes": self.nbytes,
            "bad": self.bad,
        }
        self.sock.sendall(build_frame(OP_TEXT, json.dumps(summary).encode()))

    # --- scenarios -----------------------------------------------------------------------

    def serve(self) -> None:
        """Run the scenario on this connection until the client closes it."""
        if self.scenario.kind == "recv":
            if self.loop(stop_on_data=True) == CLOSED:
                return
            self.frames = 0
            self.blast()
        self.loop()

    def blast(self) -> None:
        """Stream ``count`` pre-built frames with as few syscalls as possible."""
        blast = get_blast(self.scenario)
        view = memoryview(blast.data)
        per_chunk = len(blast.ends)
        full, rest = divmod(self.count, per_chunk)
        for _ in range(full):
            self.sock.sendall(view)
        if rest:
            self.sock.sendall(view[: blast.ends[rest - 1]])


def handshake(sock: socket.socket) -> tuple[Scenario, int, bytes] | None:
    """Complete the opening handshake; return the scenario, count and leftover bytes."""
    head, rest = read_request(sock)
    target, headers = parse_request(head)
    name, params = parse_query(target)
    scenario = BY_ID.get(name)
    key = headers.get("sec-websocket-key")
    if scenario is None or not key:
        reject(sock, f"unknown scenario {name!r} or missing key")
        return None
    extra = ""
    if scenario.compress:
        offer = deflate_offer(headers)
        if offer is None:
            reject(sock, "this scenario needs permessage-deflate")
            return None
        if "server_max_window_bits" in offer and offer["server_max_window_bits"] not in ("", "15"):
            reject(sock, "server_max_window_bits < 15 is not supported by the benchmark peer")
            return None
        # Pre-built frames are compressed one by one, hence server_no_context_takeover.
        extra = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
    sock.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
            f"{extra}\r\n"
        ).encode()
    )
    return scenario, int(params.get("count", "0")), rest


def serve_connection(sock: socket.socket, idle: list[socket.socket]) -> None:
    """Handle one accepted connection; idle connections are parked instead of closed."""
    keep = False
    try:
        sock.settimeout(IO_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        result = handshake(sock)
        if result is None:
            return
        scenario, count, rest = result
        if scenario.kind == "idle":
            idle.append(sock)
            keep = True
            return
        Peer(sock, scenario, count, rest).serve()
    except (OSError, ProtocolError, ValueError, zlib.error) as exc:
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            print(f"server: connection error: {exc!r}", file=sys.stderr, flush=True)
    finally:
        if not keep:
            sock.close()


def release_idle(sock: socket.socket, idle: list[socket.socket]) -> None:
    """Close a parked connection whose client sent something (its close) or left."""
    idle.remove(sock)
    try:
        sock.recv(65536)
        sock.sendall(close_frame())
    except OSError:
        pass
    sock.close()


def serve_forever(listener: socket.socket, max_seconds: float) -> None:
    """Accept connections one at a time until stopped, orphaned or out of time."""
    parent = os.getppid()
    deadline = time.monotonic() + max_seconds
    idle: list[socket.socket] = []
    # epoll rather than select(): hundreds of parked sockets may exceed FD_SETSIZE.
    with selectors.DefaultSelector() as sel:
        sel.register(listener, selectors.EVENT_READ)
        while time.monotonic() < deadline and os.getppid() == parent:
            for key, _ in sel.select(timeout=0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is listener:
                    conn, _ = listener.accept()
                    before = len(idle)
                    serve_connection(conn, idle)
                    if len(idle) > before:
                        sel.register(conn, selectors.EVENT_READ)
                else:
                    sel.unregister(sock)
                    release_idle(sock, idle)
    for sock in idle:
        sock.close()


def raise_fd_limit() -> None:
    """Lift the soft fd limit: the idle-memory scenario parks hundreds of sockets."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass


def main() -> None:
    """Entry point: listen on 127.0.0.1, announce the port, serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=4 * 3600)
    args = parser.parse_args()
    # The harness owns shutdown (SIGTERM); a terminal Ctrl-C must not kill us mid-run.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    raise_fd_limit()
    listener = socket.create_server(("127.0.0.1", args.port), backlog=1024)
    print(json.dumps({"port": listener.getsockname()[1], "pid": os.getpid()}), flush=True)
    try:
        serve_forever(listener, args.max_seconds)
    finally:
        listener.close()


if __name__ == "__main__":
    main()
