"""WebSocketApp callbacks: order and arguments exactly as websocket-client 1.9.2 gives them.

Tests without the ``wsline_only`` marker also pass against websocket-client
1.9.2 itself (run with its interpreter and ``--xfail-wsline-only``); the
marked ones check where wsline intends to differ or to go further.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from _app_helpers import Recorder, Running, make_app, run_app, script_server, serve_until_close
from _raw_server import RawConn
from _wire import OP_BINARY, OP_PING, OP_PONG, OP_TEXT, RSV2, build_frame

import websocket
from websocket import WebSocketApp


def _echo_then_close_after(count: int) -> dict[str, object]:
    """on_message hook: close the app once ``count`` messages arrived."""
    seen: list[object] = []

    def on_message(ws: WebSocketApp, message: object) -> None:
        seen.append(message)
        if len(seen) == count:
            ws.close()

    return {"on_message": on_message}


def test_messages_then_close_from_a_callback(echo_server):
    rec = Recorder()

    def on_open(ws: WebSocketApp) -> None:
        ws.send("héllo")
        ws.send_bytes(b"\x00\x01")
        ws.send("x", websocket.ABNF.OPCODE_BINARY)

    app = make_app(echo_server.url_for("/echo"), rec, data=True, after={"on_open": on_open, **_echo_then_close_after(3)})
    assert run_app(app) is False
    assert rec.events == [
        ("open",),
        ("data", "héllo", OP_TEXT, True),
        ("message", "héllo"),
        ("data", b"\x00\x01", OP_BINARY, True),
        ("message", b"\x00\x01"),
        ("data", b"x", OP_BINARY, True),
        ("message", b"x"),
        ("close", 1000, None),
    ]
    assert app.sock is None
    assert app.keep_running is False


@pytest.mark.parametrize(
    ("code", "reason", "text"),
    [
        (1000, "bye", "Connection closed normally (code 1000): bye"),
        (4001, "custom", "Connection closed (code 4001): custom"),
        (1000, "", "Connection closed normally (code 1000)"),
    ],
)
def test_server_close_goes_to_on_error_then_on_close(echo_server, code, reason, text):
    rec = Recorder()
    app = make_app(echo_server.url_for("/close", code=code, reason=reason), rec)
    assert run_app(app) is False
    assert rec.names() == ["open", "error", "close"]
    error = rec.events[1][1]
    assert isinstance(error, websocket.WebSocketConnectionClosedException)
    assert str(error) == text
    assert error.status_code == code
    assert error.reason == (reason or None)
    assert rec.events[2] == ("close", code, reason or None)


@pytest.mark.wsline_only
def test_server_close_frame_is_kept_in_last_close_frame(echo_server):
    app = make_app(echo_server.url_for("/close", code=4001, reason="custom"), Recorder())
    assert run_app(app) is False
    assert app.last_close_frame is not None
    assert app.last_close_frame.opcode == websocket.ABNF.OPCODE_CLOSE
    assert app.last_close_frame.data == b"\x0f\xa1custom"


def test_tcp_drop_without_close_frame():
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.close_tcp()

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        assert run_app(app) is True
    assert rec.names() == ["open", "error", "close"]
    error = rec.events[1][1]
    assert isinstance(error, websocket.WebSocketConnectionClosedException)
    assert str(error) == "Connection to remote host was lost."
    assert rec.events[2] == ("close", None, None)


def test_connect_refused():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    rec = Recorder()
    app = make_app(f"ws://127.0.0.1:{port}/", rec)
    assert run_app(app) is True
    assert rec.names() == ["error", "close"]
    assert isinstance(rec.events[0][1], ConnectionRefusedError)
    assert rec.events[1] == ("close", None, None)


def test_handshake_refused(echo_server):
    rec = Recorder()
    app = make_app(echo_server.url_for("/reject", status=403), rec)
    assert run_app(app) is True
    assert rec.names() == ["error", "close"]
    error = rec.events[0][1]
    assert isinstance(error, websocket.WebSocketBadStatusException)
    assert error.status_code == 403


def _bad_frame_script(frame: bytes, seen: dict[str, object]):
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_raw(frame)
        seen["frames"] = conn.collect(timeout=3)

    return script


@pytest.mark.parametrize(
    ("frame", "exc_type"),
    [
        (b"\x81\x02\xc3\x28", websocket.WebSocketPayloadException),  # invalid UTF-8
        (bytes([0x80 | RSV2 << 4 | OP_TEXT, 1]) + b"a", websocket.WebSocketProtocolException),  # RSV2 set
    ],
    ids=["invalid-utf8", "rsv2"],
)
def test_protocol_error_goes_to_on_error_then_on_close(frame, exc_type):
    seen: dict[str, object] = {}
    with script_server(_bad_frame_script(frame, seen)) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        assert run_app(app) is True
    assert rec.names() == ["open", "error", "close"]
    assert isinstance(rec.events[1][1], exc_type)
    assert rec.events[2] == ("close", None, None)


@pytest.mark.wsline_only
@pytest.mark.parametrize(("frame", "code"), [(b"\x81\x02\xc3\x28", 1007), (b"\xa1\x01a", 1002)], ids=["1007", "1002"])
def test_protocol_error_is_answered_with_its_close_code(frame, code):
    seen: dict[str, object] = {}
    with script_server(_bad_frame_script(frame, seen)) as server:
        app = make_app(server.url, Recorder())
        assert run_app(app) is True
    closes = [f for f in seen["frames"] if f.opcode == 8]  # type: ignore[attr-defined]
    assert [f.close_code for f in closes] == [code]


def test_server_ping_reaches_on_ping_and_is_answered():
    pongs: list[bytes] = []

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_PING, b"are you there")
        frame = conn.read_frame(5)
        assert frame is not None
        if frame.opcode == OP_PONG:
            pongs.append(frame.payload)
        conn.send_close(1000, "done")
        conn.collect(timeout=3)

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec, ping=True)
        assert run_app(app) is False
    assert pongs == [b"are you there"]
    assert rec.events[:2] == [("open",), ("ping", b"are you there")]
    assert rec.names()[2:] == ["error", "close"]


def test_pings_are_sent_and_pongs_reach_on_pong(echo_server):
    rec = Recorder()
    app = make_app(echo_server.url_for("/echo"), rec, ping=True, after={"on_pong": lambda ws, payload: ws.close()})
    assert run_app(app, ping_interval=0.3, ping_timeout=0.25, ping_payload="hb") is False
    assert rec.events == [("open",), ("pong", b"hb"), ("close", 1000, None)]


@pytest.mark.wsline_only
def test_ping_times_and_latency_stay_readable_after_the_run(echo_server):
    app = make_app(echo_server.url_for("/echo"), Recorder(), ping=True, after={"on_pong": lambda ws, payload: ws.close()})
    assert run_app(app, ping_interval=0.5, ping_timeout=0.45) is False
    assert app.last_ping_tm > 0
    assert app.last_pong_tm >= app.last_ping_tm
    assert app.latency is not None
    assert 0 <= app.latency < 0.45


@pytest.mark.parametrize(
    ("ping_interval", "ping_timeout", "text"),
    [(1, 0, "Ensure ping_timeout > 0"), (-1, None, "Ensure ping_interval >= 0"), (1, 2, "Ensure ping_interval > ping_timeout")],
)
def test_ping_options_are_checked(ping_interval, ping_timeout, text):
    app = WebSocketApp("ws://127.0.0.1:9/")
    with pytest.raises(websocket.WebSocketException, match=text):
        app.run_forever(ping_interval=ping_interval, ping_timeout=ping_timeout)


def test_fragmented_message_is_whole_without_on_cont_message(echo_server):
    rec = Recorder()
    app = make_app(echo_server.url_for("/fragmented", parts="ab,cd,ef"), rec, after=_echo_then_close_after(1))
    assert run_app(app) is False
    assert rec.events == [("open",), ("message", "abcdef"), ("close", 1000, None)]


def test_fragments_with_on_cont_message(echo_server):
    rec = Recorder()
    after = {"on_cont_message": lambda ws, data, fin: fin and ws.close()}
    app = make_app(echo_server.url_for("/fragmented", parts="ab,cd,ef"), rec, cont=True, after=after)
    assert run_app(app) is False
    # websockets ends a fragmented message with an empty final continuation frame
    assert rec.events == [
        ("open",),
        ("message", "ab"),
        ("cont", b"cd", 0),
        ("cont", b"ef", 0),
        ("cont", b"", 1),
        ("close", 1000, None),
    ]


@pytest.mark.wsline_only
def test_on_data_gets_the_real_fin_of_a_first_fragment(echo_server):
    rec = Recorder()
    after = {"on_cont_message": lambda ws, data, fin: fin and ws.close()}
    app = make_app(echo_server.url_for("/fragmented", parts="ab,cd"), rec, data=True, cont=True, after=after)
    assert run_app(app) is False
    assert rec.of("data") == [("data", "ab", OP_TEXT, False), ("data", b"cd", 0, False), ("data", b"", 0, True)]


def test_skip_utf8_validation_gives_bytes(echo_server):
    rec = Recorder()
    app = make_app(echo_server.url_for("/send", text="hé"), rec, after=_echo_then_close_after(1))
    assert run_app(app, skip_utf8_validation=True) is False
    assert rec.events[1] == ("message", "hé".encode())


def test_callback_exception_goes_to_on_error_and_the_loop_goes_on(echo_server):
    rec = Recorder()
    count = {"n": 0}

    def on_message(ws: WebSocketApp, message: str) -> None:
        count["n"] += 1
        if count["n"] == 1:
            ws.send("second")
            raise ValueError("bad handler")
        ws.close()

    app = make_app(echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: ws.send("first"), "on_message": on_message})
    assert run_app(app) is False
    assert rec.names() == ["open", "message", "error", "message", "close"]
    assert isinstance(rec.events[2][1], ValueError)
    assert str(rec.events[2][1]) == "bad handler"


def test_bound_methods_as_callbacks(echo_server):
    class Client:
        def __init__(self) -> None:
            self.got: list[object] = []

        def on_open(self, ws: WebSocketApp) -> None:
            ws.send("bound")

        def on_message(self, ws: WebSocketApp, message: str) -> None:
            self.got.append((ws, message))
            ws.close()

        def on_close(self, ws: WebSocketApp, code: object, reason: object) -> None:
            self.got.append(("close", code, reason))

    client = Client()
    app = WebSocketApp(
        echo_server.url_for("/echo"), on_open=client.on_open, on_message=client.on_message, on_close=client.on_close
    )
    assert run_app(app) is False
    assert client.got == [(app, "bound"), ("close", 1000, None)]


def test_header_callable_is_called_for_the_connection(echo_server):
    calls: list[int] = []

    def header() -> dict[str, str]:
        calls.append(1)
        return {"X-Token": f"t{len(calls)}"}

    url, record = echo_server.track("/echo")
    rec = Recorder()
    app = make_app(url, rec, header=header, after={"on_open": lambda ws: ws.send("hi"), **_echo_then_close_after(1)})
    assert run_app(app) is False
    assert calls == [1]
    record.wait_finished()
    assert ("X-Token", "t1") in record.headers


def test_app_can_run_again_after_run_forever_returned(echo_server):
    rec = Recorder()
    app = make_app(
        echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: ws.send("hi"), "on_message": lambda ws, m: ws.close()}
    )
    assert run_app(app) is False
    assert run_app(app) is False
    assert rec.names() == ["open", "message", "close", "open", "message", "close"]


@pytest.mark.wsline_only
def test_close_from_on_open(echo_server):
    url, record = echo_server.track("/echo")
    rec = Recorder()
    app = make_app(url, rec, after={"on_open": lambda ws: ws.close(status=4002)})
    assert run_app(app) is False  # websocket-client 1.9.2 reports an AttributeError here
    assert rec.events == [("open",), ("close", 4002, None)]
    assert record.wait_finished().client_close == (4002, "")


def test_run_forever_refuses_a_second_concurrent_run(echo_server):
    opened = threading.Event()
    app = WebSocketApp(echo_server.url_for("/echo"), on_open=lambda ws: opened.set())
    running = Running(app)
    assert opened.wait(10)
    with pytest.raises(websocket.WebSocketException, match="socket is already opened"):
        app.run_forever()
    app.close()
    assert running.result() is False


def test_send_without_connection_raises_connection_closed():
    app = WebSocketApp("ws://127.0.0.1:9/")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        app.send("nobody")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        app.send_bytes(b"nobody")
    assert not app.ready()


@pytest.mark.wsline_only  # websocket-client 1.9.2 races here: sometimes on_error and True
def test_close_from_another_thread(echo_server):
    rec = Recorder()
    opened = threading.Event()
    app = make_app(echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: opened.set()})
    running = Running(app)
    assert opened.wait(10)
    assert app.ready()
    start = time.monotonic()
    app.close()
    assert time.monotonic() - start < 2.5
    assert running.result() is False
    assert rec.events == [("open",), ("close", 1000, None)]
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        app.send("after close")


@pytest.mark.wsline_only
def test_close_from_another_thread_reports_the_echoed_code(echo_server):
    rec = Recorder()
    opened = threading.Event()
    app = make_app(echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: opened.set()})
    running = Running(app)
    assert opened.wait(10)
    app.close(status=4000, reason="bye")
    assert running.result() is False
    assert rec.events == [("open",), ("close", 4000, "bye")]  # websockets echoes code and reason


def test_sends_from_many_threads_while_running(echo_server):
    rec = Recorder()
    senders, per_sender = 4, 50
    total = senders * per_sender
    opened = threading.Event()
    app = make_app(echo_server.url_for("/echo"), rec, after={"on_open": lambda ws: opened.set()})
    running = Running(app)
    assert opened.wait(10)

    def send_all(index: int) -> None:
        for n in range(per_sender):
            app.send(f"{index}:{n}:" + "x" * (n * 37))

    threads = [threading.Thread(target=send_all, args=(i,), daemon=True) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    rec.wait_count("message", total, timeout=15)
    app.close()
    assert running.result() is False
    got = [event[1] for event in rec.of("message")]
    for index in range(senders):
        mine = [m for m in got if m.startswith(f"{index}:")]
        assert mine == [f"{index}:{n}:" + "x" * (n * 37) for n in range(per_sender)]


@pytest.mark.wsline_only
def test_keyboard_interrupt_tears_down_then_propagates():
    frames: dict[str, object] = {}

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"boom")
        frames["got"] = conn.collect(timeout=3)

    def on_message(ws: WebSocketApp, message: str) -> None:
        raise KeyboardInterrupt

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec, after={"on_message": on_message})
        with pytest.raises(KeyboardInterrupt):
            run_app(app)
        assert app.sock is None
        server.wait_conns(1)
    assert rec.names() == ["open", "message", "error", "close"]
    assert isinstance(rec.events[2][1], KeyboardInterrupt)
    assert rec.events[3] == ("close", None, None)
    assert [f.close_code for f in frames["got"] if f.opcode == 8] == [1000]  # type: ignore[attr-defined]


def test_messages_after_close_are_not_delivered():
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"one")
        conn.read_frame(5)  # the client's close
        conn.send_frame(OP_TEXT, b"late")
        conn.send_close(1000)
        conn.collect(timeout=2)

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec, after={"on_message": lambda ws, m: ws.close()})
        assert run_app(app) is False
    assert rec.events == [("open",), ("message", "one"), ("close", 1000, None)]


def test_echo_round_trip_through_serve_until_close():
    with script_server(serve_until_close) as server:
        rec = Recorder()
        app = make_app(server.url, rec, after={"on_open": lambda ws: ws.send("ping?"), **_echo_then_close_after(1)})
        assert run_app(app) is False
    assert rec.events == [("open",), ("message", "ping?"), ("close", 1000, None)]


@pytest.mark.wsline_only
def test_keep_running_false_in_a_callback_ends_the_run_with_a_close_handshake(echo_server):
    url, record = echo_server.track("/echo")
    rec = Recorder()

    def stop(ws: WebSocketApp, message: str) -> None:
        ws.keep_running = False  # the old way to stop

    app = make_app(url, rec, after={"on_open": lambda ws: ws.send("hi"), "on_message": stop})
    assert run_app(app) is False
    assert rec.events == [("open",), ("message", "hi"), ("close", 1000, None)]
    assert record.wait_finished().client_close == (1000, "")


@pytest.mark.wsline_only
def test_keep_running_false_stops_delivery_of_messages_already_read():
    seen: dict[str, object] = {}

    def script(conn: RawConn) -> None:
        conn.handshake()
        # Five messages in one write: one read parses them all before the first callback runs.
        conn.send_raw(b"".join(build_frame(OP_TEXT, b"m%d" % i) for i in range(5)))
        seen["frames"] = conn.collect(timeout=3)

    def stop(ws: WebSocketApp, message: str) -> None:
        ws.keep_running = False

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec, after={"on_message": stop})
        assert run_app(app) is False
    assert rec.events[:2] == [("open",), ("message", "m0")]
    assert rec.names()[2:] == ["close"]
    assert [f.close_code for f in seen["frames"] if f.opcode == 8] == [1000]  # type: ignore[attr-defined]


@pytest.mark.wsline_only
def test_max_size_is_passed_to_the_connection():
    seen: dict[str, object] = {}

    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"x" * 100)
        seen["frames"] = conn.collect(timeout=3)

    with script_server(script) as server:
        rec = Recorder()
        app = make_app(server.url, rec)
        assert run_app(app, max_size=50) is True
    assert rec.names() == ["open", "error", "close"]
    assert isinstance(rec.events[1][1], websocket.WebSocketPayloadException)
    assert [f.close_code for f in seen["frames"] if f.opcode == 8] == [1009]  # type: ignore[attr-defined]


@pytest.mark.wsline_only
@pytest.mark.parametrize(("options", "offered"), [({}, True), ({"compression": None}, False)])
def test_compression_option_is_passed_to_connect(echo_server, options, offered):
    url, record = echo_server.track("/echo")
    app = make_app(url, Recorder(), after={"on_open": lambda ws: ws.send("hi"), "on_message": lambda ws, m: ws.close()})
    assert run_app(app, **options) is False
    extensions = [value for name, value in record.wait_finished().headers if name.lower() == "sec-websocket-extensions"]
    assert bool(extensions) is offered


@pytest.mark.wsline_only
def test_compressed_messages_through_the_app():
    from _echo_server import running_echo_server

    big = "compress me " * 5000
    with running_echo_server(compression="deflate") as server:
        rec = Recorder()
        app = make_app(server.url_for("/echo"), rec, after={"on_open": lambda ws: ws.send(big), **_echo_then_close_after(1)})
        assert run_app(app) is False
        assert app.sock is None
    assert rec.events == [("open",), ("message", big), ("close", 1000, None)]


def _mute_server(conn: RawConn) -> None:
    """Handshake, then read everything (the close frame too) and never answer."""
    conn.handshake()
    conn.collect(timeout=5, until_close=False)


@pytest.mark.wsline_only
def test_close_from_a_callback_gives_up_on_a_mute_server_after_its_timeout():
    with script_server(_mute_server) as server:
        rec = Recorder()
        app = make_app(server.url, rec, after={"on_open": lambda ws: ws.close(timeout=0.3)})
        started = time.monotonic()
        assert run_app(app) is False
        took = time.monotonic() - started
    assert 0.25 <= took < 2
    assert rec.events == [("open",), ("close", None, None)]


@pytest.mark.wsline_only
def test_close_from_another_thread_gives_up_on_a_mute_server_after_its_timeout():
    with script_server(_mute_server) as server:
        rec = Recorder()
        opened = threading.Event()
        app = make_app(server.url, rec, after={"on_open": lambda ws: opened.set()})
        running = Running(app)
        assert opened.wait(10)
        started = time.monotonic()
        app.close(timeout=0.3)
        assert 0.25 <= time.monotonic() - started < 2
        assert running.result(timeout=5) is False
    assert rec.events == [("open",), ("close", None, None)]
