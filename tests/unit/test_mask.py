"""_mask: every implementation present (C, wsaccel, pure Python) gives the same bytes; keys come in batches."""

from __future__ import annotations

import os
import struct
import threading
from typing import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from websocket._sansio import mask as _mask
from websocket._sansio.mask import Implementation

IMPLEMENTATIONS = _mask.available_implementations()
NAMES = [impl.name for impl in IMPLEMENTATIONS]
by_impl = pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=NAMES)

KEY = bytes.fromhex("37fa213d")
# Around the 8- and 32-byte strides of the C loop, the 7/16/64-bit length
# boundaries, the 16 KiB pieces of the pure and wsaccel paths, and the size
# above which the C code releases the GIL.
SIZES = [0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 125, 126, 127, 16383, 16384, 16385, 2 * 16384 + 3, 65535, 65536, 65537, (1 << 20) + 5]


def _reference_mask(data: bytes, key: bytes) -> bytes:
    """RFC 6455 5.3 literally: octet i XOR key octet i mod 4."""
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def _strided(data: bytes) -> memoryview:
    """A non-contiguous view whose bytes are ``data`` (every other byte of a buffer)."""
    buf = bytearray(2 * len(data))
    buf[::2] = data
    return memoryview(buf)[::2]


def _reference_frame(first: int, payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((first, 0x80 | n))
    elif n < 1 << 16:
        header = bytes((first, 0x80 | 126)) + struct.pack("!H", n)
    else:
        header = bytes((first, 0x80 | 127)) + struct.pack("!Q", n)
    return header + key + _reference_mask(payload, key)


# ------------------------------------------------------------------ apply_mask


@by_impl
@given(data=st.binary(max_size=300), key=st.binary(min_size=4, max_size=4))
def test_mask_matches_the_rfc_definition(impl: Implementation, data: bytes, key: bytes) -> None:
    assert impl.apply_mask(data, key) == _reference_mask(data, key)


@by_impl
@pytest.mark.parametrize("size", SIZES)
def test_mask_is_exact_at_every_boundary(impl: Implementation, size: int) -> None:
    data = os.urandom(size)
    masked = impl.apply_mask(data, KEY)
    assert type(masked) is bytes
    assert masked == _reference_mask(data, KEY)


@by_impl
def test_rfc_6455_example_masked_hello(impl: Implementation) -> None:
    # RFC 6455 5.7: "Hello" masked with 37 fa 21 3d.
    assert impl.apply_mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")


@by_impl
@pytest.mark.parametrize(
    "wrap",
    [bytearray, memoryview, _strided, lambda b: memoryview(bytearray(b)).cast("I")],
    ids=["bytearray", "memoryview", "strided-memoryview", "memoryview-of-uint32"],
)
def test_mask_accepts_any_bytes_like(impl: Implementation, wrap: Callable[[bytes], object]) -> None:
    data = os.urandom(4096)
    key = os.urandom(4)
    assert impl.apply_mask(wrap(data), wrap(key)) == _reference_mask(data, key)  # type: ignore[arg-type]


@by_impl
@pytest.mark.parametrize("key", [b"", b"abc", b"abcde", b"abcdefgh"])
def test_mask_rejects_a_key_that_is_not_4_bytes(impl: Implementation, key: bytes) -> None:
    with pytest.raises(ValueError, match="4"):
        impl.apply_mask(b"payload", key)


@by_impl
@pytest.mark.parametrize("data", ["text", 5, None])
def test_mask_rejects_what_is_not_bytes_like(impl: Implementation, data: object) -> None:
    with pytest.raises(TypeError):
        impl.apply_mask(data, KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        impl.apply_mask(b"data", data)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        impl.build_frame(0x82, data, KEY)  # type: ignore[arg-type]


@by_impl
def test_large_payload_round_trips(impl: Implementation) -> None:
    data = os.urandom(1 << 20)
    key = os.urandom(4)
    masked = impl.apply_mask(data, key)
    assert masked != data
    assert impl.apply_mask(masked, key) == data


@by_impl
def test_masking_in_many_threads_at_once_gives_exact_bytes(impl: Implementation) -> None:
    # The C code drops the GIL for large buffers: each thread must still get its own result.
    inputs = [(os.urandom(200_000 + i), os.urandom(4)) for i in range(4)]
    results: list[bytes | None] = [None] * len(inputs)

    def work(i: int) -> None:
        for _ in range(5):
            results[i] = impl.apply_mask(*inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    for (data, key), result in zip(inputs, results):
        assert result == _mask.apply_mask_python(data, key)


# ----------------------------------------------------------------- build_frame


@by_impl
@given(
    first=st.integers(0, 255),
    payload=st.binary(max_size=300),
    key=st.binary(min_size=4, max_size=4),
)
def test_frame_matches_header_key_and_masked_payload(impl: Implementation, first: int, payload: bytes, key: bytes) -> None:
    assert impl.build_frame(first, payload, key) == _reference_frame(first, payload, key)


@by_impl
@pytest.mark.parametrize("size", SIZES)
def test_frame_lengths_use_7_16_and_64_bits(impl: Implementation, size: int) -> None:
    payload = os.urandom(size)
    frame = impl.build_frame(0x82, payload, KEY)
    assert type(frame) is bytes
    assert frame == _reference_frame(0x82, payload, KEY)


@by_impl
def test_frame_of_rfc_example(impl: Implementation) -> None:
    # RFC 6455 5.7: a single-frame masked text message "Hello".
    assert impl.build_frame(0x81, b"Hello", KEY) == bytes.fromhex("818537fa213d7f9f4d5158")


@by_impl
def test_frame_accepts_bytes_like_payload_and_key(impl: Implementation) -> None:
    payload = os.urandom(70_000)
    expected = _reference_frame(0x02, payload, KEY)
    assert impl.build_frame(0x02, bytearray(payload), bytearray(KEY)) == expected
    assert impl.build_frame(0x02, memoryview(payload), memoryview(KEY)) == expected
    assert impl.build_frame(0x02, _strided(payload), KEY) == expected


@by_impl
@pytest.mark.parametrize("first", [-1, 256, 1 << 40, 1 << 70, -(1 << 70)])
def test_frame_rejects_a_first_byte_out_of_range(impl: Implementation, first: int) -> None:
    with pytest.raises(ValueError, match="range"):
        impl.build_frame(first, b"x", KEY)


@by_impl
@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_frame_rejects_a_key_that_is_not_4_bytes(impl: Implementation, key: bytes) -> None:
    with pytest.raises(ValueError, match="4"):
        impl.build_frame(0x82, b"payload", key)


# ------------------------------------------------------------- which is chosen


def test_pure_python_is_always_available_and_last() -> None:
    fastest_first = ["c", "wsaccel", "python"]
    assert NAMES[-1] == "python"
    assert [name for name in fastest_first if name in NAMES] == NAMES


def test_the_fastest_present_is_chosen_unless_speedups_are_off() -> None:
    chosen = "python" if os.environ.get("WSLINE_NO_SPEEDUPS") else NAMES[0]
    assert chosen == _mask.IMPLEMENTATION
    impl = IMPLEMENTATIONS[NAMES.index(chosen)]
    assert (_mask.apply_mask, _mask.build_frame) == (impl.apply_mask, impl.build_frame)


def test_no_speedups_forces_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSLINE_NO_SPEEDUPS", "1")
    assert _mask._choose().name == "python"
    monkeypatch.delenv("WSLINE_NO_SPEEDUPS")
    assert _mask._choose().name == NAMES[0]


@pytest.mark.skipif(not os.environ.get("WSLINE_REQUIRE_SPEEDUPS"), reason="WSLINE_REQUIRE_SPEEDUPS is not set")
def test_c_extension_is_built_when_required() -> None:
    # CI sets WSLINE_REQUIRE_SPEEDUPS=1 so that a silently failed build of
    # websocket/_speedups.c fails here instead of falling back unnoticed.
    try:
        from websocket._sansio import _speedups  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"websocket._sansio._speedups is not importable: {exc}")
    assert "c" in NAMES
    if not os.environ.get("WSLINE_NO_SPEEDUPS"):
        assert _mask.IMPLEMENTATION == "c"


# ------------------------------------------------------------------- mask keys


def test_mask_keys_are_four_bytes_and_vary() -> None:
    keys = _mask.MaskKeys()
    drawn = [keys(4) for _ in range(3000)]  # crosses a batch boundary
    assert all(len(k) == 4 for k in drawn)
    assert len(set(drawn)) > 2900
