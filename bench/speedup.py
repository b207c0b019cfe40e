#!/usr/bin/env python3
"""Speedup of batchfetch over its own sequential rollback (--max-concurrency 1).

What it measures: wall time to back-fill DAYS days from mockgsc (time-scaled: latency
median 50 ms, p99 200 ms, --qpm 1200 --qpm-window 6, engine --qpm-window 6) at each
concurrency, the speedup over concurrency 1, the most requests the server saw in any
quota window vs the budget (qpm x 0.8), and the theoretical ceiling
min(N, budget x mean latency / window) with the fraction of it reached.

Every run is checked: exit code 0, every day's rows and checksum equal /__expected,
no duplicate rows, no quota rejection, no window over the budget. A failed check makes
the script exit 1: a fast wrong answer is not a result.

Each configuration gets a fresh mockgsc (same seed, so the same data) so its stats
belong to that run alone. Reports min/median/max wall time over --repeat runs.
"""
import argparse
import datetime
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SITE = "sc-domain:example.com"
DIMS = "date,query,page"


def start_mockgsc(binary, args):
    proc = subprocess.Popen([binary, "--port", "0"] + args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"mockgsc did not start: {line!r}")
    return proc, "http://" + line[len("listening on "):]


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def fnv_sum(rows):
    total = 0
    for keys, clicks, impressions in rows:
        h = 0xcbf29ce484222325
        s = "\x1f".join(keys) + "\x1e" + str(clicks) + "\x1e" + str(impressions)
        for b in s.encode():
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        total = (total + h) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % total


def check_db(db, base, dates):
    con = sqlite3.connect(db)
    dups = con.execute(
        "SELECT COALESCE(SUM(n-1),0) FROM (SELECT COUNT(*) n FROM search_analytics GROUP BY "
        "site,search_type,dimensions,date,hour,query,page,country,device,search_appearance "
        "HAVING n>1)").fetchone()[0]
    by_day = {}
    for date, query, page, clicks, impressions in con.execute(
            "SELECT date, query, page, clicks, impressions FROM search_analytics"):
        by_day.setdefault(date, []).append(((date, query, page), int(clicks), int(impressions)))
    problems = []
    total_rows = 0
    for d in dates:
        q = urllib.parse.urlencode({"site": SITE, "type": "web", "date": d, "dimensions": DIMS})
        want = get_json(f"{base}/__expected?{q}")
        got = by_day.get(d, [])
        total_rows += len(got)
        if len(got) != want["rows"] or (got and fnv_sum(got) != want["checksum"]):
            problems.append(f"{d}: stored {len(got)} rows, expected {want['rows']}")
    con.close()
    return dups, problems, total_rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--days", type=int, default=150)
    ap.add_argument("--concurrency", default="1,8,16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--row-limit", type=int, default=1000)
    ap.add_argument("--rows-per-day", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--latency-p99-ms", type=float, default=200)
    ap.add_argument("--qpm", type=int, default=1200)
    ap.add_argument("--window", type=float, default=6)
    ap.add_argument("--json", default="bench/results/speedup.json")
    ap.add_argument("--markdown", default="bench/results/speedup.md")
    args = ap.parse_args()

    mock_bin = os.path.join(args.build, "tools/mockgsc/mockgsc")
    bf_bin = os.path.join(args.build, "tools/batchfetch/batchfetch")
    budget = int(math.floor(args.qpm * 0.8 + 1e-9))
    start = datetime.date(2025, 1, 1)
    dates = [(start + datetime.timedelta(days=i)).isoformat() for i in range(args.days)]
    levels = [int(c) for c in args.concurrency.split(",")]
    mock_args = ["--latency-ms", str(args.latency_ms), "--latency-p99-ms", str(args.latency_p99_ms),
                 "--qpm", str(args.qpm), "--qpm-window", str(args.window),
                 "--rows-per-day", str(args.rows_per_day), "--seed", "5", "--threads", "2"]
    # Mean of a log-normal with this median and p99.
    sigma = math.log(args.latency_p99_ms / args.latency_ms) / 2.3263 if args.latency_p99_ms > args.latency_ms else 0
    mean_latency_s = args.latency_ms / 1000 * math.exp(sigma * sigma / 2)

    failed = False
    results = []
    for n in levels:
        walls, windows, pages = [], [], 0
        for rep in range(args.repeat):
            mock, base = start_mockgsc(mock_bin, mock_args)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    db = os.path.join(tmp, "bench.db")
                    cmd = [bf_bin, "backfill", "--site", SITE, "--from", dates[0], "--to", dates[-1],
                           "--dimensions", DIMS, "--row-limit", str(args.row_limit), "--db", db,
                           "--api-base", base, "--max-concurrency", str(n), "--qpm", str(args.qpm),
                           "--qpm-window", str(args.window), "--progress", "never",
                           "--log-level", "warn"]
                    t0 = time.monotonic()
                    run = subprocess.run(cmd, capture_output=True, text=True)
                    wall = time.monotonic() - t0
                    stats = get_json(base + "/__stats")
                    dups, problems, rows = check_db(db, base, dates)
                    checks = []
                    if run.returncode != 0:
                        checks.append(f"exit code {run.returncode}: {run.stderr.strip()[-300:]}")
                    if dups:
                        checks.append(f"{dups} duplicate rows")
                    if problems:
                        checks.append(f"{len(problems)} days wrong, e.g. {problems[0]}")
                    if stats["quota_rejections"]:
                        checks.append(f"{stats['quota_rejections']} quota rejections")
                    if stats["max_window_requests"] > budget:
                        checks.append(f"{stats['max_window_requests']} requests in one window > budget {budget}")
                    if checks:
                        failed = True
                        print(f"FAIL concurrency {n} run {rep}: " + "; ".join(checks), file=sys.stderr)
                    walls.append(wall)
                    windows.append(stats["max_window_requests"])
                    pages = stats["requests"]
                    print(f"concurrency {n:3d} run {rep}: {wall:6.2f} s, {stats['requests']} requests, "
                          f"peak window {stats['max_window_requests']}/{budget}, rows {rows}", flush=True)
            finally:
                mock.terminate()
                mock.wait(timeout=10)
        ceiling = min(n, budget * mean_latency_s / args.window)
        results.append({"concurrency": n, "wall_s": {"min": min(walls), "median": statistics.median(walls),
                                                      "max": max(walls)},
                        "requests": pages, "peak_window_requests": max(windows), "budget": budget,
                        "ceiling": ceiling})
    base_wall = results[0]["wall_s"]["median"]
    for r in results:
        r["speedup"] = base_wall / r["wall_s"]["median"]
        r["fraction_of_ceiling"] = r["speedup"] / r["ceiling"] if r["ceiling"] else 0

    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"days": args.days, "row_limit": args.row_limit, "latency_ms": args.latency_ms,
                   "latency_p99_ms": args.latency_p99_ms, "mean_latency_ms": mean_latency_s * 1000,
                   "window_s": args.window, "budget": budget, "results": results, "ok": not failed}, f, indent=2)
    lines = [f"Speedup over `--max-concurrency 1`: {args.days} days, row limit {args.row_limit}, "
             f"latency median {args.latency_ms:g} ms / p99 {args.latency_p99_ms:g} ms "
             f"(mean {mean_latency_s*1000:.1f} ms), budget {budget} per {args.window:g} s window, "
             f"{args.repeat} runs each (min/median/max).", "",
             "| workers | wall s (min / median / max) | speedup | peak requests per window / budget | ceiling | of ceiling |",
             "|---:|---|---:|---|---:|---:|"]
    for r in results:
        w = r["wall_s"]
        lines.append(f"| {r['concurrency']} | {w['min']:.2f} / {w['median']:.2f} / {w['max']:.2f} | "
                     f"{r['speedup']:.2f}x | {r['peak_window_requests']} / {r['budget']} | "
                     f"{r['ceiling']:.2f}x | {r['fraction_of_ceiling']*100:.0f}% |")
    with open(args.markdown, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    if failed:
        print("speedup benchmark: a run stored wrong data or broke the quota (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import urllib.parse
    sys.exit(main())
