"""A scripted raw-socket WebSocket server for behaviour no real server will show.

A test hands ``RawServer`` a *script*, a function ``(conn: RawConn) -> None``
run in its own thread for every accepted connection. The script decides byte
by byte what the client sees: a malformed handshake, invalid frames, a TCP
drop mid-frame. ``RawConn`` records everything the client sent, so the test
can assert afterwards which close code the client chose.

Lifecycle of a connection:

* the script runs; exceptions it raises are kept and re-raised by
  ``RawServer.join()`` (and, for assertion errors, at fixture teardown);
* when the script returns without closing the socket, the server half-closes
  (FIN, never RST, so no sent byte is lost), keeps reading the client's frames
  for up to ``linger`` seconds until EOF, then closes;
* ``RawServer.stop()`` shuts every socket down, which wakes any blocked read,
  and joins every thread with a bounded wait.

Every read has a deadline; nothing here can block a test forever.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus

from _wire import OP_CLOSE, Frame, accept_key, apply_mask, build_frame, close_payload

Script = Callable[["RawConn"], None]

DEFAULT_READ_TIMEOUT = 5.0
MAX_REQUEST_BYTES = 64 * 1024
JOIN_TIMEOUT = 10.0


class ClientEOF(Exception):  # a signal, not an error
    """The client closed its side of the TCP connection."""


class RawConn:
    """One accepted TCP connection, driven by a script.

    Only the script thread may read from the connection; the test thread
    inspects it after ``RawServer.join()``. Attributes to read then:
    ``request_line``, ``headers`` (list of (name, value) in order),
    ``raw_request`` (the handshake bytes exactly as sent), ``frames`` (every
    frame read from the client, unmasked), ``eof`` (the client closed TCP),
    ``partial`` (EOF arrived in the middle of a frame), ``error``.
    """

    def __init__(self, sock: socket.socket, index: int, linger: float) -> None:
        self.sock = sock
        self.index = index
        self.linger = linger
        self.raw_request = b""
        self.request_line = ""
        self.headers: list[tuple[str, str]] = []
        self.frames: list[Frame] = []
        self.eof = False
        self.partial = False
        self.closed = False
        self.error: BaseException | None = None
        self._buf = bytearray()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---------------------------------------------------------------- reading

    def _fill(self, deadline: float) -> None:
        """Read at least one more byte into the buffer before ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("raw server: client sent nothing in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(256 * 1024)
        except socket.timeout:  # an alias of TimeoutError only from Python 3.10
            raise TimeoutError("raw server: client sent nothing in time") from None
        if not chunk:
            self.eof = True
            raise ClientEOF
        self._buf += chunk

    def _take(self, size: int, deadline: float) -> bytes:
        while len(self._buf) < size:
            self._fill(deadline)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def read_request(self, timeout: float = DEFAULT_READ_TIMEOUT) -> str:
        """Read and parse the client's opening handshake; returns the path."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buf:
            if len(self._buf) > MAX_REQUEST_BYTES:
                raise AssertionError("raw server: handshake request too large")
            self._fill(deadline)
        end = self._buf.index(b"\r\n\r\n") + 4
        self.raw_request = bytes(self._buf[:end])
        del self._buf[:end]
        lines = self.raw_request.decode("latin-1").split("\r\n")[:-2]
        self.request_line = lines[0]
        self.headers = [_split_header(line) for line in lines[1:]]
        return self.path

    @property
    def path(self) -> str:
        """Request target of the handshake, e.g. ``/chat?x=1``."""
        parts = self.request_line.split(" ")
        return parts[1] if len(parts) == 3 else ""

    def header(self, name: str) -> str | None:
        """First request header called ``name`` (case-insensitive), or None."""
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        """Every value of request header ``name``, in order."""
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    def read_frame(self, timeout: float = DEFAULT_READ_TIMEOUT) -> Frame | None:
        """Read one client frame, unmasked, and record it in ``frames``.

        Returns None on EOF (``partial`` tells whether a frame was cut).
        Raises TimeoutError when no complete frame arrives in time.
        """
        deadline = time.monotonic() + timeout
        try:
            frame = self._read_frame(deadline)
        except ClientEOF:
            self.partial = bool(self._buf)
            return None
        self.frames.append(frame)
        return frame

    def _read_frame(self, deadline: float) -> Frame:
        first, second = self._take(2, deadline)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._take(2, deadline))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._take(8, deadline))[0]
        mask = self._take(4, deadline) if second & 0x80 else None
        payload = self._take(length, deadline)
        if mask is not None:
            payload = apply_mask(mask, payload)
        return Frame(bool(first & 0x80), first & 0xF, payload, (first >> 4) & 0x7, mask)

    def collect(
        self,
        timeout: float = DEFAULT_READ_TIMEOUT,
        *,
        until_close: bool = True,
        echo_close: bool = False,
    ) -> list[Frame]:
        """Read client frames until a close frame, EOF, or ``timeout``.

        Never raises on timeout: the caller asserts on what was collected.
        With ``echo_close`` the server answers a close frame with the same
        code, as a polite server would (errors are ignored: the client may
        already have gone).
        """
        deadline = time.monotonic() + timeout
        got: list[Frame] = []
        while time.monotonic() < deadline:
            try:
                frame = self.read_frame(deadline - time.monotonic())
            except TimeoutError:
                break
            if frame is None:
                break
            got.append(frame)
            if frame.opcode == OP_CLOSE and until_close:
                if echo_close:
                    self._echo_close(frame)
                break
        return got

    def _echo_close(self, frame: Frame) -> None:
        with contextlib.suppress(OSError):
            self.send_frame(OP_CLOSE, frame.payload[:2])

    def expect_close(self, timeout: float = DEFAULT_READ_TIMEOUT) -> Frame:
        """Collect until the client's close frame and return it (asserting it came)."""
        self.collect(timeout)
        frame = self.client_close
        assert frame is not None, f"client sent no close frame; frames={self.frames!r}"
        return frame

    @property
    def client_close(self) -> Frame | None:
        """The first close frame the client sent, if any."""
        return next((f for f in self.frames if f.opcode == OP_CLOSE), None)

    def wait_eof(self, timeout: float = DEFAULT_READ_TIMEOUT) -> bool:
        """Read (and record) frames until the client closes TCP; True if it did."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            try:
                self.read_frame(deadline - time.monotonic())
            except TimeoutError:
                break
        return self.eof

    # ---------------------------------------------------------------- writing

    def handshake(
        self,
        status: int = 101,
        *,
        reason: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        accept: bool | str = True,
        upgrade: str | None = "websocket",
        connection: str | None = "Upgrade",
        subprotocol: str | None = None,
        body: bytes = b"",
        content_length: bool | None = None,
        trailer: bytes = b"",
        chunk: int | None = None,
        delay: float = 0.0,
    ) -> bytes:
        """Answer the opening handshake (reading the request first if needed).

        For 101 the Upgrade, Connection and Sec-WebSocket-Accept headers are
        added unless set to None/False; ``accept`` may also be a wrong value.
        ``headers`` are appended as given. ``content_length`` defaults to on
        for non-101 answers. ``trailer`` goes in the same write as the
        response (e.g. a frame right behind the 101). ``chunk``/``delay``
        split the write into pieces (1 = one byte per segment).
        Returns the bytes sent.
        """
        if not self.request_line:
            self.read_request()
        lines = [f"HTTP/1.1 {status} {reason or _phrase(status)}"]
        if status == 101:
            lines += self._upgrade_lines(accept, upgrade, connection, subprotocol)
        lines += [f"{name}: {value}" for name, value in headers]
        if content_length or (content_length is None and status != 101):
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body + trailer
        self.send_raw(data, chunk=chunk, delay=delay)
        return data

    def _upgrade_lines(
        self,
        accept: bool | str,
        upgrade: str | None,
        connection: str | None,
        subprotocol: str | None,
    ) -> list[str]:
        lines = []
        if upgrade is not None:
            lines.append(f"Upgrade: {upgrade}")
        if connection is not None:
            lines.append(f"Connection: {connection}")
        if accept is True:
            lines.append(f"Sec-WebSocket-Accept: {accept_key(self.header('Sec-WebSocket-Key') or '')}")
        elif accept:
            lines.append(f"Sec-WebSocket-Accept: {accept}")
        if subprotocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        return lines

    def send_raw(self, data: bytes, *, chunk: int | None = None, delay: float = 0.0) -> None:
        """Write bytes as they are; ``chunk`` splits them into separate writes."""
        self.sock.settimeout(DEFAULT_READ_TIMEOUT)
        if not chunk:
            self.sock.sendall(data)
            return
        for start in range(0, len(data), chunk):
            self.sock.sendall(data[start : start + chunk])
            # A pause makes each piece its own TCP segment on loopback.
            time.sleep(delay or 0.001)

    def send_frame(
        self,
        opcode: int,
        payload: bytes = b"",
        *,
        fin: bool = True,
        rsv: int = 0,
        mask: bytes | None = None,
        length: int | None = None,
    ) -> None:
        """Send one frame; see ``_wire.build_frame`` for the knobs."""
        frame = build_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length=length)
        self.send_raw(frame)

    def send_close(self, code: int | None = 1000, reason: bytes | str = b"") -> None:
        """Send a close frame with ``code`` and ``reason`` (no code: empty payload)."""
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    def close_tcp(self) -> None:
        """Drop the TCP connection at once, without a close frame."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def finish(self) -> None:
        """End politely: FIN, read until the client's EOF (bounded), close."""
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
            self.wait_eof(self.linger)
        self.close_tcp()


def _split_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class RawServer:
    """Listens on 127.0.0.1, runs ``script`` for each accepted connection."""

    def __init__(self, script: Script, *, linger: float = 5.0, host: str = "127.0.0.1") -> None:
        self.script = script
        self.linger = linger
        self.conns: list[RawConn] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, 0), family=family)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._accepted = threading.Condition()
        self._reported: set[int] = set()
        self._acceptor = threading.Thread(target=self._accept_loop, name="raw-accept", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, ``ws://127.0.0.1:PORT`` (append a path as needed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    def start(self) -> RawServer:
        self._acceptor.start()
        return self

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._start_conn(sock)

    def attach(self, sock: socket.socket) -> RawConn:
        """Run the script on an already-connected socket (e.g. one end of a
        ``socket.socketpair()``, to test the ``socket=`` option over AF_UNIX)."""
        self._start_conn(sock)
        return self.conns[-1]

    def _start_conn(self, sock: socket.socket) -> None:
        with self._accepted:
            conn = RawConn(sock, len(self.conns), self.linger)
            self.conns.append(conn)
            thread = threading.Thread(target=self._run, args=(conn,), name=f"raw-conn-{conn.index}", daemon=True)
            self._threads.append(thread)
            self._accepted.notify_all()
        thread.start()

    def _run(self, conn: RawConn) -> None:
        try:
            self.script(conn)
        except ClientEOF:
            pass  # the client hung up while the script was reading: not a script bug
        except BaseException as exc:  # handed to the test thread by join()
            conn.error = exc
        finally:
            conn.finish()

    def wait_conn(self, index: int = 0, timeout: float = DEFAULT_READ_TIMEOUT) -> RawConn:
        """The ``index``-th accepted connection, waiting for it if needed."""
        with self._accepted:
            ok = self._accepted.wait_for(lambda: len(self.conns) > index, timeout)
        assert ok, f"raw server: connection #{index} never arrived"
        return self.conns[index]

    def join(self, timeout: float = JOIN_TIMEOUT) -> list[RawConn]:
        """Wait for every script (and its linger) to end; re-raise script errors."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"raw server: {thread.name} still running after {timeout}s"
        self._raise_errors(lambda exc: True)
        return self.conns

    def _raise_errors(self, wanted: Callable[[BaseException], bool]) -> None:
        for conn in self.conns:
            exc = conn.error
            if exc is not None and id(exc) not in self._reported and wanted(exc):
                self._reported.add(id(exc))
                raise AssertionError(f"raw server script failed on connection #{conn.index}: {exc!r}") from exc

    def stop(self) -> None:
        """Close everything, join all threads (bounded), re-raise script assertion errors."""
        self._stopping.set()
        self._listener.close()
        self._acceptor.join(JOIN_TIMEOUT)
        for conn in list(self.conns):
            conn.close_tcp()
        for thread in list(self._threads):
            thread.join(JOIN_TIMEOUT)
        # Socket errors after stop() are expected; failed assertions are not.
        self._raise_errors(lambda exc: isinstance(exc, AssertionError))


def accept_and_collect(conn: RawConn) -> None:
    """Ready-made script: accept the handshake, record frames until the client's close (echoed)."""
    conn.handshake()
    conn.collect(echo_close=True)


def sends_then_collects(wire: bytes = b"", *, echo_close: bool = False) -> Script:
    """Ready-made script: the handshake with ``wire`` right behind it, then record frames until the client's close.

    ``echo_close`` answers that close, as a polite server would.
    """

    def script(conn: RawConn) -> None:
        conn.handshake(trailer=wire)
        conn.collect(echo_close=echo_close)

    return script


def sends_then_drops(wire: bytes = b"") -> Script:
    """Ready-made script: the handshake with ``wire`` right behind it, then a TCP drop (no close frame)."""

    def script(conn: RawConn) -> None:
        conn.handshake(trailer=wire)
        conn.close_tcp()

    return script


def sends_close(code: int | None, reason: str = "", *, before: bytes = b"") -> Script:
    """Ready-made script: the handshake (``before`` right behind it), then a close frame, then record frames.

    ``code`` None sends a close frame without a payload.
    """

    def script(conn: RawConn) -> None:
        conn.handshake(trailer=before)
        conn.send_close(code, reason)
        conn.collect()

    return script
