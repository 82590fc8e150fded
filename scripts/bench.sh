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
DS_MODEL_DIR="$(scripts/fetch-model.sh)"
export DS_MODEL_DIR

psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE bench" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/bench"

# The service migrates the database at start and creates this month's partitions.
PORT="$(ds_free_port)"
DATABASE_URL="$DB_URL" REDIS_URL="$DS_TEST_REDIS_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" \
  DS_LOG=warn DS_LOG__FORMAT=json DS_DATABASE__ACQUIRE_TIMEOUT_SECS=1 \
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

rows_before_outage="$(psql -At "$DB_URL" -c "SELECT count(*) FROM audit_events")"
REPLAY_EVENTS="${REPLAY_EVENTS:-100000}"
dlq_depth() { curl -fs "http://127.0.0.1:$PORT/api/v1/dlq" | python3 -c 'import json,sys; print(json.load(sys.stdin)["depth"])'; }

# Redis ceiling: XADD of an entry the size of one queued event, AOF fsync on every write.
payload="$(python3 -c 'print("x" * 1300)')"
redis_port="${DS_TEST_REDIS_URL##*:}"; redis_port="${redis_port%/}"
echo "[bench] ceiling: redis-benchmark XADD (appendfsync always), $CLIENTS clients" >&2
rb_out="$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -c "$CLIENTS" -n 100000 -q XADD bench:ceiling '*' events "$payload" 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -1)"
rb_rps="$(sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' <<<"$rb_out")"
redis-cli -p "$redis_port" DEL bench:ceiling >/dev/null
printf '{"figure":"redis-benchmark XADD (AOF always)","clients":%s,"throughput_per_s":%s}\n' "$CLIENTS" "$rb_rps" >>"$RESULTS"

echo "[bench] service: DLQ fallback with PostgreSQL stopped, $CLIENTS clients, ${SECONDS_PER_RUN}s" >&2
$DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -m fast -w stop >/dev/null
target/release/loadgen --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" --expect 202 \
  --seconds "$SECONDS_PER_RUN" --label "DLQ fallback POST (202, PostgreSQL down)" >>"$RESULTS"
queued="$(dlq_depth)"
if [ "$queued" -lt "$REPLAY_EVENTS" ]; then
  per_client=$(( (REPLAY_EVENTS - queued + CLIENTS - 1) / CLIENTS ))
  target/release/loadgen --url "http://127.0.0.1:$PORT" --clients "$CLIENTS" --expect 202 \
    --warmup-seconds 0 --seconds 600 --max-requests-per-client "$per_client" --label "top-up" >/dev/null
fi
queued="$(dlq_depth)"

echo "[bench] service: replay of $queued queued events after PostgreSQL restarts" >&2
$DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -l "$DS_SERVICES_DIR/pg-log/postgres.log" -w start >/dev/null
replay="$(python3 - "http://127.0.0.1:$PORT/api/v1/dlq" "$queued" <<'PY'
import json, sys, time, urllib.request
url, queued = sys.argv[1], int(sys.argv[2])
started = time.monotonic(); first = None
deadline = started + 600
while time.monotonic() < deadline:
    depth = json.load(urllib.request.urlopen(url))["depth"]
    if first is None and depth < queued:
        first = time.monotonic()
    if depth == 0:
        break
    time.sleep(0.05)
done = time.monotonic()
first = first or done
print(json.dumps({"figure": f"DLQ replay of {queued} events", "events": queued,
                  "seconds_from_restart": round(done - started, 2),
                  "seconds_draining": round(done - first, 2),
                  "throughput_per_s": queued / max(done - first, 1e-9)}))
PY
)"
echo "$replay" >>"$RESULTS"
rows="$(psql -At "$DB_URL" -c "SELECT count(*) FROM audit_events")"
dupes="$(psql -At "$DB_URL" -c "SELECT count(*) - count(DISTINCT event_id) FROM audit_events")"

# The workflow catalog: registration throughput, then label-only search latency at 1k and
# 10k workflows (20 signal types x 4 severities, so a search's hard filters keep ~1/80).
SEARCH_CLIENTS="${SEARCH_CLIENTS:-4}"
register_up_to() { # $1 = how many in all, $2 = name offset, $3 = label
  local per_client=$(( ($1 + CLIENTS - 1) / CLIENTS ))
  target/release/loadgen --url "http://127.0.0.1:$PORT" --scenario register --clients "$CLIENTS" \
    --warmup-seconds 0 --seconds 600 --max-requests-per-client "$per_client" --name-offset "$2" \
    --label "$3" >>"$RESULTS"
}
echo "[bench] service: register 1,000 workflows, $CLIENTS clients" >&2
register_up_to 1000 0 "workflow registration (first 1,000)"
search_runs() { # $1 = catalog size label
  echo "[bench] service: searches at $1 workflows, $SEARCH_CLIENTS clients" >&2
  target/release/loadgen --url "http://127.0.0.1:$PORT" --scenario search --clients "$SEARCH_CLIENTS" \
    --seconds "$SECONDS_PER_RUN" --label "label-only search, $1 workflows" >>"$RESULTS"
  target/release/loadgen --url "http://127.0.0.1:$PORT" --scenario search --query same --clients "$SEARCH_CLIENTS" \
    --seconds "$SECONDS_PER_RUN" --label "hybrid search, $1 workflows, embedding cache hit" >>"$RESULTS"
  target/release/loadgen --url "http://127.0.0.1:$PORT" --scenario search --query unique --clients "$SEARCH_CLIENTS" \
    --seconds "$SECONDS_PER_RUN" --label "hybrid search, $1 workflows, embedding cache miss" >>"$RESULTS"
}
search_runs 1k
echo "[bench] service: register 9,000 more workflows" >&2
register_up_to 9000 1000000 "workflow registration (next 9,000)"
search_runs 10k
echo "[bench] local model: query embedding latency, cache miss and hit" >&2
target/release/embed-latency >>"$RESULTS"
workflows="$(psql -At "$DB_URL" -c "SELECT count(*) FROM workflows")"
candidates="$(psql -At "$DB_URL" -c "SELECT count(*) FROM workflows WHERE is_latest_version AND status = 'active' AND lower(signal_type) = 'oomkilled' AND severity = 'critical' AND (component IN ('*', 'pod')) AND (environment IN ('*', 'production')) AND (priority IN ('*', 'P0'))")"
echo "[bench] catalog: $workflows workflows; the benchmark search has $candidates candidates" >&2

python3 - "$RESULTS" "$rows" "$rows_before_outage" "$queued" "$dupes" <<'PY'
import json, sys
rows = {r["figure"]: r for r in map(json.loads, open(sys.argv[1]))}
def row(name, r, ceiling=None):
    tp = r["throughput_per_s"]
    lat = [f"{r[k]:.2f}" if k in r else "" for k in ("p50_ms", "p95_ms", "p99_ms")]
    c = f"{ceiling:,.0f}" if ceiling else ""
    ratio = f"{tp / ceiling:.2f}x" if ceiling else ""
    print(f"| {name} | {r.get('clients', '')} | {tp:,.0f} | {' | '.join(lat)} | {c} | {ratio} |")
pg = rows["pgbench single-row INSERT"]["throughput_per_s"]
rb = rows["redis-benchmark XADD (AOF always)"]["throughput_per_s"]
print("\n| figure | clients | throughput /s | p50 ms | p95 ms | p99 ms | ceiling /s | ratio |")
print("|---|---|---|---|---|---|---|---|")
for name, r in rows.items():
    ceiling = {"single-event POST (201, PostgreSQL)": pg, "DLQ fallback POST (202, PostgreSQL down)": rb}.get(name)
    row(name, r, ceiling)
    if r.get("failed"):
        print(f"  ! {r['failed']} requests did not get the expected status")
replay = [r for n, r in rows.items() if n.startswith("DLQ replay")][0]
print(f"\nreplay: {replay['events']} events drained in {replay['seconds_draining']} s "
      f"({replay['seconds_from_restart']} s after PostgreSQL restarted)")
total, before, queued, dupes = map(int, sys.argv[2:6])
print(f"rows in audit_events after the replay: {total} = {before} before the outage + "
      f"{total - before} replayed (queue held {queued}); duplicate event_ids: {dupes}")
PY
