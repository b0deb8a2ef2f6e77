"""The blocking client: ``WebSocket`` and ``create_connection``, websocket-client's API on the sans-I/O core.

Threading: any number of threads may send (one lock keeps frames whole and in
the order the protocol made them); one thread at a time may receive (a second
one gets WebSocketConcurrencyError at once); ``close``, ``abort`` and
``shutdown`` may be called from any thread and wake a blocked receiver.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Callable, Optional, Union

from ._abnf import ABNF, STATUS_NORMAL, mask_key_source
from ._conn import FAIL_CLOSE_TIMEOUT, Conn
from ._exceptions import (
    WebSocketConcurrencyError,
    WebSocketException,
    WebSocketTimeoutException,
)
from ._handshake import handshake_response
from ._logging import _trace, trace
from ._messages import MessageMixin
from ._net.opening import open_connection
from ._net.options import UNSET, ConnectOptions
from ._net.tls_tunnel import TLS_SOCKETS
from ._sansio.deflate import client_offer
from ._sansio.events import Close, EndOfStream, Event, Failure, Fragment, Message, Ping, Pong
from ._sansio.frames import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT
from ._sansio.mask import MaskKeys
from ._sansio.protocol import DEFAULT_MAX_SIZE, ClientProtocol
from ._socket import getdefaulttimeout, sock_opt
from ._wsmessage import decode_text

__all__ = ["WebSocket", "create_connection"]

Payload = Union[bytes, bytearray, memoryview, str]
Timeout = Optional[float]

# Shared by every WebSocket given no connect defaults (never written to): one dict less per connection.
_NO_DEFAULTS: Mapping[str, Any] = MappingProxyType({})


class WebSocket(MessageMixin):
    """A blocking WebSocket client connection, compatible with websocket-client's ``WebSocket``.

    Beyond websocket-client: ``max_size`` bounds received messages (default
    64 MiB, None for no limit), every ``recv*`` method takes a per-call
    ``timeout`` (0 polls), protocol violations by the server are answered
    with the RFC close code, and the object is a context manager.
    ``compression="deflate"`` (the default) offers permessage-deflate, None
    offers nothing; ``compression_options`` tunes it (see ``websocket._sansio.deflate.DeflateSettings``).
    """

    def __init__(
        self,
        get_mask_key: Optional[Callable[[int], Union[bytes, str]]] = None,
        sockopt: Optional[list[Any]] = None,
        sslopt: Optional[dict[str, Any]] = None,
        fire_cont_frame: bool = False,
        enable_multithread: bool = True,
        skip_utf8_validation: bool = False,
        dispatcher: Any = None,
        max_size: Optional[int] = DEFAULT_MAX_SIZE,
        compression: Any = UNSET,
        compression_options: Any = UNSET,
        **_: Any,
    ) -> None:
        self.sock_opt = sock_opt(sockopt, sslopt)
        self.handshake_response: Optional[handshake_response] = None
        self.get_mask_key = get_mask_key
        self.fire_cont_frame = fire_cont_frame
        self.skip_utf8_validation = skip_utf8_validation
        self.dispatcher = dispatcher
        self.max_size = max_size
        self.close_frame: Optional[ABNF] = None
        # The socket, the protocol and both locks: the run_forever loop drives the same object.
        self._conn = Conn(ClientProtocol(max_size=max_size))
        self._closed = _Latch()
        # permessage-deflate settings given here apply to every connect() that does not give its own.
        given = (("compression", compression), ("compression_options", compression_options))
        self._connect_defaults = {name: value for name, value in given if value is not UNSET} or _NO_DEFAULTS

    # ------------------------------------------------------------ connection

    def connect(self, url: str, **options: Any) -> None:
        """Open the connection and run the opening handshake (websocket-client's options)."""
        opts = ConnectOptions.from_kwargs({**self._connect_defaults, **options})
        if opts.timeout is not UNSET:
            self.sock_opt.timeout = opts.timeout
        if opts.sockopt is None:
            opts.sockopt = self.sock_opt.sockopt
        if opts.sslopt is None:
            opts.sslopt = self.sock_opt.sslopt
        if "max_size" in options:
            self.max_size = opts.max_size
        offer = client_offer(opts.compression, opts.compression_options)
        opened = open_connection(url, opts, self.sock_opt.timeout, offer)
        proto = ClientProtocol(
            max_size=self.max_size,
            extension=opened.extension,
            validate_utf8=not self.skip_utf8_validation,
            fire_cont_frame=self.fire_cont_frame,
            mask_key=mask_key_source(self.get_mask_key),
        )
        self._closed.clear()
        self.close_frame = None
        # Frames that came with the 101 are parsed on the first read, once the
        # caller has chosen how to receive them (recv_frame delivers frame by frame).
        self._conn.attach(opened.sock, proto, opened.leftover)
        self.handshake_response = handshake_response.from_head(
            opened.response.status, opened.response.raw, opened.subprotocol
        )
        trace("Websocket connected")

    def settimeout(self, timeout: Timeout) -> None:
        """Set the timeout of connect, the handshake and every read and write."""
        self.sock_opt.timeout = timeout
        sock = self._conn.sock
        if sock is not None:
            sock.settimeout(timeout)
            self._conn.timeout_changed()

    def gettimeout(self) -> Timeout:
        """The connection's timeout in seconds (None: block)."""
        return self.sock_opt.timeout

    timeout = property(gettimeout, settimeout)

    def getsubprotocol(self) -> Optional[str]:
        """The negotiated subprotocol, lowercased, or None."""
        return self.handshake_response.subprotocol if self.handshake_response else None

    subprotocol = property(getsubprotocol)

    def getstatus(self) -> Optional[int]:
        """The HTTP status of the handshake (101)."""
        return self.handshake_response.status if self.handshake_response else None

    status = property(getstatus)

    def getheaders(self) -> Optional[dict[str, str]]:
        """The handshake response headers, with lowercased names."""
        return self.handshake_response.headers if self.handshake_response else None

    headers = property(getheaders)

    @property
    def sock(self) -> Optional[socket.socket]:
        """The socket (None when closed). Whoever takes it may wait on it: from then on reads stop at frame ends."""
        conn = self._conn
        if not conn.watched:
            conn.watch()
        return conn.sock

    @sock.setter
    def sock(self, value: Optional[socket.socket]) -> None:
        self._conn.sock = value

    @property
    def connected(self) -> bool:
        """Whether the connection is open: connected, and no close frame sent or received."""
        return self._conn.open

    @connected.setter
    def connected(self, value: bool) -> None:
        self._conn.open = value

    @property
    def lock(self) -> threading.Lock:
        """The send lock: frames from several threads never interleave."""
        return self._conn.lock

    @lock.setter
    def lock(self, value: threading.Lock) -> None:
        self._conn.lock = value  # websocket-client's attribute: code may replace it

    @property
    def readlock(self) -> threading.Lock:
        """Held by the one receiver (this object's recv*, or the run_forever loop)."""
        return self._conn.readlock

    @readlock.setter
    def readlock(self, value: threading.Lock) -> None:
        self._conn.readlock = value

    @property
    def conn(self) -> Conn:
        """The connection object this WebSocket drives (socket, protocol, locks); run_forever drives the same one."""
        return self._conn

    @property
    def _proto(self) -> ClientProtocol:
        return self._conn.proto

    @property
    def close_code(self) -> Optional[int]:
        """The code of the server's close frame (1005 if it had none), or None."""
        rcvd = self._proto.close_rcvd
        return rcvd.code if rcvd is not None else None

    @property
    def close_reason(self) -> Optional[str]:
        """The reason in the server's close frame, or None."""
        rcvd = self._proto.close_rcvd
        return rcvd.reason if rcvd is not None else None

    def is_ssl(self) -> bool:
        """Whether the connection runs over TLS."""
        sock = self._conn.sock
        # ssl.SSLSocket is looked up at call time, as websocket-client does: code patches websocket._core.ssl.
        return isinstance(sock, (ssl.SSLSocket, *TLS_SOCKETS))

    def fileno(self) -> int:
        """The socket's file descriptor (whoever waits on it sees every frame not yet returned)."""
        sock = self.sock
        if sock is None:
            raise WebSocketException("the connection is not open")
        return sock.fileno()

    def set_mask_key(self, func: Callable[[int], Union[bytes, str]]) -> None:
        """Use ``func(4)`` for mask keys, 4 bytes or a 4-character latin-1 str (the default is os.urandom in batches)."""
        self.get_mask_key = func
        self._proto.mask_key = mask_key_source(func) or MaskKeys()

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Union[str, bytes]]:
        return self

    def __next__(self) -> Union[str, bytes]:
        return self.recv()

    next = __next__

    # --------------------------------------------------------------- sending

    def send(self, payload: Payload, opcode: int = ABNF.OPCODE_TEXT) -> int:
        """Send one message; returns the number of bytes written (header and mask included)."""
        if type(payload) is bytes:
            data = payload
        elif isinstance(payload, str):
            data = payload.encode("utf-8") if opcode == OP_TEXT else payload.encode("latin-1")
        else:
            data = bytes(payload)
        conn = self._conn
        with conn.lock:
            wire = conn.proto.send_frame(opcode, data) if opcode >= 8 else conn.proto.send_data(opcode, data)
            conn.write(wire)
        if _trace.on:
            trace(f"++Sent raw: {wire!r}")
            trace(f"++Sent decoded: fin=1 opcode={opcode} data={data!r}")
        return len(wire)

    def send_text(self, text_data: str) -> int:
        """Send a text message."""
        return self.send(text_data, OP_TEXT)

    def send_bytes(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """Send a binary message."""
        return self.send(data, OP_BINARY)

    send_binary = send_bytes

    def send_frame(self, frame: ABNF) -> int:
        """Send one frame as described by ``frame`` (the way to send fragments)."""
        data = frame._bytes()
        rsv = frame.rsv1 << 2 | frame.rsv2 << 1 | frame.rsv3
        conn = self._conn
        with conn.lock:
            wire = conn.proto.send_frame(frame.opcode, data, bool(frame.fin), rsv)
            conn.write(wire)
        if _trace.on:
            trace(f"++Sent raw: {wire!r}")
            trace(f"++Sent decoded: {frame}")
        return len(wire)

    def ping(self, payload: Payload = "") -> None:
        """Send a ping."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        conn = self._conn
        with conn.lock:
            conn.write(conn.proto.send_ping(data))

    def pong(self, payload: Payload = "") -> None:
        """Send a pong."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        conn = self._conn
        with conn.lock:
            conn.write(conn.proto.send_pong(data))

    # ------------------------------------------------------------- receiving

    def recv(self, timeout: Timeout = None) -> Union[str, bytes]:
        """Receive the next message: str for text, bytes for binary, "" when the server closed.

        ``timeout`` (seconds) bounds this call only, 0 polls; omitted or None,
        the connection's timeout applies. A timeout loses nothing: the part of
        a message already read is kept for the next call.
        """
        conn = self._conn
        events = conn.proto.events
        event: Optional[Event] = None
        # A whole message already parsed needs no wait, no deadline and no answer: take it at once.
        if events and timeout is None and not _trace.on and type(events[0]) is Message and conn.readlock.acquire(False):
            try:
                if events and type(events[0]) is Message:
                    event = events.popleft()
            finally:
                conn.readlock.release()
        if event is None:
            event = self._receive(timeout, False)
        if type(event) is Message:
            data = event.data
            if event.opcode == OP_TEXT and not isinstance(data, str):
                return decode_text(data)
            return data
        if type(event) is Fragment:
            if event.opcode == OP_TEXT:
                return decode_text(event.data)
            return event.data if event.opcode == OP_BINARY else ""
        return ""

    def recv_data(self, control_frame: bool = False, timeout: Timeout = None) -> tuple[int, bytes]:
        """Receive the next message as (opcode, bytes); text is not decoded."""
        opcode, frame = self.recv_data_frame(control_frame, timeout)
        return opcode, frame.data  # type: ignore[return-value]

    def recv_data_frame(self, control_frame: bool = False, timeout: Timeout = None) -> tuple[int, ABNF]:
        """Receive the next message (or control frame when asked) as (opcode, ABNF)."""
        frame = _to_abnf(self._receive(timeout, control_frame))
        return frame.opcode, frame

    def recv_frame(self, timeout: Timeout = None) -> ABNF:
        """Receive the next frame as it came: fragments one by one, pings not answered.

        From the first call on, the connection delivers data frames one by one
        (as with ``fire_cont_frame=True``), as websocket-client's does.
        """
        self._proto.deliver_frames()
        return _to_abnf(self._receive(timeout, True, raw=True))

    def _receive(self, timeout: Timeout, control: bool, raw: bool = False) -> Event:
        readlock = self._conn.readlock
        # Positional: the keyword form costs a fifth of a microsecond per message.
        if not readlock.acquire(False):
            raise WebSocketConcurrencyError("another thread is already receiving on this connection")
        try:
            return self._next_event(timeout, control, raw)
        finally:
            readlock.release()

    def _next_event(self, timeout: Timeout, control: bool, raw: bool = False) -> Event:
        """Return the next message (and control event if ``control``); caller holds readlock.

        ``raw`` hands pings and pongs over without answering them.
        """
        conn = self._conn
        proto = conn.proto
        events = proto.events
        deadline = None if timeout is None else time.monotonic() + timeout
        per_call = deadline is not None
        reads = 0
        while True:
            while events:
                event = events.popleft()
                kind = type(event)
                if kind is Message or kind is Fragment:
                    if _trace.on:
                        _trace_received(event)
                    return event
                if raw and (kind is Ping or kind is Pong):
                    return event
                self._on_control(event, None if control else events)
                if control or kind is Close:
                    return event
                if deadline is not None and reads and time.monotonic() >= deadline:
                    raise WebSocketTimeoutException("Connection timed out")  # a ping flood cannot hold it
            # A deadline, not an idle timer: a server streaming frames that make no message
            # (empty fragments, pings) must not hold the call past it. The first read always
            # happens, bytes already in memory are always taken (decrypted TLS data is
            # invisible to poll), and so is the rest of a frame that frame-exact reads left
            # in the kernel: timeout=0 still returns what is already there.
            late = deadline is not None and reads and time.monotonic() >= deadline
            if late and not conn.buffered() and not (conn.watched and proto.mid_frame()):
                raise WebSocketTimeoutException("Connection timed out")
            conn.read(deadline, per_call)
            reads += 1
            events = proto.events

    def _on_control(self, event: Event, following: Optional[deque[Event]] = None) -> None:
        """Act on a control event: answer it, and end the connection when it says so."""
        conn = self._conn
        conn.answer(event, following)
        if isinstance(event, Close):
            self.close_frame = ABNF(1, 0, 0, 0, OP_CLOSE, 0, event.payload)
            self._closed.set()
        elif isinstance(event, Failure):
            conn.drain(FAIL_CLOSE_TIMEOUT)  # so the failing close frame is not lost to a reset
            self._teardown()
            raise event.exc
        elif isinstance(event, EndOfStream):
            self._teardown()
            raise conn.lost()

    # --------------------------------------------------------------- closing

    def send_close(self, status: int = STATUS_NORMAL, reason: Union[bytes, str] = b"") -> None:
        """Send a close frame without waiting for the answer."""
        self._conn.send_close(status, reason, -1)

    def close(self, status: int = STATUS_NORMAL, reason: Union[bytes, str] = b"", timeout: Timeout = 3) -> None:
        """Run the closing handshake: send a close frame, wait up to ``timeout`` for the server's, close."""
        conn = self._conn
        if conn.sock is None:
            conn.open = False
            return
        wait = 3.0 if timeout is None else timeout
        try:
            conn.send_close(status, reason, wait)
        except WebSocketTimeoutException:
            self.shutdown()  # the close frame cannot go out: cut, which also wakes a stuck sender
            return
        except (WebSocketException, OSError):
            pass  # the socket is going away either way
        if conn.readlock.acquire(False):
            try:
                self._await_close(wait)
            finally:
                conn.readlock.release()
        else:
            self._closed.wait(wait)  # the receiving thread will see the server's close frame
        self.shutdown()

    def _await_close(self, timeout: float) -> None:
        """Read until the server's close frame and the end of the stream, discarding messages."""
        end = time.monotonic() + timeout
        try:
            # Checked here, not only per read: a server that floods messages always has
            # data ready, and each call returns at its first message.
            while time.monotonic() < end:
                self._next_event(max(0.0, end - time.monotonic()), True)
        except (WebSocketException, OSError):
            pass

    def abort(self) -> None:
        """Wake a thread blocked in ``recv`` (it gets WebSocketConnectionClosedException)."""
        self._conn.abort()

    def shutdown(self) -> None:
        """Close the socket at once, without a closing handshake."""
        self._teardown()

    def _teardown(self) -> None:
        self._conn.teardown()
        self._closed.set()


class _Latch:
    """A flag threads can wait for: a lock held until ``set``.

    A tenth of a threading.Event's memory, which counts when thousands of
    idle connections sit on one dispatcher.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        try:
            self._lock.release()
        except RuntimeError:
            pass  # already set

    def clear(self) -> None:
        self._lock.acquire(blocking=False)

    def wait(self, timeout: Optional[float]) -> bool:
        if self._lock.acquire(timeout=-1 if timeout is None else timeout):
            self._lock.release()
            return True
        return False


def _trace_received(event: Event) -> None:
    data = event.data  # type: ignore[union-attr]
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fin = int(event.fin) if isinstance(event, Fragment) else 1
    trace(f"++Rcv decoded: fin={fin} opcode={event.opcode} data={raw!r}")  # type: ignore[union-attr]


def _to_abnf(event: Event) -> ABNF:
    if type(event) is Message:
        data = event.data
        return ABNF(1, 0, 0, 0, event.opcode, 0, data.encode("utf-8") if isinstance(data, str) else data)
    if type(event) is Fragment:
        return ABNF(int(event.fin), 0, 0, 0, event.opcode, 0, event.data)
    if isinstance(event, Ping):
        return ABNF(1, 0, 0, 0, OP_PING, 0, event.payload)
    if isinstance(event, Pong):
        return ABNF(1, 0, 0, 0, OP_PONG, 0, event.payload)
    if isinstance(event, Close):
        return ABNF(1, 0, 0, 0, OP_CLOSE, 0, event.payload)
    raise AssertionError(f"not a frame event: {event!r}")  # pragma: no cover


def create_connection(url: str, timeout: Timeout = None, class_: type[WebSocket] = WebSocket, **options: Any) -> WebSocket:
    """Connect to ``url`` and return the open ``class_`` instance (websocket-client's options)."""
    sockopt = options.pop("sockopt", [])
    sslopt = options.pop("sslopt", {})
    fire_cont_frame = options.pop("fire_cont_frame", False)
    enable_multithread = options.pop("enable_multithread", True)
    skip_utf8_validation = options.pop("skip_utf8_validation", False)
    websock = class_(
        sockopt=sockopt,
        sslopt=sslopt,
        fire_cont_frame=fire_cont_frame,
        enable_multithread=enable_multithread,
        skip_utf8_validation=skip_utf8_validation,
        **options,
    )
    websock.settimeout(timeout if timeout is not None else getdefaulttimeout())
    websock.connect(url, **options)
    return websock

