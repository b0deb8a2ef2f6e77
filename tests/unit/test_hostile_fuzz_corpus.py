"""Replay the fuzz corpus (tests/fuzz/corpus/) through the fuzz checks, without atheris.

Every seed, and every input the fuzzer once failed on, stays a regression
test of the default run; tests/fuzz/run.py does the fuzzing itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _fuzz_checks import FUZZ, load_fuzz_targets

pytestmark = pytest.mark.usefixtures("receive_impl")  # the compiled and the pure receive path

TARGETS: dict[str, Callable[[bytes], None]] = dict(load_fuzz_targets().TARGETS)
CASES = [(name, path) for name in TARGETS for path in sorted((FUZZ / "corpus" / name).iterdir())]


def test_every_target_has_a_corpus() -> None:
    for name in TARGETS:
        assert len(list((FUZZ / "corpus" / name).iterdir())) >= 5, name


@pytest.mark.parametrize(("target", "path"), CASES, ids=[f"{name}/{path.name}" for name, path in CASES])
def test_corpus_input_passes_the_checks(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())
