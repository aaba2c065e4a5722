#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests (Debian's postgresql
# package, which scripts/dev installs): initdb in a directory of its own,
# listening on a Unix socket in that directory only (no TCP port, so no
# traffic leaves the machine and parallel runs never collide), run as an
# unprivileged user when started as root (PostgreSQL refuses root).
#
#   pg_server.sh start DIR   creates DIR, starts the server, creates the
#                            database "pxed" and prints its conninfo
#   pg_server.sh stop DIR    stops it and removes DIR
#   pg_server.sh halt DIR    stops it, keeping the data (restart with start)
#
# Exits 77 when PostgreSQL is not installed (a skip for the callers).
set -euo pipefail

cmd=${1:?start, stop or halt}
dir=${2:?a directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $bin && -x $bin/initdb ]] || { echo "PostgreSQL is not installed (scripts/dev deps)" >&2; exit 77; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    if [[ ! -d $dir/data ]]; then
      mkdir -p "$dir"
      chmod 0755 "$dir"
      [[ $(id -u) -ne 0 ]] || chown nobody "$dir"
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U pxed -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
      fresh=1
    fi
    # fsync off: a test server needs no crash safety, and its disk writes
    # would slow the tests beside it.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c max_connections=50" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    if [[ ${fresh:-0} -eq 1 ]]; then
      as_owner "$bin/psql" -h "$dir" -U pxed -d postgres -qAt -c "CREATE DATABASE pxed" >/dev/null
    fi
    echo "host=$dir dbname=pxed user=pxed"
    ;;
  halt)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  stop)
    if [[ -d $dir/data ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "pg_server.sh: start, stop or halt" >&2; exit 2 ;;
esac
