#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing (run by `npm test`
# through "pretest", and by .ci/run). Tests use real peers: pyzmq stands in for the reference
# Python nodes (test/fixtures/legacy_node.py); Debian's mosquitto is the real MQTT broker of the
# uplink tests (test/link/mosquitto.ts starts it on a free loopback port, never as a service),
# and mosquitto-clients gives them mosquitto_sub; promtool (Debian's prometheus package, the only
# one with it) checks the /metrics output (test/metrics/); systemd-analyze (Debian's systemd
# package; nothing is started) verifies the packaged unit (test/ship/systemd-unit.test.ts);
# Debian's nats-server (with -js) is the real JetStream server of the NATS uplink tests
# (test/link/nats-server.ts, same rules), and nats-py goes into the project-local venv
# .venv-nats for the interop tests. As root it installs with apt-get; otherwise it
# says what to install and the tests that need it fail with the same hint.
set -euo pipefail

# nats-py (the reference NATS router's client) for the interop tests (test/link/nats-py.test.ts),
# in a project-local virtual environment: never the system's Python packages. A failure (no
# package index) only warns: those tests then fail with the same hint.
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-nats"
nats_py() {
  "$venv/bin/python" -c 'import nats' 2>/dev/null && return 0
  { /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install -q nats-py; } >/dev/null 2>&1 \
    || echo "system-deps: could not install nats-py into $venv (python3 -m venv $venv && $venv/bin/pip install nats-py)" >&2
}
trap nats_py EXIT

missing=()
/usr/bin/python3 -c 'import zmq' 2>/dev/null || missing+=(python3-zmq)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_sub >/dev/null || missing+=(mosquitto-clients)
command -v promtool >/dev/null || missing+=(prometheus)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing Debian packages: ${missing[*]} (install them: sudo apt-get install -y ${missing[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# --no-install-recommends: promtool needs none of the prometheus server's recommends.
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
