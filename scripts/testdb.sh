#!/usr/bin/env bash
# testdb: a throwaway PostgreSQL for the test suites, run by the service's
# own embedded-cluster code ("backstock pg start"), on a unix socket only.
#   scripts/testdb.sh start BUILD_DIR   prints: export BACKSTOCK_TEST_DATABASE_URL=...
#   scripts/testdb.sh stop  BUILD_DIR
# The cluster lives in $BACKSTOCK_TEST_PG_DIR (default /tmp/backstock-testdb-$UID).
set -euo pipefail
cmd=${1:?start or stop}
build=${2:?build dir}
dir=${BACKSTOCK_TEST_PG_DIR:-/tmp/backstock-testdb-$(id -u)}
bin="$build/services/backstock"
[ -x "$bin" ] || { echo "testdb: $bin not built" >&2; exit 2; }
unset BACKSTOCK_DATABASE_URL
export BACKSTOCK_DATA_DIR="$dir" BACKSTOCK_LOG_LEVEL=warn
case "$cmd" in
  start)
    mkdir -p "$dir"
    chmod 0711 "$dir"
    # Already running (a second shell, a re-run): reuse it, do not restart it.
    if [ -f "$dir/test-url" ] && psql "$(cat "$dir/test-url")" -Atqc 'SELECT 1' >/dev/null 2>&1; then
      url=$(cat "$dir/test-url")
    else
      url=$(BACKSTOCK_TEST_FAST_PG=1 "$bin" pg start)
      # The admin connection of the tests uses the maintenance database.
      url="${url% dbname=backstock} dbname=postgres"
      printf '%s\n' "$url" > "$dir/test-url"
    fi
    echo "export BACKSTOCK_TEST_DATABASE_URL=$(printf '%q' "$url")"
    ;;
  stop)
    rm -f "$dir/test-url"
    [ -d "$dir" ] && "$bin" pg stop
    ;;
  *) echo "usage: $0 start|stop BUILD_DIR" >&2; exit 2 ;;
esac
