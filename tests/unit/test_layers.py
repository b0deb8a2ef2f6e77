"""The layers of the package hold: no import circle, and a sans-I/O core that imports nothing above it."""

from __future__ import annotations

import import_layers
import pytest

IO_MODULES = {"socket", "ssl", "select", "selectors", "threading", "time", "asyncio"}


def test_the_units_import_each_other_without_a_circle() -> None:
    assert import_layers.cycles(import_layers.unit_graph()) == []


def test_the_sans_io_core_imports_only_itself_and_the_exception_tree() -> None:
    assert import_layers.unit_graph()["_sansio"] <= {"_exceptions"}


CORE = sorted(m for m in import_layers.module_imports() if import_layers.unit_of(m) in ("_sansio", "_exceptions"))


@pytest.mark.parametrize("module", CORE)
def test_nothing_in_the_core_touches_sockets_threads_or_clocks(module: str) -> None:
    assert import_layers.stdlib_imports(module) & IO_MODULES == set()


def test_the_drivers_sit_above_the_connection_they_share() -> None:
    graph = import_layers.unit_graph()
    assert "_conn" in graph["_core"] and "_conn" in graph["_loop"]
    assert "_app" not in graph["_loop"]  # the run talks to the app through RunOwner only
    assert not graph["_conn"] & {"_core", "_loop", "_app", "_net"}


def test_the_graph_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert import_layers.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("level 0:") and "circles: none" in out
