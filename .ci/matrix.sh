#!/usr/bin/env bash
# The Python version matrix: every Python that requires-python claims, besides the 3.11 of
# the main run, in its own fresh venv installed from the sdist (so the C extension is
# built for each version). Per version: the unit and property tests, the blocking-client
# and WebSocketApp integration tests, and Autobahn cases 1-10. Versions run two at a time
# in the background with a log each; the summary prints each log's result lines.
# Where kosoku (the Autobahn server, Python >= 3.10) is missing, compliance/run.py runs
# it under the main run's .venv/bin/python (--kosoku-python) and the client here.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/common.sh
ROOT=$PWD
VERSIONS=${WSLINE_MATRIX_VERSIONS:-"3.9 3.10 3.12 3.13"}
JOBS=${WSLINE_MATRIX_JOBS:-2}
OUT=build/ci/matrix
mkdir -p "$OUT"
SDIST=$(sdist_path)
# A compiler here means every version must get the C speedup (tests/unit/test_mask.py checks).
REQUIRE=""
if command -v cc >/dev/null 2>&1; then REQUIRE=1; fi
AUTOBAHN_CASES=(-i '1.*' -i '2.*' -i '3.*' -i '4.*' -i '5.*' -i '6.*' -i '7.*' -i '9.*' -i '10.*')  # 8.* does not exist
TESTS=(tests/unit tests/integration/test_blocking_*.py tests/integration/test_app_*.py)

python_for() {
  local found
  found=$(ls -d /root/.pyenv/versions/"$1".*/bin/python3 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$found" ] || found=$(command -v "python$1" || true)
  echo "$found"
}

one_version() {  # one_version X.Y: everything for one Python; its output goes to $OUT/X.Y.log
  local v=$1 py venv kosoku=()
  py=$(python_for "$v")
  [ -n "$py" ] || { echo "no Python $v on this machine"; return 1; }
  venv=$OUT/venv-$v
  rm -rf "$venv"
  "$py" -m venv "$venv"
  quiet_pip "$venv/bin/python" -m pip install --quiet --upgrade pip
  quiet_pip "$venv/bin/python" -m pip install --quiet "$ROOT/$SDIST[test]"
  (cd / && "$ROOT/$venv/bin/python" -m websocket --version)
  # pytest's script, not "python -m pytest": the checkout's websocket/ must not shadow the install.
  WSLINE_REQUIRE_SPEEDUPS=$REQUIRE "$venv/bin/pytest" -x -q -p no:cacheprovider "${TESTS[@]}"
  "$venv/bin/python" -c "import kosoku" 2>/dev/null || kosoku=(--kosoku-python "$ROOT/.venv/bin/python")
  "$venv/bin/python" compliance/run.py --brief --timeout 300 "${kosoku[@]}" "${AUTOBAHN_CASES[@]}"
}

if [ "${1:-}" = --one ]; then  # the child for one version: set -e holds here (it would not in a "|| rc=$?" subshell)
  one_version "$2"
  exit 0
fi

run_logged() {  # run_logged X.Y: one version in a child bash; its status and seconds go to a file
  local v=$1 start=$SECONDS rc=0
  bash "$0" --one "$v" >"$OUT/$v.log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - start))" >"$OUT/$v.status"
}

for v in $VERSIONS; do
  rm -f "$OUT/$v.status"
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  echo "   starting Python $v (log: $OUT/$v.log)"
  run_logged "$v" &
done
wait

failed=0
for v in $VERSIONS; do
  read -r rc secs <"$OUT/$v.status" || { rc=99; secs=0; }
  echo "-- Python $v: $([ "$rc" = 0 ] && echo ok || echo "FAILED (status $rc)") in ${secs}s"
  grep -E "^Python [0-9]|^speedups:| passed| failed|^STRICT |harness error" "$OUT/$v.log" | sed 's/^/   /' || true
  if [ "$rc" != 0 ]; then
    failed=1
    echo "   last lines of $OUT/$v.log:"
    tail -30 "$OUT/$v.log" | sed 's/^/   | /'
  fi
done
exit "$failed"
