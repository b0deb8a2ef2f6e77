#!/usr/bin/env bash
# websocket-client 1.9.2's own test suite against wsline (compliance/wsclient_suite/run.py):
# fails when a test outside compliance/wsclient_suite/expected_failures.txt fails.
# Fetches the sdist from PyPI into build/wsclient-suite/ on the first run (about 30 s more).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== websocket-client's own test suite"
.venv/bin/python compliance/wsclient_suite/run.py
