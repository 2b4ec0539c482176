"""The CE cluster under test as end2end/ce/test_ce_cluster.py sees it: its settings (from the
environment scripts/test/ce.sh sets), the operator's client for the UI's forms, and readers of
the route API, Prometheus, the proxy's metrics and the Dovecot logs."""

import http.cookiejar
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import mail

BASE = os.environ.get("PALOMAR_CE_URL", "http://127.0.0.1:3310")
OPERATOR = os.environ.get("PALOMAR_CE_OPERATOR", "ce-admin")
OPERATOR_PASSWORD = os.environ.get("PALOMAR_CE_OPERATOR_PASSWORD", "")
SITE = os.environ.get("PALOMAR_CE_SITE", "dc1ce")
ROUTE_TOKEN = os.environ.get("PALOMAR_CE_ROUTE_TOKEN", "")
PROMETHEUS = os.environ.get("PALOMAR_CE_PROMETHEUS", "http://127.0.0.1:9791")
# The CE line under test, and the proxy's auth cache lifetime (= the route API's max-age).
LINE = os.environ.get("PALOMAR_CE_LINE", "2.3")
CACHE_SECS = float(os.environ.get("PALOMAR_CE_CACHE_SECS", "30"))
# How soon after a move a new login lands on the new backend (docs/dovecot-ce.md): on 2.3 at
# once, because the controller flushes the proxies' auth caches (well within CACHE_SECS, so the
# flush is what the test sees); on 2.4, which cannot be flushed, once the cached route expires,
# plus a supervision pass to kick what came back meanwhile.
MOVE_SEEN_SECS = 10.0 if LINE == "2.3" else CACHE_SECS + 10.0
BACKENDS = ["127.0.0.2", "127.0.0.3"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USER = "ce-alice@palomar.test"


def wait_for(what, check, timeout=60.0, every=0.5):
    """Polls `check` until it returns something truthy; fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as err:  # a refused login or a dropped connection is a "not yet"
            last = err
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def ce(*args):
    """Runs a scripts/dovecot-ce.sh function (CE_RUN_DIR comes from the environment)."""
    command = ". scripts/dovecot-ce.sh && " + " ".join(args)
    done = subprocess.run(["bash", "-c", command], cwd=REPO, timeout=60, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {done.stderr[-2000:]}")


def walk(value):
    """Every dict inside a JSON value."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


class Operator:
    """The admin UI as the browser uses it without JavaScript: form posts with a session cookie."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, function, **fields):
        body = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(
            f"{BASE}/api/{function}",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "Origin": BASE,
            },
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{function}: HTTP {err.code}: {err.read().decode()[:500]}") from None
        return json.loads(text) if text.strip() else None

    def login(self):
        self.call("auth/login", username=OPERATOR, password=OPERATOR_PASSWORD, next="/")

    def site_id(self):
        for row in walk(self.call("sites/list")):
            if row.get("name") == SITE and "id" in row:
                return row["id"]
        return None

    def backends(self, site_id):
        """host -> backend view (id, status, status_reason)."""
        rows = walk(self.call("backends/list", site_id=site_id))
        return {b["host"]: b for b in rows if "host" in b and "status" in b and "id" in b}

    def decisions(self, site_id):
        """Today's recorded decisions, newest first."""
        return self.call("controller/decisions", site_id=site_id, day="")["items"]

    def moves(self, site_id):
        rows = walk(self.call("controller/moves", site_id=site_id))
        return [m for m in rows if "group" in m and "state" in m and "moving_token" in m]


def route(user):
    """The route API's answer for `user`, as the proxy's Lua passdb gets it."""
    request = urllib.request.Request(
        f"{BASE}/api/route/v1?" + urllib.parse.urlencode({"user": user, "service": "imap"}),
        headers={"Authorization": f"Bearer {ROUTE_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(line.split("=", 1) for line in response.read().decode().splitlines() if "=" in line)


def prometheus(query):
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        result = json.load(response)["data"]["result"]
    return sum(float(r["value"][1]) for r in result)


def proxy_counter(family):
    """The sum of a metric family's series on the proxy's own /metrics (0 before its first event):
    what Prometheus scrapes, read at the source."""
    url = f"http://{mail.HOST}:{os.environ.get('CE_STATS_PORT', '19900')}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines
               if line.startswith(family + "{") or line.startswith(family + " "))


def password_mismatches():
    """How many passwords the backends and the proxy refused so far (auth_verbose lines in the
    harness's logs): (backends, proxy)."""
    def count(instance):
        path = os.path.join(os.environ["CE_RUN_DIR"], f"{instance}.log")
        with open(path, encoding="utf-8", errors="replace") as log:
            return sum(1 for line in log if "Password mismatch" in line)
    return count("backend1") + count("backend2"), count("proxy")


def login_backend(user=USER):
    """Logs in through the proxy and returns the backend that served it."""
    conn = mail.open_imap(user)
    try:
        return mail.which_backend(conn)
    finally:
        mail.close_imap(conn)
