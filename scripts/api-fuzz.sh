#!/usr/bin/env bash
# The property-based API run: schemathesis, every check, against the service on PostgreSQL
# with bearer tokens on, driven by the document the service serves. Fails on any finding
# except a 400 naming only the cross-field rules listed in tests/contract/schemathesis_hooks.py.
#
#   scripts/api-fuzz.sh              # 120 s of generated cases (API_FUZZ_SECONDS to change)
#
# Uses the services scripts/test.sh started (DS_TEST_DATABASE_URL, DS_PYTHON) when they are
# set, and starts its own otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

seconds="${API_FUZZ_SECONDS:-120}"
own_services=""
if [ -z "${DS_TEST_DATABASE_URL:-}" ]; then
  own_services=1
  trap ds_services_stop EXIT
  ds_services_start
fi
[ -n "${DS_PYTHON:-}" ] || ds_install_contract_tools
# Searches with free text are embedded by the real local model.
DS_MODEL_DIR="${DS_MODEL_DIR:-$(scripts/fetch-model.sh)}"

cargo build -q --locked -p datastorage
work="$(mktemp -d /tmp/datastorage-fuzz.XXXXXX)"
database="ds_fuzz_$(date +%s)_$$"
"$DS_PG_BIN/psql" -q "$DS_TEST_DATABASE_URL" -c "CREATE DATABASE $database" >/dev/null
# One token holding every role, so every operation is reachable; the run also checks that
# the API refuses requests without it (the `ignored_auth` check).
token="$(ds_token_file "$work/tokens.json" api-fuzz \
  audit-writer audit-reader audit-admin catalog-admin catalog-reader operator)"
port="$(ds_free_port)"
DATABASE_URL="${DS_TEST_DATABASE_URL%/*}/$database" DS_HTTP__ADDR="127.0.0.1:$port" \
  DS_AUTH__TOKENS_FILE="$work/tokens.json" \
  "${CARGO_TARGET_DIR:-target}"/debug/datastorage --embedder local --model-dir "$DS_MODEL_DIR" >"$work/service.log" 2>&1 &
service=$!
stop() { kill "$service" 2>/dev/null || true; wait "$service" 2>/dev/null || true; rm -rf "$work"; }
trap 'stop; [ -z "$own_services" ] || ds_services_stop' EXIT
ds_wait_live "http://127.0.0.1:$port" "$service" "$work/service.log"

st="$(dirname "$DS_PYTHON")/st"
echo "== schemathesis: every check, ${seconds}s, on PostgreSQL with tokens"
# One worker: hypothesis's lambda introspection is not thread-safe (runtime errors seen with 2).
status=0
PYTHONPATH=tests/contract SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$st" run "http://127.0.0.1:$port/api-docs/openapi.json" \
  --checks all --max-time "$seconds" --workers 1 --seed "${API_FUZZ_SEED:-$RANDOM}" \
  --header "Authorization: Bearer $token" --no-color || status=$?
if [ "$status" != 0 ]; then
  echo "== the service's errors and panics during the run"
  grep -a -E "ERROR|panicked" "$work/service.log" | tail -n 20 || true
fi
exit "$status"
