#!/usr/bin/env python3
"""The success table: speedup of batchfetch over its own sequential rollback
(--max-concurrency 1) at 1, 2, 4, 8, 16 and 32 workers, time-scaled ten times (quota
window 6 s on both sides; mockgsc latency median 50 ms, p99 200 ms, --qpm 1200 so the
engine's budget is 960 per 6 s). Per concurrency: wall time (min/median/max of
--repeat runs), speedup of the medians, the most requests mockgsc saw in any quota
window vs the budget (its /__stats max_window_requests: the server's arrivals, not the
client's belief), duplicates, peak coordinator mailbox depth (from batchfetch's summary
line), the halt time (separate runs: mockgsc --fatal-after answers 403 permission
denied from request 2N+2 on with latency median 500 ms / p99 2 s; time from the
engine's "halting" log line, stamped when the fatal response is classified, to the
process being reaped), and the theoretical ceiling min(N, budget x mean latency /
window) with the fraction of it reached.

Workload: 150 days of date,country,device (mockgsc caps a day at 150 rows), row limit
25, so ~7 pages per day chained by startRow and ~980 pages per run: enough to fill more
than one quota window, short chains, and a database cost that stays small (~21,000 rows).

Every run is checked: exit code 0, every day's rows and checksum equal /__expected, no
duplicate rows, no quota rejection, no window over the budget; halt runs must exit 3
without duplicates. A failed check makes the script exit 1: a fast wrong answer is not a
result. Each run gets a fresh mockgsc (same seed, same data) so its stats are its own.
"""
import argparse
import datetime
import math
import os
import sys
import tempfile

import bench_common as bc


def halting_time(stderr):
    """Wall-clock time (s since epoch) of the engine's 'halting' JSON log line, or None."""
    import json
    for line in stderr.splitlines():
        if line.startswith("{") and "halting" in line:
            try:
                stamp = json.loads(line)["time"]
            except (ValueError, KeyError):
                continue
            return datetime.datetime.fromisoformat(stamp).timestamp()
    return None


def timed_runs(args, bf, mock_bin, dates, n, budget, failures):
    """--repeat checked backfills at concurrency n; returns the per-level record."""
    mock_args = ["--latency-ms", str(args.latency_ms), "--latency-p99-ms", str(args.latency_p99_ms),
                 "--qpm", str(args.qpm), "--qpm-window", str(args.window),
                 "--rows-per-day", str(args.rows_per_day), "--seed", "5", "--threads", "2"]
    walls, windows, mailbox, runs = [], [], [], []
    for rep in range(args.repeat):
        with bc.MockGsc(mock_bin, mock_args) as mock, tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "bench.db")
            run = bc.run_child(bc.backfill_cmd(bf, mock.base, db, dates, args.dimensions,
                                               args.row_limit, n, args.qpm, args.window))
            stats = mock.stats()
            dups, problems, rows = bc.check_db(db, mock.base, dates, args.dimensions)
        summary = bc.parse_engine_summary(run.stdout + run.stderr)
        checks = []
        if run.rc != 0:
            checks.append(f"exit code {run.rc}: {run.stderr.strip()[-300:]}")
        if dups:
            checks.append(f"{dups} duplicate rows")
        if problems:
            checks.append(f"{len(problems)} days wrong, e.g. {problems[0]}")
        if stats["quota_rejections"]:
            checks.append(f"{stats['quota_rejections']} quota rejections")
        if stats["max_window_requests"] > budget:
            checks.append(f"{stats['max_window_requests']} requests in one {args.window:g} s window"
                          f" > budget {budget}")
        if checks:
            failures.append(f"concurrency {n} run {rep}: " + "; ".join(checks))
            print(f"FAIL concurrency {n} run {rep}: " + "; ".join(checks), file=sys.stderr)
        walls.append(run.wall)
        windows.append(stats["max_window_requests"])
        if summary["mailbox_peak"] is not None:
            mailbox.append(summary["mailbox_peak"])
        runs.append({"wall_s": run.wall, "cpu_s": run.cpu, "requests": stats["requests"],
                     "pages_served": stats["page_fetches_total"], "rows": rows,
                     "duplicates": dups, "days_wrong": len(problems),
                     "quota_rejections": stats["quota_rejections"],
                     "max_window_requests": stats["max_window_requests"],
                     "engine_peak_window": summary["engine_peak_window"],
                     "max_in_flight": stats["max_in_flight"],
                     "mailbox_peak": summary["mailbox_peak"], "ok": not checks})
        print(f"concurrency {n:3d} run {rep}: {run.wall:6.2f} s, {stats['requests']} requests, "
              f"server peak window {stats['max_window_requests']}/{budget}, rows {rows}, "
              f"dups {dups}, mailbox peak {summary['mailbox_peak']}"
              f"{'' if not checks else '  FAIL'}", flush=True)
    return {"concurrency": n, "wall_s": bc.summarise(walls), "runs": runs,
            "requests": runs[-1]["requests"], "peak_window_requests": max(windows),
            "quota_rejections": sum(r["quota_rejections"] for r in runs),
            "duplicates": sum(r["duplicates"] for r in runs),
            "mailbox_peak": max(mailbox) if mailbox else None}


def halt_runs(args, bf, mock_bin, dates, n, failures):
    """--halt-repeat runs that hit a fatal 403; returns {min, median, max} seconds or None."""
    fatal_after = 2 * n + 2
    mock_args = ["--latency-ms", str(args.halt_latency_ms),
                 "--latency-p99-ms", str(args.halt_latency_p99_ms),
                 "--qpm", str(args.qpm), "--qpm-window", str(args.window),
                 "--rows-per-day", str(args.rows_per_day), "--seed", "7", "--threads", "2",
                 "--fatal-after", str(fatal_after)]
    times = []
    for rep in range(args.halt_repeat):
        with bc.MockGsc(mock_bin, mock_args) as mock, tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "halt.db")
            run = bc.run_child(bc.backfill_cmd(bf, mock.base, db, dates, args.dimensions,
                                               args.row_limit, n, args.qpm, args.window,
                                               ["--log-format", "json"]))
            stats = mock.stats()
            dups, _, _ = bc.check_db(db, mock.base, dates[:1], args.dimensions)
        decided = halting_time(run.stderr)
        checks = []
        if run.rc != 3:
            checks.append(f"exit code {run.rc}, expected 3: {run.stderr.strip()[-300:]}")
        if decided is None:
            checks.append("no 'halting' log line")
        if dups:
            checks.append(f"{dups} duplicate rows")
        if checks:
            failures.append(f"halt at concurrency {n} run {rep}: " + "; ".join(checks))
            print(f"FAIL halt concurrency {n} run {rep}: " + "; ".join(checks), file=sys.stderr)
            continue
        # The log stamp has millisecond resolution and is truncated: add half a ms.
        times.append(max(0.0, run.ended - (decided + 0.0005)))
        print(f"halt concurrency {n:3d} run {rep}: exit {run.rc} {times[-1]*1000:6.0f} ms after "
              f"'halting', {stats['in_flight']} requests still in flight at the server, "
              f"{stats['requests']} sent", flush=True)
    return bc.summarise(times) if times else None


def write_markdown(path, data):
    r0 = data["results"]
    w = data["window_s"]
    lines = [
        f"{data['days']} days of {data['dimensions']}, row limit {data['row_limit']} "
        f"(~{r0[0]['requests']} pages per run), mockgsc latency median {data['latency_ms']:g} ms /"
        f" p99 {data['latency_p99_ms']:g} ms (mean {data['mean_latency_ms']:.1f} ms), budget "
        f"{data['budget']} per {w:g} s window (--qpm {data['qpm']} x 0.8, time-scaled 10x), "
        f"{data['repeat']} runs per row (min / median / max). Halt: separate runs, latency "
        f"median {data['halt_latency_ms']:g} ms / p99 {data['halt_latency_p99_ms']:g} ms, 403 "
        f"permission denied from request 2N+2 on, {data['halt_repeat']} runs.", "",
        "| workers | wall s (min / median / max) | speedup | ceiling | of ceiling "
        "| server peak per window / budget | quota rejections | duplicates | mailbox peak "
        "| halt ms (min / median / max) |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for r in r0:
        s = r["wall_s"]
        h = r["halt_s"]
        halt = (f"{h['min']*1000:.0f} / {h['median']*1000:.0f} / {h['max']*1000:.0f}"
                if h else "n/a")
        mailbox = "n/a" if r["mailbox_peak"] is None else str(r["mailbox_peak"])
        lines.append(
            f"| {r['concurrency']} | {s['min']:.2f} / {s['median']:.2f} / {s['max']:.2f} | "
            f"{r['speedup']:.2f}x | {r['ceiling']:.2f}x | {r['fraction_of_ceiling']*100:.0f}% | "
            f"{r['peak_window_requests']} / {data['budget']} | {r['quota_rejections']} | "
            f"{r['duplicates']} | {mailbox} | {halt} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def write_plot_data(path, data):
    """Columns: workers, speedup (median), speedup low, speedup high, ceiling."""
    base = data["results"][0]["wall_s"]["median"]
    with open(path, "w") as f:
        f.write("# workers speedup_median speedup_low speedup_high ceiling\n")
        for r in data["results"]:
            s = r["wall_s"]
            f.write(f"{r['concurrency']} {r['speedup']:.4f} {base / s['max']:.4f} "
                    f"{base / s['min']:.4f} {r['ceiling']:.4f}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--days", type=int, default=150)
    ap.add_argument("--dimensions", default="date,country,device")
    ap.add_argument("--concurrency", default="1,2,4,8,16,32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--halt-repeat", type=int, default=3)
    ap.add_argument("--row-limit", type=int, default=25)
    ap.add_argument("--rows-per-day", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--latency-p99-ms", type=float, default=200)
    ap.add_argument("--halt-latency-ms", type=float, default=500)
    ap.add_argument("--halt-latency-p99-ms", type=float, default=2000)
    ap.add_argument("--qpm", type=int, default=1200)
    ap.add_argument("--window", type=float, default=6)
    ap.add_argument("--out", default="bench/results", help="directory for speedup.json/.md/.dat")
    args = ap.parse_args()

    warning = bc.announce(__doc__, args.build)
    bf, mock_bin = bc.binaries(args.build)
    budget = int(math.floor(args.qpm * 0.8 + 1e-9))
    dates = bc.recent_dates(args.days)
    levels = [int(c) for c in args.concurrency.split(",")]
    if levels[0] != 1:
        raise SystemExit("--concurrency must start with 1: the baseline")
    # Mean of mockgsc's log-normal latency with this median and p99.
    sigma = (math.log(args.latency_p99_ms / args.latency_ms) / 2.326
             if args.latency_p99_ms > args.latency_ms else 0)
    mean_latency_s = args.latency_ms / 1000 * math.exp(sigma * sigma / 2)

    failures, results = [], []
    for n in levels:
        r = timed_runs(args, bf, mock_bin, dates, n, budget, failures)
        r["halt_s"] = halt_runs(args, bf, mock_bin, dates, n, failures)
        r["ceiling"] = min(n, budget * mean_latency_s / args.window)
        results.append(r)
    base_wall = results[0]["wall_s"]["median"]
    for r in results:
        r["speedup"] = base_wall / r["wall_s"]["median"]
        r["fraction_of_ceiling"] = r["speedup"] / r["ceiling"]

    mailbox_reported = all(r["mailbox_peak"] is not None for r in results)
    data = {"benchmark": "speedup", "days": args.days, "dimensions": args.dimensions,
            "row_limit": args.row_limit, "rows_per_day": args.rows_per_day,
            "latency_ms": args.latency_ms, "latency_p99_ms": args.latency_p99_ms,
            "mean_latency_ms": mean_latency_s * 1000, "halt_latency_ms": args.halt_latency_ms,
            "halt_latency_p99_ms": args.halt_latency_p99_ms, "qpm": args.qpm,
            "window_s": args.window, "budget": budget, "repeat": args.repeat,
            "halt_repeat": args.halt_repeat, "date_range": [dates[0], dates[-1]],
            "mailbox_peak_reported": mailbox_reported, "build_warning": warning,
            "command": " ".join(["bench/speedup.py"] + sys.argv[1:]),
            "results": results, "failures": failures, "ok": not failures}
    os.makedirs(args.out, exist_ok=True)
    bc.write_json(os.path.join(args.out, "speedup.json"), data)
    write_plot_data(os.path.join(args.out, "speedup.dat"), data)
    print("\n".join(write_markdown(os.path.join(args.out, "speedup.md"), data)))
    if not mailbox_reported:
        print("note: batchfetch's summary line has no 'mailbox peak N'; reported n/a")
    if failures:
        print(f"speedup benchmark: {len(failures)} run(s) failed a check:\n  " +
              "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
