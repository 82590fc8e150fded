#!/usr/bin/env bash
# The benchmark harness (issue 8, DESIGN.md §8): on this machine, in one run, the ceilings
# (pgbench, redis-benchmark) and the service's figures, each printed beside its ceiling.
# Starts PostgreSQL + Redis (scripts/lib/services.sh), builds in release, drives only
# loopback addresses with bounded load (bench/src/main.rs, the `loadgen`).
#
# Results: a table on stdout; bench/results/latest/ (results.jsonl, results.json, table.md,
# chart.svg); docs/benchmarks.md (the method and this run's table); one line appended to
# bench/results/history.jsonl. Older runs are in git.
#
#   scripts/bench.sh                               # everything, about 25 minutes
#   QUERY_ROWS="1000000" SECONDS_PER_RUN=5 scripts/bench.sh    # a quicker pass
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
# shellcheck source=scripts/lib/fill.sh
. scripts/lib/fill.sh

SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
# Row counts at which the queries are measured; the table is filled up to each in turn.
QUERY_ROWS="${QUERY_ROWS:-1000000 10000000}"
REPLAY_EVENTS="${REPLAY_EVENTS:-100000}"
# Interleaved (ceiling, service) rounds of the batch comparison; the median round is reported.
BATCH_ROUNDS="${BATCH_ROUNDS:-5}"
SEARCH_CLIENTS="${SEARCH_CLIENTS:-4}"
# Latency targets are read at a steady rate (open loop); throughput as fast as answered.
SEARCH_RATE="${SEARCH_RATE:-500}"
QUERY_CLIENTS="${QUERY_CLIENTS:-8}"
# The steady rate at which the query latency targets are read: a fixed rate well inside what
# the machine answers (at 10M rows about 2,900 correlation queries or 530 pages a second).
# Half the closed-loop rate was the wrong rule: an open loop wakes the processes for each
# request alone and costs about 1.6x the CPU per request, so half of a closed-loop rate of
# small queries needs more than the two cores.
QUERY_RATE="${QUERY_RATE:-200}"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
# Written aside and moved into place at the end, so a failed run leaves latest as it was.
RUN_DIR="bench/results/run.tmp"
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR"
RESULTS="$RUN_DIR/results.jsonl"
: >"$RESULTS"

ds_services_start_for_service

echo "[bench] building release binaries" >&2
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage -p datastorage-bench
DS_MODEL_DIR="$(scripts/fetch-model.sh)"
export DS_MODEL_DIR

psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE bench" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/bench"
redis_port="${DS_TEST_REDIS_URL##*:}"; redis_port="${redis_port%/}"

# The service, as deployed: PostgreSQL, the Redis dead-letter queue and embedding cache, the
# local model. It migrates the database at start and creates the partitions around today.
PORT="$(ds_free_port)"
URL="http://127.0.0.1:$PORT"
DATABASE_URL="$DB_URL" REDIS_URL="$DS_TEST_REDIS_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" \
  DS_LOG=warn DS_LOG__FORMAT=json DS_DATABASE__ACQUIRE_TIMEOUT_SECS=1 \
  target/release/datastorage >"$DS_SERVICES_DIR/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 150); do
  curl -fs "$URL/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "$URL/health/ready" >/dev/null || { cat "$DS_SERVICES_DIR/service.log" >&2; exit 1; }

emit() { echo "$1" >>"$RESULTS"; }
calc() { python3 -c "print($1)"; }
# The service's memory now: $1 = VmRSS (resident) or VmHWM (high-water mark), $2 = figure.
emit_rss() {
  local kib
  kib="$(sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SERVICE_PID/status")"
  emit "$(printf '{"figure":"%s","rss_mib":%.1f}' "$2" "$(calc "$kib / 1024")")"
}
emit_rss VmRSS "RSS idle (after start, before load)"

loadgen() { target/release/loadgen --url "$URL" --seconds "$SECONDS_PER_RUN" "$@"; }
pgbench_tps() { # $1 = script, $2 = clients -> transactions/s
  "$DS_PG_BIN/pgbench" -n -c "$2" -j 2 -T "$SECONDS_PER_RUN" -f "$1" "$DB_URL" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

# Before each latency-sensitive pair (ceiling, then service) and each batch round.
settle() { ds_settle "$DB_URL"; }
# pgbench at a fixed rate, every transaction logged: latency percentiles including schedule
# lag (comparable to the load generator's open loop). $1 = script, $2 = clients, $3 = rate.
pgbench_at_rate() {
  rm -f "$DS_SERVICES_DIR"/pgb_log*
  "$DS_PG_BIN/pgbench" -n -c "$2" -j 2 -T "$SECONDS_PER_RUN" -R "$3" -l \
    --log-prefix="$DS_SERVICES_DIR/pgb_log" -f "$1" "$DB_URL" >/dev/null 2>&1
  cat "$DS_SERVICES_DIR"/pgb_log* | python3 -c '
import json, sys
lat = sorted((int(f[2]) + (int(f[6]) if len(f) > 6 else 0)) / 1000 for f in (l.split() for l in sys.stdin))
n = len(lat); q = lambda p: lat[min(n - 1, int(n * p))]
print(json.dumps({"ok": n, "throughput_per_s": n / float(sys.argv[1]), "p50_ms": q(0.5), "p95_ms": q(0.95), "p99_ms": q(0.99)}))' "$SECONDS_PER_RUN"
}

# --- Ceilings and writes --------------------------------------------------------------------
for c in 16 64; do
  echo "[bench] ceiling: pgbench single-row INSERT, $c clients" >&2
  tps="$(pgbench_tps bench/sql/insert_one.sql "$c")"
  emit "{\"figure\":\"ceiling: pgbench single-row INSERT, $c clients\",\"clients\":$c,\"throughput_per_s\":$tps}"
done
for c in 16 64; do
  echo "[bench] service: single-event POST, $c clients" >&2
  emit "$(loadgen --clients "$c" --label "single-event POST (201), $c clients")"
done
half="$(python3 -c "import json; print(round([json.loads(l) for l in open('$RESULTS') if 'single-row INSERT, 64' in l][0]['throughput_per_s'] / 2))")"
echo "[bench] ceiling and service at half the ceiling ($half/s), 64 clients" >&2
settle
emit "$(pgbench_at_rate bench/sql/insert_one.sql 64 "$half" | python3 -c "import json,sys; r=json.load(sys.stdin); r.update(figure='latency reference: pgbench single-row INSERT at $half/s, 64 clients', clients=64); print(json.dumps(r))")"
settle
emit "$(loadgen --clients 64 --rate "$half" --label "single-event POST (201), 64 clients at half the ceiling")"
# Each ceiling is measured right before the service figure it is compared to: same table
# size, same disk state. The batch pair runs in interleaved rounds, each ceiling right before
# its service run: this 2-core machine's speed drifts by a fifth over minutes, which one pair
# can land on either side of. The report keeps the median round and lists every round.
# An unreported 100-row run first: the first run to write gigabytes of WAL also creates its
# segment files (later runs recycle them), and it read 16,707-24,403 rows/s against 20,077-
# 29,794 for the later ceilings of the same runs, handing round 1 to the service (1.04-1.07x).
echo "[bench] warm-up: pgbench 100-row INSERT (not reported)" >&2
settle
pgbench_tps bench/sql/insert_100.sql 16 >/dev/null
for round in $(seq 1 "$BATCH_ROUNDS"); do
  echo "[bench] ceiling: pgbench 100-row INSERT, 16 clients (round $round)" >&2
  settle
  tps="$(pgbench_tps bench/sql/insert_100.sql 16)"
  emit "{\"figure\":\"ceiling: pgbench 100-row INSERT, 16 clients (round $round)\",\"clients\":16,\"throughput_per_s\":$(calc "$tps * 100")}"
  echo "[bench] service: batch POST (100 events), 16 clients (round $round)" >&2
  settle
  emit "$(loadgen --scenario batch --batch-size 100 --clients 16 --label "batch POST (100 per batch), 16 clients (round $round)")"
done

# --- The dead-letter queue: fallback with PostgreSQL stopped, then replay -------------------
# XADD of an entry the size of one queued event (about 2.5 KiB), fsync on every write.
payload="$(python3 -c 'print("x" * 2500)')"
# The ceiling and the service each start from a freshly rewritten AOF (a rewrite left pending
# by the ceiling's 500 MB of XADDs would otherwise land in the service's run).
ds_redis_compact "$redis_port"
echo "[bench] ceiling: redis-benchmark XADD (appendfsync always), 16 clients" >&2
rb_rps="$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -c 16 -n 200000 -q XADD bench:ceiling '*' events "$payload" 2>&1 |
  tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)"
redis-cli -p "$redis_port" DEL bench:ceiling >/dev/null
emit "{\"figure\":\"ceiling: redis-benchmark XADD (AOF always), 16 clients\",\"clients\":16,\"throughput_per_s\":$rb_rps}"
rows_before_outage="$(psql -At "$DB_URL" -c "SELECT count(*) FROM audit_events")"
dlq_depth() { curl -fs "$URL/api/v1/dlq" | python3 -c 'import json,sys; print(json.load(sys.stdin)["depth"])'; }
echo "[bench] service: DLQ fallback with PostgreSQL stopped, 16 clients" >&2
$DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -m fast -w stop >/dev/null
ds_redis_compact "$redis_port"
emit "$(loadgen --clients 16 --expect 202 --label "DLQ fallback POST (202, PostgreSQL down), 16 clients")"
queued="$(dlq_depth)"
if [ "$queued" -lt "$REPLAY_EVENTS" ]; then
  per_client=$(( (REPLAY_EVENTS - queued + 15) / 16 ))
  loadgen --clients 16 --expect 202 --warmup-seconds 0 --seconds 600 \
    --max-requests-per-client "$per_client" --label "top-up" >/dev/null
fi
queued="$(dlq_depth)"
echo "[bench] service: replay of $queued queued events after PostgreSQL restarts" >&2
$DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -l "$DS_SERVICES_DIR/pg-log/postgres.log" -w start >/dev/null
emit "$(python3 - "$URL/api/v1/dlq" "$queued" <<'PY'
import json, sys, time, urllib.request
url, queued = sys.argv[1], int(sys.argv[2])
started = time.monotonic(); first = None
while time.monotonic() < started + 600:
    depth = json.load(urllib.request.urlopen(url))["depth"]
    if first is None and depth < queued:
        first = time.monotonic()
    if depth == 0:
        break
    time.sleep(0.05)
done = time.monotonic()
first = first or done
print(json.dumps({"figure": f"DLQ replay of {queued:,} events", "events": queued,
                  "seconds": round(done - first, 2),
                  "seconds_from_restart": round(done - started, 2),
                  "throughput_per_s": queued / max(done - first, 1e-9)}))
PY
)"
rows="$(psql -At "$DB_URL" -c "SELECT count(*) FROM audit_events")"
dupes="$(psql -At "$DB_URL" -c "SELECT count(*) - count(DISTINCT event_id) FROM audit_events")"
emit "{\"figure\":\"check: rows after replay\",\"rows\":$rows,\"before_outage\":$rows_before_outage,\"queued\":$queued,\"duplicate_event_ids\":$dupes}"

# --- Queries at 1M and 10M rows ---------------------------------------------------------------
# Synthetic months below the ones the service keeps (scripts/lib/fill.sh).
for target in $QUERY_ROWS; do
  ds_fill_to "$DB_URL" "$target"
  label="$(python3 -c "print(f'{$target/1e6:g}M')")"
  # The load left gigabytes of dirty pages: written out now, not by the queries' backends
  # making room for the pages they read.
  settle
  echo "[bench] service: queries at $label rows, $QUERY_CLIENTS clients" >&2
  # As fast as answered, then (the latency figure, read at a steady rate as every latency
  # target here is) at QUERY_RATE.
  for query in "correlation --correlations $((DS_FILLED / 10))|query by correlation_id (10 events, with total)" \
               "page --page-limit 100 --pages 20|keyset page (100 events, include_total=false)"; do
    # shellcheck disable=SC2086 # the scenario's arguments are meant to split
    emit "$(loadgen --scenario ${query%%|*} --clients "$QUERY_CLIENTS" --label "${query#*|}, $label rows")"
    # shellcheck disable=SC2086
    emit "$(loadgen --scenario ${query%%|*} --clients "$QUERY_CLIENTS" --rate "$QUERY_RATE" \
      --label "${query#*|}, $label rows, at $QUERY_RATE/s")"
  done
done

# --- The workflow catalog ---------------------------------------------------------------------
# 20 signal types x 4 severities: a search's hard filters keep about 1/80 of the catalog.
register_up_to() { # $1 = how many, $2 = name offset, $3 = label
  loadgen --scenario register --clients 16 --warmup-seconds 0 --seconds 900 \
    --max-requests-per-client $(( ($1 + 15) / 16 )) --name-offset "$2" --label "$3"
}
search_runs() { # $1 = catalog size label
  echo "[bench] service: searches at $1 workflows, $SEARCH_CLIENTS clients" >&2
  settle
  emit "$(loadgen --scenario search --clients "$SEARCH_CLIENTS" --rate "$SEARCH_RATE" \
    --label "label-only search, $1 workflows, $SEARCH_RATE/s")"
  emit "$(loadgen --scenario search --clients "$SEARCH_CLIENTS" \
    --label "label-only search, $1 workflows, as fast as answered")"
  emit "$(loadgen --scenario search --query same --clients "$SEARCH_CLIENTS" \
    --label "hybrid search, $1 workflows, embedding cache hit")"
  emit "$(loadgen --scenario search --query unique --clients "$SEARCH_CLIENTS" \
    --label "hybrid search, $1 workflows, embedding cache miss")"
}
# The local model is loaded only while used (DS_MODEL_KEEP_ALIVE_SECS): everything so far ran
# without it.
emit_rss VmHWM "RSS peak before the model is first used (writes, DLQ, queries)"
echo "[bench] service: register 1,000 workflows, 16 clients" >&2
emit "$(register_up_to 1000 0 "workflow registration with embedding (first 1,000)")"
search_runs 1k
echo "[bench] service: register 9,000 more workflows" >&2
emit "$(register_up_to 9000 1000000 "workflow registration with embedding (next 9,000)")"
search_runs 10k
emit_rss VmRSS "RSS with the model loaded, after the searches"
emit_rss VmHWM "RSS peak (high-water mark over the run)"
# Worst case: the heaviest write load while the model is still loaded.
echo "[bench] service: batch POST while the model is loaded (memory worst case)" >&2
loadgen --scenario batch --batch-size 100 --clients 16 --label "batch POST with the model loaded" >/dev/null
emit_rss VmHWM "RSS peak with the model loaded under batch POST, 16 clients"
echo "[bench] local model: query embedding latency" >&2
target/release/embed-latency >>"$RESULTS"

emit_rss VmRSS "RSS at the end of the run"

# This run's files replace their earlier versions; the other scripts' results (remediation,
# reliability, A/B runs, ...) in the same directory stay.
mkdir -p bench/results/latest
for f in "$RUN_DIR"/*; do
  rm -rf "bench/results/latest/${f##*/}"
  mv "$f" bench/results/latest/
done
rmdir "$RUN_DIR"
python3 bench/report.py bench/results/latest --run-id "$RUN_ID" --docs docs/benchmarks.md \
  --history bench/results/history.jsonl
echo "[bench] run $RUN_ID: bench/results/latest, docs/benchmarks.md" >&2
