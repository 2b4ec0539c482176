#!/usr/bin/env bash
# Two sites on a real two-DC Cassandra, run by scripts/test.sh or on its own:
#   * two Cassandra 5.0 nodes, 127.0.0.1 in dc1 and 127.0.0.2 in dc2 (tools/cassandra/cluster.sh),
#     and a keyspace with NetworkTopologyStrategy dc1=1, dc2=1;
#   * a Redis per site, one simulator and one Prometheus behind both;
#   * `palomar serve` for site dc1a on dc1 (CASSANDRA_LOCAL_DC=dc1) and for dc2a on dc2.
# It checks, through HTTP only (/healthz, /metrics and /api/v1 with an API token):
#   1. each controller leads its own site and decides only for it;
#   2. dc2's node stopped: dc2a's controller holds back and says why (/healthz degraded, the
#      API answers 503), while dc1a's keeps working (a group move, a load factor, decisions);
#   3. dc2's node back: the writes made in dc1 meanwhile are read in dc2 (hints), nothing is
#      lost (every seeded user is counted by dc2a's census), and dc2a recovers by itself;
#   4. site health (docs/multi-site.md): every backend of dc2a cut, dc2a's controller sets
#      dc2a offline and its users are served in dc1a; healed, dc2a comes back and its users go
#      home; the link dc1a→dc2a cut, dc1a marks dc2a unreachable, and reachable once it returns;
#   5. a force-move of 30 % of dc2a's users to dc1a (palomar cluster), then a recover: users
#      move out at their logins and back, and the census counts every user all along.
# Every wait is bounded; a failure exits non-zero with the logs' last lines.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
. "$here/prometheus.sh"
cd "$here/.."

CQL=${TWO_DC_CQL_PORT:-19142}
STORAGE=${TWO_DC_STORAGE_PORT:-17100}
REDIS1=${TWO_DC_REDIS1:-6393} REDIS2=${TWO_DC_REDIS2:-6394}
PORT1=${TWO_DC_PORT1:-3401} PORT2=${TWO_DC_PORT2:-3402}
SIM=${TWO_DC_SIM_PORT:-9795} PROM=${TWO_DC_PROM_PORT:-9796}
palomar=${PALOMAR_BIN:-$CARGO_TARGET_DIR/debug/palomar}
run=${TWO_DC_RUN:-$PALOMAR_CACHE/two-dc}
started=$SECONDS
pids=()

log() { echo "two-dc ($((SECONDS - started)) s): $*"; }
fail() {
  echo "two-dc: FAILED: $*" >&2
  for f in "$run"/server-dc1a.log "$run"/server-dc2a.log; do
    echo "--- last lines of $f:" >&2
    tail -n 25 "$f" >&2 || true
  done
  exit 1
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  CASSANDRA_CLUSTER_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL CASSANDRA_STORAGE_PORT=$STORAGE \
    tools/cassandra/cluster.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$run"
mkdir -p "$run"
log "Cassandra: dc1 on 127.0.0.1, dc2 on 127.0.0.2 (CQL port $CQL)"
export CASSANDRA_CLUSTER_DIR="$run/cassandra" CASSANDRA_CQL_PORT=$CQL CASSANDRA_STORAGE_PORT=$STORAGE
tools/cassandra/cluster.sh start dc1 dc2

for port in "$REDIS1" "$REDIS2"; do
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no </dev/null >"$run/redis-$port.log" 2>&1 &
  pids+=($!)
done

export CASSANDRA_PORT=$CQL CASSANDRA_KEYSPACE=d8s_two_dc CASSANDRA_CONSISTENCY=LOCAL_QUORUM
export CASSANDRA_REPLICATION="NetworkTopologyStrategy:dc1=1,dc2=1"
export BACKEND_HOST_CHECK=syntax RUST_LOG=warn,palomar=info,app=info
# dc1's view, for the setup: the seeding, the first operator, the simulator.
export CASSANDRA_SERVERS=127.0.0.1 CASSANDRA_LOCAL_DC=dc1
# The keyspace names both DCs, which dc1's node accepts only once gossip has told it of dc2:
# an empty seeding creates the schema, again until it can.
until_ok 60 "the keyspace with dc1=1, dc2=1" "$palomar" simulate seed --sites 0 --backends 0 --groups 0 --users 0
log "seeding 2 sites x 3 backends x 10 groups, 600 users (replicated to both DCs)"
"$palomar" simulate seed --sites 2 --backends 3 --groups 10 --users 600 >/dev/null
password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
PALOMAR_OPERATOR_PASSWORD="$password" "$palomar" operator add --role admin two-dc-admin >/dev/null
export DOVEADM_PASSWORD="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
"$palomar" simulate --control "127.0.0.1:$SIM" --move-rate 20 --file-sd "$run/targets.json" \
  </dev/null >"$run/simulator.log" 2>&1 &
pids+=($!)
until_ok 60 "the simulator" grep -q '^DOVEADM_ENDPOINTS=' "$run/simulator.log"
export DOVEADM_ENDPOINTS="$(sed -n 's/^DOVEADM_ENDPOINTS=//p' "$run/simulator.log")"
start_prometheus "$run/prometheus" "$run/targets.json" "$PROM" 5s "$run/prometheus.log"
pids+=("$prometheus_pid")
export PROMETHEUS_URL="http://127.0.0.1:$PROM" PROMETHEUS_JOB_NAME=palomar
export SESSION_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site"
export CENSUS_INTERVAL_SECS=10 CONTROLLER_PASS_INTERVAL_SECS=1 CENSUS_CHANGE_MARGIN_SECS=0
# Site health judges a short window and waits a short cool time, so that section 4 is quick.
export HOST_FAILURE_WINDOW_SECS=20 HOST_FAILURE_COOL_TIME_SECS=10
export SIM_CONTROL_URL="http://127.0.0.1:$SIM"

# serve SITE DC ADDRESS REDIS PORT: one controller and UI for SITE on its own DC and Redis.
serve() {
  CLUSTER_SITE=$1 CASSANDRA_LOCAL_DC=$2 CASSANDRA_SERVERS=$3 CELERY_BROKER_URL="redis://127.0.0.1:$4/0" \
    CONTROLLER_API_URL="http://127.0.0.1:$5" CONTROLLER_INSTANCE="controller-$1" \
    "$palomar" serve </dev/null >"$run/server-$1.log" 2>&1 &
  pids+=($!)
}
serve dc1a dc1 127.0.0.1 "$REDIS1" "$PORT1"
serve dc2a dc2 127.0.0.2 "$REDIS2" "$PORT2"
A="http://127.0.0.1:$PORT1" B="http://127.0.0.1:$PORT2"
until_ok 90 "dc1a's server" curl -fsS "$A/healthz"
until_ok 90 "dc2a's server" curl -fsS "$B/healthz"

# An API token, made through dc1a's UI (its server function), used on both servers.
jar="$run/cookies"
curl -fsS -c "$jar" -b "$jar" -H "Origin: $A" -H 'Accept: application/json' --data-urlencode username=two-dc-admin \
  --data-urlencode "password=$password" --data-urlencode next=/ "$A/api/auth/login" >/dev/null || fail "login"
token=$(curl -fsS -b "$jar" -H "Origin: $A" -H 'Accept: application/json' --data-urlencode name=two-dc \
  --data-urlencode role=admin --data-urlencode days=1 "$A/api/tokens/create" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])') || fail "token"
api() { # api METHOD BASE PATH [JSON]: prints the body; fails unless 2xx.
  local data=()
  [ $# -ge 4 ] && data=(-H 'Content-Type: application/json' --data "$4")
  curl -fsS --max-time 15 -X "$1" -H "Authorization: Bearer $token" "${data[@]}" "$2/api/v1$3"
}
status() { curl -s --max-time 15 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$1/api/v1$2"; }
health() { curl -fsS --max-time 5 "$1/healthz" | python3 -c "import json,sys; h=json.load(sys.stdin); print(h['status'])"; }
is_health() { [ "$(health "$1")" = "$2" ]; }
leads() { curl -fsS --max-time 5 "$1/healthz" | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['this_instance_leads'] else 1)"; }
decisions_of() { # decisions_of BASE SITE: how many decisions today (up to 500)
  api GET "$1" "/sites/$2/decisions?limit=500" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
until_ok 60 "token on dc2a (replicated)" api GET "$B" /sites

log "1. each controller leads its own site, and decides only for it"
until_ok 60 "dc1a's controller leads" leads "$A"
until_ok 60 "dc2a's controller leads" leads "$B"
for site in dc1a dc2a; do
  api PUT "$A" "/sites/$site/features/load_balance" '{"state":"dryrun"}' >/dev/null || fail "feature dryrun $site"
done
has_decisions() { [ "$(decisions_of "$1" "$2")" -gt 0 ]; }
until_ok 60 "dc1a has decisions" has_decisions "$A" dc1a
until_ok 60 "dc2a has decisions" has_decisions "$B" dc2a
# Each site's decisions are its own controller's, and each controller probes only its own
# site's backends (its /metrics names them).
holders() { api GET "$A" "/sites/$1/decisions?limit=500" | python3 -c 'import json,sys; print(" ".join(sorted({d["holder"].split(" ")[0] for d in json.load(sys.stdin)["items"]})))'; }
[ "$(holders dc1a)" = controller-dc1a ] || fail "dc1a's decisions were made by: $(holders dc1a)"
[ "$(holders dc2a)" = controller-dc2a ] || fail "dc2a's decisions were made by: $(holders dc2a)"
probes() { curl -fsS "$1/metrics" | grep -q "$2"; }
until_ok 30 "dc1a probes its backends" probes "$A" dc1a.example.net
curl -fsS "$A/metrics" | grep -q 'dc2a.example.net' && fail "dc1a's controller probes dc2a's backends"
curl -fsS "$B/metrics" | grep -q 'dc1a.example.net' && fail "dc2a's controller probes dc1a's backends"
until_ok 120 "dc1a healthy before the outage" is_health "$A" ok
until_ok 120 "dc2a healthy before the outage" is_health "$B" ok

log "2. dc2's node stopped"
tools/cassandra/cluster.sh stop-node 2
until_ok 60 "dc2a says degraded" is_health "$B" degraded
curl -fsS "$B/healthz" | tee "$run/healthz-dc2a-outage.json" | grep -qi 'cassandra\|store\|geodb' \
  || fail "dc2a's /healthz does not say the store is the problem: $(cat "$run/healthz-dc2a-outage.json")"
answers() { [ "$(status "$1" "$2")" = "$3" ]; }
until_ok 30 "dc2a's API answers 503 (the store is down)" answers "$B" /sites/dc2a/backends 503
[ "$(health "$A")" = ok ] || fail "dc1a degraded by dc2's outage: $(curl -s "$A/healthz")"
[ "$(status "$A" /sites/dc1a/backends)" = 200 ] || fail "dc1a's API during the outage"
passes() { # passes BASE: the controller's passes so far (its /metrics)
  curl -fsS --max-time 5 "$1/metrics" | awk '/^palomar_controller_loop_runs_total\{loop="pass"/ {s += $2} END {print s + 0}'
}
passes_before=$(passes "$A")
group=$(api GET "$A" "/sites/dc1a/groups?limit=1" | python3 -c 'import json,sys; g=json.load(sys.stdin)["items"][0]; print(g["name"], g["backend"], g["alternative"])')
read -r gname from alt <<<"$group"
to=$(api GET "$A" /sites/dc1a/backends | python3 -c "
import json,sys
hosts=[b['host'] for b in json.load(sys.stdin)['items']]
print(next(h for h in hosts if h not in ('$from','$alt')))")
moved=$(api POST "$A" "/sites/dc1a/groups/$gname/move" "{\"backend\":\"$to\"}") || fail "a move on dc1a during the outage"
move_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$moved")
api PATCH "$A" /sites/dc1a/backends/be1.dc1a.example.net '{"load_factor":55}' >/dev/null || fail "a load factor on dc1a"
# Its controller goes on deciding: its passes go on (a pass with nothing new to decide records
# no decision), and its decisions stay readable.
passed_since() { [ "$(passes "$1")" -gt "$2" ]; }
until_ok 30 "dc1a's controller passes on during the outage" passed_since "$A" "$passes_before"
[ "$(decisions_of "$A" dc1a)" -gt 0 ] || fail "dc1a's decisions during the outage"
move_ended() {
  api GET "$A" "/sites/dc1a/moves?limit=50" | python3 -c "
import json, sys
m = [m for m in json.load(sys.stdin)['items'] if m['id'] == '$move_id'][0]
sys.exit(0 if m['state'] in ('finished', 'forced') else 1)"
}
until_ok 90 "dc1a's move ends during the outage" move_ended

log "3. dc2's node back"
tools/cassandra/cluster.sh resume-node 2
until_ok 120 "dc2a recovers by itself" is_health "$B" ok
lf() { api GET "$B" /sites/dc1a/backends/be1.dc1a.example.net | python3 -c 'import json,sys; print(json.load(sys.stdin)["load_factor"])'; }
lf_is() { [ "$(lf)" = "$1" ]; }
until_ok 120 "dc1's load factor read in dc2" lf_is 55
on_dest() { api GET "$B" "/sites/dc1a/groups/$gname" | python3 -c "import json,sys; g=json.load(sys.stdin); sys.exit(0 if g['backend']=='$to' and not g['moving'] else 1)"; }
until_ok 60 "dc1's move read in dc2" on_dest
users() { # every user counted by dc2a's census, over both sites' backends
  for site in dc1a dc2a; do api GET "$B" "/sites/$site/backends"; echo; done |
    python3 -c 'import json,sys; print(sum(b["users"] or 0 for l in sys.stdin if l.strip() for b in json.loads(l)["items"]))'
}
users_are() { [ "$(users)" = "$1" ]; }
until_ok 90 "every seeded user counted in dc2" users_are 600

log "4. site health"
for site in dc1a dc2a; do
  api PUT "$A" "/sites/$site/features/site_health" '{"state":"on"}' >/dev/null || fail "site_health on for $site"
done
site_status() { api GET "$1" "/sites/$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
site_is() { [ "$(site_status "$1" "$2")" = "$3" ]; }
# A user whose home is dc2a.
user=""
for n in $(seq 0 40); do
  u=$(printf 'user%07d@example.net' "$n")
  home=$(api GET "$A" "/users/$u" | python3 -c 'import json,sys; print(json.load(sys.stdin)["site"])') || continue
  if [ "$home" = dc2a ]; then user=$u; break; fi
done
[ -n "$user" ] || fail "no seeded user of dc2a among the first 40"
route_of() { api GET "$1" "/users/$user" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["backend"] or "", "|", d["route"])'; }
"$palomar" simulate fault --site dc2a --doveadm unreachable --login-fail 100 >/dev/null || fail "cut dc2a's backends"
until_ok 90 "dc2a's controller sets dc2a offline" site_is "$B" dc2a offline
site_decisions() { api GET "$1" "/sites/$2/decisions?limit=500" | python3 -c "
import json, sys
print(' '.join(d['reason'] for d in json.load(sys.stdin)['items'] if d['feature'] == 'site_health'))"; }
site_decisions "$B" dc2a | grep -qw no_backend_takes_users || fail "no recorded decision for dc2a offline: $(site_decisions "$B" dc2a)"
served_in_dc1a() { route_of "$A" | grep -q '^be[0-9]*\.dc1a\.example\.net | dc2a cannot take users (offline): its failover site dc1a serves'; }
until_ok 30 "dc2a's user routed to dc1a" served_in_dc1a
# dc2a's own proxies send its users to dc1a's load balancer, and those logins succeed.
lb_logins() { # lb_logins: successful sessions proxied to dc1a's load balancer, per Prometheus
  curl -fsS --max-time 5 "http://127.0.0.1:$PROM/api/v1/query" \
    --data-urlencode 'query=sum(dovecot_proxy_session_success_total{dest_host="lb.dc1a.example.net"})' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
}
lb_before=$(lb_logins)
more_lb_logins() { [ "$(lb_logins)" -gt "$lb_before" ]; }
until_ok 60 "logins of dc2a's users served through dc1a's load balancer" more_lb_logins
"$palomar" simulate fault --site dc2a --clear >/dev/null || fail "heal dc2a's backends"
until_ok 90 "dc2a back online after the cool time" site_is "$B" dc2a online
at_home() { route_of "$A" | grep -q '^be[0-9]*\.dc2a\.example\.net | the group'; }
until_ok 30 "dc2a's user goes home" at_home

reachable() { # reachable FROM TO: the site_reachability value, or "none"
  api GET "$A" /reachability | python3 -c "
import json, sys
rows = [r for r in json.load(sys.stdin) if r['from_name'] == '$1' and r['to_name'] == '$2']
print(('1' if rows[0]['reachable'] else '0') if rows else 'none')"
}
reachable_is() { [ "$(reachable "$1" "$2")" = "$3" ]; }
until_ok 60 "dc1a marks dc2a reachable from its sessions" reachable_is dc1a dc2a 1
"$palomar" simulate fault --link dc1a:dc2a >/dev/null || fail "cut the link dc1a→dc2a"
until_ok 90 "dc1a marks dc2a unreachable" reachable_is dc1a dc2a 0
[ "$(reachable dc2a dc1a)" != 0 ] || fail "dc2a marked dc1a unreachable, though only dc1a→dc2a was cut"
"$palomar" simulate fault --link dc1a:dc2a --clear >/dev/null || fail "restore the link"
until_ok 120 "dc1a marks dc2a reachable again" reachable_is dc1a dc2a 1

log "5. force-move and recover, through palomar cluster"
cli() { PALOMAR_URL="$A" PALOMAR_TOKEN="$token" "$palomar" cluster "$@"; }
users_at() { # users_at SITE: the site's users by dc1a's census
  api GET "$A" "/sites/$1/backends" | python3 -c 'import json,sys; print(sum(b["users"] or 0 for b in json.load(sys.stdin)["items"]))'
}
home_users=$(users_at dc2a)
cli site force-move start --id two-dc dc2a 30 dc1a >/dev/null || fail "force-move start"
# The simulator's logins move the chosen users, about 30 % of dc2a's: never more than the hash
# chooses, and once most have logged in, at least a fifth.
moved_some() { local left; left=$(users_at dc2a); [ "$left" -le $((home_users * 80 / 100)) ] && [ "$left" -ge $((home_users * 64 / 100)) ]; }
until_ok 180 "about 30 % of dc2a's users moved to dc1a at their logins" moved_some
[ "$(users)" = 600 ] || fail "users lost or made up by the force-move: $(users)"
cli --json site force-move list dc2a | grep -q '"percent": 30' || fail "force-move list"
cli site force-move stop dc2a >/dev/null || fail "force-move stop"
cli site recover --id two-dc dc2a 100 >/dev/null || fail "recover"
all_home() { [ "$(users_at dc2a)" = "$home_users" ]; }
until_ok 180 "recover brings every moved user back to dc2a" all_home
[ "$(users)" = 600 ] || fail "users lost or made up by the recover: $(users)"
cli site recover --stop dc2a >/dev/null || fail "recover stop"
log "passed: both sites on their own DC; dc2a held back through its DC's outage and recovered; dc1's writes reached dc2; dc2a failed over to dc1a and came back; the cut link was seen and its return too; a force-move and its recover moved users out and back"
