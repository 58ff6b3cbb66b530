#!/bin/sh
# Install genbo's build and test dependencies from Debian's packages, only
# what is missing (a no-op on a machine that has them all).
# python3-numpy and python3-pytest run the Python module's tests (python/tests).
# chromium, chromium-driver and python3-selenium run the dashboard's browser
# tests (tests/browser/), which skip themselves without them. libdnnl-dev
# (oneDNN) runs the diffusion network's bf16 products on AMX/AVX512-BF16.
# libpq-dev is the PostgreSQL client library of the PostgreSQL back end;
# postgresql (the server) lets its tests start a throw-away server
# (tests/pg_server.sh; without it they are skipped and say so).
set -eu
PKGS="build-essential cmake pkg-config libopenblas-dev liblapacke-dev libnlopt-dev \
libsqlite3-dev sqlite3 libcriterion-dev libcjson-dev libmicrohttpd-dev libdnnl-dev python3 python3-numpy python3-pytest clang \
chromium chromium-driver python3-selenium libpq-dev postgresql"
# `install-deps.sh bench` adds PyTorch (Debian's python3-torch), which only
# the benchmark's W1 comparison uses.
[ "${1:-}" = "bench" ] && PKGS="$PKGS python3-torch"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "genbo: installing missing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
