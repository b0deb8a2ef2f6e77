"""Scenario definitions shared by the harness, the peer server and the clients."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench_proto import OP_BINARY, OP_TEXT, build_frame, deflate_message, payload, variants

MIB = 1 << 20


@dataclass(frozen=True)
class Metric:
    """One reported number of a scenario (one table row)."""

    key: str
    label: str
    unit: str
    higher_is_better: bool = True
    only_lib: str | None = None  # set for rows that only one column can fill


@dataclass(frozen=True)
class Scenario:
    """A benchmark scenario.

    ``kind`` selects what the server and the client do:

    * ``recv``: the server streams ``count`` pre-built frames to the client;
    * ``send``: the client sends ``count`` messages, the server counts and checks them;
    * ``echo``: sequential round trips, the server echoes every data frame;
    * ``connect``: open, handshake, close, repeated;
    * ``idle``: open ``count`` connections and measure the memory they hold.
    """

    id: str
    title: str
    kind: str
    family: str = "binary"
    size: int = 32
    opcode: int = OP_BINARY
    count: int = 0  # messages (or connections) per full run
    quick_count: int = 0
    compress: bool = False
    metrics: tuple[Metric, ...] = field(default_factory=tuple)

    def run_count(self, quick: bool) -> int:
        """Return the number of messages or connections for one run."""
        return self.quick_count if quick else self.count

    def server_frames(self) -> list[bytes]:
        """Return the frame variants exactly as the peer server sends them (one per payload variant)."""
        frames = []
        for v in range(variants(self.family, self.size)):
            body = payload(self.family, self.size, v)
            if self.compress:
                frames.append(build_frame(self.opcode, deflate_message(body), rsv1=True))
            else:
                frames.append(build_frame(self.opcode, body))
        return frames


def _rate(unit: str) -> tuple[Metric, ...]:
    return (Metric("value", "", unit),)


RECV, SEND, ECHO, CONNECT, IDLE = "recv", "send", "echo", "connect", "idle"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "recv_text_32", "receive 32 B text", RECV, "ascii", 32, OP_TEXT,
        count=300_000, quick_count=60_000, metrics=_rate("msgs/s"),
    ),
    Scenario(
        "recv_bin_32", "receive 32 B binary", RECV, "binary", 32, OP_BINARY,
        count=300_000, quick_count=60_000, metrics=_rate("msgs/s"),
    ),
    Scenario(
        "recv_bin_1m", "receive 1 MiB binary", RECV, "binary", MIB, OP_BINARY,
        count=1_500, quick_count=300, metrics=_rate("MB/s"),
    ),
    Scenario(
        "recv_bin_16m", "receive 16 MiB binary", RECV, "binary", 16 * MIB, OP_BINARY,
        count=100, quick_count=20, metrics=_rate("MB/s"),
    ),
    Scenario(
        "recv_utf8_1m", "receive 1 MiB UTF-8 text", RECV, "utf8", MIB, OP_TEXT,
        count=300, quick_count=60, metrics=(
            Metric("value", "", "MB/s"),
            Metric("decode", "↳ bytes.decode('utf-8') only", "MB/s", only_lib="raw"),
        ),
    ),
    Scenario(
        "send_bin_32", "send 32 B binary", SEND, "binary", 32, OP_BINARY,
        count=150_000, quick_count=30_000, metrics=_rate("msgs/s"),
    ),
    Scenario(
        "send_bin_1m", "send 1 MiB binary (masking)", SEND, "binary", MIB, OP_BINARY,
        count=2_000, quick_count=400, metrics=_rate("MB/s"),
    ),
    Scenario(
        "echo_32", "echo round trip, 32 B", ECHO, "binary", 32, OP_BINARY,
        count=40_000, quick_count=8_000, metrics=_rate("per s"),
    ),
    Scenario(
        "connect", "connect + handshake + close", CONNECT,
        count=2_000, quick_count=400, metrics=_rate("per s"),
    ),
    Scenario(
        "idle_memory", "memory per idle connection", IDLE,
        count=500, quick_count=200, metrics=(
            Metric("value", "(tracemalloc)", "KiB", higher_is_better=False),
            Metric("rss", "↳ RSS delta", "KiB", higher_is_better=False),
        ),
    ),
    Scenario(
        "recv_deflate", "receive ~1 KiB JSON text, deflate", RECV, "json", 1024, OP_TEXT,
        count=50_000, quick_count=10_000, compress=True, metrics=_rate("msgs/s"),
    ),
    Scenario(
        "send_deflate", "send ~1 KiB JSON text, deflate", SEND, "json", 1024, OP_TEXT,
        count=30_000, quick_count=6_000, compress=True, metrics=_rate("msgs/s"),
    ),
)  # fmt: skip

BY_ID: dict[str, Scenario] = {s.id: s for s in SCENARIOS}
