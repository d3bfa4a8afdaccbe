#!/usr/bin/env bash
# Starts (or stops) the real stores the tests run against, on loopback only:
# PostgreSQL on 127.0.0.1:55432 and Redis on 127.0.0.1:56379, installed from Debian's
# packages when missing. Prints the environment to export.
#
#   eval "$(scripts/services.sh start)"   # exports INFERWARDEN_TEST_POSTGRES_URL / _REDIS_URL
#   scripts/services.sh stop
set -euo pipefail
state="${INFERWARDEN_SERVICES_DIR:-/tmp/inferwarden-services}"
pg_port=55432
redis_port=56379

log() { echo "services: $*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  echo "$d"
}

install_missing() {
  local need=()
  [[ -n "$(pg_bin)" && -x "$(pg_bin)/initdb" ]] || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  if ((${#need[@]})); then
    log "installing ${need[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  fi
}

start() {
  install_missing
  mkdir -p "$state"
  local bin; bin=$(pg_bin)
  # PostgreSQL refuses to run as root: run it as the postgres user in a private directory.
  local pgdata="$state/pgdata"
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    rm -rf "$pgdata"; mkdir -p "$pgdata"; chown -R postgres:postgres "$state"
    runuser -u postgres -- "$bin/initdb" -D "$pgdata" -A trust -U postgres >/dev/null
  fi
  chown -R postgres:postgres "$state"
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" -l "$state/postgres.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $state -c fsync=off -c max_connections=200" start >&2
  fi
  runuser -u postgres -- "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='inferwarden_test'" | grep -q 1 ||
    runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres inferwarden_test
  if ! redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
      --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log" >&2
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null
  echo "export INFERWARDEN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$pg_port/inferwarden_test"
  echo "export INFERWARDEN_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/"
}

stop() {
  local bin; bin=$(pg_bin)
  if [[ -n "$bin" && -f "$state/pgdata/PG_VERSION" ]]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$state/pgdata" -m fast stop >/dev/null 2>&1 || true
  fi
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  fi
  rm -rf "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
