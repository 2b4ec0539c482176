# Shared locations for every script: build output and tools live outside the clone so that
# CI (a fresh clone) rebuilds incrementally and never re-installs what is already there.
export PALOMAR_CACHE="${PALOMAR_CACHE:-$HOME/.cache/palomar}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PALOMAR_CACHE/target}"
export PALOMAR_TOOLS="$PALOMAR_CACHE/tools"
export PATH="$PALOMAR_TOOLS/bin:$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_VERSION="0.2.130"
export CARGO_DEB_VERSION="3.8.0"
# The server's crates, each a layer (ARCHITECTURE.md). Named one by one, not --workspace: that
# would unify the browser crate's `hydrate` feature into the server build.
export SERVER_CRATES="-p domain -p palomar-core -p app -p palomar-sim -p server"
export JAVA17_HOME="/usr/lib/jvm/java-17-openjdk-amd64"
# Progress lines for the long scripts: each step's name with the seconds since the script
# started, and how long the step before it took.
began=$SECONDS
step_began=$SECONDS
step_name=""
step() {
  local now=$SECONDS
  [ -n "$step_name" ] && echo "-- took $((now - step_began)) s: $step_name"
  step_name="$*"
  step_began=$now
  echo; echo "== $* ($((now - began)) s)"
}
# until_ok LIMIT WHAT COMMAND…: runs COMMAND every second until it succeeds, for at most LIMIT
# seconds; then calls the sourcing script's `fail` with WHAT (each script says how it fails).
until_ok() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what: not within $limit s"
    sleep 1
  done
}
