#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts PostgreSQL 16 + pgvector and
# Redis on free loopback ports, runs every test against them, and stops them again.
# Exits non-zero on any failure; never skips the integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

trap ds_services_stop EXIT
ds_services_start

# Checked queries compile from the committed .sqlx cache, never from a live database.
export SQLX_OFFLINE=true
cargo test --workspace --all-targets --locked "$@"
