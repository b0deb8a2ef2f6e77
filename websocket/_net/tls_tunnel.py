"""TLS inside TLS: a wss:// connection through an HTTPS proxy.

The link to an HTTPS proxy is an ``ssl.SSLSocket``; after CONNECT, the
server's TLS must run inside it, and an SSLSocket cannot wrap another one.
``TlsTunnel`` runs the inner TLS in an ``ssl.SSLObject`` over memory BIOs
and moves its records through the outer SSLSocket. It offers what the
blocking client and the run_forever loop use on ``ws.sock`` (sendall, recv,
recv_into, pending, timeouts, fileno, shutdown, close, the peer certificate).

Locks: one around the SSLObject (OpenSSL objects must not be used from two
threads at once: one thread may read while another sends), and one for
writing, so records leave in the order the SSLObject made them. Neither is
held while waiting for the network on the read side.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any, Optional, Union

from .._exceptions import WebSocketTimeoutException

__all__ = ["TLS_SOCKETS", "TlsTunnel", "wrap_tls_in_tls"]

_RECORD_READ = 65536
Buffer = Union[bytearray, memoryview]


class TlsTunnel:
    """A TLS connection carried inside the TLS connection ``outer``; quacks like an SSLSocket."""

    def __init__(self, outer: ssl.SSLSocket, context: ssl.SSLContext, server_hostname: str, ragged_eof_ok: bool) -> None:
        self._outer = outer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname)
        self._tls_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._plain = b""  # decrypted by pending(), not yet handed out
        self._ragged_eof_ok = ragged_eof_ok
        self.server_hostname = server_hostname
        self.context = context

    # ------------------------------------------------------------ plumbing

    def _flush(self) -> None:
        """Send what the SSLObject wrote; under the send lock, so records keep their order."""
        with self._send_lock:
            with self._tls_lock:
                data = self._outgoing.read()
            if data:
                self._outer.sendall(data)

    def _pull(self) -> bool:
        """Move one read of the outer connection into the inner TLS; False at its end."""
        data = self._outer.recv(_RECORD_READ)
        with self._tls_lock:
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()
        return bool(data)

    def do_handshake(self) -> None:
        """The inner TLS handshake, with the certificate checks of the context."""
        while True:
            try:
                with self._tls_lock:
                    self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._pull():
                    raise ssl.SSLEOFError(ssl.SSL_ERROR_EOF, "the tunnel closed during the TLS handshake") from None
        self._flush()

    def _read(self, size: int, buffer: Optional[Buffer] = None) -> Union[bytes, int]:
        while True:
            try:
                with self._tls_lock:
                    return self._tls.read(size, buffer) if buffer is not None else self._tls.read(size)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return 0 if buffer is not None else b""
            except ssl.SSLEOFError:
                if not self._ragged_eof_ok:
                    raise
                return 0 if buffer is not None else b""
            if self._outgoing.pending:
                self._flush()
            self._pull()

    # ------------------------------------------------------------ reading

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        """Up to ``bufsize`` decrypted bytes (b"" at the end); ``flags`` must be 0, as on an SSLSocket."""
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv() on a TLS tunnel")
        if self._plain:
            data, self._plain = self._plain[:bufsize], self._plain[bufsize:]
            return data
        got = self._read(bufsize)
        assert isinstance(got, bytes)
        return got

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Read into ``buffer`` (at most ``nbytes``, 0: its size); the count, 0 at the end."""
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv_into() on a TLS tunnel")
        size = nbytes or len(buffer)
        if self._plain:
            data = self.recv(size)
            memoryview(buffer)[: len(data)] = data
            return len(data)
        count = self._read(size, buffer)
        assert isinstance(count, int)
        return count

    def pending(self) -> int:
        """Decrypted bytes that can be read without waiting (``select`` on ``fileno`` cannot see them).

        Bytes the outer connection already decrypted are moved in first, so a
        whole inner record sitting in memory counts.
        """
        waiting = self._outer.pending()
        if waiting:
            with self._tls_lock:
                self._incoming.write(self._outer.recv(waiting))
        with self._tls_lock:
            if self._incoming.pending and not self._plain:
                try:
                    self._plain = self._tls.read(_RECORD_READ)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    pass  # not a whole record yet, or the end: a read will tell
            return len(self._plain) + self._tls.pending()

    # ------------------------------------------------------------ writing

    def send(self, data: bytes) -> int:
        """Send all of ``data`` (a TLS record cannot be half sent) and return its length."""
        self.sendall(data)
        return len(data)

    def sendall(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Encrypt ``data`` and send the records through the outer connection."""
        with self._send_lock:
            with self._tls_lock:
                self._tls.write(data)
                out = self._outgoing.read()
            self._outer.sendall(out)

    # ------------------------------------------------------------ the socket below

    def settimeout(self, timeout: Optional[float]) -> None:
        self._outer.settimeout(timeout)

    def gettimeout(self) -> Optional[float]:
        return self._outer.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self._outer.setblocking(flag)

    def fileno(self) -> int:
        return self._outer.fileno()

    @property
    def family(self) -> int:
        return self._outer.family

    @property
    def type(self) -> int:
        return self._outer.type

    @property
    def proto(self) -> int:
        return self._outer.proto

    def getpeername(self) -> Any:
        return self._outer.getpeername()

    def getsockname(self) -> Any:
        return self._outer.getsockname()

    def setsockopt(self, *args: Any) -> None:
        self._outer.setsockopt(*args)

    def getsockopt(self, *args: Any) -> Any:
        return self._outer.getsockopt(*args)

    def shutdown(self, how: int) -> None:
        self._outer.shutdown(how)

    def close(self) -> None:
        self._outer.close()

    def __enter__(self) -> TlsTunnel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ the inner TLS session

    def getpeercert(self, binary_form: bool = False) -> Any:
        return self._tls.getpeercert(binary_form)

    def cipher(self) -> Optional[tuple[str, str, int]]:
        return self._tls.cipher()

    def version(self) -> Optional[str]:
        return self._tls.version()

    def selected_alpn_protocol(self) -> Optional[str]:
        return self._tls.selected_alpn_protocol()

    @property
    def proxy_socket(self) -> ssl.SSLSocket:
        """The TLS connection to the proxy that carries this one."""
        return self._outer

    def __repr__(self) -> str:
        return f"<TlsTunnel {self.server_hostname!r} through {self._outer!r}>"


# What counts as a TLS connection: decrypted bytes may wait in memory where poll cannot see them
# (``pending()``), no recv flags (MSG_PEEK, MSG_WAITALL).
TLS_SOCKETS = (ssl.SSLSocket, TlsTunnel)


def wrap_tls_in_tls(outer: ssl.SSLSocket, context: ssl.SSLContext, hostname: str, sslopt: dict[str, Any]) -> TlsTunnel:
    """Run the server's TLS handshake inside ``outer`` (the tunnel through an HTTPS proxy)."""
    tunnel = TlsTunnel(outer, context, hostname, bool(sslopt.get("suppress_ragged_eofs", True)))
    try:
        tunnel.do_handshake()
    except socket.timeout as exc:
        raise WebSocketTimeoutException("TLS handshake (inside the HTTPS proxy tunnel) timed out") from exc
    return tunnel
