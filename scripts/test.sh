#!/usr/bin/env bash
# README command 2: installs what the tests need, starts the services each chosen stage needs,
# runs the stages and stops what it started.
#
#   scripts/test.sh              every stage, in this order
#   scripts/test.sh STAGE…       only these, with what they need started
#
# The stages (each a script of its own in scripts/test/, or scripts/two-dc.sh, scripts/bench.sh;
# a stage gets what it needs from scripts/test/services.sh, never from another stage):
#   lint         scripts executable, cargo fmt --check, clippy -D warnings (server and wasm), doc names
#   unit         the Rust unit tests
#   conformance  the Rust integration tests on the embedded store, Cassandra, Redis, Prometheus, Dovecot CE
#   e2e          Playwright with and without JavaScript against the server on Cassandra and Redis; the demo
#   faults       Cassandra, Redis and the server killed during group moves on that server
#   load         32 clients for 30 s against that server
#   chaos        a 3-minute randomized fault run: two servers for one site, a checker of invariants
#   ce           real Dovecot CE proxies and backends steered by a second server, on 2.3 and on 2.4
#   two-dc       two sites on a two-node, two-DC Cassandra, one DC stopped and back, force-move
#   package      the Debian package installed into fresh bookworm and trixie roots, and run there
#   bench        the benchmarks at tiny sizes, so that their code keeps working
# package and bench run beside two-dc when it runs too (it mostly waits on its own services).
# Each stage has a time limit: a stage that hangs fails with its name instead of running on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/test/services.sh"
cd "$here/.."

all_stages=(lint unit conformance e2e faults load chaos ce two-dc package bench)
declare -A about=(
  [lint]="formatting and lints: scripts executable, cargo fmt --check; clippy -D warnings on the server and on the wasm build"
  [unit]="Rust unit tests"
  [conformance]="Rust integration tests (adapter conformance on embedded and Cassandra, Redis, web, simulator, scenarios, Prometheus, Dovecot CE)"
  [e2e]="Playwright in Debian's Chromium, with and without JavaScript; then the demo's pages"
  [faults]="during group moves: Cassandra killed (SIGKILL) and resumed, Redis restarted, the server killed (SIGKILL) and restarted"
  [load]="32 clients browse and post for 30 s while the controller runs"
  [chaos]="a seeded random schedule of faults for CHAOS_MINUTES (3) minutes on two servers of one site, invariants checked after each (scripts/test/chaos.sh)"
  [ce]="real Dovecot CE 2.3.19 and 2.4 steered by the controller: routing, an operator's move, password guessing, host failure (end2end/ce)"
  [package]="the Debian package (cargo deb) installed with dpkg -i into fresh bookworm and trixie roots: files, user, unit, config, serve, login, purge"
  [two-dc]="two sites on a real two-DC Cassandra: dc2's node stopped and back; site health, failover, a cut link, force-move and recover (scripts/two-dc.sh)"
  [bench]="the benchmarks at tiny sizes, so that their code keeps working (scripts/bench.sh, BENCH_SMALL=1; no timing is judged)"
)
# What each stage needs started: redis, cassandra, build (the server and the site), e2e (the
# e2e server, its simulated cluster and the demo), the Debian roots (dovecot24-root: trixie with
# Dovecot CE 2.4; package-roots: pristine bookworm and trixie).
declare -A needs=(
  [lint]="" [unit]="" [conformance]="redis cassandra dovecot24-root" [e2e]="redis cassandra build e2e"
  [faults]="redis cassandra build e2e" [load]="redis cassandra build e2e" [chaos]="cassandra"
  [ce]="redis cassandra build dovecot24-root" [package]="redis cassandra build package-roots"
  [two-dc]="build" [bench]="redis cassandra build"
)
# Time limits in seconds, a cold build included where the stage compiles (2 cores).
declare -A limit=(
  [lint]=2400 [unit]=2400 [conformance]=2400 [e2e]=1200 [faults]=900 [load]=600 [chaos]=1200 [ce]=1200 [package]=900
  [two-dc]=900 [bench]=1200
)

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")
for s in "${stages[@]}"; do
  [ -n "${about[$s]+x}" ] || { echo "unknown stage '$s'; the stages: ${all_stages[*]}" >&2; exit 2; }
done
wanted() { local n s; for s in "${stages[@]}"; do for n in ${needs[$s]}; do [ "$n" = "$1" ] && return 0; done; done; return 1; }

cassandra_starting=""
cleanup() {
  # A stage still running (interrupted): timeout passes TERM on to the stage's process group.
  pkill -TERM -x timeout -P $$ 2>/dev/null || true
  # Each step may fail (what it stops may be gone already); none may keep the others from running.
  [ -z "$cassandra_starting" ] || kill "$cassandra_starting" 2>/dev/null || true
  services_stop
}
trap cleanup EXIT

step "installing what is missing"
bash scripts/install-deps.sh
bash scripts/install-tools.sh
tools/cassandra/cassandra.sh install

rm -rf "$run"; mkdir -p "$run"
# The Debian roots take minutes the first time, mostly waiting on Debian's archive: they build
# in the background while the rest compiles, and a stage that needs one waits for it
# (scripts/debian-root.sh holds a lock per root).
if wanted dovecot24-root || wanted package-roots; then
  step "building the Debian roots that are missing (in the background)"
  (
    . scripts/debian-root.sh
    if wanted dovecot24-root; then dovecot24_root; fi
    if wanted package-roots; then package_root bookworm && package_root trixie; fi
  ) >"$run/debian-roots.log" 2>&1 &
fi
# cargo-deb's first build takes a minute of CPU: at a low priority it takes what the waits of
# the first stages leave.
if wanted package-roots; then
  nice -n 10 bash scripts/install-cargo-deb.sh >"$run/cargo-deb.log" 2>&1 &
fi
if wanted redis; then
  step "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis_start
fi
if wanted cassandra; then
  step "starting Cassandra on 127.0.0.1:$CQL_PORT (in the background)"
  tools/cassandra/cassandra.sh start >"$run/cassandra-start.log" 2>&1 &
  cassandra_starting=$!
fi
if wanted build; then
  step "building the server and the site"
  # Incremental state is per checkout and per test target, and grows without bound when several
  # checkouts share this build cache; with less than 40 GB left, drop it (a rebuild costs minutes,
  # a full disk fails the run).
  free_gb=$(df -P -BG "$PALOMAR_CACHE" | awk 'NR == 2 {sub(/G$/, "", $4); print $4}')
  if [ "${free_gb:-0}" -lt 40 ]; then
    echo "only ${free_gb:-0} GB free: removing $CARGO_TARGET_DIR/debug/incremental"
    rm -rf "$CARGO_TARGET_DIR/debug/incremental"
  fi
  timeout 2400 bash scripts/build.sh
fi

# Runs one stage within its time limit, its output in $run/stage-NAME.log, and shown as it
# comes unless QUIET (a stage running beside another shows its log when it ends).
run_stage() { # <stage> <quiet: 0|1>
  local s=$1 quiet=$2 code command
  case $s in
    # Clean environments: these two set up servers of their own.
    two-dc) command=(env -i HOME="$HOME" PATH="$PATH" PALOMAR_CACHE="$PALOMAR_CACHE" CARGO_TARGET_DIR="$CARGO_TARGET_DIR"
      PALOMAR_BIN="$palomar" bash scripts/two-dc.sh) ;;
    bench) command=(env -i HOME="$HOME" PATH="$PATH" PALOMAR_CACHE="$PALOMAR_CACHE" CARGO_TARGET_DIR="$CARGO_TARGET_DIR"
      BENCH_SMALL=1 BENCH_CASSANDRA="127.0.0.1:$CQL_PORT" BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/3"
      bash scripts/bench.sh) ;;
    *) command=(bash "scripts/test/$s.sh") ;;
  esac
  # timeout signals the stage's whole process group; -k: KILL if TERM is not enough.
  set +e
  if [ "$quiet" = 1 ]; then
    timeout -k 30 "${limit[$s]}" "${command[@]}" >"$run/stage-$s.log" 2>&1
    code=$?
  else
    timeout -k 30 "${limit[$s]}" "${command[@]}" 2>&1 | tee "$run/stage-$s.log"
    code=${PIPESTATUS[0]}
  fi
  set -e
  [ "$code" = 124 ] && echo "stage $s: not done within ${limit[$s]} s, stopped" >&2
  [ "$code" = 0 ] || { echo "stage $s failed (exit $code); its output is in $run/stage-$s.log" >&2; return 1; }
  case $s in
    two-dc) grep -q '^two-dc .*passed' "$run/stage-$s.log" || { echo "the two-DC test did not say it passed" >&2; return 1; } ;;
    bench) grep -q '^goals:' "$run/stage-$s.log" || { echo "the small benchmark printed no report" >&2; return 1; } ;;
  esac
}

# Stages that run beside a longer one, one after the other, when both are chosen: two-dc
# spends most of its time waiting for its own Cassandra nodes, servers and simulator, on ports
# of its own, while these two use the shared Cassandra and Redis.
declare -A beside=([two-dc]="package bench")
chosen() { local c; for c in "${stages[@]}"; do [ "$c" = "$1" ] && return 0; done; return 1; }
declare -A ran_beside=()

e2e_started=""
for s in "${stages[@]}"; do
  [ -n "${ran_beside[$s]:-}" ] && continue
  companions=()
  for c in ${beside[$s]:-}; do chosen "$c" && companions+=("$c"); done
  needed=" ${needs[$s]} "
  for c in "${companions[@]}"; do needed="$needed ${needs[$c]} "; done
  if [ -n "$cassandra_starting" ] && [[ "$needed" == *" cassandra "* ]]; then
    step "waiting for Cassandra"
    if ! wait "$cassandra_starting"; then cat "$run/cassandra-start.log"; exit 1; fi
    cassandra_starting=""
  fi
  if [ -z "$e2e_started" ] && [[ " ${needs[$s]} " == *" e2e "* ]]; then
    step "starting the e2e server on Cassandra and Redis, its simulated cluster, and the demo"
    e2e_start
    e2e_started=1
  fi
  beside_pid=""
  if [ ${#companions[@]} -gt 0 ]; then
    step "${companions[*]}: beside $s, each in its own log (shown when it ends)"
    for c in "${companions[@]}"; do ran_beside[$c]=1; done
    (
      for c in "${companions[@]}"; do
        c_began=$SECONDS
        run_stage "$c" 1 || exit 1
        echo "$c: took $((SECONDS - c_began)) s" >>"$run/beside.log"
      done
    ) &
    beside_pid=$!
  fi
  step "$s: ${about[$s]}"
  run_stage "$s" 0 || { [ -n "$beside_pid" ] && wait "$beside_pid"; exit 1; }
  if [ -n "$beside_pid" ]; then
    step "waiting for ${companions[*]} (beside $s)"
    beside_code=0
    wait "$beside_pid" || beside_code=$?
    for c in "${companions[@]}"; do
      echo "--- stage $c (beside $s): ${about[$c]}"
      cat "$run/stage-$c.log" 2>/dev/null || true
    done
    cat "$run/beside.log" 2>/dev/null || true
    [ "$beside_code" = 0 ] || exit 1
  fi
done

# What passed, counted from each stage's own output.
count() { grep -hoE "$1" "${@:2}" 2>/dev/null | grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}'; }
declare -A passed=(
  [lint]=0
  [unit]=$(count '^test result: ok\. [0-9]+ passed' "$run/stage-unit.log")
  [conformance]=$(count '^test result: ok\. [0-9]+ passed' "$run/stage-conformance.log")
  [e2e]=$(count '^ +[0-9]+ passed' "$run/stage-e2e.log")
  [faults]=$(count '^faults: [0-9]+ passed' "$run/stage-faults.log")
  [load]=$(count '^test result: ok\. [0-9]+ passed' "$run/stage-load.log")
  [chaos]=$(count '^test result: ok\. [0-9]+ passed' "$run/stage-chaos.log")
  [ce]=$(count '^ce: [0-9]+ passed' "$run/stage-ce.log")
  [package]=$(count '^package: [0-9]+ passed' "$run/stage-package.log")
  [two-dc]=$(grep -c '^two-dc .*passed' "$run/stage-two-dc.log" 2>/dev/null || true)
  [bench]=$(grep -c '^goals:' "$run/stage-bench.log" 2>/dev/null || true)
)
total=0 summary=""
for s in "${stages[@]}"; do
  total=$((total + ${passed[$s]:-0}))
  summary="$summary${summary:+, }$s ${passed[$s]:-0}"
done
step "done: $summary"
echo "tests: $total passed, 0 failed"
