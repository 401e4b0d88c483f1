#!/usr/bin/env bash
# run: the README's first command.  Installs what is missing, builds, and
# runs the service in the foreground on its embedded defaults: it listens
# on 127.0.0.1:8080 (BACKSTOCK_LISTEN), keeps its data in ./var
# (BACKSTOCK_DATA_DIR) with a private PostgreSQL there, and stops it all
# on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build services/backstock >/dev/null
exec build/services/backstock "$@"
