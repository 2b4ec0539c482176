#!/usr/bin/env bash
# Stage ce: real Dovecot CE steered by the controller, once per CE line: 2.3.19 (the host's
# Debian packages), then 2.4 (trixie's, in a root built once by scripts/debian-root.sh). Each
# run: two CE backends sharing one maildir and one CE proxy with the Lua route passdb
# (scripts/dovecot-ce.sh, from deploy/dovecot/<line>/), Prometheus scraping the proxy with the
# shipped rules, and a `palomar serve` with DOVECOT_EDITION=ce for a site of its own on the
# tests' Cassandra (a keyspace per line) and Redis. end2end/ce/test_ce_cluster.py then plays
# users and the operator; no Dovecot log may show a panic. Each line's run is timed. Needs Redis,
# Cassandra and a build (scripts/test.sh starts them); stops what it started when it ends. The
# last line counts the CE tests that passed on both lines.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
export CASSANDRA_SERVERS=127.0.0.1 CASSANDRA_PORT=$CQL_PORT CASSANDRA_LOCAL_DC=datacenter1
export LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site" BACKEND_HOST_CHECK=syntax
export SESSION_SECRET="$(head -c 48 /dev/urandom | base64 -w0)"

CE_E2E_PORT=${PALOMAR_TEST_CE_PORT:-3310}
CE_PROMETHEUS_PORT=${PALOMAR_TEST_CE_PROMETHEUS_PORT:-9791}
ce_server_pid=""
ce_prometheus_pid=""

. scripts/dovecot-ce.sh
. scripts/debian-root.sh
. scripts/prometheus.sh

# Stops what one line's run started.
ce_stop_run() {
  [ -n "$ce_server_pid" ] && kill "$ce_server_pid" 2>/dev/null && wait "$ce_server_pid" 2>/dev/null || true
  [ -n "$ce_prometheus_pid" ] && kill "$ce_prometheus_pid" 2>/dev/null && wait "$ce_prometheus_pid" 2>/dev/null || true
  ce_server_pid="" ce_prometheus_pid=""
  [ -n "${CE_RUN_DIR:-}" ] && ce_stop_all >/dev/null 2>&1 || true
}
trap ce_stop_run EXIT

ce_fail() {
  echo "ce-e2e ($CE_LINE): FAILED: $*" >&2
  for log in "$run/ce$CE_LINE-server.log" "$run/ce$CE_LINE-prometheus.log"; do
    echo "--- last lines of $log:" >&2
    tail -n 40 "$log" >&2 || true
  done
  exit 1
}

# ce_e2e_run <line>: the suite against one CE line, in a keyspace and a site of its own.
ce_e2e_run() {
  export CE_LINE=$1
  local dir="$run/ce$1" token_file="$run/ce$1-route.token" base="http://127.0.0.1:$CE_E2E_PORT"
  local site keyspace started=$SECONDS
  case $1 in
    2.3) site=dc1ce keyspace=d8s_ce ;;
    2.4) site=dc1ce24 keyspace=d8s_ce24
      CE_ROOT=$(dovecot24_root) || ce_fail "no trixie root with Dovecot 2.4"
      export CE_ROOT
      # 2.4 cannot be told to forget a cached route (docs/dovecot-ce.md), so how long a move
      # takes to be seen is the cache's lifetime: short here, and the suite checks that bound.
      export CE_AUTH_CACHE_TTL=5 ;;
  esac
  export CASSANDRA_KEYSPACE=$keyspace
  mkdir -p "$dir"
  head -c 32 /dev/urandom | base64 -w0 | tr -d '/+=' >"$token_file"
  export CE_DOVEADM_API_KEY CE_USER_PASSWORD
  CE_DOVEADM_API_KEY="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
  CE_USER_PASSWORD="$(head -c 12 /dev/urandom | base64 -w0 | tr -d '/+=')"
  export CE_RUN_DIR="$dir"
  ce_start "$dir" "$base" "$token_file" || ce_fail "Dovecot CE did not start"

  # Prometheus with the shipped rules, scraping the proxy's stats listener every second.
  local targets="$run/ce$1-targets.json" prom_dir="$run/ce$1-prometheus"
  mkdir -p "$prom_dir"
  ce_write_file_sd "$targets" "$site"
  start_prometheus "$prom_dir" "$targets" "$CE_PROMETHEUS_PORT" 1s "$run/ce$1-prometheus.log"
  ce_prometheus_pid=$prometheus_pid

  local password
  password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
  # On a GeoDB kept from an earlier run the account exists: it gets the new password.
  PALOMAR_OPERATOR_PASSWORD="$password" "$palomar" operator add --role admin ce-admin >/dev/null 2>&1 ||
    PALOMAR_OPERATOR_PASSWORD="$password" "$palomar" operator reset-password ce-admin >/dev/null
  # The CE controller: every loop each second, host failure judged over 10 s with 3 logins.
  (
    export CONTROLLER_API_URL="$base" CLUSTER_SITE=$site CONTROLLER_INSTANCE=ce-controller \
      CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/2" DOVECOT_EDITION=ce DOVECOT_PROXIES=127.0.0.1 \
      DOVEADM_ENDPOINTS="$(ce_doveadm_endpoints),127.0.0.1=$(ce_proxy_doveadm_url)" \
      DOVEADM_API_KEY="$CE_DOVEADM_API_KEY" DOVEADM_PASSWORD= \
      ROUTE_API_TOKEN="$(cat "$token_file")" ROUTE_API_CACHE_SECS="$CE_AUTH_CACHE_TTL" CLUSTER_DEFAULT_GROUP_COUNT=4 \
      PROMETHEUS_URL="http://127.0.0.1:$CE_PROMETHEUS_PORT" PROMETHEUS_JOB_NAME=palomar \
      CONTROLLER_PASS_INTERVAL_SECS=1 GROUP_MOVE_SUPERVISION_INTERVAL_SECS=1 BACKEND_REACHABILITY_INTERVAL_SECS=1 \
      HOST_FAILURE_MIN_LOGINS=3 HOST_FAILURE_WINDOW_SECS=10 HOST_FAILURE_COOL_TIME_SECS=10 \
      GROUP_MOVE_START_TIMEOUT_SECS=30 CENSUS_INTERVAL_SECS=10
    exec "$palomar" serve
  ) >>"$run/ce$1-server.log" 2>&1 &
  ce_server_pid=$!
  for _ in $(seq 60); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$ce_server_pid" 2>/dev/null || ce_fail "the CE controller's server exited"
    sleep 1
  done
  curl -fs "$base/healthz" >/dev/null 2>&1 || ce_fail "the CE controller's server did not answer /healthz"

  PALOMAR_CE_URL="$base" PALOMAR_CE_OPERATOR=ce-admin PALOMAR_CE_OPERATOR_PASSWORD="$password" \
    PALOMAR_CE_SITE=$site PALOMAR_CE_ROUTE_TOKEN="$(cat "$token_file")" \
    PALOMAR_CE_PROMETHEUS="http://127.0.0.1:$CE_PROMETHEUS_PORT" PALOMAR_CE_LINE=$1 \
    PALOMAR_CE_CACHE_SECS="$CE_AUTH_CACHE_TTL" \
    python3 -m unittest -v end2end/ce/test_ce_cluster.py 2>&1 | tee "$run/ce$1-e2e.log"
  grep -q '^OK$' "$run/ce$1-e2e.log" || ce_fail "the CE end-to-end test failed (above)"
  if grep -n panicked "$run/ce$1-server.log"; then ce_fail "the CE controller's server panicked"; fi
  # Nothing the controller sent (nor the clients) may have crashed a Dovecot process.
  if grep -n "Panic:\|Fatal:" "$dir"/proxy.log "$dir"/backend1.log "$dir"/backend2.log; then
    ce_fail "a Dovecot process panicked or died (above)"
  fi
  ce_stop_run
  echo "ce $1: $(grep -cE ' \.\.\. ok$' "$run/ce$1-e2e.log") passed, on Dovecot $(cat "$dir/dovecot.version") ($((SECONDS - started)) s)"
}

ce_e2e_run 2.3
ce_e2e_run 2.4
total=$(cat "$run"/ce2.3-e2e.log "$run"/ce2.4-e2e.log | grep -cE ' \.\.\. ok$')
echo "ce: $total passed"
