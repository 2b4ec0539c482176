# Shared locations for every script: build output and tools live outside the clone so that
# CI (a fresh clone) rebuilds incrementally and never re-installs what is already there.
export PALOMAR_CACHE="${PALOMAR_CACHE:-$HOME/.cache/palomar}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PALOMAR_CACHE/target}"
export PALOMAR_TOOLS="$PALOMAR_CACHE/tools"
export PATH="$PALOMAR_TOOLS/bin:$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_VERSION="0.2.130"
export JAVA17_HOME="/usr/lib/jvm/java-17-openjdk-amd64"
# Progress lines for the long scripts, with the seconds since the script started.
began=$SECONDS
step() { echo; echo "== $* ($((SECONDS - began)) s)"; }
