#!/usr/bin/env bash
# Starts PostgreSQL 16 + pgvector and Redis for local development and prints the variables to
# export. Stop them with: scripts/services.sh stop <DS_SERVICES_DIR>
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
case "${1:-start}" in
  start)
    ds_services_start
    for v in DS_TEST_DATABASE_URL DS_TEST_REDIS_URL DS_PG_BIN DS_PG_TLS_BIN DS_PGDATA DS_PG_RUN_AS DS_PG_USER_NAME DS_SERVICES_DIR; do
      printf 'export %s=%q\n' "$v" "${!v}"
    done
    ;;
  stop)
    DS_SERVICES_DIR="${2:?usage: scripts/services.sh stop DS_SERVICES_DIR}"
    DS_PGDATA="$DS_SERVICES_DIR/pg"
    ds_install_postgres
    DS_PG_RUN_AS=""
    [ "$(id -u)" = 0 ] && DS_PG_RUN_AS="runuser -u ${DS_PG_USER:-datastorage-pg} --"
    ds_services_stop
    ;;
  *) echo "usage: scripts/services.sh [start|stop DIR]" >&2; exit 2 ;;
esac
