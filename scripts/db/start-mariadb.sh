#!/usr/bin/env bash
# Start a private MariaDB for tests and development on 127.0.0.1:${MARIADB_PORT:-33306}.
# Idempotent: initialises .run/mariadb/data once, starts mariadbd unless it already answers, and
# (re)creates database dsb_test and user dsb/dsb with all rights on dsb_% databases (test suites
# create their own dsb_<random> databases). Prints the DATABASE_URL on stdout; progress on stderr.
#
# The server keeps utf8mb4 with utf8mb4_general_ci, the default Debian/Ubuntu MariaDB packages
# configure, because that is what Django sites usually run on. Its _ci collation makes session_key
# comparisons case-insensitive (spec 3.1); tests must see that, not a stricter binary collation.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${MARIADB_PORT:-33306}"
BASE="$DSB_RUN_DIR/mariadb"
DATA="$BASE/data"
CNF="$BASE/my.cnf"
PIDFILE="$BASE/mariadb.pid"
LOGFILE="$BASE/mariadb.log"

for tool in mariadbd mariadb-install-db mariadb mariadb-admin; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] ||
    die "$tool not found: install MariaDB (Debian/Ubuntu: apt-get install mariadb-server)"
done
MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"

mkdir -p "$BASE"
SOCKDIR="$(short_socket_dir "$BASE" mariadb.sock)"
mkdir -p "$SOCKDIR"
SOCKET="$SOCKDIR/mariadb.sock"

# mariadbd refuses to run as root unless told to; a developer's own account just runs it as itself.
OS_USER="$(id -un)"

if [[ -s "$BASE/port" && "$(cat "$BASE/port")" != "$PORT" ]] && mariadb-admin --socket="$SOCKET" ping >/dev/null 2>&1; then
  die "a MariaDB from $BASE is already running on port $(cat "$BASE/port"); run scripts/db/stop-all.sh first to move it to $PORT"
fi

cat >"$CNF" <<CNF
[mysqld]
datadir = $DATA
socket = $SOCKET
pid-file = $PIDFILE
port = $PORT
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
log-error = $LOGFILE
innodb_buffer_pool_size = 128M
CNF

if [[ ! -d "$DATA/mysql" ]]; then
  log "initialising MariaDB data directory in $DATA"
  mariadb-install-db --defaults-file="$CNF" --user="$OS_USER" --skip-test-db \
    --auth-root-authentication-method=socket >"$BASE/install.log" 2>&1 ||
    die "mariadb-install-db failed; see $BASE/install.log"
fi

if mariadb-admin --socket="$SOCKET" ping >/dev/null 2>&1; then
  log "MariaDB already running on 127.0.0.1:$PORT"
else
  log "starting MariaDB on 127.0.0.1:$PORT"
  user_flag=()
  [[ "$(id -u)" == 0 ]] && user_flag=(--user=root)
  setsid "$MARIADBD" --defaults-file="$CNF" "${user_flag[@]}" </dev/null >>"$LOGFILE" 2>&1 &
  wait_for 60 mariadb-admin --socket="$SOCKET" ping ||
    die "MariaDB did not answer within 60 s; see $LOGFILE"
fi
echo "$PORT" >"$BASE/port"

# The install script gives the OS account that ran it a unix_socket login; that is our admin.
mariadb --socket="$SOCKET" -u "$OS_USER" <<'SQL' || die "could not create database dsb_test / user dsb"
CREATE DATABASE IF NOT EXISTS dsb_test;
CREATE USER IF NOT EXISTS 'dsb'@'%' IDENTIFIED BY 'dsb';
CREATE USER IF NOT EXISTS 'dsb'@'localhost' IDENTIFIED BY 'dsb';
GRANT ALL PRIVILEGES ON `dsb\_%`.* TO 'dsb'@'%';
GRANT ALL PRIVILEGES ON `dsb\_%`.* TO 'dsb'@'localhost';
FLUSH PRIVILEGES;
SQL

echo "mysql://dsb:dsb@127.0.0.1:$PORT/dsb_test"
