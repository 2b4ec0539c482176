#!/usr/bin/env bash
# Stage unit: the Rust unit tests, in the crates' own sources (the domain, the planners, the
# services, the adapters' parsing). Needs nothing started.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
# shellcheck disable=SC2086 # SERVER_CRATES is a list of flags
cargo test $SERVER_CRATES --lib --bins 2>&1 | tee "$run/unit.log"
