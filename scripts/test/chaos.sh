#!/usr/bin/env bash
# Stage chaos: the randomized fault run (server/tests/it/chaos_run, docs/chaos.md) for
# CHAOS_MINUTES minutes (3 by default; scripts/chaos.sh runs 30): two `palomar serve` for one
# site on Cassandra, Redis, Prometheus and the simulator, with every feature on, operators
# calling the API, and a seeded random schedule of faults (SIGKILL and SIGSTOP of each part,
# the chaos proxy cutting the GeoDB or Redis, simulated backend and site failures, clock jumps
# in the simulator). A checker reads the GeoDB and the records after every fault and at the
# end. The seed is printed first; CHAOS_SEED replays a run. Needs Cassandra and the build
# (scripts/test.sh starts and makes them); the run kills and resumes that Cassandra, and leaves
# it running.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
export PALOMAR_TEST_CASSANDRA="127.0.0.1:$CQL_PORT" PALOMAR_TEST_PROMETHEUS="$(command -v prometheus)"
export CHAOS_MINUTES="${CHAOS_MINUTES:-3}"
set +e
cargo test -p server --test it -- --ignored --exact chaos_run::a_random_schedule_of_faults_breaks_no_invariant \
  --nocapture 2>&1 | tee "$run/chaos.log"
code=${PIPESTATUS[0]}
set -e
# Whatever happened, Cassandra runs for the stages after this one.
if ! (exec 3<>"/dev/tcp/127.0.0.1/$CQL_PORT") 2>/dev/null; then
  echo "chaos: Cassandra is down after the run: resuming it"
  tools/cassandra/cassandra.sh resume
fi
exit "$code"
