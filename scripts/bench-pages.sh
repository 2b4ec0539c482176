#!/usr/bin/env bash
# Page-load and route API benchmark: builds the release server, starts a throwaway Redis and
# Cassandra, seeds a large cluster (2 sites, 100,000 groups, 1,000,000 users by default), logs in
# and times the server-rendered pages with curl, then times the route API that Dovecot CE proxies
# call (GET /api/route/v1) with the load generator server/examples/route_bench.rs: a fixed number
# of lookups in flight, users drawn uniformly from the seeded ones. It prints figures only; it
# asserts no timing and exits 0 unless the setup failed. Everything it starts is stopped on exit.
#
# Options (environment variables):
#   BENCH_PORT=3400              the server's HTTP port
#   BENCH_REDIS_PORT=6392        Redis port
#   BENCH_CQL_PORT=29042         Cassandra CQL port
#   BENCH_STORAGE_PORT=27000     Cassandra storage (gossip) port
#   BENCH_GROUPS_PER_SITE=50000  groups seeded in each of the 2 sites
#   BENCH_USERS=1000000          users seeded
#   BENCH_REQUESTS=30            timed requests per page (after 2 warm-up requests)
#   BENCH_PAGES=1                0 skips the page timings (only the route API is timed)
#   BENCH_ROUTE_CONCURRENCY=32   route API lookups in flight; a list ("1 8 32") times each in turn
#   BENCH_ROUTE_SECONDS=30       seconds of timed route API lookups (0 skips them)
#   BENCH_ROUTE_WARMUP=5         seconds of untimed route API lookups first
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."

# Ports of their own, distinct from scripts/test.sh's, so the two can run side by side.
PORT=${BENCH_PORT:-3400}
REDIS_PORT=${BENCH_REDIS_PORT:-6392}
CQL_PORT=${BENCH_CQL_PORT:-29042}
STORAGE_PORT=${BENCH_STORAGE_PORT:-27000}
GROUPS_PER_SITE=${BENCH_GROUPS_PER_SITE:-50000}
USERS=${BENCH_USERS:-1000000}
REQUESTS=${BENCH_REQUESTS:-30}
PAGES=${BENCH_PAGES:-1}
ROUTE_CONCURRENCY=${BENCH_ROUTE_CONCURRENCY:-32}
ROUTE_SECONDS=${BENCH_ROUTE_SECONDS:-30}
ROUTE_WARMUP=${BENCH_ROUTE_WARMUP:-5}
SITES=2
BACKENDS_PER_SITE=10
WARMUP=2
for n in "$PORT" "$REDIS_PORT" "$CQL_PORT" "$STORAGE_PORT" "$GROUPS_PER_SITE" "$USERS" "$REQUESTS"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: expected a positive number, got '$n'" >&2; exit 2; }
done
for n in "$PAGES" "$ROUTE_SECONDS" "$ROUTE_WARMUP"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "bench: expected a number, got '$n'" >&2; exit 2; }
done
for n in $ROUTE_CONCURRENCY; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: expected a positive number, got '$n'" >&2; exit 2; }
done

run="$PALOMAR_CACHE/bench-run"
BIN="$CARGO_TARGET_DIR/release/palomar"
ROUTE_BENCH="$CARGO_TARGET_DIR/release/examples/route_bench"
BASE="http://127.0.0.1:$PORT"
jar="$run/cookies.txt"
results="$run/results.txt"
route_results="$run/route.txt"
# cassandra.sh reads these for both start and stop, so export them once.
export CASSANDRA_RUN_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL_PORT CASSANDRA_STORAGE_PORT=$STORAGE_PORT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

server_pid=""
redis_started=""
cassandra_started=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  [ -n "$cassandra_started" ] && { tools/cassandra/cassandra.sh stop >/dev/null 2>&1 || true; }
  [ -n "$redis_started" ] && [ -f "$run/redis.pid" ] && { kill "$(cat "$run/redis.pid")" 2>/dev/null || true; }
  exit "$rc"
}
trap cleanup EXIT

step "building the release binary"
bash scripts/build.sh --release
cargo build -p server --release --example route_bench

# Refuse busy ports: otherwise we would benchmark (or seed) someone else's server.
for p in "$PORT" "$REDIS_PORT" "$CQL_PORT"; do
  if port_busy "$p"; then echo "bench: port $p is already in use; set the BENCH_*_PORT variables" >&2; exit 1; fi
done
command -v redis-server >/dev/null || { echo "bench: redis-server missing; run scripts/install-deps.sh" >&2; exit 1; }

step "starting Redis on 127.0.0.1:$REDIS_PORT"
rm -rf "$run"; mkdir -p "$run"
redis_started=1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$run" --pidfile "$run/redis.pid" --logfile "$run/redis.log"
# --daemonize returns before the socket is bound; wait until it answers.
for _ in $(seq 50); do port_busy "$REDIS_PORT" && break; sleep 0.2; done
port_busy "$REDIS_PORT" || { echo "bench: Redis did not start" >&2; cat "$run/redis.log" >&2; exit 1; }

step "starting Cassandra on 127.0.0.1:$CQL_PORT (blocks until ready)"
cassandra_started=1   # set first: a start that fails half-way still leaves a node to stop
tools/cassandra/cassandra.sh start

# The server's configuration (README "Configuration"); BACKEND_HOST_CHECK=syntax because the seeded
# backend names (beN.dc1a.example.net) do not resolve.
export CASSANDRA_SERVERS=127.0.0.1 CASSANDRA_PORT=$CQL_PORT CASSANDRA_LOCAL_DC=datacenter1 CASSANDRA_KEYSPACE=d8s_cluster
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0" CONTROLLER_API_URL="$BASE"
export SESSION_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site"
# palomar=info logs when the census at start is done (the route API is timed after it).
export BACKEND_HOST_CHECK=syntax RUST_LOG=warn,palomar=info
# The proxies' bearer token turns the route API on; route_bench reads it from the environment too.
export ROUTE_API_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

step "seeding $SITES sites x $BACKENDS_PER_SITE backends x $GROUPS_PER_SITE groups, $USERS users"
"$BIN" simulate seed --sites "$SITES" --backends "$BACKENDS_PER_SITE" --groups "$GROUPS_PER_SITE" \
  --users "$USERS" --concurrency 256 2>&1 | tee "$run/seed.log"

step "starting the server on $BASE"
pw="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
PALOMAR_OPERATOR_PASSWORD="$pw" "$BIN" operator add --role admin bench
"$BIN" serve >"$run/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 60); do
  curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: the server exited" >&2; cat "$run/server.log" >&2; exit 1; }
  sleep 1
done
curl -fs "$BASE/healthz" >/dev/null || { echo "bench: no /healthz after 60 s" >&2; tail -n 50 "$run/server.log" >&2; exit 1; }

# One sample per line: "<http code> <seconds>". curl prints "000 0.000000" when it cannot connect,
# and its non-zero exit must not stop the benchmark, hence "|| true".
sample() {
  curl -s -g -o /dev/null -w '%{http_code} %{time_total}\n' -b "$jar" -H 'Accept: text/html' "$1" || true
}

# Nearest-rank percentiles over the 200 responses only (errors are often fast 404s that would
# flatter the figures). With N samples, p99 is the ceil(0.99 N)-th fastest, i.e. the max for N < 100.
stats() {
  python3 -c '
import math, sys
label, rows = sys.argv[1], [l.split() for l in sys.stdin if l.strip()]
ok = sorted(float(t) * 1000 for c, t in rows if c == "200")
errors = len(rows) - len(ok)
codes = sorted({c for c, _ in rows if c != "200"})
def pct(p): return ok[max(0, math.ceil(p / 100 * len(ok)) - 1)]
figs = f"p50={pct(50):.1f}ms  p99={pct(99):.1f}ms  max={ok[-1]:.1f}ms" if ok else "p50=-  p99=-  max=-"
note = "  (HTTP " + ",".join(codes) + ")" if codes else ""
print(f"{label:<48} {figs}  errors={errors}{note}")
' "$1"
}

# bench LABEL URL: warms up, times REQUESTS loads and appends one result line.
bench() {
  local label=$1 url=$2 i
  echo "timing $label" >&2
  for ((i = 0; i < WARMUP; i++)); do sample "$url" >/dev/null; done
  for ((i = 0; i < REQUESTS; i++)); do sample "$url"; done | stats "$label" >>"$results"
}

: >"$results"; : >"$route_results"
site_id="-"
if [ "$PAGES" != 0 ]; then
  step "logging in as bench"
  # POSTs carry the server's own Origin, as a browser's do: the CSRF check refuses them without it.
  code=$(curl -s -o "$run/login.json" -w '%{http_code}' -c "$jar" -b "$jar" -H 'Accept: application/json' -H "Origin: $BASE" \
    --data-urlencode username=bench --data-urlencode "password=$pw" --data-urlencode next=/ "$BASE/api/auth/login") || true
  [ "$code" = 200 ] || { echo "bench: login answered HTTP $code" >&2; cat "$run/login.json" >&2; exit 1; }

  # The site pages need a site id; the sites list server function returns JSON.
  code=$(curl -s -o "$run/sites.json" -w '%{http_code}' -c "$jar" -b "$jar" -H 'Accept: application/json' -H "Origin: $BASE" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data '' "$BASE/api/sites/list") || true
  [ "$code" = 200 ] || { echo "bench: /api/sites/list answered HTTP $code" >&2; cat "$run/sites.json" >&2; exit 1; }
  site_id=$(python3 -c '
import json, sys
items = json.load(open(sys.argv[1])).get("items", [])
print(next((i["site"]["id"] for i in items if i["site"]["name"] == "dc1a"), ""))
' "$run/sites.json")
  [ -n "$site_id" ] || { echo "bench: site dc1a not found in /api/sites/list" >&2; cat "$run/sites.json" >&2; exit 1; }
  echo "site dc1a is $site_id"

  step "timing $REQUESTS loads per page after $WARMUP warm-up loads"
  s="/sites/$site_id"
  # Labels show <id> instead of the uuid so the table stays narrow.
  bench "/sites"                              "$BASE/sites"
  bench "/tags"                               "$BASE/tags"
  bench "/sites/<id>"                         "$BASE$s"
  bench "/sites/<id>/backends"                "$BASE$s/backends"
  bench "/sites/<id>/groups"                  "$BASE$s/groups"
  bench "/sites/<id>/groups?mask=default-4*"  "$BASE$s/groups?mask=default-4*"
  bench "/sites/<id>/groups/default-17"       "$BASE$s/groups/default-17"
  bench "/users?username=user0000042%40example.net" "$BASE/users?username=user0000042%40example.net"
  bench "/settings"                           "$BASE/settings"
  bench "/sites/<id>/features"                "$BASE$s/features"
  bench "/sites/<id>/stats"                   "$BASE$s/stats"
  bench "/reachability"                       "$BASE/reachability"
  bench "/audit"                              "$BASE/audit"
  bench "/operators"                          "$BASE/operators"

  # Pagination: follow the first "Next page" link of the groups list. Its query is HTML-escaped in
  # the attribute (&amp;), so unescape it before requesting it.
  curl -s -g -o "$run/groups.html" -b "$jar" -H 'Accept: text/html' "$BASE$s/groups" || true
  next=$(grep -o "href=\"$s/groups?[^\"]*cursor=[^\"]*\"" "$run/groups.html" 2>/dev/null | head -n1 |
    sed -e 's/^href="//' -e 's/"$//' -e 's/&amp;/\&/g') || true
  if [ -n "$next" ]; then
    bench "/sites/<id>/groups (page 2)" "$BASE$next"
  else
    printf '%-48s %s\n' "/sites/<id>/groups (page 2)" "p50=-  p99=-  max=-  errors=1  (no Next page link on page 1)" >>"$results"
  fi
fi

if [ "$ROUTE_SECONDS" != 0 ]; then
  # The census at start reads the whole users table; the lookups are timed after it, as they
  # run for most of the hour between two censuses.
  step "waiting for the census at start (at most 600 s)"
  for _ in $(seq 600); do grep -q 'census taken' "$run/server.log" && break; sleep 1; done
  census=$(grep -m1 -o 'census taken.*' "$run/server.log" | sed 's/\x1b\[[0-9;]*m//g') || census="census not done after 600 s"
  echo "$census"

  # The generator, the server and Cassandra share the machine's cores: route_bench reports the
  # CPU time each used per lookup, which says where the time goes.
  echo "$census" >"$route_results"
  for c in $ROUTE_CONCURRENCY; do
    step "timing the route API: $c lookups in flight for $ROUTE_SECONDS s after $ROUTE_WARMUP s warm-up"
    echo >>"$route_results"
    "$ROUTE_BENCH" --url "$BASE" --concurrency "$c" --duration "$ROUTE_SECONDS" \
      --warmup "$ROUTE_WARMUP" --users "$USERS" --service imap \
      --cpu-of "server=$server_pid" --cpu-of "cassandra=$(cat "$CASSANDRA_RUN_DIR/cassandra.pid")" |
      tee -a "$route_results" ||
      { echo "bench: route_bench failed; the page figures are in $results" >&2; exit 1; }
  done
fi

echo
echo "Palomar page load and route API benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n)"
pages="$REQUESTS timed GETs per page after $WARMUP warm-up; site dc1a = $site_id"
[ "$PAGES" != 0 ] || pages="pages not timed"
echo "dataset: $SITES sites, $((SITES * BACKENDS_PER_SITE)) backends, $((SITES * GROUPS_PER_SITE)) groups, $USERS users; $pages"
grep -E '^wrote ' "$run/seed.log" | sed 's/^/seed: /' || true
if [ -s "$results" ]; then echo; cat "$results"; fi
if [ -s "$route_results" ]; then echo; cat "$route_results"; fi
echo
echo "logs in $run (server.log, seed.log); total $((SECONDS - began)) s"
