"""Shared pieces of the benchmark scripts: mockgsc as a context manager, a child run
that reports wall time and its own CPU (getrusage via wait4), min/median/max, checks
of the stored data against mockgsc's /__expected, and the optimisation warning.

Nothing here measures anything by itself.
"""
import datetime
import json
import os
import re
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

SITE = "sc-domain:example.com"

# Column of search_analytics that holds each API dimension.
COLUMN = {"date": "date", "query": "query", "page": "page", "country": "country",
          "device": "device", "searchAppearance": "search_appearance", "hour": "hour"}


def binaries(build):
    """Paths of (batchfetch, mockgsc) under a build tree; exits when either is missing."""
    bf = os.path.join(build, "tools/batchfetch/batchfetch")
    mock = os.path.join(build, "tools/mockgsc/mockgsc")
    for path in (bf, mock):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"missing {path}: run `make build` (or cmake --build {build}) first")
    return bf, mock


def optimisation_warning(build):
    """A warning line when `build` was configured without optimisation, else ''."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
    except OSError:
        return f"WARNING: cannot read {build}/CMakeCache.txt; build type unknown"
    kind = m.group(1).strip() if m else ""
    if kind not in ("Release", "RelWithDebInfo", "MinSizeRel"):
        return (f"WARNING: {build} is configured with CMAKE_BUILD_TYPE='{kind}' (no optimisation):"
                " figures are low. Use `make build` (RelWithDebInfo).")
    return ""


def announce(doc, build):
    """Prints the script's 'what it measures' paragraph and the optimisation warning."""
    print(doc.strip().split("\n\n")[0], flush=True)
    warning = optimisation_warning(build)
    if warning:
        print(warning, flush=True)
    return warning


def summarise(values):
    """{'min', 'median', 'max'} of a non-empty list of numbers."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def recent_dates(days, newest_age_days=7):
    """`days` consecutive ISO dates ending `newest_age_days` before today (inside the API's
    16 months of data when days <= 480)."""
    end = datetime.date.today() - datetime.timedelta(days=newest_age_days)
    return [(end - datetime.timedelta(days=days - 1 - i)).isoformat() for i in range(days)]


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


class MockGsc:
    """A mockgsc child on a free port: `with MockGsc(binary, [...]) as m: m.base`."""

    def __init__(self, binary, args):
        self.proc = subprocess.Popen([binary, "--port", "0"] + args, stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        self.started_at = time.time()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise SystemExit(f"mockgsc did not start: {line!r}")
        self.base = "http://" + line[len("listening on "):]
        self.rusage = None

    def stats(self):
        return get_json(self.base + "/__stats")

    def arrivals_ms(self):
        """Arrival times of query requests, ms since mockgsc started."""
        return get_json(self.base + "/__log")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        _, _, self.rusage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = 0


class ChildRun:
    """Result of run_child: rc, wall (s), cpu (user+sys s), maxrss_kb, stdout, stderr."""

    def __init__(self, rc, wall, rusage, stdout, stderr, started, ended):
        self.rc = rc
        self.wall = wall
        self.cpu = rusage.ru_utime + rusage.ru_stime
        # Not the child's own peak: the forked Python image counts too. Use /usr/bin/time -v.
        self.maxrss_kb = rusage.ru_maxrss
        self.stdout = stdout
        self.stderr = stderr
        self.started = started  # wall clock (time.time()) just before exec
        self.ended = ended      # wall clock just after the child was reaped


def run_child(cmd):
    """Runs cmd to completion; wall time from spawn to reap and CPU of the child alone
    (getrusage through wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.time()
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        ended = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(proc.returncode, wall, rusage, out.read(), err.read(), started, ended)


def parse_engine_summary(output):
    """Figures from batchfetch's closing summary (stdout): its --json line when there is one,
    else the text; missing ones are None."""
    for line in output.splitlines():
        if line.startswith('{"outcome"'):
            try:
                s = json.loads(line)
            except ValueError:
                continue
            return {"pages": s.get("pages"), "rows": s.get("rows"),
                    "mailbox_peak": s.get("mailbox_peak"),
                    "engine_peak_window": s.get("peak_window_requests"),
                    "retries": s.get("retries"), "quota_errors": s.get("quota_errors")}

    def grab(pattern, cast=int):
        m = re.search(pattern, output)
        return cast(m.group(1).replace(",", "")) if m else None
    return {"pages": grab(r"([\d,]+) pages, [\d,]+ rows in"),
            "rows": grab(r"pages, ([\d,]+) rows in"),
            "mailbox_peak": grab(r"mailbox peak ([\d,]+)"),  # older releases
            "engine_peak_window": grab(r"peak ([\d,]+) in one"),
            "retries": grab(r"retries ([\d,]+)"),
            "quota_errors": grab(r"quota errors ([\d,]+)")}


def fnv_sum(rows):
    """mockgsc's order-independent checksum: sum of FNV-1a over keys, clicks, impressions."""
    total = 0
    for keys, clicks, impressions in rows:
        h = 0xcbf29ce484222325
        s = "\x1f".join(keys) + "\x1e" + str(clicks) + "\x1e" + str(impressions)
        for b in s.encode():
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        total = (total + h) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % total


def check_db(db, base, dates, dims):
    """(duplicate rows, [problem per wrong day], rows stored) of a finished backfill:
    every day's row count and checksum must equal mockgsc's /__expected."""
    dim_list = dims.split(",")
    cols = ", ".join(COLUMN[d] for d in dim_list)
    con = sqlite3.connect(db)
    dups = con.execute(
        "SELECT COALESCE(SUM(n-1),0) FROM (SELECT COUNT(*) n FROM search_analytics GROUP BY "
        "report_id,date,hour,query,page,country,device,search_appearance "
        "HAVING n>1)").fetchone()[0]
    by_day = {}
    for row in con.execute(f"SELECT date, {cols}, clicks, impressions FROM search_analytics"):
        by_day.setdefault(row[0], []).append((tuple(str(k) for k in row[1:-2]), int(row[-2]),
                                              int(row[-1])))
    con.close()
    problems, total = [], 0
    for d in dates:
        q = urllib.parse.urlencode({"site": SITE, "type": "web", "date": d, "dimensions": dims})
        want = get_json(f"{base}/__expected?{q}")
        got = by_day.get(d, [])
        total += len(got)
        if len(got) != want["rows"] or (got and fnv_sum(got) != want["checksum"]):
            problems.append(f"{d}: stored {len(got)} rows, expected {want['rows']}")
    return dups, problems, total


def backfill_cmd(bf, base, db, dates, dims, row_limit, concurrency, qpm, window, extra=()):
    """A backfill of SITE over dates against mockgsc at base. mockgsc serves every date, so
    ranges longer than the API's 16 months are allowed (--allow-old-dates); the summary is
    the --json line parse_engine_summary reads."""
    return [bf, "backfill", "--site", SITE, "--from", dates[0], "--to", dates[-1],
            "--dimensions", dims, "--row-limit", str(row_limit), "--db", db, "--api-base", base,
            "--max-concurrency", str(concurrency), "--qpm", str(qpm), "--qpm-window", str(window),
            "--progress", "never", "--log-level", "warn", "--allow-old-dates", "--json", *extra]


def write_json(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
