#!/usr/bin/env bash
# Installs the build tools the product needs, only when they are missing: the wasm target and
# the wasm-bindgen CLI matching Cargo.lock (cargo-deb, for the Debian package, comes with
# scripts/install-cargo-deb.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"

rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  echo "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  # The published lockfile pins a webpki-roots the registry no longer serves: fetch the source,
  # move that one crate back a patch version, and install from the unpacked source.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --root "$PALOMAR_TOOLS" >/dev/null 2>&1 || true
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    src=$(ls -d "$HOME"/.cargo/registry/src/*/wasm-bindgen-cli-"$WASM_BINDGEN_VERSION" | head -n1)
    work="$(mktemp -d)"
    cp -r "$src" "$work/wb"
    (cd "$work/wb" && cargo update -p webpki-roots --precise 1.0.10 && \
      CARGO_TARGET_DIR="$work/target" cargo install --path . --locked --root "$PALOMAR_TOOLS")
    rm -rf "$work"
  fi
fi
wasm-bindgen --version

