"""wsline: a fast, strict, synchronous WebSocket client, drop-in for websocket-client.

    import websocket
    ws = websocket.create_connection("ws://127.0.0.1:8765/")
    ws.send("hello")
    print(ws.recv())
    ws.close()
"""

from . import _abnf as _abnf_module
from ._abnf import *  # noqa: F403
from ._abnf import __all__ as _abnf_all
from ._app import WebSocketApp, set_reconnect
from ._core import *  # noqa: F403
from ._core import __all__ as _core_all
from ._dispatcher import Dispatcher
from ._exceptions import *  # noqa: F403
from ._exceptions import __all__ as _exceptions_all
from ._framebuffer import continuous_frame, frame_buffer
from ._logging import *  # noqa: F403
from ._logging import __all__ as _logging_all
from ._loop.reconnect import Backoff, should_reconnect
from ._sansio.frames import CloseCode, Opcode
from ._socket import *  # noqa: F403
from ._socket import __all__ as _socket_all
from ._version import __version__ as __version__
from ._wsmessage import WSMessage, WSMsgType

# websocket-client defines its frame reader and fragment joiner in _abnf, and code imports them
# from there; they live in _framebuffer (which needs ABNF), so they are attached here.
setattr(_abnf_module, "frame_buffer", frame_buffer)  # noqa: B010
setattr(_abnf_module, "continuous_frame", continuous_frame)  # noqa: B010

__all__ = [
    *_abnf_all,
    *_core_all,
    *_exceptions_all,
    *_logging_all,
    *_socket_all,
    "CloseCode",
    "Opcode",
    "frame_buffer",
    "continuous_frame",
    "WebSocketApp",
    "set_reconnect",
    "Backoff",
    "Dispatcher",
    "should_reconnect",
    "WSMessage",
    "WSMsgType",
]
