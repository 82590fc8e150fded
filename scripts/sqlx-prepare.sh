#!/usr/bin/env bash
# Regenerates adapters/postgres/.sqlx, the offline cache of checked queries, against a
# throw-away PostgreSQL with the current migrations. Run it after changing any query!/migration.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
ds_install_postgres
DS_SERVICES_DIR="$(mktemp -d /tmp/datastorage-sqlx.XXXXXX)"; chmod 755 "$DS_SERVICES_DIR"
export DS_SERVICES_DIR
trap ds_services_stop EXIT
ds_start_postgres
for f in migrations/*.sql; do
  "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$DS_TEST_DATABASE_URL" -f "$f" >/dev/null
done
rm -rf adapters/postgres/.sqlx
mkdir -p adapters/postgres/.sqlx
# The macros write their metadata to SQLX_OFFLINE_DIR while compiling online.
touch adapters/postgres/src/lib.rs
SQLX_OFFLINE=false DATABASE_URL="$DS_TEST_DATABASE_URL" \
  SQLX_OFFLINE_DIR="$PWD/adapters/postgres/.sqlx" cargo check -p datastorage-postgres --quiet
echo "wrote $(ls adapters/postgres/.sqlx | wc -l) query files to adapters/postgres/.sqlx"
