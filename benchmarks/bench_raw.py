"""The "raw socket" column: a plain socket moving the same bytes as the libraries.

It does the handshake, then only reads or writes pre-built frame bytes, without
parsing per message. This is the ceiling for the machine and the server: a library
cannot beat it, and a library close to it is limited by the peer, not by itself.
"""

from __future__ import annotations

import os
import socket
import time
import zlib
from collections.abc import Callable
from itertools import accumulate

from bench_common import CheckError, Clock, Outcome, check_summary, measure_idle
from bench_proto import (
    DEFLATE_TAIL,
    OP_CLOSE,
    OP_TEXT,
    RAW_MASK,
    accept_key,
    build_frame,
    close_frame,
    payload,
    variants,
)
from bench_scenarios import Scenario

TIMEOUT = 30.0
READ_BUFFER = 4 << 20
SEND_CHUNK = 1 << 20


def open_ws(port: int, path: str, compress: bool = False) -> socket.socket:
    """Connect and complete the opening handshake; return the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = os.urandom(16).hex()[:22] + "=="
    ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if compress else ""
    sock.sendall(
        (
            f"GET /{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise CheckError("server closed during handshake")
        response += chunk
    head, _, rest = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101") or accept_key(key).encode() not in head:
        raise CheckError(f"handshake failed: {head[:200]!r}")
    if rest:
        raise CheckError("unexpected bytes right after the handshake")
    return sock


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Read exactly ``n`` bytes."""
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise CheckError("connection closed early")
        data += chunk
    return bytes(data)


def read_server_frame(sock: socket.socket) -> tuple[int, bytes]:
    """Read one unmasked server frame (small control or summary frames only)."""
    b0, b1 = recv_exact(sock, 2)
    length = b1 & 127
    if length == 126:
        length = int.from_bytes(recv_exact(sock, 2), "big")
    elif length == 127:
        length = int.from_bytes(recv_exact(sock, 8), "big")
    return b0 & 15, recv_exact(sock, length)


def close_ws(sock: socket.socket) -> None:
    """Do the closing handshake: send a masked close frame, await the server's."""
    sock.sendall(close_frame(RAW_MASK))
    for _ in range(4):  # the close answer is the next frame; bounded anyway
        opcode, _ = read_server_frame(sock)
        if opcode == OP_CLOSE:
            break
    sock.close()


def raw_recv(scen: Scenario, port: int, count: int, budget: float) -> Outcome:
    """Read the bytes of ``count`` frames straight into one reused buffer."""
    frames = scen.server_frames()
    full, rest = divmod(count, len(frames))
    total = full * sum(len(f) for f in frames) + sum(len(f) for f in frames[:rest])
    tail = frames[(count - 1) % len(frames)][-64:]
    sock = open_ws(port, f"{scen.id}?count={count}", scen.compress)
    buf = bytearray(READ_BUFFER)
    view = memoryview(buf)
    got = 0
    n = 0
    clock = Clock()
    deadline = clock.t0 + budget
    sock.sendall(build_frame(OP_TEXT, b"go", RAW_MASK))
    while got < total:
        n = sock.recv_into(view, min(READ_BUFFER, total - got))
        if not n:
            raise CheckError(f"closed after {got} of {total} bytes")
        got += n
        if time.perf_counter() > deadline:
            break
    elapsed, cpu = clock.elapsed(), clock.cpu()
    if got == total:
        if n >= len(tail) and bytes(view[n - len(tail) : n]) != tail:
            raise CheckError("stream does not end with the expected frame")
        close_ws(sock)
    messages = count if got == total else got * count // total
    extra = {}
    if scen.family == "utf8":
        extra["decode"] = decode_rate(scen, count)
    return Outcome(messages, elapsed, got < total, extra, cpu)


def decode_rate(scen: Scenario, count: int) -> float:
    """MB/s of a single ``bytes.decode('utf-8')`` over the same payloads (no network)."""
    bodies = [payload(scen.family, scen.size, v) for v in range(variants(scen.family, scen.size))]
    n = min(count, 50)
    t0 = time.perf_counter()
    for i in range(n):
        bodies[i % len(bodies)].decode("utf-8")
    return n * scen.size / (time.perf_counter() - t0) / 1e6


def client_frames(scen: Scenario, count: int) -> tuple[bytes, list[int]]:
    """Pre-build the masked frames for a send run; return a chunk and frame ends.

    Compressed runs keep the compression context across messages (as a client may
    by default), so every one of the ``count`` messages is built; plain runs repeat a
    cycle of the payload variants to fill a chunk that is sent repeatedly.
    """
    k = variants(scen.family, scen.size)
    if scen.compress:
        comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        frames = []
        for i in range(count):
            data = comp.compress(payload(scen.family, scen.size, i % k))
            data += comp.flush(zlib.Z_SYNC_FLUSH)
            body = data[:-4] if data.endswith(DEFLATE_TAIL) else data
            frames.append(build_frame(scen.opcode, body, RAW_MASK, rsv1=True))
    else:
        cycle = [build_frame(scen.opcode, payload(scen.family, scen.size, v), RAW_MASK) for v in range(k)]
        reps = max(1, SEND_CHUNK // sum(len(f) for f in cycle))
        frames = cycle * reps
    return b"".join(frames), list(accumulate(len(f) for f in frames))


def raw_send(scen: Scenario, port: int, count: int, budget: float) -> Outcome:
    """Write pre-built masked frames, one sendall per message; the server's summary confirms them.

    One system call per message is what any client's ``send`` costs, so this is
    the ceiling for a library; writing many messages per call would only
    measure the bandwidth of the loopback.
    """
    chunk, ends = client_frames(scen, count)
    view = memoryview(chunk)
    frames = [view[start:end] for start, end in zip([0, *ends[:-1]], ends)]
    sock = open_ws(port, f"{scen.id}?count={count}", scen.compress)
    sendall = sock.sendall
    cycle = len(frames)
    sent = 0
    clock = Clock()
    deadline = clock.t0 + budget
    for i in range(count):
        sendall(frames[i % cycle])
        if not i & 255 and time.perf_counter() > deadline:
            sent = i + 1
            break
    else:
        sent = count
    # Sent uncompressed (RSV1 clear), which permessage-deflate allows for any message.
    sock.sendall(build_frame(OP_TEXT, f"end:{sent}".encode(), RAW_MASK))
    _opcode, summary = read_server_frame(sock)
    outcome = clock.outcome(sent, sent < count)
    check_summary(summary.decode(), scen, sent)
    close_ws(sock)
    return outcome


def raw_echo(scen: Scenario, port: int, count: int, budget: float) -> Outcome:
    """Sequential round trips with pre-built frames and exact-size reads."""
    k = variants(scen.family, scen.size)
    bodies = [payload(scen.family, scen.size, v) for v in range(k)]
    out = [build_frame(scen.opcode, b, RAW_MASK) for b in bodies]
    back = [build_frame(scen.opcode, b) for b in bodies]
    sock = open_ws(port, f"{scen.id}?count={count}")
    buf = bytearray(max(len(b) for b in back))
    view = memoryview(buf)
    done = 0
    clock = Clock()
    deadline = clock.t0 + budget
    for i in range(count):
        sock.sendall(out[i % k])
        want = back[i % k]
        need = len(want)
        got = sock.recv_into(view, need)
        while 0 < got < need:
            got += sock.recv_into(view[got:], need - got)
        if view[:need].tobytes() != want:
            raise CheckError(f"echo {i} differs")
        if not i & 255 and time.perf_counter() > deadline:
            done = i + 1
            break
    else:
        done = count
    outcome = clock.outcome(done, done < count)
    close_ws(sock)
    return outcome


def raw_connect(scen: Scenario, port: int, count: int, budget: float) -> Outcome:
    """TCP connect, HTTP upgrade, closing handshake; repeated."""
    close_ws(open_ws(port, scen.id))
    done = 0
    clock = Clock()
    deadline = clock.t0 + budget
    for i in range(count):
        close_ws(open_ws(port, scen.id))
        if not i & 15 and time.perf_counter() > deadline:
            done = i + 1
            break
    else:
        done = count
    return clock.outcome(done, done < count)


def raw_idle(scen: Scenario, port: int, count: int, budget: float) -> Outcome:
    """Memory of ``count`` handshaken plain sockets (the floor for a connection object)."""
    close_ws(open_ws(port, scen.id))

    def opener() -> list[socket.socket]:
        return [open_ws(port, scen.id) for _ in range(count)]

    return measure_idle(opener, count)


RUNNERS: dict[str, Callable[[Scenario, int, int, float], Outcome]] = {
    "recv": raw_recv,
    "send": raw_send,
    "echo": raw_echo,
    "connect": raw_connect,
    "idle": raw_idle,
}
