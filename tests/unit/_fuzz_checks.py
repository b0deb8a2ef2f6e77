"""tests/fuzz/_fuzz_targets.py for the unit tests, loaded by path (tests/fuzz is not put on sys.path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"


def load_fuzz_targets() -> ModuleType:
    """The fuzz checks module, loaded once per process."""
    module = sys.modules.get("_fuzz_targets")
    if module is None:
        spec = importlib.util.spec_from_file_location("_fuzz_targets", FUZZ / "_fuzz_targets.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module
