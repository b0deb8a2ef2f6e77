"""Certificates made by trustme at test time, written to a temporary directory, and server contexts.

``TlsMaterial`` holds a CA the client may trust (``ca_file``), a second CA it
never trusts, and client certificate files (plain key, and a key encrypted
with ``key_password``). ``server_context(*names)`` builds the context of a
TLS WebSocket server whose certificate covers ``names``.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import trustme
from cryptography.hazmat.primitives import serialization

SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


class TlsMaterial:
    """A trusted CA, an untrusted one, and client certificate files in ``directory``."""

    key_password = b"client-key-password"

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.ca_file = self._write("ca.pem", self.ca.cert_pem.bytes())
        client = self.ca.issue_cert("client@wsline.test", common_name="wsline test client")
        self.client_cert_file = self._write("client.pem", client.cert_chain_pems[0].bytes())
        self.client_key_file = self._write("client.key", client.private_key_pem.bytes())
        key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
        encrypted = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.key_password),
        )
        self.client_encrypted_key_file = self._write("client-encrypted.key", encrypted)

    def _write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.directory, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def server_context(
        self,
        *names: str,
        untrusted: bool = False,
        require_client_cert: bool = False,
        max_tls12: bool = False,
    ) -> ssl.SSLContext:
        """A server context with a certificate for ``names`` (default: localhost and the loopbacks)."""
        ca = self.other_ca if untrusted else self.ca
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*(names or SERVER_NAMES)).configure_cert(ctx)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(ctx)
        if max_tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def hashed_ca_dir(self) -> str | None:
        """A directory in OpenSSL's hashed layout (for ``ca_cert_path``), or None without the openssl tool."""
        openssl = shutil.which("openssl")
        if openssl is None:
            return None
        out = subprocess.run(
            [openssl, "x509", "-hash", "-noout", "-in", self.ca_file], capture_output=True, text=True, timeout=30, check=True
        )
        directory = os.path.join(self.directory, "capath")
        os.makedirs(directory, exist_ok=True)
        shutil.copy(self.ca_file, os.path.join(directory, out.stdout.strip() + ".0"))
        return directory


@contextmanager
def tls_material() -> Iterator[TlsMaterial]:
    with tempfile.TemporaryDirectory(prefix="wsl-tls") as directory:
        yield TlsMaterial(directory)
