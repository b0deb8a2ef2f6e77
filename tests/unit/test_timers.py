"""TimerQueue: all of the library's timers on a dispatcher behind one timer of it (fake dispatcher, fake clock)."""

from __future__ import annotations

from typing import Any

from websocket._dispatcher import SelectDispatcher, WrappedDispatcher
from websocket._timers import GRID, TimerQueue, queue_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeLoop:
    """Keeps its timers (delay, callback, args) and deletes on request, like rel."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.timers: list[list[Any]] = []  # [due, callback, args, alive]

    def timeout(self, delay: float, callback: Any, *args: Any) -> Any:
        timer = [self.clock.now + delay, callback, args, True]
        self.timers.append(timer)
        loop = self

        class Registration:
            def delete(self) -> None:
                timer[3] = False
                loop.timers.remove(timer)

        return Registration()

    def run_until(self, when: float) -> None:
        """Advance the clock, firing due timers in order."""
        while True:
            due = sorted((t for t in self.timers if t[0] <= when), key=lambda t: t[0])
            if not due:
                break
            timer = due[0]
            self.timers.remove(timer)
            self.clock.now = max(self.clock.now, timer[0])
            timer[1](*timer[2])
        self.clock.now = when


def make() -> tuple[Clock, FakeLoop, TimerQueue]:
    clock = Clock()
    loop = FakeLoop(clock)
    return clock, loop, TimerQueue(loop, clock)


def test_a_thousand_timers_cost_the_dispatcher_one_timer():
    clock, loop, queue = make()
    fired: list[int] = []
    for i in range(1000):
        queue.add(30 + i * 0.01, fired.append, i)
    assert len(loop.timers) == 1
    loop.run_until(clock.now + 41)
    assert fired == list(range(1000))  # in deadline order, each once
    assert loop.timers == [] and len(queue) == 0


def test_nothing_fires_early_and_near_deadlines_share_a_wake_up():
    clock, loop, queue = make()
    seen: list[float] = []
    queue.add(1.0 + GRID / 5, lambda: seen.append(clock.now))
    queue.add(1.0 + GRID / 2, lambda: seen.append(clock.now))  # in the same GRID cell
    loop.run_until(clock.now + 2)
    assert len(seen) == 2 and seen[0] == seen[1] >= 101.0 + GRID / 2


def test_an_earlier_timer_rearms_and_a_cancelled_one_lets_go():
    clock, loop, queue = make()
    fired: list[str] = []
    late = queue.add(10, fired.append, "late")
    queue.add(1, fired.append, "early")
    assert len(loop.timers) == 1 and loop.timers[0][0] <= clock.now + 1 + GRID
    late.delete()
    assert late.callback is None and not late.pending()
    loop.run_until(clock.now + 20)
    assert fired == ["early"]


def test_the_dispatcher_timer_goes_when_the_last_entry_is_cancelled():
    _clock, loop, queue = make()
    entries = [queue.add(5, lambda: None) for _ in range(3)]
    for entry in entries:
        entry.delete()
    assert loop.timers == []  # a loop reset later (rel.init()) finds nothing of ours armed


def test_what_a_callback_adds_with_no_delay_waits_for_the_next_turn():
    clock, loop, queue = make()
    runs: list[float] = []

    def again() -> None:
        runs.append(clock.now)
        if len(runs) < 3:
            queue.add(0, again)

    queue.add(0, again)
    _, fire, args, _ = loop.timers.pop()
    fire(*args)  # one turn of the loop: the re-added entry is not run in the same firing
    assert len(runs) == 1 and len(loop.timers) == 1
    loop.run_until(clock.now + 1)
    assert len(runs) == 3


def test_a_true_result_repeats_and_an_error_does_not_stop_the_others():
    clock, loop, queue = make()
    counts = {"tick": 0, "after": 0}

    def tick() -> bool:
        counts["tick"] += 1
        return counts["tick"] < 3

    def boom() -> None:
        raise RuntimeError("a broken callback")

    queue.add(1, tick)
    queue.add(1, boom)
    queue.add(1, lambda: counts.__setitem__("after", 1))
    loop.run_until(clock.now + 10)
    assert counts == {"tick": 3, "after": 1}


def test_call_once_runs_once_whatever_it_returns_and_cancels_at_once() -> None:
    clock, loop, queue = make()
    runs: list[str] = []

    def true_result() -> bool:
        runs.append("once")
        return True  # would repeat under add()

    queue.call_once(1, true_result)
    cancelled = queue.call_once(2, runs.append, "cancelled")
    assert cancelled.cancel() is True and cancelled.callback is None and cancelled.args == ()
    loop.run_until(clock.now + 10)
    assert runs == ["once"] and len(queue) == 0 and loop.timers == []


def test_wrapped_call_later_hands_back_a_cancellable_entry() -> None:
    loop = SelectDispatcher()
    wrapped = WrappedDispatcher(loop)
    runs: list[int] = []
    kept = wrapped.call_later(0.01, lambda: runs.append(1) or True)
    dropped = wrapped.call_later(0.01, runs.append, 2)
    assert dropped.cancel() is True
    loop.timeout(5, loop.abort)  # a bound on the test, should the queue misbehave
    wrapped.timers.add(0.2, loop.abort)
    loop.dispatch()
    assert runs == [1] and kept.callback is None


def test_a_lost_dispatcher_timer_is_replaced():
    clock, loop, queue = make()
    fired: list[str] = []
    queue.add(1, fired.append, "first")
    loop.timers.clear()  # the loop forgot it (reset without telling us)
    clock.now += 5
    queue.add(1, fired.append, "second")  # long overdue armed timer: a new one is set
    loop.run_until(clock.now + 2)
    assert fired == ["first", "second"]


def test_apps_on_one_dispatcher_share_one_queue():
    shared = SelectDispatcher()
    assert WrappedDispatcher(shared).timers is WrappedDispatcher(shared).timers
    assert queue_for(shared) is not queue_for(SelectDispatcher())
