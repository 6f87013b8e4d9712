#!/usr/bin/env bash
# Sets up the real Django peers the differential tests run against:
#   3.2  Debian bookworm's python3-django, installed system-wide (with the DB drivers and hashers
#        the other suites need);
#   4.2  python3-django from Debian trixie, unpacked into .cache/django/4.2/ (not installed);
#   5.2  python3-django from Debian trixie-backports, unpacked into .cache/django/5.2/ together
#        with trixie's python3-asgiref (5.2 needs asgiref >= 3.8; bookworm has 3.6).
# 4.2 and 5.2 run under /usr/bin/python3 with PYTHONPATH=<dir>/usr/lib/python3/dist-packages,
# so the system's 3.2 is never overwritten.
#
# Idempotent: every step is skipped when its result is already there. The newer releases are
# fetched with apt through a private sources list and private state dirs under .cache/apt-django/,
# so the system's apt state is not touched. The mirror is read from the system's own apt config.
#
# Env: DJANGO_APT_MIRROR=<url> overrides the mirror (e.g. when the system points at a snapshot).
#      DJANGO_SETUP_SKIP_SYSTEM=1 skips the system package step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
APT_DIR="$CACHE/apt-django"
DJANGO_DIR="$CACHE/django"
PY=/usr/bin/python3

SYSTEM_PACKAGES=(python3-django python3-mysqldb python3-bcrypt python3-psycopg2 python3-argon2 python3-django-redis)
SYSTEM_MODULES="django, MySQLdb, bcrypt, psycopg2, argon2, django_redis"

log() { printf '[setup-django] %s\n' "$*" >&2; }
die() { printf '[setup-django] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

# --- 1. System Django 3.2 and friends -------------------------------------------------------------
install_system_packages() {
  if [ "${DJANGO_SETUP_SKIP_SYSTEM:-}" = 1 ]; then return; fi
  if [ -x "$PY" ] && "$PY" -c "import $SYSTEM_MODULES" >/dev/null 2>&1; then
    log "system packages present"
    return
  fi
  log "installing ${SYSTEM_PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image may have no package lists yet: update once and retry.
  if ! as_root apt-get install -y --no-install-recommends "${SYSTEM_PACKAGES[@]}"; then
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends "${SYSTEM_PACKAGES[@]}"
  fi
}

# --- 2. Which Debian mirror this machine uses ------------------------------------------------------
# Prints the first non-security Debian archive URI from the system's apt configuration.
system_mirror() {
  if [ -n "${DJANGO_APT_MIRROR:-}" ]; then printf '%s\n' "${DJANGO_APT_MIRROR%/}"; return; fi
  local uri
  uri="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null \
    | awk '$2 !~ /security/ && $1 !~ /security/ { print $1; exit }')"
  if [ -z "$uri" ]; then
    # No package lists downloaded yet: read the source files themselves (one-line and deb822).
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk '
          /^[[:space:]]*#/ { next }
          /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } ; next }
          /^URIs:/ { print $2 }' \
      | grep -v security | grep '/debian/\?$' | head -n1)"
  fi
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt (set DJANGO_APT_MIRROR)"
  printf '%s\n' "${uri%/}"
}

APT_OPTS=()
prepare_private_apt() {
  local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mirror="$(system_mirror)"
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
  printf 'deb [signed-by=%s] %s trixie main\ndeb [signed-by=%s] %s trixie-backports main\n' \
    "$keyring" "$mirror" "$keyring" "$mirror" >"$APT_DIR/sources.list"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache"
  )
  log "apt update (trixie, trixie-backports from $mirror)"
  apt-get "${APT_OPTS[@]}" -qq update >&2
}

# Newest available version of PACKAGE whose version starts with PREFIX (e.g. "3:4.2.").
newest_version() {
  local package=$1 prefix=$2
  apt-cache "${APT_OPTS[@]}" madison "$package" \
    | awk -F'|' -v p="$prefix" '{ gsub(/ /, "", $2) } index($2, p) == 1 { print $2 }' \
    | sort -V -r | head -n1
}

# --- 3. Unpacked Django 4.2 / 5.2 -----------------------------------------------------------------
site_dir() { printf '%s/%s/usr/lib/python3/dist-packages' "$DJANGO_DIR" "$1"; }

is_unpacked() {
  local series=$1
  [ -f "$DJANGO_DIR/$series/.complete" ] &&
    PYTHONPATH="$(site_dir "$series")" "$PY" -c \
      "import django, sys; sys.exit(0 if django.get_version().startswith('$series.') else 1)" 2>/dev/null
}

# unpack SERIES PACKAGE=VERSION...
unpack() {
  local series=$1; shift
  local tmp="$DJANGO_DIR/.tmp-$series"
  rm -rf "$tmp" && mkdir -p "$tmp/debs"
  # As root, apt drops to user _apt for downloads, which cannot write into the checkout.
  local sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$tmp/debs" && apt-get "${APT_OPTS[@]}" "${sandbox[@]}" -qq download "$@" >&2)
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  printf '%s\n' "$@" >"$tmp/root/.complete"
  rm -rf "${DJANGO_DIR:?}/$series"
  mv "$tmp/root" "$DJANGO_DIR/$series"
  rm -rf "$tmp"
}

fetch_newer_djangos() {
  if is_unpacked 4.2 && is_unpacked 5.2; then
    log "Django 4.2 and 5.2 already unpacked"
    return
  fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "apt-get and dpkg-deb are needed"
  mkdir -p "$DJANGO_DIR"
  prepare_private_apt
  if ! is_unpacked 4.2; then
    local v42; v42="$(newest_version python3-django '3:4.2.')"
    [ -n "$v42" ] || die "no python3-django 4.2.x in trixie"
    log "unpacking python3-django=$v42"
    unpack 4.2 "python3-django=$v42"
  fi
  if ! is_unpacked 5.2; then
    local v52 vasgi
    v52="$(newest_version python3-django '3:5.2.')"
    vasgi="$(newest_version python3-asgiref '3.8.')"
    [ -n "$v52" ] || die "no python3-django 5.2.x in trixie-backports"
    [ -n "$vasgi" ] || die "no python3-asgiref 3.8.x in trixie"
    log "unpacking python3-django=$v52 python3-asgiref=$vasgi"
    unpack 5.2 "python3-django=$v52" "python3-asgiref=$vasgi"
  fi
}

report_versions() {
  local series
  printf '3.2 %s\n' "$("$PY" -c 'import django; print(django.get_version())')"
  for series in 4.2 5.2; do
    printf '%s %s\n' "$series" "$(PYTHONPATH="$(site_dir "$series")" "$PY" -c 'import django; print(django.get_version())')"
  done
}

install_system_packages
fetch_newer_djangos
report_versions
