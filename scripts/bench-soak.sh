#!/usr/bin/env bash
# Sourced by scripts/bench.sh after its run, with its server, Cassandra, simulator and
# Prometheus: SOAK_MINUTES of mixed page, API and route load (scripts/wrk/soak.lua, 8
# connections) on a server running the controller with every feature on, censuses every 5
# minutes, and an operator starting a group move every 20 s. Each minute it records the server's
# RSS, open descriptors and Cassandra connections, and the minute's requests, errors and p99;
# scripts/bench-report.py soak judges the run (docs/benchmarks.md, "Soak").

step "soak: $SOAK_MINUTES minutes of mixed load, the controller running passes and moves"
stop_pid "$server_pid"
# One token sends the mix's JSON API share, about 50 requests a second: above the default rate
# per token, which would answer part of it 429 (a refusal the soak would count as errors).
API_REQUESTS_PER_SECOND=1000 start_server 300 "$run/server-soak.log"
soak_results="$run/soak.jsonl"
echo "{\"kind\": \"soak_setup\", \"setup\": \"$SETUP, $SOAK_MINUTES minutes, 8 connections\"}" >"$soak_results"

token_json=$(curl -s -b "$jar" -H 'Accept: application/json' -H "Origin: $BASE" \
  --data-urlencode name=soak --data-urlencode role=admin --data-urlencode days=1 "$BASE/api/tokens/create")
api_token=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["secret"])' "$token_json") \
  || fail "no API token: $token_json"
for feature in host_failure load_balance group_move_timeouts evacuation; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $api_token" \
    -H 'Content-Type: application/json' --data '{"state": "on"}' "$BASE/api/v1/sites/dc1a/features/$feature") || true
  [ "$code" = 200 ] || fail "feature $feature on: HTTP $code"
done

# Every kind of request in the mix answers 200 before the soak begins.
for check in "/api/route/v1?service=imap&user=user0000042%40example.net|Authorization: Bearer $ROUTE_API_TOKEN" \
  "/sites/$site_id/backends|Cookie: $cookie" "/sites/$site_id/groups|Cookie: $cookie" \
  "/users?username=user0000042%40example.net|Cookie: $cookie" "/api/v1/sites/dc1a/dashboard|Authorization: Bearer $api_token" \
  "/api/v1/sites/dc1a/backends|Authorization: Bearer $api_token" "/api/v1/sites/dc1a/moves|Authorization: Bearer $api_token"; do
  IFS='|' read -r path header <<<"$check"
  code=$(curl -s -o "$run/soak-check.out" -w '%{http_code}' -H "$header" -H 'Accept: text/html' "$BASE$path") || true
  [ "$code" = 200 ] || { head -c 300 "$run/soak-check.out" >&2; fail "soak: $path answered HTTP $code"; }
done

# An operator at work: a move of a random group to a random backend every 20 s, whatever the answer.
(
  while :; do
    g=$(( RANDOM % GROUPS_PER_SITE + 1 )) b=$(( RANDOM % BACKENDS_PER_SITE + 1 ))
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $api_token" -H 'Content-Type: application/json' \
      --data "{\"backend\": \"be$b.dc1a.example.net\"}" "$BASE/api/v1/sites/dc1a/groups/default-$g/move" || true
    sleep 20
  done
) &
mover_pid=$!

cql_connections() { ss -Htnp state established "( dport = :$cql_port )" 2>/dev/null | grep -c "pid=$server_pid," || true; }
for minute in $(seq "$SOAK_MINUTES"); do
  SOAK_COOKIE="$cookie" SOAK_API_TOKEN="$api_token" SOAK_SITE_ID="$site_id" BENCH_USERS=$USERS \
    wrk -t 2 -c 8 --timeout 10s --latency -s scripts/wrk/soak.lua -d 60s "$BASE/" >"$run/soak-wrk.out" 2>&1 || true
  python3 scripts/bench-report.py soak-minute "$minute" "$(rss_kb "$server_pid" VmRSS)" \
    "$(ls "/proc/$server_pid/fd" 2>/dev/null | wc -l)" "$(cql_connections)" <"$run/soak-wrk.out" >>"$soak_results" \
    || { cat "$run/soak-wrk.out" >&2; fail "unreadable wrk output"; }
  tail -n 1 "$soak_results"
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited during the soak"
done
stop_pid "$mover_pid"
soak_doc=()
[ "${BENCH_SOAK_DOC:-$WRITE_DOC}" = 1 ] && soak_doc=(--doc docs/benchmarks.md)
python3 scripts/bench-report.py soak "$soak_results" "${soak_doc[@]}"
