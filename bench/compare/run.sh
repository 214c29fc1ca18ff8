#!/usr/bin/env bash
# Herald beside Kamailio: the same sipp scenarios against each, in alternation, on the
# same machine in the same run, and one table of ratios Herald/Kamailio.
#
# Kamailio (Debian's 5.6) is configured for the same job (kamailio.cfg.in): registrar
# with usrloc in memory, digest auth against an in-memory table of the same users,
# stateful relay of an authenticated MESSAGE to the registered contact, presence server
# (presence + presence_xml, in memory). Herald runs as the single-process (embedded)
# edition. REGISTER and MESSAGE are stepped up by bench/sipp/run.sh until a step fails;
# reported: the highest passing rate, p50/p99 at half of it, and the server's CPU
# seconds per 10,000 calls at that half rate. Presence is stepped up by Herald's
# presence load generator (bench/presence, a plain SIP UA: SUBSCRIBE/PUBLISH with
# digest, NOTIFY answered and timed); reported: NOTIFY/s at the highest passing PUBLISH
# rate, latency and CPU in that step. Memory (PSS over the server's processes): per
# 10,000 registrations, per 10,000 subscriptions and per 1,000 idle TLS connections.
#
#   bench/compare/run.sh                 # everything, UDP and TCP, one round
#   bench/compare/run.sh --pin           # servers on core 1, load on core 0
#   bench/compare/run.sh --quota 50      # each server held to 50 % of one core (a cgroup
#                                        # CPU quota, quota.sh), so sipp is not the limit
#   bench/compare/run.sh --rounds 3      # A B A B A B: medians of three
#   bench/compare/run.sh --smoke         # seconds at tiny rates: does it all still run?
#   bench/compare/run.sh --pool          # Herald's pool (1 front end, 1 home server,
#                                        # Redis, PostgreSQL) vs Kamailio with its
#                                        # location table in PostgreSQL (db_mode 3)
# Other options: --work register|message|presence|memory|all, --transports "u1 t1",
# --users N, --start/--step/--max RATE, --secs S, --fanout N, --presentities P
# --watchers M, --fanout-rates R1,R2,.. and --publish-rates R1,.. (PUBLISH/s steps of the
# one-presentity and the many-presentities work), --settle S (wait for transactions to
# end before reading memory), --max-p99 MS (a REGISTER/MESSAGE step also fails when its
# p99 is above MS),
# --herald-workers N (Herald's runtime worker threads, HERALD_WORKER_THREADS; default:
# one per core. Kamailio's worker counts are set in kamailio.cfg.in),
# --herald-bin PATH (that Herald build instead of this tree's: a before/after pair in
# one session; the presence load generator is still built from this tree),
# --herald-archive MODE (HERALD_ARCHIVE_MODE: Herald archives every MESSAGE by default,
# which Kamailio's relay does not; `off` gives Herald the same job; named in the table).
# Installs sip-tester and kamailio (with its presence and TLS modules) when missing
# (apt-get, as root). Stops everything it started. Exits 1 when a server passed no step.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

WORK=all TRANSPORTS="u1 t1" USERS=5000 START=2000 STEP=2000 MAX=40000 SECS=5 ROUNDS=1
PIN="" QUOTA="" SMOKE=0 POOL=0 FANOUT=2000 FANOUT_RATES=1,2,5,10,15,20,30,40,50,55,60,70 PRESENTITIES=1000 WATCHERS=4
PRATES=50,100,200,500,1000,2000 SETTLE=35 TLS_CONNS=1000 MAX_P99=() WORKERS="" HERALD_BIN="" ARCHIVE=best-effort
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
    --fanout) FANOUT=$2; shift ;;
    --presentities) PRESENTITIES=$2; shift ;;
    --watchers) WATCHERS=$2; shift ;;
    --fanout-rates) FANOUT_RATES=$2; shift ;;
    --publish-rates) PRATES=$2; shift ;;
    --settle) SETTLE=$2; shift ;;
    --max-p99) MAX_P99=(--max-p99 "$2"); shift ;;
    --herald-workers) WORKERS=$2; shift ;;
    --herald-bin) HERALD_BIN=$2; shift ;;
    --herald-archive) ARCHIVE=$2; shift ;;
    --pool) POOL=1 ;;
    --pin) PIN=1 ;;
    --quota) QUOTA=$2; shift ;;
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
if ((SMOKE)); then
  USERS=20 START=10 STEP=10 MAX=20 SECS=2 ROUNDS=1 FANOUT=10 FANOUT_RATES=1,2
  PRESENTITIES=4 WATCHERS=2 PRATES=2,5 SETTLE=1 TLS_CONNS=10
fi
if ((FANOUT + 1 > USERS || PRESENTITIES + WATCHERS > USERS)); then
  echo "--fanout / --presentities + --watchers need that many users (--users $USERS)" >&2; exit 64
fi

need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
  fi
  command -v "$1" >/dev/null || { echo "$1 is missing: apt-get install $2" >&2; exit 69; }
}
need sipp sip-tester
need kamailio kamailio
need openssl openssl
MPATH=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")
[ -d "$MPATH" ] || { echo "Kamailio's modules not found under /usr/lib" >&2; exit 69; }
need_module() { # need_module FILE PACKAGE
  [ -f "$MPATH/$1" ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
  fi
  [ -f "$MPATH/$1" ] || { echo "Kamailio's $1 is missing: apt-get install $2" >&2; exit 69; }
}
need_module presence.so kamailio-presence-modules
need_module tls.so kamailio-tls-modules
SCHEMA=/usr/share/kamailio/dbtext/kamailio
[ -f "$SCHEMA/presentity" ] || { echo "Kamailio's db_text schema is missing ($SCHEMA)" >&2; exit 69; }

source bench/compare/quota.sh
CGROUP=""
WORKDIR=$(mktemp -d /tmp/herald-compare.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  quota_cleanup
  [ -n "${KEEP:-}" ] || rm -rf "$WORKDIR"
}
trap cleanup EXIT
FREE_PORT=$PWD/bench/free_port.py
free_port() { python3 "$FREE_PORT"; }
PIN_SERVER=() PIN_LOAD=()
PIN_LOAD_TS=()
if [ -n "$PIN" ]; then PIN_SERVER=(taskset -c 1); PIN_LOAD=(--pin); PIN_LOAD_TS=(taskset -c 0); fi
if [ -n "$QUOTA" ]; then quota_setup "$QUOTA"; PIN_SERVER=("${QUOTA_SERVER[@]}" "${PIN_SERVER[@]}"); fi
DOMAIN=example.com

# The same users for both: u000001 … with passwords pw000001 ….
# BENCH_PROFILE=debug uses the test build (the CI's smoke run); measurements use release.
# With --herald-bin only the presence load generator is built.
PKGS=(-p herald-bench-presence)
[ -n "$HERALD_BIN" ] || PKGS+=(-p herald)
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  cargo build --quiet "${PKGS[@]}"
  BIN=$ROOT/target/debug/herald LOAD=$ROOT/target/debug/presence-load
else
  cargo build --release --quiet "${PKGS[@]}"
  BIN=$ROOT/target/release/herald LOAD=$ROOT/target/release/presence-load
fi
if [ -n "$HERALD_BIN" ]; then
  [ -x "$HERALD_BIN" ] || { echo "--herald-bin $HERALD_BIN: not an executable file" >&2; exit 66; }
  BIN=$HERALD_BIN
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
# Presence tables (empty: presence is kept in memory, the schema is checked at start).
cp "$SCHEMA/presentity" "$SCHEMA/active_watchers" "$SCHEMA/watchers" "$SCHEMA/xcap" "$WORKDIR/kamdb/"
printf 'table_name(str) table_version(int)\nhtable:2\npresentity:5\nactive_watchers:12\nwatchers:3\nxcap:4\n' \
  > "$WORKDIR/kamdb/version"
# One self-signed certificate for both TLS listeners.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$DOMAIN" \
  -keyout "$WORKDIR/key.pem" -out "$WORKDIR/cert.pem" 2>/dev/null
printf '[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = %s\ncertificate = %s\n' \
  "$WORKDIR/key.pem" "$WORKDIR/cert.pem" > "$WORKDIR/kamdb/tls.cfg"

HPORT=$(free_port) HTLS=$(free_port)
KPORT=$(free_port) KTLS=$(free_port)
CHILDREN=2
sed -e "s|@DOMAIN@|$DOMAIN|g; s|@PORT@|$KPORT|g; s|@TLSPORT@|$KTLS|g; s|@CHILDREN@|$CHILDREN|g" \
    -e "s|@MPATH@|$MPATH/|g; s|@DBDIR@|$WORKDIR/kamdb|g" \
    bench/compare/kamailio.cfg.in > "$WORKDIR/kamailio.cfg"
export HERALD_DATA_DIR=$WORKDIR/herald HERALD_DOMAIN=$DOMAIN HERALD_LOG=warn
export HERALD_UDP=127.0.0.1:$HPORT HERALD_TCP=127.0.0.1:$HPORT
export HERALD_TLS=127.0.0.1:$HTLS HERALD_TLS_CERT=$WORKDIR/cert.pem HERALD_TLS_KEY=$WORKDIR/key.pem
export HERALD_WS=off HERALD_WSS=off HERALD_HTTP=off HERALD_XCAP=off
# sipp is one source address sending thousands of requests a second; so are the
# presence generator and the TLS connection holder.
export HERALD_RATE_PER_SOURCE=0 HERALD_MAX_CONNECTIONS_PER_IP=20000
# Presence as Kamailio's: every change notified at once (no coalescing interval), any
# number of subscriptions per watcher.
export HERALD_NOTIFY_MIN_INTERVAL_MS=0 HERALD_MAX_SUBSCRIPTIONS_PER_USER=0
if [ -n "$WORKERS" ]; then export HERALD_WORKER_THREADS=$WORKERS; fi
export HERALD_ARCHIVE_MODE=$ARCHIVE
"$BIN" user import "$WORKDIR/users.csv" >/dev/null
# Each start begins from the users only (Kamailio's in-memory usrloc starts empty too).
cp -a "$WORKDIR/herald" "$WORKDIR/herald-users"
KAM_DEFINES=()
if ((POOL)); then source bench/compare/pool.sh; fi
kamailio "${KAM_DEFINES[@]}" -c -f "$WORKDIR/kamailio.cfg" > "$WORKDIR/kamailio-check.log" 2>&1 ||
  { cat "$WORKDIR/kamailio-check.log" >&2; exit 1; }

# Each ramp gets a freshly started server: an overloaded step leaves transactions (kept
# 32 s for retransmissions over UDP) and queues behind that would weigh on the next ramp.
SPID=""
start() { # start herald|kamailio: sets SPID and SADDR
  if [ "$1" = herald ] && ((POOL)); then
    start_pool_herald
  elif [ "$1" = herald ]; then
    rm -rf "$WORKDIR/herald" && cp -a "$WORKDIR/herald-users" "$WORKDIR/herald"
    "${PIN_SERVER[@]}" "$BIN" > "$WORKDIR/herald.out" 2> "$WORKDIR/herald.err" &
    SPID=$! SADDR=127.0.0.1:$HPORT STLS=$HTLS
    for _ in $(seq 100); do grep -q '^ready' "$WORKDIR/herald.out" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$WORKDIR/herald.out" || { cat "$WORKDIR/herald.err" >&2; exit 1; }
  else
    if ((POOL)); then start_pool_kamailio; fi
    # 4 GiB of shared memory: with 512 MiB, MESSAGE relay over UDP ran out of it at
    # 8,000/s (transactions kept for retransmissions), which measured the setting.
    "${PIN_SERVER[@]}" kamailio "${KAM_DEFINES[@]}" -DD -E -f "$WORKDIR/kamailio.cfg" -m 4096 -M 16 \
      -P "$WORKDIR/kamailio.pid" > "$WORKDIR/kamailio.err" 2>&1 &
    SPID=$! SADDR=127.0.0.1:$KPORT STLS=$KTLS
    for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$KPORT") 2>/dev/null && break; sleep 0.1; done
  fi
  PIDS+=("$SPID")
}
stop() {
  pkill -TERM -P "$SPID" 2>/dev/null || true
  kill "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  # The ports must be free again before the next start.
  for _ in $(seq 50); do
    (echo > "/dev/tcp/${SADDR%:*}/${SADDR#*:}") 2>/dev/null || break
    sleep 0.1
  done
}

EDITION=$( ((POOL)) && echo "pool: 1 front end + 1 home server, Redis, PostgreSQL; Kamailio's location in PostgreSQL" || echo embedded)
echo "# $(date -u +%FT%TZ) on $(nproc) cores; Herald $("$BIN" --version | awk '{print $2}') ($EDITION, ${WORKERS:-one per core} worker threads, archive $ARCHIVE) vs $(kamailio -v | head -1 | awk '{print $2, $3}') ($CHILDREN UDP + $CHILDREN TCP workers); $(sipp -v 2>&1 | grep -o 'SIPp v[0-9.]*' | head -1)"
echo "# $USERS users, rates $START, +$STEP … $MAX per ${SECS}s step, $ROUNDS round(s), $([ -n "$PIN" ] && echo 'pinned: servers on core 1, sipp on core 0' || echo unpinned)$([ -n "$QUOTA" ] && echo "; each server held to $QUOTA % of one core (cgroup CPU quota)" || true)"$( ((${#MAX_P99[@]})) && echo "; a step passes only with p99 ≤ ${MAX_P99[1]} ms" || true)

# sipp SERVER WORK TRANSPORT OUT [ARGS…]: bench/sipp/run.sh against a fresh server.
sipp_on() {
  local name=$1 work=$2 tr=$3 out=$4
  shift 4
  start "$name"
  bench/sipp/run.sh --server "$SADDR" --pid "$SPID" --domain "$DOMAIN" --work "$work" \
    --transport "$tr" --users "$USERS" --secs "$SECS" "${PIN_LOAD[@]}" "${MAX_P99[@]}" "$@" > "$out" 2>&1 || true
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
    { echo "== $name $work $tr:"; cat "$out.ramp"; tail -20 "$WORKDIR/$name.err" 2>/dev/null || true; } >> "$WORKDIR/failures"
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

# presence SERVER KIND PRESENTITIES WATCHERS RATES: the presence generator against a
# fresh server; appends "server presence-KIND udp notify/s p50 p99 cpu" to the results
# and the memory per 10,000 subscriptions to the memory table.
presence() {
  local name=$1 kind=$2 np=$3 nw=$4 rates=$5 out
  out=$WORKDIR/$name-presence-$kind-$RANDOM
  start "$name"
  "${PIN_LOAD_TS[@]}" "$LOAD" --server "$SADDR" --pid "$SPID" --presentities "$np" --watchers "$nw" \
    --rates "$rates" --secs "$SECS" --settle-secs "$SETTLE" > "$out" 2>&1 || true
  stop
  sed "s/^/  $name presence $kind: /" "$out" | grep -v ': # [0-9]* subscriptions' || true
  python3 - "$name" "$kind" "$out" >> "$WORKDIR/results" <<'PY'
import re, sys
name, kind, text = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
best = re.search(r"highest rate with zero failures: (\d+) PUBLISH/s → (\d+) NOTIFY/s delivered, PUBLISH→NOTIFY p50 ([\d.]+) ms, p99 ([\d.]+) ms", text)
if best:
    rate, nps, p50, p99 = best.groups()
    step = re.search(rf"publish +{rate}/s .*server cpu ([\d.]+|-) s/10k", text)
    print(name, f"presence-{kind}", "u1", nps, p50, p99, step.group(1) if step else "-")
else:
    print(name, f"presence-{kind}", "u1", 0, "-", "-", "-")
PY
  local mib; mib=$(grep -o '([0-9.]* MiB per 10,000)' "$out" | grep -o '[0-9.]*' | head -1 || true)
  echo "$name subscriptions-$kind ${mib:--}" >> "$WORKDIR/memory"
}

# pss PID: proportional set size summed over the process and its children, KiB.
pss() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$((t + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# memory SERVER: PSS growth per 10,000 registrations (two waves of half the users each,
# each followed by --settle seconds for transactions to end: the first wave also pays
# for warming allocators up) and per 1,000 idle TLS connections (handshake done, then
# held by bench/compare/hold_tls.py).
memory() {
  local name=$1 half=$((USERS / 2)) m0 m1 t0 t1 holder
  start "$name"
  for wave in 1 2; do
    {
      echo SEQUENTIAL
      local i from=$(( (wave - 1) * half + 1 )) to=$((wave * half))
      for i in $(seq "$from" "$to"); do
        printf 'u%06d;%s;[authentication username=u%06d password=pw%06d];127.0.0.1:5999\n' "$i" "$DOMAIN" "$i" "$i"
      done
    } > "$WORKDIR/wave$wave.csv"
    (cd "$WORKDIR" && "${PIN_LOAD_TS[@]}" sipp "$SADDR" -sf "$ROOT/tests/scenarios/register.xml" \
        -inf "wave$wave.csv" -t u1 -i 127.0.0.1 -p "$(free_port)" -r 500 -m "$half" -nostdin \
        -timeout 120s > "reg-wave$wave.out" 2>&1) ||
      echo "  $name memory: registration wave $wave had failures" >&2
    sleep "$SETTLE"
    if ((wave == 1)); then m0=$(pss "$SPID"); else m1=$(pss "$SPID"); fi
  done
  t0=$(pss "$SPID")
  coproc HOLD { exec "${PIN_LOAD_TS[@]}" python3 "$ROOT/bench/compare/hold_tls.py" 127.0.0.1 "$STLS" "$TLS_CONNS"; }
  holder=$HOLD_PID
  local ready=""
  read -r -t 120 ready <&"${HOLD[0]}" || true
  sleep 2
  t1=$(pss "$SPID")
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  stop
  awk -v s="$name" -v a="$m0" -v b="$m1" -v n="$half" 'BEGIN {printf "%s registrations %.1f\n", s, (b - a) * 10000 / n / 1024}' >> "$WORKDIR/memory"
  if [ "${ready%% *}" = ready ]; then
    awk -v s="$name" -v a="$t0" -v b="$t1" -v n="$TLS_CONNS" 'BEGIN {printf "%s tls %.1f\n", s, (b - a) * 1000 / n / 1024}' >> "$WORKDIR/memory"
  else
    echo "  $name memory: the TLS connections were not all established" >&2
    echo "$name tls -" >> "$WORKDIR/memory"
  fi
  echo "  $name memory: PSS $m0 → $m1 KiB over $half registrations; $t0 → $t1 KiB over $TLS_CONNS TLS connections"
}

case $WORK in
  all) WORKS=$( ((POOL)) && echo "register message memory" || echo "register message presence memory") ;;
  *) WORKS=$WORK ;;
esac
: > "$WORKDIR/results"
: > "$WORKDIR/memory"
for r in $(seq 1 "$ROUNDS"); do
  # Alternate which server goes first from round to round.
  if ((r % 2)); then order="herald kamailio"; else order="kamailio herald"; fi
  for w in $WORKS; do
    case $w in
      register|message)
        for tr in $TRANSPORTS; do
          for s in $order; do run "$s" "$w" "$tr"; done
        done ;;
      presence)
        for s in $order; do presence "$s" fanout 1 "$FANOUT" "$FANOUT_RATES"; done
        for s in $order; do presence "$s" many "$PRESENTITIES" "$WATCHERS" "$PRATES"; done ;;
      memory)
        for s in $order; do memory "$s"; done ;;
      *) echo "unknown work $w (register|message|presence|memory|all)" >&2; exit 64 ;;
    esac
  done
done

echo
echo "| work | transport | Herald highest rate | Kamailio highest rate | ratio | Herald p50 / p99 (ms) | Kamailio p50 / p99 (ms) | CPU s per 10k calls, Herald / Kamailio |"
echo "|---|---|---|---|---|---|---|---|"
python3 - "$WORKDIR/results" "$ARCHIVE" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(xs):
    xs = [float(x) for x in xs if x not in ("-", "")]
    return statistics.median(xs) if xs else None
keys = []
for r in rows:
    if (r[1], r[2]) not in keys:
        keys.append((r[1], r[2]))
names = {
    "register": "REGISTER + digest",
    "message": f"MESSAGE relay + digest (Herald's archive: {sys.argv[2]})",
    "presence-fanout": "PUBLISH → NOTIFY, one presentity, many watchers (NOTIFY/s)",
    "presence-many": "PUBLISH → NOTIFY, many presentities, few watchers (NOTIFY/s)",
}
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
echo "(REGISTER/MESSAGE: latency and CPU at half the highest rate, per 10,000 calls; presence: in the highest passing step, per 10,000 NOTIFYs.)"
if [ -s "$WORKDIR/memory" ]; then
  echo
  echo "| memory held (PSS growth, all processes) | Herald | Kamailio | Herald / Kamailio |"
  echo "|---|---|---|---|"
  python3 - "$WORKDIR/memory" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = {
    "registrations": "MiB per 10,000 registrations",
    "subscriptions-fanout": "MiB per 10,000 subscriptions (one presentity)",
    "subscriptions-many": "MiB per 10,000 subscriptions (many presentities)",
    "tls": "MiB per 1,000 idle TLS connections",
}
for kind, label in names.items():
    def med(server):
        xs = [float(r[2]) for r in rows if r[0] == server and r[1] == kind and r[2] != "-"]
        return statistics.median(xs) if xs else None
    h, k = med("herald"), med("kamailio")
    if h is None and k is None:
        continue
    ratio = f"{h / k:.2f}×" if h is not None and k else "-"
    show = lambda v: "-" if v is None else f"{v:.1f}"
    print(f"| {label} | {show(h)} | {show(k)} | {ratio} |")
PY
fi
# A run in which a server passed no step at all is a broken setup, not a measurement.
if awk '$4 == 0 {bad = 1} END {exit !bad}' "$WORKDIR/results"; then
  echo "a server passed no step:" >&2
  awk '$4 == 0' "$WORKDIR/results" >&2
  cat "$WORKDIR/failures" >&2 2>/dev/null || true
  exit 1
fi
