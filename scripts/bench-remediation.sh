#!/usr/bin/env bash
# The remediation reads at ROWS events (issue 25 step 5; default 10M): audit_events filled
# with the benchmark's synthetic months (bench/sql/fill_month.sql: every 10 events one
# remediation's lifecycle, 20,000 targets, about 3,300 remediations a day), then each read
# over many targets and correlations (loadgen's paths scenario, a random path per request),
# as fast as answered and at RATE/s (the latency figure; the target is read there):
#   - GET /remediation-history/context: a target's history over the whole fill (tier 2) and
#     its last month (tier 1), the current hash its last remediation's result (a match);
#   - GET /effectiveness/{id} and GET /audit/correlations/{id}/timeline of a random
#     remediation;
#   - GET /incidents: one day's first page of 50 with the exact total; the same day filtered
#     by severity and action type (every candidate's signal events read); and every
#     remediation's count (the whole table), for scale.
# Rows go to bench/results/latest/remediation.jsonl, the table to stdout and to the
# "remediation" section of docs/benchmarks.md.
#
#   scripts/bench-remediation.sh                   # 10M events: about 15 minutes, most of it the fill
#   ROWS=1000000 SECONDS_PER_RUN=5 scripts/bench-remediation.sh   # a quick pass
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
# shellcheck source=scripts/lib/fill.sh
. scripts/lib/fill.sh

ROWS="${ROWS:-10000000}"
RATE="${RATE:-200}"
CLIENTS="${CLIENTS:-8}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
BUILD="${BUILD:-1}"
BIN_DIR="${CARGO_TARGET_DIR:-target}/release"
OUT_DIR="${OUT_DIR:-bench/results/latest}"
mkdir -p "$OUT_DIR"
OUT="$OUT_DIR/remediation.jsonl"
: >"$OUT.tmp"
log() { printf '[bench-remediation] %s\n' "$*" >&2; }

ds_services_start_for_service
# Nothing measured here writes; the fill's WAL is kept to a checkpoint a gigabyte, so a 10M
# fill (about 11 GB of table and indexes) does not also leave 8 GB of WAL on the disk.
"$DS_PG_BIN/psql" -q "$DS_TEST_DATABASE_URL" -c "ALTER SYSTEM SET max_wal_size = '1GB'" \
  -c "SELECT pg_reload_conf()" >/dev/null
if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  SQLX_OFFLINE=true cargo build --release --locked -q -p datastorage -p datastorage-bench
fi
psql() { "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$@"; }
psql "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE remediation" >/dev/null
DB_URL="${DS_TEST_DATABASE_URL%/*}/remediation"
work="$DS_SERVICES_DIR/remediation"
mkdir -p "$work"
PORT="$(ds_free_port)"
URL="http://127.0.0.1:$PORT"
start_service() {
  DATABASE_URL="$DB_URL" DS_HTTP__ADDR="127.0.0.1:$PORT" DS_LOG=warn DS_EMBEDDER__KIND=none \
    "$BIN_DIR"/datastorage >>"$work/service.log" 2>&1 &
  SERVICE_PID=$!
  ds_wait_live "$URL" "$SERVICE_PID" "$work/service.log"
}
stop_service() { kill "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true; SERVICE_PID=""; }

# The first start creates the schema and the months around today; the synthetic months go
# below them.
start_service
stop_service
ds_fill_to "$DB_URL" "$ROWS"
ds_settle "$DB_URL"
psql "$DB_URL" -c "VACUUM (ANALYZE) remediations" -c CHECKPOINT
start_service

# The paths each read is asked with, over the whole fill (fill.sh: months from 4 back, 1M
# events and 100,000 remediations each).
python3 - "$work" "$ROWS" <<'PY'
import datetime as dt, hashlib, random, sys
work, rows = sys.argv[1], int(sys.argv[2])
remediations, months = rows // 10, max(1, rows // 1_000_000)
rng = random.Random(7)
today = dt.date.today()
first = today.replace(day=1)
for _ in range(4 + months - 1):
    first = (first - dt.timedelta(days=1)).replace(day=1)
span_days = (today - first).days + 1
def write(name, lines):
    with open(f"{work}/{name}.paths", "w") as f:
        f.write("\n".join(lines) + "\n")
def md5(c):
    return "sha256:" + hashlib.md5(str(c).encode()).hexdigest()
targets = []
for _ in range(2000):
    t = rng.randrange(min(20_000, remediations))
    last = t + ((remediations - 1 - t) // 20_000) * 20_000  # the target's latest remediation
    targets.append(
        f"/api/v1/remediation-history/context?targetKind=Deployment&targetName=app-{t}"
        f"&targetNamespace=ns-{t % 50}&currentSpecHash={md5(last)}"
        f"&tier1Window={span_days - (months - 1) * 31 - 1}d&tier2Window={span_days}d")
write("history", targets)
ids = [rng.randrange(remediations) for _ in range(2000)]
write("effectiveness", [f"/api/v1/effectiveness/fill-{c}" for c in ids])
write("timeline", [f"/api/v1/audit/correlations/fill-{c}/timeline" for c in ids])
days = [first + dt.timedelta(days=rng.randrange(months * 28)) for _ in range(500)]
day = lambda d: f"since={d}T00:00:00Z&until={d}T23:59:59.999999Z"
write("incidents-day", [f"/api/v1/incidents?{day(d)}&limit=50" for d in days])
write("incidents-filtered",
      [f"/api/v1/incidents?{day(d)}&severity={rng.choice(['critical', 'high', 'medium', 'low'])}"
       f"&action_type=Action{rng.randrange(8)}&limit=50" for d in days])
write("incidents-all", ["/api/v1/incidents?limit=50"])
PY

label_rows="$(python3 -c "print(f'{$ROWS/1e6:g}M')")"
run() { # $1 = paths file, $2 = figure
  log "$2"
  "$BIN_DIR"/loadgen --url "$URL" --scenario paths --ids-file "$work/$1.paths" \
    --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --label "$2, $label_rows events" >>"$OUT.tmp"
  "$BIN_DIR"/loadgen --url "$URL" --scenario paths --ids-file "$work/$1.paths" \
    --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --rate "$RATE" \
    --label "$2, $label_rows events, at $RATE/s" >>"$OUT.tmp"
}
run history "remediation-history context"
run effectiveness "effectiveness"
run incidents-day "incidents page (one day, 50 rows, exact total)"
run incidents-filtered "incidents page (one day, severity + action_type, exact total)"
run incidents-all "incidents page (all time, 50 rows, exact total)"
run timeline "timeline"
# What the answers held, so the figures are of real work: a history's entries, an incidents
# day's total.
curl -fsS "$(head -1 "$work/history.paths" | sed "s|^|$URL|")" >"$work/history.json"
curl -fsS "$(head -1 "$work/incidents-day.paths" | sed "s|^|$URL|")" >"$work/incidents.json"
python3 - "$work" >>"$OUT.tmp" <<'PY'
import json, sys
work = sys.argv[1]
h = json.load(open(f"{work}/history.json"))
i = json.load(open(f"{work}/incidents.json"))
print(json.dumps({"figure": "check: answers", "history_tier1": len(h.get("tier1", {}).get("chain", [])),
                  "history_tier2": len(h.get("tier2", {}).get("chain", [])),
                  "regression_detected": h.get("regressionDetected"),
                  "incidents_day_total": i["pagination"]["total"], "incidents_page": len(i["data"])}))
PY
mv "$OUT.tmp" "$OUT"

python3 - "$OUT" >"$OUT_DIR/remediation.md" <<'PY'
import json, sys
sys.path.insert(0, "bench")
import report
rows = report.enrich([json.loads(l) for l in open(sys.argv[1]) if l.strip()])
check = report.find(rows, "check: answers")
print(report.table(rows))
if check:
    print(f"What the first answers held: a history of {check['history_tier1']} tier-1 and "
          f"{check['history_tier2']} tier-2 entries (regressionDetected "
          f"{str(check['regression_detected']).lower()}); a day of "
          f"{check['incidents_day_total']:,} incidents, {check['incidents_page']} on the page.")
PY
cat "$OUT_DIR/remediation.md"
python3 bench/report.py --section remediation \
  "Remediation reads (scripts/bench-remediation.sh, $(date -u +%Y-%m-%d))" "$OUT_DIR/remediation.md"
