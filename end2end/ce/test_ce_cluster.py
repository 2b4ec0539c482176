"""Real Dovecot CE steered by the controller, end to end.

scripts/test.sh starts two CE backends sharing one maildir and a CE proxy whose Lua passdb asks
the controller's route API (scripts/dovecot-ce.sh), Prometheus scraping the proxy with the
shipped rules, and `palomar serve` with DOVECOT_EDITION=ce on Cassandra and Redis. This file
plays the users (IMAP, POP3 and LMTP through the proxy, Python's stdlib clients) and the
operator (the UI's forms, posted as the browser posts them without JavaScript), in order:

1. setup: the operator adds the site and both backends and turns the controller's features on;
2. a user's login lands on their group's backend; mail delivered by LMTP through the proxy is
   read back; POP3 logs in too;
3. the operator moves the group: the open session is kicked, the next login lands on the new
   backend, the mail is intact, and the move finishes;
4. password guessing: for half a minute, more than half of the logins through the
   proxy bring wrong passwords (some spread over accounts, some hammering one) over IMAP, POP3
   and Submission, from many client addresses, while LMTP delivers to unknown users: Prometheus
   counts no failure, the controller takes nothing offline and moves nothing, and says why;
   then a backend refers a user to the other backend: no failure is counted either;
5. the backend is stopped: proxy failures rise in Prometheus, host failure handling sets it
   offline, and logins succeed again on the other backend; started again, it comes back online;
6. the proxy is switched to checking passwords itself (password-check-proxy.conf) and step 4
   runs again: this time no guess reaches a backend at all;
7. the site goes offline: the route API sends its users to another site's load balancer
   (`reason=other_site`; here one of the backends stands in for it), the CE proxy follows, and
   when the site is online again the users come home.

Run: python3 -m unittest -v end2end/ce/test_ce_cluster.py (with the environment test.sh sets).
"""

import imaplib
import itertools
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mail  # noqa: E402

from cluster import (  # noqa: E402
    SITE,
    LINE,
    MOVE_SEEN_SECS,
    BACKENDS,
    USER,
    wait_for,
    ce,
    walk,
    Operator,
    route,
    prometheus,
    proxy_counter,
    password_mismatches,
    login_backend,
)


class CeCluster(unittest.TestCase):
    """The steps share one cluster and run in name order."""

    op = None
    site_id = None
    first = None
    second = None

    @classmethod
    def setUpClass(cls):
        cls.op = Operator()
        cls.op.login()

    def test_1_operator_sets_up_the_site(self):
        op = self.op
        if op.site_id() is None:
            op.call("sites/add", name=SITE, tag="", load_balancer="", status="online")
        site_id = wait_for("the new site", op.site_id, timeout=10)
        type(self).site_id = site_id
        for host in BACKENDS:
            if host not in op.backends(site_id):
                op.call("backends/add", site_id=site_id, host=host)
        for host, backend in op.backends(site_id).items():
            if backend["status"] != "online":
                op.call("backends/set_status", site_id=site_id, id=backend["id"], status="online")
        for feature in ["host_failure", "group_move_timeouts"]:
            op.call("settings/set_feature", site_id=site_id, feature=feature, state="on")
        backends = op.backends(site_id)
        self.assertEqual(sorted(backends), BACKENDS)
        self.assertTrue(all(b["status"] == "online" for b in backends.values()), backends)

    def test_2_login_lands_on_the_groups_backend_and_mail_is_delivered(self):
        answer = route(USER)
        type(self).first = answer["host"]
        type(self).second = next(b for b in BACKENDS if b != answer["host"])
        self.assertIn(answer["host"], BACKENDS, answer)
        self.assertEqual(login_backend(), answer["host"], "the proxy followed the route API")
        mail.deliver_lmtp(USER, "before the move", "delivered through the CE proxy by LMTP")
        self.assertTrue(wait_for("the delivered message", lambda: mail.find_message(USER, "before the move"), 15))
        mail.pop3_login(USER)

    def test_3_operator_moves_the_group_and_the_session_follows(self):
        op, group = self.op, route(USER)["group"]
        session = mail.open_imap(USER)
        self.assertEqual(mail.which_backend(session), self.first)
        destination = op.backends(self.site_id)[self.second]["id"]
        op.call("groups/move", site_id=self.site_id, name=group, destination=destination)
        wait_for("the open session to be kicked", lambda: not mail.session_alive(session), 20)
        mail.close_imap(session)
        self.assertEqual(
            wait_for("a login on the new backend", lambda: login_backend() == self.second and self.second, MOVE_SEEN_SECS),
            self.second,
        )
        self.assertTrue(mail.find_message(USER, "before the move"), "the mail is intact after the move")

        def finished():
            moves = [m for m in op.moves(self.site_id) if m["group"] == group]
            return moves and moves[0]["state"] == "finished" and moves[0]
        done = wait_for("the move to finish", finished, 30)
        self.assertEqual(done["destination_host"], self.second)

    def test_4_password_guessing_takes_nothing_offline_and_moves_nothing(self):
        """The shipped layout: the backend checks passwords, so the guesses reach it."""
        backends_refused, _ = self.guess_passwords()
        self.assertGreater(backends_refused, 20, "the backends refused the guesses")

    def test_4b_a_referral_counts_nothing_against_the_backend(self):
        """A backend that refers a user elsewhere (its passdb answers nologin with a host, as
        the harness's backend 1 does for users named referral-*, to backend 2) is not failing.
        2.3's proxy hands the IMAP referral to the client; 2.4's follows it to the other host.
        Neither counts a failure of the backend. (POP3 has no referrals: 2.3 passes on only the
        reason text, so there only IMAP is judged; docs/dovecot-ce.md.)"""
        home, other = BACKENDS
        user = next(u for u in (f"referral-{i}@palomar.test" for i in itertools.count(1)) if route(u)["host"] == home)
        before = proxy_counter("dovecot_proxy_session_failure_total")
        protocols = ["imap"] if LINE == "2.3" else ["imap", "pop3"]
        for _ in range(3):
            if LINE == "2.3":
                with self.assertRaises(imaplib.IMAP4.error) as refused:
                    mail.open_imap(user)
                quoted = user.replace("@", "%40")
                self.assertIn(f"[REFERRAL imap://{quoted};AUTH=PLAIN@{other}/]", str(refused.exception))
            else:
                self.assertEqual(login_backend(user), other, "2.4's proxy followed the referral")
                mail.pop3_login(user)
        time.sleep(1)
        self.assertEqual(proxy_counter("dovecot_proxy_session_failure_total"), before, f"a referral ({protocols}) counted")
        backends = self.op.backends(self.site_id)
        self.assertTrue(all(b["status"] == "online" for b in backends.values()), backends)

    def guess_passwords(self):
        """Half a minute of password guessing; asserts that nothing counted, went offline or
        moved. Returns how many passwords the backends and the proxy refused meanwhile."""
        op = self.op
        refused_before = password_mismatches()
        window = 10  # HOST_FAILURE_WINDOW_SECS of the CE controller (scripts/test/ce.sh)
        # Ten accounts, five on each backend, so that both are judged on their logins.
        by_backend = {b: [] for b in BACKENDS}
        for i in itertools.count(1):
            user = f"ce-guess-{i}@palomar.test"
            placed = by_backend[route(user)["host"]]
            if len(placed) < 5:
                placed.append(user)
            if all(len(users) == 5 for users in by_backend.values()) or i > 200:
                break
        accounts = [user for users in by_backend.values() for user in users]
        self.assertEqual(len(accounts), 10, by_backend)
        failures, successes = "dovecot_proxy_session_failure_total", "dovecot_proxy_session_success_total"
        lmtp_failures = "dovecot_lmtp_rcpt_finished_failure_count"
        before = {family: proxy_counter(family) for family in (failures, successes, lmtp_failures)}
        moves_before = len(op.moves(self.site_id))

        def host_failure_actions():
            return {d["id"] for d in op.decisions(self.site_id)
                    if d["decision"]["feature"] == "host_failure" and d["decision"]["action"] is not None}
        acted_before = host_failure_actions()
        for user in accounts:  # each account exists and logs in once before the attack
            self.assertTrue(mail.login_attempt("imap", user, mail.PASSWORD, "127.0.0.1"), user)

        done = []  # (finished at, "good" | "bad" | "lmtp", succeeded)
        lock = threading.Lock()
        deadline = time.monotonic() + 3 * window
        protocols = itertools.cycle(["imap", "pop3", "submission"])
        # Every guess comes from an address of its own, as a botnet's do: Dovecot's per-address
        # auth penalty would otherwise slow one address down to a guess every 15 s.
        sources = (f"127.0.{a}.{b}" for a in range(1, 250) for b in range(1, 250))
        errors = []
        in_flight = [0]  # good logins under way

        def count(kind):
            return sum(1 for _, k, _ in done if k == kind)

        def worker(kind, number):
            while time.monotonic() < deadline:
                with lock:
                    protocol, source = next(protocols), next(sources)
                    # Good logins, those under way included, stay at 70 % of the guesses done,
                    # so that the guesses are more than half in every window.
                    wait = kind == "good" and count("good") + in_flight[0] >= 0.7 * count("bad")
                    if kind == "good" and not wait:
                        in_flight[0] += 1
                if wait:
                    time.sleep(0.05)
                    continue
                try:
                    if kind == "lmtp":
                        try:
                            mail.deliver_lmtp(f"unknown-{number}-{len(done)}@palomar.test", "guess", "nobody")
                            ok = True
                        except mail.smtplib.SMTPRecipientsRefused as refused:
                            codes = [code for code, _ in refused.recipients.values()]
                            if codes != [550]:
                                raise AssertionError(f"LMTP to an unknown user: {refused.recipients}")
                            ok = False
                        time.sleep(0.5)
                    elif kind == "good":
                        ok = mail.login_attempt(protocol, accounts[len(done) % len(accounts)], mail.PASSWORD, "127.0.0.1")
                    else:
                        # Half of the guessers hammer one account, the others spread over ten.
                        user = USER if number % 2 == 0 else accounts[len(done) % len(accounts)]
                        ok = mail.login_attempt(protocol, user, f"guess-{len(done)}", source)
                except Exception as err:  # noqa: BLE001 - every unexpected answer fails the test
                    with lock:
                        errors.append(f"{kind} {protocol}: {err!r}")
                        in_flight[0] -= kind == "good"
                    time.sleep(0.2)
                    continue
                with lock:
                    done.append((time.monotonic(), kind, ok))
                    in_flight[0] -= kind == "good"

        workers = [threading.Thread(target=worker, args=("bad", n)) for n in range(14)]
        workers += [threading.Thread(target=worker, args=("good", n)) for n in range(3)]
        workers += [threading.Thread(target=worker, args=("lmtp", n)) for n in range(2)]
        for w in workers:
            w.start()
        evaluations, newest_recorded = [], []
        while time.monotonic() < deadline:
            time.sleep(window / 2)
            # What the controller would do now, and what it has done.
            evaluations.append(op.call("controller/evaluate"))
            verdicts = [d["decision"] for d in op.decisions(self.site_id)
                        if d["decision"]["feature"] == "host_failure" and d["decision"]["action"] is None]
            newest_recorded.append(verdicts[0] if verdicts else None)
            backends = op.backends(self.site_id)
            self.assertTrue(all(b["status"] == "online" for b in backends.values()), backends)
        for w in workers:
            w.join()
        self.assertEqual(errors, [], "every login ended as a success or a refused password")
        self.assertTrue(all(ok for _, kind, ok in done if kind == "good"), "the real users logged in")
        self.assertFalse(any(ok for _, kind, ok in done if kind in ("bad", "lmtp")), "no guess succeeded")

        # Every window of the attack held at least 40 logins, at least half of them wrong.
        # Windows from the first answer to the deadline (logins under way at the deadline end
        # after it, fewer and fewer).
        start = done[0][0]
        t = start + window
        while t <= deadline:
            inside = [kind for at, kind, _ in done if t - window < at <= t and kind != "lmtp"]
            bad = inside.count("bad")
            self.assertGreaterEqual(len(inside), 40, f"logins in the window ending {t - start:.0f} s in")
            self.assertGreaterEqual(2 * bad, len(inside), f"wrong passwords in the window ending {t - start:.0f} s in")
            t += 1
        self.assertGreater(count("lmtp"), 5, "LMTP deliveries to unknown users")

        # The proxy counted the good logins and no failure at all; the controller (reading
        # Prometheus) did nothing and said why, having judged both backends on their logins.
        self.assertEqual(proxy_counter(failures), before[failures], "wrong passwords are no backend failures")
        self.assertEqual(proxy_counter(lmtp_failures), before[lmtp_failures], "unknown users are no LMTP failures")
        self.assertGreaterEqual(proxy_counter(successes) - before[successes], count("good"))
        backends = op.backends(self.site_id)
        self.assertTrue(all(b["status"] == "online" for b in backends.values()), backends)
        self.assertEqual(len(op.moves(self.site_id)), moves_before, "nothing moved")
        self.assertEqual(host_failure_actions() - acted_before, set(), "no host failure action")
        verdicts = [d for e in evaluations for d in e if d["feature"] == "host_failure"]
        self.assertTrue(verdicts, evaluations)
        for verdict in verdicts:
            self.assertIsNone(verdict["action"], verdict)
        # The decision log says the same while the guessing goes on (a verdict that repeats is
        # stored at most every 10 minutes, so the newest may be from before, in the same words).
        for recorded in newest_recorded[1:]:
            self.assertIsNotNone(recorded, "a recorded host failure verdict")
            self.assertTrue(recorded["summary"].startswith("no backend is failing:"), recorded)
        judged = [v for v in verdicts if v["summary"].startswith("no backend is failing: 2 of 2 online judged")]
        self.assertTrue(judged, verdicts)
        self.assertEqual(judged[-1]["reason"], "none_failing", judged[-1])
        self.assertEqual(judged[-1]["inputs"]["host_failure_overview"]["worst_failure_ratio"], 0.0, judged[-1])
        refused_after = password_mismatches()
        return refused_after[0] - refused_before[0], refused_after[1] - refused_before[1]

    def test_5_a_stopped_backend_fails_over_and_comes_back(self):
        op, down, up = self.op, self.second, self.first
        backend_number = BACKENDS.index(down) + 1
        failures = f'sum(dovecot_proxy_session_failure_total{{dest_host="{down}"}})'
        before = prometheus(failures)
        ce("ce_stop_backend", str(backend_number))
        try:
            # Users keep logging in; each login through the proxy to the dead backend fails.
            def failing_logins_seen():
                try:
                    login_backend()
                except Exception:
                    pass
                return prometheus(failures) >= before + 3
            wait_for("proxy failures in Prometheus", failing_logins_seen, 60, every=0.3)

            def set_offline():
                try:
                    login_backend()
                except Exception:
                    pass
                return op.backends(self.site_id)[down]["status"] == "offline"

            # Everything fails and its doveadm API is gone: offline, not group by group.
            wait_for("host failure handling to set the backend offline", set_offline, 90, every=0.5)
            # The decision names both signals: the failure ratio and the failed reachability probe.
            offline = [d["decision"] for d in op.decisions(self.site_id)
                       if d["decision"]["feature"] == "host_failure"
                       and "SetOffline" in (d["decision"]["action"] or {})]
            self.assertTrue(offline, "a recorded SetOffline decision")
            self.assertEqual(offline[0]["reason"], "failing_and_unreachable", offline[0])
            signals = offline[0]["inputs"]["host_failure"]
            self.assertIs(signals["doveadm_reachable"], False, offline[0])
            self.assertGreater(signals["failure_ratio"], signals["threshold"], offline[0])
            self.assertIn("its doveadm API does not answer", offline[0]["summary"])
            self.assertEqual(route(USER)["host"], up, "the route fails over to the group's alternative")
            self.assertEqual(wait_for("a login on the other backend", lambda: login_backend() == up and up, 30), up)
            self.assertTrue(mail.find_message(USER, "before the move"), "the mail is there on the other backend")
        finally:
            ce("ce_start_backend", str(backend_number))
        wait_for("the backend back online", lambda: op.backends(self.site_id)[down]["status"] == "online", 120, every=1)
        reason = op.backends(self.site_id)[down]["status_reason"]
        self.assertEqual(reason, "", "the controller undid its own offline")

    def test_6_with_the_proxy_checking_passwords_no_guess_reaches_a_backend(self):
        """The other layout (deploy/dovecot/<line>/password-check-proxy.conf): the proxy's own passdb
        refuses the guesses before any route lookup."""
        ce("ce_set_password_check", "proxy")
        try:
            self.assertTrue(mail.login_attempt("imap", USER, mail.PASSWORD, "127.0.0.1"), "a real user logs in")
            # The restarted proxy's counters start again from zero: wait until Prometheus, and so
            # the controller, sees its logins before the guessing starts.
            def seen():
                mail.login_attempt("imap", USER, mail.PASSWORD, "127.0.0.1")
                return prometheus("sum(increase(dovecot_proxy_session_success_total[10s]))") > 0
            # (about 30 s in the runs so far)
            wait_for("Prometheus to see the restarted proxy's logins", seen, 90, every=1)
            backends_refused, proxy_refused = self.guess_passwords()
            self.assertEqual(backends_refused, 0, "no wrong password reached a backend")
            self.assertGreater(proxy_refused, 20, "the proxy refused the guesses")
        finally:
            ce("ce_set_password_check", "backend")

    def test_7_a_user_whose_site_is_offline_goes_through_another_sites_load_balancer(self):
        op = self.op
        home = route(USER)
        # Another site whose load balancer is a host the proxy can log in to: the backend that
        # does not serve the user now stands in for the other site's proxies.
        balancer = next(b for b in BACKENDS if b != home["host"])
        other = "dc2ce"

        def other_id():
            return next((row["id"] for row in walk(op.call("sites/list")) if row.get("name") == other and "id" in row), None)

        if other_id() is None:
            op.call("sites/add", name=other, tag="", load_balancer=balancer, status="online")
        else:  # left by an interrupted run
            op.call("sites/update", id=other_id(), name=other, tag="", load_balancer=balancer, status="online")

        def set_status(status):
            op.call("sites/update", id=self.site_id, name=SITE, tag="", load_balancer="", status=status)

        try:
            set_status("offline")
            answer = route(USER)
            self.assertEqual((answer["reason"], answer["site"], answer["host"]), ("other_site", other, balancer), answer)
            self.assertEqual(
                wait_for("a login through the other site", lambda: login_backend() == balancer and balancer, 30),
                balancer,
                "the CE proxy followed the route API to the other site's load balancer",
            )
        finally:
            set_status("online")
            op.call("sites/remove", id=other_id(), confirm_name=other)
        self.assertEqual(route(USER)["host"], home["host"], "home again")
        self.assertEqual(wait_for("a login at home", lambda: login_backend() == home["host"] and home["host"], 30), home["host"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
