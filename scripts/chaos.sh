#!/usr/bin/env bash
# The long randomized fault run: the test command's chaos stage for 30 minutes (CHAOS_MINUTES),
# with Cassandra, Redis and the build that stage needs. Replay a run with the seed it printed:
#   CHAOS_SEED=… CHAOS_MINUTES=… scripts/chaos.sh
# Its figures are in docs/chaos.md.
set -euo pipefail
export CHAOS_MINUTES="${CHAOS_MINUTES:-30}"
exec bash "$(dirname "$0")/test.sh" chaos
