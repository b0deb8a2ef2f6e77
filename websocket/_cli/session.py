"""One wsdump session: the reader thread, keepalive, reconnect, closing, and how it ended.

The main thread reads input and sends (``Session.converse``); a reader
thread receives and shows messages (``Session.receive_all``). When the
session is over, the reader wakes the main thread out of a blocking
``input()`` or stdin read with a SIGINT aimed at it; ``Session._on_sigint``
tells that wake-up from the user's Ctrl-C. See ``websocket._wsdump``.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from .._core import WebSocket, create_connection
from .._exceptions import (
    WebSocketConnectionClosedException,
    WebSocketException,
    WebSocketHandshakeException,
    WebSocketPayloadException,
    WebSocketProtocolException,
    WebSocketTimeoutException,
)
from .._loop.keepalive import Due, KeepAlive
from .._loop.reconnect import should_reconnect
from .._sansio.frames import CloseCode, Opcode
from .output import Output, format_binary, format_text

__all__ = ["Session", "Ending", "connect_failure"]

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_CONNECT = 3
EXIT_PROTOCOL = 4
EXIT_LOST = 5
EXIT_CLOSED_WITH_ERROR = 6
EXIT_INTERRUPTED = 130
NORMAL_CLOSE_CODES = frozenset((CloseCode.NORMAL, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD))
CLOSE_TIMEOUT = 3.0
OPCODE_NAMES = {int(op): op.name.lower() for op in Opcode}
OPCODE_NAMES[int(Opcode.CONT)] = "cont"


@dataclass
class Ending:
    """How a connection ended: wsdump's exit status, the line that says so, and for reconnect decisions."""

    code: int
    text: str
    close_code: Optional[int] = None
    error: Optional[BaseException] = None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def connect_failure(url: str, exc: BaseException) -> Ending:
    """The Ending of a failed connect or opening handshake."""
    if isinstance(exc, (WebSocketHandshakeException, WebSocketProtocolException)):
        code = EXIT_PROTOCOL
    elif isinstance(exc, (OSError, WebSocketException)):  # ssl.SSLCertVerificationError is also a ValueError
        code = EXIT_CONNECT
    elif isinstance(exc, (ValueError, TypeError)):
        code = EXIT_USAGE
    else:
        code = EXIT_CONNECT
    return Ending(code, f"could not connect to {url}: {_describe(exc)}", error=exc)


def _close_name(code: Optional[int]) -> str:
    if code is None:
        return "no code"
    try:
        return f"{code} {CloseCode(code).name}"
    except ValueError:
        return str(code)


class Session:
    """One wsdump run: the main thread reads input and sends; a reader thread receives and prints.

    The reader wakes the main thread out of a blocking ``input()`` or stdin
    read with a SIGINT aimed at it (``signal.pthread_kill``) when the session
    is over; ``_on_sigint`` tells that wake-up from the user's Ctrl-C.
    """

    def __init__(self, args: argparse.Namespace, options: dict[str, Any], out: Output, interactive: bool) -> None:
        self.args = args
        self.options = options
        self.out = out
        self.interactive = interactive
        self.started = time.monotonic()
        self.ws: Optional[WebSocket] = None
        self.ending: Optional[Ending] = None
        self.quitting = threading.Event()
        self.ended = threading.Event()
        self.interruptible = False
        self.interrupts = 0
        self._wake_lock = threading.Lock()
        self._main_ident = threading.get_ident()
        self._reader: Optional[threading.Thread] = None

    # ------------------------------------------------------------ connecting

    def connect(self) -> WebSocket:
        """One connection attempt; the socket blocks afterwards (keepalive uses per-call timeouts)."""
        ws = create_connection(self.args.url, timeout=self.args.timeout, **self.options)
        if threading.get_ident() == self._main_ident:
            self.interruptible = False  # from now on a Ctrl-C closes this connection cleanly
        ws.settimeout(None)
        details = [f"subprotocol {ws.subprotocol}"] if ws.subprotocol else []
        extensions = (ws.headers or {}).get("sec-websocket-extensions")
        if extensions:
            details.append(extensions if self.args.verbose else extensions.split(";")[0].strip())
        self.out.status(f"Connected to {self.args.url}" + (f" ({'; '.join(details)})" if details else ""))
        return ws

    def open(self) -> Union[WebSocket, Ending, None]:
        """Connect, retrying with ``--reconnect``; None when the user quit while waiting."""
        while not self.quitting.is_set():
            try:
                return self.connect()
            except Exception as exc:  # classified for the exit status; a bug shows as EXIT_USAGE/CONNECT with its text
                ending = connect_failure(self.args.url, exc)
            if self.args.reconnect is None or not should_reconnect(None, ending.error):
                return ending
            self.out.status(f"{ending.text}; retrying in {self.args.reconnect:g} s", error=True)
            self.ending = ending
            if self.quitting.wait(self.args.reconnect):
                break
        return None

    # ------------------------------------------------------------ receiving

    def receive_all(self, ws: WebSocket) -> None:
        """The reader thread: print until the connection ends, reconnect if asked, then wake the main thread."""
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl-C belongs to the main thread
        while True:
            ending = self._pump(ws)
            self.ws = None
            self.ending = ending
            if self.quitting.is_set() or self.out.broken.is_set() or self.args.reconnect is None:
                break
            if not should_reconnect(ending.close_code, ending.error):
                break
            self.out.status(f"{ending.text}; reconnecting in {self.args.reconnect:g} s", error=True)
            if self.quitting.wait(self.args.reconnect):
                break
            opened = self.open()
            if not isinstance(opened, WebSocket):
                ending = opened or ending
                self.ending = ending
                break
            if self.quitting.is_set():  # the user quit while this attempt was under way
                opened.close(timeout=CLOSE_TIMEOUT)
                break
            ws = self.ws = opened
        self.out.status(ending.text, error=ending.code != EXIT_OK)
        self.ended.set()
        self._wake_main()

    def _pump(self, ws: WebSocket) -> Ending:
        """Receive and show messages until this connection ends; send keepalive pings."""
        timeout = self.args.ping_timeout if self.args.ping_timeout is not None else self.args.ping_interval / 2
        keepalive = KeepAlive(self.args.ping_interval, timeout if self.args.ping_interval else None)
        keepalive.start()
        while True:
            deadline = keepalive.next_deadline()
            wait = None if deadline is None else max(0.0, deadline - keepalive.clock())
            try:
                opcode, frame = ws.recv_data_frame(True, timeout=wait)
            except WebSocketTimeoutException:
                if self._keepalive_due(ws, keepalive):
                    continue
                ws.shutdown()
                return Ending(EXIT_LOST, f"no answer from the server within {timeout:g} s of a ping")
            except (WebSocketException, OSError) as exc:
                return self._failed(ws, exc)
            keepalive.data_received()
            if opcode == Opcode.PONG:
                keepalive.pong_received()
            payload = frame.data.encode("utf-8") if isinstance(frame.data, str) else bytes(frame.data)
            self._show(opcode, payload, keepalive.latency if opcode == Opcode.PONG else None, ws)
            if opcode == Opcode.CLOSE:
                return self._closed(ws)
            if self.out.broken.is_set():  # nobody reads our output any more
                ws.close(timeout=CLOSE_TIMEOUT)
                return Ending(EXIT_OK, "output closed")

    def _keepalive_due(self, ws: WebSocket, keepalive: KeepAlive) -> bool:
        """Act on the keepalive after a receive timeout; False when the server counts as dead."""
        due = keepalive.due()
        if due is Due.TIMED_OUT:
            return False
        if due is Due.PING:
            try:
                ws.ping()
            except (WebSocketException, OSError):
                keepalive.ping_skipped()
            else:
                keepalive.ping_sent()
        return True

    def _closed(self, ws: WebSocket) -> Ending:
        ws.close(timeout=CLOSE_TIMEOUT)  # the close frame is in: wait for the server to end TCP, then release
        code, reason = ws.close_code, ws.close_reason
        said = _close_name(code) + (f" {reason!r}" if reason else "")
        status = EXIT_OK if code in NORMAL_CLOSE_CODES else EXIT_CLOSED_WITH_ERROR
        by = "" if self.quitting.is_set() else " by the server"
        return Ending(status, f"Connection closed{by} ({said})", code)

    def _failed(self, ws: WebSocket, exc: BaseException) -> Ending:
        if ws.close_code is not None:  # close() from the main thread completed the handshake first
            return self._closed(ws)
        if isinstance(exc, (WebSocketProtocolException, WebSocketPayloadException)):
            return Ending(EXIT_PROTOCOL, f"Connection failed: {_describe(exc)}", error=exc)
        if self.quitting.is_set():
            return Ending(EXIT_LOST, "Connection closed without an answer to the close frame", error=exc)
        if isinstance(exc, WebSocketConnectionClosedException) and exc.status_code is not None:
            return Ending(EXIT_CLOSED_WITH_ERROR, f"Connection closed ({_close_name(exc.status_code)})", exc.status_code, exc)
        return Ending(EXIT_LOST, f"Connection lost: {_describe(exc)}", error=exc)

    def _show(self, opcode: int, data: bytes, latency: Optional[float], ws: WebSocket) -> None:
        args = self.args
        if opcode in (Opcode.TEXT, Opcode.BINARY):
            text = format_text(data.decode("utf-8"), args.json) if opcode == Opcode.TEXT else format_binary(data, args.binary)
            kind = "text" if opcode == Opcode.TEXT else "binary"
        elif not args.verbose:
            return
        else:
            kind = "control"
            if opcode == Opcode.CLOSE:
                text = f"{ws.close_code or ''} {ws.close_reason or ''}".strip()
            else:
                text = data.decode("utf-8", "replace") if data else ""
                if latency is not None:
                    text = f"{text} (round trip {latency * 1000:.1f} ms)".lstrip()
        if args.verbose:
            text = f"{OPCODE_NAMES.get(opcode, str(opcode))}: {text}"
        if args.timings:
            text = f"{time.monotonic() - self.started:.6f}: {text}"
        self.out.message(text, kind)

    # ------------------------------------------------------------ the main thread

    def _wake_main(self) -> None:
        with self._wake_lock:
            if not self.quitting.is_set() and hasattr(signal, "pthread_kill"):
                signal.pthread_kill(self._main_ident, signal.SIGINT)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        """SIGINT: the user's Ctrl-C, or the reader's wake-up once the session is over."""
        if not self.ended.is_set():
            self.interrupts += 1
        if self.interruptible or self.interrupts > 1:
            raise KeyboardInterrupt

    def _wait_input(self, read: Callable[[], str]) -> Optional[str]:
        """One line from ``read``; None at the end of input, on Ctrl-C, or when the session is over."""
        self.interruptible = True
        try:
            if self.ended.is_set() or self.interrupts:
                return None
            return read()
        except (EOFError, KeyboardInterrupt):
            return None
        finally:
            self.interruptible = False

    def converse(self, read: Callable[[], str]) -> None:
        """Send what the user types (or stdin holds) until the input ends or the session does."""
        if self.args.text is not None:
            self.send(self.args.text)
        while not self.ended.is_set() and not self.out.broken.is_set():
            self.out.prompting = self.interactive and self.out.screen
            line = self._wait_input(read)
            self.out.prompting = False
            if line is None:
                break
            self.send(line)
        if self.interactive and self.out.screen:
            # Leave the prompt line the user quit on; wipe it when the server ended the session.
            self.out.raw("\r\x1b[K" if self.ended.is_set() and not self.interrupts else "\n")
        if not self.interactive and not self.interrupts and not self.ended.is_set() and self.args.eof_wait > 0:
            self.interruptible = True
            try:
                self.ended.wait(self.args.eof_wait)
            except KeyboardInterrupt:
                pass
            finally:
                self.interruptible = False

    def send(self, text: str) -> None:
        ws = self.ws
        if ws is None:
            self.out.status("not connected: message not sent", error=True)
            return
        try:
            ws.send(text)
        except (WebSocketException, OSError, UnicodeEncodeError) as exc:
            self.out.status(f"could not send: {_describe(exc)}", error=True)

    def finish(self) -> int:
        """Start the closing handshake if still open, let the reader see it through, and pick the exit status.

        The reader stays the only receiver, so the answers still on their way
        (echoes of the last lines sent) are shown before the server's close frame.
        """
        with self._wake_lock:
            self.quitting.set()
        ws, reader = self.ws, self._reader
        if ws is not None and reader is not None and not self.ended.is_set():
            try:
                ws.send_close()
            except (WebSocketException, OSError):
                pass  # already gone: the reader reports how
            reader.join(CLOSE_TIMEOUT)
            if reader.is_alive():
                ws.shutdown()  # no close frame came back in time
        if reader is not None:
            reader.join(self.args.timeout + CLOSE_TIMEOUT + 1)
        ending = self.ending or Ending(EXIT_LOST, "the connection did not end in time")
        if self.interrupts and not self.interactive and ending.code == EXIT_OK:
            return EXIT_INTERRUPTED
        return ending.code

    def start_reader(self, ws: WebSocket) -> None:
        self.ws = ws
        self._reader = threading.Thread(target=self.receive_all, args=(ws,), name="wsdump-reader", daemon=True)
        self._reader.start()
