"""atheris fuzz target: the handshake parser (see _fuzz_targets.handshake for the input layout and the checks).

Run through run.py, or alone: ``python tests/fuzz/fuzz_handshake.py -max_total_time=60 tests/fuzz/corpus/handshake``
(libFuzzer options; new inputs go to the first corpus directory given).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["websocket", "_fuzz_targets"]):
    from _fuzz_targets import handshake


def main() -> None:
    atheris.Setup(sys.argv, handshake)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
