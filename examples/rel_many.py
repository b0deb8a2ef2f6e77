"""Several WebSocketApps on one rel event loop, in one thread.

    python examples/rel_many.py                 # against an embedded local echo server
    python examples/rel_many.py ws://host:port  # against an echo server of yours

Each app sends a few messages, waits for each echo, then closes.
``run_forever(dispatcher=rel, reconnect=5)`` only registers the connection
with rel and returns; ``rel.dispatch()`` then drives every app. A watchdog
timer stops the loop once all apps are done (or after 30 s at most), and
Ctrl-C stops it too.
"""

from __future__ import annotations

import time

import rel
from _demo_servers import target_url

import websocket

APPS = 4
MESSAGES = 5
DEADLINE_SECONDS = 30


def make_app(url: str, name: str, finished: set[str]) -> websocket.WebSocketApp:
    def on_open(ws: websocket.WebSocketApp) -> None:
        print(f"{name}: open")
        ws.send(f"{name} says 1")

    def on_message(ws: websocket.WebSocketApp, message: str) -> None:
        print(f"{name}: got {message!r}")
        count = int(message.rsplit(" ", 1)[1])
        if count < MESSAGES:
            ws.send(f"{name} says {count + 1}")
        else:
            ws.close()

    def on_error(ws: websocket.WebSocketApp, error: Exception) -> None:
        print(f"{name}: error {error!r}")

    def on_close(ws: websocket.WebSocketApp, code: int | None, reason: str | None) -> None:
        print(f"{name}: closed ({code}, {reason!r})")
        finished.add(name)

    return websocket.WebSocketApp(url, on_open=on_open, on_message=on_message, on_error=on_error, on_close=on_close)


def main() -> None:
    with target_url() as url:
        finished: set[str] = set()
        names = [f"app{i}" for i in range(1, APPS + 1)]
        for name in names:
            make_app(url, name, finished).run_forever(dispatcher=rel, reconnect=5)
        started = time.monotonic()

        def watchdog() -> bool:
            if len(finished) == len(names) or time.monotonic() - started > DEADLINE_SECONDS:
                rel.abort()
                return False
            return True  # check again

        rel.timeout(0.05, watchdog)
        rel.signal(2, rel.abort)  # Ctrl-C
        rel.dispatch()
        print(f"{len(finished)} of {len(names)} apps finished in {time.monotonic() - started:.2f}s")


if __name__ == "__main__":
    main()
