"""The client side of RFC 6455 as a state machine: bytes in, events out; calls in, bytes out.

No socket, thread or clock here. The I/O layer feeds received bytes to
``receive_data``/``receive_eof``, pops events from ``events``, hands control
events back to ``process`` (which queues the pong, the close echo or the close
frame that fails the connection) and writes whatever ``data_to_send`` returns.

Close frames and protocol failures are acted on when the caller consumes them,
not when they are parsed: a valid message that arrived before a bad frame is
still delivered, and the caller may answer it before the connection fails.
Frames after a close frame or a failure are ignored.
"""

from __future__ import annotations

import enum
import os
from collections import deque
from typing import Callable, Optional, Protocol

from .._exceptions import (
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketInvalidCloseReason,
    WebSocketInvalidUtf8,
    WebSocketPayloadTooBig,
    WebSocketProtocolException,
    close_code_for,
)
from .events import Close, EndOfStream, Event, Failure, Fragment, Message, Ping, Pong
from .frames import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, CloseCode, parse_close, serialize_close
from .mask import MaskKeys, build_frame
from .utf8 import Utf8Decoder

__all__ = ["ClientProtocol", "State", "Extension", "DEFAULT_MAX_SIZE"]

DEFAULT_MAX_SIZE = 64 * 1024 * 1024

# How much the I/O layer reads at a time while frames are small (read-ahead).
READ_AHEAD = 65536
# From this frame size on, reading exactly the rest of the frame is cheaper than
# read-ahead: the payload then arrives in one piece and needs no join.
EXACT_READ_THRESHOLD = 256 * 1024
# Inflated messages are queued ahead of the caller up to about this many bytes per read:
# the rest of the read waits, compressed, until the caller has taken them (resume()).
INFLATED_AHEAD = 1 << 20
# The budget of a call that parses what the caller fed while frames were held back:
# such a caller does not resume(), so nothing is held back from it twice.
_NO_BUDGET = -(1 << 62)
# Reads never ask for more than this: the socket layer allocates the whole buffer before
# any byte arrives, so a header declaring 2**63 bytes (with max_size=None) must not size it.
MAX_READ = 64 * 1024 * 1024



def _compiled_parser() -> Optional[Callable[[bytes, int, type, int, bool], tuple[list[Message], int]]]:
    """The C loop over whole unfragmented messages, unless absent or WSLINE_NO_SPEEDUPS is set."""
    if os.environ.get("WSLINE_NO_SPEEDUPS"):
        return None
    try:
        from ._speedups import parse_messages
    except ImportError:
        return None
    return parse_messages


# Parses runs of whole text/binary frames in one call, stopping at anything else (a control
# frame, a fragment, an error), which the Python loop below then handles: same events either way.
_parse_messages = _compiled_parser()

# Idle connections share this empty queue instead of holding a deque of their own
# (a deque costs ~760 bytes); maxlen=0 keeps anything appended by mistake from leaking.
_NO_EVENTS: deque[Event] = deque(maxlen=0)


class State(enum.Enum):
    """Where the connection stands."""

    OPEN = "open"
    CLOSING = "closing"  # a close frame was sent or received, the other is awaited
    CLOSED = "closed"  # both close frames passed, or the stream ended, or the connection failed


class Extension(Protocol):
    """A negotiated per-message extension that uses RSV1 (permessage-deflate)."""

    def decompress(self, data: bytes, end: bool, limit: Optional[int]) -> bytes:
        """Inflate the next piece of a message; ``end`` marks its last piece.

        Raises WebSocketPayloadTooBig when the output would pass ``limit``
        and WebSocketProtocolException when the data is not valid deflate
        (the close code follows from the class: ``close_code_for``).
        """

    def compress(self, data: bytes) -> Optional[bytes]:
        """Deflate a whole message, or return None to send it uncompressed."""


class ClientProtocol:
    """RFC 6455 client connection state, without I/O."""

    # Slots: one of these lives per connection, and idle connections should cost little.
    __slots__ = (
        "max_size", "extension", "validate_utf8", "fire_cont_frame", "mask_key", "events", "state",
        "close_sent", "close_rcvd", "_out", "_buf", "_stopped", "_msg_opcode", "_msg_compressed",
        "_msg_size", "_msg", "_checked", "_fast_cont", "_decoder", "_inflated", "held",
        "_frame_left", "_frame_fin", "_fragment_opcode", "_exact", "frame_exact",
    )

    def __init__(
        self,
        *,
        max_size: Optional[int] = DEFAULT_MAX_SIZE,
        extension: Optional[Extension] = None,
        validate_utf8: bool = True,
        fire_cont_frame: bool = False,
        mask_key: Optional[Callable[[int], bytes]] = None,
    ) -> None:
        self.max_size = max_size
        self.extension = extension
        self.validate_utf8 = validate_utf8
        self.fire_cont_frame = fire_cont_frame
        self.mask_key: Callable[[int], bytes] = mask_key or MaskKeys()
        self.events: deque[Event] = _NO_EVENTS
        self.state = State.OPEN
        self.close_sent: Optional[bytes] = None
        self.close_rcvd: Optional[Close] = None
        self._out: list[bytes] = []
        self._buf = b""
        self._stopped = False  # a close frame or a failure was parsed: ignore the rest
        # The data message in progress (opcode 0 when none).
        self._msg_opcode = 0
        self._msg_compressed = False
        self._msg_size = 0
        # Reassembly grows one buffer in place: memory stays at the message's size however
        # it is cut, and no copy of the partial message is ever made.
        self._msg: Optional[bytearray] = None
        self._checked = 0  # bytes of _msg already through the UTF-8 decoder
        self._fast_cont = False  # continuation frames can go straight into _msg
        self._decoder: Optional[Utf8Decoder] = None
        # The data frame whose payload is still arriving.
        self._frame_left = 0
        self._frame_fin = False
        self._fragment_opcode = 0
        self._exact = False  # a big frame was seen: read frame by frame, not ahead
        self._inflated = 0  # bytes of inflated messages queued by this call
        # Complete frames wait in the buffer after inflated messages filled the budget:
        # call resume() once the events are taken, before reading more.
        self.held = False
        # Set by the I/O layer when someone else watches the socket: never ask for bytes past
        # the end of the current frame, so what is not yet returned stays visible there.
        self.frame_exact = False

    # ----------------------------------------------------------------- receiving

    def receive_data(self, data: bytes) -> None:
        """Parse bytes from the server; complete events are appended to ``events``."""
        if self._stopped or not data:
            return
        if self.events is _NO_EVENTS:
            self.events = deque()
        if self.held:
            self._inflated = _NO_BUDGET
            self.held = False
        else:
            self._inflated = 0
        if self._frame_left:
            data = self._stream(data)
            if not data or self._stopped:
                return
        if self._buf:
            data = self._buf + data
            self._buf = b""
        self._parse(data)

    def resume(self) -> None:
        """Parse the complete frames held back (``held``) once the queued events were taken."""
        if not self.held or self._stopped:
            return
        self.held = False
        self._inflated = 0
        data, self._buf = self._buf, b""
        if self.events is _NO_EVENTS:
            self.events = deque()
        self._parse(data)

    def read_hint(self) -> int:
        """How many bytes the I/O layer should ask the socket for next.

        Read-ahead while frames are small; once a big frame shows up, exactly
        the rest of the current header or payload, so that a big payload is
        received in one piece.
        """
        if self.frame_exact:
            return self._to_frame_end()
        if self._msg_compressed:
            # max_size bounds the inflated size only: never hold much compressed data unchecked.
            return READ_AHEAD if self._frame_left > READ_AHEAD or not self._frame_left else self._frame_left
        if not self._exact:
            return max(READ_AHEAD, self._frame_left if self._frame_left < (1 << 22) else 1 << 22)
        return self._to_frame_end()

    def mid_frame(self) -> bool:
        """Whether part of a frame has been received and the rest has not."""
        return bool(self._frame_left or (self._buf and not self.held))

    def _to_frame_end(self) -> int:
        """Bytes left in the current frame's header, or else in its payload (at most MAX_READ)."""
        if self._frame_left:
            cap = READ_AHEAD if self._msg_compressed else MAX_READ
            return min(self._frame_left, cap)
        buf = self._buf
        if len(buf) < 2:
            return 2 - len(buf)
        size = buf[1] & 0x7F
        head = 2 if size < 126 else 4 if size == 126 else 10
        if len(buf) < head:
            return head - len(buf)
        return head + size - len(buf)  # an incomplete control frame (at most 125 bytes)

    def release_idle_memory(self) -> None:
        """Give back the event queue while it is empty (before waiting for the network)."""
        if not self.events:
            self.events = _NO_EVENTS

    def deliver_frames(self) -> None:
        """From the next message on, deliver data frames one by one (Fragment events)."""
        if not self._msg_opcode:
            self.fire_cont_frame = True

    def receive_eof(self) -> None:
        """The server closed its side of the TCP connection."""
        if self.events is _NO_EVENTS:
            self.events = deque()
        if self.held and not self._stopped:  # what arrived before the end is delivered first
            self.held = False
            self._inflated = _NO_BUDGET
            data, self._buf = self._buf, b""
            self._parse(data)
        self._stopped = True
        self.events.append(EndOfStream())

    def _parse(self, data: bytes) -> None:
        n = len(data)
        pos = 0
        events = self.events
        max_size = self.max_size
        # A negative limit refuses every frame: the Python path says so.
        fast = _parse_messages if type(data) is bytes and (max_size is None or max_size >= 0) else None
        while n - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            length = b1 & 0x7F
            start = pos + 2
            if length >= 126:
                if length == 126:
                    start = pos + 4
                    if start > n:
                        break
                    length = (data[pos + 2] << 8) | data[pos + 3]
                else:
                    start = pos + 10
                    if start > n:
                        break
                    length = int.from_bytes(data[pos + 2 : start], "big")
            end = start + length
            # Fast path: a whole unfragmented text or binary frame, nothing in progress.
            if (b0 == 0x81 or b0 == 0x82) and b1 < 0x80 and end <= n and not self._msg_opcode:
                # The compiled loop pays off from the second frame on; a lone frame (one message
                # per read: request/response traffic) is cheaper to slice here.
                if fast is not None and end < n:
                    limit = -1 if max_size is None else min(max_size, 1 << 62)
                    found, after = fast(data, pos, Message, limit, self.validate_utf8)
                    if after > pos:
                        events.extend(found)
                        pos = after
                        continue
                if max_size is not None and length > max_size:
                    self._fail_too_big(length)
                    return
                payload = data[start:end]
                pos = end
                if b0 == 0x82:
                    events.append(Message(OP_BINARY, payload))
                elif self.validate_utf8:
                    try:
                        events.append(Message(OP_TEXT, payload.decode("utf-8")))
                    except UnicodeDecodeError as exc:
                        self._fail(_bad_text(exc))
                        return
                else:
                    events.append(Message(OP_TEXT, payload))
                continue
            # Fast path: a whole continuation frame of an uncompressed message being reassembled.
            # Text is validated once the run of such frames ends (_check_text), not frame by frame.
            if not b0 & 0x7F and b1 < 0x80 and end <= n and self._fast_cont:
                msg = self._msg
                assert msg is not None
                size = len(msg) + length
                if max_size is not None and size > max_size:
                    if self._check_text(False):  # bad text that came first fails first, with 1007
                        self._fail_too_big(size)
                    return
                msg += data[start:end]
                self._msg_size = size
                self._exact = length >= EXACT_READ_THRESHOLD
                pos = end
                if b0 & 0x80 and not self._end_message(b""):
                    return
                continue
            if not self._check_text(False) or not self._check_header(b0, b1, length):
                return
            self._exact = length >= EXACT_READ_THRESHOLD
            opcode = b0 & 0x0F
            if end <= n:
                pos = end
                if opcode >= 8:
                    if not self._control_frame(opcode, data[start:end]):
                        return
                else:
                    self._begin_data_frame(b0, opcode, 0)
                    if not self._data_piece(data[start:end]):
                        return
                    if self._inflated >= INFLATED_AHEAD and pos < n:
                        self.held = True  # enough inflated data waits for the caller
                        break
            elif opcode >= 8:
                break  # at most 125 bytes: wait for the rest of the frame
            else:
                self._begin_data_frame(b0, opcode, length)
                self._stream(data[start:] if start else data)
                return
        if self._decoder is None or self._check_text(False):
            self._buf = data[pos:] if pos else data

    def _check_header(self, b0: int, b1: int, length: int) -> bool:
        """Apply every RFC 6455 rule that a frame header alone can break."""
        opcode = b0 & 0x0F
        problem = None
        if b1 & 0x80:
            problem = "the server sent a masked frame"
        elif b0 & 0x70 and (b0 & 0x30 or self.extension is None or opcode not in (OP_TEXT, OP_BINARY)):
            problem = f"reserved bits set in a frame (rsv={(b0 >> 4) & 7})"
        elif opcode not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            problem = f"reserved opcode {opcode:#x}"
        elif opcode >= 8:
            if not b0 & 0x80:
                problem = "fragmented control frame"
            elif length > 125:
                problem = f"control frame with a {length}-byte payload"
        elif opcode == OP_CONT and not self._msg_opcode:
            problem = "continuation frame without a message to continue"
        elif opcode != OP_CONT and self._msg_opcode:
            problem = "new data frame inside a fragmented message"
        elif length >> 63:
            problem = "frame length with the most significant bit set"
        if problem is not None:
            self._fail(WebSocketProtocolException(problem))
            return False
        limited = opcode < 8 and self.max_size is not None and not (self._msg_compressed or b0 & 0x40)
        if limited and self._msg_size + length > self.max_size:  # type: ignore[operator]
            self._fail_too_big(self._msg_size + length)
            return False
        return True

    def _begin_data_frame(self, b0: int, opcode: int, still_to_come: int) -> None:
        if opcode != OP_CONT:
            self._msg_opcode = opcode
            self._msg_compressed = bool(b0 & 0x40)
            self._msg_size = 0
            self._msg = bytearray()
            self._checked = 0
            self._fast_cont = not (self._msg_compressed or self.fire_cont_frame)
            if opcode == OP_TEXT and self.validate_utf8:
                self._decoder = Utf8Decoder()
        self._frame_fin = bool(b0 & 0x80)
        self._frame_left = still_to_come
        if self.fire_cont_frame:
            self._fragment_opcode = opcode

    def _stream(self, data: bytes) -> bytes:
        """Feed payload bytes of the frame in progress; return the bytes after it."""
        left = self._frame_left
        if len(data) <= left:
            piece, rest = data, b""
        else:
            piece, rest = data[:left], data[left:]
        self._frame_left = left - len(piece)
        if not self._data_piece(piece):
            return b""
        return rest

    def _data_piece(self, piece: bytes) -> bool:
        """Take payload bytes of a data frame through inflate and UTF-8 checks."""
        frame_end = not self._frame_left
        message_end = frame_end and self._frame_fin
        if self._msg_compressed:
            assert self.extension is not None
            limit = None if self.max_size is None else self.max_size - self._msg_size
            try:
                piece = self.extension.decompress(piece, message_end, limit)
            except WebSocketException as exc:
                self._fail(exc)
                return False
        self._msg_size += len(piece)
        if message_end and not self.fire_cont_frame:
            return self._end_message(piece)
        msg = self._msg
        assert msg is not None
        msg += piece
        # Bytes that arrive frame by frame or read by read are checked as they come, so bad text
        # fails before its message, or even its frame, is complete.
        if not self._check_text(message_end):
            return False
        if frame_end and self.fire_cont_frame:
            self.events.append(Fragment(self._fragment_opcode, bytes(msg), self._frame_fin))
            self._msg = bytearray() if not message_end else None
            self._checked = 0
            if message_end:
                self._message_done()
        return True

    def _check_text(self, final: bool) -> bool:
        """Run the reassembled text not yet checked through the UTF-8 decoder (its output is not needed)."""
        decoder = self._decoder
        if decoder is None:
            return True
        msg = self._msg
        assert msg is not None
        if self._checked == len(msg) and not final:
            return True
        try:
            decoder.decode(msg[self._checked :], final)
        except UnicodeDecodeError as exc:
            self._fail(_bad_text(exc))
            return False
        self._checked = len(msg)
        return True

    def _end_message(self, last: bytes) -> bool:
        """Deliver the message being reassembled, ``last`` being its final bytes."""
        msg = self._msg
        raw = b"".join((msg, last)) if msg else last
        data: bytes | str = raw
        if self._decoder is not None:
            # One strict decode of the whole message: it validates what the decoder did not see yet.
            try:
                data = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._fail(_bad_text(exc))
                return False
        self.events.append(Message(self._msg_opcode, data))
        if self._msg_compressed:
            self._inflated += len(raw)
        self._message_done()
        return True

    def _message_done(self) -> None:
        self._msg_opcode = 0
        self._msg_size = 0
        self._msg_compressed = False
        self._fast_cont = False
        self._decoder = None
        self._msg = None
        self._checked = 0

    def _control_frame(self, opcode: int, payload: bytes) -> bool:
        if opcode == OP_PING:
            self.events.append(Ping(payload))
        elif opcode == OP_PONG:
            self.events.append(Pong(payload))
        else:
            try:
                code, reason = parse_close(payload, self.validate_utf8)
            except WebSocketProtocolException as exc:
                self._fail(exc)
                return False
            except UnicodeDecodeError as exc:
                self._fail(_caused(WebSocketInvalidCloseReason(f"invalid UTF-8 in close reason: {exc}"), exc))
                return False
            self.events.append(Close(code, reason, payload))
            self._stopped = True
            return False
        return True

    def _fail_too_big(self, size: int) -> None:
        self._fail(WebSocketPayloadTooBig(f"message of {size} bytes or more is over max_size ({self.max_size} bytes)"))

    def _fail(self, exc: WebSocketException) -> None:
        """The one place a violation by the server turns into a failure; its class gives the close code."""
        self._stopped = True
        self.held = False
        self._buf = b""
        self._msg = None
        self._decoder = None
        self._fast_cont = False
        self.events.append(Failure(close_code_for(exc), exc))

    # ----------------------------------------------------------- consuming events

    def process(self, event: Event) -> None:
        """Act on a control event the caller has taken from ``events``.

        A ping queues its pong, a close frame queues the echo, a failure queues
        the close frame that fails the connection, an end of stream closes.
        """
        if isinstance(event, Ping):
            if self.close_sent is None:
                self._out.append(self._frame(OP_PONG, event.payload))
        elif isinstance(event, Close):
            self.close_rcvd = event
            if self.close_sent is None:
                self._queue_close(event.payload)
            self.state = State.CLOSED
        elif isinstance(event, Failure):
            if self.close_sent is None and self.state is State.OPEN:
                self._queue_close(serialize_close(event.code, _short_reason(event.exc)))
            self.state = State.CLOSED
        elif isinstance(event, EndOfStream):
            self.state = State.CLOSED

    def data_to_send(self) -> bytes:
        """Bytes queued by ``process`` (pongs, close frames), in order; empties the queue."""
        out = b"".join(self._out)
        self._out.clear()  # the same list: every pong received passes here, and leaves no new object
        return out

    def has_data_to_send(self) -> bool:
        """Whether ``data_to_send`` has anything."""
        return bool(self._out)

    # ------------------------------------------------------------------- sending

    def send_data(self, opcode: int, payload: bytes, fin: bool = True) -> bytes:
        """Return the wire bytes of a data frame (compressed when negotiated and worth it)."""
        # The per-message path: checks and framing written out, without helper calls.
        if self.close_sent is not None or self.state is State.CLOSED:
            raise WebSocketConnectionClosedException("socket is already closed.")
        first = (0x80 if fin else 0) | opcode
        if self.extension is not None and fin and opcode != OP_CONT:
            compressed = self.extension.compress(payload)
            if compressed is not None:
                return build_frame(first | 0x40, compressed, self.mask_key(4))
        return build_frame(first, payload, self.mask_key(4))

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
        """Return the wire bytes of one frame exactly as described (no compression)."""
        self._check_can_send()
        return self._frame((0x80 if fin else 0) | (rsv & 7) << 4 | opcode, payload, raw_first=True)

    def send_ping(self, payload: bytes) -> bytes:
        """Return the wire bytes of a ping."""
        self._check_can_send()
        return self._frame(OP_PING, _control_payload(payload))

    def send_pong(self, payload: bytes) -> bytes:
        """Return the wire bytes of a pong."""
        self._check_can_send()
        return self._frame(OP_PONG, _control_payload(payload))

    def send_close(self, code: int = CloseCode.NORMAL, reason: bytes | str = b"") -> bytes:
        """Start the closing handshake; returns the close frame (empty if one was sent)."""
        if self.close_sent is not None or self.state is State.CLOSED:
            return b""
        self._queue_close(serialize_close(code, reason))
        self.state = State.CLOSED if self.close_rcvd is not None else State.CLOSING
        return self.data_to_send()

    def _queue_close(self, payload: bytes) -> None:
        self.close_sent = payload
        self._out.append(self._frame(OP_CLOSE, payload))

    def _check_can_send(self) -> None:
        if self.close_sent is not None or self.state is State.CLOSED:
            raise WebSocketConnectionClosedException("socket is already closed.")

    def _frame(self, first: int, payload: bytes, raw_first: bool = False) -> bytes:
        if not raw_first:
            first |= 0x80
        # One allocation and one pass over the payload for header, key and masked bytes.
        return build_frame(first, payload, self.mask_key(4))


def _caused(exc: WebSocketException, cause: BaseException) -> WebSocketException:
    """``exc`` with ``cause`` chained, as ``raise exc from cause`` would leave it when raised later."""
    exc.__cause__ = cause
    return exc


def _bad_text(exc: UnicodeDecodeError) -> WebSocketException:
    return _caused(WebSocketInvalidUtf8(f"invalid UTF-8 in text message: {exc}"), exc)


def _control_payload(payload: bytes) -> bytes:
    if len(payload) > 125:
        raise WebSocketProtocolException("control frame payload is longer than 125 bytes")
    return payload


def _short_reason(exc: Exception) -> str:
    """The exception text cut to what fits in a close frame (123 bytes of UTF-8)."""
    raw = str(exc).encode("utf-8")[:123]
    return raw.decode("utf-8", "ignore")

