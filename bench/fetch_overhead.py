#!/usr/bin/env python3
"""Fetch overhead vs curl: pages per second and CPU seconds per 1,000 pages of batchfetch
against `curl --parallel --parallel-max N` fetching the same request bodies from the same
mockgsc, side by side in one run. mockgsc answers at once (latency 0) and the quota never
binds (--qpm 100000 per 1 s window on both sides), so what remains is the cost of asking:
HTTP, JSON, scheduling, and for batchfetch also parsing every row and writing it to
SQLite (curl writes its bodies to /dev/null). CPU is the child's own user+sys time from
getrusage (wait4); mockgsc's CPU over the same run is reported beside it.

Workload: DAYS days of date,country,device with --rows-per-day 10 and row limit 25,000,
so every day is exactly one small page (~1-20 rows, ~1-3 KB) and both tools send the
same DAYS requests (the body batchfetch's codec builds). Runs alternate
batchfetch/curl, --repeat times each; min/median/max. Checked: every run exits 0 and
mockgsc answered exactly DAYS requests with 200; batchfetch stored every expected row
with no duplicate (the first run checks every day's checksum, later runs the totals).
"""
import argparse
import json
import os
import sys
import tempfile

import bench_common as bc

QPM = 100000  # per --window seconds: far above what either tool reaches
WINDOW = 1


def cpu_ticks(pid):
    """user+sys clock ticks of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def write_curl_config(path, base, dates, dims, parallel):
    url = f"{base}/webmasters/v3/sites/{bc.SITE.replace(':', '%3A')}/searchAnalytics/query"
    with open(path, "w") as f:
        f.write(f"parallel\nparallel-max = {parallel}\nsilent\nshow-error\nfail\n")
        for i, d in enumerate(dates):
            # The engine's QueryBody field order; JSON with the config file's escaping.
            body = json.dumps({"startDate": d, "endDate": d, "dimensions": dims.split(","),
                               "type": "web", "dataState": "final", "rowLimit": 25000,
                               "startRow": 0}, separators=(",", ":"))
            if i:
                f.write("next\n")
            f.write(f'url = "{url}"\noutput = "/dev/null"\n'
                    f'header = "Content-Type: application/json"\n'
                    f'data = "{body.replace(chr(34), chr(92) + chr(34))}"\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--days", type=int, default=3000)
    ap.add_argument("--dimensions", default="date,country,device")
    ap.add_argument("--concurrency", default="1,8")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mock-threads", type=int, default=1)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()

    warning = bc.announce(__doc__, args.build)
    bf, mock_bin = bc.binaries(args.build)
    dates = bc.recent_dates(args.days)
    levels = [int(c) for c in args.concurrency.split(",")]
    failures, results = [], []
    mock_args = ["--latency-ms", "0", "--qpm", str(QPM), "--qpm-window", str(WINDOW),
                 "--rows-per-day", "10", "--seed", "11", "--threads", str(args.mock_threads)]
    with bc.MockGsc(mock_bin, mock_args) as mock, tempfile.TemporaryDirectory() as tmp:
        expected_rows = 0
        for d in dates:
            q = f"site={bc.SITE}&type=web&date={d}&dimensions={args.dimensions}"
            expected_rows += bc.get_json(f"{mock.base}/__expected?{q.replace(':', '%3A')}")["rows"]
        for n in levels:
            cfg = os.path.join(tmp, f"curl-{n}.cfg")
            write_curl_config(cfg, mock.base, dates, args.dimensions, n)
            samples = {"batchfetch": [], "curl": []}
            for rep in range(args.repeat):
                order = ["batchfetch", "curl"] if rep % 2 == 0 else ["curl", "batchfetch"]
                for tool in order:
                    db = os.path.join(tmp, f"overhead-{n}-{rep}.db")
                    if tool == "batchfetch":
                        cmd = bc.backfill_cmd(bf, mock.base, db, dates, args.dimensions, 25000,
                                              n, QPM, WINDOW)
                    else:
                        cmd = ["curl", "-K", cfg]
                    before, ticks = mock.stats(), cpu_ticks(mock.proc.pid)
                    run = bc.run_child(cmd)
                    mock_cpu = (cpu_ticks(mock.proc.pid) - ticks) / os.sysconf("SC_CLK_TCK")
                    after = mock.stats()
                    sent = after["requests"] - before["requests"]
                    ok200 = after["by_status"].get("200", 0) - before["by_status"].get("200", 0)
                    checks = []
                    if run.rc != 0:
                        checks.append(f"exit code {run.rc}: {(run.stderr or run.stdout)[-300:]}")
                    if sent != len(dates) or ok200 != len(dates):
                        checks.append(f"mockgsc saw {sent} requests ({ok200} answered 200), "
                                      f"expected {len(dates)}")
                    if tool == "batchfetch":
                        if rep == 0:
                            dups, problems, rows = bc.check_db(db, mock.base, dates,
                                                               args.dimensions)
                        else:
                            import sqlite3
                            con = sqlite3.connect(db)
                            rows = con.execute("SELECT COUNT(*) FROM search_analytics").fetchone()[0]
                            con.close()
                            dups, problems = 0, ([] if rows == expected_rows else
                                                 [f"{rows} rows, expected {expected_rows}"])
                        if dups or problems or rows != expected_rows:
                            checks.append(f"stored {rows} rows (expected {expected_rows}), "
                                          f"{dups} duplicates, {len(problems)} days wrong")
                        os.remove(db)
                    if checks:
                        failures.append(f"{tool} N={n} run {rep}: " + "; ".join(checks))
                        print(f"FAIL {tool} N={n} run {rep}: " + "; ".join(checks), file=sys.stderr)
                    pages_per_s = len(dates) / run.wall
                    cpu_per_k = run.cpu / len(dates) * 1000
                    samples[tool].append({"wall_s": run.wall, "pages_per_s": pages_per_s,
                                          "cpu_s_per_1000_pages": cpu_per_k,
                                          "mockgsc_cpu_s_per_1000_pages":
                                              mock_cpu / len(dates) * 1000})
                    print(f"N={n:2d} run {rep} {tool:10s}: {pages_per_s:7.0f} pages/s, "
                          f"{cpu_per_k:5.3f} CPU s per 1,000 pages (mockgsc "
                          f"{mock_cpu / len(dates) * 1000:5.3f})", flush=True)
            entry = {"concurrency": n}
            for tool, runs in samples.items():
                entry[tool] = {key: bc.summarise([r[key] for r in runs])
                               for key in runs[0]}
                entry[tool]["runs"] = runs
            entry["rate_ratio"] = (entry["batchfetch"]["pages_per_s"]["median"] /
                                   entry["curl"]["pages_per_s"]["median"])
            results.append(entry)

    data = {"benchmark": "fetch_overhead", "days": args.days, "pages_per_run": len(dates),
            "dimensions": args.dimensions, "expected_rows": expected_rows,
            "repeat": args.repeat, "mock_threads": args.mock_threads,
            "curl_version": os.popen("curl --version").readline().strip(),
            "build_warning": warning, "command": " ".join(["bench/fetch_overhead.py"] + sys.argv[1:]),
            "results": results, "failures": failures, "ok": not failures}
    bc.write_json(os.path.join(args.out, "fetch_overhead.json"), data)
    with open(os.path.join(args.out, "fetch_overhead.dat"), "w") as f:
        f.write("# tool pages_per_s_median low high cpu_s_per_1000_median\n")
        for r in results:
            for tool in ("batchfetch", "curl"):
                p = r[tool]["pages_per_s"]
                f.write(f"\"{tool} N={r['concurrency']}\" {p['median']:.1f} {p['min']:.1f} "
                        f"{p['max']:.1f} {r[tool]['cpu_s_per_1000_pages']['median']:.4f}\n")
    for r in results:
        print(f"N={r['concurrency']}: batchfetch/curl pages per second (medians) = "
              f"{r['rate_ratio']:.2f}")
    if failures:
        print("fetch_overhead: failed checks:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
