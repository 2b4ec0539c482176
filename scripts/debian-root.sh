# Minimal Debian roots built by debootstrap from Debian's packages (--variant=minbase), cached
# under $PALOMAR_CACHE and reused: a trixie root with Dovecot CE 2.4 for the tests that compare
# the controller with the 2.4 line, and plain bookworm and trixie roots that the package test
# copies and installs the package into. Source it, then:
#   root=$(dovecot24_root)              # $PALOMAR_CACHE/dovecot24-root
#   root=$(debian_root NAME SUITE [PACKAGES])   # $PALOMAR_CACHE/NAME, PACKAGES comma-separated
# Run programs in a root with `chroot "$root" …`: a chroot shares the host's loopback, so its
# listeners are reached at 127.0.0.1. Needs root and debootstrap.

DOVECOT24_PACKAGES=dovecot-core,dovecot-imapd,dovecot-pop3d,dovecot-lmtpd,dovecot-submissiond,dovecot-auth-lua

# debootstrap writes no /etc/hosts: without one, `localhost` does not resolve in the root. It
# names 127.0.0.1 only, as on the host, so that a proxy to localhost reaches IPv4 listeners.
_debian_root_hosts() {
  [ -s "$1/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n' >"$1/etc/hosts"
}

debian_root() { # <name> <suite> [packages]
  local root="${PALOMAR_CACHE:-$HOME/.cache/palomar}/$1" suite=$2 packages=${3:-}
  local stamp="$root.done" wanted="$suite $packages"
  mkdir -p "$(dirname "$root")"
  # One builder at a time: scripts/test.sh builds the roots in the background while it
  # compiles, and a stage that needs a root waits here until it is done.
  (
    flock 9
    # The stamp names what the root holds: another suite or package list builds it anew.
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x "$root/bin/sh" ]; then
      _debian_root_hosts "$root"
      echo "$root"
      exit 0
    fi
    command -v debootstrap >/dev/null || { echo "debian-root: debootstrap is not installed" >&2; exit 1; }
    # A debootstrap that was stopped midway leaves the root's /proc (or more) mounted: unmount
    # whatever is mounted below the root before removing it.
    awk -v root="$root/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r | while read -r mounted; do
      umount "$mounted" 2>/dev/null || umount -l "$mounted"
    done
    rm -rf "$root" "$stamp"
    debootstrap --variant=minbase ${packages:+--include="$packages"} "$suite" "$root" http://deb.debian.org/debian \
      >"$root.log" 2>&1 || { echo "debian-root: debootstrap of $suite failed, see $root.log" >&2; tail -n 20 "$root.log" >&2; exit 1; }
    # Debian's packages start no daemon here: the tests run their own.
    _debian_root_hosts "$root"
    echo "$wanted" >"$stamp"
    echo "$root"
  ) 9>"$root.lock"
}

# The package test's pristine roots (scripts/test/package.sh copies them).
package_root() { # <suite>
  debian_root "package-root-$1" "$1" systemd
}

dovecot24_root() {
  debian_root dovecot24-root trixie "$DOVECOT24_PACKAGES"
}
