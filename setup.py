"""Declares wsline's optional C speedup; all package metadata lives in pyproject.toml.

The extension is best effort: without a working compiler (or with
``WSLINE_NO_EXTENSION=1``) the build still succeeds and ``websocket._sansio.mask``
falls back to wsaccel or pure Python, which give the same bytes.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, ExecError, LinkError, PlatformError

# What a missing or broken compiler raises while building one extension.
_BUILD_FAILURES = (CCompilerError, CompileError, ExecError, LinkError, PlatformError, OSError)


class OptionalBuildExt(build_ext):
    """build_ext that warns and carries on when the extension cannot be compiled."""

    def run(self) -> None:
        try:
            super().run()
        except _BUILD_FAILURES as exc:  # e.g. no compiler at all for this platform
            self._skip("websocket._sansio._speedups", exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except _BUILD_FAILURES as exc:
            self._skip(ext.name, exc)

    def _skip(self, name: str, exc: BaseException) -> None:
        self.warn(
            f"wsline: optional C extension {name} not built ({exc}); websocket._sansio.mask will use wsaccel or pure Python"
        )


def _extensions() -> list[Extension]:
    if os.environ.get("WSLINE_NO_EXTENSION"):
        return []
    return [Extension("websocket._sansio._speedups", sources=["websocket/_sansio/_speedups.c"], optional=True)]


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
