#!/usr/bin/env bash
# Builds the product as cargo-leptos would: the hydration bundle (wasm + JS) with
# wasm-bindgen, the stylesheet, the public assets and the server binary.
#   scripts/build.sh            debug build (what the demo and the tests use)
#   scripts/build.sh --release  size-optimised wasm and an optimised server
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
bash scripts/install-tools.sh >/dev/null

if [ "${1:-}" = "--release" ]; then
  wasm_profile=wasm-release; wasm_dir=wasm-release; server_flags=(--release)
else
  wasm_profile=dev; wasm_dir=debug; server_flags=()
fi
site="$CARGO_TARGET_DIR/site"
mkdir -p "$site/pkg"

cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name palomar \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
cp style/main.css "$site/pkg/palomar.css"
cp -r public/. "$site/"
cargo build -p server "${server_flags[@]}"
echo "built: $CARGO_TARGET_DIR/$([ -n "${server_flags[*]:-}" ] && echo release || echo debug)/palomar, site in $site"
