#!/usr/bin/env bash
# Presence load: PUBLISH → NOTIFY fan-out through Herald (release, embedded edition).
#   1. one presentity with N watchers (--fanout N);
#   2. many presentities (--presentities P) with M watchers each (--watchers M).
# For each, the PUBLISH rate is stepped up (--rates); each step reports NOTIFY/s
# delivered, PUBLISH→NOTIFY latency p50/p99 and whether it passed (every PUBLISH 200 and
# every watcher's last NOTIFY shows the last state); then the highest passing step. The
# server's RSS after a first and a second wave of subscriptions (each followed by --settle
# seconds, for the SUBSCRIBE transactions to end) gives memory per subscription.
# NOTIFY coalescing is set to 0 ms here (every change is sent) so that throughput is
# measured, not the coalescing interval.
#
#   bench/presence/run.sh                                 # defaults
#   bench/presence/run.sh --fanout 10000 --fanout-rates 1,2,5,10,20
#   bench/presence/run.sh --smoke                         # seconds, tiny: does it run?
#   bench/presence/run.sh --herald-bin /tmp/herald-before # measure that build (A/B runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

FANOUT=2000 FANOUT_RATES=1,2,5,10,20,50 PRESENTITIES=1000 WATCHERS=5 RATES=50,100,200,500,1000
SECS=5 PIN=0 SETTLE=35 HERALD_BIN=""
while (($#)); do
  case "$1" in
    --fanout) FANOUT=$2; shift ;;
    --fanout-rates) FANOUT_RATES=$2; shift ;;
    --presentities) PRESENTITIES=$2; shift ;;
    --watchers) WATCHERS=$2; shift ;;
    --rates) RATES=$2; shift ;;
    --secs) SECS=$2; shift ;;
    --pin) PIN=1 ;;
    --settle) SETTLE=$2; shift ;;
    --herald-bin) HERALD_BIN=$2; shift ;;
    --smoke) FANOUT=20 FANOUT_RATES=1,2 PRESENTITIES=5 WATCHERS=2 RATES=5 SECS=1 SETTLE=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done

WORKDIR=$(mktemp -d /tmp/herald-presence-bench.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORKDIR"
}
trap cleanup EXIT

# BENCH_PROFILE=debug uses the test build (the CI's smoke run); measurements use release.
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  cargo build --quiet -p herald -p herald-bench-presence
  BIN=$ROOT/target/debug/herald
  LOAD=$ROOT/target/debug/presence-load
else
  cargo build --release --quiet -p herald -p herald-bench-presence
  BIN=$ROOT/target/release/herald
  LOAD=$ROOT/target/release/presence-load
fi
if [ -n "$HERALD_BIN" ]; then
  [ -x "$HERALD_BIN" ] || { echo "--herald-bin $HERALD_BIN: not an executable file" >&2; exit 66; }
  BIN=$HERALD_BIN
fi
FREE_PORT=$PWD/bench/free_port.py
free_port() { python3 "$FREE_PORT"; }
TS_SERVER="" TS_LOAD=""
if ((PIN)); then TS_SERVER="taskset -c 1" TS_LOAD="taskset -c 0"; fi

# start USERS: a fresh server with u000001.. users; sets PORT and PID.
start() {
  local users=$1
  kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORKDIR/data"
  PORT=$(free_port)
  export HERALD_DATA_DIR=$WORKDIR/data HERALD_DOMAIN=example.com HERALD_LOG=warn
  export HERALD_UDP=127.0.0.1:$PORT HERALD_TCP=off HERALD_TLS=off HERALD_WS=off HERALD_WSS=off
  export HERALD_HTTP=off HERALD_XCAP=off HERALD_RATE_PER_SOURCE=0 HERALD_NOTIFY_MIN_INTERVAL_MS=0
  # Each generated watcher subscribes to every presentity of its group.
  export HERALD_MAX_SUBSCRIPTIONS_PER_USER=0
  {
    echo "address,password"
    for i in $(seq 1 "$users"); do printf 'u%06d,pw%06d\n' "$i" "$i"; done
  } > "$WORKDIR/users.csv"
  "$BIN" user import "$WORKDIR/users.csv" >/dev/null
  $TS_SERVER "$BIN" > "$WORKDIR/herald.out" 2> "$WORKDIR/herald.err" &
  PID=$!
  for _ in $(seq 100); do grep -q '^ready' "$WORKDIR/herald.out" 2>/dev/null && break; sleep 0.1; done
}

echo "# Herald $("$BIN" --version | awk '{print $2}') presence load, $(date -u +%FT%TZ), $(nproc) cores, pinned=$PIN"
echo "## one presentity, $FANOUT watchers"
start $((1 + FANOUT))
$TS_LOAD "$LOAD" --server "127.0.0.1:$PORT" --pid "$PID" --presentities 1 --watchers "$FANOUT" \
  --rates "$FANOUT_RATES" --secs "$SECS" --settle-secs "$SETTLE"
echo "## $PRESENTITIES presentities, $WATCHERS watchers each"
start $((PRESENTITIES + WATCHERS))
$TS_LOAD "$LOAD" --server "127.0.0.1:$PORT" --pid "$PID" --presentities "$PRESENTITIES" \
  --watchers "$WATCHERS" --rates "$RATES" --secs "$SECS" --settle-secs "$SETTLE"
