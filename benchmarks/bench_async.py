"""The aiohttp and picows columns: every scenario written natively for the library.

Each run is one asyncio event loop (the default loop, no uvloop) in a fresh process,
and uses the library the way its documentation shows: aiohttp's
``ClientSession.ws_connect`` with ``await ws.receive_*()`` / ``await ws.send_*()``;
picows' ``ws_connect`` with a ``WSListener`` whose ``on_ws_frame`` callback does the
work per frame, ``transport.send`` for sending with its flow control
(``pause_writing``/``resume_writing``) respected, and fragments reassembled by the
listener (picows delivers frames, not messages). The correctness checks are the
same as for the other clients (bench_common).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bench_common import (
    FULL_CHECK_MAX,
    CheckError,
    Clock,
    Outcome,
    check_samples,
    check_summary,
    expected_messages,
    measure_idle,
)
from bench_proto import OP_TEXT
from bench_scenarios import Scenario

MAX_SIZE = 64 << 20  # the 16 MiB messages must fit; aiohttp's default is 4 MiB, picows' 10 MiB


class Checker:
    """Checks received messages one by one, as the synchronous clients' loops do."""

    def __init__(self, scen: Scenario, count: int, deadline: float) -> None:
        self.expected = expected_messages(scen)
        self.mask = len(self.expected) - 1
        self.small = scen.size <= FULL_CHECK_MAX
        self.marks = [(len(e), e[:8], e[-8:]) for e in self.expected]
        self.count = count
        self.deadline = deadline
        self.received = 0
        self.samples: dict[int, Any] = {}
        self.last: Any = None

    def take(self, message: Any) -> bool:
        """Check one message; return True when the run is over (count reached or time up)."""
        i = self.received
        if self.small:
            if message != self.expected[i & self.mask]:
                raise CheckError(f"message {i} differs: {str(message)[:60]!r}")
            timed = not i & 1023
        else:
            size, head, tail = self.marks[i & self.mask]
            if len(message) != size or message[:8] != head or message[-8:] != tail:
                raise CheckError(f"message {i}: length {len(message)} or ends differ")
            if i < 2:
                self.samples[i] = message
            timed = True
        self.received = i + 1
        self.last = message
        return self.received == self.count or (timed and time.perf_counter() > self.deadline)

    def finish(self) -> None:
        """Compare the kept samples in full, after the clock stopped."""
        self.samples[self.received - 1] = self.last
        check_samples(self.samples, self.expected, self.mask)


# --- aiohttp -----------------------------------------------------------------------------


class Aiohttp:
    """aiohttp's client: one ClientSession, ``ws_connect`` per connection."""

    def __init__(self) -> None:
        import aiohttp

        self.aiohttp = aiohttp
        self.version = aiohttp.__version__
        self.location = aiohttp.__file__ or "?"
        self.session: Any = None

    async def connect(self, url: str, compress: bool = False) -> Any:
        if self.session is None:
            # limit=0: the default connector holds at most 100 connections (idle row opens more).
            self.session = self.aiohttp.ClientSession(connector=self.aiohttp.TCPConnector(limit=0))
        # compress=15 offers permessage-deflate; 0 (its default) does not.
        return await self.session.ws_connect(url, max_msg_size=0, compress=15 if compress else 0)

    async def recv(self, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
        ws = await self.connect(url, scen.compress)
        receive = ws.receive_str if scen.opcode == OP_TEXT else ws.receive_bytes
        clock = Clock()
        checker = Checker(scen, count, clock.t0 + budget)
        await ws.send_str("go")
        take = checker.take
        while not take(await receive()):
            pass
        outcome = clock.outcome(checker.received, checker.received < count)
        checker.finish()
        if not outcome.capped:
            await ws.close()
        return outcome

    async def send(self, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
        expected = expected_messages(scen)
        mask = len(expected) - 1
        ws = await self.connect(url, scen.compress)
        send = ws.send_str if scen.opcode == OP_TEXT else ws.send_bytes
        every = 1023 if scen.size <= FULL_CHECK_MAX else 0
        sent = count
        clock = Clock()
        deadline = clock.t0 + budget
        for i in range(count):
            await send(expected[i & mask])
            if not i & every and time.perf_counter() > deadline:
                sent = i + 1
                break
        await ws.send_str(f"end:{sent}")
        summary = await ws.receive_str()
        outcome = clock.outcome(sent, sent < count)
        check_summary(summary, scen, sent)
        await ws.close()
        return outcome

    async def echo(self, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
        expected = expected_messages(scen)
        mask = len(expected) - 1
        ws = await self.connect(url)
        done = count
        clock = Clock()
        deadline = clock.t0 + budget
        for i in range(count):
            message = expected[i & mask]
            await ws.send_bytes(message)
            if await ws.receive_bytes() != message:
                raise CheckError(f"echo {i} differs")
            if not i & 255 and time.perf_counter() > deadline:
                done = i + 1
                break
        outcome = clock.outcome(done, done < count)
        await ws.close()
        return outcome

    async def connect_close(self, url: str) -> None:
        ws = await self.connect(url)
        await ws.close()

    async def open_idle(self, url: str) -> Any:
        return await self.connect(url)


# --- picows ------------------------------------------------------------------------------


class PicowsListener:
    """Factory of picows listeners; the class is built once picows is imported."""

    @staticmethod
    def make(picows: Any) -> type:
        msg_type = picows.WSMsgType

        class Listener(picows.WSListener):  # type: ignore[misc,name-defined]
            """Delivers whole messages to ``on_message``; tracks write flow control."""

            def __init__(self) -> None:
                super().__init__()
                self.transport: Any = None
                self.on_message: Callable[[Any], None] = self.unexpected
                self.text = False
                self.partial: bytearray | None = None
                self.writable = asyncio.Event()
                self.writable.set()

            def on_ws_connected(self, transport: Any) -> None:
                self.transport = transport

            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                kind = frame.msg_type
                if kind == msg_type.CLOSE:
                    transport.disconnect()
                    return
                if kind == msg_type.PING:
                    return  # answered by picows (enable_auto_pong)
                if frame.fin and self.partial is None:
                    if kind == msg_type.TEXT:
                        self.on_message(frame.get_payload_as_utf8_text())
                    else:
                        self.on_message(frame.get_payload_as_bytes())
                    return
                if self.partial is None:  # first fragment
                    self.text = kind == msg_type.TEXT
                    self.partial = bytearray()
                self.partial += frame.get_payload_as_memoryview()
                if frame.fin:
                    data, self.partial = bytes(self.partial), None
                    self.on_message(data.decode() if self.text else data)

            def pause_writing(self) -> None:
                self.writable.clear()

            def resume_writing(self) -> None:
                self.writable.set()

            def unexpected(self, message: Any) -> None:
                raise CheckError(f"unexpected message {str(message)[:60]!r}")

        return Listener


class Picows:
    """picows' client: ``ws_connect`` with a listener, ``transport.send``."""

    def __init__(self) -> None:
        import picows

        self.picows = picows
        self.version = getattr(picows, "__version__", "?")
        self.location = picows.__file__ or "?"
        self.listener = PicowsListener.make(picows)

    async def connect(self, url: str) -> tuple[Any, Any]:
        return await self.picows.ws_connect(self.listener, url, max_frame_size=MAX_SIZE)

    async def close(self, transport: Any) -> None:
        transport.send_close(self.picows.WSCloseCode.OK)
        await transport.wait_disconnected()

    async def recv(self, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
        transport, listener = await self.connect(url)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        clock = Clock()
        checker = Checker(scen, count, clock.t0 + budget)

        def on_message(message: Any) -> None:
            if done.done():
                return  # a capped run: the server is still streaming
            try:
                if checker.take(message):
                    done.set_result(None)
            except CheckError as exc:
                done.set_exception(exc)

        listener.on_message = on_message
        transport.send(self.picows.WSMsgType.TEXT, b"go")
        await done
        outcome = clock.outcome(checker.received, checker.received < count)
        checker.finish()
        if not outcome.capped:
            await self.close(transport)
        return outcome

    async def send(self, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
        expected = expected_messages(scen)
        mask = len(expected) - 1
        transport, listener = await self.connect(url)
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        listener.on_message = reply.set_result
        kind = self.picows.WSMsgType.TEXT if scen.opcode == OP_TEXT else self.picows.WSMsgType.BINARY
        if kind == self.picows.WSMsgType.TEXT:
            expected = [e.encode() for e in expected]
        send = transport.send
        writable = listener.writable
        every = 1023 if scen.size <= FULL_CHECK_MAX else 0
        sent = count
        clock = Clock()
        deadline = clock.t0 + budget
        for i in range(count):
            if not writable.is_set():
                await writable.wait()
            send(kind, expected[i & mask])
            if not i & every and time.perf_counter() > deadline:
                sent = i + 1
                break
        send(self.picows.WSMsgType.TEXT, f"end:{sent}".encode())
        summary = await reply
        outcome = clock.outcome(sent, sent < count)
        check_summary(summary, scen, sent)
        await self.close(transport)
        return outcome

    async def echo(self, scen: Scenario, url: str, count: int, budget: float) -> Outcome:
        expected = expected_messages(scen)
        mask = len(expected) - 1
        transport, listener = await self.connect(url)
        loop = asyncio.get_running_loop()
        binary = self.picows.WSMsgType.BINARY
        send = transport.send
        done = count
        clock = Clock()
        deadline = clock.t0 + budget
        for i in range(count):
            message = expected[i & mask]
            reply: asyncio.Future[Any] = loop.create_future()
            listener.on_message = reply.set_result
            send(binary, message)
            if await reply != message:
                raise CheckError(f"echo {i} differs")
            if not i & 255 and time.perf_counter() > deadline:
                done = i + 1
                break
        outcome = clock.outcome(done, done < count)
        await self.close(transport)
        return outcome

    async def connect_close(self, url: str) -> None:
        transport, _ = await self.connect(url)
        await self.close(transport)

    async def open_idle(self, url: str) -> Any:
        return await self.connect(url)


# --- the scenarios -----------------------------------------------------------------------


async def connect_loop(lib: Any, url: str, count: int, budget: float) -> Outcome:
    """Open, handshake and cleanly close ``count`` connections one after the other."""
    await lib.connect_close(url)  # warm-up
    done = count
    clock = Clock()
    deadline = clock.t0 + budget
    for i in range(count):
        await lib.connect_close(url)
        if not i & 15 and time.perf_counter() > deadline:
            done = i + 1
            break
    return clock.outcome(done, done < count)


def run(name: str, scen: Scenario, url: str, count: int, budget: float) -> tuple[str, str, Outcome]:
    """Run one scenario with aiohttp or picows; return version, location and outcome."""
    lib: Any = Aiohttp() if name == "aiohttp" else Picows()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if scen.kind == "idle":
        loop.run_until_complete(lib.open_idle(url))  # warm-up, left open

        async def open_many() -> list[Any]:
            return [await lib.open_idle(url) for _ in range(count)]

        outcome = measure_idle(lambda: loop.run_until_complete(open_many()), count)
    elif scen.kind == "connect":
        outcome = loop.run_until_complete(connect_loop(lib, url, count, budget))
    else:
        outcome = loop.run_until_complete(getattr(lib, scen.kind)(scen, url, count, budget))
    # The loop is left as it is: client.py ends the process with os._exit.
    return str(lib.version), str(lib.location), outcome
