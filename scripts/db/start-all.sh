#!/usr/bin/env bash
# Start both test database servers and print the export lines of env.sh:
#   eval "$(scripts/db/start-all.sh)"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"
"$here/start-mariadb.sh" >/dev/null
"$here/start-postgres.sh" >/dev/null
"$here/env.sh"
