# Sourced by the .ci/*.sh lanes.

# pip without this machine's "WARNING: Location ... is ignored" lines (a find-links of
# the pip configuration that does not exist here); pip's own exit status is kept.
quiet_pip() {
  local log rc=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || rc=$?
  grep -v '^WARNING: Location' "$log" || true
  rm -f "$log"
  return "$rc"
}

# The newest sdist in build/ci/dist (made by .ci/release.sh), built here if there is none.
sdist_path() {
  local found
  found=$(ls build/ci/dist/wsline-*.tar.gz 2>/dev/null | head -1 || true)
  if [ -z "$found" ]; then
    mkdir -p build/ci/dist
    quiet_pip .venv/bin/python -m build --sdist --outdir build/ci/dist . >/dev/null
    found=$(ls build/ci/dist/wsline-*.tar.gz | head -1)
  fi
  echo "$found"
}
