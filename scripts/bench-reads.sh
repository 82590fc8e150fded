#!/usr/bin/env bash
# A/B of two service binaries on the read path: audit_events filled to ROWS with the
# benchmark's synthetic months (bench/sql/fill_month.sql, 1M rows a month), then alternating
# runs of the keyset page (100 events) and the query by correlation_id (10 events), 8
# closed-loop clients, with the CPU the service and PostgreSQL each spend per request.
#
#   scripts/bench-reads.sh /tmp/a /tmp/b 2               # 2 alternating pairs at 1M rows
#   ROWS=10000000 scripts/bench-reads.sh /tmp/a /tmp/b 2  # 10M rows: 17 monthly partitions
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
# shellcheck source=scripts/lib/cpu.sh
. scripts/lib/cpu.sh
# shellcheck source=scripts/lib/fill.sh
. scripts/lib/fill.sh

[ $# -ge 2 ] || { echo "usage: $0 <binary-a> <binary-b> [pairs]" >&2; exit 2; }
A="$1"; B="$2"; PAIRS="${3:-2}"; SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"; ROWS="${ROWS:-1000000}"

ds_services_start_for_service
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage-bench

psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE reads" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/reads"
PORT="$(ds_free_port)"; URL="http://127.0.0.1:$PORT"

start_service() { # $1 = binary
  DATABASE_URL="$DB_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" DS_LOG=warn DS_EMBEDDER__KIND=none \
    "$1" >"$DS_SERVICES_DIR/reads-service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 150); do curl -fs "$URL/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
}
stop_service() { kill "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true; SERVICE_PID=""; }

# The service's first start creates the schema and the partitions around today; the
# synthetic months go below them.
start_service "$A"; stop_service
ds_fill_to "$DB_URL" "$ROWS"
psql "$DB_URL" -c CHECKPOINT

run() { # $1 = label, $2 = binary
  start_service "$2"
  local scenario out p0 s0 p1 s1
  for scenario in "page --page-limit 100 --pages 20" "correlation --correlations $((DS_FILLED / 10))"; do
    p0="$(ds_postgres_ticks)"; s0="$(ds_ticks "$SERVICE_PID")"
    # shellcheck disable=SC2086 # the scenario's arguments are meant to split
    out="$(target/release/loadgen --url "$URL" --scenario $scenario --clients 8 \
      --seconds "$SECONDS_PER_RUN" --label reads)"
    p1="$(ds_postgres_ticks)"; s1="$(ds_ticks "$SERVICE_PID")"
    local ok rate p50 p99
    read -r ok rate p50 p99 < <(echo "$out" | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["ok"], round(r["throughput_per_s"]), r["p50_ms"], r["p99_ms"])')
    printf '%s %-11s %5s/s p50 %5s ms p99 %6s ms | CPU per request: service %s us, PostgreSQL %s us\n' \
      "$1" "${scenario%% *}:" "$rate" "$p50" "$p99" \
      "$(ds_per_unit_us "$s0" "$s1" "$ok")" "$(ds_per_unit_us "$p0" "$p1" "$ok")"
  done
  stop_service
}

run "warm-up" "$A" >/dev/null
for i in $(seq 1 "$PAIRS"); do
  run "A ($i)" "$A"
  run "B ($i)" "$B"
done
