"""Every script in examples/ runs to completion by itself, and the ones that take a URL talk to a given server.

Run with no arguments, each example starts its own local servers and must
exit with status 0 within ``EXAMPLE_TIMEOUT`` seconds, printing what
``EXPECTED`` says. Run with a URL (and a CA file or a proxy URL where the
example takes one), it must talk to the server given instead: here a server
this module starts, standing in for "your server".
"""

from __future__ import annotations

import gc
import logging
import os
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

pytestmark = [pytest.mark.wsline_only, pytest.mark.timeout(150)]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_TIMEOUT = 90.0
PROXY_ENV = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "websocket_client_ca_bundle")

# Lines each example must print (regular expressions, searched in stdout).
EXPECTED: dict[str, list[str]] = {
    "echo.py": [r"received 'Hello, World'", r"received 'héllo wörld ✓'", r"closed cleanly, server's close code 1000"],
    "json_rpc.py": [
        r"^add\(2, 3\) = 5$",
        r"^upper\('hello'\) = 'HELLO'$",
        r"notification: .*'progress'",
        r"^divide\(1, 0\) failed: -32000: division by zero$",
        r"^add\('con', 'cat'\) = 'concat'$",
    ],
    "proxy.py": [
        r"via http proxy: .*received 'hello via http proxy'",
        r"via socks5 proxy: .*received 'hello via socks5 proxy'",
        r"via http_proxy: .*received 'hello via http_proxy'",
        r"the local proxy tunnelled 3 connections",
        r"^  socks5 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$",
    ],
    "wss_custom_ca.py": [
        r"^sslopt ca_certs: TLSv1\.[23], .*echo 'hello over TLSv1\.[23]'$",
        r"^sslopt context: TLSv1\.[23]",
        r"^system CAs only: refused as expected",
    ],
    "compression.py": [
        r"^default \(compression='deflate'\): negotiated 'permessage-deflate",
        r"^compression=None: negotiated 'nothing'$",
        r"^tuned: negotiated 'permessage-deflate; server_no_context_takeover.*client_max_window_bits=10'$",
    ],
    "threaded_producer.py": [
        r"^1000 messages from 2 threads echoed back whole and in order",
        r"close code 1000, receiver finished: True",
    ],
    "ticker_reconnect.py": [r"received 60 ticks", r"reconnected", r"ping/pong timed out"],
    "rel_many.py": [r"4 of 4 apps finished"],
}


def example_scripts() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", str(EXAMPLES / name), *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=EXAMPLE_TIMEOUT,
        check=False,
    )


def check_output(name: str, done: subprocess.CompletedProcess[str], expected: list[str]) -> None:
    report = f"{name}: status {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    for pattern in expected:
        assert re.search(pattern, done.stdout, re.M), f"missing {pattern!r}\n{report}"
    assert "Traceback" not in done.stderr and "ResourceWarning" not in done.stderr, report


def test_every_example_has_expectations():
    assert set(example_scripts()) == set(EXPECTED), "add the new example's expected output to EXPECTED"


def test_every_example_is_shown_in_the_docs():
    page = (EXAMPLES.parent / "docs" / "examples.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\{literalinclude\} \.\./examples/(\w+\.py)", page))
    assert shown == set(example_scripts())


@pytest.mark.parametrize("name", example_scripts())
def test_example_runs_by_itself(name):
    check_output(name, run_example(name), EXPECTED[name])


# ------------------------------------------------------------------ with a URL: "your server"


def _echo(conn: ServerConnection) -> None:
    try:
        for message in conn:
            conn.send(message)
    except ConnectionClosed:
        pass


class YourServer:
    """A ``websockets`` echo server on 127.0.0.1 (TLS with a trustme CA when ``tls``), for the URL mode."""

    def __init__(self, tls: bool = False, **options: object) -> None:
        self.ca = trustme.CA() if tls else None
        context = None
        if self.ca is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ca.issue_cert("localhost").configure_cert(context)
        logger = logging.getLogger("tests.examples.server")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        self.server = serve(_echo, "127.0.0.1", 0, ssl=context, logger=logger, **options)  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        port = self.server.socket.getsockname()[1]
        self.url = f"wss://localhost:{port}/" if tls else f"ws://127.0.0.1:{port}/"

    def stop(self) -> None:
        stopper = threading.Thread(target=self.server.shutdown, daemon=True)
        stopper.start()
        stopper.join(10)
        self.thread.join(10)
        assert not self.thread.is_alive()
        del self.server
        # websockets leaves selectors in reference cycles: free them now, not in a later test that counts fds.
        gc.collect()


@pytest.fixture
def your_server() -> Iterator[YourServer]:
    server = YourServer()
    yield server
    server.stop()


@pytest.mark.parametrize("name", ["echo.py", "json_rpc.py", "threaded_producer.py", "compression.py", "rel_many.py"])
def test_example_talks_to_the_url_it_is_given(name, your_server):
    expected = {
        "echo.py": [re.escape(f"connecting to {your_server.url}"), r"received 'Hello, World'"],
        "json_rpc.py": [r"^add\(2, 3\) = echo of \{'jsonrpc': '2.0', 'id': 1, 'method': 'add'"],
        "threaded_producer.py": EXPECTED["threaded_producer.py"],
        "compression.py": EXPECTED["compression.py"],
        "rel_many.py": EXPECTED["rel_many.py"],
    }[name]
    check_output(name, run_example(name, your_server.url), expected)


def test_wss_example_with_a_given_ca_file(tmp_path):
    server = YourServer(tls=True)
    try:
        assert server.ca is not None
        ca_file = tmp_path / "your-ca.pem"
        server.ca.cert_pem.write_to_path(str(ca_file))
        check_output("wss_custom_ca.py", run_example("wss_custom_ca.py", server.url, str(ca_file)), EXPECTED["wss_custom_ca.py"])
    finally:
        server.stop()


def test_proxy_example_with_a_given_proxy(your_server):
    proxy = subprocess.Popen(
        [sys.executable, "-u", "-m", "pproxy", "-l", "socks5://127.0.0.1:0", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proxy.stdout is not None
        ready = proxy.stdout.readline()
        port = re.search(r":(\d+) by", ready)
        assert port, ready
        done = run_example("proxy.py", your_server.url, f"socks5://127.0.0.1:{port.group(1)}")
        check_output("proxy.py", done, [r"^via socks5 proxy: .*received 'hello via socks5 proxy'$"])
        assert "http_proxy" not in done.stdout
    finally:
        proxy.terminate()
        proxy.wait(10)
        if proxy.stdout is not None:
            logged = proxy.stdout.read()
            proxy.stdout.close()
    assert re.search(rf"socks5 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:{your_server.url.rsplit(':', 1)[1].strip('/')}", logged)
