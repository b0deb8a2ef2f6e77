#!/usr/bin/env bash
# The pure-Python install: a wheel built from the sdist with the C extension switched off
# (WSLINE_NO_EXTENSION=1) must be a py3-none-any wheel that installs in a fresh venv,
# imports, says which implementation it uses, and passes the unit, protocol and
# blocking-client integration tests and the whole Autobahn run with WSLINE_NO_SPEEDUPS=1 (the one
# switch that puts masking on pure Python even where wsaccel is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/common.sh
ROOT=$PWD
OUT=build/ci/pure
VENV=$OUT/venv
rm -rf "$OUT"
mkdir -p "$OUT"
SDIST=$(sdist_path)
# From the sdist, unpacked by pip in a temporary folder: no build/ left over from a compiled build.
quiet_pip env WSLINE_NO_EXTENSION=1 .venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$OUT/dist" "$SDIST"
WHEEL=$(ls "$OUT"/dist/wsline-*-py3-none-any.whl) || { echo "no pure-Python (py3-none-any) wheel was built"; ls "$OUT/dist"; exit 1; }
python3 -m venv "$VENV"
quiet_pip "$VENV/bin/python" -m pip install --quiet "$WHEEL[test]"
(cd / && "$ROOT/$VENV/bin/python" -m websocket --version)
(cd / && WSLINE_NO_SPEEDUPS=1 "$ROOT/$VENV/bin/python" -m websocket --version) | tee "$OUT/version.txt"
grep -q "^speedups: pure Python" "$OUT/version.txt"
if (cd / && "$ROOT/$VENV/bin/python" -c "import websocket._sansio._speedups" 2>/dev/null); then
  echo "the pure wheel carries the C extension"; exit 1
fi
export WSLINE_NO_SPEEDUPS=1
# This wheel has no C speedup by design: .ci/run's WSLINE_REQUIRE_SPEEDUPS does not apply here.
unset WSLINE_REQUIRE_SPEEDUPS
# pytest's script, not "python -m pytest": the checkout's websocket/ must not shadow the install.
"$VENV/bin/pytest" -q -p no:cacheprovider tests/unit tests/integration/test_blocking_*.py
# All 517 cases; WSLINE_PURE_AUTOBAHN="-i 1.*" narrows them for a quick local try.
read -r -a cases <<<"${WSLINE_PURE_AUTOBAHN:-}"
"$VENV/bin/python" compliance/run.py --brief --timeout 300 "${cases[@]}"
