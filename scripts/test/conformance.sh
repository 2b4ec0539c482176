#!/usr/bin/env bash
# Stage conformance: the Rust integration tests (server/tests/it): every adapter's conformance suite
# on the embedded store and on Cassandra, Redis, the web layer, the simulator, the controller's
# scenarios, the metrics pipeline on a real Prometheus and the simulator against a real Dovecot
# CE 2.3, and the controller's doveadm requests against Dovecot CE 2.4 in a trixie root (needs
# root; the root is built once, scripts/debian-root.sh). Needs Redis and Cassandra (scripts/test.sh starts them); a test whose service
# is missing fails (PALOMAR_TEST_REQUIRE=all), it does not skip.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
export PALOMAR_TEST_CASSANDRA="127.0.0.1:$CQL_PORT" PALOMAR_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
export PALOMAR_TEST_PROMETHEUS="$(command -v prometheus)" PALOMAR_TEST_DOVECOT=/usr/sbin/dovecot
. scripts/debian-root.sh
PALOMAR_TEST_DOVECOT24_ROOT="$(dovecot24_root)"
export PALOMAR_TEST_DOVECOT24_ROOT
# One binary (server/tests/it), its modules by area. Most tests wait on a service or a pass
# rather than compute, so four threads on 2 cores take a third less time than two.
cargo test -p server --test it -- --test-threads=4 2>&1 | tee "$run/conformance.log"
