"""enableTrace output: tools parse these lines, so the format is API."""

from __future__ import annotations

import logging

import websocket


def test_trace_shows_handshake_and_frames(echo_server, connect, trace_log) -> None:
    # A fixed mask key makes the raw bytes (and their repr quoting) predictable.
    ws = connect(echo_server.url_for("/echo", q="1"), get_mask_key=lambda n: b"\x01\x02\x03\x04"[:n])
    ws.send("hi")
    assert ws.recv() == "hi"
    text = trace_log.text
    assert "--- request header ---" in text
    assert "GET /echo?q=1 HTTP/1.1" in text
    assert "--- response header ---" in text
    assert "HTTP/1.1 101" in text
    assert "++Sent raw: b'\\x81\\x82\\x01\\x02\\x03\\x04ik'" in text  # "hi" masked
    assert "++Sent decoded: fin=1 opcode=1 data=b'hi'" in text
    assert "++Rcv raw: b'\\x81\\x02hi'" in text
    assert "++Rcv decoded: fin=1 opcode=1 data=b'hi'" in text


def test_trace_flags(trace_log) -> None:
    assert websocket.isEnabledForTrace() is True
    assert websocket.isEnabledForDebug() is True
    assert websocket.isEnabledForError() is True


def test_trace_off_stops_output(echo_server, connect, trace_log) -> None:
    websocket.enableTrace(False, handler=trace_log)  # the fixture turned it on
    assert websocket.isEnabledForTrace() is False
    ws = connect(echo_server.url_for("/echo"))
    ws.send("quiet")
    assert ws.recv() == "quiet"
    assert not any("++Sent raw" in line for line in trace_log.lines)


def test_logger_is_named_websocket(trace_log) -> None:
    websocket.dump("title", "body")
    assert "--- title ---" in trace_log.text
    assert "body" in trace_log.text
    assert logging.getLogger("websocket").isEnabledFor(logging.DEBUG)


def test_trace_without_handler_writes_to_stderr(echo_server, connect, capsys) -> None:
    websocket.enableTrace(True)
    try:
        ws = connect(echo_server.url_for("/echo"))
        ws.send("to stderr")
        ws.recv()
    finally:
        websocket.enableTrace(False)
    assert "++Sent raw:" in capsys.readouterr().err
