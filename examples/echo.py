"""Echo: connect, send a few messages, print the answers, close.

    python examples/echo.py                 # against an embedded local echo server
    python examples/echo.py ws://host:port  # against a server of yours
"""

from __future__ import annotations

from _demo_servers import target_url

import websocket


def main() -> None:
    with target_url() as url:
        print(f"connecting to {url}")
        with websocket.create_connection(url, timeout=10) as ws:
            for text in ("Hello, World", "héllo wörld ✓"):
                ws.send(text)
                print(f"sent {text!r}, received {ws.recv()!r}")
            ws.send_bytes(b"\x00\x01\x02")
            print(f"sent binary, received {ws.recv()!r}")
            ws.ping("are you there?")
            print(f"ping answered: {ws.recv_data(control_frame=True)}")
        print(f"closed cleanly, server's close code {ws.close_code}")


if __name__ == "__main__":
    main()
