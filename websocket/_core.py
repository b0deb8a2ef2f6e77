"""The blocking client: ``WebSocket`` and ``create_connection``, websocket-client's API on the sans-I/O core.

Threading: any number of threads may send (one lock keeps frames whole and in
the order the protocol made them); one thread at a time may receive (a second
one gets WebSocketConcurrencyError at once); ``close``, ``abort`` and
``shutdown`` may be called from any thread and wake a blocked receiver.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Callable, Optional, Union

from ._abnf import ABNF, STATUS_NORMAL
from ._exceptions import (
    WebSocketConcurrencyError,
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketPayloadException,
    WebSocketTimeoutException,
)
from ._handshake import handshake_response
from ._logging import _trace, trace
from ._messages import MessageMixin
from ._net.opening import open_connection
from ._net.options import UNSET, ConnectOptions
from ._sansio.deflate import client_offer
from ._sansio.events import Close, EndOfStream, Event, Failure, Fragment, Message, Ping, Pong
from ._sansio.protocol import DEFAULT_MAX_SIZE, ClientProtocol
from ._socket import getdefaulttimeout, sock_opt

__all__ = ["WebSocket", "create_connection"]

Payload = Union[bytes, bytearray, memoryview, str]
Timeout = Optional[float]

_TEXT, _BINARY, _CLOSE, _PING, _PONG = 1, 2, 8, 9, 10
# After failing the connection the client waits this long (at most) for the
# server to close TCP, so the close frame is not lost to a reset.
FAIL_CLOSE_TIMEOUT = 1.0
_READ_SIZE = 65536
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
        get_mask_key: Optional[Callable[[int], bytes]] = None,
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
        self.sock: Optional[socket.socket] = None
        self.connected = False
        self.get_mask_key = get_mask_key
        self.fire_cont_frame = fire_cont_frame
        self.skip_utf8_validation = skip_utf8_validation
        self.dispatcher = dispatcher
        self.max_size = max_size
        self.close_frame: Optional[ABNF] = None
        # Sending is always locked: frames from several threads must never interleave.
        self.lock = threading.Lock()
        self.readlock = threading.Lock()
        self._closed = _Latch()
        self._proto = ClientProtocol(max_size=max_size)
        self._waitall_ok = False
        self._leftover = b""
        # Seam for an event loop that owns this connection (WebSocketApp): None skips the
        # blocking wait for the server's TCP close after a protocol failure, and leaves the
        # socket open; the loop then drains and closes it without stalling other connections.
        self.fail_close_timeout: Optional[float] = FAIL_CLOSE_TIMEOUT
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
        opened = open_connection(url, opts, self.sock_opt.timeout, client_offer(opts))
        self._proto = ClientProtocol(
            max_size=self.max_size,
            extension=opened.extension,
            validate_utf8=not self.skip_utf8_validation,
            fire_cont_frame=self.fire_cont_frame,
            mask_key=self.get_mask_key,
        )
        self._closed.clear()
        self.close_frame = None
        self.sock = opened.sock
        self.handshake_response = handshake_response.from_head(
            opened.response.status, opened.response.raw, opened.subprotocol
        )
        self.connected = True
        # MSG_WAITALL only waits on a blocking plain socket (no timeout, no TLS).
        self._waitall_ok = hasattr(socket, "MSG_WAITALL") and self.sock.gettimeout() is None and not self.is_ssl()
        trace("Websocket connected")
        # Frames that came with the 101 are parsed on the first read, once the
        # caller has chosen how to receive them (recv_frame delivers frame by frame).
        self._leftover = opened.leftover

    def settimeout(self, timeout: Timeout) -> None:
        """Set the timeout of connect, the handshake and every read and write."""
        self.sock_opt.timeout = timeout
        if self.sock is not None:
            self.sock.settimeout(timeout)
            self._waitall_ok = hasattr(socket, "MSG_WAITALL") and timeout is None and not self.is_ssl()

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
        return isinstance(self.sock, ssl.SSLSocket)

    def fileno(self) -> int:
        """The socket's file descriptor."""
        if self.sock is None:
            raise WebSocketException("the connection is not open")
        return self.sock.fileno()

    def set_mask_key(self, func: Callable[[int], bytes]) -> None:
        """Use ``func(4)`` for mask keys (for tests; the default is os.urandom in batches)."""
        self.get_mask_key = func
        self._proto.mask_key = func

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
            data = payload.encode("utf-8") if opcode == _TEXT else payload.encode("latin-1")
        else:
            data = bytes(payload)
        with self.lock:
            wire = self._proto.send_frame(opcode, data) if opcode >= 8 else self._proto.send_data(opcode, data)
            self._write(wire)
        if _trace.on:
            trace(f"++Sent raw: {wire!r}")
            trace(f"++Sent decoded: fin=1 opcode={opcode} data={data!r}")
        return len(wire)

    def send_text(self, text_data: str) -> int:
        """Send a text message."""
        return self.send(text_data, _TEXT)

    def send_bytes(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """Send a binary message."""
        return self.send(data, _BINARY)

    send_binary = send_bytes

    def send_frame(self, frame: ABNF) -> int:
        """Send one frame as described by ``frame`` (the way to send fragments)."""
        data = frame._bytes()
        rsv = frame.rsv1 << 2 | frame.rsv2 << 1 | frame.rsv3
        with self.lock:
            wire = self._proto.send_frame(frame.opcode, data, bool(frame.fin), rsv)
            self._write(wire)
        if _trace.on:
            trace(f"++Sent raw: {wire!r}")
            trace(f"++Sent decoded: {frame}")
        return len(wire)

    def ping(self, payload: Payload = "") -> None:
        """Send a ping."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        with self.lock:
            self._write(self._proto.send_ping(data))

    def pong(self, payload: Payload = "") -> None:
        """Send a pong."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        with self.lock:
            self._write(self._proto.send_pong(data))

    def _write(self, data: bytes) -> None:
        """Write under ``self.lock``; a timed-out write leaves half a frame, so it ends the connection."""
        sock = self.sock
        if sock is None:
            raise WebSocketConnectionClosedException("socket is already closed.")
        try:
            sock.sendall(data)
        except socket.timeout as exc:
            self._teardown()
            raise WebSocketTimeoutException("Connection timed out") from exc
        except OSError as exc:
            if self.sock is None:  # shut down by another thread while this one was writing
                raise WebSocketConnectionClosedException("socket is already closed.") from exc
            self._teardown()
            raise

    # ------------------------------------------------------------- receiving

    def recv(self, timeout: Any = UNSET) -> Union[str, bytes]:
        """Receive the next message: str for text, bytes for binary, "" when the server closed.

        ``timeout`` (seconds) bounds this call only, 0 polls; omitted or None,
        the connection's timeout applies. A timeout loses nothing: the part of
        a message already read is kept for the next call.
        """
        event = self._receive(timeout, False)
        if type(event) is Message:
            data = event.data
            if event.opcode == _TEXT and not isinstance(data, str):
                return _decode(data)
            return data
        if type(event) is Fragment:
            if event.opcode == _TEXT:
                return _decode(event.data)
            return event.data if event.opcode == _BINARY else ""
        return ""

    def recv_data(self, control_frame: bool = False, timeout: Any = UNSET) -> tuple[int, bytes]:
        """Receive the next message as (opcode, bytes); text is not decoded."""
        opcode, frame = self.recv_data_frame(control_frame, timeout)
        return opcode, frame.data  # type: ignore[return-value]

    def recv_data_frame(self, control_frame: bool = False, timeout: Any = UNSET) -> tuple[int, ABNF]:
        """Receive the next message (or control frame when asked) as (opcode, ABNF)."""
        frame = _to_abnf(self._receive(timeout, control_frame))
        return frame.opcode, frame

    def recv_frame(self, timeout: Any = UNSET) -> ABNF:
        """Receive the next frame as it came: fragments one by one, pings not answered.

        From the first call on, the connection delivers data frames one by one
        (as with ``fire_cont_frame=True``), as websocket-client's does.
        """
        self._proto.deliver_frames()
        return _to_abnf(self._receive(timeout, True, raw=True))

    def _receive(self, timeout: Any, control: bool, raw: bool = False) -> Event:
        if not self.readlock.acquire(blocking=False):
            raise WebSocketConcurrencyError("another thread is already receiving on this connection")
        try:
            return self._next_event(timeout, control, raw)
        finally:
            self.readlock.release()

    def _next_event(self, timeout: Any, control: bool, raw: bool = False) -> Event:
        """Return the next message (and control event if ``control``); caller holds readlock.

        ``raw`` hands pings and pongs over without answering them.
        """
        proto = self._proto
        events = proto.events
        deadline = None if timeout is UNSET or timeout is None else time.monotonic() + timeout
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
            # happens, and bytes already in memory are always taken (decrypted TLS data is
            # invisible to select), so timeout=0 still returns what is already there.
            if deadline is not None and reads and time.monotonic() >= deadline and not self._buffered():
                raise WebSocketTimeoutException("Connection timed out")
            self._read(deadline, per_call)
            reads += 1
            events = proto.events

    def _buffered(self) -> bool:
        """Whether received bytes wait in memory (at most one TLS record): reading them cannot block."""
        sock = self.sock
        return bool(self._leftover) or (isinstance(sock, ssl.SSLSocket) and sock.pending() > 0)

    def _read(self, deadline: Optional[float], per_call: bool) -> None:
        """Read what the socket has and feed it to the protocol."""
        if self._leftover:
            data, self._leftover = self._leftover, b""
            self._proto.receive_data(data)
            return
        sock = self.sock
        if sock is None:
            raise WebSocketConnectionClosedException("socket is already closed.")
        if per_call and not _readable(sock, deadline):  # type: ignore[arg-type]
            raise WebSocketTimeoutException("Connection timed out")
        self._proto.release_idle_memory()
        size = self._proto.read_hint()
        # The hint never reaches past the current frame, so waiting for all of it is safe:
        # one system call and one bytes object for the whole rest of a big payload.
        # Not under a per-call deadline (recv(timeout=...), polls): it would wait past it.
        flags = socket.MSG_WAITALL if size > _READ_SIZE and self._waitall_ok and not per_call else 0
        try:
            data = sock.recv(size, flags)
        except socket.timeout as exc:
            raise WebSocketTimeoutException("Connection timed out") from exc
        except ssl.SSLError as exc:
            if "timed out" in str(exc):
                raise WebSocketTimeoutException("Connection timed out") from exc
            self._teardown()
            raise
        except OSError as exc:
            if self.sock is None:  # closed by another thread while we were reading
                raise WebSocketConnectionClosedException("socket is already closed.") from exc
            self._teardown()
            raise
        if data:
            if _trace.on:
                trace(f"++Rcv raw: {data!r}")
            self._proto.receive_data(data)
        else:
            self._proto.receive_eof()

    def _on_control(self, event: Event, following: Optional[deque[Event]] = None) -> None:
        """Act on a control event: answer it, and end the connection when it says so.

        With ``following`` (the events queue), the pings and pongs right after a ping or
        pong are taken too and answered in the same write: a ping flood costs one write
        per read, not one per ping.
        """
        proto = self._proto
        with self.lock:
            proto.process(event)
            if following is not None and type(event) in (Ping, Pong):
                while following and type(following[0]) in (Ping, Pong):
                    proto.process(following.popleft())
            out = proto.data_to_send()
            if out and self.sock is not None:
                try:
                    self.sock.sendall(out)
                except OSError as exc:
                    if not isinstance(event, (Close, Failure)):
                        self._teardown()
                        if isinstance(exc, socket.timeout):  # a pong the server does not read
                            raise WebSocketTimeoutException("Connection timed out") from exc
                        raise
        if isinstance(event, Close):
            self.close_frame = ABNF(1, 0, 0, 0, _CLOSE, 0, event.payload)
            self.connected = False
            self._closed.set()
        elif isinstance(event, Failure):
            if self.fail_close_timeout is None:  # the owner's event loop drains and closes
                self.connected = False
                raise event.exc
            self._drain(self.fail_close_timeout)
            self._teardown()
            raise event.exc
        elif isinstance(event, EndOfStream):
            self._teardown()
            rcvd = proto.close_rcvd
            raise WebSocketConnectionClosedException(
                "Connection to remote host was lost.",
                status_code=rcvd.code if rcvd else None,
                reason=rcvd.reason if rcvd else None,
            )

    def _drain(self, timeout: float) -> None:
        """Discard what the server still sends until it closes TCP or ``timeout`` passes."""
        sock = self.sock
        if sock is None:
            return
        end = time.monotonic() + timeout
        try:
            while _readable(sock, end):
                if not sock.recv(_READ_SIZE):
                    return
        except OSError:
            return

    # --------------------------------------------------------------- closing

    def send_close(self, status: int = STATUS_NORMAL, reason: Union[bytes, str] = b"") -> None:
        """Send a close frame without waiting for the answer."""
        self._send_close(status, reason, -1)

    def _send_close(self, status: int, reason: Union[bytes, str], lock_timeout: float) -> None:
        # close() must not wait forever behind a send stuck on a server that stopped reading.
        if not self.lock.acquire(timeout=lock_timeout):
            raise WebSocketTimeoutException("a send in another thread is stuck: no close frame could be sent")
        try:
            data = self._proto.send_close(status, reason)
            if data:
                self._write(data)
        finally:
            self.lock.release()
        self.connected = False

    def close(self, status: int = STATUS_NORMAL, reason: Union[bytes, str] = b"", timeout: Timeout = 3) -> None:
        """Run the closing handshake: send a close frame, wait up to ``timeout`` for the server's, close."""
        if self.sock is None:
            self.connected = False
            return
        wait = 3.0 if timeout is None else timeout
        try:
            self._send_close(status, reason, wait)
        except WebSocketTimeoutException:
            self.shutdown()  # the close frame cannot go out: cut, which also wakes a stuck sender
            return
        except (WebSocketException, OSError):
            pass  # the socket is going away either way
        if self.readlock.acquire(blocking=False):
            try:
                self._await_close(wait)
            finally:
                self.readlock.release()
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
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def shutdown(self) -> None:
        """Close the socket at once, without a closing handshake."""
        self._teardown()

    def _teardown(self) -> None:
        sock, self.sock = self.sock, None
        self.connected = False
        self._closed.set()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked on this socket
            except OSError:
                pass
            sock.close()


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


def _readable(sock: socket.socket, deadline: float) -> bool:
    """Wait until ``sock`` has data or ``deadline`` (monotonic) passes."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    remaining = max(0.0, deadline - time.monotonic())
    try:
        ready, _, _ = select.select([sock], [], [], remaining)
    except ValueError:  # closed by another thread
        return True
    return bool(ready)


def _trace_received(event: Event) -> None:
    data = event.data  # type: ignore[union-attr]
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fin = int(event.fin) if isinstance(event, Fragment) else 1
    trace(f"++Rcv decoded: fin={fin} opcode={event.opcode} data={raw!r}")  # type: ignore[union-attr]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebSocketPayloadException(f"cannot decode text message: {exc}") from exc


def _to_abnf(event: Event) -> ABNF:
    if type(event) is Message:
        data = event.data
        return ABNF(1, 0, 0, 0, event.opcode, 0, data.encode("utf-8") if isinstance(data, str) else data)
    if type(event) is Fragment:
        return ABNF(int(event.fin), 0, 0, 0, event.opcode, 0, event.data)
    if isinstance(event, Ping):
        return ABNF(1, 0, 0, 0, _PING, 0, event.payload)
    if isinstance(event, Pong):
        return ABNF(1, 0, 0, 0, _PONG, 0, event.payload)
    if isinstance(event, Close):
        return ABNF(1, 0, 0, 0, _CLOSE, 0, event.payload)
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

