"""Scenario definitions shared by the harness, the peer server and the clients."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench_proto import OP_BINARY, OP_CONT, OP_TEXT, build_frame, deflate_message, frame_header, payload, variants

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
    # Client and server share one CPU: for latency rows, so that they measure the
    # client's work per round trip, not cross-CPU wake-ups of a virtual machine.
    pinned: bool = False
    # Wait for readability of the library's socket before every receive call
    # (select/poll on ``ws.sock``, as kubernetes' stream client does).
    watch: bool = False
    # Fragment payload size: the server sends each message in fragments this big.
    fragment: int = 0
    # Seconds a run may take at least, whatever --budget says: one message of 10^6
    # fragments takes a second or more, and a run must see one to give a rate.
    min_budget: float = 0.0

    def run_count(self, quick: bool) -> int:
        """Return the number of messages or connections for one run."""
        return self.quick_count if quick else self.count

    def frames_per_message(self) -> int:
        """Return how many frames carry one message."""
        return -(-self.size // self.fragment) if self.fragment else 1

    def server_frames(self) -> list[bytes]:
        """Return the frame variants exactly as the peer server sends them (one per payload variant).

        A fragmented message is returned as the concatenation of its frames.
        """
        frames = []
        for v in range(variants(self.family, self.size)):
            body = payload(self.family, self.size, v)
            if self.fragment:
                frames.append(fragmented(self.opcode, body, self.fragment))
            elif self.compress:
                frames.append(build_frame(self.opcode, deflate_message(body), rsv1=True))
            else:
                frames.append(build_frame(self.opcode, body))
        return frames


def fragmented(opcode: int, body: bytes, size: int) -> bytes:
    """Return ``body`` as one message in fragments of ``size`` bytes (all frames joined)."""
    if size == 1 and len(body) > 1:
        # 1-byte fragments: header (b0, 1) + byte, built by slice assignment, not 10^6 calls.
        n = len(body)
        out = bytearray(3 * n)
        out[0::3] = bytes([OP_CONT]) * n
        out[1::3] = b"\x01" * n
        out[2::3] = body
        out[0] = opcode
        out[3 * (n - 1)] = 0x80 | OP_CONT
        return bytes(out)
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    last = len(pieces) - 1
    return b"".join(frame_header(opcode if i == 0 else OP_CONT, len(p), fin=i == last) + p for i, p in enumerate(pieces))


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
        "recv_bin_32_poll", "receive 32 B binary, poll(ws.sock) first", RECV, "binary", 32, OP_BINARY,
        count=300_000, quick_count=60_000, watch=True, metrics=_rate("msgs/s"),
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
        "recv_frag_64k", "receive 64 KiB in 1-byte fragments", RECV, "binary", 64 << 10, OP_BINARY,
        count=32, quick_count=8, fragment=1, min_budget=4.0,
        metrics=(Metric("value", "", "µs/frame", higher_is_better=False),),
    ),
    Scenario(
        "recv_frag_1m", "receive 1 MiB in 1-byte fragments", RECV, "binary", MIB, OP_BINARY,
        count=4, quick_count=1, fragment=1, min_budget=4.0,
        metrics=(Metric("value", "", "µs/frame", higher_is_better=False),),
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
        count=40_000, quick_count=8_000, pinned=True, metrics=_rate("per s"),
    ),
    Scenario(
        "connect", "connect + handshake + close", CONNECT,
        count=2_000, quick_count=400, pinned=True, metrics=_rate("per s"),
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
