#!/usr/bin/env bash
# A/B of two service binaries on the batch write path: alternating pairs, each pair the
# pgbench 100-row ceiling then the service's 16-client batch POST on a fresh database, with
# the CPU each spends per event (from /proc). For a code change whose effect is smaller than
# the run-to-run noise of a whole benchmark run (scripts/bench.sh).
#
#   git stash; cargo build --release -p datastorage; cp target/release/datastorage /tmp/a
#   git stash pop; cargo build --release -p datastorage; cp target/release/datastorage /tmp/b
#   scripts/bench-ab.sh /tmp/a /tmp/b 3          # 3 alternating pairs, 8 s each
#   SCENARIO=event scripts/bench-ab.sh /tmp/a /tmp/b 3   # single-event POSTs instead of batches of 100
#   SECTION="Deadlines on" scripts/bench-ab.sh /tmp/a /tmp/b 3  # also a block of docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
# shellcheck source=scripts/lib/cpu.sh
. scripts/lib/cpu.sh

[ $# -ge 2 ] || { echo "usage: $0 <binary-a> <binary-b> [pairs]" >&2; exit 2; }
A="$1"; B="$2"; PAIRS="${3:-3}"; SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"
SCENARIO="${SCENARIO:-batch}"
case "$SCENARIO" in
  batch) PER_REQUEST=100 ;;
  event) PER_REQUEST=1 ;;
  *) echo "SCENARIO is batch or event, not $SCENARIO" >&2; exit 2 ;;
esac

ds_services_start_for_service
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage-bench

psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
run() { # $1 = label, $2 = binary
  psql "$DS_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS ab" -c "CREATE DATABASE ab" >/dev/null 2>&1
  local db="${DS_TEST_DATABASE_URL%/*}/ab" port url c0 c1 m0 tps ceiling p0 s0 out p1 s1
  port="$(ds_free_port)"; url="http://127.0.0.1:$port"
  DATABASE_URL="$db" DS_HTTP__ADDR="127.0.0.1:$port" DS_LOG=warn DS_EMBEDDER__KIND=none \
    "$2" >"$DS_SERVICES_DIR/ab-service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 150); do curl -fs "$url/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  ds_settle "$db"
  c0="$(ds_machine_ticks)"
  tps="$("$DS_PG_BIN/pgbench" -n -c 16 -j 2 -T "$SECONDS_PER_RUN" -f bench/sql/insert_100.sql "$db" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p')"
  c1="$(ds_machine_ticks)"
  ceiling="$(python3 -c "print(round($tps * 100))")"
  ds_settle "$db"
  p0="$(ds_postgres_ticks)"; s0="$(ds_ticks "$SERVICE_PID")"; m0="$(ds_machine_ticks)"
  out="$("${CARGO_TARGET_DIR:-target}"/release/loadgen --url "$url" --scenario "$SCENARIO" --batch-size 100 --clients 16 \
    --warmup-seconds 0 --seconds "$SECONDS_PER_RUN" --label ab)"
  p1="$(ds_postgres_ticks)"; s1="$(ds_ticks "$SERVICE_PID")"
  local events rate p99
  events="$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"] * '"$PER_REQUEST"')')"
  rate="$(echo "$out" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["throughput_per_s"]))')"
  p99="$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p99_ms"])')"
  printf '%s: ceiling %s/s (machine %s us/row) | service %s events/s, p99 %s ms, ratio %s | CPU per event: service %s us, PostgreSQL %s us, machine %s us\n' \
    "$1" "$ceiling" "$(ds_per_unit_us "$c0" "$c1" "$(python3 -c "print($tps * 100 * $SECONDS_PER_RUN)")")" \
    "$rate" "$p99" "$(python3 -c "print(round($rate / $ceiling, 2))")" \
    "$(ds_per_unit_us "$s0" "$s1" "$events")" "$(ds_per_unit_us "$p0" "$p1" "$events")" \
    "$(ds_per_unit_us "$m0" "$(ds_machine_ticks)" "$events")"
  kill "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true; SERVICE_PID=""
}

# A fresh cluster's first runs are its slowest (its WAL segments are still being created):
# one unreported pair first.
run "warm-up" "$A" >/dev/null
OUT_DIR="${OUT_DIR:-bench/results/latest}"
mkdir -p "$OUT_DIR"
for i in $(seq 1 "$PAIRS"); do
  run "A ($i)" "$A"
  run "B ($i)" "$B"
done | tee "$OUT_DIR/write-ab-$SCENARIO.txt"
# With SECTION set (e.g. SECTION="Deadlines on and off"), the runs also become the
# "write_ab_<scenario>" block of docs/benchmarks.md.
if [ -n "${SECTION:-}" ]; then
  python3 bench/ab_table.py "$OUT_DIR/write-ab-$SCENARIO.txt" "$A" "$B" >"$OUT_DIR/write-ab-$SCENARIO.md"
  python3 bench/report.py --section "write_ab_$SCENARIO" \
    "$SECTION: $SCENARIO writes, A/B (scripts/bench-ab.sh, $(date -u +%Y-%m-%d))" \
    "$OUT_DIR/write-ab-$SCENARIO.md"
fi
