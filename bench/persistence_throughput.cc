// persistence_throughput: rows per second stored into the DESIGN.md search_analytics table
// (schema v3: keyed by report_id and every dimension, WITHOUT ROWID, WAL,
// synchronous=NORMAL) by
//   writer: LedgerWriter + SqliteLedger::CommitPages, what a backfill pays per row for days
//           of 25,000 rows: each day's full first page (25,000 rows, asked 25,000) is staged
//           and queues its next page; the closing page (empty) swaps the staged rows into
//           search_analytics. All first pages are submitted at once and group-committed,
//           then the closing pages are claimed and committed. The claim is timed too.
//   bare:   one prepared UPSERT per row through raw sqlite3 straight into search_analytics,
//           one transaction per 25,000 rows, same schema, pragmas and rows — the ceiling on
//           this machine.
// Every run starts from a fresh database file; the clock covers submit to last callback
// (writer) or first BEGIN to last COMMIT (bare). Rows are generated before timing.
// Reports min/median/max over the runs and bare/writer; aim: writer >= 300k rows/s and
// within 1.5x of bare.
// Usage: persistence_throughput [--runs N] [--pages P] [--dir DIR] [--json PATH]
//   (P days, each one full page of 25,000 rows and its empty closing page)

#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/civil_date.h"
#include "core/page.h"
#include "core/report.h"
#include "persistence/ledger.h"
#include "persistence/ledger_writer.h"

namespace {

using batchfetch::ClaimRequest;
using batchfetch::FetchedPage;
using batchfetch::Lease;
using batchfetch::Ledger;
using batchfetch::LedgerWriter;
using batchfetch::Report;
using batchfetch::Row;
using batchfetch::Status;
using Clock = std::chrono::steady_clock;

constexpr int kRowsPerPage = 25000;
constexpr uint32_t kSeed = 20240601;

struct Options {
  int runs = 5;
  int pages = 20;
  std::string dir = std::filesystem::temp_directory_path().string();
  std::string json;
};

struct Summary {
  double min = 0, median = 0, max = 0;
};

// One run's rate against the wall clock and against the CPU the process spent (robust
// when other programs share the machine: the waiting main thread uses none).
struct Rate {
  double wall = 0;  // rows per second
  double cpu = 0;   // rows per CPU-second
};

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Measures the rows stored between its construction and Stop().
class Stopwatch {
 public:
  Stopwatch() : wall_(Clock::now()), cpu_(CpuSeconds()) {}
  Rate Stop(double rows) const {
    const double wall = std::chrono::duration<double>(Clock::now() - wall_).count();
    return Rate{rows / wall, rows / (CpuSeconds() - cpu_)};
  }

 private:
  Clock::time_point wall_;
  double cpu_;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "persistence_throughput: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& status, const char* what) {
  if (!status.ok()) Die(std::string(what) + ": " + status.ToString());
}

void CheckSqlite(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) Die(std::string(what) + ": " + sqlite3_errmsg(db));
}

Summary Summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return Summary{v.front(), v[v.size() / 2], v.back()};
}

// The report every run stores into (date, query, page of one site).
std::shared_ptr<const Report> MakeReport() {
  batchfetch::ReportSpec spec;
  spec.site = "sc-domain:example.com";
  return Report::Make(spec);
}

// The run's days: one per full page.
std::vector<std::string> MakeDays(int pages) {
  const std::string last = batchfetch::AddDays("2024-01-01", pages - 1);
  return batchfetch::DaysBetween("2024-01-01", last);
}

// Rows shaped like the API's (date, query, page): distinct keys, clicks-descending order,
// queries and URLs of realistic length, integral clicks and impressions.
std::vector<std::vector<Row>> MakeRows(const std::vector<std::string>& days, int pages) {
  static const char* kWords[] = {"buy",  "cheap",  "best",   "running", "shoes", "near",
                                 "me",   "review", "how",    "to",      "fix",   "garden",
                                 "hose", "price",  "online", "free",    "size",  "guide"};
  std::mt19937 rng(kSeed);
  std::uniform_int_distribution<int> word(0, std::size(kWords) - 1);
  std::vector<std::vector<Row>> out(static_cast<std::size_t>(pages));
  for (int p = 0; p < pages; ++p) {
    auto& rows = out[static_cast<std::size_t>(p)];
    rows.resize(kRowsPerPage);
    for (int i = 0; i < kRowsPerPage; ++i) {
      Row& r = rows[static_cast<std::size_t>(i)];
      r.date = days[static_cast<std::size_t>(p)];
      for (int w = 0; w < 3; ++w) r.query += std::string(kWords[word(rng)]) + " ";
      r.query += std::to_string(i);
      r.page = "https://www.example.com/" + std::string(kWords[word(rng)]) + "/" +
               std::string(kWords[word(rng)]) + "/item-" + std::to_string(rng() % 100000);
      r.clicks = static_cast<double>((kRowsPerPage - i) / 100);
      r.impressions = r.clicks * 10 + static_cast<double>(rng() % 1000);
      r.ctr = r.impressions > 0 ? r.clicks / r.impressions : 0;
      r.position = 1 + static_cast<double>(rng() % 5000) / 100.0;
    }
  }
  return out;
}

// A fresh, empty directory for one run's database.
class RunDir {
 public:
  explicit RunDir(const std::string& base) {
    std::string pattern = base + "/bf_persistence_bench_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Die("cannot create a directory under " + base);
    path_ = pattern;
  }
  ~RunDir() { std::filesystem::remove_all(path_); }
  std::string Db() const { return path_ + "/ledger.db"; }

 private:
  std::string path_;
};

// Leases up to max pages of report through the writer's thread.
std::vector<Lease> ClaimPages(LedgerWriter& writer, const Report& report, int max) {
  std::mutex mu;
  std::condition_variable cv;
  bool claimed = false;
  std::vector<Lease> leases;
  writer.Post([&](Ledger& ledger) {
    const ClaimRequest request{report.id, max};
    const Status status =
        ledger.Claim(std::span<const ClaimRequest>(&request, 1), "bench", std::chrono::minutes(10),
                     batchfetch::WallClock::now(), &leases);
    Check(status, "claim");
    std::lock_guard<std::mutex> lock(mu);
    claimed = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return claimed; });
  if (leases.size() != static_cast<std::size_t>(max)) Die("claimed too few pages");
  return leases;
}

// Submits one page per lease (rows[i], or no rows when rows is null) and waits for every
// commit.
void CommitAll(LedgerWriter& writer, const std::shared_ptr<const Report>& report,
               const std::vector<Lease>& leases, const std::vector<std::vector<Row>>* rows) {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t done = 0;
  for (std::size_t i = 0; i < leases.size(); ++i) {
    FetchedPage page;
    page.report = report;
    page.lease = leases[i];
    page.row_limit = kRowsPerPage;
    if (rows != nullptr) page.rows = (*rows)[i];
    writer.SubmitPage(std::move(page), [&](const Status& status, bool held) {
      Check(status, "commit");
      if (!held) Die("a lease did not hold");
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == leases.size(); });
}

Rate RunWriter(const Options& opt, const std::shared_ptr<const Report>& report,
               const std::vector<std::string>& days, const std::vector<std::vector<Row>>& rows) {
  RunDir dir(opt.dir);
  std::unique_ptr<Ledger> ledger;
  Check(batchfetch::OpenLedger(dir.Db(), &ledger), "open");
  Check(ledger->RegisterReport(*report), "register");
  batchfetch::DayPlan plan;
  Check(ledger->PlanDays(report->id, days, batchfetch::RefreshPolicy(), &plan), "plan");
  if (plan.added != opt.pages) Die("planned too few days");

  LedgerWriter writer(std::move(ledger));
  const std::vector<Lease> first = ClaimPages(writer, *report, opt.pages);
  // Copies made before timing: the writer consumes the pages it is given.
  const std::vector<std::vector<Row>> copy = rows;
  const Stopwatch stopwatch;
  CommitAll(writer, report, first, &copy);
  const std::vector<Lease> closing = ClaimPages(writer, *report, opt.pages);
  CommitAll(writer, report, closing, nullptr);
  const Rate rate = stopwatch.Stop(static_cast<double>(opt.pages) * kRowsPerPage);
  writer.Stop();
  return rate;
}

Rate RunBare(const Options& opt, const std::shared_ptr<const Report>& report,
             const std::vector<std::vector<Row>>& rows) {
  RunDir dir(opt.dir);
  {
    std::unique_ptr<Ledger> ledger;  // the same schema, created the same way
    Check(batchfetch::OpenLedger(dir.Db(), &ledger), "open");
  }
  sqlite3* db = nullptr;
  CheckSqlite(sqlite3_open(dir.Db().c_str(), &db), db, "open");
  CheckSqlite(sqlite3_exec(db,
                           "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                           " PRAGMA cache_size = -32768;",
                           nullptr, nullptr, nullptr),
              db, "pragmas");
  sqlite3_stmt* stmt = nullptr;
  CheckSqlite(
      sqlite3_prepare_v2(
          db,
          "INSERT INTO search_analytics(report_id, site, search_type, date, hour, query, page,"
          " country, device, search_appearance, clicks, impressions, ctr, position, fetched_at)"
          " VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, '', '', '', ?7, ?8, ?9, ?10, ?11)"
          " ON CONFLICT(report_id, date, hour, query, page, country, device,"
          " search_appearance) DO UPDATE SET clicks = excluded.clicks,"
          " impressions = excluded.impressions, ctr = excluded.ctr,"
          " position = excluded.position, fetched_at = excluded.fetched_at",
          -1, &stmt, nullptr),
      db, "prepare");
  const batchfetch::ReportSpec& spec = report->spec;
  const Stopwatch stopwatch;
  for (const auto& page : rows) {
    CheckSqlite(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    for (const Row& r : page) {
      sqlite3_bind_text(stmt, 1, report->id.data(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 2, spec.site.data(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 3, spec.search_type.data(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 4, r.date.data(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 5, r.query.data(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 6, r.page.data(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 7, static_cast<int64_t>(r.clicks));
      sqlite3_bind_int64(stmt, 8, static_cast<int64_t>(r.impressions));
      sqlite3_bind_double(stmt, 9, r.ctr);
      sqlite3_bind_double(stmt, 10, r.position);
      sqlite3_bind_int64(stmt, 11, 1700000000000);
      CheckSqlite(sqlite3_step(stmt), db, "step");
      sqlite3_reset(stmt);
    }
    CheckSqlite(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  const Rate rate = stopwatch.Stop(static_cast<double>(rows.size()) * kRowsPerPage);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rate;
}

Options Parse(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--runs" && has_value) {
      opt.runs = std::atoi(argv[++i]);
    } else if (arg == "--pages" && has_value) {
      opt.pages = std::atoi(argv[++i]);
    } else if (arg == "--dir" && has_value) {
      opt.dir = argv[++i];
    } else if (arg == "--json" && has_value) {
      opt.json = argv[++i];
    } else {
      Die("usage: persistence_throughput [--runs 5] [--pages 20] [--dir /tmp] [--json out.json]");
    }
  }
  if (opt.runs < 1 || opt.pages < 1 || opt.pages > 2000) Die("--runs >= 1, 1 <= --pages <= 2000");
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = Parse(argc, argv);
#if !defined(NDEBUG) || !defined(__OPTIMIZE__)
  std::printf("WARNING: built without optimisation or with assertions; figures are low\n");
#endif
  std::printf("persistence_throughput: %d runs, %d pages x %d rows, sqlite %s, dir %s, seed %u\n",
              opt.runs, opt.pages, kRowsPerPage, sqlite3_libversion(), opt.dir.c_str(), kSeed);
  const auto report = MakeReport();
  const std::vector<std::string> days = MakeDays(opt.pages);
  const auto rows = MakeRows(days, opt.pages);

  std::vector<Rate> writer, bare;
  for (int run = 0; run < opt.runs; ++run) {
    // Alternate the order so neither side always runs on a warmer page cache.
    if (run % 2 == 0) {
      writer.push_back(RunWriter(opt, report, days, rows));
      bare.push_back(RunBare(opt, report, rows));
    } else {
      bare.push_back(RunBare(opt, report, rows));
      writer.push_back(RunWriter(opt, report, days, rows));
    }
    std::printf(
        "  run %d: writer %.0f rows/s (%.0f per cpu-s), bare %.0f rows/s (%.0f per cpu-s)\n",
        run + 1, writer.back().wall, writer.back().cpu, bare.back().wall, bare.back().cpu);
  }
  auto summarise = [](const std::vector<Rate>& rates, double Rate::*field) {
    std::vector<double> v;
    for (const Rate& r : rates) v.push_back(r.*field);
    return Summarise(v);
  };
  const Summary w = summarise(writer, &Rate::wall), b = summarise(bare, &Rate::wall);
  const Summary wc = summarise(writer, &Rate::cpu), bc = summarise(bare, &Rate::cpu);
  const double ratio = b.median / w.median;
  const double cpu_ratio = bc.median / wc.median;
  std::printf("writer rows/s:     min %7.0f  median %7.0f  max %7.0f\n", w.min, w.median, w.max);
  std::printf("bare   rows/s:     min %7.0f  median %7.0f  max %7.0f\n", b.min, b.median, b.max);
  std::printf("writer rows/cpu-s: min %7.0f  median %7.0f  max %7.0f\n", wc.min, wc.median, wc.max);
  std::printf("bare   rows/cpu-s: min %7.0f  median %7.0f  max %7.0f\n", bc.min, bc.median, bc.max);
  std::printf(
      "bare/writer (medians): %.2fx wall, %.2fx cpu  [aim: writer >= 300000 rows/s,"
      " ratio <= 1.5] %s\n",
      ratio, cpu_ratio, w.median >= 300000 && ratio <= 1.5 ? "met" : "NOT met");

  if (!opt.json.empty()) {
    std::ofstream out(opt.json);
    auto series = [](const Summary& s) {
      return "{\"min\": " + std::to_string(s.min) + ", \"median\": " + std::to_string(s.median) +
             ", \"max\": " + std::to_string(s.max) + "}";
    };
    out << "{\"benchmark\": \"persistence_throughput\", \"runs\": " << opt.runs
        << ", \"pages\": " << opt.pages << ", \"rows_per_page\": " << kRowsPerPage
        << ", \"sqlite\": \"" << sqlite3_libversion() << "\", \"writer_rows_per_s\": " << series(w)
        << ", \"bare_rows_per_s\": " << series(b) << ", \"writer_rows_per_cpu_s\": " << series(wc)
        << ", \"bare_rows_per_cpu_s\": " << series(bc) << ", \"bare_over_writer\": " << ratio
        << ", \"bare_over_writer_cpu\": " << cpu_ratio << "}\n";
    if (!out) Die("cannot write " + opt.json);
  }
  return 0;
}
