#!/usr/bin/env bash
# README command 2: installs and starts everything the tests need (Redis, Cassandra 5.0,
# Prometheus, Chromium, Playwright, Dovecot CE), runs every test (Rust unit and integration tests, then
# Playwright with and without JavaScript against the server on Cassandra and Redis, then process-level
# faults and a load test on the same server, then real Dovecot CE steered by a second server), and
# stops what it started.
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
DEMO_PORT=${PALOMAR_TEST_DEMO_PORT:-3320}
run="${PALOMAR_TEST_RUN:-$PALOMAR_CACHE/test-run}"
palomar="$CARGO_TARGET_DIR/debug/palomar"
export CASSANDRA_RUN_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT

server_pid=""
sim_pid=""
demo_pid=""
cassandra_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null || true
  [ -n "$cassandra_pid" ] && kill "$cassandra_pid" 2>/dev/null || true
  declare -F ce_cleanup >/dev/null && ce_cleanup
  tools/cassandra/cassandra.sh stop >/dev/null 2>&1 || true
  stop_redis TERM
}
trap cleanup EXIT

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$run" --pidfile "$run/redis.pid" --logfile "$run/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "redis did not answer on port $REDIS_PORT" >&2; return 1
}
# Stops Redis with signal $1 and waits (at most 10 s) until it is gone.
stop_redis() {
  local pid; pid=$(cat "$run/redis.pid" 2>/dev/null) || return 0
  kill "-$1" "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  rm -f "$run/redis.pid"
}
# Starts `palomar serve` (log appended to server.log) and waits at most 60 s for /healthz.
start_server() {
  "$palomar" serve >>"$run/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 60); do
    curl -fs "http://127.0.0.1:$E2E_PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$run/server.log"; exit 1; }
    sleep 1
  done
  echo "the server did not answer /healthz within 60 s" >&2; exit 1
}

step "installing what is missing"
bash scripts/install-deps.sh
bash scripts/install-tools.sh
tools/cassandra/cassandra.sh install

step "starting Redis on 127.0.0.1:$REDIS_PORT and Cassandra on 127.0.0.1:$CQL_PORT"
rm -rf "$run"; mkdir -p "$run"
start_redis
tools/cassandra/cassandra.sh start >"$run/cassandra-start.log" 2>&1 &
cassandra_pid=$!

step "building (Cassandra starts meanwhile)"
# Incremental state is per checkout and per test target, and grows without bound when several
# checkouts share this build cache; with less than 40 GB left, drop it (a rebuild costs minutes,
# a full disk fails the run; a change to `app` rebuilds every test binary and once wrote 23 GB).
free_gb=$(df -P -BG "$PALOMAR_CACHE" | awk 'NR == 2 {sub(/G$/, "", $4); print $4}')
if [ "${free_gb:-0}" -lt 40 ]; then
  echo "only ${free_gb:-0} GB free: removing $CARGO_TARGET_DIR/debug/incremental"
  rm -rf "$CARGO_TARGET_DIR/debug/incremental"
fi
bash scripts/build.sh

step "formatting and lints: scripts executable, cargo fmt --check; clippy -D warnings on the server and on the wasm build"
# Every script runs as written (a script the docs tell a reader to run must not answer
# "Permission denied"): git records each one executable.
not_executable=$(git ls-files -s -- 'scripts/*.sh' 'tools/*.sh' '.ci/*' | awk '$1 != "100755" {print $4}')
[ -z "$not_executable" ] || { echo "not executable (git update-index --chmod=+x): $not_executable" >&2; exit 1; }
cargo fmt --all --check
cargo clippy -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --lib --target wasm32-unknown-unknown -- -D warnings

step "waiting for Cassandra"
if ! wait "$cassandra_pid"; then cat "$run/cassandra-start.log"; exit 1; fi
cassandra_pid=""

step "Rust tests (unit, adapter conformance on embedded and Cassandra, Redis, web, simulator, Prometheus, Dovecot CE)"
export PALOMAR_TEST_CASSANDRA="127.0.0.1:$CQL_PORT" PALOMAR_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
# A real Dovecot CE for the simulator's fidelity test (server/tests/ce_fidelity.rs; needs root).
export PALOMAR_TEST_PROMETHEUS="$(command -v prometheus)" PALOMAR_TEST_DOVECOT=/usr/sbin/dovecot
# A test whose service is missing fails rather than skips.
export PALOMAR_TEST_REQUIRE=all
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
"$palomar" simulate seed --sites 1 --backends 2 --groups 10 --users 1000 >/dev/null
e2e_password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
PALOMAR_OPERATOR_PASSWORD="$e2e_password" "$palomar" operator add --role admin e2e-admin
# The simulated Dovecot backends and proxies behind the controller (doveadm HTTP API, moves).
export DOVEADM_PASSWORD="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
"$palomar" simulate --control "127.0.0.1:$SIM_PORT" --move-rate 8 >"$run/simulator.log" 2>&1 &
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
start_server

# The demo as README command 1 runs it (embedded store, its own simulator making traffic), so
# that its charts have points by the time its browser test runs, after the main suite.
env CONTROLLER_API_URL="http://127.0.0.1:$DEMO_PORT" "$palomar" demo </dev/null >"$run/demo.log" 2>&1 &
demo_pid=$!

step "Playwright in Debian's Chromium, with and without JavaScript"
(cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
(cd end2end && PALOMAR_E2E_URL="http://127.0.0.1:$E2E_PORT" PALOMAR_E2E_USER=e2e-admin \
  PALOMAR_E2E_SIM_CONTROL="http://127.0.0.1:$SIM_PORT" \
  PALOMAR_E2E_PASSWORD="$e2e_password" npx playwright test 2>&1) | tee "$run/playwright.log"

step "Playwright on the demo: the overview, a dashboard and charts of its simulated traffic"
demo_password=$(sed -n 's/^Open .* and log in as  demo \/ //p' "$run/demo.log")
[ -n "$demo_password" ] || { cat "$run/demo.log" >&2; echo "the demo printed no password" >&2; exit 1; }
(cd end2end && PALOMAR_DEMO_URL="http://127.0.0.1:$DEMO_PORT" PALOMAR_DEMO_PASSWORD="$demo_password" \
  npx playwright test --config playwright.demo.config.ts 2>&1) | tee "$run/playwright-demo.log"
kill "$demo_pid" 2>/dev/null || true
demo_pid=""

step "faults during group moves: Cassandra killed (SIGKILL) and resumed, Redis restarted, the server killed (SIGKILL) and restarted"
. scripts/faults.sh
faults_run

step "load: 32 clients browse and post for 30 s while the controller runs"
load_password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
load_accounts=""
for role in operator viewer; do
  for i in 1 2 3 4; do
    PALOMAR_OPERATOR_PASSWORD="$load_password" "$palomar" operator add --role "$role" "load-$role-$i" >/dev/null
    load_accounts="$load_accounts${load_accounts:+,}load-$role-$i"
  done
done
# The test binary the Rust test step built (cargo only finds it here, it compiles nothing).
load_test=$(cargo test -p app -p server --no-run --message-format=json 2>/dev/null |
  jq -r 'select(.reason == "compiler-artifact" and .target.name == "load" and .profile.test) | .executable')
[ -x "$load_test" ] || { echo "the load test binary was not found (server/tests/load.rs)" >&2; exit 1; }
PALOMAR_LOAD_URL="http://127.0.0.1:$E2E_PORT" PALOMAR_LOAD_ACCOUNTS="$load_accounts:$load_password" \
  timeout 300 "$load_test" --ignored --nocapture 2>&1 | tee "$run/load.log"
grep -q '^test result: ok\. 1 passed' "$run/load.log"
if grep -n panicked "$run/server.log"; then echo "the server panicked (above, from $run/server.log)" >&2; exit 1; fi
kill -0 "$server_pid" || { echo "the server died under load" >&2; exit 1; }

step "real Dovecot CE steered by the controller: routing, an operator's move, password guessing, host failure (end2end/ce)"
. scripts/ce-e2e.sh
ce_e2e_run

step "the benchmarks at tiny sizes, so that their code keeps working (scripts/bench.sh, BENCH_SMALL=1; no timing is judged)"
# A clean environment: the variables exported above are the e2e server's, not the benchmark's.
env -i HOME="$HOME" PATH="$PATH" PALOMAR_CACHE="$PALOMAR_CACHE" CARGO_TARGET_DIR="$CARGO_TARGET_DIR" \
  BENCH_SMALL=1 BENCH_CASSANDRA="127.0.0.1:$CQL_PORT" BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/3" \
  bash scripts/bench.sh 2>&1 | tee "$run/bench-small.log"
grep -q '^goals:' "$run/bench-small.log" || { echo "the small benchmark printed no report" >&2; exit 1; }

step "two sites on a real two-DC Cassandra: dc2's node stopped and back (scripts/two-dc.sh)"
env -i HOME="$HOME" PATH="$PATH" PALOMAR_CACHE="$PALOMAR_CACHE" CARGO_TARGET_DIR="$CARGO_TARGET_DIR" \
  PALOMAR_BIN="$palomar" bash scripts/two-dc.sh 2>&1 | tee "$run/two-dc.log"
grep -q '^two-dc .*passed' "$run/two-dc.log" || { echo "the two-DC test did not pass" >&2; exit 1; }

rust=$(grep -oE 'test result: ok\. [0-9]+ passed' "$run/cargo-test.log" | awk '{s += $4} END {print s + 0}')
browser=$(cat "$run/playwright.log" "$run/playwright-demo.log" | grep -oE '^ +[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
step "done: $rust Rust tests, $browser browser tests, $faults_passed fault tests, 1 load test, $ce_passed Dovecot CE tests, the two-DC test and the small benchmark run"
echo "tests: $((rust + browser + faults_passed + 1 + ce_passed + 1)) passed, 0 failed"
