#!/usr/bin/env bash
# The dependents lane: kubernetes, docker, streamlink and slack_sdk on wsline.
#
# Its own venv (.venv-dependents), so the main .venv never holds websocket-client.
# Those packages require websocket-client, which installs files into the same
# `websocket/` package: install the extra, then uninstall websocket-client. wsline
# is an editable install here, so its files live in the repository and uninstalling
# websocket-client cannot touch them; tests/dependents/conftest.py refuses to run
# if `import websocket` is anything but wsline.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-dependents
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test,dependents]"
"$VENV/bin/python" -m pip uninstall --quiet --yes websocket-client
"$VENV/bin/python" -c 'import websocket, sys; sys.exit(0 if hasattr(websocket, "CloseCode") else "websocket is not wsline: " + websocket.__file__)'
"$VENV/bin/python" -m websocket doctor
"$VENV/bin/python" -m pytest tests/dependents -rs
