"""_utf8: one-pass decoding that fails as soon as the bytes so far cannot be valid."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from websocket._sansio.utf8 import Utf8Decoder, validate_utf8


@pytest.mark.parametrize(
    "prefix",
    [b"\xf4\x90", b"\xf5", b"\xc0", b"\xe0\x80", b"\xed\xa0", b"\xed\xbf", b"\xce\xba\xff"],
)
def test_fails_on_a_prefix_no_continuation_can_fix(prefix: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        Utf8Decoder().decode(prefix, final=False)


@pytest.mark.parametrize("prefix", [b"\xce", b"\xf0\x90\x80", b"\xed\x9f", b"\xe1\xbd"])
def test_waits_on_an_incomplete_but_valid_prefix(prefix: bytes) -> None:
    Utf8Decoder().decode(prefix, final=False)


def test_incomplete_sequence_at_the_end_fails() -> None:
    decoder = Utf8Decoder()
    decoder.decode(b"\xce", final=False)
    with pytest.raises(UnicodeDecodeError):
        decoder.decode(b"", final=True)


@given(text=st.text(), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_any_chunking_decodes_to_the_same_text(text: str, cuts: list[int]) -> None:
    raw = text.encode()
    points = sorted({min(c, len(raw)) for c in cuts})
    decoder = Utf8Decoder()
    out = []
    start = 0
    for p in [*points, len(raw)]:
        out.append(decoder.decode(raw[start:p], final=p == len(raw) and start <= p))
        start = p
    assert "".join(out) == text


def test_validate_utf8_compat_helper() -> None:
    assert validate_utf8("héllo".encode())
    assert not validate_utf8(b"\xff")
