#!/usr/bin/env bash
# The fault suite (issue 29, tests/tests/it/reliability/): PostgreSQL hung, slow and reset
# mid-COPY, Redis hung while PostgreSQL is down, the service SIGKILLed and restarted,
# thousands of half-sent requests, each under load from 16 clients, each counted at the end.
# Every case writes its row to bench/results/latest/reliability/<case>.json; this script then
# renders docs/reliability.md from them (bench/reliability.py).
#
#   scripts/reliability.sh                       # the whole suite
#   scripts/reliability.sh postgres_hung         # one case (a test name or part of one):
#                                                # its row is replaced, the others kept
#
# It starts PostgreSQL and Redis as scripts/test.sh does, unless DS_TEST_DATABASE_URL is set
# already (scripts/services.sh prints what to export). The suite fails loudly without them.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

FILTER="${1:-}"
# Absolute: the tests run in their package's directory.
OUT_DIR="$(realpath -m "${OUT_DIR:-bench/results/latest/reliability}")"
log() { printf '[reliability] %s\n' "$*" >&2; }

if [ -z "${DS_TEST_DATABASE_URL:-}" ]; then
  trap ds_services_stop EXIT
  ds_services_start
fi
export SQLX_OFFLINE=true

log "building the service (the SIGKILL case runs the binary) and the test binary"
cargo build --locked -q -p datastorage
cargo test --locked -q -p datastorage-tests --test it --no-run

mkdir -p "$OUT_DIR"
[ -z "$FILTER" ] && rm -f "$OUT_DIR"/*.json
# The cases share nothing but the test PostgreSQL and Redis: they run side by side, as many
# at once as the test harness runs (one per core), as in the whole suite. More at once on a
# small machine measures the machine (every case loads it with 16 clients).
started="$(date +%s.%N)"
DS_RELIABILITY_DIR="$OUT_DIR" cargo test --locked -q -p datastorage-tests --test it -- \
  "${FILTER:-reliability::}"
finished="$(date +%s.%N)"

if [ -z "$FILTER" ]; then
  python3 - "$OUT_DIR/suite.json" "$started" "$finished" <<'PY'
import json, os, subprocess, sys
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                        text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown CPU")
json.dump({"seconds": round(float(sys.argv[3]) - float(sys.argv[2]), 1),
           "date": subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True,
                                  text=True).stdout.strip(),
           "commit": commit, "machine": f"{os.cpu_count()} cores, {cpu}"},
          open(sys.argv[1], "w"), indent=2)
PY
fi
python3 bench/reliability.py "$OUT_DIR" docs/reliability.md
log "docs/reliability.md written from ${OUT_DIR#"$PWD/"}"
