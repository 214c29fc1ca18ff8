#!/usr/bin/env bash
# Load test with sipp: REGISTER with digest, and MESSAGE relayed between registered users.
# For each kind of work the rate is stepped up; the script prints, per step, whether every
# call succeeded, p50/p99 latency, the server's CPU seconds per 10,000 calls (its process and
# children) and memory (PSS summed over them);
# then the highest step with zero failures and the latency at half that rate.
#
# Without --server it builds and starts Herald (release, embedded edition) on loopback
# with a throwaway data directory and N users. With --server HOST:PORT --pid PID it drives
# any server that has the same users (u000001 .. with passwords pw000001 ..) in --domain,
# so the same scenarios can be pointed at another server (the Kamailio comparison).
#
#   bench/sipp/run.sh                         # everything, defaults
#   bench/sipp/run.sh --work register --start 1000 --step 1000 --max 20000
#   bench/sipp/run.sh --smoke                 # a few seconds, tiny rates: does it run?
#   bench/sipp/run.sh --once 4000 --work message   # one step at that rate, no ramp
#   bench/sipp/run.sh --max-p99 500           # a step also fails ("SLOW") when its
#                                             # p99 is above 500 ms (default: no bound)
#   bench/sipp/run.sh --herald-bin /tmp/herald-before   # that build, not this tree's
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCEN=$ROOT/tests/scenarios

WORK=all TRANSPORT=u1 USERS=2000 START=500 STEP=500 MAX=20000 SECS=5
SERVER="" PID="" DOMAIN=example.com SMOKE=0 ONCE="" TASKSET_SERVER="" TASKSET_LOAD="" MAX_P99="" HERALD_BIN=""
while (($#)); do
  case "$1" in
    --work) WORK=$2; shift ;;
    --transport) TRANSPORT=$2; shift ;;
    --users) USERS=$2; shift ;;
    --start) START=$2; shift ;;
    --step) STEP=$2; shift ;;
    --max) MAX=$2; shift ;;
    --secs) SECS=$2; shift ;;
    --server) SERVER=$2; shift ;;
    --pid) PID=$2; shift ;;
    --domain) DOMAIN=$2; shift ;;
    --pin) TASKSET_SERVER="taskset -c 1"; TASKSET_LOAD="taskset -c 0" ;;
    --smoke) SMOKE=1 ;;
    --once) ONCE=$2; shift ;;
    --max-p99) MAX_P99=$2; shift ;;
    --herald-bin) HERALD_BIN=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
if ((SMOKE)); then USERS=20 START=10 STEP=10 MAX=20 SECS=2; fi
command -v sipp >/dev/null || { echo "sipp is missing: apt-get install sip-tester" >&2; exit 69; }
if [ -n "$SERVER" ] && [ -n "$HERALD_BIN" ]; then
  echo "--herald-bin starts that build; --server drives one already running: give one of them" >&2; exit 64
fi
if [ -n "$SERVER" ] && [ -z "$PID" ]; then
  echo "--server needs --pid (the server's process id, for CPU and memory)" >&2; exit 64
fi

WORKDIR=$(mktemp -d /tmp/herald-bench.XXXXXX)
STARTED=""
cleanup() {
  [ -n "${UAS_PID:-}" ] && kill "$UAS_PID" 2>/dev/null || true
  [ -n "$STARTED" ] && kill "$STARTED" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORKDIR"
}
trap cleanup EXIT

FREE_PORT=$PWD/bench/free_port.py
free_port() { python3 "$FREE_PORT"; }

if [ -z "$SERVER" ]; then
  if [ -n "$HERALD_BIN" ]; then
    [ -x "$HERALD_BIN" ] || { echo "--herald-bin $HERALD_BIN: not an executable file" >&2; exit 66; }
    BIN=$HERALD_BIN
  else
    cargo build --release --quiet -p herald
    BIN=$ROOT/target/release/herald
  fi
  PORT=$(free_port)
  export HERALD_DATA_DIR=$WORKDIR/data HERALD_DOMAIN=$DOMAIN HERALD_LOG=warn
  export HERALD_UDP=127.0.0.1:$PORT HERALD_TCP=127.0.0.1:$PORT
  export HERALD_TLS=off HERALD_WS=off HERALD_WSS=off HERALD_HTTP=off
  # One sipp process is one source address sending thousands of requests a second: the
  # per-source budget (a flood defence) would throttle it.
  export HERALD_RATE_PER_SOURCE=0
  {
    echo "address,password"
    for i in $(seq 1 "$USERS"); do printf 'u%06d,pw%06d\n' "$i" "$i"; done
  } > "$WORKDIR/users.csv"
  "$BIN" user import "$WORKDIR/users.csv" >/dev/null
  $TASKSET_SERVER "$BIN" > "$WORKDIR/herald.out" 2> "$WORKDIR/herald.err" &
  STARTED=$!
  PID=$STARTED
  for _ in $(seq 100); do grep -q '^ready' "$WORKDIR/herald.out" 2>/dev/null && break; sleep 0.1; done
  SERVER=127.0.0.1:$PORT
  echo "# Herald $("$BIN" --version | awk '{print $2}') (embedded edition) at $SERVER, $USERS users"
else
  echo "# server at $SERVER (pid $PID), domain $DOMAIN"
fi
echo "# sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1), transport $TRANSPORT, ${SECS}s per step, $(date -u +%FT%TZ)"

# The server and its child processes (Kamailio works in forked children).
tree() { echo "$PID"; pgrep -P "$PID" || true; }
cpu_ticks() {
  local t=0 p
  for p in $(tree); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
# Proportional set size summed over the tree (shared memory counted once), KiB.
pss_kib() {
  local t=0 p
  for p in $(tree); do t=$((t + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0))); done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

# Waits until the server idles (at most 60 s): an overloaded step leaves retransmissions
# and open transactions behind that would otherwise be counted in the next step.
settle() {
  local a b quiet=0
  for _ in $(seq 60); do
    a=$(cpu_ticks); sleep 1; b=$(cpu_ticks)
    if ((b - a <= HZ / 20)); then quiet=$((quiet + 1)); else quiet=0; fi
    if ((quiet >= 3)); then return; fi
  done
}

# step NAME SCENARIO CSV RATE: runs one step, prints a row, returns 0 when all calls passed.
step() {
  local name=$1 scenario=$2 csv=$3 rate=$4
  local calls=$((rate * SECS)) dir=$WORKDIR/$name-$rate-$RANDOM
  settle
  mkdir -p "$dir"
  local t0; t0=$(cpu_ticks)
  local rc=0
  (cd "$dir" && $TASKSET_LOAD sipp "$SERVER" -sf "$scenario" -inf "$csv" -t "$TRANSPORT" \
      -i 127.0.0.1 -p "$(free_port)" -r "$rate" -m "$calls" -l $((rate * 4 + 100)) \
      -nostdin -buff_size 4194304 -timeout $((SECS * 3 + 20))s -timeout_error \
      -trace_rtt -rtt_freq 1 -trace_stat -fd 1 > sipp.out 2>&1) || rc=$?
  local t1; t1=$(cpu_ticks)
  local rtt; rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
  local p50="-" p99="-"
  if [ -n "$rtt" ]; then
    read -r p50 p99 < <(awk -F';' 'NR>1 && $2 ~ /^[0-9.]+$/ {print $2}' "$rtt" | sort -n |
      awk '{v[NR]=$1} END {if (NR) printf "%.1f %.1f\n", v[int(NR*0.5)+(NR*0.5>int(NR*0.5))], v[int(NR*0.99)+(NR*0.99>int(NR*0.99))]; else print "- -"}')
  fi
  local stat; stat=$(ls "$dir"/*_.csv "$dir"/*_stat*.csv 2>/dev/null | head -1 || true)
  local failed="?"
  if [ -n "$stat" ]; then
    failed=$(awk -F';' 'NR==1 {for (i=1;i<=NF;i++) if ($i=="FailedCall(C)") c=i} END {print $c}' "$stat")
  fi
  # A step that answered every call but too late for the bound fails as SLOW.
  if ((rc == 0)) && [ -n "$MAX_P99" ] && ! awk -v p="$p99" -v m="$MAX_P99" 'BEGIN {exit !(p != "-" && p + 0 <= m + 0)}'; then
    rc=2
  fi
  local cpu; cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$calls" 'BEGIN {printf "%.2f", d / hz * 10000 / n}')
  printf '%-9s %8s/s  %-4s failed=%-6s p50=%6s ms  p99=%6s ms  cpu=%6s s/10k  rss=%s KiB\n' \
    "$name" "$rate" "$(case $rc in 0) echo ok ;; 2) echo SLOW ;; *) echo FAIL ;; esac)" "$failed" "$p50" "$p99" "$cpu" "$(pss_kib)"
  return $rc
}

# ramp NAME SCENARIO CSV: steps the rate until a step fails; reports the best and the
# latency at half of it.
ramp() {
  local name=$1 scenario=$2 csv=$3 best=0 rate=$START
  if [ -n "$ONCE" ]; then
    echo "# $name: one step at $ONCE/s:"
    step "$name" "$scenario" "$csv" "$ONCE" || true
    return
  fi
  while ((rate <= MAX)); do
    if step "$name" "$scenario" "$csv" "$rate"; then best=$rate; else break; fi
    rate=$((rate + STEP))
  done
  if ((best > 0)); then
    local half=$((best / 2)); ((half > 0)) || half=1
    echo "# $name: highest rate with zero failures: $best/s; at half that rate:"
    step "$name" "$scenario" "$csv" "$half" || true
  else
    echo "# $name: no step passed (lowest tried: $START/s)"
  fi
}

auth() { printf '[authentication username=u%06d password=pw%06d]' "$1" "$1"; }

if [ "$WORK" = all ] || [ "$WORK" = register ]; then
  {
    echo SEQUENTIAL
    for i in $(seq 1 "$USERS"); do printf 'u%06d;%s;%s;127.0.0.1:5999\n' "$i" "$DOMAIN" "$(auth "$i")"; done
  } > "$WORKDIR/register.csv"
  ramp register "$SCEN/register.xml" "$WORKDIR/register.csv"
fi

if [ "$WORK" = all ] || [ "$WORK" = message ]; then
  UAS_PORT=$(free_port)
  (cd "$WORKDIR" && exec $TASKSET_LOAD sipp -sf "$SCEN/message_uas.xml" -i 127.0.0.1 -p "$UAS_PORT" \
      -nostdin -buff_size 4194304 > uas.out 2>&1) &
  UAS_PID=$!
  {
    echo SEQUENTIAL
    for i in $(seq 1 "$USERS"); do printf 'u%06d;%s;%s;127.0.0.1:%s\n' "$i" "$DOMAIN" "$(auth "$i")" "$UAS_PORT"; done
  } > "$WORKDIR/devices.csv"
  # Every user registers the receiving sipp as its device (UDP), at a modest rate.
  (cd "$WORKDIR" && sipp "$SERVER" -sf "$SCEN/register.xml" -inf devices.csv -t u1 -i 127.0.0.1 \
      -p "$(free_port)" -r 500 -m "$USERS" -nostdin -timeout 120s > reg.out 2>&1) ||
    { echo "registering the receiving devices failed" >&2; exit 1; }
  {
    echo SEQUENTIAL
    for i in $(seq 1 "$USERS"); do
      printf 'u%06d;%s;%s;u%06d\n' "$i" "$DOMAIN" "$(auth "$i")" $(( (i + USERS / 2 - 1) % USERS + 1 ))
    done
  } > "$WORKDIR/message.csv"
  ramp message "$SCEN/message_uac.xml" "$WORKDIR/message.csv"
fi
