"""Through a proxy: HTTP CONNECT, SOCKS5, and the proxy from the environment.

    python examples/proxy.py                                    # embedded echo server behind a local pproxy
    python examples/proxy.py ws://host/ http://proxy.lan:3128   # your server through your proxy
    python examples/proxy.py ws://host/ socks5h://proxy.lan:1080
    python examples/proxy.py ws://host/                         # through $http_proxy / $https_proxy

The proxy URL may carry credentials (``http://user:password@proxy:3128``);
SOCKS needs the python-socks package (``pip install python-socks``), in
wsline's ``optional`` extra. ``socks5h`` and ``socks4a`` let the proxy
resolve the host name.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import websocket


def proxy_options(proxy_url: str) -> dict[str, Any]:
    """create_connection's keyword arguments for a proxy URL."""
    parts = urlsplit(proxy_url)
    options: dict[str, Any] = {
        "http_proxy_host": parts.hostname,
        "http_proxy_port": parts.port or (80 if parts.scheme == "http" else 1080),
        "proxy_type": parts.scheme,  # http, socks4, socks4a, socks5 or socks5h
    }
    if parts.username:
        options["http_proxy_auth"] = (unquote(parts.username), unquote(parts.password or ""))
    return options


def talk(url: str, how: str, **options: Any) -> None:
    with websocket.create_connection(url, timeout=10, **options) as ws:
        ws.send(f"hello {how}")
        print(f"{how}: sent 'hello {how}', received {ws.recv()!r}")


@contextlib.contextmanager
def targets() -> Iterator[tuple[str, list[str]]]:
    """The server URL and the proxy URLs to try: from the command line, or local ones started for this run."""
    if len(sys.argv) > 1:
        yield sys.argv[1], sys.argv[2:3]
        return
    from _demo_servers import pproxy, running

    with running() as url, pproxy("http+socks5") as proxy:
        yield url, [f"http://127.0.0.1:{proxy.port}", f"socks5://127.0.0.1:{proxy.port}"]
        time.sleep(0.2)  # let the log catch up
        print(f"the local proxy tunnelled {len(proxy.tunnels)} connections:", *proxy.tunnels, sep="\n  ")


def main() -> None:
    with targets() as (url, proxies):
        for proxy in proxies:
            talk(url, f"via {urlsplit(proxy).scheme} proxy", **proxy_options(proxy))
        if len(sys.argv) == 2:
            talk(url, "via the environment's proxy")  # http_proxy for ws://, https_proxy for wss://
        elif len(sys.argv) == 1:
            # The same proxy, found the way curl and pip find theirs: wsline reads http_proxy
            # (ws:// URLs) and https_proxy (wss:// URLs), and skips the hosts in no_proxy.
            os.environ["http_proxy"] = proxies[0]
            try:
                talk(url, "via http_proxy")
            finally:
                del os.environ["http_proxy"]


if __name__ == "__main__":
    main()
