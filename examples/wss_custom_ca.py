"""wss:// with a private certificate authority: trust exactly the CA that signed the server's certificate.

    python examples/wss_custom_ca.py                      # embedded TLS echo server, certificates made now
    python examples/wss_custom_ca.py wss://host/ ca.pem   # your server, trusting the CA certificate(s) in ca.pem

Without arguments, trustme (``pip install trustme``) makes a throwaway CA and
a certificate for ``localhost`` signed by it, and a local TLS echo server
uses that certificate. The client then connects three ways: trusting the CA
through ``sslopt={"ca_certs": ...}``, through a ready ``ssl.SSLContext``, and
not trusting it, which fails certificate verification as it must.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import websocket


def talk(url: str, how: str, sslopt: dict[str, Any]) -> None:
    with websocket.create_connection(url, timeout=10, sslopt=sslopt) as ws:
        tls = ws.sock
        assert isinstance(tls, ssl.SSLSocket)
        ws.send(f"hello over {tls.version()}")
        print(f"{how}: {tls.version()}, {tls.cipher()[0]}; echo {ws.recv()!r}")


@contextlib.contextmanager
def target() -> Iterator[tuple[str, str]]:
    """The URL and CA file from the command line, or a local TLS echo server and its fresh CA."""
    if len(sys.argv) > 1:
        yield sys.argv[1], sys.argv[2]
        return
    import trustme
    from _demo_servers import running

    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(server_context)
    with tempfile.TemporaryDirectory() as directory:
        ca_file = os.path.join(directory, "ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        with running(ssl_context=server_context) as url:
            yield url, ca_file


def main() -> None:
    with target() as (url, ca_file):
        talk(url, "sslopt ca_certs", {"ca_certs": ca_file})

        context = ssl.create_default_context(cafile=ca_file)  # verification and hostname check on
        talk(url, "sslopt context", {"context": context})

        try:
            talk(url, "system CAs only", {})
        except ssl.SSLCertVerificationError as exc:
            print(f"system CAs only: refused as expected ({exc.verify_message})")
        else:
            print("system CAs only: this server's certificate is also trusted by the system")


if __name__ == "__main__":
    main()
