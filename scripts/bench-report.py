#!/usr/bin/env python3
"""Reads what scripts/bench.sh measured and reports it.

Subcommands (each reads a tool's output on stdin and prints one JSON line for results.jsonl):
  seed | census first|steady RSS_KB | scan | wrk LABEL CONDITION RSS_PEAK_KB | screen | pass
and `report RESULTS [--doc PATH] --setup TEXT`, which prints the table with the goals and,
with --doc, rewrites the benchmarks page. Figures only: nothing here fails on a slow result.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys

GOALS = {
    "seed_rows_per_s": 50_000,
    "census_share": 0.90,
    "census_rss_mb": 150,
    "pass_cpu_ms": 50,
    "page_p99_ms": 50,
    "page_vs_static": 3.0,
    "screen_p95_ms": 250,
    "replay_cpu_s": 60,
}


def pairs(text):
    """key=number pairs of a log line (tracing's and our bench programs' format)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # tracing colours its fields on a terminal
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9]+(?:\.[0-9]+)?)", text)}


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(text):
    latency = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$", text, re.M):
        latency[f"p{pct}_ms"] = to_ms(value, unit)
    requests = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m)", text)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    if not requests or not rate or "p99_ms" not in latency:
        raise ValueError("not wrk --latency output")
    errors = 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return {"requests": int(requests.group(1)), "rps": float(rate.group(1)), "errors": errors, **latency}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def measure(kind, args):
    text = sys.stdin.read()
    if kind == "seed":
        m = re.search(r"wrote (\d+) rows in ([0-9.]+) s: ([0-9.]+) rows per second", text)
        if not m:
            raise SystemExit("bench-report: no seeding figures")
        return {"kind": "seed", "rows": int(m.group(1)), "seconds": float(m.group(2)), "rows_per_s": float(m.group(3))}
    if kind == "census":
        figures = pairs(text)
        users, seconds = figures.get("users"), figures.get("seconds")
        rate = figures.get("rows_per_s") or (users / seconds if users and seconds else None)
        return {"kind": "census", "which": args[0], "users": users, "seconds": seconds, "rows_per_s": rate,
                "members_written": figures.get("members_written"), "peak_rss_kb": int(args[1] or 0)}
    if kind == "scan":
        # scan_bench --census alternates raw scans and censuses on one connection; the medians
        # of each are compared, so that both met the same load.
        lines = [l.strip() for l in text.splitlines() if l.startswith(("raw_scan ", "census "))]
        raw = [pairs(l)["rows_per_s"] for l in lines if l.startswith("raw_scan") and "rows_per_s" in pairs(l)]
        taken = [pairs(l)["rows_per_s"] for l in lines if l.startswith("census") and "rows_per_s" in pairs(l)]
        if not raw:
            raise SystemExit("bench-report: no raw_scan line")
        return {"kind": "scan", "lines": lines, "rows_per_s": percentile(raw, 50),
                "census_rows_per_s": percentile(taken, 50) if taken else None}
    if kind == "wrk":
        label, condition, rss, cpu_ticks = args
        figures = parse_wrk(text)
        # The server's CPU time over the run (clock ticks, 100 a second) per request: unlike
        # the latencies, it barely moves with what else the machine is doing.
        cpu_ms = int(cpu_ticks or 0) * 10 / figures["requests"] if figures["requests"] else float("nan")
        return {"kind": "load", "label": label, "condition": condition, "rss_peak_kb": int(rss or 0),
                "server_cpu_ms_per_request": cpu_ms, **figures}
    if kind == "screen":
        line = next((l for l in text.splitlines() if l.startswith("{")), "{}")
        samples = json.loads(line).get("change_to_screen_ms", [])
        return {"kind": "screen", "samples": samples, "p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95)}
    if kind == "pass":
        lines = [pairs(l) for l in text.splitlines() if l.startswith("decision_pass backends=")]
        if not lines:
            raise SystemExit("bench-report: no decision_pass line")
        biggest = max(lines, key=lambda f: f.get("backends", 0))
        return {"kind": "pass", **biggest}
    if kind == "replay":
        line = next((pairs(l) for l in text.splitlines() if l.startswith("replay backends=")), None)
        if not line:
            raise SystemExit("bench-report: no replay line")
        return {"kind": "replay", **line}
    raise SystemExit(f"bench-report: unknown measurement {kind}")


def verdict(ok):
    return "met" if ok else "NOT met"


def report(path, doc, setup):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    first = lambda kind: next((r for r in rows if r["kind"] == kind), None)
    seed, scan, screen, decision, replay = (first(k) for k in ("seed", "scan", "screen", "pass", "replay"))
    censuses = {r.get("which", "steady"): r for r in rows if r["kind"] == "census"}
    census, first_census = censuses.get("steady"), censuses.get("first")
    idle = first("rss")
    loads = [r for r in rows if r["kind"] == "load"]
    out = []
    out.append(f"setup: {setup}")
    out.append("")
    goals = []
    if seed:
        out.append(f"seeding: {seed['rows']} rows in {seed['seconds']:.1f} s = {seed['rows_per_s']:,.0f} rows/s")
        goals.append(("seeding ≥ 50,000 rows/s", f"{seed['rows_per_s']:,.0f} rows/s", seed["rows_per_s"] >= GOALS["seed_rows_per_s"]))
    if first_census and first_census.get("rows_per_s"):
        out.append(f"first census after seeding: {first_census['users']:,.0f} users in {first_census['seconds']:.1f} s = "
                   f"{first_census['rows_per_s']:,.0f} rows/s, {first_census.get('members_written') or 0:,.0f} membership rows written; "
                   f"server peak RSS {first_census['peak_rss_kb'] / 1024:.0f} MB")
    if census and census.get("rows_per_s"):
        mb = census["peak_rss_kb"] / 1024
        written = census.get("members_written")
        out.append(f"census of a restarted server: {census['users']:,.0f} users in {census['seconds']:.1f} s = {census['rows_per_s']:,.0f} rows/s"
                   + (f", {written:,.0f} membership rows written" if written is not None else "")
                   + f"; server peak RSS {mb:.0f} MB")
    if scan:
        out.append("raw scans and censuses, alternating on one connection (scan_bench --census):")
        out.extend(f"  {line}" for line in scan["lines"])
        if scan.get("census_rows_per_s"):
            share = scan["census_rows_per_s"] / scan["rows_per_s"]
            out.append(f"census / raw scan (medians) = {scan['census_rows_per_s']:,.0f} / {scan['rows_per_s']:,.0f} rows/s = {share:.0%}")
            goals.append(("census ≥ 90 % of the raw scan", f"{share:.0%}", share >= GOALS["census_share"]))
    if censuses:
        mb = max(c["peak_rss_kb"] for c in censuses.values()) / 1024
        goals.append(("server peak RSS during the census < 150 MB", f"{mb:.0f} MB", mb < GOALS["census_rss_mb"]))
    if decision:
        cpu = decision.get("cpu_ms_median", float("nan"))
        out.append(f"decision pass: {decision.get('backends', 0):,.0f} backends, {decision.get('groups', 0):,.0f} groups: "
                   f"{cpu:.1f} ms CPU (median), {decision.get('cpu_ms_max', float('nan')):.1f} ms (max)")
        goals.append(("one decision pass < 50 ms CPU", f"{cpu:.1f} ms", cpu < GOALS["pass_cpu_ms"]))
    if replay:
        cpu = replay.get("cpu_s", float("nan"))
        out.append(f"replay: {replay.get('passes', 0):,.0f} passes over {replay.get('backends', 0):,.0f} backends and "
                   f"{replay.get('groups', 0):,.0f} groups: {cpu:.1f} s CPU, {replay.get('decisions', 0):,.0f} decisions")
        goals.append(("a 24-hour replay < 60 s CPU", f"{cpu:.1f} s", cpu < GOALS["replay_cpu_s"]))
    if screen and screen["samples"]:
        out.append(f"change to screen: {len(screen['samples'])} moves, p50 {screen['p50_ms']:.0f} ms, p95 {screen['p95_ms']:.0f} ms "
                   f"(each: {', '.join(str(round(s)) for s in screen['samples'])})")
        goals.append(("change to screen p95 < 250 ms", f"{screen['p95_ms']:.0f} ms", screen["p95_ms"] < GOALS["screen_p95_ms"]))
    if idle:
        peak = max((r["rss_peak_kb"] for r in loads), default=0)
        out.append(f"server RSS: {idle['kb'] / 1024:.0f} MB idle, {peak / 1024:.0f} MB at most under load")
    during = first("censuses")
    if during:
        out.append(f"censuses taken while loaded with censuses running: {during['during_load']} "
                   "(the census gives way to requests, so each takes longer under load)")
    out.append("")
    header = (f"{'target':<34} {'condition':<15} {'p50':>8} {'p90':>8} {'p99':>8} {'req/s':>8} {'errors':>6} {'p99/static':>10}"
              f" {'server CPU/req':>14}")
    out.append(header)
    out.append("-" * len(header))
    for condition in dict.fromkeys(r["condition"] for r in loads):
        group = [r for r in loads if r["condition"] == condition]
        static = next((r for r in group if r["label"].startswith("static")), None)
        for r in group:
            ratio = r["p99_ms"] / static["p99_ms"] if static and static["p99_ms"] > 0 else float("nan")
            out.append(f"{r['label']:<34} {condition:<15} {r['p50_ms']:>6.1f}ms {r.get('p90_ms', float('nan')):>6.1f}ms "
                       f"{r['p99_ms']:>6.1f}ms {r['rps']:>8.0f} {r['errors']:>6} {ratio:>9.1f}x"
                       f" {r.get('server_cpu_ms_per_request', float('nan')):>12.2f}ms")
            if r is not static:
                ok = r["p99_ms"] < GOALS["page_p99_ms"] and ratio <= GOALS["page_vs_static"] and r["errors"] == 0
                goals.append((f"{r['label']}, {condition}: p99 < 50 ms, ≤ 3x static, no errors",
                              f"{r['p99_ms']:.1f} ms, {ratio:.1f}x, {r['errors']} errors", ok))
    out.append("")
    width = max((len(g[0]) for g in goals), default=10)
    out.append("goals:")
    for name, figure, ok in goals:
        out.append(f"  {name:<{width}}  {figure:<24} {verdict(ok)}")
    table = "\n".join(out)
    print(table)
    if doc:
        write_doc(doc, table)


def write_doc(path, table):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}"
    template = open(os.path.join(os.path.dirname(__file__), "bench-doc.md")).read()
    with open(path, "w") as f:
        f.write(template.replace("{{DATE}}", now).replace("{{MACHINE}}", machine).replace("{{TABLE}}", table))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "report":
        parser = argparse.ArgumentParser()
        parser.add_argument("results")
        parser.add_argument("--doc")
        parser.add_argument("--setup", default="")
        options = parser.parse_args(sys.argv[2:])
        report(options.results, options.doc, options.setup)
        return
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print(json.dumps(measure(sys.argv[1], sys.argv[2:])))


if __name__ == "__main__":
    main()
