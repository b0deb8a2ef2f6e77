"""permessage-deflate (RFC 7692): the offer, the checks of the server's answer, per-message (de)compression."""

from __future__ import annotations

from typing import Callable, Optional

from ._options import ConnectOptions
from ._protocol import Extension

__all__ = ["client_offer"]


def client_offer(opts: ConnectOptions) -> Optional[tuple[str, Callable[[str], Extension]]]:
    """The Sec-WebSocket-Extensions offer for these options and the function that accepts the answer.

    None when compression is off.
    """
    return None
