#!/usr/bin/env bash
# test: the README's second command, and what CI runs (.ci/run calls it).
# Installs what is missing, builds with -Werror, lints, starts a throwaway
# PostgreSQL (unix socket only), runs every meson suite, runs them all
# again under AddressSanitizer + UndefinedBehaviorSanitizer (leaks too), runs
# each libFuzzer harness for a bounded time, stops what it started, and
# ends with one line: "N passed, N failed" (", N skipped" when any).
# A skipped test fails the run unless BACKSTOCK_ALLOW_SKIP=1.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${BACKSTOCK_FUZZ_SECONDS:-20}
status=0
logs=()

step() { printf '\n== %s\n' "$*"; }
fail() { echo "test.sh: $*" >&2; status=1; }

step "dependencies"
scripts/deps.sh || { echo "test.sh: cannot install dependencies" >&2; exit 1; }

step "build (warnings are errors)"
if [ -f build/build.ninja ]; then meson setup --reconfigure build --werror >/dev/null; else meson setup build --werror >/dev/null; fi || exit 1
ninja -C build || exit 1

step "lint"
ninja -C build lint || fail "lint found problems"

step "throwaway PostgreSQL for the tests"
export BACKSTOCK_TEST_PG_DIR=${BACKSTOCK_TEST_PG_DIR:-$(mktemp -d /tmp/backstock-testdb.XXXXXX)}
stop_pg() { scripts/testdb.sh stop build >/dev/null 2>&1; rm -rf "$BACKSTOCK_TEST_PG_DIR"; }
trap stop_pg EXIT
if env_line=$(scripts/testdb.sh start build | tail -1); then
  eval "$env_line"
  echo "test database: $BACKSTOCK_TEST_DATABASE_URL"
else
  # The suites that need it fail loudly on their own; keep going so the counts show it.
  fail "could not start the test PostgreSQL"
fi

step "all suites"
meson test -C build --no-rebuild --print-errorlogs --num-processes 2 || fail "some tests failed"
logs+=(build/meson-logs/testlog.json)

step "every suite again under address + undefined sanitizers"
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
if [ -f build-san/build.ninja ]; then :; else
  meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false --werror >/dev/null || exit 1
fi
if ninja -C build-san; then
  meson test -C build-san --no-rebuild --print-errorlogs --num-processes 2 || fail "sanitizer run failed"
  logs+=(build-san/meson-logs/testlog.json)
else
  fail "sanitize build failed"
fi

step "fuzz harnesses, ${fuzz_seconds}s each"
if [ -f build-fuzz/build.ninja ]; then :; else
  CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Dfuzz_seconds="$fuzz_seconds" >/dev/null || exit 1
fi
if ninja -C build-fuzz; then
  meson test -C build-fuzz --no-rebuild --print-errorlogs --suite fuzz || fail "a fuzz harness failed"
  logs+=(build-fuzz/meson-logs/testlog.json)
else
  fail "fuzz build failed"
fi

read -r passed failed skipped < <(python3 - "${logs[@]}" <<'PY'
import json, sys
p = f = s = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        f += 1
        continue
    for line in lines:
        r = json.loads(line).get('result')
        if r in ('OK', 'EXPECTEDFAIL'):
            p += 1
        elif r == 'SKIP':
            s += 1
        else:
            f += 1
print(p, f, s)
PY
)
if [ "$skipped" -gt 0 ] && [ "${BACKSTOCK_ALLOW_SKIP:-0}" != 1 ]; then
  fail "$skipped test(s) skipped; every suite must run"
fi
[ "$failed" -gt 0 ] && status=1
[ "$passed" -eq 0 ] && fail "no test ran"
echo
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
