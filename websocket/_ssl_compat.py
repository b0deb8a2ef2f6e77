"""websocket-client's ``_ssl_compat`` names: the ssl module's exceptions."""

from __future__ import annotations

import ssl
from ssl import SSLEOFError, SSLError, SSLWantReadError, SSLWantWriteError

__all__ = ["HAVE_SSL", "ssl", "SSLError", "SSLEOFError", "SSLWantReadError", "SSLWantWriteError"]

HAVE_SSL = True
