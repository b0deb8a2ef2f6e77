#!/usr/bin/env bash
# Real network faults (tests/netns): a blackholed link, a 1 Mbit/s token bucket, a slow
# and jittery path through a userspace relay. Needs root and iproute2 (ip, tc); the tests
# make their own namespace and veth pair (10.200.0.0/16) and remove them. About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."
# The happy eyeballs tests also need iptables/ip6tables (DROP rules inside their namespace) and ss.
if ! command -v ip >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1 || ! command -v ip6tables >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 iptables >/dev/null; } \
      || echo "iproute2 not installed: the network fault tests will be skipped"
  fi
fi
WSLINE_NETNS=1 .venv/bin/python -m pytest -rs tests/netns
