#!/usr/bin/env bash
# Stage conformance: the Rust integration tests (server/tests/it): every adapter's conformance suite
# on the embedded store and on Cassandra, Redis, the web layer, the simulator, the controller's
# scenarios, the metrics pipeline on a real Prometheus and the simulator against a real Dovecot
# CE (needs root). Needs Redis and Cassandra (scripts/test.sh starts them); a test whose service
# is missing fails (PALOMAR_TEST_REQUIRE=all), it does not skip.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
export PALOMAR_TEST_CASSANDRA="127.0.0.1:$CQL_PORT" PALOMAR_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
export PALOMAR_TEST_PROMETHEUS="$(command -v prometheus)" PALOMAR_TEST_DOVECOT=/usr/sbin/dovecot
# One binary (server/tests/it), its modules by area.
cargo test -p server --test it 2>&1 | tee "$run/conformance.log"
