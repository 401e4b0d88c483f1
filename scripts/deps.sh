#!/usr/bin/env bash
# deps: install the Debian packages backstock needs to build, run and test.
# Installs only what is missing (so a second run is quick); as root or
# through sudo.  Debian 12 names.
set -euo pipefail
pkgs=(
  # build
  gcc meson ninja-build pkg-config python3
  # libraries of the design card
  libmicrohttpd-dev libpq-dev libsodium-dev libxml2-dev libcurl4-openssl-dev libyajl-dev
  # the system of record: initdb, pg_ctl and the server for the embedded cluster
  postgresql
  # tests: cmocka, GMP as the independent reference for exact arithmetic,
  # clang + its sanitizer/libFuzzer runtime for the fuzz harnesses, clang-format for lint
  libcmocka-dev libgmp-dev clang libclang-rt-14-dev clang-format
  # the QuickFIX library (C++), the reference the FIX benchmark measures against
  # and the peer of the FIX interoperability tests
  g++ libquickfix-dev
  # used by the README's examples and the tests' health checks
  curl ca-certificates
  # the FIX session schedule reads time zones from /usr/share/zoneinfo
  tzdata
  # xmllint: the reference the custody benchmark measures our semt.002 parser against
  libxml2-utils
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
