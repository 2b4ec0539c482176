#!/usr/bin/env bash
# The benchmarks, side by side in one run on this machine (docs/benchmarks.md says what each
# figure means). It starts its own Redis, Cassandra, simulated cluster (behind DOVEADM_ENDPOINTS)
# and Prometheus, all on loopback, seeds the GeoDB, then measures:
#   seeding rows/s; the server's census against a raw token-range-parallel scan of the same
#   table (server/examples/scan_bench.rs); the server's memory; pages and the route API under 32
#   concurrent clients (wrk) against a static file of the same server, without and with a
#   census running; change to screen (a move's POST to its card in Chromium, end2end/bench/);
#   one decision pass at 1,000 backends (app/domain/benches/decision_pass.rs); a 24-hour replay
#   of a site of 1,000 backends and 100,000 groups (app/domain/benches/replay.rs).
# It prints one table (scripts/bench-report.py) and, at full size, rewrites docs/benchmarks.md.
# It asserts no timing: it exits 0 unless the setup failed. Everything it starts stops on exit.
#
#   scripts/bench.sh                  full size: release build, 1,000,000 users, 3 runs
#   BENCH_USERS=10000000 scripts/bench.sh                 the same at ten million users
#   BENCH_RUNS=1 BENCH_SOAK_MINUTES=30 scripts/bench.sh   one run, then the 30-minute soak
#   BENCH_SMALL=1 scripts/bench.sh    a few seconds at tiny sizes, debug build (run by test.sh)
#
# With several runs each run starts from nothing (its own Cassandra, seeding included) and prints
# its table; then the medians, each goal judged in every run and in the medians. A full-size run
# checks the free disk space first, and removes its Cassandra data when it ends.
#
# Options (environment variables; defaults for the full size, then the small one):
#   BENCH_USERS=1000000 | 2000          users seeded
#   BENCH_GROUPS_PER_SITE=100000 | 100  groups in each of the 2 sites
#   BENCH_BACKENDS_PER_SITE=1000 | 20   backends in each site
#   BENCH_SECONDS=30 | 2                seconds of load per target and condition
#   BENCH_TRIALS=20 | 3                 change-to-screen trials
#   BENCH_CENSUS_PAIRS=5 | 1            raw scans and censuses, alternating, for the census ratio
#   BENCH_RUNS=3 | 1                    full runs, one after the other
#   BENCH_SOAK_MINUTES=0 | 1            after the (last) run: minutes of mixed load, one line a minute
#   BENCH_DOC=1 | 0                     rewrite this size's section of docs/benchmarks.md
#   BENCH_PORT=3400 BENCH_REDIS_PORT=6392 BENCH_CQL_PORT=29042 BENCH_STORAGE_PORT=27000
#   BENCH_SIM_PORT=9792 BENCH_PROMETHEUS_PORT=9793
#   BENCH_CASSANDRA=host:port           use this Cassandra (keyspace palomar_bench) instead of starting one
#   BENCH_REDIS_URL=redis://…           use this Redis instead of starting one
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
. "$here/prometheus.sh"
cd "$here/.."

SMALL=${BENCH_SMALL:-0}
if [ "$SMALL" = 1 ]; then
  d_users=2000 d_groups=100 d_backends=20 d_seconds=2 d_trials=3 d_pairs=1 d_doc=0 d_runs=1 d_soak=1
  profile=debug run_suffix=-small
else
  d_users=1000000 d_groups=100000 d_backends=1000 d_seconds=30 d_trials=20 d_pairs=5 d_doc=1 d_runs=3 d_soak=0
  profile=release run_suffix=
fi
USERS=${BENCH_USERS:-$d_users}
GROUPS_PER_SITE=${BENCH_GROUPS_PER_SITE:-$d_groups}
BACKENDS_PER_SITE=${BENCH_BACKENDS_PER_SITE:-$d_backends}
SECONDS_PER_TARGET=${BENCH_SECONDS:-$d_seconds}
TRIALS=${BENCH_TRIALS:-$d_trials}
CENSUS_PAIRS=${BENCH_CENSUS_PAIRS:-$d_pairs}
WRITE_DOC=${BENCH_DOC:-$d_doc}
RUNS=${BENCH_RUNS:-$d_runs}
SOAK_MINUTES=${BENCH_SOAK_MINUTES:-$d_soak}
PORT=${BENCH_PORT:-3400}
REDIS_PORT=${BENCH_REDIS_PORT:-6392}
CQL_PORT=${BENCH_CQL_PORT:-29042}
STORAGE_PORT=${BENCH_STORAGE_PORT:-27000}
SIM_PORT=${BENCH_SIM_PORT:-9792}
PROM_PORT=${BENCH_PROMETHEUS_PORT:-9793}
CONNECTIONS=32
SITES=2
for n in "$USERS" "$GROUPS_PER_SITE" "$BACKENDS_PER_SITE" "$SECONDS_PER_TARGET" "$TRIALS" "$PORT" "$REDIS_PORT" \
  "$CQL_PORT" "$STORAGE_PORT" "$SIM_PORT" "$PROM_PORT" "$RUNS"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: expected a positive number, got '$n'" >&2; exit 2; }
done
[[ $SOAK_MINUTES =~ ^[0-9]+$ ]] || { echo "bench: BENCH_SOAK_MINUTES: expected a number, got '$SOAK_MINUTES'" >&2; exit 2; }
SETUP="users=$USERS groups_per_site=$GROUPS_PER_SITE backends_per_site=$BACKENDS_PER_SITE sites=$SITES seconds=$SECONDS_PER_TARGET connections=$CONNECTIONS trials=$TRIALS census_pairs=$CENSUS_PAIRS profile=$profile"

# Several runs: this script once per run, each from nothing, then the medians.
if [ "$RUNS" -gt 1 ]; then
  runs_dir="$PALOMAR_CACHE/bench-runs$run_suffix"
  rm -rf "$runs_dir"; mkdir -p "$runs_dir"
  for i in $(seq "$RUNS"); do
    echo "=== bench: run $i of $RUNS ==="
    soak=0; [ "$i" = "$RUNS" ] && soak=$SOAK_MINUTES
    BENCH_RUNS=1 BENCH_DOC=0 BENCH_SOAK_MINUTES=$soak BENCH_RESULTS_COPY="$runs_dir/run-$i.jsonl" \
      BENCH_SOAK_DOC="$WRITE_DOC" bash "$here/bench.sh" || exit $?
  done
  doc_args=()
  [ "$WRITE_DOC" = 1 ] && doc_args=(--doc docs/benchmarks.md)
  python3 scripts/bench-report.py summary "$runs_dir"/run-*.jsonl --setup "$SETUP" "${doc_args[@]}"
  exit 0
fi
[ "$TRIALS" -le "$GROUPS_PER_SITE" ] || { echo "bench: BENCH_TRIALS must not exceed the groups per site" >&2; exit 2; }

run="$PALOMAR_CACHE/bench-run$run_suffix"
bin_dir="$CARGO_TARGET_DIR/$profile"
BIN="$bin_dir/palomar"
BASE="http://127.0.0.1:$PORT"
results="$run/results.jsonl"
profile_flag=()
[ "$profile" = release ] && profile_flag=(--release)

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

server_pid="" sim_pid="" prom_pid="" redis_started="" cassandra_started="" sampler_pid="" mover_pid=""
# Stops PID (TERM, then KILL after 15 s) and returns 0 whatever happens: a failing command
# would end the EXIT trap early (errexit).
stop_pid() {
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 75); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$1" 2>/dev/null; then
    echo "bench: process $1 still running 15 s after SIGTERM: killed" >&2
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop_pid "$sampler_pid"; stop_pid "$mover_pid"; stop_pid "$server_pid"; stop_pid "$sim_pid"; stop_pid "$prom_pid"
  if [ -n "$cassandra_started" ]; then
    tools/cassandra/cassandra.sh stop >/dev/null 2>&1 || true
    rm -rf "$run/cassandra/data" "$run/cassandra/commitlog" "$run/cassandra/hints"   # gigabytes at ten million users
  fi
  if [ -n "$redis_started" ] && [ -f "$run/redis.pid" ]; then kill "$(cat "$run/redis.pid")" 2>/dev/null || true; fi
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "bench: $*" >&2; exit 1; }

step "building ($profile): the server, the site, the raw scan"
if [ "$profile" = release ]; then bash scripts/build.sh --release; else bash scripts/build.sh; fi
cargo build -p server "${profile_flag[@]}" --example scan_bench
command -v wrk >/dev/null || fail "wrk missing; run scripts/install-deps.sh"
command -v prometheus >/dev/null || fail "prometheus missing; run scripts/install-deps.sh"

# Refuse busy ports: otherwise we would benchmark (or seed) someone else's server.
for p in "$PORT" "$SIM_PORT" "$PROM_PORT"; do port_busy "$p" && fail "port $p is already in use; set BENCH_*_PORT"; done
rm -rf "$run"; mkdir -p "$run"
: >"$results"

# The disk: the seeded rows, the warm-up's (dropped once settled), the commit log and room for
# compaction, at BYTES_PER_USER each (measured: docs/capacity.md), with 2 GB to spare.
BYTES_PER_USER=1000
warmup_users=$(( USERS < 1000000 ? USERS : 1000000 ))
need_mb=$(( (USERS * 2 + warmup_users) * BYTES_PER_USER / 1048576 + 2048 ))
free_mb=$(df -Pm "$run" | awk 'NR == 2 {print $4}')
[ "${free_mb:-0}" -ge "$need_mb" ] || fail "$USERS users need about $need_mb MB free under $run; $free_mb MB are"
echo "bench: disk: $free_mb MB free, about $need_mb MB needed"
record() { echo "$1" >>"$results"; }

if [ -n "${BENCH_REDIS_URL:-}" ]; then
  redis_url="$BENCH_REDIS_URL"
else
  step "starting Redis on 127.0.0.1:$REDIS_PORT"
  port_busy "$REDIS_PORT" && fail "port $REDIS_PORT is already in use; set BENCH_REDIS_PORT"
  redis_started=1
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$run" --pidfile "$run/redis.pid" --logfile "$run/redis.log"
  for _ in $(seq 50); do port_busy "$REDIS_PORT" && break; sleep 0.2; done
  port_busy "$REDIS_PORT" || fail "Redis did not start"
  redis_url="redis://127.0.0.1:$REDIS_PORT/0"
fi

if [ -n "${BENCH_CASSANDRA:-}" ]; then
  cql_host="${BENCH_CASSANDRA%:*}" cql_port="${BENCH_CASSANDRA##*:}" keyspace=palomar_bench
else
  step "starting Cassandra on 127.0.0.1:$CQL_PORT (blocks until ready)"
  port_busy "$CQL_PORT" && fail "port $CQL_PORT is already in use; set BENCH_CQL_PORT"
  export CASSANDRA_RUN_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT
  # The heap Cassandra's own cassandra-env.sh picks for this machine (the larger of half the
  # memory up to 1 GB and a quarter up to 8 GB), as a node set up by the book would have; the
  # tests' nodes keep their small heaps. At 1 GB the seeding flushed its memtables often.
  if [ "$SMALL" = 1 ]; then
    by_the_book=1G
  else
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    half=$(( mem_mb / 2 < 1024 ? mem_mb / 2 : 1024 )) quarter=$(( mem_mb / 4 < 8192 ? mem_mb / 4 : 8192 ))
    by_the_book=$(( half > quarter ? half : quarter ))M
  fi
  export CASSANDRA_HEAP=${CASSANDRA_HEAP:-$by_the_book}
  cassandra_started=1   # set first: a start that fails half-way still leaves a node to stop
  tools/cassandra/cassandra.sh start
  cql_host=127.0.0.1 cql_port=$CQL_PORT keyspace=d8s_cluster
fi

# The server's configuration (README "Configuration"). Every address is a loopback one: the
# simulated backends answer doveadm at DOVEADM_ENDPOINTS and Prometheus scrapes them, so no
# backend name (beN.dcNa.example.net) is ever looked up.
export CASSANDRA_SERVERS=$cql_host CASSANDRA_PORT=$cql_port CASSANDRA_LOCAL_DC=datacenter1 CASSANDRA_KEYSPACE=$keyspace
export CELERY_BROKER_URL="$redis_url" CONTROLLER_API_URL="$BASE" CLUSTER_SITE=dc1a CONTROLLER_INSTANCE=bench
export SESSION_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site"
export BACKEND_HOST_CHECK=syntax RUST_LOG=warn,palomar=info,palomar_server=info,app=info
# One machine, one clock: no margin is needed, and with the default one the census right after
# the first would record again every user seeded minutes before.
export CENSUS_CHANGE_MARGIN_SECS=0
export PROMETHEUS_URL="http://127.0.0.1:$PROM_PORT" PROMETHEUS_JOB_NAME=palomar
export DOVEADM_PASSWORD="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
export ROUTE_API_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# A node that has just started runs its first writes interpreted (the JVM compiles hot code
# as it goes): seeding it cold measured 16,000 rows/s against 63,000 warm, and after a warm-up
# of a quarter of the users still 41,000. The warm-up seeds a keyspace of its own, of the same
# size up to a million users (enough for the JIT), untimed, as wrk's warm-up does for the pages.
step "warming Cassandra up: seeding keyspace ${keyspace}_warmup with $warmup_users users, not timed"
CASSANDRA_KEYSPACE="${keyspace}_warmup" "$BIN" simulate seed --sites "$SITES" --backends "$BACKENDS_PER_SITE" \
  --groups "$GROUPS_PER_SITE" --users "$warmup_users" --concurrency 256 >"$run/warmup.log" 2>&1 \
  || { tail -n 20 "$run/warmup.log" >&2; fail "the warm-up seeding failed"; }

# What was written goes on being compacted for minutes (compaction is unthrottled here): the
# next figures would share the cores with it. The warm-up keyspace is dropped, and each timed
# part starts once the node runs and queues no compaction.
step "settling: dropping the warm-up keyspace, waiting for compactions to end, not timed"
"$bin_dir/examples/scan_bench" --settle --drop-keyspace "${keyspace}_warmup"

step "seeding $SITES sites x $BACKENDS_PER_SITE backends x $GROUPS_PER_SITE groups, $USERS users"
"$BIN" simulate seed --sites "$SITES" --backends "$BACKENDS_PER_SITE" --groups "$GROUPS_PER_SITE" \
  --users "$USERS" --concurrency 256 2>&1 | tee "$run/seed.log"
python3 scripts/bench-report.py seed <"$run/seed.log" >>"$results"

step "settling: waiting for the seeded rows' compactions to end, not timed"
"$bin_dir/examples/scan_bench" --settle

password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
PALOMAR_OPERATOR_PASSWORD="$password" "$BIN" operator add --role admin bench >/dev/null

step "starting the simulated cluster and Prometheus"
"$BIN" simulate --control "127.0.0.1:$SIM_PORT" --file-sd "$run/targets.json" </dev/null >"$run/simulator.log" 2>&1 &
sim_pid=$!
for _ in $(seq 300); do
  grep -q '^DOVEADM_ENDPOINTS=' "$run/simulator.log" 2>/dev/null && grep -q 'targets written' "$run/simulator.log" && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$run/simulator.log" >&2; fail "the simulator exited"; }
  sleep 1
done
grep -q '^DOVEADM_ENDPOINTS=' "$run/simulator.log" || fail "the simulator printed no DOVEADM_ENDPOINTS"
export DOVEADM_ENDPOINTS="$(sed -n 's/^DOVEADM_ENDPOINTS=//p' "$run/simulator.log")"
start_prometheus "$run/prometheus" "$run/targets.json" "$PROM_PORT" 15s "$run/prometheus.log"
prom_pid=$prometheus_pid

# start_server CENSUS_INTERVAL_SECS LOG: the server in the background, until /healthz answers.
start_server() {
  CENSUS_INTERVAL_SECS=$1 "$BIN" serve </dev/null >"$2" 2>&1 &
  server_pid=$!
  for _ in $(seq 120); do
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { tail -n 50 "$2" >&2; fail "the server exited"; }
    sleep 0.5
  done
  fail "no /healthz after 60 s"
}
# cpu_ticks PID: user plus system CPU time of PID, in clock ticks (/proc/PID/stat fields 14, 15).
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# rss_phase PHASE KB: the server's RSS in a phase (a peak or a point) beside its VmHWM so far.
rss_phase() {
  record "{\"kind\": \"rss\", \"phase\": \"$1\", \"kb\": ${2:-0}, \"hwm_kb\": $(rss_kb "$server_pid" VmHWM)}"
}

# wait_census LOG OUT: the first census line of the server writing LOG, into OUT.
wait_census() {
  for _ in $(seq 1200); do
    grep -q 'census taken' "$1" && break
    grep -q 'census failed' "$1" && { tail -n 20 "$1" >&2; fail "the census failed"; }
    sleep 0.5
  done
  grep 'census taken' "$1" | head -n1 | tee "$2"
  [ -s "$2" ] || fail "no census within 10 minutes"
}

step "the first census after seeding (it records every user's group)"
start_server 3600 "$run/server-first.log"
wait_census "$run/server-first.log" "$run/census-first.log"
python3 scripts/bench-report.py census first <"$run/census-first.log" >>"$results"
rss_phase "first census" "$(rss_kb "$server_pid" VmHWM)"
stop_pid "$server_pid"

# The first census wrote every user's roster row: as after seeding, the node compacts them for
# minutes, and every figure below would share the cores with that.
step "settling: waiting for the first census's writes to be compacted, not timed"
"$bin_dir/examples/scan_bench" --settle

step "the census of a restarted server (only changed groups recorded) against a raw scan of the same table"
start_server 3600 "$run/server.log"
wait_census "$run/server.log" "$run/census.log"
python3 scripts/bench-report.py census steady <"$run/census.log" >>"$results"
rss_phase census "$(rss_kb "$server_pid" VmHWM)"
# The ratio: raw scans and censuses (the server's own code) alternate on one connection, three
# of each, so that both meet the same machine; the server is idle meanwhile.
"$bin_dir/examples/scan_bench" --groups --census --census-margin-secs 0 --repeat "$CENSUS_PAIRS" 2>&1 | tee "$run/scan.log"
python3 scripts/bench-report.py scan <"$run/scan.log" >>"$results"

step "logging in"
jar="$run/cookies.txt"
code=$(curl -s -o "$run/login.json" -w '%{http_code}' -c "$jar" -b "$jar" -H 'Accept: application/json' -H "Origin: $BASE" \
  --data-urlencode username=bench --data-urlencode "password=$password" --data-urlencode next=/ "$BASE/api/auth/login") || true
[ "$code" = 200 ] || fail "login answered HTTP $code"
cookie="palomar_session=$(awk '$6 == "palomar_session" {print $7}' "$jar")"
curl -s -o "$run/sites.json" -b "$jar" -H 'Accept: application/json' -H "Origin: $BASE" --data '' "$BASE/api/sites/list"
site_id=$(python3 -c '
import json, sys
items = json.load(open(sys.argv[1])).get("items", [])
print(next((i["site"]["id"] for i in items if i["site"]["name"] == "dc1a"), ""))' "$run/sites.json")
[ -n "$site_id" ] || fail "site dc1a not found"
rss_phase idle "$(rss_kb "$server_pid" VmRSS)"

# The targets: label, path, extra wrk options. Each must answer 200 before it is loaded.
targets=(
  "static file (/pkg/palomar.css)|/pkg/palomar.css|"
  "backends page ($BACKENDS_PER_SITE backends)|/sites/$site_id/backends|"
  "groups page|/sites/$site_id/groups|"
  "user lookup|/users?username=user0000042%40example.net|"
  "route API (random users)|/api/route/v1?user=user0000042%40example.net&service=imap|route"
)
check_targets() {
  local t label path code
  for t in "${targets[@]}"; do
    IFS='|' read -r label path _ <<<"$t"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" -H "Authorization: Bearer $ROUTE_API_TOKEN" \
      -H 'Accept: text/html' "$BASE$path") || true
    [ "$code" = 200 ] || fail "$label ($path) answered HTTP $code"
  done
}

# load CONDITION: every target in turn, 32 connections, with the server's RSS sampled.
load() {
  local condition=$1 t label path kind phase_peak=0
  for t in "${targets[@]}"; do
    IFS='|' read -r label path kind <<<"$t"
    local opts=(-t 2 -c "$CONNECTIONS" --timeout 10s --latency -H "Cookie: $cookie" -H 'Accept: text/html')
    [ "$kind" = route ] && opts+=(-H "Authorization: Bearer $ROUTE_API_TOKEN" -s scripts/wrk/route.lua)
    echo "load: $label, $condition"
    BENCH_USERS=$USERS wrk "${opts[@]}" -d 2s "$BASE$path" >/dev/null   # warm-up
    (peak=0; while :; do r=$(rss_kb "$server_pid" VmRSS); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$run/rss-peak"; sleep 0.2; done) &
    sampler_pid=$!
    local ticks_before; ticks_before=$(cpu_ticks "$server_pid")
    BENCH_USERS=$USERS wrk "${opts[@]}" -d "${SECONDS_PER_TARGET}s" "$BASE$path" >"$run/wrk.out" 2>&1 || true
    local ticks=$(( $(cpu_ticks "$server_pid") - ticks_before ))
    stop_pid "$sampler_pid"; sampler_pid=""
    local peak; peak=$(cat "$run/rss-peak" 2>/dev/null || echo 0)
    [ "$peak" -gt "$phase_peak" ] && phase_peak=$peak
    python3 scripts/bench-report.py wrk "$label" "$condition" "$ticks" \
      <"$run/wrk.out" >>"$results" || { cat "$run/wrk.out" >&2; fail "unreadable wrk output"; }
  done
  rss_phase "load, $condition" "$phase_peak"
}

step "$CONNECTIONS clients for ${SECONDS_PER_TARGET} s per target, no census running"
check_targets
load "no census"

step "change to screen: $TRIALS moves started, each seen in Chromium through the live stream"
(cd end2end && [ -d node_modules/@playwright/test ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
trial_groups=$(python3 -c "import sys; n, g = int(sys.argv[1]), int(sys.argv[2]); print(','.join(f'default-{1 + i * (g // n)}' for i in range(n)))" "$TRIALS" "$GROUPS_PER_SITE")
(cd end2end && BENCH_URL="$BASE" BENCH_USER=bench BENCH_PASSWORD="$password" BENCH_SITE="$site_id" \
  BENCH_GROUPS="$trial_groups" node bench/change-to-screen.mjs) | tee "$run/screen.log"
python3 scripts/bench-report.py screen <"$run/screen.log" >>"$results"

step "$CONNECTIONS clients for ${SECONDS_PER_TARGET} s per target, censuses running back to back"
stop_pid "$server_pid"
start_server 10 "$run/server-census.log"
load "census running"
record "{\"kind\": \"censuses\", \"during_load\": $(grep -c 'census taken' "$run/server-census.log" || true)}"

# One of the domain crate's benchmarks: at tiny sizes its debug build, run as a test.
domain_bench() { # <name>
  if [ "$SMALL" = 1 ]; then
    PALOMAR_BENCH_SMALL=1 cargo test -p domain --bench "$1"
  else
    cargo bench -p domain --bench "$1"
  fi
}

step "one decision pass at $BACKENDS_PER_SITE backends (divan)"
domain_bench decision_pass 2>&1 | tee "$run/pass.log"
python3 scripts/bench-report.py pass <"$run/pass.log" >>"$results"

step "a 24-hour replay at $BACKENDS_PER_SITE backends (docs/replay.md)"
domain_bench replay 2>&1 | tee "$run/replay.log"
python3 scripts/bench-report.py replay <"$run/replay.log" >>"$results"

if [ "$SOAK_MINUTES" -gt 0 ]; then
  . scripts/bench-soak.sh
fi

if [ -n "$cassandra_started" ]; then
  step "stopping Cassandra (it flushes its memtables) to measure the GeoDB on disk"
  stop_pid "$server_pid"; server_pid=""
  tools/cassandra/cassandra.sh stop >/dev/null 2>&1 || true
  record "{\"kind\": \"disk\", \"users\": $USERS, \"kb\": $(du -sk "$run/cassandra/data/$keyspace" 2>/dev/null | cut -f1 || echo 0)}"
fi

step "report"
[ -z "${BENCH_RESULTS_COPY:-}" ] || cp "$results" "$BENCH_RESULTS_COPY"
doc_args=()
[ "$WRITE_DOC" = 1 ] && doc_args=(--doc docs/benchmarks.md)
python3 scripts/bench-report.py report "$results" "${doc_args[@]}" --setup "$SETUP cassandra_heap=${CASSANDRA_HEAP:-external}"
