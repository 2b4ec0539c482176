#!/usr/bin/env bash
# Stage load: 32 clients (4 operators, 4 viewers) browse and post for 30 s against the e2e server
# while its controller runs (server/tests/it/load.rs); no request may fail with a 5xx and the server
# must not panic or die. Needs the e2e server (scripts/test.sh starts it).
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
. "$run/e2e.env"
password="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
accounts=""
for role in operator viewer; do
  for i in 1 2 3 4; do
    # An account kept from an earlier run gets the new password.
    PALOMAR_OPERATOR_PASSWORD="$password" "$palomar" operator add --role "$role" "load-$role-$i" >/dev/null 2>&1 ||
      PALOMAR_OPERATOR_PASSWORD="$password" "$palomar" operator reset-password "load-$role-$i" >/dev/null
    accounts="$accounts${accounts:+,}load-$role-$i"
  done
done
# The test binary (built here if the conformance stage did not build it already).
tests=$(cargo test -p server --test it --no-run --message-format=json 2>/dev/null |
  jq -r 'select(.reason == "compiler-artifact" and .target.name == "it" and .profile.test) | .executable')
[ -x "$tests" ] || { echo "the integration test binary was not found (server/tests/it)" >&2; exit 1; }
PALOMAR_LOAD_URL="http://127.0.0.1:$E2E_PORT" PALOMAR_LOAD_ACCOUNTS="$accounts:$password" \
  "$tests" --ignored --nocapture load:: 2>&1 | tee "$run/load.log"
grep -q '^test result: ok\. 1 passed' "$run/load.log"
if grep -n panicked "$run/server.log"; then echo "the server panicked (above, from $run/server.log)" >&2; exit 1; fi
kill -0 "$(cat "$run/server.pid")" || { echo "the server died under load" >&2; exit 1; }
