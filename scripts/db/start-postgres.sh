#!/usr/bin/env bash
# Start a private PostgreSQL for tests and development on 127.0.0.1:${PG_PORT:-35432}.
# Idempotent: initdb into .run/postgres/data once, start unless it already answers, and create role
# dsb (password dsb, CREATEDB, so suites can create their own dsb_<random> databases) and database
# dsb_test. Prints the DATABASE_URL on stdout; progress on stderr.
#
# PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` account
# (created by Debian's postgresql package); a developer's own account runs them as itself.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${PG_PORT:-35432}"
BASE="$DSB_RUN_DIR/postgres"

find_pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then printf '%s\n' "$PG_BIN"; return; fi
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then printf '%s\n' "$dir"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  die "initdb not found: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set PG_BIN"
}
PG_BIN="$(find_pg_bin)"

as_server_user() {
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' account to own the server"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

mkdir -p "$BASE"
# Where the server's own files live. As root they must be reachable by the postgres account; a
# checkout under a private home (e.g. /root) is not, so the data then moves to /var/tmp and
# $BASE/home records where (stop-all.sh reads it).
PG_HOME="$BASE"
if [[ "$(id -u)" == 0 ]]; then
  chown postgres: "$BASE"
  if ! as_server_user test -w "$BASE"; then
    PG_HOME="/var/tmp/dsb-postgres-$(printf '%s' "$BASE" | sha1sum | cut -c1-12)"
    mkdir -p "$PG_HOME"
    chown postgres: "$PG_HOME"
    log "note: the postgres account cannot reach $BASE; the server's files live in $PG_HOME"
  fi
fi
echo "$PG_HOME" >"$BASE/home"
DATA="$PG_HOME/data"
LOGFILE="$PG_HOME/postgres.log"
SOCKDIR="$(short_socket_dir "$PG_HOME/socket" ".s.PGSQL.$PORT.lock")"
mkdir -p "$SOCKDIR"
if [[ "$(id -u)" == 0 ]]; then chown postgres: "$SOCKDIR"; fi

running() { as_server_user "$PG_BIN/pg_isready" -q -h "$SOCKDIR" -p "$PORT"; }

if [[ ! -f "$DATA/PG_VERSION" ]]; then
  log "initialising PostgreSQL data directory in $DATA"
  # C.UTF-8 exists on every glibc system; an unset locale would give SQL_ASCII databases.
  as_server_user "$PG_BIN/initdb" -D "$DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_HOME/initdb.log" 2>&1 ||
    die "initdb failed; see $PG_HOME/initdb.log"
fi

if running; then
  log "PostgreSQL already running on 127.0.0.1:$PORT"
else
  log "starting PostgreSQL on 127.0.0.1:$PORT"
  as_server_user "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories='$SOCKDIR'" start >&2 ||
    die "PostgreSQL did not start; see $LOGFILE"
fi
echo "$PORT" >"$BASE/port"
echo "$SOCKDIR" >"$BASE/socket-dir"

psql_admin() { as_server_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PORT" -U postgres -d postgres "$@"; }

psql_admin <<'SQL' || die "could not create role dsb"
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dsb') THEN
    CREATE ROLE dsb LOGIN PASSWORD 'dsb' CREATEDB;
  END IF;
END
$$;
SQL
if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'dsb_test'")" != 1 ]]; then
  psql_admin -c 'CREATE DATABASE dsb_test OWNER dsb' || die "could not create database dsb_test"
fi

echo "postgres://dsb:dsb@127.0.0.1:$PORT/dsb_test"
