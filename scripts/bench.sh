#!/usr/bin/env bash
# Benchmarks on this machine, each service figure beside the ceiling measured in the same run.
# Starts PostgreSQL + Redis (scripts/lib/services.sh), builds in release, and drives only
# loopback addresses with bounded load. Results: a table on stdout and JSON lines in
# bench/results/latest.jsonl.
#
#   scripts/bench.sh              # defaults: 16 clients, 10 s per figure
#   CLIENTS=64 SECONDS_PER_RUN=20 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

CLIENTS="${CLIENTS:-16}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
RESULTS=bench/results/latest.jsonl

SERVICE_PID=""
cleanup() {
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  ds_services_stop
}
trap cleanup EXIT
ds_services_start

echo "[bench] building release binaries" >&2
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage -p datastorage-bench

psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE bench" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/bench"

# The service migrates the database at start and creates this month's partitions.
PORT="$(ds_free_port)"
DATABASE_URL="$DB_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" DS_LOG=warn DS_LOG__FORMAT=json \
  target/release/datastorage >"$DS_SERVICES_DIR/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null || { cat "$DS_SERVICES_DIR/service.log" >&2; exit 1; }

: >"$RESULTS"

echo "[bench] ceiling: pgbench single-row INSERT, $CLIENTS clients, ${SECONDS_PER_RUN}s" >&2
pg_out="$("$DS_PG_BIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" -r -f bench/sql/insert_one.sql "$DB_URL" 2>&1)"
pg_tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$pg_out")"
pg_lat="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$pg_out")"
printf '{"figure":"pgbench single-row INSERT","clients":%s,"throughput_per_s":%s,"avg_ms":%s}\n' \
  "$CLIENTS" "$pg_tps" "$pg_lat" >>"$RESULTS"

echo "[bench] service: single-event POST (PostgreSQL), $CLIENTS clients, ${SECONDS_PER_RUN}s" >&2
target/release/loadgen --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" \
  --seconds "$SECONDS_PER_RUN" --label "single-event POST (201, PostgreSQL)" >>"$RESULTS"

rows="$(psql -At "$DB_URL" -c "SELECT count(*) FROM audit_events")"
python3 - "$RESULTS" "$rows" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ceiling = rows[0]["throughput_per_s"]
print(f"\n| figure | clients | throughput /s | p50 ms | p95 ms | p99 ms | ceiling /s | ratio |")
print("|---|---|---|---|---|---|---|---|")
print(f"| {rows[0]['figure']} | {rows[0]['clients']} | {ceiling:,.0f} | | | (avg {rows[0]['avg_ms']}) | | |")
for r in rows[1:]:
    print(f"| {r['figure']} | {r['clients']} | {r['throughput_per_s']:,.0f} | {r['p50_ms']:.2f} | "
          f"{r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {ceiling:,.0f} | {r['throughput_per_s']/ceiling:.2f}x |")
    if r["failed"]:
        print(f"  ! {r['failed']} requests did not get 201")
print(f"\nrows in audit_events after the run: {sys.argv[2]}")
PY
