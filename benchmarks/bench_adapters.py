"""How each library under test opens a connection and exposes recv/send/close.

The timed loops call the library's own bound methods (``Conn.recv`` is ``ws.recv``),
so no adapter code runs per message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Libraries that import as ``websocket``: this project (wsline, also ``wsline@REF`` for a
# build of an older commit) and websocket-client.
WEBSOCKET_MODULE_LIBS = ("wsline", "wsclient-wsaccel", "wsclient")


@dataclass(frozen=True)
class Conn:
    """Bound methods of one open connection of the library under test."""

    obj: Any
    recv: Callable[[], Any]
    send_bytes: Callable[[bytes], Any]
    send_text: Callable[[str], Any]
    close: Callable[[], Any]


class Adapter:
    """Opens connections with one library's public, documented API."""

    def __init__(self, lib: str) -> None:
        self.lib = lib
        if lib in WEBSOCKET_MODULE_LIBS or lib.startswith("wsline@"):
            import websocket

            self._create = websocket.create_connection
            self.version = f"{getattr(websocket, '__version__', '?')}"
            self.location = getattr(websocket, "__file__", "?")
        elif lib == "websockets":
            import websockets
            from websockets.sync.client import connect

            self._connect = connect
            self.version = str(getattr(websockets, "__version__", "?"))
            self.location = websockets.__file__ or "?"
        else:
            raise ValueError(f"no adapter for {lib!r}")

    def open(self, url: str, compress: bool = False) -> Any:
        """Open a connection and return the library's own connection object."""
        if self.lib == "websockets":
            # Compression off unless the scenario is about it: websockets enables it by
            # default, the other clients do not.
            # legacy=True: websockets >= 17.1 wants a context manager otherwise and warns
            # on first use; it changes nothing else.
            return self._connect(url, max_size=None, compression="deflate" if compress else None, legacy=True)
        if compress:
            return self._create(url, compression="deflate")
        # 16 MiB messages fit wsline's default max_size; websocket-client has no limit.
        return self._create(url)

    def bind(self, obj: Any) -> Conn:
        """Return the bound methods that the timed loops call."""
        if self.lib == "websockets":
            return Conn(obj, obj.recv, obj.send, obj.send, obj.close)
        send_bytes = getattr(obj, "send_bytes", None) or obj.send_binary
        return Conn(obj, obj.recv, send_bytes, obj.send, obj.close)

    def connect(self, url: str, compress: bool = False) -> Conn:
        """Open a connection and bind it."""
        return self.bind(self.open(url, compress))
