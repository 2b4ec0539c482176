#!/usr/bin/env bash
# Stage package: the Debian package as an operator installs it. Builds it (scripts/package.sh
# --profile deb-test: the test build's binary and site, packaged by cargo deb with the shipped
# metadata), then, in a fresh copy of a minimal bookworm root and of a minimal trixie root
# (scripts/debian-root.sh): dpkg -i; what it installed, where, with which owner and mode; the
# palomar system user; `palomar --version`; `systemd-analyze verify` of the installed unit, by the
# root's own systemd;
# `palomar config` as the service runs it (as palomar, with the shipped env file, filled with the
# tests' Cassandra and Redis); `palomar serve` the same way, from the installed paths: /healthz,
# the login page's assets, and an operator's login; dpkg --purge. Needs Redis, Cassandra and a
# build (scripts/test.sh starts them). The last line counts the checks that passed.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$here_services/../.."
. scripts/debian-root.sh

PACKAGE_PORT=${PALOMAR_TEST_PACKAGE_PORT:-3330}
root="" server_pid="" passed=0 suite=""

cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -z "$root" ] || umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT

fail() { echo "package ($suite): FAILED: $*" >&2; exit 1; }
ok() { echo "package ($suite): $*"; passed=$((passed + 1)); }
# Runs a command in the root as the service does: as palomar, with the env file's settings.
# exec_as_service replaces the calling shell (every step execs the next), so in a background
# subshell its $! is the server's own pid; as_service runs it and waits.
as_service() { exec_as_service "$@" & wait $!; }
exec_as_service() { exec chroot "$root" setpriv --reuid=palomar --regid=palomar --init-groups /bin/sh -c \
  'set -a; . /etc/palomar/palomar.env; set +a; exec "$@"' sh "$@"; }

deb=$(bash scripts/package.sh --profile deb-test)
echo "package: built $deb ($(du -h "$deb" | cut -f1))"

for suite in bookworm trixie; do
  started=$SECONDS
  # systemd, as on any Debian server: systemd-analyze verify needs its units in the root.
  pristine=$(package_root "$suite")
  root="$run/package-$suite"
  rm -rf "$root"
  cp -a "$pristine" "$root"
  mount -t proc proc "$root/proc"
  cp "$deb" "$root/tmp/palomar.deb"

  chroot "$root" dpkg -i /tmp/palomar.deb >"$run/package-$suite-dpkg.log" 2>&1 || { cat "$run/package-$suite-dpkg.log"; fail "dpkg -i"; }
  for path in usr/bin/palomar usr/share/palomar/site/pkg/palomar.js usr/share/palomar/site/pkg/palomar_bg.wasm \
    usr/share/palomar/dovecot/palomar-route.lua usr/share/palomar/dovecot/2.3/proxy.conf usr/share/palomar/dovecot/2.4/proxy.conf \
    usr/share/palomar/prometheus/alerts.yml usr/share/palomar/prometheus/rules.yml usr/share/palomar/grafana/palomar.json \
    lib/systemd/system/palomar.service etc/palomar/palomar.env; do
    [ -e "$root/$path" ] || fail "/$path is not installed"
  done
  grep -qx /etc/palomar/palomar.env "$root/var/lib/dpkg/info/palomar.conffiles" || fail "palomar.env is not a conffile"
  [ "$(chroot "$root" stat -c '%U:%G %a' /etc/palomar/palomar.env)" = "root:palomar 640" ] || fail "palomar.env is not root:palomar 0640"
  chroot "$root" getent passwd palomar | grep -q ':/usr/sbin/nologin$' || fail "no palomar system user"
  ok "dpkg -i installed the files, the conffile (root:palomar 0640) and the palomar system user"

  version=$(chroot "$root" palomar --version) || fail "palomar --version"
  [ "$version" = "palomar $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)" ] || fail "palomar --version said $version"
  ok "palomar --version: $version"

  # The root's own systemd judges the unit: the release the package is installed on.
  verify=$(chroot "$root" systemd-analyze verify /lib/systemd/system/palomar.service 2>&1) || { echo "$verify"; fail "systemd-analyze verify"; }
  [ -z "$verify" ] || { echo "$verify"; fail "systemd-analyze verify printed warnings"; }
  for directive in "EnvironmentFile=/etc/palomar/palomar.env" "ExecStartPre=/usr/bin/palomar config" "Restart=on-failure" \
    "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "CapabilityBoundingSet=" "MemoryMax="; do
    grep -q "^$directive" "$root/lib/systemd/system/palomar.service" || fail "the unit lacks $directive"
  done
  ok "systemd-analyze verify passes on the installed unit, which is hardened"

  # The operator's edits: the tests' Cassandra (a keyspace per root) and Redis.
  cat >>"$root/etc/palomar/palomar.env" <<ENV
CASSANDRA_SERVERS=127.0.0.1
CASSANDRA_PORT=$CQL_PORT
CASSANDRA_LOCAL_DC=datacenter1
CASSANDRA_KEYSPACE=d8s_package_$suite
CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/6
CONTROLLER_API_URL=http://127.0.0.1:$PACKAGE_PORT
CLUSTER_SITE=dc1pkg
BACKEND_HOST_CHECK=syntax
SESSION_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
ENV
  as_service palomar config >"$run/package-$suite-config.log" 2>&1 || { cat "$run/package-$suite-config.log"; fail "palomar config"; }
  grep -q "^CASSANDRA_PORT=$CQL_PORT " "$run/package-$suite-config.log" || fail "palomar config did not read the env file"
  grep -q "^LEPTOS_SITE_ROOT=/usr/share/palomar/site " "$run/package-$suite-config.log" || fail "the site root is not the installed one"
  ok "palomar config, as the service runs it, reads the shipped env file"

  password=$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')
  PALOMAR_OPERATOR_PASSWORD=$password as_service palomar operator add --role admin pkg-admin >/dev/null 2>&1 ||
    PALOMAR_OPERATOR_PASSWORD=$password as_service palomar operator reset-password pkg-admin >/dev/null
  (exec_as_service palomar serve) >"$run/package-$suite-serve.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$PACKAGE_PORT"
  for _ in $(seq 90); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { tail -n 30 "$run/package-$suite-serve.log"; fail "palomar serve exited"; }
    sleep 1
  done
  curl -fs "$base/healthz" >/dev/null || { tail -n 30 "$run/package-$suite-serve.log"; fail "no /healthz"; }
  curl -fs -o /dev/null "$base/pkg/palomar.css" || fail "the installed site's assets are not served"
  answer=$(curl -s -D - -o /dev/null -H "Origin: $base" -H 'Accept: application/json' \
    --data-urlencode username=pkg-admin --data-urlencode "password=$password" --data-urlencode next=/ "$base/api/auth/login")
  echo "$answer" | head -n1 | grep -q ' 200' || { echo "$answer"; fail "the operator's login was refused"; }
  echo "$answer" | grep -qi '^set-cookie:' || { echo "$answer"; fail "the login set no session cookie"; }
  ok "palomar serve, as the service runs it, answers /healthz, serves the installed site and logs an operator in"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

  chroot "$root" dpkg --purge palomar >"$run/package-$suite-purge.log" 2>&1 || { cat "$run/package-$suite-purge.log"; fail "dpkg --purge"; }
  [ ! -e "$root/etc/palomar/palomar.env" ] && ! chroot "$root" getent passwd palomar >/dev/null || fail "purge left the settings or the user"
  ok "dpkg --purge removes the files, the settings and the user"
  umount "$root/proc"
  rm -rf "$root"
  root=""
  echo "package ($suite): $((SECONDS - started)) s"
done
echo "package: $passed passed"
