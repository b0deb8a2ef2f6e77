"""websocket-client's frame reader and fragment joiner, for scripts that build on them.

The client itself does not use these: its frames go through ``_protocol``.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional, Union

from ._abnf import ABNF
from ._exceptions import WebSocketPayloadException, WebSocketProtocolException
from ._sansio.mask import apply_mask
from ._sansio.utf8 import validate_utf8

__all__ = ["frame_buffer", "continuous_frame"]


class frame_buffer:
    """Reads whole frames through ``recv_fn(n) -> bytes`` (websocket-client's reader)."""

    def __init__(self, recv_fn: Callable[[int], bytes], skip_utf8_validation: bool) -> None:
        self.recv = recv_fn
        self.skip_utf8_validation = skip_utf8_validation
        self.lock = threading.Lock()
        self._pending = b""

    def clear(self) -> None:
        """Forget bytes read ahead."""
        self._pending = b""

    def recv_strict(self, bufsize: int) -> bytes:
        """Exactly ``bufsize`` bytes, reading as often as needed."""
        parts = [self._pending]
        have = len(self._pending)
        while have < bufsize:
            chunk = self.recv(min(16384, bufsize - have))
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self._pending = data[bufsize:]
        return data[:bufsize]

    def recv_frame(self) -> ABNF:
        """Read and validate one frame."""
        with self.lock:
            b0, b1 = self.recv_strict(2)
            length = b1 & 0x7F
            if length == 126:
                length = int.from_bytes(self.recv_strict(2), "big")
            elif length == 127:
                length = int.from_bytes(self.recv_strict(8), "big")
            key = self.recv_strict(4) if b1 & 0x80 else b""
            payload = self.recv_strict(length)
            if key:
                payload = apply_mask(payload, key)
        frame = ABNF(b0 >> 7 & 1, b0 >> 6 & 1, b0 >> 5 & 1, b0 >> 4 & 1, b0 & 0x0F, b1 >> 7, payload)
        frame.validate(self.skip_utf8_validation)
        return frame


class continuous_frame:
    """Joins the fragments of a message (websocket-client's reassembler)."""

    def __init__(self, fire_cont_frame: bool, skip_utf8_validation: bool) -> None:
        self.fire_cont_frame = fire_cont_frame
        self.skip_utf8_validation = skip_utf8_validation
        self.cont_data: Optional[list[Union[int, bytes]]] = None
        self.recving_frames: Optional[int] = None

    def validate(self, frame: ABNF) -> None:
        """Refuse a stray continuation or a new message inside a fragmented one."""
        if not self.recving_frames and frame.opcode == ABNF.OPCODE_CONT:
            raise WebSocketProtocolException("Illegal frame")
        if self.recving_frames and frame.opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
            raise WebSocketProtocolException("Illegal frame")

    def add(self, frame: ABNF) -> None:
        """Take a data frame of the message in progress."""
        data = frame._bytes()
        if self.cont_data:
            self.cont_data[1] = bytes(self.cont_data[1]) + data
        else:
            if frame.opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
                self.recving_frames = frame.opcode
            self.cont_data = [frame.opcode, data]
        if frame.fin:
            self.recving_frames = None

    def is_fire(self, frame: ABNF) -> bool:
        """Whether the message (or, with fire_cont_frame, the fragment) is ready."""
        return bool(frame.fin) or self.fire_cont_frame

    def extract(self, frame: ABNF) -> tuple[int, ABNF]:
        """Hand over the joined message in ``frame``; text is checked unless told not to."""
        assert self.cont_data is not None, "extract() without add()"
        opcode, data = self.cont_data
        self.cont_data = None
        frame.data = data  # type: ignore[assignment]
        check = not self.fire_cont_frame and opcode == ABNF.OPCODE_TEXT and not self.skip_utf8_validation
        if check and not validate_utf8(bytes(data)):
            raise WebSocketPayloadException(f"cannot decode: {data!r}")
        return int(opcode), frame
