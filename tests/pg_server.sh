#!/bin/sh
# tests/pg_server.sh - a throw-away PostgreSQL server for the tests (issue 13).
#
#   eval "$(sh tests/pg_server.sh start --owner $$)"   # sets GENBO_PG_DIR, GENBO_PG_URL
#   (Python: subprocess.run(["sh", "tests/pg_server.sh", "start", "--owner", str(os.getpid())]),
#    then parse the two NAME=value lines of its stdout)
#   trap 'sh tests/pg_server.sh stop "$GENBO_PG_DIR"' EXIT
#   sh tests/pg_server.sh restart DIR      # pg_ctl restart (the same port)
#   sh tests/pg_server.sh psql DIR SQL [DB]  # one query (database genbo_test), bare rows
#   sh tests/pg_server.sh stop DIR         # stop the server and remove DIR
#   sh tests/pg_server.sh sweep            # remove servers whose owner died
#
# start: initdb into a fresh /tmp/genbo_pg_XXXXXX (trust auth, superuser
# `genbo`), pg_ctl start on a free TCP port of 127.0.0.1 (and a Unix socket
# in the data directory), create database `genbo_test`, print the two shell
# assignments above. fsync and full-page writes are off and the buffers small:
# a test server starts in about a second and nothing in it must survive a
# crash of the machine (--durable: all three on, as a benchmark against
# SQLite's synchronous = FULL needs). initdb and postgres refuse to run as root: as root
# (as in CI) they run as the `postgres` system user, which owns the
# directory. The binaries come from $GENBO_PG_BINDIR if set, else
# `pg_config --bindir`, else /usr/lib/postgresql/*/bin; without them start exits 77 (ctest's skip
# code, tests/CMakeLists) with a message saying so - never a silent pass.
#
# Every start first sweeps: a directory whose owner process (--owner PID,
# default the caller's parent) is gone has its server stopped and is
# removed, so a test program killed by a timeout leaks nothing for long.
set -u
PREFIX=/tmp/genbo_pg_

bindir() {
  if [ -n "${GENBO_PG_BINDIR:-}" ]; then   # an explicit choice: that or nothing
    [ -x "$GENBO_PG_BINDIR/initdb" ] && [ -x "$GENBO_PG_BINDIR/pg_ctl" ] && [ -x "$GENBO_PG_BINDIR/postgres" ] \
      && { echo "$GENBO_PG_BINDIR"; return 0; }
    return 1
  fi
  for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  done
  return 1
}

# Run a server binary as the directory's owner: `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

die() { echo "pg_server.sh: $*" >&2; exit 1; }

stop_dir() {
  st_d=$1
  case "$st_d" in "$PREFIX"*) ;; *) die "stop: '$st_d' is not a $PREFIX* directory" ;; esac
  [ -d "$st_d" ] || return 0
  if [ -f "$st_d/data/postmaster.pid" ] && st_b=$(bindir); then
    as_owner "$st_b/pg_ctl" stop -D "$st_d/data" -m immediate -w -t 30 >/dev/null 2>&1
  fi
  rm -rf "$st_d"
}

sweep() {
  # (sh has no locals: sw_ names keep start's $owner and $d intact)
  for sw_d in "$PREFIX"*; do
    [ -d "$sw_d" ] || continue
    sw_owner=$(cat "$sw_d/owner" 2>/dev/null || echo "")
    # a directory being set up has no owner file yet: leave it five
    # minutes (initdb and a first start take up to a minute under load)
    if [ -z "$sw_owner" ]; then
      [ -n "$(find "$sw_d" -maxdepth 0 -mmin +5 2>/dev/null)" ] && stop_dir "$sw_d"
      continue
    fi
    # alive: signalable, or present but another user's (kill -0 says EPERM)
    kill -0 "$sw_owner" 2>/dev/null || [ -d "/proc/$sw_owner" ] || stop_dir "$sw_d"
  done
}

# A TCP port nobody listens on (the server may still lose a race for it;
# start retries with another).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + $$ % 20000))
}

start() {
  owner=$PPID
  durable=off
  while [ $# -gt 0 ]; do
    case "$1" in
      --owner) owner=$2; shift 2 ;;
      --durable) durable=on; shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  B=$(bindir) || { echo "pg_server.sh: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found (pg_config --bindir, /usr/lib/postgresql/*/bin): install Debian's postgresql" >&2; exit 77; }
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "pg_server.sh: running as root and there is no 'postgres' user to run the server as" >&2
    exit 77
  fi
  sweep
  d=$(mktemp -d "${PREFIX}XXXXXX") || die "mktemp failed"
  # the owner file is written last, once the server is up: another
  # program's sweep (ctest runs two at once) must not take a server that
  # is being set up for one whose owner is already gone (--owner DEADPID)
  mkdir "$d/data"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$d"
  chmod 700 "$d/data"
  if ! as_owner "$B/initdb" -D "$d/data" -U genbo --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
       >"$d/initdb.log" 2>&1; then
    cat "$d/initdb.log" >&2; stop_dir "$d"; die "initdb failed"
  fi
  cat >> "$d/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$d'
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
shared_buffers = 16MB
max_connections = 60
max_wal_size = 256MB
log_min_messages = warning
logging_collector = off
EOF
  ok=0
  for try in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$B/pg_ctl" start -D "$d/data" -w -t 60 -l "$d/server.log" -o "-p $port" >/dev/null 2>&1; then
      ok=1; break
    fi
  done
  [ $ok -eq 1 ] || { tail -20 "$d/server.log" >&2; stop_dir "$d"; die "pg_ctl start failed"; }
  echo "$port" > "$d/port"
  if ! "$B/psql" -X -q -h 127.0.0.1 -p "$port" -U genbo -d postgres -c "CREATE DATABASE genbo_test" >/dev/null 2>"$d/createdb.log"; then
    cat "$d/createdb.log" >&2; stop_dir "$d"; die "CREATE DATABASE failed"
  fi
  echo "$owner" > "$d/owner"
  echo "GENBO_PG_DIR=$d"
  echo "GENBO_PG_URL=postgresql://genbo@127.0.0.1:$port/genbo_test"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  start) start "$@" ;;
  stop) [ $# -eq 1 ] || die "usage: stop DIR"; stop_dir "$1" ;;
  restart)
    [ $# -eq 1 ] || die "usage: restart DIR"
    B=$(bindir) || die "no server binaries"
    as_owner "$B/pg_ctl" restart -D "$1/data" -m fast -w -t 60 -l "$1/server.log" -o "-p $(cat "$1/port")" >/dev/null 2>&1 \
      || { tail -20 "$1/server.log" >&2; die "pg_ctl restart failed"; } ;;
  psql)
    [ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: psql DIR SQL [DATABASE]"
    B=$(bindir) || die "no server binaries"
    PGOPTIONS="-c client_min_messages=warning" "$B/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(cat "$1/port")" -U genbo -d "${3:-genbo_test}" -c "$2" ;;
  sweep) sweep ;;
  *) die "usage: pg_server.sh start [--owner PID] [--durable] | stop DIR | restart DIR | psql DIR SQL [DB] | sweep" ;;
esac
