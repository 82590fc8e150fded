#!/usr/bin/env bash
# What TLS to PostgreSQL costs the write path (issue 24), in one run on this machine: the
# service connected to the same PostgreSQL without TLS (sslmode=disable) and with it
# (sslmode=verify-full against a CA made for the run), in interleaved rounds (off, on; then
# on, off; ...), a fresh service process for each, a vacuum and a checkpoint before each
# measured run: single-event POST (64 clients) and batch POST (100 per batch, 16 clients).
# The table gives each round's throughput and p99 and the median ratio TLS/plain.
#
# The run's certificates are made with the openssl command-line tool (a test CA and a server
# certificate for 127.0.0.1; the service itself links no OpenSSL). The PostgreSQL is a cluster
# of the run's own from DS_PG_TLS_BIN (PostgreSQL 16 built with OpenSSL, with pgvector:
# pgserver's has no SSL), configured as scripts/lib/services.sh configures the shared one,
# with ssl=on; plain connections stay allowed so both modes reach the same server.
#
#   scripts/bench-tls.sh                       # about 3 minutes
#   SECONDS_PER_RUN=5 ROUNDS=1 scripts/bench-tls.sh
#
# Rows: bench/results/latest/tls.jsonl; table: bench/results/latest/tls.md and the "tls"
# block of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
ROUNDS="${ROUNDS:-3}"
BUILD="${BUILD:-1}"
SERVICE_BIN="${SERVICE_BIN:-target/release/datastorage}"
OUT_DIR="${OUT_DIR:-bench/results/latest}"
log() { printf '[bench-tls] %s\n' "$*" >&2; }

if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage -p datastorage-bench
fi

ds_services_start_for_service
psql() { "$DS_PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 "$@"; }
WORK="$DS_SERVICES_DIR/bench-tls"
mkdir -p "$WORK"

log "a CA and a server certificate for 127.0.0.1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=bench CA" -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=127.0.0.1" -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$WORK/ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
  -CAcreateserial -days 2 -extfile "$WORK/ext" -out "$WORK/server.pem" 2>/dev/null

log "PostgreSQL 16 with ssl=on ($DS_PG_TLS_BIN)"
TLS_PGDATA="$WORK/pg"
pg_port="$(ds_free_port)"
mkdir -p "$TLS_PGDATA"
[ -n "${DS_PG_USER_NAME:-}" ] && chown -R "$DS_PG_USER_NAME" "$WORK"
$DS_PG_RUN_AS "$DS_PG_TLS_BIN/initdb" -D "$TLS_PGDATA" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
cp "$WORK/server.pem" "$TLS_PGDATA/server.crt"
cp "$WORK/server.key" "$TLS_PGDATA/server.key"
chmod 600 "$TLS_PGDATA/server.key"
[ -n "${DS_PG_USER_NAME:-}" ] && chown "$DS_PG_USER_NAME" "$TLS_PGDATA"/server.*
cat >>"$TLS_PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$WORK'
max_connections = 300
shared_buffers = 512MB
max_wal_size = 8GB
ssl = on
CONF
$DS_PG_RUN_AS "$DS_PG_TLS_BIN/pg_ctl" -D "$TLS_PGDATA" -l "$WORK/postgres.log" -w -t 60 start >/dev/null ||
  { cat "$WORK/postgres.log" >&2; exit 1; }
stop_tls_pg() { $DS_PG_RUN_AS "$DS_PG_TLS_BIN/pg_ctl" -D "$TLS_PGDATA" -m fast -w stop >/dev/null 2>&1 || true; }
ADMIN_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
psql "$ADMIN_URL" -c "CREATE DATABASE bench" >/dev/null
DB_URL="postgres://postgres@127.0.0.1:$pg_port/bench"

RESULTS="$WORK/tls.jsonl"
: >"$RESULTS"
SERVICE_PID=""
start_service() { # $1 = tls (on|off)
  local port mode=disable
  [ "$1" = on ] && mode=verify-full
  port="$(ds_free_port)"
  URL="http://127.0.0.1:$port"
  DATABASE_URL="$DB_URL" DS_DATABASE__SSL_MODE="$mode" DS_DATABASE__SSL_ROOT_CERT="$WORK/ca.pem" \
    REDIS_URL="$DS_TEST_REDIS_URL" DS_HTTP__ADDR="127.0.0.1:$port" DS_LOG=warn \
    DS_EMBEDDER__KIND=none "$SERVICE_BIN" >"$WORK/service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 150); do
    curl -fs "$URL/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$SERVICE_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$WORK/service.log" >&2
  log "the service did not become ready"
  return 1
}
stop_service() {
  if [ -n "$SERVICE_PID" ]; then kill "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true; fi
  SERVICE_PID=""
}
trap 'stop_service; stop_tls_pg; ds_stop_service_and_services' EXIT
# Every connection of the service's pool is TLS when it should be, and none when not.
check_connections() { # $1 = tls (on|off)
  local expected=false
  [ "$1" = on ] && expected=true
  local seen
  seen="$(psql -At "$ADMIN_URL" -c "SELECT string_agg(DISTINCT s.ssl::text, ',') FROM pg_stat_ssl s
    JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'bench' AND a.pid <> pg_backend_pid()")"
  [ "$seen" = "$expected" ] || { log "connections with ssl=$seen, expected $expected"; exit 1; }
}
run() { # $1 = tls, $2 = round, then loadgen's arguments
  local tls="$1" round="$2" row
  shift 2
  ds_settle "$DB_URL"
  row="$(target/release/loadgen --url "$URL" --seconds "$SECONDS_PER_RUN" "$@")"
  check_connections "$tls"
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(tls=sys.argv[2], round=int(sys.argv[3])); print(json.dumps(r))' \
    "$row" "$tls" "$round" >>"$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
  order="off on"
  [ $((round % 2)) = 0 ] && order="on off"
  for tls in $order; do
    start_service "$tls"
    log "round $round, TLS $tls: single-event POST, 64 clients"
    run "$tls" "$round" --clients 64 --label "single-event POST (201), 64 clients"
    log "round $round, TLS $tls: batch POST (100 per batch), 16 clients"
    run "$tls" "$round" --scenario batch --batch-size 100 --clients 16 --label "batch POST (100 per batch), 16 clients"
    stop_service
  done
done

mkdir -p "$OUT_DIR"
cp "$RESULTS" "$OUT_DIR/tls.jsonl"
python3 - "$RESULTS" "$OUT_DIR/tls.md" "$SECONDS_PER_RUN" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
out = ["Same PostgreSQL, same run, rounds interleaved; each run %s s; events/s (p99 ms)." % sys.argv[3], "",
       "| figure | PostgreSQL without TLS | with TLS (verify-full) | TLS / plain (median) |", "|---|---|---|---|"]
for label in dict.fromkeys(r["figure"] for r in rows):
    cells, medians = {}, {}
    for tls in ("off", "on"):
        mine = [r for r in rows if r["figure"] == label and r["tls"] == tls]
        cells[tls] = ", ".join("%.0f (%.1f)" % (r["throughput_per_s"], r["p99_ms"]) for r in mine)
        medians[tls] = statistics.median(r["throughput_per_s"] for r in mine)
    out.append("| %s | %s | %s | %.2fx |" % (label, cells["off"], cells["on"], medians["on"] / medians["off"]))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
python3 bench/report.py --section tls "TLS to PostgreSQL (scripts/bench-tls.sh, $(date -u +%Y-%m-%d))" "$OUT_DIR/tls.md"
