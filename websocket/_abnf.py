"""websocket-client's frame class ``ABNF`` and the ``STATUS_*`` codes: a façade over ``_frames`` and ``_mask``."""

from __future__ import annotations

import os
from typing import Callable, ClassVar, Optional, Union

from ._exceptions import WebSocketException, WebSocketProtocolException
from ._sansio.frames import CloseCode, Opcode, encode_header, is_valid_close_code
from ._sansio.mask import apply_mask

__all__ = [
    "ABNF",
    "STATUS_NORMAL",
    "STATUS_GOING_AWAY",
    "STATUS_PROTOCOL_ERROR",
    "STATUS_UNSUPPORTED_DATA_TYPE",
    "STATUS_STATUS_NOT_AVAILABLE",
    "STATUS_ABNORMAL_CLOSED",
    "STATUS_INVALID_PAYLOAD",
    "STATUS_POLICY_VIOLATION",
    "STATUS_MESSAGE_TOO_BIG",
    "STATUS_INVALID_EXTENSION",
    "STATUS_UNEXPECTED_CONDITION",
    "STATUS_SERVICE_RESTART",
    "STATUS_TRY_AGAIN_LATER",
    "STATUS_BAD_GATEWAY",
    "STATUS_TLS_HANDSHAKE_ERROR",
]

STATUS_NORMAL = CloseCode.NORMAL.value
STATUS_GOING_AWAY = CloseCode.GOING_AWAY.value
STATUS_PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR.value
STATUS_UNSUPPORTED_DATA_TYPE = CloseCode.UNSUPPORTED_DATA.value
STATUS_STATUS_NOT_AVAILABLE = CloseCode.NO_STATUS_RCVD.value
STATUS_ABNORMAL_CLOSED = CloseCode.ABNORMAL_CLOSURE.value
STATUS_INVALID_PAYLOAD = CloseCode.INVALID_PAYLOAD.value
STATUS_POLICY_VIOLATION = CloseCode.POLICY_VIOLATION.value
STATUS_MESSAGE_TOO_BIG = CloseCode.MESSAGE_TOO_BIG.value
STATUS_INVALID_EXTENSION = CloseCode.MANDATORY_EXTENSION.value
STATUS_UNEXPECTED_CONDITION = CloseCode.INTERNAL_ERROR.value
STATUS_SERVICE_RESTART = CloseCode.SERVICE_RESTART.value
STATUS_TRY_AGAIN_LATER = CloseCode.TRY_AGAIN_LATER.value
STATUS_BAD_GATEWAY = CloseCode.BAD_GATEWAY.value
STATUS_TLS_HANDSHAKE_ERROR = CloseCode.TLS_HANDSHAKE.value

Payload = Union[bytes, bytearray, str]


class ABNF:
    """One frame, as websocket-client builds and returns them."""

    OPCODE_CONT = Opcode.CONT.value
    OPCODE_TEXT = Opcode.TEXT.value
    OPCODE_BINARY = Opcode.BINARY.value
    OPCODE_CLOSE = Opcode.CLOSE.value
    OPCODE_PING = Opcode.PING.value
    OPCODE_PONG = Opcode.PONG.value
    OPCODES = (OPCODE_CONT, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG)
    OPCODE_MAP: ClassVar[dict[int, str]] = {
        OPCODE_CONT: "cont",
        OPCODE_TEXT: "text",
        OPCODE_BINARY: "binary",
        OPCODE_CLOSE: "close",
        OPCODE_PING: "ping",
        OPCODE_PONG: "pong",
    }
    LENGTH_7 = 0x7E
    LENGTH_16 = 1 << 16
    LENGTH_63 = 1 << 63

    def __init__(
        self,
        fin: int = 0,
        rsv1: int = 0,
        rsv2: int = 0,
        rsv3: int = 0,
        opcode: int = OPCODE_TEXT,
        mask_value: int = 1,
        data: Payload = "",
    ) -> None:
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.mask_value = mask_value
        self.data: Payload = data if data is not None else b""
        self.get_mask_key: Callable[[int], bytes] = os.urandom

    def validate(self, skip_utf8_validation: bool = False) -> None:
        """Raise WebSocketProtocolException if the frame breaks RFC 6455."""
        if self.rsv1 or self.rsv2 or self.rsv3:
            raise WebSocketProtocolException("rsv is not implemented, yet")
        if self.opcode not in ABNF.OPCODES:
            raise WebSocketProtocolException(f"Invalid opcode {self.opcode!r}")
        if self.opcode == ABNF.OPCODE_PING and not self.fin:
            raise WebSocketProtocolException("Invalid ping frame.")
        if self.opcode == ABNF.OPCODE_CLOSE:
            data = self._bytes()
            if len(data) == 1 or len(data) >= 126:
                raise WebSocketProtocolException("Invalid close frame.")
            if len(data) > 2 and not skip_utf8_validation:
                try:
                    data[2:].decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise WebSocketProtocolException("Invalid close frame.") from exc
            if data and not is_valid_close_code(int.from_bytes(data[:2], "big")):
                raise WebSocketProtocolException("Invalid close opcode " + str(int.from_bytes(data[:2], "big")))

    def __str__(self) -> str:
        return f"fin={self.fin} opcode={self.opcode} data={self.data!s}"  # str(), as websocket-client

    @staticmethod
    def create_frame(data: Payload, opcode: int, fin: int = 1) -> ABNF:
        """A masked frame carrying ``data`` (str is encoded as UTF-8 for text frames)."""
        if opcode == ABNF.OPCODE_TEXT and isinstance(data, str):
            data = data.encode("utf-8")
        return ABNF(fin, 0, 0, 0, opcode, 1, data)

    def _bytes(self) -> bytes:
        data = self.data
        if isinstance(data, str):
            return data.encode("utf-8") if self.opcode == ABNF.OPCODE_TEXT else data.encode("latin-1")
        return bytes(data)

    def format(self) -> bytes:
        """The frame's wire bytes (masked with a fresh key when ``mask_value`` is set)."""
        if any(x not in (0, 1) for x in (self.fin, self.rsv1, self.rsv2, self.rsv3)):
            raise ValueError("not 0 or 1")
        if self.opcode not in ABNF.OPCODES:
            raise ValueError("Invalid OPCODE")
        data = self._bytes()
        if len(data) >= ABNF.LENGTH_63:
            raise ValueError("data is too long")
        first = self.fin << 7 | self.rsv1 << 6 | self.rsv2 << 5 | self.rsv3 << 4 | self.opcode
        header = encode_header(first, len(data), bool(self.mask_value))
        if not self.mask_value:
            return header + data
        key = mask_key_bytes(self.get_mask_key(4))
        return header + key + apply_mask(data, key)

    @staticmethod
    def mask(mask_key: Union[str, bytes], data: Payload) -> bytes:
        """XOR ``data`` with the 4-byte ``mask_key``."""
        key = mask_key.encode("latin-1") if isinstance(mask_key, str) else bytes(mask_key)
        raw = data.encode("latin-1") if isinstance(data, str) else bytes(data)
        return apply_mask(raw, key)


def mask_key_bytes(key: object) -> bytes:
    """A mask key function's answer as 4 bytes: websocket-client accepts a str too (its own example returns one).

    A str is encoded as latin-1, so each character is one key byte; anything
    else than 4 bytes is refused before a byte of the frame is written.
    """
    if type(key) is bytes and len(key) == 4:
        return key
    if isinstance(key, str):
        try:
            raw = key.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise WebSocketException(f"the mask key {key!r} has characters beyond latin-1: a mask key is 4 bytes") from exc
    elif isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
    else:
        raise WebSocketException(f"the mask key function returned {type(key).__name__}, not bytes or str")
    if len(raw) != 4:
        raise WebSocketException(f"a mask key is 4 bytes, the mask key function returned {len(raw)}: {key!r}")
    return raw


class _MaskKeySource:
    """Wraps a user's mask key function so its str or bytes answer reaches the protocol as 4 bytes."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[[int], Union[bytes, str]]) -> None:
        self.func = func

    def __call__(self, length: int) -> bytes:
        return mask_key_bytes(self.func(length))


def mask_key_source(func: Optional[Callable[[int], Union[bytes, str]]]) -> Optional[Callable[[int], bytes]]:
    """The key function the protocol calls for ``func`` (None keeps the default random keys)."""
    return None if func is None else _MaskKeySource(func)

