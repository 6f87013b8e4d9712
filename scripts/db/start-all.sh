#!/usr/bin/env bash
# Start the test database servers (MariaDB, PostgreSQL) and Redis and print the export lines of env.sh:
#   eval "$(scripts/db/start-all.sh)"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"
"$here/start-mariadb.sh" >/dev/null
"$here/start-postgres.sh" >/dev/null
"$here/start-redis.sh" >/dev/null
"$here/env.sh"
