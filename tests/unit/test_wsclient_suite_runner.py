"""The websocket-client suite runner's bookkeeping: the expected-failure list and the verdict.

The run itself is the CI lane ``.ci/wsclient-suite.sh``; here only the parts
that decide whether CI fails, on a JUnit report and lists written in tmp_path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "compliance" / "wsclient_suite" / "run.py"


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wsclient_suite_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="" name="wsc_tests.test_http"><error message="collection failure"/></testcase>
<testcase classname="wsc_tests.test_abnf.ABNFTest" name="test_ok"/>
<testcase classname="wsc_tests.test_abnf.ABNFTest" name="test_bad"><failure message="boom"/></testcase>
<testcase classname="wsc_tests.test_app.WebSocketAppTest" name="test_net"><skipped message="internet"/></testcase>
<testcase classname="wsc_tests.test_url.ProxyInfoTest" name="test_new"><failure message="x"/></testcase>
</testsuite></testsuites>
"""


def test_outcomes_name_tests_and_uncollected_modules(runner: ModuleType, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    assert runner.outcomes(junit) == {
        "test_http.py": "error",
        "test_abnf.py::ABNFTest::test_ok": "passed",
        "test_abnf.py::ABNFTest::test_bad": "failed",
        "test_app.py::WebSocketAppTest::test_net": "skipped",
        "test_url.py::ProxyInfoTest::test_new": "failed",
    }


def test_a_failure_outside_the_list_fails_the_run(runner: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    found = {"test_http.py": "error", "a.py::T::ok": "passed", "a.py::T::bad": "failed", "b.py::T::new": "failed"}
    assert runner.report(found, {"test_http.py": "r", "a.py::T::bad": "r"}) == 1
    assert "UNEXPECTED failed: b.py::T::new" in capsys.readouterr().out
    assert runner.report(found, {"test_http.py": "r", "a.py::T::bad": "r", "b.py::T::new": "r"}) == 0


def test_listed_tests_that_pass_or_vanish_are_reported(runner: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.report({"a.py::T::ok": "passed"}, {"a.py::T::ok": "r", "gone.py::T::t": "r"}) == 0
    out = capsys.readouterr().out
    assert "now passes (remove it from the list): a.py::T::ok" in out
    assert "listed but not run (renamed or removed?): gone.py::T::t" in out


def test_every_listed_failure_has_a_reason(runner: ModuleType, tmp_path: Path) -> None:
    listed = runner.expected_failures()
    assert listed and all(reason for reason in listed.values())
    bad = tmp_path / "list.txt"
    bad.write_text("# comment\nx.py::T::t\n")
    with pytest.raises(SystemExit, match="no reason"):
        runner.expected_failures(bad)


def test_a_wrong_sdist_is_refused(runner: ModuleType, tmp_path: Path) -> None:
    fake = tmp_path / runner.SDIST
    fake.write_bytes(b"not the sdist")
    with pytest.raises(SystemExit, match="sha256"):
        runner.check_sdist(fake)
