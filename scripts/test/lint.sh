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
# shellcheck disable=SC2086 # SERVER_CRATES is a list of flags
cargo clippy $SERVER_CRATES --all-targets -- -D warnings
# The domain builds on its own, and the layers below the UI use no web framework, async runtime
# or store driver: the crates' dependencies are the layering.
cargo clippy -p domain --all-targets -- -D warnings
forbidden() { cargo tree -p "$1" -e normal --prefix none | awk '{print $1}' | grep -xE "$2" | sort -u || true; }
found=$(forbidden domain 'leptos.*|tokio|scylla|redis|axum|reqwest|async-trait|futures')
[ -z "$found" ] || { echo "the domain crate depends on: $found" >&2; exit 1; }
found=$(forbidden palomar-core 'leptos.*|scylla|redis|axum|reqwest|tower-sessions|charts-rs')
[ -z "$found" ] || { echo "the core crate depends on: $found" >&2; exit 1; }
cargo clippy -p frontend --lib --target wasm32-unknown-unknown -- -D warnings
# One check per value: the load factor's range lives in the domain's LoadFactor only, a
# force-move's percent in force_move::check_percent only (tests may assert them).
ranges=$(grep -rnE '(^|[^.0-9])0\.\.=100($|[^.0-9])|<= ?100($|[^.0-9])' app server frontend --include='*.rs' --exclude-dir=tests |
  grep -v -e '^app/domain/src/values.rs:' -e '^app/domain/src/force_move/state.rs:' || true)
[ -z "$ranges" ] || { echo "a 0 to 100 range outside LoadFactor and check_percent (use them): $ranges" >&2; exit 1; }
# Every code name the docs quote exists in the code.
python3 scripts/check-doc-names.py ARCHITECTURE.md README.md docs/*.md
