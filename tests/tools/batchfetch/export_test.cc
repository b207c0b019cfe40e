// batchfetch export end to end: a ledger filled through the Ledger API (no backfill), then
// the real binary exports it. Checks the CSV and JSON lines against the table, the exit
// codes of bad input, and that the export's peak memory does not grow with the report.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/civil_date.h"
#include "core/page.h"
#include "core/report.h"
#include "persistence/ledger.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace batchfetch::testing {
namespace {

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

// Fills a ledger at path with `days` days from 2021-01-01 of report, rows_per_day rows
// each, through RegisterReport, PlanDays, Claim and CommitPages. Queries hold a comma
// and a quote now and then, so the CSV must quote them.
void Fill(const std::string& path, const std::shared_ptr<const Report>& report, int days,
          int rows_per_day) {
  std::unique_ptr<Ledger> ledger;
  Status s = OpenLedger(path, &ledger);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(ledger->RegisterReport(*report).ok());
  const std::vector<std::string> all = DaysBetween("2021-01-01", AddDays("2021-01-01", days - 1));
  DayPlan plan;
  s = ledger->PlanDays(report->id, all, RefreshPolicy(), &plan);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(plan.added, days);
  const WallTime now = WallClock::now();
  for (int done = 0; done < days;) {
    std::vector<Lease> leases;
    const ClaimRequest request{report->id, 200};
    s = ledger->Claim(std::span(&request, 1), "filler", std::chrono::minutes(10), now, &leases);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_FALSE(leases.empty());
    std::vector<FetchedPage> pages;
    for (const Lease& lease : leases) {
      FetchedPage& page = pages.emplace_back();
      page.report = report;
      page.lease = lease;
      page.row_limit = 25000;
      for (int i = 0; i < rows_per_day; ++i) {
        Row& r = page.rows.emplace_back();
        r.date = lease.key.date;
        r.query = i % 10 == 0 ? "shoes, \"cheap\" " + std::to_string(i)
                              : "running shoes size " + std::to_string(i);
        r.page = "https://www.example.com/shoes/item-" + std::to_string(i);
        r.clicks = 1 + i % 7;
        r.impressions = 100 + i;
        r.ctr = r.clicks / r.impressions;
        r.position = 1.5 + i % 20;
      }
    }
    std::vector<bool> held;
    s = ledger->CommitPages(pages, now, kDefaultMaxAttempts, &held);
    ASSERT_TRUE(s.ok()) << s.ToString();
    done += static_cast<int>(leases.size());
  }
}

int64_t QueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

// RFC 4180 records of text (CRLF or LF line ends).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\r') {
      continue;
    } else if (c == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
    } else {
      field.push_back(c);
    }
  }
  if (!field.empty() || !record.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

// Runs argv with stdout to out_path; returns the exit code and the child's peak RSS (KiB).
std::pair<int, long> RunMeasured(const std::vector<std::string>& argv,
                                 const std::string& out_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return {-1, 0};
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) return {-1, 0};
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), usage.ru_maxrss};
}

std::shared_ptr<const Report> MakeReport() {
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  return Report::Make(std::move(spec));
}

TEST(ExportTest, CsvHasAHeaderAndTheTablesRowsAndClicks) {
  TempDir dir;
  const std::string db = dir.File("ledger.db");
  const auto report = MakeReport();
  Fill(db, report, 30, 40);

  const CommandResult r = RunCommand({Bin(), "export", "--db", db, "--report", report->id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = ParseCsv(r.out);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0], (std::vector<std::string>{"date", "query", "page", "clicks", "impressions",
                                                  "ctr", "position"}));
  const int64_t table_rows =
      QueryInt(db, "SELECT count(*) FROM search_analytics WHERE report_id = '" + report->id + "'");
  const int64_t table_clicks = QueryInt(
      db, "SELECT sum(clicks) FROM search_analytics WHERE report_id = '" + report->id + "'");
  ASSERT_EQ(table_rows, 30 * 40);
  EXPECT_EQ(static_cast<int64_t>(records.size()) - 1, table_rows);
  int64_t clicks = 0, quoted = 0;
  for (std::size_t i = 1; i < records.size(); ++i) {
    ASSERT_EQ(records[i].size(), 7u) << "record " << i;
    clicks += std::stoll(records[i][3]);
    if (records[i][1].find(", \"cheap\"") != std::string::npos) ++quoted;
  }
  EXPECT_EQ(clicks, table_clicks);
  EXPECT_EQ(quoted, 30 * 4);  // every 10th row's query came back whole
  EXPECT_EQ(records[1][0], "2021-01-01");
  EXPECT_EQ(records.back()[0], "2021-01-30");
  // The view says the same.
  EXPECT_EQ(QueryInt(db, "SELECT sum(clicks) FROM report_" + report->id), table_clicks);
}

TEST(ExportTest, JsonLinesOneObjectPerRowWithinTheRange) {
  TempDir dir;
  const std::string db = dir.File("ledger.db");
  const auto report = MakeReport();
  Fill(db, report, 10, 5);
  const CommandResult r =
      RunCommand({Bin(), "export", "--db", db, "--report", report->id, "--format", "jsonl",
                  "--from", "2021-01-03", "--to", "2021-01-04"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const boost::json::object o = boost::json::parse(line).as_object();
    const std::string date(o.at("date").as_string());
    EXPECT_TRUE(date == "2021-01-03" || date == "2021-01-04") << line;
    EXPECT_TRUE(o.at("clicks").is_number()) << line;
    EXPECT_TRUE(o.contains("query") && o.contains("page") && o.contains("position")) << line;
    ++n;
  }
  EXPECT_EQ(n, 10);
}

TEST(ExportTest, BadInputExitsOneWithOneLine) {
  TempDir dir;
  const std::string db = dir.File("ledger.db");
  const auto report = MakeReport();
  Fill(db, report, 2, 2);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--db", db, "--report", "0123456789abcdef"},
           {"--db", dir.File("missing.db"), "--report", report->id},
           {"--db", db, "--report", report->id, "--format", "xml"},
           {"--db", db, "--report", report->id, "--from", "2021-02-30"},
           {"--db", db, "--report", report->id, "--from", "2021-02-02", "--to", "2021-02-01"},
       }) {
    std::vector<std::string> argv = {Bin(), "export"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 1) << args[1] << " " << args[3];
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(r.err.empty());
  }
  // Nothing was created where there was no ledger.
  EXPECT_NE(::access(dir.File("missing.db").c_str(), F_OK), 0);
}

TEST(ExportTest, PeakMemoryDoesNotGrowWithTheReport) {
  TempDir dir;
  const auto report = MakeReport();
  const std::string small = dir.File("small.db"), large = dir.File("large.db");
  // Filled by a child process: a spawned child's peak RSS starts from this process's
  // peak (the memory is shared until exec), so this process must stay small.
  const pid_t filler = fork();
  ASSERT_GE(filler, 0);
  if (filler == 0) {
    Fill(small, report, 150, 100);
    Fill(large, report, 1500, 100);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int fill_status = 0;
  ASSERT_EQ(waitpid(filler, &fill_status, 0), filler);
  ASSERT_TRUE(WIFEXITED(fill_status) && WEXITSTATUS(fill_status) == 0);
  const auto [small_code, small_kib] =
      RunMeasured({Bin(), "export", "--db", small, "--report", report->id}, dir.File("s.csv"));
  const auto [large_code, large_kib] =
      RunMeasured({Bin(), "export", "--db", large, "--report", report->id}, dir.File("l.csv"));
  ASSERT_EQ(small_code, 0);
  ASSERT_EQ(large_code, 0);
  // The large export really wrote ten times the rows.
  std::ifstream in(dir.File("l.csv"));
  int64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 1 + 1500 * 100);
  // The figures are the export's own, not inherited from this process.
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  EXPECT_GT(small_kib, self.ru_maxrss) << "measured this process, not the export";
  EXPECT_LE(static_cast<double>(large_kib), 1.5 * static_cast<double>(small_kib))
      << "peak RSS " << small_kib << " KiB for 150 days, " << large_kib << " KiB for 1,500";
  std::printf("export peak RSS: %ld KiB for 150 days, %ld KiB for 1,500 days\n", small_kib,
              large_kib);
}

}  // namespace
}  // namespace batchfetch::testing
