"""The address order of happy eyeballs (RFC 8305 section 4): families alternate, each keeps its order."""

from __future__ import annotations

import socket

from websocket._net.dial import interleave

V4, V6 = socket.AF_INET, socket.AF_INET6


def _infos(*spec: tuple[int, str]) -> list[tuple]:
    return [(family, socket.SOCK_STREAM, 6, "", (address, 80)) for family, address in spec]


def _order(infos: list[tuple]) -> list[str]:
    return [info[4][0] for info in interleave(infos)]


def test_families_alternate_starting_with_the_first_one():
    infos = _infos((V6, "a"), (V6, "b"), (V6, "c"), (V4, "1"), (V4, "2"))
    assert _order(infos) == ["a", "1", "b", "2", "c"]


def test_ipv4_first_when_getaddrinfo_put_it_first():
    infos = _infos((V4, "1"), (V6, "a"), (V4, "2"))
    assert _order(infos) == ["1", "a", "2"]


def test_one_family_keeps_its_order():
    infos = _infos((V4, "1"), (V4, "2"), (V4, "3"))
    assert _order(infos) == ["1", "2", "3"]


def test_nothing_in_nothing_out():
    assert interleave([]) == []
