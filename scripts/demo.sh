#!/usr/bin/env bash
# README command 1: builds and runs the demo (embedded store, sample cluster, demo operator).
# Installs the build tools it needs (wasm target, wasm-bindgen) on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
bash scripts/build.sh
export LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site"
exec "$CARGO_TARGET_DIR/debug/palomar" demo
