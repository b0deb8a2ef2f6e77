"""JSON request/response over one WebSocket: number each request, match each answer by its id.

    python examples/json_rpc.py                 # against an embedded JSON-RPC 2.0 server
    python examples/json_rpc.py ws://host:port  # against a JSON-RPC 2.0 server of yours, or any JSON echo server

Servers often push messages of their own (notifications) between the answers;
``call`` prints them and keeps waiting for the answer with its id. An echo
server sends the request itself back: the client shows it as an echo.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import websocket


class RpcError(Exception):
    """The server answered with a JSON-RPC error object."""


class RpcClient:
    """Calls over one blocking WebSocket; not for several threads at once (one receiver at a time)."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    def call(self, method: str, *params: Any, timeout: float = 5.0) -> Any:
        request_id = next(self.ids)
        self.ws.send_json({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
        deadline = time.monotonic() + timeout
        while True:
            # receive_json raises WebSocketTimeoutException when the time is up, and
            # WebSocketConnectionClosedException (with status_code) if the server closes instead.
            reply = self.ws.receive_json(timeout=max(0.0, deadline - time.monotonic()))
            if not isinstance(reply, dict) or reply.get("id") != request_id:
                print(f"  (notification: {reply})")
                continue
            if "error" in reply:
                raise RpcError(f"{reply['error'].get('code')}: {reply['error'].get('message')}")
            if "result" not in reply:  # an echo server sent our request back
                return f"echo of {reply}"
            return reply["result"]


def _serve_rpc(conn: Any) -> None:
    """The embedded server: add, upper, divide; a notification before every third answer."""
    methods = {"add": lambda a, b: a + b, "upper": str.upper, "divide": lambda a, b: a / b}
    for count, text in enumerate(conn, 1):
        request = json.loads(text)
        if count % 3 == 0:
            conn.send(json.dumps({"jsonrpc": "2.0", "method": "progress", "params": {"handled": count - 1}}))
        try:
            answer = {"result": methods[request["method"]](*request["params"])}
        except Exception as exc:  # reported to the client, as JSON-RPC does
            answer = {"error": {"code": -32000, "message": str(exc) or type(exc).__name__}}
        conn.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], **answer}))


@contextlib.contextmanager
def target_url() -> Iterator[str]:
    """The URL from the command line, or the embedded server started for this run."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    from _demo_servers import running

    with running(_serve_rpc) as url:
        yield url


def main() -> None:
    with target_url() as url, websocket.create_connection(url, timeout=10) as ws:
        rpc = RpcClient(ws)
        print(f"add(2, 3) = {rpc.call('add', 2, 3)}")
        print(f"upper('hello') = {rpc.call('upper', 'hello')!r}")
        try:
            print(f"divide(1, 0) = {rpc.call('divide', 1, 0)}")
        except RpcError as exc:
            print(f"divide(1, 0) failed: {exc}")
        print(f"add('con', 'cat') = {rpc.call('add', 'con', 'cat')!r}")
    print(f"done, close code {ws.close_code}")


if __name__ == "__main__":
    main()
