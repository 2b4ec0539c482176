#!/usr/bin/env bash
# Builds the Debian package with cargo deb (server/Cargo.toml, [package.metadata.deb]) and prints
# its path. docs/install.md says what it installs.
#   scripts/package.sh                     the release package: an optimised build, then cargo deb
#   scripts/package.sh --profile deb-test  the test build packaged as it is (scripts/test/package.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."

profile=release
if [ "${1:-}" = --profile ]; then profile=${2:?--profile needs a name}; fi
case $profile in
  release) bash scripts/build.sh --release >&2 ;;
  deb-test)
    [ -x "$CARGO_TARGET_DIR/debug/palomar" ] && [ -d "$CARGO_TARGET_DIR/site/pkg" ] || bash scripts/build.sh >&2
    mkdir -p "$CARGO_TARGET_DIR/deb-test"
    cp "$CARGO_TARGET_DIR/debug/palomar" "$CARGO_TARGET_DIR/deb-test/palomar" ;;
  *) echo "package.sh: profile $profile: release or deb-test" >&2; exit 2 ;;
esac
# cargo-deb takes the site from the profile's output directory (its `target/release/`).
rm -rf "$CARGO_TARGET_DIR/$profile/site"
cp -r "$CARGO_TARGET_DIR/site" "$CARGO_TARGET_DIR/$profile/site"
out="$CARGO_TARGET_DIR/debian"
mkdir -p "$out"
bash scripts/install-cargo-deb.sh >&2
cargo deb -p server --no-build --profile "$profile" --fast --output "$out/" >&2
ls -t "$out"/palomar_*.deb | head -n1
