"""``python -m websocket --version`` says which build a user has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import websocket

pytestmark = pytest.mark.wsline_only


def _version(tmp_path: Path, **env: str) -> list[str]:
    # From an empty directory: the websocket that this interpreter imports, not a checkout's.
    result = subprocess.run(
        [sys.executable, "-m", "websocket", "--version"],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.splitlines()


def test_version_names_the_release_the_python_and_the_defaults(tmp_path: Path) -> None:
    from websocket._sansio import mask

    env = {"WSLINE_NO_SPEEDUPS": ""}
    lines = _version(tmp_path, **env)
    assert lines[0] == f"wsline {websocket.__version__}"
    assert lines[1].startswith(f"Python {sys.version.split()[0]} ")
    fastest = mask.available_implementations()[0].name
    shown = {"c": "compiled C extension", "wsaccel": "wsaccel", "python": "pure Python"}[fastest]
    assert lines[2].startswith(f"speedups: {shown}")
    assert lines[3].startswith("permessage-deflate: offered by default")


def test_version_shows_the_pure_path_when_speedups_are_off(tmp_path: Path) -> None:
    lines = _version(tmp_path, WSLINE_NO_SPEEDUPS="1")
    assert lines[2].startswith("speedups: pure Python")


def test_version_comes_from_one_place() -> None:
    from importlib.metadata import version

    from websocket._version import __version__

    assert websocket.__version__ == __version__ == version("wsline")
