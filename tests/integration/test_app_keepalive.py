"""WebSocketApp keepalive against real servers: a silent peer is detected, any data proves life."""

from __future__ import annotations

import threading
import time

import pytest
from _app_helpers import Recorder, make_app, run_app, script_server, serve_until_close
from _raw_server import RawConn
from _wire import OP_PING, OP_TEXT, Frame

import websocket

pytestmark = pytest.mark.wsline_only

PING_INTERVAL = 0.5
PING_TIMEOUT = 0.3


class SilentPeer:
    """A server that completes the handshake, then never writes again (no pong, no FIN): a dead host.

    It keeps reading, and notes when each frame from the client arrived.
    """

    def __init__(self) -> None:
        self.frames: list[tuple[float, Frame]] = []
        self.eof_at: float | None = None
        self.done = threading.Event()

    def __call__(self, conn: RawConn) -> None:
        conn.handshake()
        deadline = time.monotonic() + 15
        try:
            while time.monotonic() < deadline:
                try:
                    frame = conn.read_frame(deadline - time.monotonic())
                except TimeoutError:
                    break
                if frame is None:
                    self.eof_at = time.monotonic()
                    break
                self.frames.append((time.monotonic(), frame))
        finally:
            self.done.set()


def test_silent_server_is_detected_within_ping_timeout():
    peer = SilentPeer()
    with script_server(peer) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        started = time.monotonic()
        assert run_app(app, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT) is True
        assert peer.done.wait(5)
    assert rec.names() == ["open", "error", "close"]
    error = rec.events[1][1]
    assert isinstance(error, websocket.WebSocketTimeoutException)
    assert str(error) == "ping/pong timed out"
    pings = [at for at, frame in peer.frames if frame.opcode == OP_PING]
    assert pings, "the client never pinged"
    detected_at = rec.times[1]
    detection = detected_at - pings[0]
    print(  # the numbers behind the proof (run with -s)
        f"\ndead peer: first ping {pings[0] - started:.3f}s after start, "
        f"detected {detection:.3f}s after it (ping_timeout={PING_TIMEOUT}), "
        f"{detected_at - started:.3f}s after start"
    )
    assert PING_TIMEOUT - 0.05 <= detection <= PING_TIMEOUT + 0.5
    assert len(pings) == 1  # one unanswered ping is enough
    assert peer.eof_at is not None  # the client closed the dead connection
    assert rec.events[2] == ("close", None, None)


def test_any_data_counts_as_liveness_even_without_pongs():
    """A server that never answers pings but keeps sending data is alive."""

    def script(conn: RawConn) -> None:
        conn.handshake()
        for n in range(20):  # 2 s of traffic, much longer than ping_interval + ping_timeout
            conn.send_frame(OP_TEXT, f"tick {n}".encode())
            time.sleep(0.1)
        conn.send_close(1000, "done")
        conn.collect(timeout=3)

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        assert run_app(app, ping_interval=0.3, ping_timeout=0.2) is False
    assert rec.names() == ["open"] + ["message"] * 20 + ["error", "close"]
    assert str(rec.events[-2][1]) == "Connection closed normally (code 1000): done"


def test_latency_is_available_to_callbacks(echo_server):
    latencies: list[float | None] = []

    def on_pong(ws: websocket.WebSocketApp, payload: bytes) -> None:
        latencies.append(ws.latency)
        if len(latencies) == 2:
            ws.close()

    app = make_app(echo_server.url_for("/echo"), Recorder(), ping=True, after={"on_pong": on_pong})
    assert app.latency is None
    assert run_app(app, ping_interval=0.3, ping_timeout=0.25) is False
    assert len(latencies) == 2
    assert all(value is not None and 0 <= value < 0.25 for value in latencies)


def test_no_ping_thread_is_started():
    before = set(threading.enumerate())
    new_threads: list[set[str]] = []

    def on_pong(ws: websocket.WebSocketApp, payload: bytes) -> None:
        new_threads.append({t.name for t in set(threading.enumerate()) - before})
        ws.close()

    with script_server(lambda conn: serve_until_close(conn)) as server:
        app = make_app(server.url, Recorder(), ping=True, after={"on_pong": on_pong})
        assert app.run_forever(ping_interval=0.3, ping_timeout=0.25) is False  # in this thread
    assert new_threads
    assert all(name.startswith("script-") for name in new_threads[0]), new_threads  # the server's only


def test_server_stalling_inside_a_big_message_is_detected():
    """Half a big frame, then silence: the loop never blocks waiting for the rest."""

    def script(conn: RawConn) -> None:
        conn.handshake()
        size = 4 * 1024 * 1024
        conn.send_raw(bytes([0x82, 127]) + size.to_bytes(8, "big") + b"\0" * 300_000)
        conn.collect(timeout=5, until_close=False)

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        assert run_app(app, timeout=10, ping_interval=0.5, ping_timeout=0.3) is True
    assert rec.names() == ["open", "error", "close"]
    assert str(rec.events[1][1]) == "ping/pong timed out"
    assert rec.times[1] - rec.times[0] < 3
