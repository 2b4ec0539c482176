#!/usr/bin/env python3
"""Reads what scripts/bench.sh measured and reports it.

Subcommands (each reads a tool's output on stdin and prints JSON lines for results.jsonl):
  seed | census first|steady | scan | wrk LABEL CONDITION CPU_TICKS | screen | pass | replay
  | soak-minute MINUTE RSS_KB FDS CQL_CONNECTIONS
and three reports:
  report RESULTS --setup TEXT [--doc PATH]     one run's table and goals
  summary RESULTS... --setup TEXT [--doc PATH] each run's table, then every goal's medians, met
                                               only when it held in every run and in the medians
  soak RESULTS [--doc PATH]                    the soak's minutes and goals
With --doc each rewrites its own section of the benchmarks page (one per user count, one for the
soak). Figures only: nothing here fails on a slow result.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import sys

GOALS = {
    "seed_rows_per_s": 75_000,
    "census_share": 0.90,
    "rss_mb": 150,
    "pass_cpu_ms": 25,
    "pass_cpu_ms_10k": 250,
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
                "members_written": figures.get("members_written")}
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
        label, condition, cpu_ticks = args
        figures = parse_wrk(text)
        # The server's CPU time over the run (clock ticks, 100 a second) per request: unlike
        # the latencies, it barely moves with what else the machine is doing.
        cpu_ms = int(cpu_ticks or 0) * 10 / figures["requests"] if figures["requests"] else float("nan")
        return {"kind": "load", "label": label, "condition": condition,
                "server_cpu_ms_per_request": cpu_ms, **figures}
    if kind == "screen":
        line = next((l for l in text.splitlines() if l.startswith("{")), "{}")
        samples = json.loads(line).get("change_to_screen_ms", [])
        return {"kind": "screen", "samples": samples, "p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95)}
    if kind == "pass":
        lines = [pairs(l) for l in text.splitlines() if l.startswith("decision_pass backends=")]
        if not lines:
            raise SystemExit("bench-report: no decision_pass line")
        return [{"kind": "pass", **line} for line in lines]
    if kind == "soak-minute":
        minute, rss, fds, cql = (int(a) for a in args)
        w = parse_wrk(text)
        return {"kind": "soak_minute", "minute": minute, "rss_kb": rss, "fds": fds, "cql_connections": cql,
                "requests": w["requests"], "errors": w["errors"], "p99_ms": w["p99_ms"]}
    if kind == "replay":
        line = next((pairs(l) for l in text.splitlines() if l.startswith("replay backends=")), None)
        if not line:
            raise SystemExit("bench-report: no replay line")
        return {"kind": "replay", **line}
    raise SystemExit(f"bench-report: unknown measurement {kind}")


def verdict(ok):
    return "met" if ok else "NOT met"


def goal(name, fmt, checks, **values):
    """A goal as data: its figures, how to print them, and the checks on them, so that the
    same goal can be judged on one run and on the medians of several."""
    return {"name": name, "fmt": fmt, "checks": checks, "values": values}


def holds(g, values=None):
    values = g["values"] if values is None else values
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}
    return all(not math.isnan(values[k]) and ops[op](values[k], limit) for k, op, limit in g["checks"])


def shown(g, values=None):
    return g["fmt"].format(**(g["values"] if values is None else values))


def evaluate(rows, setup):
    """One run's printed lines and its goals."""
    first = lambda kind: next((r for r in rows if r["kind"] == kind), None)
    seed, scan, screen, replay = (first(k) for k in ("seed", "scan", "screen", "replay"))
    passes = [r for r in rows if r["kind"] == "pass"]
    censuses = {r.get("which", "steady"): r for r in rows if r["kind"] == "census"}
    census, first_census = censuses.get("steady"), censuses.get("first")
    phases = [r for r in rows if r["kind"] == "rss"]
    loads = [r for r in rows if r["kind"] == "load"]
    out = [f"setup: {setup}", ""]
    goals = []
    if seed:
        out.append(f"seeding: {seed['rows']} rows in {seed['seconds']:.1f} s = {seed['rows_per_s']:,.0f} rows/s")
        goals.append(goal("seeding ≥ 75,000 rows/s", "{rows_per_s:,.0f} rows/s", [("rows_per_s", ">=", GOALS["seed_rows_per_s"])],
                          rows_per_s=seed["rows_per_s"]))
    disk = first("disk")
    if disk and disk.get("kb") and disk.get("users"):
        out.append(f"GeoDB on disk at the end (flushed): {disk['kb'] / 1024:,.0f} MB for {disk['users']:,} users "
                   f"= {disk['kb'] * 1024 / disk['users']:,.0f} bytes per user (one node, RF 1)")
    if first_census and first_census.get("rows_per_s"):
        out.append(f"first census after seeding: {first_census['users']:,.0f} users in {first_census['seconds']:.1f} s = "
                   f"{first_census['rows_per_s']:,.0f} rows/s, {first_census.get('members_written') or 0:,.0f} membership rows written")
    if census and census.get("rows_per_s"):
        written = census.get("members_written")
        out.append(f"census of a restarted server: {census['users']:,.0f} users in {census['seconds']:.1f} s = {census['rows_per_s']:,.0f} rows/s"
                   + (f", {written:,.0f} membership rows written" if written is not None else ""))
    if scan:
        out.append("raw scans and censuses, alternating on one connection (scan_bench --census):")
        out.extend(f"  {line}" for line in scan["lines"])
        if scan.get("census_rows_per_s"):
            share = scan["census_rows_per_s"] / scan["rows_per_s"]
            out.append(f"census / raw scan (medians) = {scan['census_rows_per_s']:,.0f} / {scan['rows_per_s']:,.0f} rows/s = {share:.0%}")
            goals.append(goal("census ≥ 90 % of the raw scan", "{share:.0%}", [("share", ">=", GOALS["census_share"])], share=share))
    if phases:
        out.append("server RSS by phase (MB): " + ", ".join(f"{p['phase']} {p['kb'] / 1024:.0f}" for p in phases))
        peak = max(p["hwm_kb"] for p in phases if "hwm_kb" in p) / 1024 if any("hwm_kb" in p for p in phases) else float("nan")
        out.append(f"server RSS at its highest (VmHWM of every server process): {peak:.0f} MB")
        goals.append(goal("server RSS < 150 MB at every moment (VmHWM)", "{mb:.0f} MB", [("mb", "<", GOALS["rss_mb"])], mb=peak))
    for decision in sorted(passes, key=lambda d: d.get("backends", 0)):
        cpu, backends = decision.get("cpu_ms_median", float("nan")), decision.get("backends", 0)
        out.append(f"decision pass: {backends:,.0f} backends, {decision.get('groups', 0):,.0f} groups: "
                   f"{cpu:.1f} ms CPU (median), {decision.get('cpu_ms_max', float('nan')):.1f} ms (max)")
        limit = GOALS["pass_cpu_ms"] if backends <= 1000 else GOALS["pass_cpu_ms_10k"]
        goals.append(goal(f"a decision pass at {backends:,.0f} backends ≤ {limit} ms CPU", "{cpu:.1f} ms",
                          [("cpu", "<=" if backends <= 1000 else "<", limit)], cpu=cpu))
    if replay:
        cpu = replay.get("cpu_s", float("nan"))
        out.append(f"replay: {replay.get('passes', 0):,.0f} passes over {replay.get('backends', 0):,.0f} backends and "
                   f"{replay.get('groups', 0):,.0f} groups: {cpu:.1f} s CPU, {replay.get('decisions', 0):,.0f} decisions")
        goals.append(goal("a 24-hour replay < 60 s CPU", "{cpu:.1f} s", [("cpu", "<", GOALS["replay_cpu_s"])], cpu=cpu))
    if screen and screen["samples"]:
        out.append(f"change to screen: {len(screen['samples'])} moves, p50 {screen['p50_ms']:.0f} ms, p95 {screen['p95_ms']:.0f} ms "
                   f"(each: {', '.join(str(round(s)) for s in screen['samples'])})")
        goals.append(goal("change to screen p95 < 250 ms", "{p95:.0f} ms", [("p95", "<", GOALS["screen_p95_ms"])], p95=screen["p95_ms"]))
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
            cpu = r.get("server_cpu_ms_per_request", float("nan"))
            out.append(f"{r['label']:<34} {condition:<15} {r['p50_ms']:>6.1f}ms {r.get('p90_ms', float('nan')):>6.1f}ms "
                       f"{r['p99_ms']:>6.1f}ms {r['rps']:>8.0f} {r['errors']:>6} {ratio:>9.1f}x {cpu:>12.2f}ms")
            if r is not static:
                goals.append(goal(f"{r['label']}, {condition}: p99 < 50 ms, ≤ 3x static, no errors",
                                  "{p99:.1f} ms, {ratio:.1f}x, {errors:.0f} errors, {cpu:.2f} ms CPU",
                                  [("p99", "<", GOALS["page_p99_ms"]), ("ratio", "<=", GOALS["page_vs_static"]), ("errors", "==", 0)],
                                  p99=r["p99_ms"], ratio=ratio, errors=float(r["errors"]), cpu=cpu))
    out.append("")
    out.extend(goal_lines(goals))
    return out, goals


def goal_lines(goals):
    width = max((len(g["name"]) for g in goals), default=10)
    return ["goals:"] + [f"  {g['name']:<{width}}  {shown(g):<40} {verdict(holds(g))}" for g in goals]


def report(path, doc, setup):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    lines, _ = evaluate(rows, setup)
    table = "\n".join(lines)
    print(table)
    if doc:
        write_doc(doc, setup, [table], None)


def summary(paths, doc, setup):
    """Each run's table, then each goal's figure in every run, the medians, and whether the goal
    held in every run and in the medians."""
    runs = []
    for i, path in enumerate(paths, 1):
        rows = [json.loads(l) for l in open(path) if l.strip()]
        lines, goals = evaluate(rows, setup)
        runs.append((lines, goals))
        print(f"=== run {i} of {len(paths)} ===")
        print("\n".join(lines))
        print()
    names = list(dict.fromkeys(g["name"] for _, goals in runs for g in goals))
    width = max((len(n) for n in names), default=10)
    out = [f"medians of {len(runs)} runs, and whether each goal held in every run and in the medians:"]
    for name in names:
        found = [next((g for g in goals if g["name"] == name), None) for _, goals in runs]
        present = [g for g in found if g]
        medians = {k: statistics.median(g["values"][k] for g in present) for k in present[0]["values"]}
        each = all(g is not None and holds(g) for g in found)
        figures = " | ".join(shown(g) if g else "missing" for g in found)
        out.append(f"  {name:<{width}}  median {shown(present[0], medians)}; runs: {figures}  "
                   f"{verdict(each and holds(present[0], medians))}")
    text = "\n".join(out)
    print(text)
    if doc:
        write_doc(doc, setup, ["\n".join(lines) for lines, _ in runs], text)


def write_doc(path, setup, tables, medians):
    """Rewrites the section of the benchmarks page for this run's user count, keeping the other
    sizes' sections (and the soak's) as they were."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}"
    users = int(re.search(r"users=(\d+)", setup).group(1)) if re.search(r"users=(\d+)", setup) else 0
    body = [f"Measured {now} on {machine}: {len(tables)} full run(s) of `scripts/bench.sh`, one after the other.", ""]
    if medians:
        body += ["```", medians, "```", ""]
    for i, table in enumerate(tables, 1):
        body += [f"Run {i}:", "", "```", table, "```", ""]
    write_section(path, f"size-{users}", f"{users:,} users", "\n".join(body))


def write_section(path, key, title, body):
    """The page is the template with every section in place of {{SECTIONS}}: the sizes in
    order, then the soak. This run's section replaces its namesake; the others are kept."""
    template = open(os.path.join(os.path.dirname(__file__), "bench-doc.md")).read()
    current = open(path).read() if os.path.exists(path) else ""
    sections = dict(re.findall(r"<!-- ([\w-]+) -->\n(.*?)\n<!-- /\1 -->", current, re.S))
    sections[key] = f"## {title}\n\n{body.rstrip()}"
    order = sorted(sections, key=lambda k: (k == "soak", int(k[5:]) if k.startswith("size-") else 0, k))
    text = "\n\n".join(f"<!-- {k} -->\n{sections[k]}\n<!-- /{k} -->" for k in order)
    with open(path, "w") as f:
        f.write(template.replace("{{SECTIONS}}", text))


def soak_report(path, doc):
    """The soak's per-minute lines, and its three goals: RSS at the end within 10 % of minute 5,
    descriptors not growing, p99 of the last 5 minutes within 1.5x of the first 5."""
    rows = [json.loads(l) for l in open(path) if l.strip()]
    minutes = [r for r in rows if r["kind"] == "soak_minute"]
    if not minutes:
        raise SystemExit("bench-report: the soak recorded no minute")
    out = [f"{'minute':>6} {'RSS MB':>7} {'fds':>5} {'CQL conns':>9} {'requests':>9} {'errors':>6} {'p99 ms':>7}"]
    for m in minutes:
        out.append(f"{m['minute']:>6} {m['rss_kb'] / 1024:>7.1f} {m['fds']:>5} {m['cql_connections']:>9} {m['requests']:>9} "
                   f"{m['errors']:>6} {m['p99_ms']:>7.1f}")
    five = min(5, len(minutes))
    base, last = minutes[five - 1], minutes[-1]
    first_p99 = statistics.median(m["p99_ms"] for m in minutes[:five])
    last_p99 = statistics.median(m["p99_ms"] for m in minutes[-five:])
    growth = last["rss_kb"] / base["rss_kb"] - 1
    errors = sum(m["errors"] for m in minutes)
    goals = [
        goal(f"RSS at the end within 10 % of minute {five}", "{growth:+.1%}", [("growth", "<=", 0.10)], growth=abs(growth)),
        goal(f"open descriptors do not grow after minute {five}", "{most:.0f} at most, {base:.0f} at minute " + str(five),
             [("most", "<=", base["fds"])], most=float(max(m["fds"] for m in minutes[five - 1:])), base=float(base["fds"])),
        goal(f"page p99 of the last {five} minutes within 1.5x of the first {five}", "{ratio:.2f}x ({last:.1f} / {first:.1f} ms)",
             [("ratio", "<=", 1.5)], ratio=last_p99 / first_p99 if first_p99 else float("nan"), last=last_p99, first=first_p99),
        goal("no errors", "{errors:.0f}", [("errors", "==", 0)], errors=float(errors)),
    ]
    out += [""] + goal_lines(goals)
    text = "\n".join(out)
    print(text)
    if doc:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        setup = next((r["setup"] for r in rows if r["kind"] == "soak_setup"), "")
        body = f"Measured {now}: {setup}\n\n```\n{text}\n```"
        write_section(doc, "soak", "Soak", body)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] in ("report", "summary", "soak"):
        parser = argparse.ArgumentParser()
        parser.add_argument("results", nargs="+")
        parser.add_argument("--doc")
        parser.add_argument("--setup", default="")
        options = parser.parse_args(sys.argv[2:])
        if sys.argv[1] == "report":
            report(options.results[0], options.doc, options.setup)
        elif sys.argv[1] == "summary":
            summary(options.results, options.doc, options.setup)
        else:
            soak_report(options.results[0], options.doc)
        return
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    measured = measure(sys.argv[1], sys.argv[2:])
    for line in measured if isinstance(measured, list) else [measured]:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
