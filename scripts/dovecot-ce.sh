# Real Dovecot CE on loopback for the tests: two backends sharing one maildir and one proxy that
# routes every user through the controller's route API (deploy/dovecot/<line>/*). Either line:
# CE_LINE=2.3 (the default) runs the host's Dovecot; CE_LINE=2.4 runs the one in CE_ROOT, a
# trixie root from scripts/debian-root.sh, with `chroot` (which shares loopback). Source it:
#   . scripts/dovecot-ce.sh
#   ce_start "$run/ce" "http://127.0.0.1:$E2E_PORT" "$run/route.token"   # returns when all listen
#   export DOVEADM_ENDPOINTS="$(ce_doveadm_endpoints)"   # 127.0.0.2=http://127.0.0.2:18080,...
#   ce_proxy_doveadm_url                                 # http://127.0.0.1:18080 (the controller's)
#   ce_write_file_sd "$run/targets.json" dc1a            # Prometheus file_sd for the proxy's /metrics
#   ce_stop_backend 1; ce_start_backend 1; ce_wait_ready; ce_stop_all   (ce_stop_all in the EXIT trap)
#   ce_set_password_check proxy        # restarts the proxy with password-check-proxy.conf (or backend)
# Backend 1 listens on 127.0.0.2, backend 2 on 127.0.0.3, the proxy on 127.0.0.1, with the same
# ports on each (CE_*_PORT below); a discarding SMTP sink on 127.0.0.1:$CE_RELAY_PORT is the
# backends' Submission relay. Every user's password is CE_USER_PASSWORD, except that users named
# unknown-* do not exist on the backends, and backend 1 refers users named referral-* to backend 2.
# CE_PASSWORD_CHECK says who checks passwords: backend (the default:
# deploy/dovecot/<line>/password-check-backend.conf) or proxy (password-check-proxy.conf, with the
# backends' test passdb on the proxy too). Pid files go to <run_dir>; the configs, the logs and what
# Dovecot's unprivileged processes must reach (sockets, the Lua script, its settings, and the mail
# when the mail user cannot reach <run_dir>, e.g. under /root) to the runtime dir
# /run/palomar-ce/<cksum of line and run_dir> (on 2.4 inside CE_ROOT), which stays after a stop
# (the mail survives a restart); <run_dir> holds links to the configs, the logs and the mail. Needs root and Debian's dovecot-core,
# -imapd, -pop3d, -lmtpd, -submissiond, -auth-lua (2.3.19 on the host; 2.4 in the root). Safe
# under `set -euo pipefail`: every function reports its own failure and returns non-zero.

: "${CE_IMAP_PORT:=10143}"
: "${CE_POP3_PORT:=10110}"
: "${CE_LMTP_PORT:=10024}"
: "${CE_SUBMISSION_PORT:=10587}"
: "${CE_DOVEADM_PORT:=18080}"
: "${CE_STATS_PORT:=19900}"
: "${CE_RELAY_PORT:=10025}"
: "${CE_USER_PASSWORD:=palomar-ce-user}"    # every user's password (the backends' static passdb)
: "${CE_DOVEADM_API_KEY:=palomar-ce-apikey}"
: "${CE_DOVEADM_PASSWORD:=palomar-ce-doveadm}"
: "${CE_MAIL_USER:=mail}"                   # the one unprivileged system user that owns all mail
: "${CE_ROUTE_TIMEOUT_MSECS:=2000}"         # one route API lookup, connect included
: "${CE_AUTH_CACHE_TTL:=30}"                # seconds: the route API's Cache-Control max-age
: "${CE_DEBUG:=}"                           # non-empty: auth_debug and debug logs of auth/lua/lmtp
: "${CE_PASSWORD_CHECK:=backend}"          # who checks passwords: backend or proxy
: "${CE_LINE:=2.3}"                         # the Dovecot CE line: 2.3 (host) or 2.4 (CE_ROOT)
: "${CE_ROOT:=}"                            # 2.4: the trixie root holding Dovecot 2.4
CE_PROXY_IP=127.0.0.1
CE_BACKEND_IPS=(127.0.0.2 127.0.0.3)
CE_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../deploy/dovecot" && pwd)"
CE_RUN_DIR="${CE_RUN_DIR:-}"

_ce_err() { echo "dovecot-ce: $*" >&2; return 1; }

_ce_check_line() {
  case "$CE_LINE" in
    2.3) ;;
    2.4) [ -n "$CE_ROOT" ] && [ -x "$CE_ROOT/usr/sbin/dovecot" ] ||
      { _ce_err "CE_LINE=2.4 needs CE_ROOT, a root with Dovecot 2.4 (scripts/debian-root.sh)"; return 1; } ;;
    *) _ce_err "CE_LINE is $CE_LINE, not 2.3 or 2.4"; return 1 ;;
  esac
}

# Runs a Dovecot program of the line: on 2.4 inside CE_ROOT.
_ce_exec() {
  if [ "$CE_LINE" = 2.4 ]; then chroot "$CE_ROOT" "$@"; else "$@"; fi
}

# A host path as the line's Dovecot sees it: on 2.4 without the CE_ROOT prefix.
_ce_in() {
  if [ "$CE_LINE" = 2.4 ]; then echo "${1#"$CE_ROOT"}"; else echo "$1"; fi
}

# The configs of the instances: _ce_write_conf and the test users' passdbs.
. "$(dirname "${BASH_SOURCE[0]}")/dovecot-ce-conf.sh"

# The runtime dir of CE_RUN_DIR: short (unix socket paths) and traversable by every Dovecot user.
_ce_rt() {
  local key base=/run/palomar-ce
  key=$(printf '%s' "$CE_LINE $CE_RUN_DIR" | cksum | cut -d' ' -f1)
  if [ "$CE_LINE" = 2.4 ]; then base="$CE_ROOT/run/palomar-ce"; fi
  mkdir -p "$base" 2>/dev/null || base=/tmp/palomar-ce
  mkdir -p "$base/$key" && chmod 0755 "$base" "$base/$key" || { _ce_err "cannot create $base/$key"; return 1; }
  printf '%s/%s\n' "$base" "$key"
}

_ce_need_run_dir() {
  [ -n "$CE_RUN_DIR" ] || { _ce_err "no run dir: call ce_start first (or set CE_RUN_DIR)"; return 1; }
}

_ce_ip() { # instance -> IP
  case "$1" in
    proxy) echo "$CE_PROXY_IP" ;;
    backend1) echo "${CE_BACKEND_IPS[0]}" ;;
    backend2) echo "${CE_BACKEND_IPS[1]}" ;;
    *) _ce_err "unknown instance $1"; return 1 ;;
  esac
}

_ce_ports() { echo "$CE_IMAP_PORT $CE_POP3_PORT $CE_LMTP_PORT $CE_SUBMISSION_PORT $CE_DOVEADM_PORT $CE_STATS_PORT"; }

# Does <ip>:<port> accept connections?
_ce_port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

_ce_instance_pid() { # <inst> -> pid of its running master, or nothing (status 1)
  local pid
  pid=$(cat "$CE_RUN_DIR/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Prepares the runtime dir: the line's shipped snippets (file paths /etc/dovecot/palomar/ pointed at
# <rt>/etc, nothing else changed) and Lua script, the doveadm secrets, the route settings, the mail root.
_ce_prepare() { # <route_url> <token_file>
  local route_url=$1 token_file=$2 rt mail_root uid gid f
  rt=$(_ce_rt) || return 1
  [[ "$route_url" =~ ^https?://[^[:space:]]+$ ]] || { _ce_err "route_url $route_url is not an http URL"; return 1; }
  [ -r "$token_file" ] || { _ce_err "token file $token_file is not readable"; return 1; }
  token_file="$(cd "$(dirname "$token_file")" && pwd)/$(basename "$token_file")"
  [[ "$CE_DOVEADM_PASSWORD$CE_DOVEADM_API_KEY$CE_USER_PASSWORD" != *[[:space:]]* ]] ||
    { _ce_err "CE_DOVEADM_PASSWORD, CE_DOVEADM_API_KEY and CE_USER_PASSWORD must not contain spaces"; return 1; }
  uid=$(_ce_exec id -u "$CE_MAIL_USER" 2>/dev/null) && gid=$(_ce_exec id -g "$CE_MAIL_USER") ||
    { _ce_err "no system user $CE_MAIL_USER (set CE_MAIL_USER)"; return 1; }
  [ "$uid" -ne 0 ] || { _ce_err "CE_MAIL_USER must not be root"; return 1; }

  mkdir -p "$rt/etc" && chmod 0755 "$rt/etc" || return 1
  for f in proxy.conf backend.conf password-check-backend.conf password-check-proxy.conf; do
    sed "s#/etc/dovecot/palomar/#$(_ce_in "$rt")/etc/#g" "$CE_DEPLOY_DIR/$CE_LINE/$f" >"$rt/etc/$f" || return 1
  done
  install -m 0644 "$CE_DEPLOY_DIR/palomar-route.lua" "$rt/etc/palomar-route.lua" || return 1
  (umask 077 && printf '%s' "$CE_DOVEADM_PASSWORD" >"$rt/etc/doveadm.password" &&
    printf '%s' "$CE_DOVEADM_API_KEY" >"$rt/etc/doveadm.api_key") || return 1
  # 2.4 sees no file outside its root: the token is copied in (the tests never rotate it).
  if [ "$CE_LINE" = 2.4 ]; then
    install -m 0640 "$token_file" "$rt/etc/route.token" && _ce_exec chgrp dovecot "$(_ce_in "$rt")/etc/route.token" || return 1
    token_file="$rt/etc/route.token"
  fi
  # Read by the auth process (user dovecot) at start; the token by the auth workers per lookup.
  install -m 0640 /dev/null "$rt/etc/palomar-route.conf" || return 1
  _ce_exec chgrp dovecot "$(_ce_in "$rt")/etc/palomar-route.conf" || return 1
  cat >"$rt/etc/palomar-route.conf" <<EOC || return 1
# Generated by scripts/dovecot-ce.sh (ce_start).
route_url = $route_url
token_file = $(_ce_in "$token_file")
imap_port = $CE_IMAP_PORT
pop3_port = $CE_POP3_PORT
lmtp_port = $CE_LMTP_PORT
submission_port = $CE_SUBMISSION_PORT
timeout_msecs = $CE_ROUTE_TIMEOUT_MSECS
EOC

  # One mail tree for both backends (as NFS would be), owned by the mail user: <run_dir>/mail if the
  # mail user can reach it, else <rt>/mail with <run_dir>/mail a symlink to it (always on 2.4,
  # whose Dovecot sees only its root).
  if [ -L "$CE_RUN_DIR/mail" ]; then
    mail_root=$(readlink "$CE_RUN_DIR/mail")
  else
    mail_root="$CE_RUN_DIR/mail"
    mkdir -p "$mail_root" && chown "$uid:$gid" "$mail_root" && chmod 0700 "$mail_root" || return 1
    if [ "$CE_LINE" = 2.4 ] || ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -w "$mail_root" -a -x "$mail_root"; then
      # A fresh <run_dir>: mail left in <rt> by an earlier run with this path is stale.
      rmdir "$mail_root" && mail_root="$rt/mail" && rm -rf "$mail_root" && ln -s "$mail_root" "$CE_RUN_DIR/mail" || return 1
    fi
  fi
  mkdir -p "$mail_root" && chown "$uid:$gid" "$mail_root" && chmod 0700 "$mail_root" || return 1
  echo "$mail_root" >"$rt/mail-root"
}

# A discarding SMTP server (stdlib Python) for the backends' Submission relay; logs envelopes.
_CE_SINK_PY='
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        def w(s):
            self.wfile.write((s + "\r\n").encode()); self.wfile.flush()
        w("220 palomar-ce relay sink ESMTP")
        data = False
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False; w("250 2.0.0 discarded")
                continue
            cmd = line.split(" ", 1)[0].upper()
            if cmd in ("MAIL", "RCPT"):
                print(line, flush=True)
            if cmd == "EHLO":
                w("250-palomar-ce"); w("250-8BITMIME"); w("250-PIPELINING"); w("250 ENHANCEDSTATUSCODES")
            elif cmd == "DATA":
                data = True; w("354 go ahead")
            elif cmd == "QUIT":
                w("221 2.0.0 bye"); return
            else:
                w("250 2.0.0 ok")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'

_ce_start_relay() {
  _ce_instance_pid relay >/dev/null && return 0
  # Started from a subshell, so it is not a job of the caller's shell (a bare `wait` there returns).
  (nohup python3 -c "$_CE_SINK_PY" "$CE_RELAY_PORT" >>"$CE_RUN_DIR/relay.log" 2>&1 </dev/null &
    echo $! >"$CE_RUN_DIR/relay.pid")
  for _ in $(seq 50); do _ce_port_open 127.0.0.1 "$CE_RELAY_PORT" && return 0; sleep 0.1; done
  _ce_err "the relay sink does not listen on 127.0.0.1:$CE_RELAY_PORT (see $CE_RUN_DIR/relay.log)"
}

_ce_stop_relay() {
  local pid
  pid=$(_ce_instance_pid relay) || { rm -f "$CE_RUN_DIR/relay.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$CE_RUN_DIR/relay.pid"
}

# Waits until <inst> listens on all its ports (at most <seconds>).
_ce_wait_instance() { # <inst> <seconds>
  local inst=$1 secs=$2 ip port ok
  ip=$(_ce_ip "$inst") || return 1
  for _ in $(seq $((secs * 5))); do
    ok=1
    for port in $(_ce_ports); do _ce_port_open "$ip" "$port" || { ok=0; break; }; done
    [ "$ok" = 0 ] || return 0
    _ce_instance_pid "$inst" >/dev/null || break
    sleep 0.2
  done
  tail -n 20 "$CE_RUN_DIR/$inst.log" >&2 2>/dev/null || true
  _ce_err "$inst ($ip) does not listen on all of $(_ce_ports)"
}

# Starts <inst> (its config must exist), records its master's pid in <run_dir>/<inst>.pid, waits.
_ce_start_instance() { # <inst>
  local inst=$1 rt pid
  rt=$(_ce_rt) || return 1
  if pid=$(_ce_instance_pid "$inst"); then _ce_err "$inst is already running (pid $pid)"; return 1; fi
  mkdir -p "$rt/$inst" && rm -f "$rt/$inst/master.pid" || return 1
  # The daemon keeps no descriptor of the caller's: a caller piping our output (`| tee`) must
  # see it end when the caller ends, not when Dovecot stops.
  if ! _ce_exec dovecot -c "$(_ce_in "$rt/$inst.conf")" </dev/null >>"$CE_RUN_DIR/$inst.start.log" 2>&1; then
    cat "$CE_RUN_DIR/$inst.start.log" >&2 2>/dev/null || true
    tail -n 20 "$CE_RUN_DIR/$inst.log" >&2 2>/dev/null || true
    _ce_err "$inst did not start"; return 1
  fi
  for _ in $(seq 100); do [ -s "$rt/$inst/master.pid" ] && break; sleep 0.1; done
  pid=$(cat "$rt/$inst/master.pid" 2>/dev/null) || { _ce_err "$inst wrote no master.pid"; return 1; }
  echo "$pid" >"$CE_RUN_DIR/$inst.pid"
  _ce_wait_instance "$inst" 20
}

# Stops <inst>: SIGTERM to its master (which stops its children), SIGKILL to all of them after
# 10 s, then waits until its ports are closed.
_ce_stop_instance() { # <inst>
  local inst=$1 pid children ip port open
  pid=$(_ce_instance_pid "$inst") || { rm -f "$CE_RUN_DIR/$inst.pid"; return 0; }
  children=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    for c in $children; do kill -KILL "$c" 2>/dev/null || true; done
  fi
  rm -f "$CE_RUN_DIR/$inst.pid"
  ip=$(_ce_ip "$inst") || return 1
  for _ in $(seq 50); do
    open=0
    for port in $(_ce_ports); do _ce_port_open "$ip" "$port" && { open=1; break; }; done
    [ "$open" = 1 ] || return 0
    sleep 0.2
  done
  _ce_err "$inst ($ip) still has a port open after stop"
}

# ce_start <run_dir> <route_url> <token_file>: writes the configs, starts the relay sink, backend 1,
# backend 2 and the proxy, and returns when all listen. On failure it stops what it started.
ce_start() {
  [ $# -eq 3 ] || { _ce_err "usage: ce_start <run_dir> <route_url> <token_file>"; return 1; }
  _ce_check_line || return 1
  [ "$CE_LINE" = 2.4 ] || command -v dovecot >/dev/null || { _ce_err "dovecot is not installed"; return 1; }
  [ "$(id -u)" -eq 0 ] || { _ce_err "Dovecot instances need root"; return 1; }
  mkdir -p "$1" || return 1
  CE_RUN_DIR="$(cd "$1" && pwd)"
  export CE_RUN_DIR
  local inst
  _ce_prepare "$2" "$3" || return 1
  _ce_exec dovecot --version >"$CE_RUN_DIR/dovecot.version" || return 1
  for inst in backend1 backend2 proxy; do _ce_write_conf "$inst" || return 1; done
  _ce_start_relay || { ce_stop_all; return 1; }
  for inst in backend1 backend2 proxy; do
    _ce_start_instance "$inst" || { ce_stop_all; return 1; }
  done
}

# ce_set_password_check <backend|proxy>: rewrites the proxy's config for it and restarts the proxy.
ce_set_password_check() {
  _ce_need_run_dir || return 1
  case "${1:-}" in backend|proxy) ;; *) _ce_err "usage: ce_set_password_check <backend|proxy>"; return 1 ;; esac
  CE_PASSWORD_CHECK=$1
  _ce_stop_instance proxy && _ce_write_conf proxy && _ce_start_instance proxy
}

ce_stop_backend() { # <1|2>
  _ce_need_run_dir || return 1
  case "${1:-}" in 1|2) _ce_stop_instance "backend$1" ;; *) _ce_err "usage: ce_stop_backend <1|2>" ;; esac
}

ce_start_backend() { # <1|2>
  _ce_need_run_dir || return 1
  case "${1:-}" in 1|2) _ce_start_instance "backend$1" ;; *) _ce_err "usage: ce_start_backend <1|2>" ;; esac
}

# Stops everything ce_start started (no-op without a run dir); the runtime dir and mail stay.
ce_stop_all() {
  [ -n "$CE_RUN_DIR" ] || return 0
  local inst rc=0
  for inst in proxy backend1 backend2; do _ce_stop_instance "$inst" || rc=1; done
  _ce_stop_relay || rc=1
  return $rc
}

# ce_wait_ready [seconds]: every running instance listens on all its ports (default 20 s).
ce_wait_ready() {
  _ce_need_run_dir || return 1
  local secs=${1:-20} inst
  for inst in backend1 backend2 proxy; do
    _ce_instance_pid "$inst" >/dev/null || continue
    _ce_wait_instance "$inst" "$secs" || return 1
  done
}

# DOVEADM_ENDPOINTS for the controller: 127.0.0.2=http://127.0.0.2:18080,127.0.0.3=http://127.0.0.3:18080
ce_doveadm_endpoints() {
  local out="" ip
  for ip in "${CE_BACKEND_IPS[@]}"; do out="$out${out:+,}$ip=http://$ip:$CE_DOVEADM_PORT"; done
  echo "$out"
}

# The proxy's doveadm HTTP API base URL (POST <url>/doveadm/v1: authCacheFlush, proxyList, proxyKick).
ce_proxy_doveadm_url() { echo "http://$CE_PROXY_IP:$CE_DOVEADM_PORT"; }

# ce_write_file_sd <file> <site>: a Prometheus file_sd target list with the proxy's stats listener,
# labelled site=<site> host=<proxy ip> (and role=proxy, as `palomar simulate --file-sd` writes).
ce_write_file_sd() {
  [ $# -eq 2 ] || { _ce_err "usage: ce_write_file_sd <file> <site>"; return 1; }
  [[ "$2" =~ ^[A-Za-z0-9._-]+$ ]] || { _ce_err "site $2: letters, digits, . _ - only"; return 1; }
  printf '[{"targets": ["%s:%s"], "labels": {"site": "%s", "host": "%s", "role": "proxy"}}]\n' \
    "$CE_PROXY_IP" "$CE_STATS_PORT" "$2" "$CE_PROXY_IP" >"$1.tmp" && mv "$1.tmp" "$1"
}
