"""Unit tests import their byte helpers from this folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import Iterator

import pytest

from websocket._sansio import protocol as _protocol

_COMPILED_PARSER = _protocol._compiled_parser()


@pytest.fixture(params=["c", "python"])
def receive_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test on the compiled receive loop and on the pure-Python one (same events expected).

    Modules opt in with ``pytestmark = pytest.mark.usefixtures("receive_impl")``.
    """
    if request.param == "c":
        if _COMPILED_PARSER is None:
            pytest.skip("the C extension is not built (or WSLINE_NO_SPEEDUPS is set)")
        monkeypatch.setattr(_protocol, "_parse_messages", _COMPILED_PARSER)
    else:
        monkeypatch.setattr(_protocol, "_parse_messages", None)
    yield request.param
