#!/usr/bin/env bash
# The transparency log's benchmark (issue 22), in one run on this machine:
#
#  1. its cost on the write path: the service with the log off (DS_AUDIT_LOG__ENABLED=false:
#     no trigger, no sequencer) and on, in interleaved rounds on the same database (off, on;
#     then on, off; ...), a fresh service process for each, a vacuum and a checkpoint before
#     each measured run: single-event POST (64 clients) and batch POST (100 per batch, 16
#     clients), the median of the rounds and the ratio on/off. An "on" run's figure includes
#     no deferred work: its CPU per event is counted until the sequencer has caught up.
#  2. the sequencing lag at the batch ceiling's rate: the pgbench 100-row INSERT ceiling
#     (bench/sql/insert_100.sql, 16 clients, trigger off and service stopped, as bench.sh
#     measures it before the log existed), then batch POSTs at that many events a second
#     (open loop), the commit->sequenced lag read two ways: the service's histogram
#     datastorage_log_sequencing_lag_seconds (Prometheus buckets: p99 interpolated, and the
#     exact share within 1 s), and the oldest unsequenced event's age from
#     /api/v1/audit/log/status every 100 ms; then that the backlog drains to 0.
#  3. proofs at LOG_LEAVES leaves (10M): a synthetic log written straight into a fresh
#     database (leaves by SQL, tiles by `log_proofs tiles` from the domain's TileSet), the
#     service signs it, inclusion and consistency proofs at PROOF_RATE/s and as fast as
#     answered; a sample verified against the signed checkpoint (`log_proofs verify`).
#
# Rows (bench.sh's results.jsonl format) go to bench/results/latest/log.jsonl, the table to
# stdout and bench/results/latest/log.md (bench/report.py --log). A later scripts/bench.sh
# run replaces bench/results/latest, these files with it.
#
#   scripts/bench-log.sh          # 6-7 minutes (each backlog not drained adds DRAIN_TIMEOUT)
#   SECONDS_PER_RUN=3 ROUNDS=1 LOG_LEAVES=1000000 scripts/bench-log.sh   # a quick check, 3 min
#   BUILD=0 SERVICE_BIN=/tmp/other-build PHASES="writes lag" OUT_DIR=/tmp/b scripts/bench-log.sh
#
# Knobs: SECONDS_PER_RUN (10), ROUNDS (3), LAG_SECONDS (20), LOG_LEAVES (10000000),
# PROOF_RATE (200), PROOF_CLIENTS (8), PROOF_IDS (2000), VERIFY_SAMPLE (20), DRAIN_TIMEOUT
# (60 s: a backlog still there then is dropped, and the row says so), PHASES ("writes lag
# proofs"), BUILD (1; 0: use the binaries as they are), SERVICE_BIN (target/release/
# datastorage), OUT_DIR (bench/results/latest), KEEP_WORK (a directory the service logs, lag
# samples and proofs are copied to at exit), SERVICE_LOG_LEVEL (warn). The service's own
# DS_AUDIT_LOG__POLL_MS and DS_AUDIT_LOG__BATCH pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
# shellcheck source=scripts/lib/cpu.sh
. scripts/lib/cpu.sh

SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
ROUNDS="${ROUNDS:-3}"
LAG_SECONDS="${LAG_SECONDS:-20}"
LOG_LEAVES="${LOG_LEAVES:-10000000}"
PROOF_RATE="${PROOF_RATE:-200}"
PROOF_CLIENTS="${PROOF_CLIENTS:-8}"
PROOF_IDS="${PROOF_IDS:-2000}"
VERIFY_SAMPLE="${VERIFY_SAMPLE:-20}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-60}"
PHASES="${PHASES:-writes lag proofs}"
BUILD="${BUILD:-1}"
# The service binary measured (another build of it, as scripts/bench-ab.sh takes them).
SERVICE_BIN="${SERVICE_BIN:-target/release/datastorage}"

log() { printf '[bench-log] %s\n' "$*" >&2; }
phase() { case " $PHASES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage -p datastorage-bench
fi
for bin in "$SERVICE_BIN" target/release/loadgen target/release/log_proofs; do
  [ -x "$bin" ] || { log "$bin is missing (BUILD=1 builds it)"; exit 1; }
done

# Written aside (a name of its own: two runs at once do not mix rows) and moved into place at
# the end: a failed run leaves the last log.jsonl, and its own rows under bench/results/.
OUT_DIR="${OUT_DIR:-bench/results/latest}"
mkdir -p bench/results
RESULTS="$(mktemp bench/results/log.XXXXXX.tmp.jsonl)"
emit() { echo "$1" >>"$RESULTS"; }
# Merges the JSON object $2 into the JSON object $1.
merge() {
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(json.loads(sys.argv[2])); print(json.dumps(r))' "$1" "$2"
}
calc() { python3 -c "print($1)"; }
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# The service as bench.sh runs it (PostgreSQL, the Redis dead-letter queue), without the model
# (no search here). $1 = database URL, $2 = log on (true) or off (false). Sets URL, SERVICE_PID.
SERVICE_N=0
start_service() {
  local port
  port="$(ds_free_port)"
  URL="http://127.0.0.1:$port"
  SERVICE_N=$((SERVICE_N + 1))
  SERVICE_LOG="$WORK/service-$SERVICE_N.log"
  DATABASE_URL="$1" REDIS_URL="$REDIS_URL_" DS_HTTP__ADDR="127.0.0.1:$port" \
    DS_LOG="${SERVICE_LOG_LEVEL:-warn}" DS_LOG__FORMAT=json DS_DATABASE__ACQUIRE_TIMEOUT_SECS=1 DS_EMBEDDER__KIND=none \
    DS_AUDIT_LOG__ENABLED="$2" "$SERVICE_BIN" >"$SERVICE_LOG" 2>&1 &
  SERVICE_PID=$!
  local _
  for _ in $(seq 1 150); do
    curl -fs "$URL/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$SERVICE_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$SERVICE_LOG" >&2
  log "the service did not become ready"
  return 1
}
stop_service() {
  if [ -n "${SERVICE_PID:-}" ]; then
    kill "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
    SERVICE_PID=""
  fi
}

ds_services_start_for_service
# The services' trap, plus the lag poller when one runs.
POLLER_PID=""
cleanup() {
  if [ -n "$POLLER_PID" ]; then kill "$POLLER_PID" 2>/dev/null || true; fi
  stop_service
  if [ -n "${KEEP_WORK:-}" ] && [ -d "${WORK:-}" ]; then
    mkdir -p "$KEEP_WORK" && cp -r "$WORK"/. "$KEEP_WORK"/ || true
  fi
  ds_stop_service_and_services
  if [ -f "$RESULTS" ]; then log "the run failed; its rows so far: $RESULTS"; fi
}
trap cleanup EXIT

psql() { "$DS_PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 "$@"; }
REDIS_URL_="$DS_TEST_REDIS_URL"
WORK="$DS_SERVICES_DIR/bench-log"
mkdir -p "$WORK"

# CPU ticks of this run's PostgreSQL (the postmaster and its children: other clusters on the
# machine are not counted).
pg_ticks() {
  local pm pid total=0
  pm="$(head -1 "$DS_PGDATA/postmaster.pid")"
  for pid in "$pm" $(pgrep -P "$pm"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# Busy cores of the whole machine over one second while this run is idle: what else (another
# build, another test run) shares the machine with the measurement that follows.
background_cores() {
  local m0 m1
  m0="$(ds_machine_ticks)"; sleep 1; m1="$(ds_machine_ticks)"
  calc "round(($m1 - $m0) / $(getconf CLK_TCK), 2)"
}

# Vacuum and checkpoint before a measured run: the log's tables too (the queue churns). $1 = URL.
settle() {
  psql "$1" -c "VACUUM (ANALYZE) audit_log_pending, audit_log_leaves, audit_log_tiles" >/dev/null
  ds_settle "$1"
}

# Waits until the log has sequenced everything committed, for at most DRAIN_TIMEOUT; prints
# {"unsequenced_after_run", "drain_seconds", "unsequenced_after_drain", "log_size"}.
drain() {
  python3 - "$URL/api/v1/audit/log/status" "$DRAIN_TIMEOUT" <<'PY'
import json, sys, time, urllib.request
url, timeout = sys.argv[1], float(sys.argv[2])
status = lambda: json.load(urllib.request.urlopen(url, timeout=10))
started = time.monotonic()
first = s = status()
while s["unsequenced"] > 0 and time.monotonic() < started + timeout:
    time.sleep(0.05)
    s = status()
print(json.dumps({"unsequenced_after_run": first["unsequenced"],
                  "drain_seconds": round(time.monotonic() - started, 2),
                  "unsequenced_after_drain": s["unsequenced"], "log_size": s["size"]}))
PY
}

# A backlog the sequencer did not clear within DRAIN_TIMEOUT is dropped, so the next run starts
# from an empty queue (this benchmark's database only): its running step is ended (a step is
# one transaction: nothing half-done), then the queue emptied. $1 = database URL; prints how
# many queued events were dropped.
abandon_backlog() {
  psql -At "$1" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND query LIKE '%DELETE FROM audit_log_pending%'" >/dev/null
  psql -At "$1" -c "WITH gone AS (DELETE FROM audit_log_pending RETURNING 1) SELECT count(*) FROM gone"
}

loadgen() { target/release/loadgen --url "$URL" --seconds "$SECONDS_PER_RUN" "$@"; }

# One measured write run. $1 = mode (on|off), $2 = round, $3 = events per request, then the
# loadgen's arguments (its label last). Emits the loadgen's row with the CPU this run cost the
# service and PostgreSQL per event, counted until the log caught up.
write_run() {
  local mode="$1" round="$2" per="$3" busy s0 p0 row s1 p1 drained left events
  shift 3
  busy="$(background_cores)"
  s0="$(ds_ticks "$SERVICE_PID")"; p0="$(pg_ticks)"
  row="$(loadgen "$@")"
  drained='{}'
  if [ "$mode" = on ]; then
    drained="$(drain)"
    left="$(field "$drained" unsequenced_after_drain)"
    if [ "$left" != 0 ]; then
      log "the log did not catch up within $DRAIN_TIMEOUT s ($left events left): dropping them"
      drained="$(merge "$drained" "{\"abandoned_backlog\":$(abandon_backlog "$DB_URL")}")"
    fi
  fi
  s1="$(ds_ticks "$SERVICE_PID")"; p1="$(pg_ticks)"
  events="$(python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print((r["ok"] + r["warmup_ok"]) * int(sys.argv[2]))' "$row" "$per")"
  emit "$(merge "$row" "$(merge "$drained" "{\"log\":\"$mode\",\"round\":$round,\"events_in_cpu_window\":$events,\"background_busy_cores\":$busy,\"service_cpu_us_per_event\":$(ds_per_unit_us "$s0" "$s1" "$events"),\"postgres_cpu_us_per_event\":$(ds_per_unit_us "$p0" "$p1" "$events")}")")"
}

psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE bench" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/bench"
settings_row="{\"figure\":\"settings\",\"seconds_per_run\":$SECONDS_PER_RUN,\"rounds\":$ROUNDS,\"poll_ms\":${DS_AUDIT_LOG__POLL_MS:-200},\"batch\":${DS_AUDIT_LOG__BATCH:-10000},\"service_bin\":\"$SERVICE_BIN\",\"commit\":\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench' ':!scripts/bench-log.sh' 2>/dev/null || echo -dirty)\",\"cores\":$(nproc)}"
emit "$settings_row"

# --- 1. Log on vs off -------------------------------------------------------------------------
if phase writes; then
  for round in $(seq 1 "$ROUNDS"); do
    # Off first in odd rounds, on first in even ones: a drift of the machine's speed over the
    # run favours neither.
    order="off on"
    if [ $((round % 2)) = 0 ]; then order="on off"; fi
    for mode in $order; do
      enabled=false
      if [ "$mode" = on ]; then enabled=true; fi
      start_service "$DB_URL" "$enabled"
      log "round $round, log $mode: single-event POST, 64 clients"
      settle "$DB_URL"
      write_run "$mode" "$round" 1 --clients 64 \
        --label "log $mode: single-event POST (201), 64 clients (round $round)"
      log "round $round, log $mode: batch POST (100 per batch), 16 clients"
      settle "$DB_URL"
      write_run "$mode" "$round" 100 --scenario batch --batch-size 100 --clients 16 \
        --label "log $mode: batch POST (100 per batch), 16 clients (round $round)"
      stop_service
    done
  done
fi

# --- 2. Sequencing lag at the batch ceiling's rate --------------------------------------------
pgbench_tps() { # $1 = script, $2 = clients -> transactions/s
  "$DS_PG_BIN/pgbench" -n -c "$2" -j 2 -T "$SECONDS_PER_RUN" -f "$1" "$DB_URL" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
if phase lag; then
  # Migrates a fresh database when the writes phase did not run; leaves the trigger off.
  start_service "$DB_URL" false
  stop_service
  abandon_backlog "$DB_URL" >/dev/null
  psql "$DB_URL" -c "ALTER TABLE audit_events DISABLE TRIGGER audit_log_enqueue" >/dev/null
  log "warm-up: pgbench 100-row INSERT (not reported)"
  settle "$DB_URL"
  pgbench_tps bench/sql/insert_100.sql 16 >/dev/null
  log "ceiling: pgbench 100-row INSERT, 16 clients (trigger off, service stopped)"
  settle "$DB_URL"
  busy="$(background_cores)"
  tps="$(pgbench_tps bench/sql/insert_100.sql 16)"
  ceiling="$(calc "round($tps * 100)")"
  emit "{\"figure\":\"ceiling: pgbench 100-row INSERT, 16 clients (log trigger off)\",\"clients\":16,\"throughput_per_s\":$ceiling,\"background_busy_cores\":$busy}"
  # The trigger's own cost inside PostgreSQL (nothing sequences: the queue is emptied after).
  log "ceiling: pgbench 100-row INSERT, 16 clients (trigger on, no sequencer)"
  psql "$DB_URL" -c "ALTER TABLE audit_events ENABLE TRIGGER audit_log_enqueue" >/dev/null
  settle "$DB_URL"
  tps_on="$(pgbench_tps bench/sql/insert_100.sql 16)"
  queued="$(psql -At "$DB_URL" -c "SELECT count(*) FROM audit_log_pending")"
  psql "$DB_URL" -c "TRUNCATE audit_log_pending" >/dev/null
  emit "{\"figure\":\"ceiling: pgbench 100-row INSERT, 16 clients (log trigger on, no sequencer)\",\"clients\":16,\"throughput_per_s\":$(calc "round($tps_on * 100)"),\"queued\":$queued}"

  start_service "$DB_URL" true
  settle "$DB_URL"
  rate="$(calc "round($ceiling / 100, 1)")"
  log "log on: batch POST at the ceiling's rate ($ceiling events/s = $rate batches/s) for $LAG_SECONDS s, lag polled"
  rm -f "$WORK/poll.stop"
  python3 - "$URL/api/v1/audit/log/status" "$WORK/poll.stop" "$WORK/poll.json" "$DRAIN_TIMEOUT" <<'PY' &
import json, sys, time, os, urllib.request
url, stop_file, out, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
load, drain = [], []  # (oldest unsequenced age in s, unsequenced, log size)
stopped = drained = None
errors, trace = 0, []
t0 = next_tick = time.monotonic()
while True:
    now = time.monotonic()
    try:
        s = json.load(urllib.request.urlopen(url, timeout=5))
        sample = (s.get("oldest_unsequenced_seconds") or 0.0, s["unsequenced"], s["size"])
    except Exception:
        errors += 1
        sample = None
    if stopped is None and os.path.exists(stop_file):
        stopped = now
    if sample:
        (load if stopped is None else drain).append(sample)
        trace.append((round(now - t0, 2),) + sample)
        if stopped is not None and sample[1] == 0:
            drained = now
            break
    if stopped is not None and now > stopped + timeout:
        break
    next_tick += 0.1
    time.sleep(max(0.0, next_tick - time.monotonic()))
ages = sorted(a for a, _, _ in load) or [0.0]
q = lambda p: ages[min(len(ages) - 1, int(len(ages) * p))] * 1000
end = (drain or load)[-1] if (drain or load) else (None, None, None)
json.dump({"samples": len(load), "poll_errors": errors,
           "p50_ms": q(0.5), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": ages[-1] * 1000,
           "max_ms_incl_drain": max([a for a, _, _ in load + drain] or [0.0]) * 1000,
           "unsequenced_max": max([u for _, u, _ in load + drain] or [0]),
           "unsequenced_at_stop": drain[0][1] if drain else (load[-1][1] if load else None),
           "drain_seconds": round(drained - stopped, 2) if drained and stopped else None,
           "unsequenced_end": end[1], "log_size_end": end[2]}, open(out, "w"))
json.dump(trace, open(out + ".trace", "w"))
PY
  POLLER_PID=$!
  busy="$(background_cores)"
  t0="$(date +%s.%N)"
  row="$(loadgen --scenario batch --batch-size 100 --clients 16 --rate "$rate" --seconds "$LAG_SECONDS" \
    --label "log on: batch POST (100 per batch), 16 clients at the ceiling's rate ($ceiling events/s)")"
  t1="$(date +%s.%N)"
  touch "$WORK/poll.stop"
  wait "$POLLER_PID"
  POLLER_PID=""
  # The load generator counts every request due within the run, however late it was answered:
  # when the service falls behind the rate, the events written per wall-clock second say so.
  achieved="$(python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(round((r["ok"] + r["warmup_ok"]) * 100 / (float(sys.argv[3]) - float(sys.argv[2]))))' "$row" "$t0" "$t1")"
  emit "$(merge "$row" "{\"log\":\"on\",\"background_busy_cores\":$busy,\"wall_seconds\":$(calc "round($t1 - $t0, 1)"),\"achieved_events_per_s\":$achieved}")"
  poll="$(cat "$WORK/poll.json")"
  # The histogram as the exporter renders it (buckets, not quantiles): the lag of every event
  # this service process sequenced, which is this run's.
  hist="$(curl -fs "$URL/metrics" | python3 -c '
import json, re, sys
buckets, count, total = [], 0, 0.0
for line in sys.stdin:
    m = re.match(r"datastorage_log_sequencing_lag_seconds_bucket\{.*le=\"([^\"]+)\".*\} (\S+)", line)
    if m:
        buckets.append((float(m.group(1)), float(m.group(2))))
    elif line.startswith("datastorage_log_sequencing_lag_seconds_count"):
        count = float(line.split()[-1])
    elif line.startswith("datastorage_log_sequencing_lag_seconds_sum"):
        total = float(line.split()[-1])
buckets.sort()
def quantile(q):
    # As PromQL histogram_quantile: linear within the bucket the rank falls in.
    rank, lower, below = q * count, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return None  # beyond the last finite bucket: only "more than" is known
            inside = cumulative - below
            return (lower + (bound - lower) * ((rank - below) / inside if inside else 1)) * 1000
        lower, below = bound, cumulative
    return None
within = dict(buckets).get(1.0)
finite = [b for b, _ in buckets if b != float("inf")]
print(json.dumps({"events": int(count), "last_bucket_ms": finite[-1] * 1000 if finite else None, "mean_ms": total / count * 1000 if count else None,
                  "p50_ms": quantile(0.5), "p95_ms": quantile(0.95), "p99_ms": quantile(0.99),
                  "within_1s": within / count if count and within is not None else None,
                  "buckets": {("+Inf" if b == float("inf") else f"{b:g}"): int(c) for b, c in buckets}}))')"
  emit "$(merge "$hist" '{"figure":"sequencing lag at the ceiling'"'"'s rate (histogram datastorage_log_sequencing_lag_seconds)","source":"histogram, p50/p95/p99 interpolated within its buckets"}')"
  emit "$(merge "$poll" '{"figure":"sequencing lag at the ceiling'"'"'s rate (oldest unsequenced age, /status every 100 ms)","source":"polled during the load"}')"
  check="$(python3 -c 'import json, sys; p = json.loads(sys.argv[1]); print(json.dumps({
    "figure": "check: log drained after the load", "unsequenced": p["unsequenced_end"],
    "size": p["log_size_end"], "unsequenced_at_stop": p["unsequenced_at_stop"],
    "drain_seconds": p["drain_seconds"], "drain_timeout_seconds": float(sys.argv[2])}))' "$poll" "$DRAIN_TIMEOUT")"
  if [ "$(field "$poll" unsequenced_end)" != 0 ]; then
    log "the log did not catch up within $DRAIN_TIMEOUT s: dropping the rest"
    check="$(merge "$check" "{\"abandoned_backlog\":$(abandon_backlog "$DB_URL")}")"
  fi
  emit "$check"
  stop_service
fi

# --- 3. Proofs at LOG_LEAVES leaves -----------------------------------------------------------
if phase proofs; then
  N="$LOG_LEAVES"
  label="$(python3 -c "print(f'{$N/1e6:g}M')")"
  psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE logbench" >/dev/null
  LOG_DB="${DS_TEST_DATABASE_URL%/*}/logbench"
  # The schema, by the service's migrations; no sequencer yet.
  start_service "$LOG_DB" false
  stop_service
  log "building a $N-leaf log: leaves by SQL"
  t0="$(date +%s.%N)"
  # The secondary indexes are dropped and built again after the load (a sort, rather than
  # 10M random inserts into a UUID btree), from their own definitions.
  psql -v leaves="$N" "$LOG_DB" >/dev/null <<'SQL'
SET maintenance_work_mem = '1GB';
CREATE TEMP TABLE leaf_indexes AS
  SELECT indexname, indexdef FROM pg_indexes
  WHERE tablename = 'audit_log_leaves' AND schemaname = current_schema()
    AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'audit_log_leaves'::regclass);
SELECT format('DROP INDEX %I', indexname) FROM leaf_indexes \gexec
INSERT INTO audit_log_leaves (log_index, event_id, event_date, correlation_id)
  SELECT g, gen_random_uuid(), current_date, 'bench-' || (g % 1000)
  FROM generate_series(0, :leaves - 1) g;
SELECT indexdef FROM leaf_indexes \gexec
SQL
  t1="$(date +%s.%N)"
  log "tiles by log_proofs, COPY"
  roots_at="$(python3 -c "n = $N; print(','.join(str(s) for s in sorted({1, 255, 256, 257, 65537, 1234567, n // 2 + 1, n - 1}) if 0 < s <= n))")"
  target/release/log_proofs tiles --leaves "$N" --roots-at "$roots_at" --summary "$WORK/tiles.json" |
    psql "$LOG_DB" -c "COPY audit_log_tiles (level, idx, hashes) FROM STDIN (FORMAT binary)" >/dev/null
  psql "$LOG_DB" -c "UPDATE audit_log_state SET size = $N" >/dev/null
  t2="$(date +%s.%N)"
  psql "$LOG_DB" -c "VACUUM (ANALYZE) audit_log_leaves, audit_log_tiles" -c CHECKPOINT >/dev/null
  start_service "$LOG_DB" true
  t3="$(date +%s.%N)"
  signed=""
  for _ in $(seq 1 600); do
    signed="$(curl -fs "$URL/api/v1/audit/log/status" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("checkpoint_size", ""))')"
    [ "$signed" = "$N" ] && break
    sleep 0.1
  done
  [ "$signed" = "$N" ] || { cat "$SERVICE_LOG" >&2; log "no checkpoint of size $N within 60 s"; exit 1; }
  t4="$(date +%s.%N)"
  emit "$(merge "$(cat "$WORK/tiles.json")" "{\"figure\":\"build: $label-leaf log\",\"leaves_seconds\":$(calc "round($t1 - $t0, 1)"),\"tiles_seconds\":$(calc "round($t2 - $t1, 1)"),\"checkpoint_seconds\":$(calc "round($t4 - $t3, 2)"),\"roots\":null}")"

  log "proofs: ids, then a sample verified against the signed checkpoint"
  psql -At "$LOG_DB" -c "SELECT event_id FROM audit_log_leaves
    WHERE log_index IN (SELECT (random() * ($N - 1))::bigint FROM generate_series(1, $PROOF_IDS))" >"$WORK/ids"
  curl -fs "$URL/api/v1/audit/log/vkey" >"$WORK/vkey"
  curl -fs "$URL/api/v1/audit/log/checkpoint" >"$WORK/checkpoint"
  : >"$WORK/inclusion.jsonl"
  psql -At -F ' ' "$LOG_DB" -c "SELECT log_index, event_id FROM audit_log_leaves
    WHERE log_index IN (0, $N - 1) OR log_index IN (SELECT (random() * ($N - 1))::bigint FROM generate_series(1, $VERIFY_SAMPLE))" |
    while read -r index id; do
      proof="$(curl -fs "$URL/api/v1/audit/log/proof/inclusion?event_id=$id" || echo null)"
      printf '{"expected_index": %s, "proof": %s}\n' "$index" "$proof" >>"$WORK/inclusion.jsonl"
    done
  : >"$WORK/consistency.jsonl"
  for first in ${roots_at//,/ }; do
    curl -fs "$URL/api/v1/audit/log/proof/consistency?first=$first&second=$N" >>"$WORK/consistency.jsonl" || echo null >>"$WORK/consistency.jsonl"
    echo >>"$WORK/consistency.jsonl"
  done
  emit "$(target/release/log_proofs verify --summary "$WORK/tiles.json" --vkey "$WORK/vkey" \
    --checkpoint "$WORK/checkpoint" --inclusion "$WORK/inclusion.jsonl" --consistency "$WORK/consistency.jsonl")"

  psql "$LOG_DB" -c CHECKPOINT >/dev/null
  for kind in inclusion consistency; do
    args=(--scenario "$kind" --tree-size "$N" --clients "$PROOF_CLIENTS")
    if [ "$kind" = inclusion ]; then args+=(--ids-file "$WORK/ids"); fi
    log "$kind proofs at $label leaves: $PROOF_RATE/s, then as fast as answered"
    busy="$(background_cores)"
    emit "$(merge "$(loadgen "${args[@]}" --rate "$PROOF_RATE" --label "$kind proof, $label leaves, at $PROOF_RATE/s")" "{\"background_busy_cores\":$busy}")"
    busy="$(background_cores)"
    emit "$(merge "$(loadgen "${args[@]}" --label "$kind proof, $label leaves, as fast as answered")" "{\"background_busy_cores\":$busy}")"
  done
  stop_service
fi

mkdir -p "$OUT_DIR"
mv "$RESULTS" "$OUT_DIR/log.jsonl"
python3 bench/report.py --log "$OUT_DIR"
python3 bench/report.py --section log "Transparency log (scripts/bench-log.sh, $(date -u +%Y-%m-%d))" \
  "$OUT_DIR/log.md"
log "rows: $OUT_DIR/log.jsonl, table: $OUT_DIR/log.md"
