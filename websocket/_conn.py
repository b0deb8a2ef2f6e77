"""One open connection, shared by both drivers: the socket, the protocol, the locks and the bytes between them.

``WebSocket`` (the blocking driver, websocket-client's API) and the
``run_forever`` loop (``websocket._loop``) each drive a ``Conn``; neither
calls into the other. ``Conn`` reads (until a deadline, or only what is
there now), feeds the protocol, writes what the protocol queued, and knows
how the socket ends. What to do with an event, and how long to wait for
anything, is the driver's business.

The read-ahead rule lives here. Reading ahead (64 KiB at a time, several
frames per system call) is what makes small messages fast, but bytes read
ahead sit in this process, where a caller that waits for readability on the
socket (``select``/``poll`` on ``ws.sock`` or ``ws.fileno()`` before each
``recv``, as kubernetes does) cannot see them. So once the socket has been
handed out (``watched``), every read stops at the end of the current frame:
what is not yet returned stays in the kernel, and the socket shows it. Frames
that came with the handshake answer are never read ahead over plain TCP
(the head is peeked, then taken exactly). Over TLS, frame-exact reads leave
what is not yet returned in the TLS layer's own buffer, where poll cannot see
it but ``ws.sock.pending()`` shows it: a watching caller must look at both, as
with websocket-client (kubernetes does); this library's own waits do.
"""

from __future__ import annotations

import select
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from typing import Any, Optional, Union

from ._exceptions import WebSocketConnectionClosedException, WebSocketTimeoutException
from ._logging import _trace, trace
from ._sansio.events import Close, Event, Failure, Ping, Pong
from ._sansio.protocol import ClientProtocol

__all__ = ["Conn", "FAIL_CLOSE_TIMEOUT", "wait_readable", "wait_writable", "until"]

# After failing the connection the client waits this long (at most) for the
# server to close TCP, so the close frame is not lost to a reset.
FAIL_CLOSE_TIMEOUT = 1.0
_READ_SIZE = 65536
_HAS_POLL = hasattr(select, "poll")
_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)
_CONTROL = (Ping, Pong)


class Conn:
    """The socket and protocol of one WebSocket connection (or none yet), and the locks that guard them.

    ``lock`` keeps frames whole and in order across sending threads;
    ``readlock`` admits one receiver at a time, whichever driver it is.
    """

    __slots__ = ("sock", "proto", "lock", "readlock", "leftover", "open", "watched", "loop_closes", "drained", "_waitall")

    def __init__(self, proto: ClientProtocol) -> None:
        self.sock: Optional[socket.socket] = None
        self.proto = proto
        self.lock = threading.Lock()
        self.readlock = threading.Lock()
        self.leftover = b""
        self.open = False  # websocket-client's ``connected``: no close frame sent or received, socket there
        self.watched = False
        # Set by the run_forever loop that watches the socket: teardown only shuts it down (which
        # wakes the loop); the loop closes it once unregistered, so its registration never names
        # a closed or reused descriptor. One descriptor per connection, no dup.
        self.loop_closes = False
        # The last read_nowait on a plain socket got less than it asked for: the kernel had
        # nothing more then, so another read before the next readiness report would be a
        # wasted system call (EAGAIN). A loop clears it when it is told the socket is readable.
        self.drained = False
        self._waitall = False

    def attach(self, sock: socket.socket, proto: ClientProtocol, leftover: bytes) -> None:
        """Take over a freshly opened socket, its protocol, and the bytes that came with the handshake answer."""
        self.sock = sock
        self.proto = proto
        self.leftover = leftover
        self.open = True
        proto.frame_exact = self.watched
        self.timeout_changed()

    def watch(self) -> None:
        """The socket has been handed out: from now on no read crosses the end of a frame."""
        self.watched = True
        self.proto.frame_exact = True

    def timeout_changed(self) -> None:
        """Re-derive what depends on the socket's timeout (call after ``settimeout``)."""
        sock = self.sock
        # MSG_WAITALL only waits on a blocking plain socket (no timeout, no TLS).
        if sock is None or _is_tls(sock):
            self._waitall = False
        else:
            self._waitall = hasattr(socket, "MSG_WAITALL") and sock.gettimeout() is None

    # ------------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        """Write under ``lock``; a timed-out write leaves half a frame, so it ends the connection."""
        sock = self.sock
        if sock is None:
            raise WebSocketConnectionClosedException("socket is already closed.")
        try:
            sock.sendall(data)
        except socket.timeout as exc:
            self.teardown()
            raise WebSocketTimeoutException("Connection timed out") from exc
        except OSError as exc:
            if self.sock is None:  # shut down by another thread while this one was writing
                raise WebSocketConnectionClosedException("socket is already closed.") from exc
            self.teardown()
            raise

    def answer(self, event: Event, following: Optional[deque[Event]] = None) -> None:
        """Let the protocol act on a control event and write what it answers (pong, close echo, failing close).

        With ``following`` (the events queue), the pings and pongs right after a ping or
        pong are taken too and answered in the same write: a ping flood costs one write
        per read, not one per ping. A write that fails while answering a close or a
        failure is dropped (the connection is ending anyway); any other is raised.
        """
        proto = self.proto
        with self.lock:
            proto.process(event)
            if following is not None and type(event) in _CONTROL:
                while following and type(following[0]) in _CONTROL:
                    proto.process(following.popleft())
            out = proto.data_to_send()
            if out and self.sock is not None:
                try:
                    self.sock.sendall(out)
                except OSError as exc:
                    if not isinstance(event, (Close, Failure)):
                        self.teardown()
                        if isinstance(exc, socket.timeout):  # a pong the server does not read
                            raise WebSocketTimeoutException("Connection timed out") from exc
                        raise
        if isinstance(event, (Close, Failure)):
            self.open = False

    def send_close(self, status: int, reason: Union[bytes, str], lock_timeout: float) -> None:
        """Send a close frame; wait at most ``lock_timeout`` (-1: forever, 0: not at all) behind other senders."""
        if not self.lock.acquire(timeout=lock_timeout):
            raise WebSocketTimeoutException("a send in another thread is stuck: no close frame could be sent")
        try:
            data = self.proto.send_close(status, reason)
            if data:
                self.write(data)
        finally:
            self.lock.release()
        self.open = False

    def writable(self) -> bool:
        """Whether a write would not block now (False once the socket is gone)."""
        sock = self.sock
        return sock is not None and wait_writable(sock, 0.0)

    # ------------------------------------------------------------------ reading

    def buffered(self) -> bool:
        """Whether received bytes wait in memory (at most one TLS record): reading them cannot block."""
        sock = self.sock
        return bool(self.leftover) or self.proto.held or (_is_tls(sock) and sock.pending() > 0)  # type: ignore[union-attr]

    def read(self, deadline: Optional[float], per_call: bool) -> None:
        """Read once and feed the protocol.

        With ``per_call``, wait until ``deadline`` (monotonic) at most; otherwise as
        the socket's own timeout says.
        """
        if (self.leftover or self.proto.held) and self._feed_buffered():
            return
        sock = self.sock
        if sock is None:
            raise WebSocketConnectionClosedException("socket is already closed.")
        if per_call and not self.buffered() and not wait_readable(sock, until(deadline)):  # type: ignore[arg-type]
            raise WebSocketTimeoutException("Connection timed out")
        proto = self.proto
        proto.release_idle_memory()
        size = proto.read_hint()
        # The hint never reaches past the current frame, so waiting for all of it is safe:
        # one system call and one bytes object for the whole rest of a big payload.
        # Not under a per-call deadline (recv(timeout=...), polls): it would wait past it.
        flags = socket.MSG_WAITALL if size > _READ_SIZE and self._waitall and not per_call else 0
        self._recv(sock, size, flags)

    def read_nowait(self) -> bool:
        """Read what has arrived without waiting for more; False when nothing was there."""
        sock = self.sock
        if sock is None:
            raise WebSocketConnectionClosedException("socket is already closed.")
        if (self.leftover or self.proto.held) and self._feed_buffered():
            return True
        if _DONTWAIT and type(sock) is socket.socket and sock.gettimeout() is None:
            # A blocking plain socket: one system call, no poll before it (a loop reads until EAGAIN).
            size = self.proto.read_hint()
            try:
                self.drained = self._recv(sock, size, _DONTWAIT) < size
            except BlockingIOError:
                self.drained = True
                return False
            return True
        if not wait_readable(sock, 0.0):
            return False
        self._recv(sock, self.proto.read_hint(), 0)
        return True

    def _feed_buffered(self) -> bool:
        """Feed what is already in memory instead of reading; False when nothing was."""
        if self.proto.held:  # complete frames wait behind inflated messages already taken
            self.proto.resume()
            return True
        if self.leftover:
            data, self.leftover = self.leftover, b""
            self.proto.receive_data(data)
            return True
        return False

    def _recv(self, sock: socket.socket, size: int, flags: int) -> int:
        """Read once and feed the protocol; returns the number of bytes read (0: end of stream)."""
        try:
            # Flags only when needed: an object given in socket= may take none.
            data = sock.recv(size, flags) if flags else sock.recv(size)
        except BlockingIOError:
            raise  # MSG_DONTWAIT and nothing there: read_nowait's answer, not a failure
        except socket.timeout as exc:
            raise WebSocketTimeoutException("Connection timed out") from exc
        except ssl.SSLError as exc:
            if "timed out" in str(exc):
                raise WebSocketTimeoutException("Connection timed out") from exc
            self.teardown()
            raise
        except OSError as exc:
            if self.sock is None:  # closed by another thread while we were reading
                raise WebSocketConnectionClosedException("socket is already closed.") from exc
            self.teardown()
            raise
        if data:
            if _trace.on:
                trace(f"++Rcv raw: {data!r}")
            self.proto.receive_data(data)
        else:
            self.proto.receive_eof()
        return len(data)

    def lost(self) -> WebSocketConnectionClosedException:
        """The error for a stream that ended (with the server's close code and reason, if it sent a close frame)."""
        rcvd = self.proto.close_rcvd
        return WebSocketConnectionClosedException(
            "Connection to remote host was lost.",
            status_code=rcvd.code if rcvd else None,
            reason=rcvd.reason if rcvd else None,
        )

    def drain(self, timeout: float) -> None:
        """Discard what the server still sends until it closes TCP or ``timeout`` passes."""
        sock = self.sock
        if sock is None:
            return
        end = time.monotonic() + timeout
        try:
            while wait_readable(sock, until(end)):
                if not sock.recv(_READ_SIZE):
                    return
        except OSError:
            return

    # ------------------------------------------------------------------ the end

    def abort(self) -> None:
        """Shut the socket down (both ways) without closing it: wakes whoever waits on it."""
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def teardown(self) -> None:
        """Close the socket at once (shut down first, which wakes a reader blocked on it)."""
        sock, self.sock = self.sock, None
        self.open = False
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            if not self.loop_closes:
                try:
                    sock.close()
                except OSError:  # its descriptor was closed under it (EBADF): nothing is left to free
                    pass


def _is_tls(sock: Any) -> bool:
    """A TLS connection (an SSLSocket, or TLS in TLS through an HTTPS proxy): decrypted bytes may wait
    in memory where poll cannot see them (``pending()``), and recv takes no flags."""
    return hasattr(sock, "pending")


def wait_readable(sock: socket.socket, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds until ``sock`` has data (decrypted TLS bytes count)."""
    if _is_tls(sock) and sock.pending():  # type: ignore[attr-defined]
        return True
    return _wait(sock, True, timeout)


def wait_writable(sock: socket.socket, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds until a write to ``sock`` would not block."""
    return _wait(sock, False, timeout)


def until(deadline: float) -> float:
    """Seconds from now to the monotonic ``deadline`` (0 once it has passed)."""
    return max(0.0, deadline - time.monotonic())


def _wait(sock: socket.socket, read: bool, timeout: float) -> bool:
    # poll, not select: select fails for descriptors of 1024 and above.
    try:
        fd = sock.fileno()
    except OSError:
        return True  # closed by another thread: the next call on it says so
    if fd < 0:
        return True
    if not _HAS_POLL:  # pragma: no cover - platforms without poll (Windows)
        with selectors.SelectSelector() as selector:
            selector.register(fd, selectors.EVENT_READ if read else selectors.EVENT_WRITE)
            return bool(selector.select(timeout))
    poller = select.poll()
    poller.register(fd, select.POLLIN if read else select.POLLOUT)
    # Errors and hang-ups count as ready: the read or write that follows reports them.
    return bool(poller.poll(timeout * 1000.0))
