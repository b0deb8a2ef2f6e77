"""Run every fuzz target for a bounded time: ``python tests/fuzz/run.py --seconds 60``.

Each target (fuzz_<name>.py) runs in its own process under atheris, starting
from its seed corpus (corpus/<name>/, never modified: new inputs go to a
temporary directory, or to ``--keep DIR``). A crash, an undocumented
exception, a broken invariant, a slow input (``--unit-timeout``) or a memory
blow-up (``--rss-mb``) fails the run; the input that did it is written next
to the report (``--artifacts``, default a temporary directory) and its path
printed, ready to be added to the corpus once the bug is fixed.

``--replay`` runs the corpus through the checks once, without atheris
(what tests/unit/test_hostile_fuzz_corpus.py does in the default test run).
Exit status: 0 when every target ran clean, 1 otherwise, 2 without atheris.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = ("frames", "handshake", "deflate")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (default 60)")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--max-len", type=int, default=4096, help="largest input tried (default 4096 bytes)")
    parser.add_argument("--unit-timeout", type=int, default=10, help="seconds one input may take (default 10)")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit of a target process (default 2048)")
    parser.add_argument("--artifacts", type=Path, help="where failing inputs go (default: a temporary directory)")
    parser.add_argument("--keep", type=Path, help="keep the inputs found here, one subdirectory per target")
    parser.add_argument("--replay", action="store_true", help="run the corpus once through the checks, without atheris")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer's random seed (0: a new one each run; CI fixes one)")
    return parser.parse_args(argv)


def replay(targets: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    from _fuzz_targets import TARGETS as CHECKS

    failed = 0
    for name in targets:
        files = sorted((HERE / "corpus" / name).iterdir())
        for path in files:
            try:
                CHECKS[name](path.read_bytes())
            except Exception as exc:  # reported, then the run fails
                failed += 1
                print(f"FAIL {name} {path.name}: {type(exc).__name__}: {exc}")
        print(f"{name}: {len(files)} corpus inputs replayed")
    return 1 if failed else 0


def fuzz_one(name: str, args: argparse.Namespace, work: Path, artifacts: Path) -> tuple[bool, str]:
    """Run one target; returns (clean, one-line summary)."""
    corpus = work / name
    corpus.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(HERE / f"fuzz_{name}.py"),
        f"-max_total_time={args.seconds}",
        f"-max_len={args.max_len}",
        f"-timeout={args.unit_timeout}",
        f"-rss_limit_mb={args.rss_mb}",
        f"-artifact_prefix={artifacts}/{name}-",
        "-print_final_stats=1",
        f"-seed={args.seed}",
        str(corpus),  # new inputs are written here...
        str(HERE / "corpus" / name),  # ...the seeds are only read
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 120, check=False)
    except subprocess.TimeoutExpired:
        return False, f"{name}: did not stop within {args.seconds + 120}s"
    elapsed = time.monotonic() - started
    log = done.stdout + done.stderr
    (artifacts / f"{name}.log").write_text(log)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    summary = (
        f"{name}: {runs.group(1) if runs else '?'} inputs in {elapsed:.0f}s, {len(list(corpus.iterdir()))} new in the corpus"
    )
    if done.returncode != 0:
        crash = re.findall(r"Test unit written to (\S+)", log)
        tail = "\n".join(log.strip().splitlines()[-30:])
        return False, f"{summary}\n  FAILED (exit {done.returncode}), input: {', '.join(crash) or 'see log'}\n{tail}"
    return True, summary


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.replay:
        return replay(args.targets)
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed (pip install atheris; Linux wheels for CPython 3.9-3.13)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wsline-fuzz-") as tmp:
        work = args.keep or Path(tmp) / "corpus"
        artifacts = args.artifacts or Path(tmp) / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        results = [fuzz_one(name, args, work, artifacts) for name in args.targets]
        for _, summary in results:
            print(summary)
        clean = all(ok for ok, _ in results)
        if not clean and args.artifacts is None:
            kept = Path(tempfile.mkdtemp(prefix="wsline-fuzz-artifacts-"))
            shutil.copytree(artifacts, kept, dirs_exist_ok=True)
            print(f"failing inputs and logs copied to {kept}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
