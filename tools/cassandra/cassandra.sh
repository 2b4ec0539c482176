#!/usr/bin/env bash
# tools/cassandra/cassandra.sh start|stop|kill|resume|install — one throwaway Cassandra 5.0 node,
# on 127.0.0.1 unless CASSANDRA_ADDRESS names another loopback address. Nodes of one cluster
# differ in CASSANDRA_ADDRESS, CASSANDRA_RUN_DIR and CASSANDRA_INITIAL_TOKEN, and share the ports
# and CASSANDRA_SEEDS; with CASSANDRA_DC the node uses GossipingPropertyFileSnitch in that DC (and
# keeps hints, so a DC that was down gets the writes it missed). tools/cassandra/cluster.sh starts
# such a cluster. The jars come from Maven Central (pom.xml); the node runs on Java 17 with the flags of
# Cassandra's own jvm17-server.options. Data lives in a run directory that is wiped at every start.
# `kill` ends the node with SIGKILL (a crash) and `resume` starts it again on the data it left,
# replaying its commit log: the fault tests (scripts/test/faults.sh) use both. The node does not flush
# schema changes (a start-up speed flag below), so a kill right after a CREATE loses the keyspace:
# `stop` (which flushes) and `resume` once first when the schema must survive a crash.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/env.sh"
LIB=${CASSANDRA_LIB_DIR:-$PALOMAR_CACHE/cassandra/lib}
RUN=${CASSANDRA_RUN_DIR:-$PALOMAR_CACHE/cassandra/run}
CQL_PORT=${CASSANDRA_CQL_PORT:-9042}
STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
HEAP=${CASSANDRA_HEAP:-1G}
ADDRESS=${CASSANDRA_ADDRESS:-127.0.0.1}
SEEDS=${CASSANDRA_SEEDS:-$ADDRESS:$STORAGE_PORT}
TOKEN=${CASSANDRA_INITIAL_TOKEN:-0}
DC=${CASSANDRA_DC:-}
JAVA=${CASSANDRA_JAVA_HOME:-$JAVA17_HOME}/bin/java

install() {
  [ -n "$(ls "$LIB"/cassandra-all-*.jar 2>/dev/null)" ] && return 0
  # Maven logs a harmless [ERROR] about ${jmc5.path}; the exit code is what counts.
  mvn -B -q -f "$HERE/pom.xml" package -Dcassandra.lib.dir="$LIB"
}

wait_ready() {
  local deadline=$((SECONDS + ${1:-180})) pid hdr
  pid=$(cat "$RUN/cassandra.pid")
  while (( SECONDS < deadline )); do
    kill -0 "$pid" 2>/dev/null || { echo "cassandra exited" >&2; tail -n 80 "$RUN/logs/stdout.log" >&2; return 1; }
    if grep -q 'Startup complete' "$RUN/logs/system.log" 2>/dev/null; then
      hdr=$( { exec 3<>"/dev/tcp/$ADDRESS/$CQL_PORT" && printf '\x04\x00\x00\x00\x05\x00\x00\x00\x00' >&3 &&
               timeout 2 head -c 5 <&3 | od -An -tx1 | tr -d ' \n'; } 2>/dev/null ) || true
      [[ $hdr == 8400000006 ]] && return 0
    fi
    sleep 1
  done
  echo "cassandra not ready after ${1:-180} s" >&2; tail -n 80 "$RUN/logs/system.log" >&2; return 1
}

start() {
  "$JAVA" -version 2>&1 | grep -q 'version "17' || { echo "need Java 17 at $JAVA" >&2; exit 1; }
  install
  port_free
  rm -rf "$RUN"; mkdir -p "$RUN"/{conf,data,commitlog,hints,saved_caches,cdc_raw,logs}
  local snitch=SimpleSnitch hints=false
  if [ -n "$DC" ]; then
    snitch=GossipingPropertyFileSnitch hints=true
    printf 'dc=%s\nrack=rack1\nprefer_local=true\n' "$DC" >"$RUN/conf/cassandra-rackdc.properties"
  fi
  cat >"$RUN/conf/cassandra.yaml" <<EOF
cluster_name: palomar-test
num_tokens: 1
initial_token: "${TOKEN}"
auto_bootstrap: false
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: ${snitch}
dynamic_snitch: false
commitlog_sync: periodic
commitlog_sync_period: 10000ms
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${SEEDS}"
listen_address: ${ADDRESS}
rpc_address: ${ADDRESS}
storage_port: ${STORAGE_PORT}
start_native_transport: true
native_transport_port: ${CQL_PORT}
data_file_directories:
  - ${RUN}/data
commitlog_directory: ${RUN}/commitlog
hints_directory: ${RUN}/hints
saved_caches_directory: ${RUN}/saved_caches
cdc_raw_directory: ${RUN}/cdc_raw
cdc_enabled: false
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer
auto_snapshot: false
snapshot_before_compaction: false
incremental_backups: false
hinted_handoff_enabled: ${hints}
max_hint_window: 3h
crypto_provider:
  - class_name: org.apache.cassandra.security.JREProvider
storage_compatibility_mode: NONE
concurrent_compactors: 1
compaction_throughput: 0MiB/s
EOF
  cat >"$RUN/conf/logback.xml" <<'EOF'
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
  launch
}

port_free() {
  if (exec 3<>"/dev/tcp/$ADDRESS/$CQL_PORT") 2>/dev/null; then echo "port $ADDRESS:$CQL_PORT busy: another node is running" >&2; exit 1; fi
}

# Starts the node on the configuration and data in $RUN and waits until it answers CQL.
launch() {
  local jamm; jamm=$(ls "$LIB"/jamm-*.jar | head -n1)
  local opts=(
    -Xms"$HEAP" -Xmx"$HEAP" -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:G1HeapRegionSize=16m
    -XX:G1RSetUpdatingPauseTimePercent=5 -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
    -XX:+UseThreadPriorities -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
    -ea -da:net.openhft...
    -Djava.net.preferIPv4Stack=true
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    -Dchronicle.analytics.disable=true
    -javaagent:"$jamm"
    -Dcassandra.config=file://"$RUN"/conf/cassandra.yaml
    -Dcassandra.storagedir="$RUN"
    -Dcassandra.logdir="$RUN"/logs
    -Dlogback.configurationFile="$RUN"/conf/logback.xml
    -Dcassandra-foreground=yes
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.ring_delay_ms=1000
    -Dcassandra.load_ring_state=false
    -Dcassandra.shutdown_announce_in_ms=0
    -Dcassandra.superuser_setup_delay_ms=1000
    -Dcassandra.skip_sync=true
    -Dcassandra.unsafesystem=true
    -Dcassandra.test.flush_local_schema_changes=false
    -Dcassandra.libjemalloc=-
  )
  MALLOC_ARENA_MAX=4 nohup "$JAVA" "${opts[@]}" -cp "$RUN/conf:$LIB/*" \
      org.apache.cassandra.service.CassandraDaemon >"$RUN/logs/stdout.log" 2>&1 &
  echo $! >"$RUN/cassandra.pid"
  wait_ready 180
  echo "cassandra ready on $ADDRESS:$CQL_PORT${DC:+ in $DC} (pid $(cat "$RUN/cassandra.pid"))"
}

# Starts a node that was stopped or killed again on its data (its commit log is replayed).
resume() {
  [ -f "$RUN/conf/cassandra.yaml" ] || { echo "no node to resume in $RUN: use start" >&2; exit 1; }
  local pid; pid=$(cat "$RUN/cassandra.pid" 2>/dev/null) || true
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "cassandra still runs (pid $pid)" >&2; exit 1; fi
  port_free
  # wait_ready looks for this start's 'Startup complete', not the last one's.
  [ -f "$RUN/logs/system.log" ] && mv "$RUN/logs/system.log" "$RUN/logs/system.log.$(date +%s)"
  launch
}

# A crash: SIGKILL, no drain, no flush; returns once the process is gone.
crash() {
  local pid; pid=$(cat "$RUN/cassandra.pid" 2>/dev/null) || return 0
  kill -KILL "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  echo "cassandra (pid $pid) survived SIGKILL for 30 s" >&2; return 1
}

stop() {
  local pid; pid=$(cat "$RUN/cassandra.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) crash ;;
  resume) resume ;;
  install) install ;;
  *) echo "usage: $0 start|stop|kill|resume|install" >&2; exit 2 ;;
esac
