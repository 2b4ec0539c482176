# A minimal Debian trixie root with Dovecot CE 2.4 (Debian's packages, by debootstrap), for the
# tests that compare the controller with the 2.4 line. Source it, then:
#   root=$(dovecot24_root)    # builds it once under $PALOMAR_CACHE/dovecot24-root, then reuses it
# Run Dovecot in it with `chroot "$root" dovecot -c <config inside the root>`: a chroot shares the
# host's loopback, so its listeners are reached at 127.0.0.1. Needs root and debootstrap.

DOVECOT24_PACKAGES=dovecot-core,dovecot-imapd,dovecot-pop3d,dovecot-lmtpd,dovecot-submissiond,dovecot-auth-lua

# debootstrap writes no /etc/hosts: without one, `localhost` does not resolve in the root. It
# names 127.0.0.1 only, as on the host, so that a proxy to localhost reaches IPv4 listeners.
_dovecot24_hosts() {
  [ -s "$1/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n' >"$1/etc/hosts"
}

dovecot24_root() {
  local root="${PALOMAR_CACHE:-$HOME/.cache/palomar}/dovecot24-root"
  local stamp="$root.done"
  # The stamp names what the root holds: another package list builds it anew.
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$DOVECOT24_PACKAGES" ] && [ -x "$root/usr/sbin/dovecot" ]; then
    _dovecot24_hosts "$root"
    echo "$root"
    return 0
  fi
  command -v debootstrap >/dev/null || { echo "dovecot24: debootstrap is not installed" >&2; return 1; }
  rm -rf "$root" "$stamp"
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase --include="$DOVECOT24_PACKAGES" trixie "$root" http://deb.debian.org/debian \
    >"$root.log" 2>&1 || { echo "dovecot24: debootstrap failed, see $root.log" >&2; tail -n 20 "$root.log" >&2; return 1; }
  # Debian's packages start no daemon here: the tests run their own instances.
  _dovecot24_hosts "$root"
  echo "$DOVECOT24_PACKAGES" >"$stamp"
  echo "$root"
}
