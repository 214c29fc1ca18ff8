#!/usr/bin/env bash
# Herald beside Kamailio: the same sipp scenarios against each, in alternation, on the
# same machine in the same run, and one table of ratios Herald/Kamailio.
#
# Kamailio (Debian's 5.6) is configured for the same job (kamailio.cfg.in): registrar
# with usrloc in memory, digest auth against an in-memory table of the same users,
# stateful relay of an authenticated MESSAGE to the registered contact. Herald runs as
# the single-process (embedded) edition. Each kind of work is stepped up by
# bench/sipp/run.sh until a step fails; reported: the highest passing rate, p50/p99 at
# half of it, and the server's CPU seconds per 10,000 calls at that half rate.
#
#   bench/compare/run.sh                 # REGISTER and MESSAGE, UDP and TCP, one round
#   bench/compare/run.sh --pin           # servers on core 1, sipp on core 0
#   bench/compare/run.sh --rounds 3      # A B A B A B: medians of three
#   bench/compare/run.sh --smoke         # seconds at tiny rates: does it all still run?
# Other options: --work register|message|all, --transports "u1 t1", --users N,
# --start/--step/--max RATE, --secs S. Installs sip-tester and kamailio when missing
# (apt-get, as root). Stops everything it started. Exits 1 when a server passed no step.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

WORK=all TRANSPORTS="u1 t1" USERS=5000 START=2000 STEP=2000 MAX=40000 SECS=5 ROUNDS=1
PIN="" SMOKE=0
while (($#)); do
  case "$1" in
    --work) WORK=$2; shift ;;
    --transports) TRANSPORTS=$2; shift ;;
    --users) USERS=$2; shift ;;
    --start) START=$2; shift ;;
    --step) STEP=$2; shift ;;
    --max) MAX=$2; shift ;;
    --secs) SECS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --pin) PIN=1 ;;
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
if ((SMOKE)); then USERS=20 START=10 STEP=10 MAX=20 SECS=2 ROUNDS=1; fi

need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
  fi
  command -v "$1" >/dev/null || { echo "$1 is missing: apt-get install $2" >&2; exit 69; }
}
need sipp sip-tester
need kamailio kamailio
MPATH=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")
[ -d "$MPATH" ] || { echo "Kamailio's modules not found under /usr/lib" >&2; exit 69; }

WORKDIR=$(mktemp -d /tmp/herald-compare.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORKDIR"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIN_SERVER=() PIN_LOAD=()
if [ -n "$PIN" ]; then PIN_SERVER=(taskset -c 1); PIN_LOAD=(--pin); fi
DOMAIN=example.com

# The same users for both: u000001 … with passwords pw000001 ….
# BENCH_PROFILE=debug uses the test build (the CI's smoke run); measurements use release.
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  cargo build --quiet -p herald
  BIN=$ROOT/target/debug/herald
else
  cargo build --release --quiet -p herald
  BIN=$ROOT/target/release/herald
fi
{
  echo "address,password"
  for i in $(seq 1 "$USERS"); do printf 'u%06d,pw%06d\n' "$i" "$i"; done
} > "$WORKDIR/users.csv"
mkdir -p "$WORKDIR/kamdb"
{
  echo "id(int,auto) key_name(str) key_type(int) value_type(int) key_value(str) expires(int)"
  for i in $(seq 1 "$USERS"); do printf '%d:u%06d:0:0:pw%06d:0\n' "$i" "$i" "$i"; done
} > "$WORKDIR/kamdb/htable"
printf 'table_name(str) table_version(int)\nhtable:2\n' > "$WORKDIR/kamdb/version"

HPORT=$(free_port)
KPORT=$(free_port)
CHILDREN=2
sed -e "s|@DOMAIN@|$DOMAIN|g; s|@PORT@|$KPORT|g; s|@CHILDREN@|$CHILDREN|g" \
    -e "s|@MPATH@|$MPATH/|g; s|@DBDIR@|$WORKDIR/kamdb|g" \
    bench/compare/kamailio.cfg.in > "$WORKDIR/kamailio.cfg"
kamailio -c -f "$WORKDIR/kamailio.cfg" > "$WORKDIR/kamailio-check.log" 2>&1 ||
  { cat "$WORKDIR/kamailio-check.log" >&2; exit 1; }
export HERALD_DATA_DIR=$WORKDIR/herald HERALD_DOMAIN=$DOMAIN HERALD_LOG=warn
export HERALD_UDP=127.0.0.1:$HPORT HERALD_TCP=127.0.0.1:$HPORT
export HERALD_TLS=off HERALD_WS=off HERALD_WSS=off HERALD_HTTP=off HERALD_XCAP=off
# sipp is one source address sending thousands of requests a second.
export HERALD_RATE_PER_SOURCE=0
"$BIN" user import "$WORKDIR/users.csv" >/dev/null
# Each start begins from the users only (Kamailio's in-memory usrloc starts empty too).
cp -a "$WORKDIR/herald" "$WORKDIR/herald-users"

# Each ramp gets a freshly started server: an overloaded step leaves transactions (kept
# 32 s for retransmissions over UDP) and queues behind that would weigh on the next ramp.
SPID=""
start() { # start herald|kamailio: sets SPID and SADDR
  if [ "$1" = herald ]; then
    rm -rf "$WORKDIR/herald" && cp -a "$WORKDIR/herald-users" "$WORKDIR/herald"
    "${PIN_SERVER[@]}" "$BIN" > "$WORKDIR/herald.out" 2> "$WORKDIR/herald.err" &
    SPID=$! SADDR=127.0.0.1:$HPORT
    for _ in $(seq 100); do grep -q '^ready' "$WORKDIR/herald.out" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$WORKDIR/herald.out" || { cat "$WORKDIR/herald.err" >&2; exit 1; }
  else
    "${PIN_SERVER[@]}" kamailio -DD -E -f "$WORKDIR/kamailio.cfg" -m 512 -M 16 \
      -P "$WORKDIR/kamailio.pid" > "$WORKDIR/kamailio.err" 2>&1 &
    SPID=$! SADDR=127.0.0.1:$KPORT
    for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$KPORT") 2>/dev/null && break; sleep 0.1; done
  fi
  PIDS+=("$SPID")
}
stop() {
  kill "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  # The ports must be free again before the next start.
  for _ in $(seq 50); do
    (echo > "/dev/tcp/${SADDR%:*}/${SADDR#*:}") 2>/dev/null || break
    sleep 0.1
  done
}

echo "# $(date -u +%FT%TZ) on $(nproc) cores; Herald $("$BIN" --version | awk '{print $2}') (embedded) vs $(kamailio -v | head -1 | awk '{print $2, $3}') ($CHILDREN UDP + $CHILDREN TCP workers); $(sipp -v 2>&1 | grep -o 'SIPp v[0-9.]*' | head -1)"
echo "# $USERS users, rates $START, +$STEP … $MAX per ${SECS}s step, $ROUNDS round(s), $([ -n "$PIN" ] && echo 'pinned: servers on core 1, sipp on core 0' || echo unpinned)"

# sipp SERVER WORK TRANSPORT OUT [ARGS…]: bench/sipp/run.sh against a fresh server.
sipp_on() {
  local name=$1 work=$2 tr=$3 out=$4
  shift 4
  start "$name"
  bench/sipp/run.sh --server "$SADDR" --pid "$SPID" --domain "$DOMAIN" --work "$work" \
    --transport "$tr" --users "$USERS" --secs "$SECS" "${PIN_LOAD[@]}" "$@" > "$out" 2>&1 || true
  stop
  sed "s/^/  $name $tr: /" "$out" | grep -v '^  [a-z]* [a-z0-9]*: # s' || true
}

# run SERVER WORK TRANSPORT: the ramp, then latency and CPU at half the highest rate on
# another fresh server (right after an overloaded step a server is still digesting it);
# appends "server work transport best p50 p99 cpu".
run() {
  local name=$1 work=$2 tr=$3 out best half
  out=$WORKDIR/$name-$work-$tr-$RANDOM
  sipp_on "$name" "$work" "$tr" "$out.ramp" --start "$START" --step "$STEP" --max "$MAX"
  best=$(grep -o 'highest rate with zero failures: [0-9]*' "$out.ramp" | grep -o '[0-9]*$' || echo 0)
  half=$((best / 2))
  if ((best == 0)); then
    { echo "== $name $work $tr:"; cat "$out.ramp"; tail -20 "$WORKDIR/$name.err" 2>/dev/null; } >> "$WORKDIR/failures"
  fi
  if ((half > 0)); then
    sipp_on "$name" "$work" "$tr" "$out.half" --once "$half"
  else
    : > "$out.half"
  fi
  awk -v s="$name" -v w="$work" -v t="$tr" -v best="${best:-0}" '
    /p50=/ {
      for (i = 1; i <= NF; i++) { if ($i ~ /^p50=/) p = (length($i) > 4 ? substr($i, 5) : $(i + 1)); if ($i ~ /^p99=/) q = (length($i) > 4 ? substr($i, 5) : $(i + 1)); if ($i ~ /^cpu=/) c = (length($i) > 4 ? substr($i, 5) : $(i + 1)) }
    }
    END { print s, w, t, best, (p == "" ? "-" : p), (q == "" ? "-" : q), (c == "" ? "-" : c) }
  ' "$out.half" >> "$WORKDIR/results"
}

WORKS=$([ "$WORK" = all ] && echo "register message" || echo "$WORK")
for r in $(seq 1 "$ROUNDS"); do
  for w in $WORKS; do
    for tr in $TRANSPORTS; do
      # Alternate which server goes first from round to round.
      if ((r % 2)); then order="herald kamailio"; else order="kamailio herald"; fi
      for s in $order; do run "$s" "$w" "$tr"; done
    done
  done
done

echo
echo "| work | transport | Herald highest rate | Kamailio highest rate | ratio | Herald p50 / p99 (ms) | Kamailio p50 / p99 (ms) | CPU s per 10k calls, Herald / Kamailio |"
echo "|---|---|---|---|---|---|---|---|"
python3 - "$WORKDIR/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(xs):
    xs = [float(x) for x in xs if x not in ("-", "")]
    return statistics.median(xs) if xs else None
keys = []
for r in rows:
    if (r[1], r[2]) not in keys:
        keys.append((r[1], r[2]))
names = {"register": "REGISTER + digest", "message": "MESSAGE relay + digest"}
for w, t in keys:
    h = [r for r in rows if r[0] == "herald" and r[1] == w and r[2] == t]
    k = [r for r in rows if r[0] == "kamailio" and r[1] == w and r[2] == t]
    hb, kb = med([r[3] for r in h]), med([r[3] for r in k])
    ratio = f"{hb / kb:.2f}×" if hb and kb else "-"
    def lat(rs):
        p, q = med([r[4] for r in rs]), med([r[5] for r in rs])
        return f"{p:g} / {q:g}" if p is not None and q is not None else "-"
    hc, kc = med([r[6] for r in h]), med([r[6] for r in k])
    cpu = f"{hc:g} / {kc:g}" if hc is not None and kc is not None else "-"
    tr = {"u1": "UDP", "t1": "TCP"}.get(t, t)
    print(f"| {names.get(w, w)} | {tr} | {hb or 0:g}/s | {kb or 0:g}/s | {ratio} | {lat(h)} | {lat(k)} | {cpu} |")
PY
# A run in which a server passed no step at all is a broken setup, not a measurement.
if awk '$4 == 0 {bad = 1} END {exit !bad}' "$WORKDIR/results"; then
  echo "a server passed no step:" >&2
  awk '$4 == 0' "$WORKDIR/results" >&2
  cat "$WORKDIR/failures" >&2
  exit 1
fi
