#!/usr/bin/env bash
# The export benchmark (issue 23): EXPORT_ROWS events (default 1,000,000) in the log, then in
# one run: GET /api/v1/audit/export streamed to a file while the service's RSS is sampled
# every 100 ms, `datastorage export verify` of that file, and a `COPY ... TO STDOUT` of the
# same rows as the ceiling. Results: bench/results/latest/export.jsonl and a table on stdout.
#
#   scripts/bench-export.sh                      # 1,000,000 events, about 5 minutes
#   EXPORT_ROWS=100000 scripts/bench-export.sh   # a quicker pass
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

EXPORT_ROWS="${EXPORT_ROWS:-1000000}"
OUT="bench/results/latest/export.jsonl"
mkdir -p "$(dirname "$OUT")"
: >"$OUT.tmp"
emit() { echo "$1" >>"$OUT.tmp"; }

ds_services_start_for_service
echo "[export] building release binaries" >&2
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage
psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE export_bench" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/export_bench"
work="$DS_SERVICES_DIR/export"
mkdir -p "$work"
key="$(target/release/datastorage log keygen --origin bench.localhost/log 2>"$work/vkey")"
printf '%s\n' "$key" >"$work/key"
VKEY="$(cat "$work/vkey")"

PORT="$(ds_free_port)"
URL="http://127.0.0.1:$PORT"
DATABASE_URL="$DB_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" DS_LOG=warn DS_EMBEDDER__KIND=none \
  DS_AUDIT_LOG__KEY_FILE="$work/key" target/release/datastorage >"$work/service.log" 2>&1 &
SERVICE_PID=$!
ds_wait_live "$URL" "$SERVICE_PID" "$work/service.log"

# Rows straight into a partition of the previous month (bench/sql/fill_month.sql), then
# queued for the log as the insert trigger would have, and sequenced by the service.
month="$(python3 -c 'import datetime as d; t=d.date.today().replace(day=1); p=t-d.timedelta(days=1); print(p.replace(day=1))')"
echo "[export] loading $EXPORT_ROWS events into $month and sequencing them" >&2
partition="audit_events_$(date -d "$month" +%Y_%m)"
psql "$DB_URL" -c "DROP TABLE IF EXISTS $partition" >/dev/null
psql "$DB_URL" -v month="$month" -v rows="$EXPORT_ROWS" -v first=0 -f bench/sql/fill_month.sql >/dev/null
psql "$DB_URL" -c "INSERT INTO audit_log_pending (event_id, event_date, correlation_id) SELECT event_id, event_date, correlation_id FROM $partition ORDER BY event_timestamp" >/dev/null
started=$(date +%s.%N)
until [ "$(curl -sf "$URL/api/v1/audit/log/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(int(s.get("checkpoint_size", 0) >= '"$EXPORT_ROWS"' and s["unsequenced"] == 0))')" = 1 ]; do
  sleep 0.5
done
sequenced_s="$(python3 -c "import time; print(round(time.time() - $started, 1))")"
echo "[export] sequenced in ${sequenced_s} s" >&2
ds_settle "$DB_URL"

# The service's RSS every 100 ms while the export streams.
sample_rss() {
  while kill -0 "$SERVICE_PID" 2>/dev/null; do
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVICE_PID/status"
    sleep 0.1
  done
}
sample_rss >"$work/rss" &
sampler=$!
rss_before="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVICE_PID/status")"
echo "[export] exporting" >&2
export_s="$( { /usr/bin/time -f %e curl -sf "$URL/api/v1/audit/export" -o "$work/export.ndjson"; } 2>&1 )"
kill "$sampler" 2>/dev/null || true
lines="$(wc -l <"$work/export.ndjson")"
echo "[export] verifying $lines lines" >&2
verify_s="$( { /usr/bin/time -f %e target/release/datastorage export verify "$work/export.ndjson" --vkey "$VKEY" >"$work/verify.out"; } 2>&1 | tail -1)"
echo "[export] ceiling: COPY ... TO STDOUT of the same rows" >&2
copy_s="$( { /usr/bin/time -f %e "$DS_PG_BIN/psql" -q "$DB_URL" -c "COPY (SELECT * FROM audit_events ORDER BY event_timestamp DESC, event_id DESC) TO STDOUT" >/dev/null; } 2>&1 | tail -1)"

python3 - "$EXPORT_ROWS" "$export_s" "$verify_s" "$copy_s" "$rss_before" "$work/rss" "$lines" \
  "$(stat -c %s "$work/export.ndjson")" "$sequenced_s" >>"$OUT.tmp" <<'PY'
import json, sys
rows, export_s, verify_s, copy_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
before = int(sys.argv[5]) / 1024
rss = [int(x) / 1024 for x in open(sys.argv[6]).read().split() if x.strip()]
lines, size, sequenced = int(sys.argv[7]), int(sys.argv[8]), float(sys.argv[9])
print(json.dumps({"figure": f"export streamed, {rows:,} events", "events": lines - 2,
                  "seconds": export_s, "throughput_per_s": (lines - 2) / export_s,
                  "bytes": size, "rss_before_mib": round(before, 1),
                  "rss_max_mib": round(max(rss or [before]), 1),
                  "rss_samples": len(rss)}))
print(json.dumps({"figure": f"export verified offline (datastorage export verify), {rows:,} events",
                  "seconds": verify_s, "throughput_per_s": (lines - 2) / verify_s}))
print(json.dumps({"figure": f"ceiling: COPY ... TO STDOUT of the same {rows:,} rows",
                  "seconds": copy_s, "throughput_per_s": rows / copy_s}))
print(json.dumps({"figure": f"sequencing {rows:,} queued events into the log",
                  "seconds": sequenced, "throughput_per_s": rows / sequenced}))
PY
mv "$OUT.tmp" "$OUT"
cat "$work/verify.out" >&2
python3 - "$OUT" >"${OUT%.jsonl}.md" <<'PY'
import json, sys
print("| figure | events/s | seconds | RSS before -> max (MiB) |\n|---|---|---|---|")
for r in map(json.loads, open(sys.argv[1])):
    rss = f"{r['rss_before_mib']} -> {r['rss_max_mib']}" if "rss_max_mib" in r else ""
    print(f"| {r['figure']} | {r['throughput_per_s']:,.0f} | {r['seconds']:.1f} | {rss} |")
PY
cat "${OUT%.jsonl}.md"
python3 bench/report.py --section export "Verifiable export (scripts/bench-export.sh, $(date -u +%Y-%m-%d))" \
  "${OUT%.jsonl}.md"
