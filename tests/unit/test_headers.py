"""_sansio.headers: case-insensitive lookups, websocket-client's dict view, the header option, injection refused."""

from __future__ import annotations

import pytest

from websocket._sansio.headers import Headers, check_header_text, header_lines, split_tokens


def test_lookups_ignore_case_and_keep_order() -> None:
    headers = Headers([("Upgrade", "websocket"), ("sec-websocket-extensions", "a"), ("Sec-WebSocket-Extensions", "b")])
    assert headers.get("UPGRADE") == "websocket"
    assert headers.get("Sec-WebSocket-Extensions") == "a"
    assert headers.get_all("SEC-WEBSOCKET-EXTENSIONS") == ["a", "b"]
    assert headers.get("missing", "x") == "x" and headers.get_all("missing") == []
    assert "upgrade" in headers and "nope" not in headers and 1 not in headers
    assert len(headers) == 3 and next(iter(headers)) == ("Upgrade", "websocket")


def test_compat_dict_lowercases_keeps_the_last_value_and_joins_cookies() -> None:
    headers = Headers([("X-A", "1"), ("x-a", "2"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    assert headers.as_compat_dict() == {"x-a": "2", "set-cookie": "a=1; b=2"}


@pytest.mark.parametrize(
    ("given", "lines"),
    [
        (None, []),
        ({"X-Token": "t", "Origin": "o"}, ["X-Token: t", "Origin: o"]),
        (["X-Token: t"], ["X-Token: t"]),
        (("A: 1", "B: 2"), ["A: 1", "B: 2"]),
    ],
)
def test_header_option_becomes_lines(given: object, lines: list[str]) -> None:
    assert header_lines(given) == lines  # type: ignore[arg-type]


def test_header_option_refuses_what_would_break_the_request() -> None:
    with pytest.raises(TypeError, match="not a str"):
        header_lines("X-Token: t")
    with pytest.raises(ValueError, match="without a colon"):
        header_lines(["X-Token t"])
    for bad in ("X: a\r\nInjected: b", "X: a\nb", "X: a\x00"):
        with pytest.raises(ValueError, match="CR, LF or NUL"):
            header_lines([bad])


def test_check_header_text_names_the_field() -> None:
    assert check_header_text("fine", "origin") == "fine"
    with pytest.raises(ValueError, match="origin contains"):
        check_header_text("evil\r\n", "origin")


def test_split_tokens_drops_blanks_and_spaces() -> None:
    assert split_tokens(" keep-alive, Upgrade ,, ") == ["keep-alive", "Upgrade"]
    assert split_tokens("") == []
