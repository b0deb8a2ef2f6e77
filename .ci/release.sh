#!/usr/bin/env bash
# Release artefacts: an sdist and a wheel built the way a release would be (python -m build:
# the sdist first, the wheel from it), twine check, the contents each must carry, and a
# fresh venv that installs the built wheel (not the checkout) and runs the echo demo.
# The sdist is left in build/ci/dist for .ci/matrix.sh and .ci/pure.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/common.sh
OUT=build/ci/dist
DEMO=build/ci/demo-venv
rm -rf "$OUT" "$DEMO"
mkdir -p "$OUT"
quiet_pip .venv/bin/python -m pip install --quiet build twine
.venv/bin/python -m build --outdir "$OUT" . >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
.venv/bin/python -m twine check --strict "$OUT"/wsline-*
.venv/bin/python - "$OUT" <<'PY'
"""The sdist carries the C source, the tests and the docs; the wheel the typing markers."""
import sys, tarfile, zipfile
from pathlib import Path

out = Path(sys.argv[1])
(sdist,) = out.glob("wsline-*.tar.gz")
(wheel,) = out.glob("wsline-*.whl")
with tarfile.open(sdist) as tar:
    names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
with zipfile.ZipFile(wheel) as zf:
    in_wheel = set(zf.namelist())
need_sdist = ["websocket/_sansio/_speedups.c", "websocket/_sansio/_speedups.pyi", "websocket/py.typed",
              "tests/conftest.py", "tests/unit/test_mask.py", "docs/index.md", "docs/conf.py",
              "CHANGELOG.md", "README.md", "setup.py", "setup.cfg", "compliance/run.py", "examples/echo.py"]
need_wheel = ["websocket/py.typed", "websocket/_sansio/_speedups.pyi", "websocket/_version.py"]
missing = [f"sdist: {n}" for n in need_sdist if n not in names] + [f"wheel: {n}" for n in need_wheel if n not in in_wheel]
stray = [n for n in names if "node_modules/" in n or n.endswith((".so", ".pyc"))] + [n for n in in_wheel if n.endswith(".c")]
compiled = [n for n in in_wheel if n.startswith("websocket/_sansio/_speedups.") and n.endswith(".so")]
print(f"sdist {sdist.name}: {len(names)} files; wheel {wheel.name}: {len(in_wheel)} files, C speedup: {compiled or 'none'}")
if missing or stray:
    sys.exit(f"release artefacts wrong: missing {missing}, should not be there {stray}")
PY
python3 -m venv "$DEMO"
quiet_pip "$DEMO/bin/python" -m pip install --quiet "$OUT"/wsline-*.whl "websockets>=14"
ROOT=$PWD
# From another directory, so that nothing of the checkout can be imported.
(cd /tmp && "$ROOT/$DEMO/bin/python" -m websocket --version)
(cd /tmp && "$ROOT/$DEMO/bin/python" -c 'import sys, websocket; sys.exit(0 if "/demo-venv/" in websocket.__file__ else f"imported {websocket.__file__}")')
# The script's own folder (examples/) is on sys.path, not the checkout: websocket comes from the wheel.
"$DEMO/bin/python" examples/echo.py | tee "$OUT/echo.out"
grep -q "closed cleanly" "$OUT/echo.out"
echo "release artefacts ok: $(cd "$OUT" && ls wsline-*)"
