"""The compiled, wsaccel and pure-Python masking paths give the same bytes on the wire.

CI runs these once on the fastest path present and once with
WSLINE_NO_SPEEDUPS=1, which forces the pure-Python path at import. The tests
below check which path this session is on and exercise masking/UTF-8 code
with payloads that cross every word-size boundary.
"""

from __future__ import annotations

import os

import pytest
from _raw_server import accept_and_collect
from _wire import pattern_bytes, pattern_text

from websocket import ABNF


def test_the_session_masks_on_the_path_the_environment_asks_for() -> None:
    mask = pytest.importorskip("websocket._sansio.mask", reason="wsline's mask module (not websocket-client)")
    fastest = mask.available_implementations()[0].name
    expected = "python" if os.environ.get("WSLINE_NO_SPEEDUPS") else fastest
    assert expected == mask.IMPLEMENTATION
    assert mask.apply_mask(b"wsline", b"\x01\x02\x03\x04") == mask.apply_mask_python(b"wsline", b"\x01\x02\x03\x04")


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1023, 4097, 65_537])
def test_masking_is_exact_for_every_length(raw_server, connect, size) -> None:
    srv = raw_server(accept_and_collect)
    ws = connect(srv.url)
    data = pattern_bytes(size)
    ws.send_bytes(data)
    ws.close()
    (conn,) = srv.join()
    assert conn.frames[0].payload == data


def test_text_validation_over_many_sizes(echo_server, connect) -> None:
    ws = connect(echo_server.url_for("/echo"))
    for size in (1, 2, 3, 4, 5, 31, 32, 33, 1000, 70_000):
        text = pattern_text(size)
        ws.send(text, ABNF.OPCODE_TEXT)
        assert ws.recv() == text
