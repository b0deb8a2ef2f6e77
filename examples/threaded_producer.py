"""Several threads send on one connection while another thread receives.

    python examples/threaded_producer.py                 # against an embedded echo server
    python examples/threaded_producer.py ws://host:port  # against an echo server of yours

Sending is thread-safe: each ``send`` writes its whole frame under the
connection's lock, so frames from different threads never interleave.
Receiving is one thread's job: a second thread calling ``recv`` at the same
time gets ``WebSocketConcurrencyError`` at once instead of stealing messages.
Here two producers send numbered JSON messages, one receiver thread checks
that every echo comes back whole and, per producer, in order, and the main
thread closes the connection, which ends the receiver's loop.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

import websocket

PRODUCERS = ("alpha", "beta")
MESSAGES_EACH = 500


def produce(ws: websocket.WebSocket, name: str) -> None:
    for seq in range(MESSAGES_EACH):
        ws.send_json({"producer": name, "seq": seq, "padding": "x" * (seq % 200)})


def receive(ws: websocket.WebSocket, expected: int, counts: dict[str, int], done: threading.Event) -> None:
    """The only receiving thread; ``messages()`` ends when the main thread closes the connection."""
    for msg in ws.messages():
        item = msg.json()
        assert item["seq"] == counts[item["producer"]], f"out of order: {item}"
        counts[item["producer"]] += 1
        if sum(counts.values()) == expected:
            done.set()


@contextlib.contextmanager
def target_url() -> Iterator[str]:
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    from _demo_servers import running

    with running() as url:
        yield url


def main() -> None:
    with target_url() as url:
        ws = websocket.create_connection(url, timeout=10)
        counts = dict.fromkeys(PRODUCERS, 0)
        expected = len(PRODUCERS) * MESSAGES_EACH
        all_back = threading.Event()
        started = time.monotonic()
        receiver = threading.Thread(target=receive, args=(ws, expected, counts, all_back), name="receiver")
        receiver.start()
        producers = [threading.Thread(target=produce, args=(ws, name), name=name) for name in PRODUCERS]
        for thread in producers:
            thread.start()
        for thread in producers:
            thread.join()
        complete = all_back.wait(30)
        ws.close()  # from the main thread: the receiver sees the close and its loop ends
        receiver.join(10)
        elapsed = time.monotonic() - started
        if not complete:
            raise SystemExit(f"only {counts} of {expected} messages came back")
        print(f"{expected} messages from {len(PRODUCERS)} threads echoed back whole and in order in {elapsed:.2f}s: {counts}")
        print(f"closed cleanly: close code {ws.close_code}, receiver finished: {not receiver.is_alive()}")


if __name__ == "__main__":
    main()
