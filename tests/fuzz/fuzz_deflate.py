"""atheris fuzz target: the deflate parser (see _fuzz_targets.deflate for the input layout and the checks).

Run through run.py, or alone: ``python tests/fuzz/fuzz_deflate.py -max_total_time=60 tests/fuzz/corpus/deflate``
(libFuzzer options; new inputs go to the first corpus directory given).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["websocket", "_fuzz_targets"]):
    from _fuzz_targets import deflate


def main() -> None:
    atheris.Setup(sys.argv, deflate)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
