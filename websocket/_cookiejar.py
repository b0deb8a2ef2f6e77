"""websocket-client's cookie jar: cookies from handshake answers, sent back in later handshakes.

Decision (websocket-client 1.9.2 behaviour, kept for drop-in use): one
process-global jar, ``CookieJar``, is fed from the ``Set-Cookie`` headers of
every handshake answer (the 101 and the redirects), and keeps only cookies
that carry a ``Domain`` attribute; later handshakes to a host in that domain
send them in the Cookie header, before the ``cookie`` option's value.

Hardening, which no legitimate server notices:

- a cookie whose Domain does not cover the host that set it is ignored (so
  ``evil.test`` cannot plant cookies for ``bank.test``), and so is a Domain
  without a dot (``com``) unless it is that host itself (``localhost``);
- a ``Secure`` cookie is only sent over wss://;
- each Set-Cookie header is parsed on its own, so a cookie without a Domain
  never rides along with one that has it.

Like websocket-client, Path and expiry attributes are not tracked. The
``cookie_jar`` connect option takes another ``SimpleCookieJar`` (a jar per
connection or per application) or None (no stored cookies are sent or kept).
"""

from __future__ import annotations

import http.cookies
import ipaddress
import threading
from collections.abc import Iterable
from typing import Optional

__all__ = ["SimpleCookieJar", "CookieJar"]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _domain_key(domain: str) -> str:
    return "." + domain.lower().lstrip(".")


def domain_matches(host: str, domain_key: str) -> bool:
    """Whether ``host`` is the domain (``.example.test`` -> ``example.test``) or a subdomain of it."""
    host = host.lower()
    return host == domain_key[1:] or (host.endswith(domain_key) and not _is_ip(host))


class SimpleCookieJar:
    """Cookies by domain (``.example.test`` -> SimpleCookie), websocket-client's ``SimpleCookieJar``."""

    def __init__(self) -> None:
        self.jar: dict[str, http.cookies.SimpleCookie] = {}
        self._lock = threading.Lock()

    def _accepted(self, set_cookie: Optional[str], host: Optional[str]) -> Iterable[tuple[str, http.cookies.Morsel[str]]]:
        if not set_cookie:
            return []
        try:
            parsed = http.cookies.SimpleCookie(set_cookie)
        except http.cookies.CookieError:
            return []  # a malformed Set-Cookie is ignored, as a browser would
        accepted = []
        for morsel in parsed.values():
            domain = morsel.get("domain")
            if not domain:
                continue
            key = _domain_key(domain)
            if host is not None and not self._may_set(host, key):
                continue
            accepted.append((key, morsel))
        return accepted

    @staticmethod
    def _may_set(host: str, key: str) -> bool:
        if not domain_matches(host, key):
            return False
        return "." in key[1:] or host.lower() == key[1:]

    def add(self, set_cookie: Optional[str], host: Optional[str] = None) -> None:
        """Store the cookies of ``set_cookie`` that have a Domain (that covers ``host`` when it is given)."""
        with self._lock:
            for key, morsel in self._accepted(set_cookie, host):
                self.jar.setdefault(key, http.cookies.SimpleCookie())[morsel.key] = morsel

    def set(self, set_cookie: str, host: Optional[str] = None) -> None:
        """Like ``add``, but the cookies replace everything stored for their domain."""
        with self._lock:
            fresh: dict[str, http.cookies.SimpleCookie] = {}
            for key, morsel in self._accepted(set_cookie, host):
                fresh.setdefault(key, http.cookies.SimpleCookie())[morsel.key] = morsel
            self.jar.update(fresh)

    def get(self, host: str, secure: bool = True) -> str:
        """The Cookie header value for ``host`` ("" when none): ``name=value`` pairs, sorted, "; "-joined.

        With ``secure=False`` (a ws:// connection) cookies marked Secure are left out.
        """
        if not host:
            return ""
        with self._lock:
            pairs = [
                f"{name}={morsel.value}"
                for key, cookie in self.jar.items()
                if domain_matches(host, key)
                for name, morsel in cookie.items()
                if secure or not morsel["secure"]
            ]
        return "; ".join(sorted(p for p in pairs if p))

    def clear(self) -> None:
        """Forget every cookie."""
        with self._lock:
            self.jar.clear()


# websocket-client keeps one jar for the whole process; so does this drop-in.
CookieJar = SimpleCookieJar()
