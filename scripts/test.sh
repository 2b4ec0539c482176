#!/usr/bin/env bash
# README command 2: installs and starts everything the tests need (Redis, Cassandra 5.0,
# Prometheus, Chromium, Playwright), runs every test (Rust unit and integration tests, then Playwright with
# and without JavaScript against the server on Cassandra and Redis), and stops what it started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."

# Ports of their own, so that a developer's running Redis or Cassandra does not interfere.
REDIS_PORT=${PALOMAR_TEST_REDIS_PORT:-6391}
CQL_PORT=${PALOMAR_TEST_CQL_PORT:-19042}
STORAGE_PORT=${PALOMAR_TEST_STORAGE_PORT:-17000}
E2E_PORT=${PALOMAR_TEST_E2E_PORT:-3300}
SIM_PORT=${PALOMAR_TEST_SIM_PORT:-9790}
run="$PALOMAR_CACHE/test-run"
export CASSANDRA_RUN_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT

server_pid=""
sim_pid=""
cassandra_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  [ -n "$cassandra_pid" ] && kill "$cassandra_pid" 2>/dev/null || true
  tools/cassandra/cassandra.sh stop >/dev/null 2>&1 || true
  [ -f "$run/redis.pid" ] && kill "$(cat "$run/redis.pid")" 2>/dev/null || true
}
trap cleanup EXIT

step "installing what is missing"
bash scripts/install-deps.sh
bash scripts/install-tools.sh
tools/cassandra/cassandra.sh install

step "starting Redis on 127.0.0.1:$REDIS_PORT and Cassandra on 127.0.0.1:$CQL_PORT"
rm -rf "$run"; mkdir -p "$run"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$run" --pidfile "$run/redis.pid" --logfile "$run/redis.log"
tools/cassandra/cassandra.sh start >"$run/cassandra-start.log" 2>&1 &
cassandra_pid=$!

step "building (Cassandra starts meanwhile)"
bash scripts/build.sh

step "formatting and lints: cargo fmt --check; clippy -D warnings on the server and on the wasm build"
cargo fmt --all --check
cargo clippy -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --lib --target wasm32-unknown-unknown -- -D warnings

step "waiting for Cassandra"
if ! wait "$cassandra_pid"; then cat "$run/cassandra-start.log"; exit 1; fi
cassandra_pid=""

step "Rust tests (unit, adapter conformance on embedded and Cassandra, Redis, web, simulator, Prometheus)"
export PALOMAR_TEST_CASSANDRA="127.0.0.1:$CQL_PORT" PALOMAR_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
export PALOMAR_TEST_PROMETHEUS="$(command -v prometheus)"
# Not --workspace: that would unify the browser crate's `hydrate` feature into the server build.
cargo test -p app -p server 2>&1 | tee "$run/cargo-test.log"

step "starting the server on Cassandra and Redis for the browser tests"
export CASSANDRA_SERVERS=127.0.0.1 CASSANDRA_PORT=$CQL_PORT CASSANDRA_LOCAL_DC=datacenter1 CASSANDRA_KEYSPACE=d8s_cluster
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/1" CONTROLLER_API_URL="http://127.0.0.1:$E2E_PORT"
export SESSION_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site"
# The browser tests add backends named *.example.net, which are not in DNS here.
export BACKEND_HOST_CHECK=syntax CENSUS_INTERVAL_SECS=10
# A small sample cluster (site dc1a), so that the pages have rows to show and the controller
# has groups to move: 100 users per group, moved at 8 users/s by the simulator.
"$CARGO_TARGET_DIR/debug/palomar" simulate seed --sites 1 --backends 2 --groups 10 --users 1000 >/dev/null
e2e_password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
PALOMAR_OPERATOR_PASSWORD="$e2e_password" "$CARGO_TARGET_DIR/debug/palomar" operator add --role admin e2e-admin
# The simulated Dovecot backends and proxies behind the controller (doveadm HTTP API, moves).
export DOVEADM_PASSWORD="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
"$CARGO_TARGET_DIR/debug/palomar" simulate --control "127.0.0.1:$SIM_PORT" --move-rate 8 >"$run/simulator.log" 2>&1 &
sim_pid=$!
for _ in $(seq 60); do
  grep -q '^DOVEADM_ENDPOINTS=' "$run/simulator.log" 2>/dev/null && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$run/simulator.log"; exit 1; }
  sleep 1
done
export DOVEADM_ENDPOINTS="$(sed -n 's/^DOVEADM_ENDPOINTS=//p' "$run/simulator.log")"
# Controller timings scaled down so that a stalled move is forced within seconds.
export CONTROLLER_INSTANCE=e2e-controller CLUSTER_SITE=dc1a GROUP_MOVE_START_TIMEOUT_SECS=6 \
  CONTROLLER_PASS_INTERVAL_SECS=1 GROUP_MOVE_SUPERVISION_INTERVAL_SECS=1 BACKEND_REACHABILITY_INTERVAL_SECS=2
"$CARGO_TARGET_DIR/debug/palomar" serve >"$run/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 60); do
  curl -fs "http://127.0.0.1:$E2E_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$run/server.log"; exit 1; }
  sleep 1
done

step "Playwright in Debian's Chromium, with and without JavaScript"
(cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
(cd end2end && PALOMAR_E2E_URL="http://127.0.0.1:$E2E_PORT" PALOMAR_E2E_USER=e2e-admin \
  PALOMAR_E2E_SIM_CONTROL="http://127.0.0.1:$SIM_PORT" \
  PALOMAR_E2E_PASSWORD="$e2e_password" npx playwright test 2>&1) | tee "$run/playwright.log"

rust=$(grep -oE 'test result: ok\. [0-9]+ passed' "$run/cargo-test.log" | awk '{s += $4} END {print s + 0}')
browser=$(grep -oE '^ +[0-9]+ passed' "$run/playwright.log" | awk '{s += $1} END {print s + 0}')
step "done: $rust Rust tests and $browser browser tests"
echo "tests: $((rust + browser)) passed, 0 failed"
