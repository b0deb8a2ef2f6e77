"""wsdump in scriptable mode: stdin and stdout are pipes, against real local servers.

Each test runs ``python -m websocket`` as a subprocess and checks what it
printed, what the server saw, and the exit status (``EXIT_CODES``).
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _proxy_procs import pproxy
from _raw_server import RawConn
from _tls_material import tls_material
from _wire import OP_PING, OP_TEXT
from _wsdump_run import run_wsdump, server, start_wsdump, stop, wait_open
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from websocket import _wsdump
from websocket._wsdump import EXIT_CODES, parse_args

pytestmark = [pytest.mark.wsline_only, pytest.mark.timeout(60)]


def _close_code(frame_payload: bytes) -> int:
    return int.from_bytes(frame_payload[:2], "big")


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ sending and printing


def test_each_line_is_sent_and_each_answer_printed_in_order(echo_server):
    url, record = echo_server.track("/close", after=3, code=1000)
    done = run_wsdump(url, "--eof-wait", "10", input="one\ntwo\nthree ✓\n")
    assert (done.returncode, done.stdout) == (0, "one\ntwo\nthree ✓\n"), done.stderr
    assert record.wait_finished().received == ["one", "two", "three ✓"]


def test_end_of_input_closes_with_a_close_frame(echo_server):
    url, record = echo_server.track("/echo")
    done = run_wsdump(url, input="last words\n")
    assert done.returncode == 0, done.stderr
    record.wait_finished()
    assert record.received == ["last words"]
    assert record.client_close == (1000, "")


def test_eof_wait_collects_the_answers_then_closes(echo_server):
    url, record = echo_server.track("/echo")
    started = time.monotonic()
    done = run_wsdump(url, "--eof-wait", "1", input="a\nb\n")
    assert (done.returncode, done.stdout) == (0, "a\nb\n"), done.stderr
    assert time.monotonic() - started >= 1.0
    assert record.wait_finished().client_close == (1000, "")


def test_initial_text_is_sent_first(echo_server):
    url, record = echo_server.track("/close", after=2, code=1000)
    done = run_wsdump(url, "-t", "first", "--eof-wait", "10", input="second\n")
    assert done.stdout == "first\nsecond\n", done.stderr
    assert record.wait_finished().received == ["first", "second"]


def test_piped_output_has_no_colour_and_keeps_control_characters(echo_server):
    url = echo_server.url_for("/send", text="\x1b[31mred\x07", close="1000:")
    done = run_wsdump(url, "--eof-wait", "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "\x1b[31mred\x07\n"  # data as sent: only a terminal gets it sanitised
    assert "\x1b" not in done.stderr


def test_json_is_pretty_printed(echo_server):
    url = echo_server.url_for("/send", text=['{"a": 1, "b": [true, null]}', "not json"], close="1000:")
    done = run_wsdump(url, "--json", "--eof-wait", "10")
    assert done.stdout == '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}\nnot json\n', done.stderr


@pytest.mark.parametrize(
    ("flags", "payload", "shown"),
    [
        ((), b"\x00\x01\xff", "b'\\x00\\x01\\xff'"),
        (("--binary",), b"\x00\x01\xff", "0001ff"),
        ((), gzip.compress("zipped ✓".encode()), "[gzip] zipped ✓"),
    ],
)
def test_binary_messages(echo_server, flags, payload, shown):
    url = echo_server.url_for("/send", binary=payload.hex(), close="1000:")
    done = run_wsdump(url, *flags, "--eof-wait", "10")
    assert (done.returncode, done.stdout) == (0, shown + "\n"), done.stderr


def test_verbose_shows_opcodes_and_the_close_frame(echo_server):
    url = echo_server.url_for("/send", text="hello", binary="00", close="1000:done")
    done = run_wsdump(url, "-v", "--eof-wait", "10")
    assert done.stdout == "text: hello\nbinary: b'\\x00'\nclose: 1000 done\n", done.stderr
    assert "Connected to " in done.stderr
    assert "Connection closed by the server (1000 NORMAL 'done')" in done.stderr


def test_timings_prefix_seconds_since_start(echo_server):
    url = echo_server.url_for("/send", text="tick", close="1000:")
    done = run_wsdump(url, "--timings", "--eof-wait", "10")
    assert re.fullmatch(r"\d+\.\d{6}: tick\n", done.stdout), done.stdout


def test_pings_go_out_and_pongs_are_shown_with_the_round_trip(echo_server):
    proc = start_wsdump(echo_server.url_for("/echo"), "-v", "--ping-interval", "0.2")
    time.sleep(1.0)
    proc.stdin.close()
    status, out, err = stop(proc)
    assert status == 0, err
    assert re.search(r"^pong: \(round trip \d+\.\d ms\)$", out, re.M), out


# ------------------------------------------------------------------ what reaches the server


def _report_request(conn: ServerConnection) -> None:
    assert conn.request is not None
    conn.send(json.dumps({"headers": [list(item) for item in conn.request.headers.raw_items()], "subprotocol": conn.subprotocol}))
    conn.close(1000)


def _request_seen(*flags: str, subprotocols: list[str] | None = None) -> dict:
    with server(_report_request, subprotocols=subprotocols) as url:
        done = run_wsdump(url, *flags, "--eof-wait", "10")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    seen["headers"] = {name.lower(): value for name, value in seen["headers"]}
    return seen


def test_headers_origin_and_subprotocols_reach_the_server():
    seen = _request_seen(
        "--headers",
        "X-One: 1,X-Two: 2",
        "-H",
        "X-Three: a,b",
        "-o",
        "https://origin.test",
        "-s",
        "superchat",
        "other",
        subprotocols=["chat", "superchat"],
    )
    headers = seen["headers"]
    assert (headers["x-one"], headers["x-two"], headers["x-three"]) == ("1", "2", "a,b")
    assert headers["origin"] == "https://origin.test"
    assert [p.strip() for p in headers["sec-websocket-protocol"].split(",")] == ["superchat", "other"]
    assert seen["subprotocol"] == "superchat"


def test_compression_is_offered_unless_turned_off():
    assert "permessage-deflate" in _request_seen()["headers"]["sec-websocket-extensions"]
    assert "permessage-deflate" in _request_seen("--compression")["headers"]["sec-websocket-extensions"]
    assert "sec-websocket-extensions" not in _request_seen("--no-compression")["headers"]


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_through_a_proxy(echo_server, scheme):
    url, record = echo_server.track("/close", after=1, code=1000)
    with pproxy(scheme) as proxy:
        done = run_wsdump(url, "-p", f"{scheme}://127.0.0.1:{proxy.port}", "--eof-wait", "10", input="via proxy\n")
        assert (done.returncode, done.stdout) == (0, "via proxy\n"), done.stderr
        assert proxy.wait_for_line(f":{echo_server.port}") is not None, proxy.output
    assert record.wait_finished().received == ["via proxy"]


def _secure(conn: ServerConnection) -> None:
    conn.send("secure hello")
    conn.close(1000)


def test_wss_with_a_custom_ca_and_without_verification():
    with tls_material() as tls, server(_secure, ssl_context=tls.server_context()) as url:
        trusted = run_wsdump(url, "--cacert", tls.ca_file, "--eof-wait", "10")
        assert (trusted.returncode, trusted.stdout) == (0, "secure hello\n"), trusted.stderr
        unverified = run_wsdump(url, "-n", "--eof-wait", "10")
        assert (unverified.returncode, unverified.stdout) == (0, "secure hello\n"), unverified.stderr
        refused = run_wsdump(url, "--eof-wait", "10")
        assert refused.returncode == _wsdump.EXIT_CONNECT
        assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr


# ------------------------------------------------------------------ exit statuses


@pytest.mark.parametrize(("code", "status"), [(1000, 0), (1001, 0), (1011, 6), (4000, 6)])
def test_server_close_codes(echo_server, code, status):
    done = run_wsdump(echo_server.url_for("/close", code=code, reason="bye"), "--eof-wait", "10")
    assert done.returncode == status, done.stderr
    if status:
        assert f"Connection closed by the server ({code}" in done.stderr and "'bye'" in done.stderr


def test_connection_refused_is_a_connect_failure():
    done = run_wsdump(f"ws://127.0.0.1:{_unused_port()}/")
    assert done.returncode == _wsdump.EXIT_CONNECT == 3
    assert "could not connect" in done.stderr and "refused" in done.stderr.lower()
    assert "Traceback" not in done.stderr


def test_handshake_refused_with_a_status_is_a_connect_failure(echo_server):
    done = run_wsdump(echo_server.url_for("/reject", status=403))
    assert done.returncode == 3
    assert "403" in done.stderr


@pytest.mark.parametrize(
    "argv",
    [("http://127.0.0.1:1/",), ("ws://127.0.0.1:1/", "--no-such-flag"), ("ws://127.0.0.1:1/", "-p", "ftp://proxy:3128")],
)
def test_usage_errors(argv):
    done = run_wsdump(*argv)
    assert done.returncode == _wsdump.EXIT_USAGE == 2
    assert "Traceback" not in done.stderr and done.stderr


def test_invalid_upgrade_answer_is_a_protocol_failure(raw_server):
    srv = raw_server(lambda conn: conn.handshake(accept="bm90IHRoZSByaWdodCBrZXk="))
    done = run_wsdump(srv.url)
    assert done.returncode == _wsdump.EXIT_PROTOCOL == 4
    assert "Sec-WebSocket-Accept" in done.stderr


@pytest.mark.parametrize(
    ("frame", "close_code"),
    [
        ({"opcode": OP_TEXT, "payload": b"\xff\xfe"}, 1007),  # invalid UTF-8
        ({"opcode": OP_TEXT, "payload": b"hi", "mask": b"abcd"}, 1002),  # servers must not mask
        ({"opcode": 0x3, "payload": b""}, 1002),  # reserved opcode
    ],
)
def test_protocol_violations_fail_the_connection_with_the_right_code(raw_server, frame, close_code):
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(**frame)
        conn.expect_close()

    srv = raw_server(script)
    proc = start_wsdump(srv.url)  # stdin stays open: the failure alone must end the run
    status, _, err = wait_open(proc)
    conns = srv.join()
    assert status == _wsdump.EXIT_PROTOCOL, err
    assert _close_code(conns[0].client_close.payload) == close_code
    assert "Connection failed" in err


def test_a_dropped_connection_is_lost(raw_server):
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.send_frame(OP_TEXT, b"before the drop")
        conn.close_tcp()

    srv = raw_server(script)
    status, out, err = wait_open(start_wsdump(srv.url))
    assert status == _wsdump.EXIT_LOST == 5, err
    assert out == "before the drop\n"
    assert "Connection lost" in err


def test_a_silent_server_is_detected_by_the_keepalive(raw_server):
    def script(conn: RawConn) -> None:
        conn.handshake()
        conn.collect(3.0, until_close=False)  # reads the pings, never answers

    srv = raw_server(script)
    started = time.monotonic()
    status, _, err = wait_open(start_wsdump(srv.url, "--ping-interval", "0.4", "--ping-timeout", "0.3"))
    assert status == _wsdump.EXIT_LOST, err
    assert time.monotonic() - started < 5
    assert "no answer from the server within 0.3 s of a ping" in err
    assert any(frame.opcode == OP_PING for frame in srv.join()[0].frames)


def test_sigint_closes_cleanly_then_exits_130(echo_server):
    url, record = echo_server.track("/echo")
    proc = start_wsdump(url, "-v")
    assert proc.stderr is not None
    assert "Connected to" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    status, _, err = stop(proc)
    assert status == _wsdump.EXIT_INTERRUPTED == 130, err
    assert record.wait_finished().client_close == (1000, "")


# ------------------------------------------------------------------ reconnect


def test_reconnects_after_a_server_restart():
    connections: list[int] = []

    def handler(conn: ServerConnection) -> None:
        connections.append(1)
        if len(connections) == 1:
            conn.close(1012, "restarting")
        else:
            conn.send("back again")
            conn.close(1000)

    with server(handler) as url:
        status, out, err = wait_open(start_wsdump(url, "--reconnect", "0.1", "--eof-wait", "10"))
    assert (status, out) == (0, "back again\n"), err
    assert "1012 SERVICE_RESTART" in err and "reconnecting in 0.1 s" in err
    assert len(connections) == 2


def test_without_reconnect_a_restart_ends_the_run():
    with server(lambda conn: conn.close(1012, "restarting")) as url:
        status, _, err = wait_open(start_wsdump(url))
    assert status == _wsdump.EXIT_CLOSED_WITH_ERROR, err


def test_reconnect_retries_a_refused_handshake():
    attempts: list[int] = []

    def process_request(conn: ServerConnection, request: object) -> object:
        attempts.append(1)
        return conn.respond(503, "not yet") if len(attempts) == 1 else None

    def handler(conn: ServerConnection) -> None:
        conn.send("ready")
        conn.close(1000)

    with server(handler, process_request=process_request) as url:
        status, out, err = wait_open(start_wsdump(url, "--reconnect", "0.1"))
    assert (status, out) == (0, "ready\n"), err
    assert "503" in err and "retrying in 0.1 s" in err


# ------------------------------------------------------------------ robustness


def test_output_closed_early_ends_quietly():
    stop_sending = threading.Event()

    def handler(conn: ServerConnection) -> None:
        try:
            for i in range(2000):
                if stop_sending.is_set():
                    break
                conn.send(f"tick {i}")
                time.sleep(0.005)
        except ConnectionClosed:
            pass

    with server(handler) as url:
        proc = start_wsdump(url)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "tick 0\n"
        proc.stdout.close()
        try:
            status = proc.wait(15)
        finally:
            stop_sending.set()
            if proc.poll() is None:
                proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        proc.stdin.close()
        proc.stderr.close()
    assert status == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_importing_the_module_has_no_side_effect():
    code = (
        "import signal, sys\n"
        "before = signal.getsignal(signal.SIGINT)\n"
        "import websocket._wsdump, websocket.__main__\n"
        "assert 'readline' not in sys.modules, 'readline imported'\n"
        "assert signal.getsignal(signal.SIGINT) is before, 'SIGINT handler changed'\n"
        "assert not websocket.isEnabledForTrace()\n"
        "print('clean')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout) == (0, "clean\n"), done.stderr


# ------------------------------------------------------------------ the command line


def test_help_documents_every_exit_status_and_flag():
    done = run_wsdump("--help")
    assert done.returncode == 0
    for code, meaning in EXIT_CODES.items():
        assert re.search(rf"^\s+{code}\s+{re.escape(meaning)}$", done.stdout, re.M), code
    for flag in ("--proxy", "--verbose", "--nocert", "--raw", "--subprotocols", "--origin", "--eof-wait", "--text"):
        assert flag in done.stdout
    for flag in ("--timings", "--headers", "--compression", "--no-compression", "--ping-interval", "--json"):
        assert flag in done.stdout
    assert "--binary" in done.stdout and "--reconnect" in done.stdout
    assert done.stdout.startswith("usage: python -m websocket ")


def test_the_documented_exit_statuses_are_the_real_ones():
    page = (Path(__file__).resolve().parents[2] / "docs" / "wsdump.md").read_text(encoding="utf-8")
    section = page.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    documented = {int(code): text for code, text in re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)}
    assert documented == EXIT_CODES


@pytest.mark.parametrize(("argv", "level"), [(["-v"], 1), (["-v", "2"], 2), (["-vv"], 2), ([], 0)])
def test_verbose_levels_as_in_websocket_client(argv, level):
    assert parse_args(["ws://h/", *argv]).verbose == level


def test_websocket_client_command_lines_still_parse():
    args = parse_args(
        [
            *("ws://h/", "-p", "http://p:3128", "-n", "-r", "-o", "http://o", "--eof-wait", "2", "-t", "hi", "--timings"),
            *("--headers", "A: 1,B: 2", "-s", "chat", "superchat"),
        ]
    )
    assert (args.proxy, args.nocert, args.raw, args.origin, args.eof_wait) == ("http://p:3128", True, True, "http://o", 2)
    assert (args.text, args.timings, args.headers, args.subprotocols) == ("hi", True, "A: 1,B: 2", ["chat", "superchat"])
    options = _wsdump.connect_options(args)
    assert options["header"] == ["A: 1", "B: 2"]
    assert (options["http_proxy_host"], options["http_proxy_port"], options["proxy_type"]) == ("p", 3128, "http")


def test_proxy_urls():
    assert _wsdump.proxy_options("socks5h://u%40x:p%3Aw@10.0.0.1") == {
        "http_proxy_host": "10.0.0.1",
        "http_proxy_port": 1080,
        "proxy_type": "socks5h",
        "http_proxy_auth": ("u@x", "p:w"),
    }
    assert _wsdump.proxy_options("proxy.test")["http_proxy_port"] == 80
    https = _wsdump.proxy_options("https://proxy.test")
    assert (https["proxy_type"], https["http_proxy_port"]) == ("https", 443)
    with pytest.raises(ValueError, match="unsupported proxy URL"):
        _wsdump.proxy_options("ftp://proxy.test")


def test_the_wsdump_console_script_when_installed(echo_server):
    script = Path(sys.executable).with_name("wsdump")
    if not script.exists():
        pytest.skip("the wsdump entry point is not installed in this environment")
    url = echo_server.url_for("/close", after=1, code=1000)
    done = subprocess.run(
        [str(script), url, "--eof-wait", "10"], input="hi\n", capture_output=True, text=True, timeout=30, check=False
    )
    assert (done.returncode, done.stdout) == (0, "hi\n"), done.stderr
