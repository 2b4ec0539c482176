#!/usr/bin/env bash
# Stage faults: faults at process level on the real parts, on the Redis, Cassandra, simulator and
# `palomar serve` that scripts/test.sh started for the e2e stage (services.sh e2e_start). Each of
#   1. Cassandra killed with SIGKILL and resumed on its data,
#   2. Redis killed and started again (empty: it keeps nothing on disk),
#   3. `palomar serve` killed with SIGKILL and started again
# happens while an operator's group move runs. The move's source is slowed down by the simulator
# so that the move is still running when the fault hits, and let go after recovery. Each fault
# then checks, through the server's HTTP API only:
#   * no action on missing data: while the part is down an operator's write answers 503; no
#     backend row and no other group row changed, no move was started and no decision was
#     applied from the fault until the move ended;
#   * nothing lost: the move record is still there, the same one (id, creation time, initiator);
#   * supervised to its end: the move record ends `finished` (or `forced`) and the group's row is
#     on the destination with `moving` cleared.
# Every wait is bounded; a failure exits non-zero. The last line counts the faults that passed.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
. "$run/e2e.env"

faults_base="http://127.0.0.1:$E2E_PORT"
faults_sim="http://127.0.0.1:$SIM_PORT"
faults_jar="$run/faults.cookies"
faults_passed=0
faults_site=""

faults_log() { echo "faults: $*"; }

fail() {
  echo "faults: FAILED: $*" >&2
  echo "--- last lines of the server log:" >&2
  tail -n 30 "$run/server.log" >&2 || true
  exit 1
}

# POSTs a server function: `faults_post groups/get site_id=… name=…`; prints the JSON answer.
# Non-2xx: prints the status and body on stderr and returns 1.
faults_post() {
  local path=$1 args=() out code
  shift
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  [ ${#args[@]} -eq 0 ] && args=(--data "")
  out=$(curl -sS --max-time 10 -b "$faults_jar" -c "$faults_jar" -H "Origin: $faults_base" \
    -H 'Accept: application/json' -w '\n%{http_code}' "${args[@]}" "$faults_base/api/$path" 2>&1) || {
    echo "POST /api/$path: $out" >&2
    return 1
  }
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if [[ $code != 2* ]]; then
    echo "POST /api/$path: $code $out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

faults_login() {
  rm -f "$faults_jar"
  faults_post auth/login username=e2e-admin "password=$E2E_PASSWORD" next=/ >/dev/null
}

faults_sim_slow() {
  curl -fsS --max-time 5 -X PUT -H 'Content-Type: application/json' \
    -d '{"move_rate_factor": 0.3}' "$faults_sim/faults/$1" >/dev/null
}
faults_sim_clear() { curl -fsS --max-time 5 -X DELETE "$faults_sim/faults/$1" >/dev/null; }

# The rows that must not change while a fault lasts: every backend, and every group but $1.
faults_rows() {
  local backends groups
  backends=$(faults_post backends/list "site_id=$faults_site") || return 1
  groups=$(faults_post groups/list "site_id=$faults_site" backend= mask= moving=) || return 1
  jq -cn --arg group "$1" --argjson b "$backends" --argjson g "$groups" '{
    backends: [$b.rows[].backend | {host, status, status_reason, load_factor}] | sort_by(.host),
    groups: [$g.rows[] | select(.group.name != $group)
      | {name: .group.name, backend: .backend_host, alternative: .alt_backend_host, moving: .group.moving}] | sort_by(.name)
  }'
}

# Every move of the site: the live ones and the newest page of all (deduplicated by id).
faults_moves() {
  faults_post controller/moves "site_id=$faults_site" | jq -c '[.[0][], .[1].items[]] | unique_by(.id)'
}

# The operator's active move of group $1, once supervision saw users moving: prints its record.
faults_move_running() {
  faults_moves | jq -ce --arg g "$1" 'first(.[] | select(.group == $g and .initiated_by == "operator:e2e-admin"
    and .state == "started" and .users_moved > 0))'
}

faults_move_ended() {
  faults_moves | jq -ce --arg id "$1" 'first(.[] | select(.id == $id and (.state == "finished" or .state == "forced")))'
}

faults_leads() {
  curl -fsS --max-time 5 "$faults_base/healthz" | jq -e '.this_instance_leads == true' >/dev/null
}

# Decisions of the site recorded at or after $1 (YYYY-MM-DDTHH:MM:SS, UTC), on $1's day and today.
faults_decisions_since() {
  local since=$1 day cursor page all='[]'
  for day in $(printf '%s\n' "${since:0:10}" "$(date -u +%F)" | sort -u); do
    cursor=""
    for _ in $(seq 50); do
      if [ -n "$cursor" ]; then
        page=$(faults_post controller/decisions "site_id=$faults_site" "day=$day" "cursor=$cursor") || return 1
      else
        page=$(faults_post controller/decisions "site_id=$faults_site" "day=$day") || return 1
      fi
      all=$(jq -c --argjson p "$page" --arg s "$since" '. + [$p.items[] | select(.at[0:19] >= $s)]' <<<"$all")
      cursor=$(jq -r --arg s "$since" 'if .next != null and (.items | length > 0) and (.items[-1].at[0:19] >= $s) then .next else "" end' <<<"$page")
      [ -z "$cursor" ] && break
    done
  done
  printf '%s\n' "$all"
}

# One fault: $1 names it, $2 breaks a part, $3 mends it (and waits until it is up).
faults_case() {
  local name=$1 break_part=$2 mend_part=$3 began=$SECONDS
  local groups group detail source_host destination destination_host record move_id created before after
  local t0 t1 t_end decisions moves health simulated code

  # A group that is not moving, and a destination the UI offers for it.
  groups=$(faults_post groups/list "site_id=$faults_site" backend= mask= moving=no) || fail "$name: list groups"
  # One with users enough to take a while (a group a proxy just created may have one or two).
  group=$(jq -r --arg used "$faults_used" '[.rows[] | select((.users // 0) >= 50) | .group.name] - ($used | split(" ")) | .[0] // empty' <<<"$groups")
  [ -n "$group" ] || fail "$name: no group left that is not moving"
  faults_used="$faults_used $group"
  detail=$(faults_post groups/get "site_id=$faults_site" "name=$group") || fail "$name: get $group"
  source_host=$(jq -r '.row.backend_host' <<<"$detail")
  # Only a backend the simulator runs (the browser tests add others).
  simulated=$(curl -fsS --max-time 5 "$faults_sim/backends") || fail "$name: the simulator's backends"
  destination=$(jq -r --argjson sim "$simulated" '[.destinations[] | select(.[0] as $id | $sim | any(.id == $id))][0][0] // empty' <<<"$detail")
  destination_host=$(jq -r --arg d "$destination" '.destinations[] | select(.[0] == $d) | .[1]' <<<"$detail")
  [ -n "$destination" ] || fail "$name: no destination for $group"

  # The move runs at 30 % of its rate until the fault is over (2.4 users/s: 40 s for 100 users).
  faults_sim_slow "$source_host" || fail "$name: slow down $source_host in the simulator"
  faults_post groups/move "site_id=$faults_site" "name=$group" "destination=$destination" >/dev/null ||
    fail "$name: start moving $group"
  until_ok 30 "$name: supervision sees $group moving" faults_move_running "$group"
  record=$(faults_move_running "$group")
  move_id=$(jq -r .id <<<"$record")
  created=$(jq -r .created_at <<<"$record")
  before=$(faults_rows "$group") || fail "$name: read the rows before"
  faults_log "$name: moving $group $source_host -> $destination_host (move $move_id, $(jq -r .users_moved <<<"$record") users moved)"

  t0=$(date -u +%FT%T)
  "$break_part"
  # While the part is down: the server keeps answering its health check, and says why it holds back.
  if kill -0 "$(cat "$run/server.pid" 2>/dev/null)" 2>/dev/null; then
    sleep 3
    health=$(curl -sS --max-time 5 "$faults_base/healthz") || fail "$name: /healthz does not answer while the part is down"
    faults_log "$name: down; /healthz: $(jq -c '{status, this_instance_leads, problems}' <<<"$health")"
    # An operator's write meanwhile is refused as unavailable (503), not half done.
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 -b "$faults_jar" -H "Origin: $faults_base" \
      -H 'Accept: application/json' --data "site_id=$faults_site&feature=group_move_timeouts&state=on" \
      "$faults_base/api/settings/set_feature") || true
    [ "$code" = 503 ] || fail "$name: a write while the part is down answered $code, not 503"
    faults_log "$name: a write meanwhile: 503"
  fi
  "$mend_part"
  t1=$(date -u +%FT%T)
  faults_log "$name: back after $((SECONDS - began)) s"

  until_ok 60 "$name: the controller leads again" faults_leads
  until_ok 30 "$name: log in again" faults_login
  faults_sim_clear "$source_host" || fail "$name: let $source_host go in the simulator"
  until_ok 120 "$name: move $move_id of $group supervised to its end" faults_move_ended "$move_id"
  t_end=$(date -u +%FT%T)

  # Nothing lost: the same record, ended.
  record=$(faults_move_ended "$move_id")
  [ "$(jq -r .created_at <<<"$record")" = "$created" ] || fail "$name: move $move_id was recreated: $record"
  [ "$(jq -r .initiated_by <<<"$record")" = "operator:e2e-admin" ] || fail "$name: move $move_id lost its initiator"
  # Known race (reported, not this test's subject): supervision can adopt an operator's move as
  # external between its GeoDB write and its record; both records then end. Say so, do not fail.
  moves=$(faults_moves | jq -c --arg id "$move_id" --arg g "$group" --arg c "$created" \
    '[.[] | select(.group == $g and .id != $id and .created_at[0:19] >= $c[0:19])]')
  [ "$moves" = "[]" ] || faults_log "$name: note: $group also has these records: $(jq -c '[.[] | {id, initiated_by, state}]' <<<"$moves")"
  # The group is on its destination and no longer moving.
  detail=$(faults_post groups/get "site_id=$faults_site" "name=$group") || fail "$name: get $group"
  jq -e --arg d "$destination_host" '.row.backend_host == $d and (.row.group.moving // "") == ""' <<<"$detail" >/dev/null ||
    fail "$name: $group is not on $destination_host with moving cleared: $(jq -c .row <<<"$detail")"
  # No action on missing data: nothing else changed, no other move, no decision applied.
  after=$(faults_rows "$group") || fail "$name: read the rows after"
  # Proxies create a group on its first use (the simulator's do too): a group that appeared is
  # not an action; every row that was there must be as it was.
  after=$(jq -c --argjson b "$before" '.groups |= map(select(.name as $n | $b.groups | any(.name == $n)))' <<<"$after")
  [ "$before" = "$after" ] || fail "$name: rows changed during the fault: before $before after $after"
  moves=$(faults_moves | jq -c --arg g "$group" --arg t0 "$t0" '[.[] | select(.group != $g and .created_at[0:19] >= $t0)]')
  [ "$moves" = "[]" ] || fail "$name: moves started during the fault: $moves"
  decisions=$(faults_decisions_since "$t0") || fail "$name: read the decisions"
  # (Supervision forcing this very move would be its own applied decision, and allowed.)
  decisions=$(jq -c --arg g "$group" '[.[] | select(.outcome == "applied")
    | select((.decision.feature == "group_move_timeouts" and (.decision.summary | contains($g))) | not)]' <<<"$decisions")
  [ "$decisions" = "[]" ] || fail "$name: decisions applied from $t0 to $t_end: $decisions"
  kill -0 "$(cat "$run/simulator.pid")" 2>/dev/null || fail "$name: the simulator died"
  if grep -q panicked "$run/server.log"; then fail "$name: the server panicked"; fi

  faults_log "ok: $name: move $move_id $(jq -r .state <<<"$record") (${t0:11} fault, ${t1:11} back, ${t_end:11} ended), nothing else changed ($((SECONDS - began)) s)"
  faults_passed=$((faults_passed + 1))
}

faults_cassandra_down() {
  tools/cassandra/cassandra.sh kill || fail "SIGKILL Cassandra"
  faults_log "cassandra: killed with SIGKILL"
}
faults_cassandra_up() {
  tools/cassandra/cassandra.sh resume >"$run/cassandra-resume.log" 2>&1 || {
    cat "$run/cassandra-resume.log" >&2
    fail "resume Cassandra"
  }
  # The simulated backends run their doveadm commands on the GeoDB: a move kicked off before
  # the simulator has reconnected would fail on its source and be forced.
  until_ok 60 "the simulator reaches Cassandra again" curl -fsS --max-time 5 "$faults_sim/geodb"
}

faults_redis_down() {
  redis_stop KILL
  faults_log "redis: killed with SIGKILL"
}
faults_redis_up() {
  sleep 5 # a few lease renewals fail
  redis_start
}

faults_server_down() {
  [ -f "$run/server.pid" ] || fail "no server to kill"
  stop_pid_file "$run/server.pid" KILL
  faults_log "server: killed with SIGKILL"
}
faults_server_up() {
  sleep 2
  server_start || fail "the server did not start again"
}

faults_run() {
  faults_used=""
  # The test node skips flushing schema changes (-Dcassandra.test.flush_local_schema_changes=false,
  # for fast Rust tests), and a crash then loses the keyspace the server created. A clean stop
  # flushes everything: once here, so that the crash below loses only what a real node would.
  tools/cassandra/cassandra.sh stop || fail "stop Cassandra"
  faults_cassandra_up
  until_ok 60 "log in after Cassandra's clean restart" faults_login
  faults_site=$(faults_post sites/list | jq -r '.items[] | select(.site.name == "dc1a") | .site.id')
  [ -n "$faults_site" ] || fail "no site dc1a"
  # Supervision forces what stalls; the browser tests turned it on too, this does not rely on them.
  faults_post settings/set_feature "site_id=$faults_site" feature=group_move_timeouts state=on >/dev/null ||
    fail "turn group_move_timeouts on"
  faults_case "cassandra SIGKILL" faults_cassandra_down faults_cassandra_up
  faults_case "redis restart" faults_redis_down faults_redis_up
  faults_case "server SIGKILL" faults_server_down faults_server_up
}

faults_run
echo "faults: $faults_passed passed"
