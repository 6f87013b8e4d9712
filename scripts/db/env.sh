#!/usr/bin/env bash
# Print `export MARIADB_URL=… POSTGRES_URL=… REDIS_URL=…` for the test suite: eval "$(scripts/db/env.sh)".
# Ports come from the running servers' records under .run/, else from MARIADB_PORT / PG_PORT or the
# defaults the start scripts use.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mariadb_port="${MARIADB_PORT:-33306}"
[[ -s "$DSB_RUN_DIR/mariadb/port" ]] && mariadb_port="$(cat "$DSB_RUN_DIR/mariadb/port")"
pg_port="${PG_PORT:-35432}"
[[ -s "$DSB_RUN_DIR/postgres/port" ]] && pg_port="$(cat "$DSB_RUN_DIR/postgres/port")"
redis_port="${REDIS_PORT:-36379}"
[[ -s "$DSB_RUN_DIR/redis/port" ]] && redis_port="$(cat "$DSB_RUN_DIR/redis/port")"

echo "export MARIADB_URL=mysql://dsb:dsb@127.0.0.1:$mariadb_port/dsb_test"
echo "export POSTGRES_URL=postgres://dsb:dsb@127.0.0.1:$pg_port/dsb_test"
echo "export REDIS_URL=redis://127.0.0.1:$redis_port/0"
