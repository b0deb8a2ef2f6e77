"""``WebSocketApp``: websocket-client's callback API for long-lived connections.

``run_forever`` connects, calls ``on_open``, then hands every message, ping,
pong and the close to the callbacks, from one event loop: its own select loop
in the calling thread by default, or a dispatcher such as ``rel`` shared by
many apps (then it returns at once and ``rel.dispatch()`` drives everything).

Beyond websocket-client:

* keepalive without a thread: with ``ping_interval`` and ``ping_timeout`` a
  silent server (no data, no FIN) is detected ``ping_timeout`` after a ping,
  and any data from the server counts as a sign of life; ``app.latency`` is
  the round-trip time of the last answered ping;
* reconnect is a loop, never a recursion, decided by one rule,
  ``should_reconnect`` (graceful closes end the run, restarts and drops
  reconnect), with ``reconnect=`` a fixed delay or a ``Backoff``;
* a protocol error on one connection reaches that app's ``on_error`` and
  ``on_close`` and never escapes the dispatcher, so a shared rel loop keeps
  serving the others; dispatcher mode also works outside the main thread;
* ``send`` and ``close`` are safe from any thread; KeyboardInterrupt tears
  down, then propagates out of ``run_forever`` (or ``rel.dispatch()``);
* extra keyword arguments of ``run_forever`` (``max_size``, ``compression``,
  ``timeout``...) go to the WebSocket and its ``connect``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from ._abnf import ABNF
from ._core import WebSocket
from ._dispatcher import Dispatcher, SelectDispatcher, WrappedDispatcher
from ._exceptions import WebSocketConnectionClosedException, WebSocketException, WebSocketTimeoutException
from ._logging import _logger
from ._loop.keepalive import KeepAlive, check_ping_options
from ._loop.reconnect import ReconnectPolicy, reconnect_policy
from ._loop.reconnect import should_reconnect as _default_rule
from ._loop.runner import Runner
from ._sansio.events import Close, Event, Fragment, Message, Ping
from ._sansio.frames import OP_CONT, OP_TEXT
from ._sansio.headers import HeadersLike
from ._socket import getdefaulttimeout
from ._wsmessage import message_from_event

__all__ = ["WebSocketApp", "set_reconnect"]

RECONNECT: Union[float, ReconnectPolicy] = 0
"""Default of ``run_forever(reconnect=None)``; set with ``set_reconnect``."""

Callback = Optional[Callable[..., Any]]
Header = Union[HeadersLike, Callable[[], HeadersLike]]


def set_reconnect(reconnectInterval: Union[float, ReconnectPolicy]) -> None:  # noqa: N803 - websocket-client's name
    """Set the reconnect delay (or a ``Backoff``) used when ``run_forever`` gets ``reconnect=None``."""
    global RECONNECT
    RECONNECT = reconnectInterval


@dataclass
class ConnectSettings:
    """What every attempt of one run needs to build its WebSocket and connect."""

    sockopt: Optional[list[Any]]
    sslopt: Optional[dict[str, Any]]
    skip_utf8_validation: bool
    timeout: Any
    options: dict[str, Any] = field(default_factory=dict)

    def new_websocket(self, app: WebSocketApp) -> WebSocket:
        """A fresh WebSocket for one attempt (fragments go to on_cont_message when it is set)."""
        ws = WebSocket(
            app.get_mask_key,
            sockopt=self.sockopt,
            sslopt=self.sslopt,
            fire_cont_frame=app.on_cont_message is not None,
            skip_utf8_validation=self.skip_utf8_validation,
            enable_multithread=True,
            **self.options,
        )
        ws.settimeout(getdefaulttimeout() if self.timeout is None else self.timeout)
        return ws


class WebSocketApp:
    """Callback-driven WebSocket client, compatible with websocket-client's ``WebSocketApp``.

    Every callback gets the app first: ``on_open(ws)``, ``on_reconnect(ws)``,
    ``on_message(ws, message)``, ``on_data(ws, data, opcode, fin)``,
    ``on_cont_message(ws, data, fin)``, ``on_ping(ws, payload)``,
    ``on_pong(ws, payload)``, ``on_error(ws, exception)``,
    ``on_close(ws, close_status_code, close_msg)``. An exception raised by a
    callback is logged and passed to ``on_error``. ``header`` may be a
    callable, called before every (re)connect.

    Beyond websocket-client, ``on_receive(ws, msg)`` (keyword only) gets each
    whole text or binary message as a ``WSMessage`` (``msg.type``,
    ``msg.data``, ``msg.json()``), after ``on_message``.
    """

    def __init__(
        self,
        url: str,
        header: Header = None,
        on_open: Callback = None,
        on_reconnect: Callback = None,
        on_message: Callback = None,
        on_error: Callback = None,
        on_close: Callback = None,
        on_ping: Callback = None,
        on_pong: Callback = None,
        on_cont_message: Callback = None,
        keep_running: bool = True,
        get_mask_key: Optional[Callable[[int], bytes]] = None,
        cookie: Optional[str] = None,
        subprotocols: Optional[list[str]] = None,
        on_data: Callback = None,
        socket: Any = None,
        *,
        on_receive: Callback = None,
    ) -> None:
        self.url = url
        self.header: Header = header if header is not None else []
        self.cookie = cookie
        self.on_open = on_open
        self.on_reconnect = on_reconnect
        self.on_message = on_message
        self.on_data = on_data
        self.on_receive = on_receive
        self.on_error = on_error
        self.on_close = on_close
        self.on_ping = on_ping
        self.on_pong = on_pong
        self.on_cont_message = on_cont_message
        self.keep_running = False  # the argument is obsolete, as in websocket-client
        self.get_mask_key = get_mask_key
        self.sock: Any = None
        """The ``WebSocket`` of the current connection, or None."""
        self.last_ping_tm = 0.0
        self.last_pong_tm = 0.0
        self.latency: Optional[float] = None
        """Round-trip time in seconds of the last ping answered by a pong (None before the first)."""
        self.ping_thread: Optional[threading.Thread] = None  # kept for compatibility: pings need no thread
        self.stop_ping: Optional[threading.Event] = None
        self.ping_interval: float = 0
        self.ping_timeout: Optional[float] = None
        self.ping_payload: Union[str, bytes] = ""
        self.subprotocols = subprotocols
        self.prepared_socket = socket
        self.has_errored = False
        self.has_done_teardown = False
        self.has_done_teardown_lock = threading.Lock()
        self.last_close_frame: Optional[ABNF] = None
        self._run: Optional[Runner] = None

    # ------------------------------------------------------------------ sending

    def send(self, data: Union[bytes, bytearray, memoryview, str], opcode: int = ABNF.OPCODE_TEXT) -> None:
        """Send a message from any thread; WebSocketConnectionClosedException when not connected."""
        ws = self.sock
        if ws is None:
            raise WebSocketConnectionClosedException("Connection is already closed.")
        try:
            sent = ws.send(data, opcode)
        except (OSError, WebSocketTimeoutException) as exc:
            run = self._run
            if run is not None:
                run.note_write_error(ws, exc)
            raise
        if sent == 0:
            raise WebSocketConnectionClosedException("Connection is already closed.")

    def send_text(self, text_data: str) -> None:
        """Send a text message."""
        self.send(text_data, ABNF.OPCODE_TEXT)

    def send_bytes(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Send a binary message."""
        self.send(data, ABNF.OPCODE_BINARY)

    def close(self, **kwargs: Any) -> None:
        """End the run: close handshake (``status``, ``reason``, ``timeout``), no reconnect.

        From a callback (the loop's thread) this starts the closing handshake
        and returns; the loop finishes it and calls ``on_close``. From another
        thread it also waits, up to ``timeout`` (3 s), for the connection to end.
        """
        self.keep_running = False
        run = self._run
        if run is not None:
            run.close(**kwargs)

    def ready(self) -> Any:
        """Truthy when a connection is open."""
        ws = self.sock
        return ws and ws.connected

    def should_reconnect(self, close_status_code: Optional[int], error: Optional[BaseException]) -> bool:
        """Whether ``run_forever(reconnect=...)`` tries again after a connection ended this way.

        The default is ``websocket.should_reconnect``: close frames 1001, 1011,
        1012, 1013 and 1014 and ends without a close frame (drops, ping
        timeouts, failed connects) reconnect; other close frames (1000, 3000-4999...)
        end the run. Override in a subclass, or assign ``app.should_reconnect``.
        """
        return _default_rule(close_status_code, error)

    # ------------------------------------------------------------------ running

    def run_forever(
        self,
        sockopt: Optional[list[Any]] = None,
        sslopt: Optional[dict[str, Any]] = None,
        ping_interval: float = 0,
        ping_timeout: Optional[float] = None,
        ping_payload: Union[str, bytes] = "",
        http_proxy_host: Optional[str] = None,
        http_proxy_port: Union[int, str, None] = None,
        http_no_proxy: Optional[list[str]] = None,
        http_proxy_auth: Optional[tuple[str, str]] = None,
        http_proxy_timeout: Optional[float] = None,
        skip_utf8_validation: bool = False,
        host: Optional[str] = None,
        origin: Optional[str] = None,
        dispatcher: Optional[Dispatcher] = None,
        suppress_origin: bool = False,
        suppress_host: bool = False,
        proxy_type: Optional[str] = None,
        reconnect: Union[float, ReconnectPolicy, None] = None,
        **options: Any,
    ) -> bool:
        """Connect and serve the callbacks until the run ends; returns True if an error ended it.

        Without ``dispatcher`` this blocks in a select loop in this thread.
        With one (``rel`` or any ``Dispatcher``), it connects, registers, and
        returns at once (True if that first attempt failed); the dispatcher's
        loop does the rest. ``reconnect``: seconds between attempts
        (websocket-client's fixed delay), a ``Backoff``, or None for the
        ``set_reconnect`` default (0: no reconnect). Returns False when the run
        ended with a close frame or ``close()``, True after an error or a drop.
        """
        check_ping_options(ping_interval, ping_timeout)
        if self.sock is not None or self._run is not None:
            raise WebSocketException("socket is already opened")
        policy = reconnect_policy(RECONNECT if reconnect is None else reconnect)
        connect_options = {
            "http_proxy_host": http_proxy_host,
            "http_proxy_port": http_proxy_port,
            "http_no_proxy": http_no_proxy,
            "http_proxy_auth": http_proxy_auth,
            "http_proxy_timeout": http_proxy_timeout,
            "host": host,
            "origin": origin,
            "suppress_origin": suppress_origin,
            "suppress_host": suppress_host,
            "proxy_type": proxy_type,
        }
        timeout = options.pop("timeout", None)
        settings = ConnectSettings(sockopt or [], sslopt or {}, skip_utf8_validation, timeout, {**options, **connect_options})
        self.ping_interval, self.ping_timeout, self.ping_payload = ping_interval, ping_timeout, ping_payload
        self.has_done_teardown = False
        self.has_errored = False
        self.keep_running = True
        self.last_close_frame = None
        is_ssl = self.url.lower().startswith("wss")
        loop = self.create_dispatcher(ping_timeout, dispatcher, is_ssl)
        run = Runner(_Owner(self, settings), loop, policy, KeepAlive(ping_interval, ping_timeout), ping_payload)
        self._run = run
        run.start()
        if loop.owned:
            _run_owned(run, loop)
        return self.has_errored

    def create_dispatcher(
        self,
        ping_timeout: Optional[float] = None,
        dispatcher: Optional[Dispatcher] = None,
        is_ssl: bool = False,
        handleDisconnect: Optional[Callable[..., Any]] = None,  # noqa: N803 - websocket-client's name
    ) -> WrappedDispatcher:
        """The loop of one run: a fresh ``SelectDispatcher`` run in this thread, or ``dispatcher`` wrapped.

        Overridable, as in websocket-client; return a ``WrappedDispatcher``.
        For a custom dispatcher, Ctrl-C is routed to its ``abort`` when this
        runs in the main thread (rel can only set signals there).
        """
        if dispatcher is None:
            return WrappedDispatcher(SelectDispatcher(), owned=True)
        wrapped = WrappedDispatcher(dispatcher)
        wrapped.install_sigint()
        return wrapped

    def _deliver_message(self, event: Message) -> None:
        """Hand a whole message to on_data, on_message and on_receive."""
        data = event.data
        if self.on_data is not None:
            self._callback(self.on_data, data, event.opcode, True)
        on_message = self.on_message
        if on_message is not None:
            try:
                on_message(self, data)
            except Exception as exc:  # the per-message path of _callback, written out
                self._callback_failed(on_message, exc)
        if self.on_receive is not None:
            try:
                msg = message_from_event(event)
            except WebSocketException as exc:  # text left unvalidated (skip_utf8_validation) and invalid
                self._callback(self.on_error, exc)
                return
            self._callback(self.on_receive, msg)

    def _deliver_fragment(self, frame: Fragment, skip_utf8_validation: bool) -> None:
        """Hand a frame of a fragmented message to on_data and on_cont_message (or on_message, first frame)."""
        if frame.opcode == OP_CONT:
            self._callback(self.on_data, frame.data, OP_CONT, frame.fin)
            self._callback(self.on_cont_message, frame.data, frame.fin)
            return
        data: Any = frame.data
        if frame.opcode == OP_TEXT and not skip_utf8_validation:
            try:
                data = frame.data.decode("utf-8")
            except UnicodeDecodeError:
                pass  # the first fragment ends inside a character: hand over the bytes
        self._callback(self.on_data, data, frame.opcode, frame.fin)
        self._callback(self.on_message, data)

    def _callback(self, callback: Callback, *args: Any) -> None:
        """Call a user callback; an exception goes to the log and to on_error, never further."""
        if callback is None:
            return
        try:
            callback(self, *args)
        except Exception as exc:  # user code: report, keep the loop alive
            self._callback_failed(callback, exc)

    def _callback_failed(self, callback: Callable[..., Any], exc: Exception) -> None:
        _logger.error(f"error from callback {callback}: {exc}", exc_info=True)
        on_error = self.on_error
        if on_error is not None and callback is not on_error:
            try:
                on_error(self, exc)
            except Exception as nested:
                _logger.error(f"error from callback {on_error}: {nested}", exc_info=True)


def _run_owned(run: Runner, loop: WrappedDispatcher) -> None:
    """Drive this run's own loop until it ends; an interrupt tears down first, then propagates."""
    try:
        loop.run()
    except BaseException as exc:
        run.interrupt(exc)
        raise
    if not run.done:  # the loop was aborted from outside: still end cleanly
        run.interrupt(WebSocketConnectionClosedException("the dispatcher stopped"))


class _Owner:
    """The app as its run sees it (``RunOwner``): the run never touches the app's fields itself."""

    __slots__ = ("app", "settings")

    def __init__(self, app: WebSocketApp, settings: ConnectSettings) -> None:
        self.app = app
        self.settings = settings

    @property
    def keep_running(self) -> bool:
        return self.app.keep_running

    def new_attempt(self, first: bool) -> tuple[WebSocket, str, dict[str, Any]]:
        app = self.app
        options = dict(self.settings.options)
        if first and app.prepared_socket is not None:
            options["socket"] = app.prepared_socket  # a pre-connected socket serves the first attempt only
        header = app.header() if callable(app.header) else app.header
        options.update(header=header, cookie=app.cookie, subprotocols=app.subprotocols)
        return self.settings.new_websocket(app), app.url, options

    def opened(self, ws: WebSocket, reconnected: bool) -> None:
        app = self.app
        app.sock = ws
        if reconnected and app.on_reconnect is not None:
            app._callback(app.on_reconnect)
        else:
            app._callback(app.on_open)

    def received(self, event: Event) -> None:
        app = self.app
        kind = type(event)
        if kind is Message:
            app._deliver_message(event)  # type: ignore[arg-type]
        elif kind is Fragment:
            app._deliver_fragment(event, self.settings.skip_utf8_validation)  # type: ignore[arg-type]
        elif kind is Ping:
            app._callback(app.on_ping, event.payload)  # type: ignore[union-attr]
        elif kind is Close:
            frame = ABNF(1, 0, 0, 0, ABNF.OPCODE_CLOSE, 0, event.payload)  # type: ignore[union-attr]
            app.last_close_frame = frame
            if app.sock is not None:
                app.sock.close_frame = frame

    def ponged(self, payload: bytes, latency: Optional[float]) -> None:
        app = self.app
        app.latency = latency
        app.last_pong_tm = time.time()
        app._callback(app.on_pong, payload)

    def pinged(self) -> None:
        self.app.last_ping_tm = time.time()

    def report(self, error: Optional[BaseException], errored: bool) -> None:
        app = self.app
        app.has_errored = errored
        if error is not None:
            app._callback(app.on_error, error)

    def lost(self, ws: WebSocket) -> None:
        if self.app.sock is ws:
            self.app.sock = None

    def finished(self, code: Optional[int], reason: Optional[str]) -> None:
        app = self.app
        app.keep_running = False
        app.sock = None
        app.has_done_teardown = True
        app._run = None
        app._callback(app.on_close, code, reason)

    def should_reconnect(self, close_status_code: Optional[int], error: Optional[BaseException]) -> bool:
        return self.app.should_reconnect(close_status_code, error)
