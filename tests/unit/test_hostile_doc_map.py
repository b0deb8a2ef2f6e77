"""docs/robustness.md points every line of the contract to a test: those tests must exist."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DOC = TESTS.parent / "docs" / "robustness.md"
# `integration/test_x.py::test_name[ids]`, and the `::other_test` shorthand for the same file.
REFERENCE = re.compile(r"`((?:unit|integration|fuzz|netns)/[\w/]+\.py)?::(\w+)(?:\[[^\]]*\])?`")


def references() -> list[tuple[str, str]]:
    found = []
    for line in DOC.read_text().splitlines():
        current = None
        for path, name in REFERENCE.findall(line):
            current = path or current
            assert current, f"a ::{name} without a file before it on the line: {line!r}"
            found.append((current, name))
    return found


def test_the_map_points_to_many_tests() -> None:
    assert len(references()) > 80


def test_every_referenced_test_exists() -> None:
    missing = []
    for path, name in references():
        source = TESTS / path
        if not source.is_file() or not re.search(rf"^def {name}\(", source.read_text(), re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/robustness.md points to tests that do not exist: {missing}"
