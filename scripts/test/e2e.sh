#!/usr/bin/env bash
# Stage e2e: Playwright in Debian's Chromium, with and without JavaScript, against the e2e server
# (on Cassandra and Redis, a simulated site behind it); then the demo's pages: the overview, a
# dashboard and charts of its simulated traffic. Needs the e2e server and the demo
# (scripts/test.sh starts them: services.sh e2e_start).
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
. "$run/e2e.env"
(cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
(cd end2end && PALOMAR_E2E_URL="http://127.0.0.1:$E2E_PORT" PALOMAR_E2E_USER=e2e-admin \
  PALOMAR_E2E_SIM_CONTROL="http://127.0.0.1:$SIM_PORT" \
  PALOMAR_E2E_PASSWORD="$E2E_PASSWORD" npx playwright test 2>&1) | tee "$run/playwright.log"

demo_password=$(sed -n 's/^Open .* and log in as  demo \/ //p' "$run/demo.log")
[ -n "$demo_password" ] || { cat "$run/demo.log" >&2; echo "the demo printed no password" >&2; exit 1; }
(cd end2end && PALOMAR_DEMO_URL="http://127.0.0.1:$DEMO_PORT" PALOMAR_DEMO_PASSWORD="$demo_password" \
  npx playwright test --config playwright.demo.config.ts 2>&1) | tee "$run/playwright-demo.log"
stop_pid_file "$run/demo.pid"
