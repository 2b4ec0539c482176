#!/usr/bin/env bash
# tools/cassandra/cluster.sh start DC… | stop | stop-node N | resume-node N — a throwaway
# Cassandra 5.0 cluster of one node per named DC on this machine: node N (1, 2, …) listens on
# 127.0.0.N, in the Nth DC given, with its own run directory under CASSANDRA_CLUSTER_DIR, the
# same CQL and storage ports as every other node (CASSANDRA_CQL_PORT, CASSANDRA_STORAGE_PORT),
# node 1 as the seed, GossipingPropertyFileSnitch and a small heap (CASSANDRA_HEAP, 512M
# here). `stop-node` stops one node cleanly (a DC outage); `resume-node` starts it again on its
# data, and it then receives the hints the others kept for it.
#   CASSANDRA_CLUSTER_DIR=/tmp/c CASSANDRA_CQL_PORT=19142 tools/cassandra/cluster.sh start dc1 dc2
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/env.sh"
BASE=${CASSANDRA_CLUSTER_DIR:-$PALOMAR_CACHE/cassandra/cluster}
STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
export CASSANDRA_HEAP=${CASSANDRA_HEAP:-512M}

# node N [command]: runs cassandra.sh for node N with its address, directory, DC and token.
node() {
  local n=$1 command=$2 dc
  dc=$(cat "$BASE/node$n.dc" 2>/dev/null) || { echo "no node $n in $BASE" >&2; exit 1; }
  CASSANDRA_ADDRESS="127.0.0.$n" CASSANDRA_RUN_DIR="$BASE/node$n" CASSANDRA_DC="$dc" \
    CASSANDRA_INITIAL_TOKEN=$(( (n - 1) * 1000 )) CASSANDRA_SEEDS="127.0.0.1:$STORAGE_PORT" \
    "$HERE/cassandra.sh" "$command"
}

case "${1:-}" in
  start)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 start DC [DC…]" >&2; exit 2; }
    rm -rf "$BASE"; mkdir -p "$BASE"
    n=0
    for dc in "$@"; do
      n=$((n + 1))
      echo "$dc" >"$BASE/node$n.dc"
      node "$n" start
    done
    ;;
  stop)
    for f in "$BASE"/node*.dc; do
      [ -e "$f" ] || continue
      n=${f##*/node}; n=${n%.dc}
      node "$n" stop || true
    done
    ;;
  stop-node) node "${2:?node number}" stop ;;
  resume-node) node "${2:?node number}" resume ;;
  *) echo "usage: $0 start DC… | stop | stop-node N | resume-node N" >&2; exit 2 ;;
esac
