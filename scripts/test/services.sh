# Sourced by scripts/test.sh and by each of its stages (scripts/test/*.sh, processes of their
# own): the services the tests run against, each on a port of its own so that a developer's
# Redis or Cassandra does not interfere, with their state in files under $run, so that a stage
# finds what scripts/test.sh started for it and nothing passes through shell variables:
#   Redis          127.0.0.1:$REDIS_PORT   $run/redis.pid
#   Cassandra 5.0  127.0.0.1:$CQL_PORT     $run/cassandra (tools/cassandra/cassandra.sh)
#   the e2e server `palomar serve` on both, with a simulated site dc1a behind it, and the demo:
#                  $run/server.pid, $run/simulator.pid, $run/demo.pid; e2e.env holds the
#                  server's settings and the operator password the browser tests log in with.
here_services="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here_services/../env.sh"

REDIS_PORT=${PALOMAR_TEST_REDIS_PORT:-6391}
CQL_PORT=${PALOMAR_TEST_CQL_PORT:-19042}
STORAGE_PORT=${PALOMAR_TEST_STORAGE_PORT:-17000}
E2E_PORT=${PALOMAR_TEST_E2E_PORT:-3300}
SIM_PORT=${PALOMAR_TEST_SIM_PORT:-9790}
DEMO_PORT=${PALOMAR_TEST_DEMO_PORT:-3320}
run="${PALOMAR_TEST_RUN:-$PALOMAR_CACHE/test-run}"
palomar="$CARGO_TARGET_DIR/debug/palomar"
export CASSANDRA_RUN_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT
# A test whose service is missing fails rather than skips.
export PALOMAR_TEST_REQUIRE=all

# stop_pid_file FILE [SIGNAL]: stops the process FILE names (TERM by default), waits at most
# 15 s, then kills it; a process that ignores TERM is reported, not waited for for ever.
stop_pid_file() {
  local file=$1 signal=${2:-TERM} pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  rm -f "$file"
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for _ in $(seq 75); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  echo "process $pid ($(basename "$file" .pid)) still running 15 s after SIG$signal: killed" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

redis_start() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && [ ! -f "$run/redis.pid" ]; then
    echo "port $REDIS_PORT: another Redis is running (set PALOMAR_TEST_REDIS_PORT)" >&2
    return 1
  fi
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$run" --pidfile "$run/redis.pid" --logfile "$run/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "redis did not answer on port $REDIS_PORT" >&2
  return 1
}
# redis_stop SIGNAL: stops Redis with SIGNAL and waits until it is gone.
redis_stop() { stop_pid_file "$run/redis.pid" "$1"; }

# server_start: `palomar serve` with the settings in e2e.env (log appended to server.log),
# waiting at most 60 s for /healthz.
server_start() {
  (
    . "$run/e2e.env"
    exec "$palomar" serve
  ) </dev/null >>"$run/server.log" 2>&1 &
  echo $! >"$run/server.pid"
  for _ in $(seq 60); do
    curl -fs "http://127.0.0.1:$E2E_PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$run/server.pid")" 2>/dev/null || { tail -n 50 "$run/server.log" >&2; return 1; }
    sleep 1
  done
  echo "the server did not answer /healthz within 60 s" >&2
  return 1
}

# e2e_start: seeds a small site dc1a (100 users per group, moved at 8 users/s by the simulator,
# so that pages have rows and the controller has groups to move), adds the operator e2e-admin,
# starts the simulated Dovecot cluster, the server and the demo. Needs Redis, Cassandra and a build.
e2e_start() {
  local password secret doveadm_password
  password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
  secret="$(head -c 48 /dev/urandom | base64 -w0)"
  doveadm_password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
  # The browser tests add backends named *.example.net, which are not in DNS here; controller
  # timings are scaled down so that a stalled move is forced within seconds.
  cat >"$run/e2e.env" <<ENV
export CASSANDRA_SERVERS=127.0.0.1 CASSANDRA_PORT=$CQL_PORT CASSANDRA_LOCAL_DC=datacenter1 CASSANDRA_KEYSPACE=d8s_cluster
export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/1 CONTROLLER_API_URL=http://127.0.0.1:$E2E_PORT
export SESSION_SECRET='$secret' LEPTOS_SITE_ROOT='$CARGO_TARGET_DIR/site'
export BACKEND_HOST_CHECK=syntax CENSUS_INTERVAL_SECS=10 DOVEADM_PASSWORD='$doveadm_password'
export CONTROLLER_INSTANCE=e2e-controller CLUSTER_SITE=dc1a GROUP_MOVE_START_TIMEOUT_SECS=6
export CONTROLLER_PASS_INTERVAL_SECS=1 GROUP_MOVE_SUPERVISION_INTERVAL_SECS=1 BACKEND_REACHABILITY_INTERVAL_SECS=2
E2E_PASSWORD='$password'
ENV
  (
    . "$run/e2e.env"
    "$palomar" simulate seed --sites 1 --backends 2 --groups 10 --users 1000 >/dev/null
    PALOMAR_OPERATOR_PASSWORD="$password" "$palomar" operator add --role admin e2e-admin
    exec "$palomar" simulate --control "127.0.0.1:$SIM_PORT" --move-rate 8
  ) </dev/null >"$run/simulator.log" 2>&1 &
  echo $! >"$run/simulator.pid"
  for _ in $(seq 60); do
    grep -q '^DOVEADM_ENDPOINTS=' "$run/simulator.log" 2>/dev/null && break
    kill -0 "$(cat "$run/simulator.pid")" 2>/dev/null || { cat "$run/simulator.log" >&2; return 1; }
    sleep 1
  done
  grep -q '^DOVEADM_ENDPOINTS=' "$run/simulator.log" || { echo "the simulator printed no DOVEADM_ENDPOINTS" >&2; return 1; }
  echo "export DOVEADM_ENDPOINTS='$(sed -n 's/^DOVEADM_ENDPOINTS=//p' "$run/simulator.log")'" >>"$run/e2e.env"
  server_start
  # The demo as README command 1 runs it (embedded store, its own simulator making traffic), so
  # that its charts have points by the time its browser test runs, after the main suite.
  env CONTROLLER_API_URL="http://127.0.0.1:$DEMO_PORT" LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site" \
    "$palomar" demo </dev/null >"$run/demo.log" 2>&1 &
  echo $! >"$run/demo.pid"
}

# services_stop: stops everything above that is running.
services_stop() {
  local name
  for name in server simulator demo; do stop_pid_file "$run/$name.pid"; done
  tools/cassandra/cassandra.sh stop >/dev/null 2>&1 || true
  redis_stop TERM
}
