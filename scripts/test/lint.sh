#!/usr/bin/env bash
# Stage lint: every script runs as written, formatting, and clippy with warnings as errors on the
# server and on the wasm build. Needs nothing started.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
# A script the docs tell a reader to run must not answer "Permission denied": git records each
# one executable.
not_executable=$(git ls-files -s -- 'scripts/*.sh' 'tools/*.sh' '.ci/*' | awk '$1 != "100755" {print $4}')
[ -z "$not_executable" ] || { echo "not executable (git update-index --chmod=+x): $not_executable" >&2; exit 1; }
cargo fmt --all --check
cargo clippy -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --lib --target wasm32-unknown-unknown -- -D warnings
# One check per value: the load factor's range lives in the domain's LoadFactor only.
ranges=$(grep -rnE '(^|[^.0-9])0\.\.=100($|[^.0-9])|<= ?100($|[^.0-9])' app/src server/src frontend/src --include='*.rs' |
  grep -v '^app/src/domain/values.rs:' || true)
[ -z "$ranges" ] || { echo "a load factor range outside app/src/domain/values.rs (use LoadFactor): $ranges" >&2; exit 1; }
