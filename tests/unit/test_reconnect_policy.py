"""The reconnect rule and delays: should_reconnect, FixedDelay, Backoff (seeded, no sleeping)."""

from __future__ import annotations

import random

import pytest

import websocket
from websocket._loop.reconnect import RECONNECT_CLOSE_CODES, Backoff, FixedDelay, reconnect_policy, should_reconnect


@pytest.mark.parametrize("code", [1001, 1011, 1012, 1013, 1014])
def test_restart_and_overload_codes_reconnect(code):
    assert should_reconnect(code, None) is True


@pytest.mark.parametrize("code", [1000, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 3000, 4001, 4999])
def test_deliberate_closes_do_not_reconnect(code):
    assert should_reconnect(code, websocket.WebSocketConnectionClosedException("closed")) is False


@pytest.mark.parametrize(
    "error",
    [
        websocket.WebSocketConnectionClosedException("Connection to remote host was lost."),
        ConnectionRefusedError(),
        ConnectionResetError(),
        websocket.WebSocketTimeoutException("ping/pong timed out"),
        websocket.WebSocketBadStatusException("Handshake status 503", 503),
        websocket.WebSocketProtocolException("reserved opcode"),
        OSError("network unreachable"),
    ],
)
def test_abnormal_ends_reconnect(error):
    assert should_reconnect(None, error) is True


@pytest.mark.parametrize("error", [ValueError("scheme http is invalid"), TypeError("bad option")])
def test_configuration_errors_do_not_reconnect(error):
    assert should_reconnect(None, error) is False


def test_the_rule_is_exported_and_matches_the_codes():
    assert websocket.should_reconnect is should_reconnect
    assert frozenset({1001, 1011, 1012, 1013, 1014}) == RECONNECT_CLOSE_CODES


@pytest.mark.parametrize(("value", "expected"), [(None, None), (0, None), (False, None), (0.0, None)])
def test_no_reconnect(value, expected):
    assert reconnect_policy(value) is expected


@pytest.mark.parametrize("value", [5, 0.25, True])
def test_numbers_are_a_fixed_delay(value):
    policy = reconnect_policy(value)
    assert isinstance(policy, FixedDelay)
    assert [policy.delay(n, 1012) for n in (1, 2, 50)] == [float(value)] * 3


def test_negative_delay_is_refused():
    with pytest.raises(ValueError, match="reconnect must be >= 0"):
        reconnect_policy(-1)


def test_a_policy_object_is_used_as_is():
    backoff = Backoff()
    assert reconnect_policy(backoff) is backoff


def test_backoff_without_jitter_doubles_up_to_the_cap():
    policy = Backoff(initial=1, factor=2, maximum=10, jitter=0)
    assert [policy.delay(n, None) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_backoff_jitter_stays_within_its_band():
    policy = Backoff(initial=4, factor=1, maximum=4, jitter=0.5, rng=random.Random(1))
    delays = [policy.delay(1, None) for _ in range(500)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert max(delays) - min(delays) > 1.5  # really spread, not constant


def test_backoff_spreads_a_service_restart_over_five_to_thirty_seconds():
    policy = Backoff(initial=0.1, rng=random.Random(3))
    for code in (1012, 1013):
        delays = [policy.delay(1, code) for _ in range(500)]
        assert all(5.0 <= d <= 30.0 for d in delays)
        assert max(delays) - min(delays) > 20


def test_backoff_after_a_long_outage_stays_at_the_cap():
    policy = Backoff(initial=1, factor=10, maximum=60, jitter=0)
    assert policy.delay(100_000, None) == 60


def test_backoff_gives_up_after_max_attempts():
    policy = Backoff(jitter=0, max_attempts=3)
    assert policy.delay(3, None) is not None
    assert policy.delay(4, None) is None


def test_backoff_is_reproducible_with_a_seeded_rng():
    first = Backoff(rng=random.Random(42))
    second = Backoff(rng=random.Random(42))
    assert [first.delay(n, None) for n in range(1, 10)] == [second.delay(n, None) for n in range(1, 10)]


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": -1}, {"initial": 5, "maximum": 1}, {"factor": 0.5}, {"jitter": 1.5}, {"restart_delay": (10, 5)}],
)
def test_backoff_refuses_nonsense(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_app_rule_delegates_to_the_module_rule():
    app = websocket.WebSocketApp("ws://127.0.0.1:9/")
    assert app.should_reconnect(1012, None) is True
    assert app.should_reconnect(1000, None) is False
    assert app.should_reconnect(None, ConnectionResetError()) is True
