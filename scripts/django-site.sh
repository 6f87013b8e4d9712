#!/usr/bin/env bash
# Runs the Django reference site (test/django_site/) that the end-to-end suite compares our Node app with.
#
#   scripts/django-site.sh start  [--version 3.2|4.2|5.2] [--port P] [--workers N] [--no-migrate]
#   scripts/django-site.sh stop   [--version 3.2|4.2|5.2] [--port P]
#   scripts/django-site.sh status [--version 3.2|4.2|5.2] [--port P]
#   scripts/django-site.sh manage [--version 3.2|4.2|5.2] -- <manage.py arguments>
#
# start: runs `manage.py migrate`, then gunicorn (or `runserver` when gunicorn is missing) bound to
# 127.0.0.1:P in the background, waits until it answers HTTP, and prints its URL (the only line on
# stdout). The pid file and the logs are .run/django-site-P.{pid,log,access.log}. --no-migrate skips
# the migrate, for a second site on a database that is already migrated (it saves a Python start).
#
# The site reads its settings from the environment (SECRET_KEY and DATABASE_URL are required; see
# test/django_site/README.md); this script passes the environment through unchanged.
# Version 3.2 is Debian's system Django; 4.2 and 5.2 come from .cache/django/<v>/ (scripts/setup-django.sh).
# The default port is 8032, 8042 or 8052 by version, so the three can run side by side.
#
# Env: DJANGO_SITE_PYTHON (default /usr/bin/python3), DJANGO_SITE_TIMEOUT (seconds to wait, default 30),
#      DJANGO_SITE_SERVER=gunicorn|runserver (default: gunicorn when installed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SITE="$ROOT/test/django_site"
RUN_DIR="$ROOT/.run"
PY="${DJANGO_SITE_PYTHON:-/usr/bin/python3}"
TIMEOUT="${DJANGO_SITE_TIMEOUT:-30}"

log() { printf '[django-site] %s\n' "$*" >&2; }
die() { printf '[django-site] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
COMMAND=$1; shift
VERSION=3.2
PORT=
WORKERS=2
MIGRATE=1
MANAGE_ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --version) [ $# -ge 2 ] || usage; VERSION=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; PORT=$2; shift 2 ;;
    --workers) [ $# -ge 2 ] || usage; WORKERS=$2; shift 2 ;;
    --no-migrate) MIGRATE=0; shift ;;
    --) shift; MANAGE_ARGS=("$@"); break ;;
    *) usage ;;
  esac
done

case $VERSION in
  3.2) ;;
  4.2|5.2)
    dist="$ROOT/.cache/django/$VERSION/usr/lib/python3/dist-packages"
    [ -d "$dist/django" ] || die "Django $VERSION is not unpacked in $dist (run scripts/setup-django.sh)"
    export PYTHONPATH="$dist${PYTHONPATH:+:$PYTHONPATH}"
    ;;
  *) die "unknown --version $VERSION (expected 3.2, 4.2 or 5.2)" ;;
esac
PORT="${PORT:-80${VERSION/./}}"
[[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number, got $PORT"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive number, got $WORKERS"

PID_FILE="$RUN_DIR/django-site-$PORT.pid"
LOG_FILE="$RUN_DIR/django-site-$PORT.log"
ACCESS_LOG="$RUN_DIR/django-site-$PORT.access.log"
URL="http://127.0.0.1:$PORT"

# The caller's working directory is kept (no cd), so a relative sqlite: URL names the same file the
# Node app opens from there.
manage() { "$PY" "$SITE/manage.py" "$@"; }

# Prints the pid from the pid file when that process is still alive.
running_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE")"
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# True once the server answers HTTP with any status (/user/test1 answers 400 without a session).
# Pure bash (/dev/tcp), because starting a Python per probe is slow on a busy machine.
answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
    printf 'GET /user/test1 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 10 status_line <&3 || exit 1
    [[ $status_line == HTTP/* ]]
  ) 2>/dev/null
}

check_django_version() {
  local got
  got="$("$PY" -c 'import django; print(django.get_version())')" || die "$PY cannot import django"
  case $got in
    "$VERSION".*) ;;
    *) die "wanted Django $VERSION, $PY imports $got" ;;
  esac
}

start() {
  local pid
  if pid="$(running_pid)"; then die "already running on port $PORT (pid $pid); stop it first"; fi
  check_django_version
  mkdir -p "$RUN_DIR"
  : >"$LOG_FILE"
  if [ "$MIGRATE" = 1 ]; then
    log "migrate (Django $VERSION)"
    manage migrate --noinput --verbosity 0
  fi

  local server="${DJANGO_SITE_SERVER:-}"
  if [ -z "$server" ]; then
    if command -v gunicorn >/dev/null 2>&1; then server=gunicorn; else server=runserver; fi
  fi
  if [ "$server" = gunicorn ]; then
    command -v gunicorn >/dev/null 2>&1 || die "gunicorn not found (install it, or DJANGO_SITE_SERVER=runserver)"
    # Run through $PY so gunicorn imports the same Django as migrate did. --preload imports the site
    # once in the master (faster start, and an import error stops the master at once); Django opens
    # database connections lazily, so the forked workers share none.
    "$PY" "$(command -v gunicorn)" dsb_site.wsgi:application --pythonpath "$SITE" --preload \
      --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
      --error-logfile "$LOG_FILE" --access-logfile "$ACCESS_LOG" --capture-output \
      </dev/null >>"$LOG_FILE" 2>&1 &
  elif [ "$server" = runserver ]; then
    log "using runserver (one process, threaded)"
    "$PY" "$SITE/manage.py" runserver "127.0.0.1:$PORT" --noreload </dev/null >>"$LOG_FILE" 2>&1 &
  else
    die "DJANGO_SITE_SERVER must be gunicorn or runserver, got $server"
  fi
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + TIMEOUT))
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 30 "$LOG_FILE" >&2 || true
      die "the server exited during start-up (log: $LOG_FILE)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOG_FILE" >&2 || true
      stop >/dev/null 2>&1 || true
      die "no answer on $URL after ${TIMEOUT}s (log: $LOG_FILE)"
    fi
    sleep 0.1
  done
  log "Django $VERSION on $URL (pid $pid, log $LOG_FILE)"
  printf '%s\n' "$URL"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running on port $PORT"
    return 0
  fi
  kill -TERM "$pid"
  # gunicorn's master stops its workers gracefully on TERM; give it a few seconds.
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      log "pid $pid still alive after 10s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then printf 'running %s pid %s\n' "$URL" "$pid"
  else printf 'stopped %s\n' "$URL"; return 3
  fi
}

case $COMMAND in
  start) start ;;
  stop) stop ;;
  status) status ;;
  manage) check_django_version; manage "${MANAGE_ARGS[@]}" ;;
  *) usage ;;
esac
