#!/usr/bin/env python3
"""Multi-process scaling: 1, 2 and 3 batchfetch processes on ONE ledger (SQLite file,
and PostgreSQL with --backend postgres|both), latency-bound: mockgsc answers in a median
50 ms and the quota (--qpm 100000 on both sides) never binds, so each process's
throughput is set by its workers (--max-concurrency 4 each) and the ratio of wall times
shows how well processes share a ledger (claims, group commits, the shared quota's
round trips). Per level: wall time from spawning the processes to reaping the last one
(min/median/max of --repeat runs), pages/s, the speedup of the medians over one process,
and each process's share of the pages. Aim: >= 2.7x at 3 processes.

Workload: --days days of date,country,device (mockgsc caps a day at 150 rows), row limit
25, so ~7 pages per day chained by startRow. Every run is checked: every process exits 0,
every day's rows and checksum equal /__expected (SQLite; PostgreSQL checks row counts and
duplicates), no duplicate rows. A failed check makes the script exit 1.
"""
import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import bench_common as bc

PG_BIN = "/usr/lib/postgresql/15/bin"


class PgCluster:
    """A throw-away PostgreSQL cluster on a free loopback port (as nobody when root)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bf-bench-pg-")
        prefix = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                      "--clear-groups"]
        self.prefix = prefix
        data = os.path.join(self.dir, "data")
        subprocess.run(prefix + [f"{PG_BIN}/initdb", "-D", data, "-U", "batchfetch",
                                 "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=self.dir)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            prefix + [f"{PG_BIN}/postgres", "-D", data, "-p", str(self.port), "-c",
                      "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                      "-c", "fsync=off", "-c", "synchronous_commit=off"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"),
            cwd=self.dir)
        for _ in range(300):
            if subprocess.run(["psql", self.uri("postgres"), "-c", "select 1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.1)
        raise SystemExit("PostgreSQL did not start")

    def uri(self, name):
        return f"postgresql://batchfetch@127.0.0.1:{self.port}/{name}"

    def new_database(self, name):
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.uri(name)

    def psql(self, name, sql):
        return subprocess.run(["psql", "-At", self.uri(name), "-c", sql], check=True,
                              capture_output=True, text=True).stdout.strip()

    def close(self):
        self.proc.send_signal(3)  # SIGQUIT: immediate shutdown
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_level(args, bf, mock_bin, dates, processes, backend, pg, tag, failures):
    """One checked run of `processes` processes on a fresh ledger; its record."""
    mock_args = ["--latency-ms", str(args.latency_ms), "--latency-p99-ms",
                 str(args.latency_p99_ms), "--qpm", "100000", "--qpm-window", "6",
                 "--seed", "42"]
    with tempfile.TemporaryDirectory() as tmp, bc.MockGsc(mock_bin, mock_args) as mock:
        if backend == "sqlite":
            db = os.path.join(tmp, "ledger.db")
        else:
            db = pg.new_database(tag)
        cmd = bc.backfill_cmd(bf, mock.base, db, dates, args.dims, args.row_limit,
                              args.concurrency, 100000, 6, ["--lease", "30"])
        outs = [tempfile.TemporaryFile("w+") for _ in range(processes)]
        t0 = time.monotonic()
        procs = [subprocess.Popen(cmd + ["--worker-id", f"p{i}"], stdout=outs[i],
                                  stderr=subprocess.DEVNULL, text=True)
                 for i in range(processes)]
        codes = [p.wait() for p in procs]
        wall = time.monotonic() - t0
        shares = []
        for f in outs:
            f.seek(0)
            shares.append(bc.parse_engine_summary(f.read())["pages"] or 0)
            f.close()
        if any(c != 0 for c in codes):
            failures.append(f"{backend} x{processes}: exit codes {codes}")
        if backend == "sqlite":
            dups, problems, _ = bc.check_db(db, mock.base, dates, args.dims)
            pages = int(bc.sqlite3.connect(db).execute("SELECT COUNT(*) FROM batches "
                                                       "WHERE state = 'done'").fetchone()[0])
        else:
            dups = int(pg.psql(tag, "SELECT COALESCE(SUM(n-1),0) FROM (SELECT COUNT(*) n FROM "
                                    "search_analytics GROUP BY report_id,"
                                    "date,hour,query,page,country,device,search_appearance "
                                    "HAVING COUNT(*)>1) d"))
            pages = int(pg.psql(tag, "SELECT COUNT(*) FROM batches WHERE state = 'done'"))
            problems = [] if int(pg.psql(tag, "SELECT COUNT(*) FROM batches WHERE state <> 'done'")) == 0 \
                else ["unfinished pages"]
        if dups or problems:
            failures.append(f"{backend} x{processes}: {dups} duplicates, {problems[:3]}")
        if sum(shares) != pages:
            failures.append(f"{backend} x{processes}: processes report {sum(shares)} pages, "
                            f"ledger has {pages} done")
        return {"wall_s": wall, "pages": pages, "shares": shares}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--out", default="bench/results")
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--days", type=int, default=150)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--latency-p99-ms", type=int, default=150)
    p.add_argument("--row-limit", type=int, default=25)
    p.add_argument("--dims", default="date,country,device")
    args = p.parse_args()
    warning = bc.announce(__doc__, args.build)
    bf, mock_bin = bc.binaries(args.build)
    dates = bc.recent_dates(args.days)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    failures, results = [], {"warning": warning, "days": args.days,
                             "concurrency_per_process": args.concurrency,
                             "latency_ms": args.latency_ms, "backends": {}}
    pg = PgCluster() if "postgres" in backends else None
    try:
        for backend in backends:
            levels = {}
            for n in (1, 2, 3):
                runs = [run_level(args, bf, mock_bin, dates, n, backend, pg,
                                  f"b{n}_{r}_{os.getpid()}", failures)
                        for r in range(args.repeat)]
                walls = [r["wall_s"] for r in runs]
                levels[n] = {"wall_s": bc.summarise(walls), "pages": runs[0]["pages"],
                             "shares": [r["shares"] for r in runs]}
            base = levels[1]["wall_s"]["median"]
            print(f"\n{backend}: {levels[1]['pages']} pages, {args.concurrency} workers per "
                  f"process, latency median {args.latency_ms} ms")
            print(f"{'procs':>5} {'wall min/median/max s':>24} {'pages/s':>8} {'speedup':>8}  "
                  "pages per process (first run)")
            for n, lv in levels.items():
                w = lv["wall_s"]
                lv["pages_per_s"] = lv["pages"] / w["median"]
                lv["speedup"] = base / w["median"]
                print(f"{n:>5} {w['min']:>8.2f}/{w['median']:.2f}/{w['max']:<8.2f} "
                      f"{lv['pages_per_s']:>8.1f} {lv['speedup']:>7.2f}x  {lv['shares'][0]}")
            results["backends"][backend] = {str(k): v for k, v in levels.items()}
            if levels[3]["speedup"] < 2.7:
                print(f"aim MISSED on {backend}: {levels[3]['speedup']:.2f}x at 3 processes "
                      "(aim >= 2.7x)")
    finally:
        if pg:
            pg.close()
    bc.write_json(os.path.join(args.out, "multiprocess_scaling.json"), results)
    if failures:
        print("FAILED checks:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
