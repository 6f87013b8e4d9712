#!/usr/bin/env bash
# Start a private Redis for tests and development on 127.0.0.1:${REDIS_PORT:-36379}.
# Idempotent: starts redis-server unless ours already answers on that port. No persistence (no RDB
# snapshots, no AOF): it is a cache, and the test suites clear their own keys. Prints the REDIS_URL
# on stdout; progress on stderr. Stopped by stop-all.sh (through .run/redis/redis.pid).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${REDIS_PORT:-36379}"
BASE="$DSB_RUN_DIR/redis"
PIDFILE="$BASE/redis.pid"
LOGFILE="$BASE/redis.log"

REDIS_SERVER="$(command -v redis-server || true)"
[[ -n "$REDIS_SERVER" ]] || die "redis-server not found: install Redis (Debian/Ubuntu: apt-get install redis-server)"
REDIS_CLI="$(command -v redis-cli || true)"

mkdir -p "$BASE"

answers() {
  if [[ -n "$REDIS_CLI" ]]; then
    [[ "$("$REDIS_CLI" -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" == PONG ]]
  else
    # bash's /dev/tcp: send PING, expect +PONG.
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf 'PING\r\n' >&3
    local reply
    read -r -t 2 reply <&3 || true
    exec 3<&- 3>&-
    [[ "$reply" == +PONG* ]]
  fi
}

if [[ -s "$BASE/port" && "$(cat "$BASE/port")" != "$PORT" && -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  die "a Redis from $BASE is already running on port $(cat "$BASE/port"); run scripts/db/stop-all.sh first to move it to $PORT"
fi

if answers; then
  log "Redis already running on 127.0.0.1:$PORT"
else
  log "starting Redis on 127.0.0.1:$PORT"
  # Every option on the command line, so no system redis.conf is read. `save ""` and
  # `appendonly no`: nothing is written to disk; `dir` keeps any stray file under .run/.
  "$REDIS_SERVER" --bind 127.0.0.1 --port "$PORT" --daemonize yes \
    --pidfile "$PIDFILE" --logfile "$LOGFILE" --dir "$BASE" \
    --save '' --appendonly no --protected-mode yes ||
    die "redis-server did not start; see $LOGFILE"
  wait_for 30 answers || die "Redis did not answer on 127.0.0.1:$PORT within 30 s; see $LOGFILE"
fi
echo "$PORT" >"$BASE/port"

echo "redis://127.0.0.1:$PORT/0"
