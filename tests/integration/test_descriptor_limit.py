"""Out of descriptors: the connect fails with an OSError (EMFILE kept) that names RLIMIT_NOFILE."""

from __future__ import annotations

import errno
import os
import resource
import socket
from collections.abc import Iterator
from typing import Callable

import pytest

import websocket

ATTEMPTS = 5  # the session's in-process servers free descriptors now and then: take those too, try again


@pytest.fixture
def at_the_limit(echo_server) -> Iterator[Callable[[], None]]:
    """A lowered soft limit and a function that takes every free descriptor (all restored after)."""
    websocket.create_connection(echo_server.url_for("/echo"), timeout=5).close()  # lazy imports read files
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to count open descriptors")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
    held: list[socket.socket] = []

    def take_all() -> None:
        try:
            while True:
                held.append(socket.socket())
        except OSError as exc:
            assert exc.errno == errno.EMFILE

    try:
        yield take_all
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def first_emfile(attempt: Callable[[], BaseException], take_all: Callable[[], None]) -> BaseException:
    """Run ``attempt`` with no descriptor free until it fails for want of one (what it raised last otherwise)."""
    error: BaseException = AssertionError("no attempt made")
    for _ in range(ATTEMPTS):
        take_all()
        error = attempt()
        if isinstance(error, OSError) and error.errno == errno.EMFILE:
            break
    return error


def test_emfile_says_which_limit_to_raise(echo_server, at_the_limit) -> None:
    def attempt() -> BaseException:
        try:
            websocket.create_connection(echo_server.url_for("/echo"), timeout=5).close()
        except (OSError, websocket.WebSocketException) as exc:
            return exc
        return AssertionError("connected: a descriptor was free after all")

    error = first_emfile(attempt, at_the_limit)
    assert isinstance(error, OSError) and error.errno == errno.EMFILE, repr(error)
    assert "RLIMIT_NOFILE" in str(error) and "ulimit -n" in str(error)
    assert isinstance(error.__cause__, OSError)


def test_emfile_reaches_on_error_of_an_app(echo_server, at_the_limit) -> None:
    def attempt() -> BaseException:
        errors: list[BaseException] = []
        # A descriptor freed meanwhile lets the attempt connect: on_open ends that run, and the test tries again.
        app = websocket.WebSocketApp(
            echo_server.url_for("/echo"), on_open=lambda ws: ws.close(), on_error=lambda ws, exc: errors.append(exc)
        )
        errored = app.run_forever()
        if not errors:
            return AssertionError("connected: a descriptor was free after all")
        assert errored is True
        return errors[0]

    error = first_emfile(attempt, at_the_limit)
    assert isinstance(error, OSError) and "RLIMIT_NOFILE" in str(error), repr(error)
