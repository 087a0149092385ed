#!/usr/bin/env bash
# The fleet server under load, a crash and a database restart, on loopback, against both databases.
#
#   bench/server-load.sh [N] [CLIENTS]      (default 5000 SBOMs from 32 clients)
#   BACKENDS=postgres bench/server-load.sh  (one database only; the restart run is PostgreSQL's)
#
# 1. Load: CLIENTS threads push N generated CycloneDX SBOMs of 300 to 3,000 components
#    (bench/server_load.py); ingest throughput and p50/p99 latency; then every acknowledged release
#    (201) is read back with its component count: zero lost.
# 2. Crash: a smaller load, the server killed with SIGKILL 5 s in and started again on the same
#    database; clients retry what got no answer. Every acknowledged release is present and whole.
# 3. Database restart (PostgreSQL): PostgreSQL stopped 5 s into a load and started 3 s later; the
#    requests meanwhile get 503 and are retried; then nothing is missing.
# Needs a release build (swift build -c release --static-swift-stdlib --product provenant) and Debian's postgresql; runs as root or as a user
# who may run initdb.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
CLIENTS=${2:-32}
BIN="${PROVENANT_BIN:-$PWD/.build/release/provenant}"
[ -x "$BIN" ] || { echo "build first: swift build -c release --static-swift-stdlib --product provenant" >&2; exit 2; }
work=$(mktemp -d /tmp/provenant-server-load.XXXXXX)
chmod 755 "$work"
pg="$work/pg"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true; bash scripts/test-postgres stop "$pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
pg_url=$(bash scripts/test-postgres start "$pg")
pg_port=$(cat "$pg/port")
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

database() {  # backend name -> a fresh --database value
  case "$1" in
    sqlite) echo "sqlite:$work/fleet-$2.sqlite" ;;
    postgres) psql -h 127.0.0.1 -p "$pg_port" -U provenant -d postgres -qc "CREATE DATABASE load_$2" >/dev/null
              echo "postgres://provenant@127.0.0.1:$pg_port/load_$2" ;;
  esac
}
start_server() {  # database
  # The OSV database is the default: beside an SQLite database, a private cache of the shared log on PostgreSQL.
  "$BIN" server --database "$1" --listen "127.0.0.1:$port" --rate-limit 1000000 \
    --max-body-mib 16 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server did not start" >&2; tail "$work/server.log" >&2; exit 2
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

cd "$work"
for backend in ${BACKENDS:-sqlite postgres}; do
  echo "== $backend: load, $N SBOMs from $CLIENTS clients"
  db=$(database "$backend" main)
  token=$("$BIN" server token create --database "$db" --scope admin 2>/dev/null)
  start_server "$db"
  python3 "$OLDPWD/bench/server_load.py" load "$base" "$token" "$N" "$CLIENTS" 1
  python3 "$OLDPWD/bench/server_load.py" verify "$base" "$token" acks.json
  echo "-- re-match cost of one advisory import: a package in ~3% of releases, 50 such packages, and common-lib (in every release)"
  python3 "$OLDPWD/bench/server_load.py" advisory "$base" "$token" pkg-00042
  python3 "$OLDPWD/bench/server_load.py" advisory "$base" "$token" $(seq -f 'pkg-%05g' 100 149)
  python3 "$OLDPWD/bench/server_load.py" advisory "$base" "$token" common-lib
  [ "$backend" = postgres ] && psql -h 127.0.0.1 -p "$pg_port" -U provenant -d load_main -Atc \
    "SELECT 'database size ' || pg_size_pretty(pg_database_size('load_main')) || ', components ' || (SELECT count(*) FROM components) || ', findings ' || (SELECT count(*) FROM findings)" \
    && psql -h 127.0.0.1 -p "$pg_port" -U provenant -d load_main -Atc \
    "SELECT c.relname || ' ' || c.relkind::text || ' ' || pg_relation_size(c.oid)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r','i') AND pg_relation_size(c.oid) > 1000000 ORDER BY pg_relation_size(c.oid) DESC"
  [ "$backend" = sqlite ] && echo "database size $(du -h "$work/fleet-main.sqlite" | cut -f1)"
  stop_server

  echo "== $backend: kill -9 during ingest"
  db=$(database "$backend" crash)
  token=$("$BIN" server token create --database "$db" --scope admin 2>/dev/null)
  start_server "$db"
  python3 "$OLDPWD/bench/server_load.py" load "$base" "$token" 600 "$CLIENTS" 2 > crash-load.json &
  loader=$!
  sleep 5
  kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
  echo "killed the server with SIGKILL 5 s into the load; restarting on the same database"
  start_server "$db"
  wait "$loader"; cat crash-load.json
  python3 "$OLDPWD/bench/server_load.py" verify "$base" "$token" acks.json
  stop_server
done

echo "== postgres: PostgreSQL restarted during ingest"
db=$(database postgres restart)
token=$("$BIN" server token create --database "$db" --scope admin 2>/dev/null)
start_server "$db"
python3 "$OLDPWD/bench/server_load.py" load "$base" "$token" 600 "$CLIENTS" 3 > restart-load.json &
loader=$!
sleep 5
as_pg "$bin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null
echo "PostgreSQL stopped 5 s into the load; health while it is down: $(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")"
sleep 3
as_pg "$bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 60 \
  -o "-p $pg_port -k $pg -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
echo "PostgreSQL started again"
wait "$loader"; cat restart-load.json
python3 "$OLDPWD/bench/server_load.py" verify "$base" "$token" acks.json
stop_server
