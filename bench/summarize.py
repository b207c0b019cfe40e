#!/usr/bin/env python3
"""Writes bench/results/summary.md from the JSON the benchmarks left in bench/results:
every table, each aim named MET or MISSED with its figure, and the command that made it.
Measures nothing itself; a missing result file is reported as NOT RUN.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys


def load(results, name):
    try:
        with open(os.path.join(results, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def verdict(ok):
    return "MET" if ok else "MISSED"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = os.environ.get("BENCH_COMMIT") or subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
            f"commit {commit or 'unknown'}, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")


def speedup_section(d, aims):
    if not d:
        aims.append(("Speedup table", "NOT RUN", "MISSED"))
        return ["## 1. Success table — speedup over the sequential rollback", "", "NOT RUN", ""]
    by_n = {r["concurrency"]: r for r in d["results"]}
    lines = ["## 1. Success table — speedup over the sequential rollback", "",
             f"Command: `python3 {d['command']}` (from `make bench`)", ""]
    with open(os.path.join(os.path.dirname(d["_path"]), "speedup.md")) as f:
        lines += f.read().rstrip().split("\n")
    lines += ["", "![speedup vs workers](speedup.png)", ""]
    rejections = sum(r["quota_rejections"] for r in d["results"])
    over = [r for r in d["results"] if r["peak_window_requests"] > d["budget"]]
    dups = sum(r["duplicates"] for r in d["results"])
    wrong = sum(run["days_wrong"] for r in d["results"] for run in r["runs"])
    if 8 in by_n:
        s8 = by_n[8]["speedup"]
        aims.append(("Speedup at 8 workers >= 4x with zero quota rejections (required)",
                     f"{s8:.2f}x, {rejections} rejections", verdict(s8 >= 4 and rejections == 0)))
        aims.append(("Speedup at 8 workers >= 8x (aim)", f"{s8:.2f}x", verdict(s8 >= 8)))
    worst = min(d["results"], key=lambda r: r["fraction_of_ceiling"])
    aims.append(("Every concurrency >= 90% of its ceiling (aim)",
                 f"lowest {worst['fraction_of_ceiling']*100:.0f}% at {worst['concurrency']} "
                 f"workers", verdict(worst["fraction_of_ceiling"] >= 0.9)))
    peak = max(r["peak_window_requests"] for r in d["results"])
    aims.append((f"Server-counted requests in any {d['window_s']:g} s window <= budget "
                 f"{d['budget']} in every run (required, DESIGN promise 1)",
                 f"max {peak}" + (f" (over at {', '.join(str(r['concurrency']) for r in over)}"
                                  " workers)" if over else ""), verdict(not over)))
    aims.append(("No duplicate or missing row in any run (required)",
                 f"{dups} duplicates, {wrong} wrong days", verdict(dups == 0 and wrong == 0)))
    halts = [r["halt_s"]["max"] for r in d["results"] if r.get("halt_s")]
    if halts:
        aims.append(("Halt within 1 s of the fatal response (DESIGN promise 3)",
                     f"worst {max(halts)*1000:.0f} ms", verdict(max(halts) <= 1.0)))
    if not d["mailbox_peak_reported"]:
        lines += ["Mailbox peak: n/a — batchfetch's summary line did not report "
                  "`mailbox peak N`.", ""]
    if d["failures"]:
        lines += ["Failed checks:", ""] + [f"- {f}" for f in d["failures"]] + [""]
    return lines


def overhead_section(d, aims):
    head = "## 2. Fetch overhead vs curl"
    if not d:
        aims.append(("batchfetch within 10% of curl's pages/s", "NOT RUN", "MISSED"))
        return [head, "", "NOT RUN", ""]
    lines = [head, "", f"Command: `python3 {d['command']}`", "",
             f"{d['pages_per_run']} small pages (one per day, {d['dimensions']}, "
             f"{d['expected_rows']} rows in all), mockgsc latency 0 and no binding quota, "
             f"{d['repeat']} runs per tool alternating (min / median / max). CPU is the "
             "child's own user+sys (getrusage). batchfetch also parses every row and "
             "writes it to SQLite; curl writes its bodies to /dev/null.", "",
             "| N | tool | pages/s (min / median / max) | CPU s per 1,000 pages (median) "
             "| mockgsc CPU s per 1,000 pages |",
             "|---:|---|---|---:|---:|"]
    for r in d["results"]:
        for tool in ("batchfetch", "curl"):
            t = r[tool]
            p = t["pages_per_s"]
            lines.append(f"| {r['concurrency']} | {tool} | {p['min']:.0f} / {p['median']:.0f} / "
                         f"{p['max']:.0f} | {t['cpu_s_per_1000_pages']['median']:.3f} | "
                         f"{t['mockgsc_cpu_s_per_1000_pages']['median']:.3f} |")
        aims.append((f"batchfetch within 10% of curl's pages/s at N={r['concurrency']} (aim)",
                     f"{r['rate_ratio']*100:.0f}% of curl",
                     verdict(r["rate_ratio"] >= 0.9)))
    lines += ["", "![pages per second, batchfetch vs curl](fetch_overhead.png)", ""]
    if d["failures"]:
        lines += ["Failed checks:", ""] + [f"- {f}" for f in d["failures"]] + [""]
    return lines


def persistence_section(d, aims):
    head = "## 3. Persistence vs the bare insert loop"
    if not d:
        aims.append(("Writer >= 300,000 rows/s and within 1.5x of the bare loop", "NOT RUN",
                     "MISSED"))
        return [head, "", "NOT RUN", ""]
    w, b = d["writer_rows_per_s"], d["bare_rows_per_s"]
    wc, bcpu = d["writer_rows_per_cpu_s"], d["bare_rows_per_cpu_s"]
    lines = [head, "",
             f"Command: `build/bench/persistence_throughput --runs {d['runs']} --pages "
             f"{d['pages']} --json bench/results/persistence.json`", "",
             f"{d['pages']} pages x {d['rows_per_page']:,} rows of date,query,page into the "
             f"search_analytics table (SQLite {d['sqlite']}, WAL, synchronous=NORMAL), fresh "
             f"file per run, {d['runs']} runs (min / median / max).", "",
             "| path | rows/s | rows per CPU-second |", "|---|---|---|",
             f"| LedgerWriter (UPSERT + page done + next page, group commit) | {w['min']:,.0f} / "
             f"{w['median']:,.0f} / {w['max']:,.0f} | {wc['median']:,.0f} |",
             f"| bare prepared UPSERT loop | {b['min']:,.0f} / {b['median']:,.0f} / "
             f"{b['max']:,.0f} | {bcpu['median']:,.0f} |", "",
             f"bare / writer (medians): {d['bare_over_writer']:.2f}x wall, "
             f"{d['bare_over_writer_cpu']:.2f}x CPU.", ""]
    aims.append(("Writer >= 300,000 rows/s (aim)",
                 f"{w['median']:,.0f} rows/s wall ({wc['median']:,.0f} per CPU-second)",
                 verdict(w["median"] >= 300000)))
    aims.append(("Writer within 1.5x of the bare loop (aim)",
                 f"{d['bare_over_writer']:.2f}x", verdict(d["bare_over_writer"] <= 1.5)))
    return lines


def memory_section(d, aims):
    head = "## 4. Memory vs range length"
    if not d or not d["results"]:
        aims.append(("Peak RSS flat with range length", "NOT RUN", "MISSED"))
        return [head, "", "NOT RUN", ""]
    lines = [head, "", f"Command: `python3 {d['command']}`", "",
             f"batchfetch --max-concurrency {d['concurrency']}, {d['dimensions']}, row limit "
             f"{d['row_limit']:,}, mockgsc --rows-per-day {d['rows_per_day']} (huge days give "
             f"full 25,000-row pages), latency 0; peak RSS from `/usr/bin/time -v`, "
             f"{d['repeat']} runs (min / median / max).", "",
             "| days | pages | rows | peak RSS MiB (min / median / max) | wall s (median) |",
             "|---:|---:|---:|---|---:|"]
    for r in d["results"]:
        p = r["peak_rss_mib"]
        lines.append(f"| {r['days']:,} | {r['pages']:,} | {r['rows']:,} | {p['min']:.1f} / "
                     f"{p['median']:.1f} / {p['max']:.1f} | {r['wall_s']['median']:.2f} |")
    lines += ["", "![peak RSS vs days](memory.png)", ""]
    ratio = d["longest_over_shortest"]
    aims.append((f"Peak RSS at {d['results'][-1]['days']:,} days within 1.2x of "
                 f"{d['results'][0]['days']:,} days (aim)",
                 f"{ratio:.2f}x" if ratio else "n/a", verdict(ratio is not None and ratio <= 1.2)))
    if d["failures"]:
        lines += ["Failed checks:", ""] + [f"- {f}" for f in d["failures"]] + [""]
    return lines


def many_sites_section(d, aims):
    head = "## 5. Many sites in one process"
    if not d or not d["runs"]:
        aims.append(("1,000 sites: >= 90% of ideal wall time", "NOT RUN", "MISSED"))
        return [head, "", "NOT RUN", ""]
    lines = [head, "", f"Command: `python3 {d['command']}`", "",
             f"N sites x 3 days, --dimensions {d['dimensions']}, mockgsc latency "
             f"{d['latency_ms']} ms, --huge-days {d['huge_days']}, --max-concurrency "
             f"{d['concurrency']} shared by every site, --qpm 40000. Ideal = requests / "
             f"{d['concurrency']} x latency; floor = whole rounds of {d['concurrency']} requests "
             "(what a perfect engine could do with a fixed latency).", "",
             "| sites | requests | wall s | ideal s | of ideal | floor s | of floor "
             "| server max in flight | peak RSS MB | CPU-s per 1,000 requests |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in d["runs"]:
        lines.append(f"| {r['sites']:,} | {r['requests']:,} | {r['wall_s']:.2f} | "
                     f"{r['ideal_s']:.2f} | {100 * r['of_ideal']:.0f}% | {r['floor_s']:.2f} | "
                     f"{100 * r['of_floor']:.0f}% | {r['max_in_flight']} | "
                     f"{r['peak_rss_mb']:.0f} | {r['cpu_s_per_1000_requests']:.2f} |")
    lines.append("")
    big = max(d["runs"], key=lambda r: r["sites"])
    n = f"{big['sites']:,} sites"
    aims.append((f"{n}: >= 90% of ideal wall time (aim; the floor is "
                 f"{100 * big['ideal_s'] / big['floor_s']:.0f}% of ideal)",
                 f"{100 * big['of_ideal']:.0f}% ({100 * big['of_floor']:.0f}% of the floor)",
                 verdict(big["of_ideal"] >= 0.9)))
    aims.append((f"{n}: peak RSS < 100 MB (aim)", f"{big['peak_rss_mb']:.0f} MB",
                 verdict(big["peak_rss_mb"] < 100)))
    aims.append((f"{n}: < 1 CPU-second per 1,000 requests (aim)",
                 f"{big['cpu_s_per_1000_requests']:.2f}",
                 verdict(big["cpu_s_per_1000_requests"] < 1)))
    return lines


def micro_section(d):
    head = "## 6. Micro-benchmarks (Google Benchmark)"
    if not d:
        return [head, "", "NOT RUN", ""]
    lines = [head, "",
             "Command: `build/bench/micro_benchmarks --benchmark_min_time=0.1 "
             "--benchmark_format=json --benchmark_out=bench/results/micro.json`", "",
             "| benchmark | time per call (min / median / max) | throughput (median) |",
             "|---|---|---|"]
    by_name = {}
    for b in d["benchmarks"]:
        if b.get("run_type") == "aggregate":
            by_name.setdefault(b["run_name"], {})[b["aggregate_name"]] = b
    for name, agg in by_name.items():
        if not all(k in agg for k in ("min", "median", "max")):
            continue
        unit = agg["median"]["time_unit"]
        t = " / ".join(f"{agg[k]['real_time']:.3g}" for k in ("min", "median", "max"))
        thr = []
        if agg["median"].get("items_per_second"):
            thr.append(f"{agg['median']['items_per_second']/1e6:.2f} M items/s")
        if agg["median"].get("bytes_per_second"):
            thr.append(f"{agg['median']['bytes_per_second']/2**20:.0f} MiB/s")
        lines.append(f"| {name.split('/repeats')[0]} | {t} {unit} | {', '.join(thr)} |")
    lib = d.get("context", {}).get("library_build_type")
    if lib == "debug":
        lines += ["", "(Debian's libbenchmark reports itself as a debug build; that concerns "
                  "the harness, not the code measured.)"]
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="bench/results")
    ap.add_argument("--failed", default="", help="names of benchmarks that failed their checks")
    args = ap.parse_args()
    docs = {}
    for name in ("speedup.json", "fetch_overhead.json", "persistence.json",
                 "memory_vs_range.json", "many_sites.json", "micro.json"):
        docs[name] = load(args.results, name)
        if docs[name] is not None:
            docs[name]["_path"] = os.path.join(args.results, name)
    aims = []
    body = (speedup_section(docs["speedup.json"], aims) +
            overhead_section(docs["fetch_overhead.json"], aims) +
            persistence_section(docs["persistence.json"], aims) +
            memory_section(docs["memory_vs_range.json"], aims) +
            many_sites_section(docs["many_sites.json"], aims) +
            micro_section(docs["micro.json"]))
    warnings = {d.get("build_warning") for d in docs.values() if d and d.get("build_warning")}
    out = ["# batchfetch benchmarks — summary", "",
           f"Made by `make bench` (bench/run) on {machine()}.", ""]
    try:
        with open(os.path.join(args.results, "loadavg.txt")) as f:
            loads = [line.split() for line in f if line.strip()]
        out += ["Load average (1/5/15 min) as each step began — other work on the machine "
                "slows the wall-clock figures: " +
                ", ".join(f"{l[0]} {'/'.join(l[1:4])}" for l in loads if len(l) >= 4) + ".", ""]
    except OSError:
        pass
    out += [f"**{w}**" for w in warnings] + ([""] if warnings else [])
    if args.failed.strip():
        out += [f"**Benchmarks that failed a correctness check: {args.failed.strip()}** "
                "(details under each section).", ""]
    out += ["## Aims", "", "| aim | figure | verdict |", "|---|---|---|"]
    out += [f"| {a} | {f} | {v} |" for a, f, v in aims] + [""]
    out += body
    path = os.path.join(args.results, "summary.md")
    with open(path, "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
    print("\n".join(out[:out.index("## Aims") + len(aims) + 4]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
