#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those that are missing:
# Redis, Prometheus, Chromium (for Playwright), Java 17 and Maven (for Cassandra), Node.js and npm, curl,
# jq (the fault tests read the server's JSON answers), Dovecot CE 2.3 with its Lua passdb (the CE
# end-to-end and fidelity tests), Python 3 (the CE test's mail clients), wrk (the benchmarks'
# load generator), debootstrap (a trixie root with Dovecot CE 2.4; bookworm and trixie roots for
# the package test, with systemd, whose systemd-analyze verifies the packaged unit) and dpkg-dev
# (cargo deb reads the binary's library needs with dpkg-shlibdeps).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v prometheus >/dev/null || missing+=(prometheus)
[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ] || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
command -v python3 >/dev/null || missing+=(python3)
# wrk: the HTTP load generator of scripts/bench.sh.
command -v wrk >/dev/null || missing+=(wrk)
# debootstrap: the trixie root with Dovecot CE 2.4 (scripts/debian-root.sh).
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
# Debian's packages start no daemon here (no init system); the tests run their own instances.
for pkg in dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-submissiond dovecot-auth-lua; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
