# Shared helpers for the test database scripts (sourced, not run).
# Everything lives under .run/ at the repository root (gitignored) unless DSB_RUN_DIR says otherwise.
set -euo pipefail

DSB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DSB_RUN_DIR="${DSB_RUN_DIR:-$DSB_ROOT/.run}"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A unix socket path must fit in sun_path (108 bytes on Linux). Deep checkouts fall back to a short
# path under /tmp that is unique per run directory.
short_socket_dir() {
  local wanted="$1" longest_name="$2"
  if (( ${#wanted} + ${#longest_name} + 1 < 100 )); then
    printf '%s\n' "$wanted"
  else
    printf '/tmp/dsb-%s\n' "$(printf '%s' "$wanted" | sha1sum | cut -c1-12)"
  fi
}

# Wait up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local seconds="$1"; shift
  local i
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}
