#!/usr/bin/env bash
# Swagger UI in a real browser against a service with tokens: "Try it out" without a token
# is 401; after Authorize with a bearer token it is 200. Installs Debian's chromium and
# playwright-core (npm) when missing; writes a screenshot to target/swagger-authorize.png.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

command -v chromium >/dev/null || ds_apt_install chromium
tools="$(ds_tools_dir)/browser"
if [ ! -d "$tools/node_modules/playwright-core" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm init -y >/dev/null && npm install -q playwright-core@1.64.1 >/dev/null)
fi

cargo build -q --locked -p datastorage
work="$(mktemp -d /tmp/datastorage-swagger.XXXXXX)"
token="$(ds_token_file "$work/tokens.json" swagger catalog-reader)"
port="$(ds_free_port)"
DS_HTTP__ADDR="127.0.0.1:$port" DS_AUTH__TOKENS_FILE="$work/tokens.json" \
  target/debug/datastorage --embedder none >"$work/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null || true; rm -rf "$work"' EXIT
ds_wait_live "http://127.0.0.1:$port" "$service" "$work/service.log"
cp tests/browser/swagger-authorize.mjs "$tools/"
node "$tools/swagger-authorize.mjs" "http://127.0.0.1:$port" "$token" "$PWD/target/swagger-authorize.png"
