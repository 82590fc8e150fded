#!/usr/bin/env bash
# A/B of two service binaries on workflow search (issue 28): one catalog of WORKFLOWS
# workflows (default 10,000, registered once with the local model by binary A, as bench.sh
# registers them: 20 signal types x 4 severities, so a search's hard filters keep about 1/80),
# then alternating runs of each binary: label-only search at LABEL_RATE/s (500) and hybrid
# search (free text, its embedding a cache hit, so the ranking is what is measured) at
# HYBRID_RATE/s (200), 4 clients, SECONDS_PER_RUN each. Prints p50/p95/p99 per run and the
# median p95 ratio B/A; writes the "search-ab" block of docs/benchmarks.md.
#
#   scripts/bench-search-ab.sh /tmp/before target/release/datastorage 2
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

[ $# -ge 2 ] || { echo "usage: $0 <binary-a> <binary-b> [pairs]" >&2; exit 2; }
A="$1"; B="$2"; PAIRS="${3:-2}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"; WORKFLOWS="${WORKFLOWS:-10000}"
LABEL_RATE="${LABEL_RATE:-500}"; HYBRID_RATE="${HYBRID_RATE:-200}"
BIN_DIR="${CARGO_TARGET_DIR:-target}/release"
OUT_DIR="${OUT_DIR:-bench/results/latest}"
mkdir -p "$OUT_DIR"

ds_services_start_for_service
SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage-bench
"$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE search_ab" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/search_ab"
PORT="$(ds_free_port)"; URL="http://127.0.0.1:$PORT"
work="$DS_SERVICES_DIR/search-ab"; mkdir -p "$work"

start_service() { # $1 = binary
  DATABASE_URL="$DB_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" DS_LOG=warn \
    "$1" >>"$work/service.log" 2>&1 &
  SERVICE_PID=$!
  ds_wait_live "$URL" "$SERVICE_PID" "$work/service.log"
}
stop_service() { kill "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true; SERVICE_PID=""; }
loadgen() { "$BIN_DIR"/loadgen --url "$URL" "$@"; }

echo "[search-ab] registering $WORKFLOWS workflows with $A" >&2
start_service "$A"
loadgen --scenario register --clients 16 --warmup-seconds 0 --seconds 1800 \
  --max-requests-per-client $(( (WORKFLOWS + 15) / 16 )) --label register >/dev/null
stop_service
"$DS_PG_BIN/psql" -q "$DB_URL" -c "VACUUM (ANALYZE)" -c CHECKPOINT

: >"$work/runs.jsonl"
run() { # $1 = label, $2 = binary
  start_service "$2"
  # The first searches load the model and fill the embedding cache; not measured.
  loadgen --scenario search --query same --clients 4 --seconds 3 --label warm >/dev/null
  loadgen --scenario search --clients 4 --rate "$LABEL_RATE" --seconds "$SECONDS_PER_RUN" \
    --label "$1 label-only" >>"$work/runs.jsonl"
  loadgen --scenario search --query same --clients 4 --rate "$HYBRID_RATE" \
    --seconds "$SECONDS_PER_RUN" --label "$1 hybrid" >>"$work/runs.jsonl"
  stop_service
}
for i in $(seq 1 "$PAIRS"); do
  run "A ($i)" "$A"
  run "B ($i)" "$B"
done

python3 - "$work/runs.jsonl" "$WORKFLOWS" "$LABEL_RATE" "$HYBRID_RATE" >"$OUT_DIR/search-ab.md" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
workflows, label_rate, hybrid_rate = int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"{workflows:,} workflows, 4 clients; label-only at {label_rate}/s, hybrid (query "
      f"embedding a cache hit) at {hybrid_rate}/s; A = before, B = after, alternating runs.\n")
print("| run | p50 ms | p95 ms | p99 ms | answered | not 200 |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['figure']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | "
          f"{r['ok']:,} | {r.get('failed', 0)} |")
print()
for kind in ("label-only", "hybrid"):
    p95 = {side: statistics.median(r["p95_ms"] for r in rows
                                   if r["figure"].startswith(side) and r["figure"].endswith(kind))
           for side in ("A", "B")}
    print(f"- {kind}: median p95 A {p95['A']:.2f} ms, B {p95['B']:.2f} ms: "
          f"B/A {p95['B'] / p95['A']:.2f}x")
PY
cat "$OUT_DIR/search-ab.md"
python3 bench/report.py --section search_ab \
  "Search before and after lexical fusion (scripts/bench-search-ab.sh, $(date -u +%Y-%m-%d))" \
  "$OUT_DIR/search-ab.md"
