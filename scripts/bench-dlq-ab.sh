#!/usr/bin/env bash
# A/B of two service binaries on the dead-letter fallback path: with PostgreSQL stopped, 16
# clients POST single events and every answer must be 202. Each run reports its throughput
# beside the Redis ceiling of the moment, and the service's CPU per event (user + system
# ticks of its process over the run: steadier than throughput on a shared machine). Alternating pairs, each run on a
# freshly rewritten AOF and under its own key prefix, each pair after the redis-benchmark XADD
# ceiling of the same moment (the disk's fsync decides both). For a change on the path every
# request takes while PostgreSQL is down, whose effect a whole benchmark run cannot separate
# from the hour.
#
#   scripts/bench-dlq-ab.sh /tmp/a /tmp/b 3          # 3 alternating pairs, 8 s each
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
# shellcheck source=scripts/lib/cpu.sh
. scripts/lib/cpu.sh

[ $# -ge 2 ] || { echo "usage: $0 <binary-a> <binary-b> [pairs]" >&2; exit 2; }
A="$1"; B="$2"; PAIRS="${3:-3}"; SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"

ds_services_start_for_service
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage-bench
redis_port="${DS_TEST_REDIS_URL##*:}"; redis_port="${redis_port%/}"
payload="$(python3 -c 'print("x" * 2500)')"

ceiling() {
  ds_redis_compact "$redis_port"
  redis-benchmark -h 127.0.0.1 -p "$redis_port" -c 16 -n 100000 -q XADD ab:ceiling '*' events "$payload" 2>&1 |
    tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1
  redis-cli -p "$redis_port" DEL ab:ceiling >/dev/null
}

run() { # $1 = label, $2 = binary
  "$DS_PG_BIN/psql" -q "$DS_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS ab" -c "CREATE DATABASE ab" >/dev/null 2>&1
  local port url xadd out
  port="$(ds_free_port)"; url="http://127.0.0.1:$port"
  DATABASE_URL="${DS_TEST_DATABASE_URL%/*}/ab" REDIS_URL="$DS_TEST_REDIS_URL" \
    DS_REDIS__KEY_PREFIX="ab-$RANDOM" DS_HTTP__ADDR="127.0.0.1:$port" DS_LOG=warn \
    DS_DATABASE__ACQUIRE_TIMEOUT_SECS=1 DS_EMBEDDER__KIND=none "$2" >"$DS_SERVICES_DIR/ab-service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 150); do curl -fs "$url/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  xadd="$(ceiling)"
  $DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -m fast -w stop >/dev/null
  ds_redis_compact "$redis_port"
  local t0 t1
  t0="$(ds_ticks "$SERVICE_PID")"
  out="$(target/release/loadgen --url "$url" --clients 16 --expect 202 --seconds "$SECONDS_PER_RUN" --label ab)"
  t1="$(ds_ticks "$SERVICE_PID")"
  $DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -l "$DS_SERVICES_DIR/pg-log/postgres.log" -w start >/dev/null
  echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
label, xadd, rate = sys.argv[1], float(sys.argv[2]), r["throughput_per_s"]
events = r["ok"] + r["warmup_ok"]
cpu_us = (float(sys.argv[4]) - float(sys.argv[3])) * 1e6 / float(sys.argv[5]) / max(events, 1)
print("%s: XADD ceiling %.0f/s | service %.0f/s (ratio %.2fx), p99 %.2f ms, service CPU %.1f us/event, not 202: %s"
      % (label, xadd, rate, rate / xadd, r["p99_ms"], cpu_us, r.get("failed", 0)))
' "$1" "$xadd" "$t0" "$t1" "$(getconf CLK_TCK)"
  kill "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true; SERVICE_PID=""
}

run "warm-up" "$A" >/dev/null
for i in $(seq 1 "$PAIRS"); do
  run "A ($i)" "$A"
  run "B ($i)" "$B"
done
