"""``python -m websocket``: the wsdump command-line client (see ``websocket._wsdump``).

``python -m websocket doctor`` checks the installation instead (``websocket._cli.doctor``);
it is dispatched before wsdump is imported, so it runs even when other files are broken.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["doctor"]:
        from ._cli.doctor import main as doctor

        sys.exit(doctor(sys.argv[2:]))
    from ._wsdump import main

    sys.exit(main(prog="python -m websocket"))
