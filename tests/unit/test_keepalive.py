"""KeepAlive: ping schedule and dead-peer deadline on a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from websocket import WebSocketException
from websocket._loop.keepalive import Due, KeepAlive, check_ping_options


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(interval: float = 10.0, timeout: float | None = 3.0) -> tuple[KeepAlive, FakeClock]:
    clock = FakeClock()
    keepalive = KeepAlive(interval, timeout, clock=clock)
    keepalive.start()
    return keepalive, clock


def make_pinged(interval: float = 10.0, timeout: float | None = 3.0) -> tuple[KeepAlive, FakeClock]:
    """Like ``make``, then one interval later the first ping is sent."""
    keepalive, clock = make(interval, timeout)
    clock.advance(interval)
    keepalive.ping_sent()
    return keepalive, clock


def assert_due_exactly_after(ka: KeepAlive, clock: FakeClock, seconds: float, due: Due) -> None:
    """``next_deadline()`` is ``seconds`` away; nothing is due a millisecond before it, ``due`` is at it."""
    assert ka.next_deadline() == clock.now + seconds
    clock.advance(seconds - 0.001)
    assert ka.due() is Due.NOTHING
    clock.advance(0.001)
    assert ka.due() is due


def test_first_ping_is_due_one_interval_after_start():
    ka, clock = make()
    assert_due_exactly_after(ka, clock, 10, Due.PING)


def test_pings_repeat_every_interval_after_each_ping():
    ka, clock = make(timeout=None)
    for _ in range(3):
        clock.advance(10)
        assert ka.due() is Due.PING
        ka.ping_sent()
        assert ka.due() is Due.NOTHING
        assert ka.next_deadline() == clock.now + 10


def test_silence_after_a_ping_times_out_after_ping_timeout():
    ka, clock = make_pinged()
    assert_due_exactly_after(ka, clock, 3, Due.TIMED_OUT)


def test_pong_clears_the_deadline_and_measures_latency():
    ka, clock = make_pinged()
    clock.advance(0.25)
    ka.pong_received()
    assert ka.latency == pytest.approx(0.25)
    assert ka.next_deadline() == clock.now - 0.25 + 10  # only the next ping is left
    clock.advance(5)
    assert ka.due() is Due.NOTHING


def test_any_data_counts_as_liveness():
    ka, clock = make_pinged()
    clock.advance(2)
    ka.data_received()  # e.g. a message, while the pong is still queued behind it
    clock.advance(5)
    assert ka.due() is Due.NOTHING
    assert ka.latency is None  # liveness is not a round trip


def test_latency_is_measured_even_when_data_came_first():
    ka, clock = make_pinged()
    clock.advance(1)
    ka.data_received()
    clock.advance(1)
    ka.pong_received()
    assert ka.latency == pytest.approx(2)


def test_data_before_the_ping_does_not_count():
    ka, clock = make()
    clock.advance(9)
    ka.data_received()
    clock.advance(1)
    ka.ping_sent()
    clock.advance(3)
    assert ka.due() is Due.TIMED_OUT


def test_the_first_unanswered_ping_sets_the_deadline():
    ka, clock = make_pinged(interval=2.0, timeout=1.5)
    clock.advance(1)
    assert ka.due() is Due.NOTHING
    clock.advance(0.5)
    assert ka.due() is Due.TIMED_OUT


def test_skipped_ping_still_starts_the_deadline():
    ka, clock = make()
    clock.advance(10)
    assert ka.due() is Due.PING
    ka.ping_skipped()  # the server does not read: no ping could be written
    assert ka.next_deadline() == clock.now + 3
    clock.advance(3)
    assert ka.due() is Due.TIMED_OUT


def test_skipped_ping_measures_no_latency():
    ka, clock = make()
    clock.advance(10)
    ka.ping_skipped()
    clock.advance(1)
    ka.pong_received()
    assert ka.latency is None


def test_no_pings_no_deadlines():
    ka, clock = make(interval=0, timeout=None)
    assert not ka.enabled
    assert ka.next_deadline() is None
    clock.advance(1e6)
    assert ka.due() is Due.NOTHING


def test_ping_timeout_without_interval_never_fires():
    """As in websocket-client: ping_timeout alone sends nothing and times nothing out."""
    ka, clock = make(interval=0, timeout=5)
    clock.advance(100)
    assert ka.due() is Due.NOTHING
    assert ka.next_deadline() is None


def test_stop_clears_everything_but_latency():
    ka, clock = make_pinged()
    clock.advance(0.5)
    ka.pong_received()
    ka.stop()
    assert ka.next_deadline() is None
    clock.advance(100)
    assert ka.due() is Due.NOTHING
    assert ka.latency == pytest.approx(0.5)


def test_restart_schedules_from_the_new_start():
    ka, clock = make_pinged()
    ka.stop()
    clock.advance(50)
    ka.start()
    assert ka.due() is Due.NOTHING
    assert ka.next_deadline() == clock.now + 10


@pytest.mark.parametrize(
    ("interval", "timeout", "message"),
    [
        (10, 0, "Ensure ping_timeout > 0"),
        (10, -1, "Ensure ping_timeout > 0"),
        (-1, None, "Ensure ping_interval >= 0"),
        (3, 3, "Ensure ping_interval > ping_timeout"),
        (2, 3, "Ensure ping_interval > ping_timeout"),
    ],
)
def test_invalid_options_are_refused(interval, timeout, message):
    with pytest.raises(WebSocketException, match=message):
        check_ping_options(interval, timeout)
    with pytest.raises(WebSocketException, match=message):
        KeepAlive(interval, timeout)


@pytest.mark.parametrize(("interval", "timeout"), [(0, None), (10, None), (0, 5), (10, 9.99), (None, None)])
def test_valid_options_are_accepted(interval, timeout):
    check_ping_options(interval, timeout)
    KeepAlive(interval, timeout)
