#!/usr/bin/env python3
"""Run websocket-client's own test suite against the installed wsline.

websocket-client's sdist ships its tests (``websocket/tests/``, with an echo
server on ``websockets``). This script takes the sdist (``--sdist FILE``, a
copy cached in ``--cache``, or ``pip download`` from PyPI into that cache),
copies the tests, and only the tests, into a temporary directory, starts the
echo server on a free 127.0.0.1 port as the suite expects
(``LOCAL_WS_SERVER_PORT``), and runs pytest there with this interpreter, so
``import websocket`` is wsline (checked before the run and again inside it).
Internet and proxy tests stay off, as in websocket-client's default run.

Every failing test must be listed in ``expected_failures.txt`` (next to this
file) with the reason; the script prints the counts and exits 1 when a test
outside that list fails or errors. Listed tests that pass are reported, so
the list can shrink.

    python compliance/wsclient_suite/run.py [--sdist FILE] [--cache DIR] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VERSION = "1.9.2"
SDIST = f"websocket_client-{VERSION}.tar.gz"
SDIST_SHA256 = "0fcb57545848be86992e128218fd96dd87a6769ffdb1a968dff79632b85604d0"  # as published on PyPI
EXPECTED = HERE / "expected_failures.txt"
START_TIMEOUT = 15.0
RUN_TIMEOUT = 900.0
PER_TEST_TIMEOUT = 60

# Put in the copied suite: fails the whole run at once if ``import websocket`` is not wsline.
CONFTEST = '''
import websocket


def pytest_configure(config):
    if not hasattr(websocket, "_sansio"):
        raise SystemExit(f"import websocket resolved to {websocket.__file__}, not wsline")
'''


def fetch_sdist(cache: Path, given: Path | None) -> Path:
    """The sdist to use: ``given``, else the cached copy, else one downloaded into ``cache``."""
    if given is not None:
        return given
    cached = cache / SDIST
    if cached.exists():
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", f"websocket-client=={VERSION}"]
    cmd += ["--no-deps", "--no-binary", ":all:", "-d", str(cache)]
    subprocess.run(cmd, check=True, timeout=300)
    if not cached.exists():
        raise SystemExit(f"pip download did not produce {cached}")
    return cached


def check_sdist(sdist: Path) -> None:
    """Refuse a file that is not the published sdist (a stale or tampered cache)."""
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256} (websocket-client {VERSION}'s sdist)")


def extract_tests(sdist: Path, dest: Path) -> Path:
    """Copy ``websocket/tests/`` out of the sdist into ``dest/wsc_tests`` (never the package itself)."""
    prefix = f"websocket_client-{VERSION}/websocket/tests/"
    target = dest / "wsc_tests"
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if not member.name.startswith(prefix) or not (member.isfile() or member.isdir()):
                continue
            relative = member.name[len(prefix) :]
            path = (target / relative).resolve()
            if target.resolve() not in path.parents and path != target.resolve():
                raise SystemExit(f"refusing a path outside the test directory: {member.name}")
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            path.write_bytes(source.read())
    (target / "conftest.py").write_text(CONFTEST)
    (dest / "pytest.ini").write_text("[pytest]\n")
    return target


def check_import(cwd: Path) -> str:
    """Where ``import websocket`` resolves from ``cwd``; exits unless it is wsline."""
    out = subprocess.run(
        [sys.executable, "-c", "import websocket, sys; print(websocket.__file__); sys.exit(not hasattr(websocket, '_sansio'))"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode != 0:
        raise SystemExit(f"import websocket is not wsline here: {out.stdout.strip()} {out.stderr.strip()}")
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def echo_server(tests: Path, port: int) -> Iterator[None]:
    """websocket-client's echo-server.py on ``port``, stopped (and reaped) afterwards."""
    env = {**os.environ, "LOCAL_WS_SERVER_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, str(tests / "echo-server.py")], cwd=tests, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the echo server exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the echo server did not listen on 127.0.0.1:{port} within {START_TIMEOUT} s")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_pytest(work: Path, port: int, junit: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(LOCAL_WS_SERVER_PORT=str(port), TEST_WITH_INTERNET="0", TEST_WITH_PROXY="0", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "wsc_tests", "-q", "-p", "no:cacheprovider", "--rootdir", str(work)]
    cmd += ["--continue-on-collection-errors"]
    cmd += ["-c", str(work / "pytest.ini"), f"--timeout={PER_TEST_TIMEOUT}", f"--junitxml={junit}", "-o", "junit_family=xunit2"]
    return subprocess.run(cmd, cwd=work, env=env, timeout=RUN_TIMEOUT).returncode


def outcomes(junit: Path) -> dict[str, str]:
    """test id (``file.py::Class::test``) -> passed / failed / error / skipped, from the JUnit report."""
    found: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        parts = [p for p in classname.split(".") if p]
        if parts and parts[0] == "wsc_tests":
            parts = parts[1:]
        if not parts:  # a collection error: the name is the module's dotted path
            test_id = name.removeprefix("wsc_tests.") + ".py"
        else:
            module = parts[0] + ".py"
            test_id = "::".join([module, *parts[1:], name])
        kinds = {child.tag for child in case}
        state = "error" if "error" in kinds else "failed" if "failure" in kinds else "skipped" if "skipped" in kinds else "passed"
        found[test_id] = state
    return found


def expected_failures(path: Path = EXPECTED) -> dict[str, str]:
    """The listed test ids (a module name stands for a module that cannot be collected) with their reasons."""
    listed: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition("  # ")
        if not reason.strip():
            raise SystemExit(f"{path.name}: no reason given for {test_id!r}")
        listed[test_id.strip()] = reason.strip()
    return listed


def report(found: dict[str, str], listed: dict[str, str]) -> int:
    counts = {state: sum(1 for s in found.values() if s == state) for state in ("passed", "failed", "error", "skipped")}
    print(f"websocket-client {VERSION} suite on wsline: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    bad = sorted(t for t, s in found.items() if s in ("failed", "error"))
    unexpected = [t for t in bad if t not in listed]
    fixed = sorted(t for t in listed if found.get(t) == "passed")
    missing = sorted(t for t in listed if t not in found)
    print(f"{len(bad) - len(unexpected)} failures/errors are listed in {EXPECTED.relative_to(ROOT)} with their reasons")
    for test_id in fixed:
        print(f"  now passes (remove it from the list): {test_id}")
    for test_id in missing:
        print(f"  listed but not run (renamed or removed?): {test_id}")
    for test_id in unexpected:
        print(f"  UNEXPECTED {found[test_id]}: {test_id}")
    return 1 if unexpected else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sdist", type=Path, help=f"a local {SDIST} (default: cached copy or PyPI)")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "wsclient-suite", help="where the sdist is kept")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (its path is printed)")
    args = parser.parse_args(argv)
    sdist = fetch_sdist(args.cache, args.sdist)
    check_sdist(sdist)
    work = Path(tempfile.mkdtemp(prefix="wsclient-suite-"))
    try:
        tests = extract_tests(sdist, work)
        print(f"import websocket -> {check_import(work)}")
        port = free_port()
        junit = work / "junit.xml"
        with echo_server(tests, port):
            run_pytest(work, port, junit)
        if not junit.exists():
            raise SystemExit("pytest wrote no report")
        return report(outcomes(junit), expected_failures())
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
