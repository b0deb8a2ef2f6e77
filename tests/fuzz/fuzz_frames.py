"""atheris fuzz target: the frames parser (see _fuzz_targets.frames for the input layout and the checks).

Run through run.py, or alone: ``python tests/fuzz/fuzz_frames.py -max_total_time=60 tests/fuzz/corpus/frames``
(libFuzzer options; new inputs go to the first corpus directory given).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["websocket", "_fuzz_targets"]):
    from _fuzz_targets import frames


def main() -> None:
    atheris.Setup(sys.argv, frames)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
