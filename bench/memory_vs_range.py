#!/usr/bin/env python3
"""Memory vs range length: peak resident set size of batchfetch (GNU time -v, "Maximum
resident set size") back-filling 150, 600 and 1,500 days of date,query,page with
25,000-row pages. DESIGN.md promises bounded memory: pending batches <= queue_limit and
fetched pages waiting for the writer <= inflight_limit, so the peak must not grow with
the range. Aim: the 1,500-day peak within 1.2x of the 150-day peak.

mockgsc answers at once (latency 0), the quota never binds (--qpm 100000 per 1 s window
on both sides: the engine's sliding-window log holds one 8-byte slot per unit of budget,
so an astronomic --qpm would show up as memory), --rows-per-day 100 so an ordinary day is
one short page, while mockgsc's huge days (about 1 in 20, capped at 50,000 rows) give
the full 25,000-row pages (~3 MB of JSON each) that fill the in-flight bound.
Each length runs --repeat times (min/median/max); every run must exit 0 and store
exactly the expected rows with no duplicate.
"""
import argparse
import os
import re
import sqlite3
import sys
import tempfile
import urllib.parse

import bench_common as bc

QPM = 100000
WINDOW = 1


def expected_rows(base, dates, dims):
    total = 0
    for d in dates:
        q = urllib.parse.urlencode({"site": bc.SITE, "type": "web", "date": d, "dimensions": dims})
        total += bc.get_json(f"{base}/__expected?{q}")["rows"]
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--days", default="150,600,1500")
    ap.add_argument("--dimensions", default="date,query,page")
    ap.add_argument("--rows-per-day", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()

    warning = bc.announce(__doc__, args.build)
    bf, mock_bin = bc.binaries(args.build)
    failures, results = [], []
    mock_args = ["--latency-ms", "0", "--qpm", str(QPM), "--qpm-window", str(WINDOW),
                 "--rows-per-day", str(args.rows_per_day), "--seed", "13", "--threads", "1"]
    for days in [int(d) for d in args.days.split(",")]:
        dates = bc.recent_dates(days)
        rss, walls, runs = [], [], []
        for rep in range(args.repeat):
            with bc.MockGsc(mock_bin, mock_args) as mock, tempfile.TemporaryDirectory() as tmp:
                if rep == 0:
                    want = expected_rows(mock.base, dates, args.dimensions)
                db = os.path.join(tmp, "memory.db")
                cmd = ["/usr/bin/time", "-v"] + bc.backfill_cmd(
                    bf, mock.base, db, dates, args.dimensions, 25000, args.concurrency, QPM,
                    WINDOW)
                run = bc.run_child(cmd)
                stats = mock.stats()
                con = sqlite3.connect(db)
                rows = con.execute("SELECT COUNT(*) FROM search_analytics").fetchone()[0]
                distinct = con.execute(
                    "SELECT COUNT(*) FROM (SELECT DISTINCT report_id, date,"
                    " hour, query, page, country, device, search_appearance"
                    " FROM search_analytics)").fetchone()[0]
                con.close()
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
            summary = bc.parse_engine_summary(run.stdout + run.stderr)
            checks = []
            if run.rc != 0:
                checks.append(f"exit code {run.rc}: {run.stderr.strip()[-300:]}")
            if rows != want or distinct != rows:
                checks.append(f"stored {rows} rows ({distinct} distinct), expected {want}")
            if not m:
                checks.append("no 'Maximum resident set size' from /usr/bin/time -v")
            if checks:
                failures.append(f"{days} days run {rep}: " + "; ".join(checks))
                print(f"FAIL {days} days run {rep}: " + "; ".join(checks), file=sys.stderr)
                continue
            rss.append(int(m.group(1)) / 1024)
            walls.append(run.wall)
            runs.append({"peak_rss_mib": rss[-1], "wall_s": run.wall, "rows": rows,
                         "requests": stats["requests"], "mailbox_peak": summary["mailbox_peak"]})
            print(f"{days:5d} days run {rep}: peak RSS {rss[-1]:7.1f} MiB, {run.wall:6.2f} s, "
                  f"{stats['requests']} pages, {rows} rows", flush=True)
        if rss:
            results.append({"days": days, "peak_rss_mib": bc.summarise(rss),
                            "wall_s": bc.summarise(walls), "pages": runs[-1]["requests"],
                            "rows": runs[-1]["rows"], "runs": runs})
    ratio = None
    if len(results) >= 2:
        ratio = results[-1]["peak_rss_mib"]["median"] / results[0]["peak_rss_mib"]["median"]
    data = {"benchmark": "memory_vs_range", "dimensions": args.dimensions, "row_limit": 25000,
            "rows_per_day": args.rows_per_day, "concurrency": args.concurrency,
            "repeat": args.repeat, "build_warning": warning,
            "command": " ".join(["bench/memory_vs_range.py"] + sys.argv[1:]),
            "results": results, "longest_over_shortest": ratio, "failures": failures,
            "ok": not failures}
    bc.write_json(os.path.join(args.out, "memory_vs_range.json"), data)
    with open(os.path.join(args.out, "memory_vs_range.dat"), "w") as f:
        f.write("# days peak_rss_mib_median min max\n")
        for r in results:
            p = r["peak_rss_mib"]
            f.write(f"{r['days']} {p['median']:.2f} {p['min']:.2f} {p['max']:.2f}\n")
    if ratio is not None:
        print(f"peak RSS, longest / shortest range (medians): {ratio:.2f}x")
    if failures:
        print("memory_vs_range: failed checks:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
