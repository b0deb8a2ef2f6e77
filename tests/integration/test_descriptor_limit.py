"""Out of descriptors: the connect fails with an OSError (EMFILE kept) that names RLIMIT_NOFILE."""

from __future__ import annotations

import errno
import os
import resource
import socket
import time
from collections.abc import Iterator

import pytest

import websocket


@pytest.fixture
def no_spare_descriptor(echo_server) -> Iterator[None]:
    """Every descriptor up to a lowered soft limit taken (limit and descriptors restored after)."""
    websocket.create_connection(echo_server.url_for("/echo"), timeout=5).close()  # lazy imports read files
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    used = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    if used is None:
        pytest.skip("needs /proc/self/fd to count open descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 8, hard))
    held: list[socket.socket] = []
    for _ in range(3):  # the server's threads may still be closing the warm-up's socket: take what they free
        try:
            while True:
                held.append(socket.socket())
        except OSError as exc:
            assert exc.errno == errno.EMFILE
        time.sleep(0.2)
    try:
        yield
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_emfile_says_which_limit_to_raise(echo_server, no_spare_descriptor) -> None:
    url = echo_server.url_for("/echo")
    with pytest.raises(OSError) as caught:
        websocket.create_connection(url, timeout=5)
    assert caught.value.errno == errno.EMFILE
    assert "RLIMIT_NOFILE" in str(caught.value) and "ulimit -n" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


def test_emfile_reaches_on_error_of_an_app(echo_server, no_spare_descriptor) -> None:
    errors: list[BaseException] = []
    app = websocket.WebSocketApp(echo_server.url_for("/echo"), on_error=lambda ws, exc: errors.append(exc))
    assert app.run_forever() is True
    assert errors and isinstance(errors[0], OSError) and "RLIMIT_NOFILE" in str(errors[0])
