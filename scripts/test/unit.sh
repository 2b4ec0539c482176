#!/usr/bin/env bash
# Stage unit: the Rust unit tests, in the crates' own sources (the domain, the planners, the
# services, the adapters' parsing). Needs nothing started.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
# Not --workspace: that would unify the browser crate's `hydrate` feature into the server build.
cargo test -p app -p server --lib --bins 2>&1 | tee "$run/unit.log"
