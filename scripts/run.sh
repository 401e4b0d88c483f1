#!/usr/bin/env bash
# run: the README's first command.  Installs what is missing, builds, and
# runs the service in the foreground on its embedded defaults, with the
# whole demo around it:
#   - a private PostgreSQL under the data folder (./var, BACKSTOCK_DATA_DIR)
#     unless BACKSTOCK_DATABASE_URL names one;
#   - the simulated broker (FIX acceptor, 127.0.0.1:9878) and the broker
#     connector that logs on to it;
#   - the simulated custodian (127.0.0.1:9879), which settles the broker's
#     trades and drops its sese.025 and semt.002 documents into
#     <data>/custody-in, which the service ingests;
#   - the demo principals, instruments (TSLAx, AAPLx, NVDAx) and wallet,
#     with their API keys written to <data>/demo-keys.json and printed;
#   - the service (API on 127.0.0.1:8080, BACKSTOCK_LISTEN, and the engine).
# Everything shares one database and so one clock (docs/clock.md): move it
# with `build/services/backstock clock advance 1d`.  Ctrl-C or SIGTERM
# stops all of it.  Logs of the helpers go to <data>/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build services/backstock services/backstock-simbroker \
  services/backstock-simcustodian >/dev/null
bin=$PWD/build/services
data=${BACKSTOCK_DATA_DIR:-var}
mkdir -p "$data"
data=$(cd "$data" && pwd)
export BACKSTOCK_DATA_DIR=$data

own_pg=0
pids=()
stop_all() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  if [ "$own_pg" = 1 ]; then
    env -u BACKSTOCK_DATABASE_URL "$bin/backstock" pg stop >/dev/null 2>&1 || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${BACKSTOCK_DATABASE_URL:-}" ]; then
  own_pg=1
  BACKSTOCK_DATABASE_URL=$("$bin/backstock" pg start)
fi
export BACKSTOCK_DATABASE_URL
"$bin/backstock" migrate 2>>"$data/service.log"

# The simulated broker: fills at these prices, settles T+1 (docs/simbroker.md).
cat >"$data/simbroker.conf" <<EOF
listen = 127.0.0.1:9878
sender_comp_id = BROKER
target_comp_ids = BACKSTOCK
settle_days = 1
price.TSLA = 250.00
price.AAPL = 190.00
price.NVDA = 120.00
behaviour.default = fill
EOF
"$bin/backstock-simbroker" --config "$data/simbroker.conf" >>"$data/simbroker.log" 2>&1 &
pids+=($!)

# The simulated custodian: settles the broker's trades into the drop folder.
mkdir -p "$data/custody-in"
if [ ! -s "$data/simcustodian.token" ]; then
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$data/simcustodian.token")
fi
cat >"$data/simcustodian.conf" <<EOF
listen = 127.0.0.1:9879
token = $(cat "$data/simcustodian.token")
out_dir = $data/custody-in
account_servicer = SIMCUSTXXXX
safekeeping_account = RESERVE-01
isin.TSLA = US88160R1014
isin.AAPL = US0378331005
isin.NVDA = US67066G1040
poll_ms = 200
EOF
chmod 600 "$data/simcustodian.conf"
"$bin/backstock-simcustodian" --config "$data/simcustodian.conf" >>"$data/simcustodian.log" 2>&1 &
pids+=($!)

export BACKSTOCK_CUSTODY_SERVICERS=${BACKSTOCK_CUSTODY_SERVICERS:-SIMCUSTXXXX}
export BACKSTOCK_CUSTODY_ACCOUNTS=${BACKSTOCK_CUSTODY_ACCOUNTS:-RESERVE-01}
export BACKSTOCK_CUSTODY_DROP_DIR=${BACKSTOCK_CUSTODY_DROP_DIR:-$data/custody-in}

"$bin/backstock" connector >>"$data/connector.log" 2>&1 &
pids+=($!)

echo "demo keys (also in $data/demo-keys.json):"
"$bin/backstock" demo seed --out "$data/demo-keys.json" 2>>"$data/service.log"
# A demo started at night or over a weekend moves the clock to the next open.
"$bin/backstock" demo open 2>>"$data/service.log"
echo "logs: $data/*.log; stop with Ctrl-C"

"$bin/backstock" serve "$@" &
pids+=($!)
wait "${pids[-1]}"
