#!/usr/bin/env bash
# Installs cargo-deb (the Debian package's builder, scripts/package.sh) when it is missing.
# scripts/test.sh starts it in the background at the beginning of a run that packages; the
# lock makes a second caller wait for the first rather than build it twice.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
mkdir -p "$PALOMAR_TOOLS"
(
  flock 9
  if [ "$(cargo deb --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DEB_VERSION" ]; then
    echo "installing cargo-deb $CARGO_DEB_VERSION (about a minute)"
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --root "$PALOMAR_TOOLS" >/dev/null
  fi
  cargo deb --version
) 9>"$PALOMAR_TOOLS/cargo-deb.lock"
