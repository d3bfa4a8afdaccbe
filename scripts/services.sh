#!/usr/bin/env bash
# Starts (or stops) the real stores the tests run against, on loopback only:
# PostgreSQL on 127.0.0.1:55432 and Redis on 127.0.0.1:56379, installed from Debian's
# packages when missing. PostgreSQL also accepts TLS, with a certificate for "localhost"
# signed by a throw-away CA made here (openssl); the CA's file is exported for the TLS
# tests. Prints the environment to export.
#
#   eval "$(scripts/services.sh start)"   # exports INFERWARDEN_TEST_POSTGRES_URL / _REDIS_URL
#                                         # and INFERWARDEN_TEST_POSTGRES_TLS_ROOT
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
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
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
  make_tls "$state/tls"
  chown -R postgres:postgres "$state"
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" -l "$state/postgres.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $state -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$state/tls/server.crt -c ssl_key_file=$state/tls/server.key" start >&2
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
  echo "export INFERWARDEN_TEST_POSTGRES_TLS_ROOT=$state/tls/ca.crt"
}

# A CA and a server certificate for "localhost" (no IP address in it, so verify-full
# against 127.0.0.1 must fail), made once per state directory.
make_tls() {
  local dir="$1"
  [[ -f "$dir/server.crt" ]] && return 0
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=inferwarden test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir/server.key" "$dir/ca.key"
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
