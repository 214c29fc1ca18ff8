# Sourced by bench/compare/run.sh --pool: the pool edition beside Kamailio with its
# location table in PostgreSQL. Starts a private PostgreSQL and Redis (throwaway, on free
# ports, under the work directory), loads Kamailio's schema and Herald's users, and
# defines start_pool_herald (one home server + one front end) and start_pool_kamailio.
# The CPU and memory columns count the SIP servers' processes, not the databases'.

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL's binaries not found under /usr/lib/postgresql" >&2; exit 69; }
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server" >&2; exit 69; }
need_module db_postgres.so kamailio-postgres-modules
[ -f /usr/share/kamailio/postgres/usrloc-create.sql ] ||
  { echo "Kamailio's PostgreSQL schema is missing (/usr/share/kamailio/postgres)" >&2; exit 69; }

# PostgreSQL refuses to run as root: its files belong to the postgres user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGDIR=$WORKDIR/pg
mkdir -p "$PGDIR"
if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; chmod o+x "$WORKDIR"; fi
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --no-sync > "$PGDIR/initdb.log" 2>&1 ||
  { cat "$PGDIR/initdb.log" >&2; exit 1; }
PGPORT=$(free_port)
as_pg "$PGBIN/postgres" -D "$PGDIR/data" -p "$PGPORT" -k "$PGDIR" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c max_connections=200 > "$PGDIR/postgres.log" 2>&1 &
PIDS+=("$!")
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --protected-mode no \
  --dir "$WORKDIR" > "$WORKDIR/redis.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.1; done
# runuser does not pass a SIGTERM on: the postmaster itself must be stopped at the end.
PIDS+=("$(head -1 "$PGDIR/data/postmaster.pid")")
psql_on() { "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_on -c "CREATE DATABASE herald" -c "CREATE DATABASE kamailio" >/dev/null
psql_on -d kamailio -f /usr/share/kamailio/postgres/standard-create.sql >/dev/null
psql_on -d kamailio -f /usr/share/kamailio/postgres/usrloc-create.sql >/dev/null

export HERALD_STORE=pool HERALD_REDIS_URL=redis://127.0.0.1:$RPORT/
export HERALD_POSTGRES_URL=postgres://postgres@127.0.0.1:$PGPORT/herald
export HERALD_NONCE_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"$BIN" user import "$WORKDIR/users.csv" >/dev/null
KAM_DEFINES=(-A POOL -A "PGURL=\"postgres://postgres@127.0.0.1:$PGPORT/kamailio\"")

# Each start begins from the users only: no binding, no location row.
start_pool_herald() {
  redis-cli -p "$RPORT" flushall >/dev/null
  (
    for role in homeserver frontend; do
      mkdir -p "$WORKDIR/$role"
      HERALD_DATA_DIR=$WORKDIR/$role HERALD_NODE_ID=${role:0:2}1 \
        HERALD_GRPC=127.0.0.1:$(free_port) HERALD_HTTP=127.0.0.1:$(free_port) \
        "${PIN_SERVER[@]}" "$BIN" "$role" > "$WORKDIR/$role.out" 2> "$WORKDIR/$role.err" &
      for _ in $(seq 100); do grep -q '^ready' "$WORKDIR/$role.out" 2>/dev/null && break; sleep 0.1; done
    done
    wait
  ) &
  SPID=$! SADDR=127.0.0.1:$HPORT STLS=$HTLS
  for _ in $(seq 150); do grep -q '^ready' "$WORKDIR/frontend.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready' "$WORKDIR/frontend.out" || { cat "$WORKDIR/homeserver.err" "$WORKDIR/frontend.err" >&2; exit 1; }
  # The front end needs the home server in its ring before it can route.
  sleep 1
}
start_pool_kamailio() { psql_on -d kamailio -c "TRUNCATE location" >/dev/null; }
