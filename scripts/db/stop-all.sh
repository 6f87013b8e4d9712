#!/usr/bin/env bash
# Stop the private MariaDB, PostgreSQL and Redis started by start-mariadb.sh / start-postgres.sh /
# start-redis.sh.
# Only the servers whose pid files live under .run/ are touched; data directories are kept.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MARIADB_BASE="$DSB_RUN_DIR/mariadb"
if [[ -s "$MARIADB_BASE/mariadb.pid" ]]; then
  pid="$(cat "$MARIADB_BASE/mariadb.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping MariaDB (pid $pid)"
    kill -TERM "$pid"
    wait_for 60 bash -c "! kill -0 $pid" || die "MariaDB (pid $pid) did not stop within 60 s"
  fi
fi

PG_BASE="$DSB_RUN_DIR/postgres"
[[ -s "$PG_BASE/home" ]] && PG_BASE="$(cat "$PG_BASE/home")"
if [[ -f "$PG_BASE/data/postmaster.pid" ]]; then
  pg_ctl_bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}/pg_ctl"
  [[ -x "$pg_ctl_bin" ]] || pg_ctl_bin="$(command -v pg_ctl || true)"
  [[ -n "$pg_ctl_bin" ]] || die "pg_ctl not found; set PG_BIN"
  log "stopping PostgreSQL"
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$pg_ctl_bin" -D "$PG_BASE/data" -m fast -w stop >&2
  else
    "$pg_ctl_bin" -D "$PG_BASE/data" -m fast -w stop >&2
  fi
fi

REDIS_PIDFILE="$DSB_RUN_DIR/redis/redis.pid"
if [[ -s "$REDIS_PIDFILE" ]]; then
  pid="$(cat "$REDIS_PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping Redis (pid $pid)"
    kill -TERM "$pid"
    wait_for 30 bash -c "! kill -0 $pid" || die "Redis (pid $pid) did not stop within 30 s"
  fi
fi
