"""Session-wide test configuration shared by tests/unit and tests/integration.

* ``WSLINE_NO_SPEEDUPS=1`` (read by ``websocket._sansio.mask`` at import)
  puts the whole run on the pure-Python masking path; CI runs the unit and
  protocol tests once that way. The report header says which path is in use.
* ``WSLINE_REQUIRE_SPEEDUPS=1`` (set by CI where a compiler is present) makes
  tests/unit/test_mask.py fail if the C extension was not built.
* The ``wsline_only`` marker tags tests of behaviour websocket-client 1.9.2
  does not have (strict RFC 6455 handling, max_size, per-call timeouts...).
  ``--xfail-wsline-only`` turns them into non-strict xfails, handy when the
  suite runs against websocket-client as a reference.

Nothing here puts the repository on sys.path: the library under test is
whatever ``import websocket`` finds in the interpreter's environment.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--xfail-wsline-only",
        action="store_true",
        help="mark wsline_only tests as non-strict xfail (for runs against websocket-client)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wsline_only: behaviour beyond websocket-client 1.9.2; expected to fail against it",
    )
    config.addinivalue_line("markers", "timeout(seconds): pytest-timeout limit for one test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--xfail-wsline-only"):
        return
    xfail = pytest.mark.xfail(reason="wsline-only behaviour", strict=False)
    for item in items:
        if item.get_closest_marker("wsline_only"):
            item.add_marker(xfail)


def pytest_report_header(config: pytest.Config) -> str:
    try:
        from websocket._sansio import mask
    except ImportError:  # another library under test (websocket-client)
        return "masking: not wsline"
    forced = " (WSLINE_NO_SPEEDUPS)" if os.environ.get("WSLINE_NO_SPEEDUPS") else ""
    return f"masking: {mask.IMPLEMENTATION}{forced}; present: {[impl.name for impl in mask.available_implementations()]}"
