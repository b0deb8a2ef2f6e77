"""_mask: every implementation gives the same bytes; keys come in batches."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from websocket import _mask

IMPLEMENTATIONS = [_mask.apply_mask_python]
try:
    from wsaccel.xormask import XorMaskerSimple

    IMPLEMENTATIONS.append(lambda data, key: XorMaskerSimple(key).process(data))
except ImportError:  # pragma: no cover - wsaccel is a test dependency
    pass


def _reference(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("mask", IMPLEMENTATIONS)
@given(data=st.binary(max_size=300), key=st.binary(min_size=4, max_size=4))
def test_mask_matches_the_rfc_definition(mask: object, data: bytes, key: bytes) -> None:
    assert mask(data, key) == _reference(data, key)  # type: ignore[operator]


def test_rfc_6455_example_masked_hello() -> None:
    # RFC 6455 5.7: "Hello" masked with 37 fa 21 3d.
    assert _mask.apply_mask(b"Hello", bytes.fromhex("37fa213d")) == bytes.fromhex("7f9f4d5158")


def test_chosen_implementation_is_named() -> None:
    assert _mask.IMPLEMENTATION in {"python", "wsaccel"}


def test_mask_keys_are_four_bytes_and_vary() -> None:
    keys = _mask.MaskKeys()
    drawn = [keys(4) for _ in range(3000)]  # crosses a batch boundary
    assert all(len(k) == 4 for k in drawn)
    assert len(set(drawn)) > 2900


def test_large_payload_round_trips() -> None:
    data = os.urandom(1 << 20)
    key = os.urandom(4)
    assert _mask.apply_mask(_mask.apply_mask(data, key), key) == data
