"""SelectDispatcher (the default loop) and WrappedDispatcher, on socketpairs and timers."""

from __future__ import annotations

import socket
import threading
import time
import weakref
from typing import Any

import pytest

from websocket import _dispatcher
from websocket._dispatcher import SelectDispatcher, WrappedDispatcher


def run_loop(loop: SelectDispatcher, timeout: float = 5.0) -> float:
    """dispatch() in a thread with a bounded wait; returns how long it ran."""
    started = time.monotonic()
    thread = threading.Thread(target=loop.dispatch, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        loop.abort()
        thread.join(2)
        raise AssertionError("dispatch() did not return")
    return time.monotonic() - started


def test_dispatch_returns_at_once_when_nothing_is_registered():
    assert run_loop(SelectDispatcher()) < 2


def test_timers_fire_in_order_and_once():
    loop = SelectDispatcher()
    fired: list[str] = []
    loop.timeout(0.06, lambda: fired.append("late"))
    loop.timeout(0.02, lambda: fired.append("early"))
    loop.timeout(0, lambda: fired.append("now"))
    run_loop(loop)
    assert fired == ["now", "early", "late"]


def test_a_timer_returning_true_repeats():
    loop = SelectDispatcher()
    count = {"n": 0}

    def tick(tag: str) -> bool:
        count["n"] += 1
        return count["n"] < 3

    loop.timeout(0.01, tick, "args pass through")
    run_loop(loop)
    assert count["n"] == 3


def test_deleted_timer_does_not_fire_and_releases_its_callback():
    loop = SelectDispatcher()
    fired: list[str] = []
    timer = loop.timeout(0.05, lambda: fired.append("deleted"))
    loop.timeout(0.1, lambda: fired.append("kept"))
    timer.delete()
    assert timer.callback is None
    assert not timer.pending()
    run_loop(loop)
    assert fired == ["kept"]


def test_a_timer_deleted_by_an_earlier_one_of_the_same_batch_does_not_fire():
    loop = SelectDispatcher()
    fired: list[str] = []
    holder: dict[str, object] = {}

    def first() -> None:
        fired.append("first")
        holder["second"].delete()  # type: ignore[attr-defined]

    loop.timeout(0.01, first)
    holder["second"] = loop.timeout(0.01, lambda: fired.append("second"))
    time.sleep(0.03)  # both due at the same turn
    run_loop(loop)
    assert fired == ["first"]


def test_read_callback_runs_while_it_returns_true():
    loop = SelectDispatcher()
    a, b = socket.socketpair()
    got: list[bytes] = []

    def on_readable() -> bool:
        data = a.recv(100)
        got.append(data)
        return data != b"stop"

    with a, b:
        loop.read(a, on_readable)
        b.sendall(b"one")
        loop.timeout(0.05, lambda: b.sendall(b"stop"))
        run_loop(loop)
    assert got == [b"one", b"stop"]


def test_read_registration_can_be_deleted():
    loop = SelectDispatcher()
    a, b = socket.socketpair()
    with a, b:
        watch = loop.read(a, lambda: True)
        loop.timeout(0.02, watch.delete)
        assert run_loop(loop) < 2  # nothing left: dispatch ends


def test_call_soon_threadsafe_wakes_a_loop_waiting_for_a_timer():
    loop = SelectDispatcher()
    woke: list[float] = []
    far = loop.timeout(30, lambda: None)

    def from_other_thread() -> None:
        time.sleep(0.1)
        loop.call_soon_threadsafe(lambda: (woke.append(time.monotonic()), far.delete()))

    threading.Thread(target=from_other_thread, daemon=True).start()
    assert run_loop(loop) < 2
    assert woke


def test_abort_from_another_thread_stops_a_timer_wait():
    loop = SelectDispatcher()
    loop.timeout(30, lambda: None)
    threading.Timer(0.1, loop.abort).start()
    assert run_loop(loop) < 2


def test_ssl_like_pending_data_is_served_without_select():
    class Pending:
        """Looks like an SSLSocket holding decrypted bytes that select cannot see."""

        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock
            self.left = 3

        def fileno(self) -> int:
            return self.sock.fileno()

        def pending(self) -> int:
            return self.left

    loop = SelectDispatcher()
    a, b = socket.socketpair()
    with a, b:
        fake = Pending(a)
        calls: list[int] = []

        def on_readable() -> bool:
            fake.left -= 1
            calls.append(fake.left)
            return fake.left > 0

        loop.read(fake, on_readable)
        run_loop(loop)
    assert calls == [2, 1, 0]


def test_closed_socket_is_reported_to_its_callback():
    loop = SelectDispatcher()
    a, b = socket.socketpair()
    seen: list[int] = []

    def on_readable() -> bool:
        seen.append(a.fileno())
        return False

    loop.read(a, on_readable)
    loop.timeout(0.02, a.close)  # closed behind the loop's back
    run_loop(loop)
    b.close()
    assert seen == [-1]


@pytest.fixture(params=["epoll", "selector"])
def poller(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each of the loop's two ways to wait: epoll, and the selectors module where there is none."""
    monkeypatch.setattr(_dispatcher, "_new_poller", _dispatcher._Epoll if request.param == "epoll" else _dispatcher._Selector)
    return str(request.param)


def test_descriptor_number_reused_after_a_close_behind_the_loops_back(poller: str) -> None:
    loop = SelectDispatcher()
    a, b = socket.socketpair()
    old_fd = a.fileno()
    seen: list[Any] = []
    pairs: list[socket.socket] = [b]
    reused: list[bool] = []

    def old_readable() -> bool:
        seen.append(("old", a.fileno()))
        return False

    def new_readable() -> bool:
        seen.append(("new", pairs[1].recv(10)))
        return False

    def replace() -> None:
        a.close()
        c, d = socket.socketpair()
        pairs.extend((c, d))
        reused.append(old_fd in (c.fileno(), d.fileno()))
        loop.read(c, new_readable)
        d.send(b"x")

    loop.read(a, old_readable)
    loop.timeout(0.02, replace)
    run_loop(loop)
    for sock in pairs:
        sock.close()
    assert reused == [True]  # the case under test: the new socket has the dead one's number
    assert sorted(seen) == [("new", b"x"), ("old", -1)]


def test_both_waits_deliver_readiness(poller: str) -> None:
    loop = SelectDispatcher()
    a, b = socket.socketpair()
    got: list[bytes] = []

    def on_readable() -> bool:
        got.append(a.recv(10))
        return len(got) < 2

    loop.read(a, on_readable)
    b.send(b"1")
    loop.timeout(0.05, lambda: b.send(b"2") and None)  # a true result would repeat the timer
    run_loop(loop)
    a.close()
    b.close()
    assert got == [b"1", b"2"]


class _Registration:
    def __init__(self, deleted: list[int]) -> None:
        self.deleted = deleted

    def delete(self) -> None:
        self.deleted.append(1)


class _Recording:
    """A dispatcher that keeps what it is given, as rel does, and offers delete()."""

    def __init__(self) -> None:
        self.given: list[Any] = []
        self.args: list[tuple[Any, ...]] = []
        self.deleted: list[int] = []

    def read(self, sock: Any, callback: Any) -> _Registration:
        self.given.append(callback)
        return _Registration(self.deleted)

    def timeout(self, seconds: float, callback: Any, *args: Any) -> _Registration:
        self.given.append(callback)
        self.args.append(args)
        return _Registration(self.deleted)


def test_handle_cancel_uses_delete_and_lets_go_of_the_callback():
    recording = _Recording()
    loop = WrappedDispatcher(recording)
    handle = loop.watch(object(), lambda: True)
    fire = recording.given[0]
    assert fire() is True  # the dispatcher's calls reach the callback
    assert handle.cancel() is True
    assert handle.cancel() is True  # idempotent
    assert recording.deleted == [1]
    assert fire() is False  # what the dispatcher still holds reaches nothing, and unregisters


def test_handle_lets_go_of_a_callback_that_unregistered_itself():
    recording = _Recording()
    loop = WrappedDispatcher(recording)

    class Target:
        def __call__(self, *args: Any) -> bool:
            return False

    target = Target()
    ref = weakref.ref(target)
    loop.call_later(0, target, "arg")
    del target
    fire = recording.given[0]  # the one timer of the loop's timer queue
    assert ref() is not None
    assert fire(*recording.args[0]) is False  # a one-shot timer
    assert ref() is None  # the dispatcher may keep ``fire``; it no longer keeps the target


def test_handle_without_delete_cannot_cancel():
    class NoDelete:
        def read(self, sock: Any, callback: Any) -> object:
            return object()

    handle = WrappedDispatcher(NoDelete()).watch(object(), lambda: True)
    assert handle.cancel() is False  # it stays until it fires; its callback stays too


def test_wrapped_dispatcher_skips_signals_outside_the_main_thread():
    calls: list[object] = []

    class Custom:
        def signal(self, sig: int, callback: object) -> None:
            calls.append((sig, callback))

        def abort(self) -> None:
            pass

    outcome: dict[str, bool] = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("installed", WrappedDispatcher(Custom()).install_sigint()))
    thread.start()
    thread.join(5)
    assert outcome == {"installed": False}
    assert calls == []


def test_wrapped_dispatcher_routes_sigint_to_abort_in_the_main_thread():
    calls: list[tuple[int, object]] = []

    class Custom:
        def signal(self, sig: int, callback: object) -> None:
            calls.append((sig, callback))

        def abort(self) -> None:
            pass

    custom = Custom()
    assert WrappedDispatcher(custom).install_sigint() is True
    assert calls == [(2, custom.abort)]


def test_wrapped_dispatcher_without_signal_support():
    class Minimal:
        pass

    assert WrappedDispatcher(Minimal()).install_sigint() is False
    assert WrappedDispatcher(Minimal()).wake(lambda: None) is False


@pytest.mark.parametrize("delay", [0, 0.01])
def test_wrapped_call_later_passes_arguments(delay):
    loop = SelectDispatcher()
    wrapped = WrappedDispatcher(loop, owned=True)
    got: list[tuple[int, str]] = []
    wrapped.call_later(delay, lambda n, s: got.append((n, s)), 7, "x")
    wrapped.run()
    assert got == [(7, "x")]
