"""The public surface websocket-client users import, by name and by module path."""

from __future__ import annotations

import importlib
import inspect

import pytest

import websocket

PUBLIC_NAMES = [
    "WebSocket", "create_connection", "WebSocketApp", "set_reconnect", "ABNF",
    "frame_buffer", "continuous_frame", "WebSocketException",
    "WebSocketProtocolException", "WebSocketPayloadException",
    "WebSocketConnectionClosedException", "WebSocketTimeoutException",
    "WebSocketProxyException", "WebSocketBadStatusException",
    "WebSocketAddressException", "enableTrace", "dump", "error", "warning",
    "debug", "trace", "isEnabledForError", "isEnabledForDebug",
    "isEnabledForTrace", "setdefaulttimeout", "getdefaulttimeout",
    "DEFAULT_SOCKET_OPTION", "sock_opt", "recv", "recv_line", "send",
]  # fmt: skip

STATUS_CODES = {
    "STATUS_NORMAL": 1000,
    "STATUS_GOING_AWAY": 1001,
    "STATUS_PROTOCOL_ERROR": 1002,
    "STATUS_UNSUPPORTED_DATA_TYPE": 1003,
    "STATUS_STATUS_NOT_AVAILABLE": 1005,
    "STATUS_ABNORMAL_CLOSED": 1006,
    "STATUS_INVALID_PAYLOAD": 1007,
    "STATUS_POLICY_VIOLATION": 1008,
    "STATUS_MESSAGE_TOO_BIG": 1009,
    "STATUS_INVALID_EXTENSION": 1010,
    "STATUS_UNEXPECTED_CONDITION": 1011,
    "STATUS_SERVICE_RESTART": 1012,
    "STATUS_TRY_AGAIN_LATER": 1013,
    "STATUS_BAD_GATEWAY": 1014,
    "STATUS_TLS_HANDSHAKE_ERROR": 1015,
}

EXCEPTIONS = [
    "WebSocketProtocolException",
    "WebSocketPayloadException",
    "WebSocketConnectionClosedException",
    "WebSocketTimeoutException",
    "WebSocketProxyException",
    "WebSocketBadStatusException",
    "WebSocketAddressException",
]

# Private paths seen in user code and in the docs' API reference.
PRIVATE_NAMES = [
    ("websocket._exceptions", "WebSocketConnectionClosedException"),
    ("websocket._exceptions", "WebSocketException"),
    ("websocket._exceptions", "WebSocketTimeoutException"),
    ("websocket._abnf", "ABNF"),
    ("websocket._abnf", "STATUS_NORMAL"),
    ("websocket._app", "WebSocketApp"),
    ("websocket._core", "WebSocket"),
    ("websocket._core", "create_connection"),
    ("websocket._logging", "enableTrace"),
    ("websocket._socket", "setdefaulttimeout"),
    ("websocket._socket", "getdefaulttimeout"),
    ("websocket._url", "parse_url"),
    ("websocket._url", "get_proxy_info"),
    ("websocket._http", "proxy_info"),
    ("websocket._utils", "validate_utf8"),
    ("websocket._handshake", "handshake_response"),
]

PRIVATE_MODULES = [
    "_abnf", "_app", "_cookiejar", "_core", "_dispatcher", "_exceptions",
    "_handshake", "_http", "_logging", "_socket", "_ssl_compat", "_url",
    "_utils", "_wsdump",
]  # fmt: skip


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_exists(name) -> None:
    assert hasattr(websocket, name)


@pytest.mark.parametrize(("name", "value"), STATUS_CODES.items())
def test_status_constants(name, value) -> None:
    assert getattr(websocket, name) == value


def test_version_is_a_string() -> None:
    assert isinstance(websocket.__version__, str)


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exception_tree(name) -> None:
    exc_type = getattr(websocket, name)
    assert issubclass(exc_type, websocket.WebSocketException)
    assert issubclass(websocket.WebSocketException, Exception)


def test_bad_status_exception_constructor_and_attributes() -> None:
    exc = websocket.WebSocketBadStatusException("denied", 403, "Forbidden", {"x": "y"}, b"body")
    assert (exc.status_code, exc.status_message, exc.resp_headers, exc.resp_body) == (
        403,
        "Forbidden",
        {"x": "y"},
        b"body",
    )
    assert "denied" in str(exc)
    minimal = websocket.WebSocketBadStatusException("m", 500)
    assert minimal.status_code == 500
    assert minimal.resp_body is None


@pytest.mark.parametrize(("module", "name"), PRIVATE_NAMES)
def test_private_module_paths(module, name) -> None:
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module", PRIVATE_MODULES)
def test_private_modules_import(module) -> None:
    importlib.import_module(f"websocket.{module}")


def test_private_import_statements() -> None:
    from websocket._abnf import ABNF
    from websocket._app import WebSocketApp
    from websocket._core import WebSocket, create_connection
    from websocket._exceptions import WebSocketConnectionClosedException

    assert ABNF is websocket.ABNF
    assert WebSocketApp is websocket.WebSocketApp
    assert WebSocket is websocket.WebSocket
    assert create_connection is websocket.create_connection
    assert WebSocketConnectionClosedException is websocket.WebSocketConnectionClosedException


def test_abnf_opcodes_and_create_frame() -> None:
    abnf = websocket.ABNF
    opcodes = (abnf.OPCODE_CONT, abnf.OPCODE_TEXT, abnf.OPCODE_BINARY, abnf.OPCODE_CLOSE, abnf.OPCODE_PING)
    assert opcodes == (0x0, 0x1, 0x2, 0x8, 0x9)
    assert abnf.OPCODE_PONG == 0xA
    assert abnf.OPCODE_MAP[abnf.OPCODE_TEXT] == "text"
    frame = abnf.create_frame("hé", abnf.OPCODE_TEXT)
    assert (frame.fin, frame.opcode, frame.data) == (1, abnf.OPCODE_TEXT, "hé".encode())
    wire = frame.format()
    assert wire[0] == 0x81
    assert wire[1] == 0x80 | 3  # masked, 3 bytes


def test_create_connection_signature() -> None:
    params = inspect.signature(websocket.create_connection).parameters
    assert list(params)[:3] == ["url", "timeout", "class_"]
    assert params["timeout"].default is None
    assert params["class_"].default is websocket.WebSocket


def test_websocket_constructor_accepts_and_ignores_unknown_options() -> None:
    ws = websocket.WebSocket(
        get_mask_key=None,
        sockopt=None,
        sslopt=None,
        fire_cont_frame=False,
        enable_multithread=True,
        skip_utf8_validation=False,
        dispatcher=None,
        some_future_option=True,
    )
    assert ws.connected is False


@pytest.mark.parametrize(
    "method",
    [
        "connect", "send", "send_text", "send_bytes", "send_binary", "send_frame",
        "recv", "recv_data", "recv_data_frame", "recv_frame", "ping", "pong",
        "send_close", "close", "abort", "shutdown", "settimeout", "gettimeout",
        "getsubprotocol", "getstatus", "getheaders", "is_ssl", "fileno",
        "set_mask_key", "__iter__", "__next__", "next",
    ],
)  # fmt: skip
def test_websocket_methods_exist(method) -> None:
    assert callable(getattr(websocket.WebSocket, method))


@pytest.mark.parametrize("prop", ["timeout", "subprotocol", "status", "headers"])
def test_websocket_properties_exist(prop) -> None:
    assert isinstance(inspect.getattr_static(websocket.WebSocket, prop), property)
