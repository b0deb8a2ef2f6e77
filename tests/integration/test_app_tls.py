"""WebSocketApp over TLS (trustme certificates): bursts of records are read completely, in both loops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from _app_helpers import Recorder, dispatch_until, make_app, run_app
from _tls_material import TlsMaterial
from websockets.sync.server import ServerConnection, serve

BURST = 500


@pytest.fixture
def burst_server(tls: TlsMaterial) -> Iterator[str]:
    """wss:// server that sends BURST small messages at once (many frames per TLS record), then echoes."""

    def handler(conn: ServerConnection) -> None:
        for n in range(BURST):
            conn.send(f"m{n}")
        for message in conn:
            conn.send(message)

    server = serve(handler, "127.0.0.1", 0, ssl=tls.server_context(), compression=None, ping_interval=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"wss://localhost:{server.socket.getsockname()[1]}/"
    finally:
        server.shutdown()
        thread.join(10)


def _close_after_burst(rec: Recorder) -> dict[str, object]:
    def on_message(ws: object, message: str) -> None:
        if len(rec.of("message")) == BURST:
            ws.close()  # type: ignore[attr-defined]

    return {"on_message": on_message}


def test_tls_burst_default_loop(burst_server, tls):
    rec = Recorder()
    app = make_app(burst_server, rec, after=_close_after_burst(rec))
    assert run_app(app, sslopt={"ca_certs": tls.ca_file}, ping_interval=1, ping_timeout=0.5) is False
    assert [e[1] for e in rec.of("message")] == [f"m{n}" for n in range(BURST)]
    assert rec.events[-1] == ("close", 1000, None)


@pytest.mark.wsline_only  # websocket-client 1.9.2 under rel never calls on_close after close() in a callback
def test_tls_burst_rel_loop(burst_server, tls, rel_loop):
    rec = Recorder()
    app = make_app(burst_server, rec, after=_close_after_burst(rec))
    assert app.run_forever(dispatcher=rel_loop, sslopt={"ca_certs": tls.ca_file}) is False
    dispatch_until(lambda: bool(rec.of("close")))
    assert [e[1] for e in rec.of("message")] == [f"m{n}" for n in range(BURST)]
    assert rec.events[-1] == ("close", 1000, None)
