"""``python -m websocket``: the wsdump command-line client (see ``websocket._wsdump``)."""

from __future__ import annotations

import sys

from ._wsdump import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m websocket"))
