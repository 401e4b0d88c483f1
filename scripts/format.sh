#!/usr/bin/env bash
# format: rewrite every C source in place with the project's .clang-format.
set -eu
root=${MESON_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
find common db api services tests fuzz bench migrations chain custody fix issuance reconcile \
  -name '*.[ch]' -not -path '*/build*' 2>/dev/null | sort | xargs clang-format -i
echo "format: done"
