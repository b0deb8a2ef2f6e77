"""Replay the fuzz corpus (tests/fuzz/corpus/) through the fuzz checks, without atheris.

Every seed, and every input the fuzzer once failed on, stays a regression
test of the default run; tests/fuzz/run.py does the fuzzing itself.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"


def _load_targets() -> dict[str, Callable[[bytes], None]]:
    """tests/fuzz/_fuzz_targets.py, loaded by path (tests/fuzz is not put on sys.path)."""
    spec = importlib.util.spec_from_file_location("_fuzz_targets", FUZZ / "_fuzz_targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return dict(module.TARGETS)


TARGETS = _load_targets()
CASES = [(name, path) for name in TARGETS for path in sorted((FUZZ / "corpus" / name).iterdir())]


def test_every_target_has_a_corpus() -> None:
    for name in TARGETS:
        assert len(list((FUZZ / "corpus" / name).iterdir())) >= 5, name


@pytest.mark.parametrize(("target", "path"), CASES, ids=[f"{name}/{path.name}" for name, path in CASES])
def test_corpus_input_passes_the_checks(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())
