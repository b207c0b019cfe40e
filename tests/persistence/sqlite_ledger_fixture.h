#ifndef BATCHFETCH_TESTS_PERSISTENCE_SQLITE_LEDGER_FIXTURE_H_
#define BATCHFETCH_TESTS_PERSISTENCE_SQLITE_LEDGER_FIXTURE_H_

// Shared by the ledger tests: reports, rows and pages to feed it, a second connection
// to look at the file as a user would, and a fixture with a fresh ledger per test.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/civil_date.h"
#include "persistence/ledger.h"
#include "tests/persistence/temp_dir.h"

namespace batchfetch {

#define ASSERT_OK(expr)                              \
  do {                                               \
    const Status status_ = (expr);                   \
    ASSERT_TRUE(status_.ok()) << status_.ToString(); \
  } while (false)

inline constexpr std::chrono::milliseconds kLease{60000};
inline const WallTime kT0{std::chrono::milliseconds(1'700'000'000'000)};

inline WallTime At(int64_t ms_after_t0) { return kT0 + std::chrono::milliseconds(ms_after_t0); }

// A report of site with the defaults of ReportSpec (web, date,query,page, final).
inline std::shared_ptr<const Report> MakeReport(const std::string& site = "sc-domain:example.com") {
  ReportSpec spec;
  spec.site = site;
  return Report::Make(std::move(spec));
}

// spec's report after edit(spec): MakeReport's defaults changed in one place.
template <typename Edit>
std::shared_ptr<const Report> MakeReportWith(Edit edit) {
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  edit(spec);
  return Report::Make(std::move(spec));
}

// n rows of date, distinct per salt: "query SALT-I", 12 clicks each.
inline std::vector<Row> MakeRows(int n, const std::string& date, int salt = 0, double clicks = 12) {
  std::vector<Row> rows(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row& r = rows[static_cast<std::size_t>(i)];
    r.date = date;
    r.query = "query " + std::to_string(salt) + "-" + std::to_string(i);
    r.page = "https://example.com/p/" + std::to_string(i % 97);
    r.clicks = clicks;
    r.impressions = 340 + i;
    r.ctr = clicks / (340 + i);
    r.position = 3.25;
  }
  return rows;
}

// A page that asked for row_limit rows (0: as many as it got plus one, i.e. a short page).
inline FetchedPage MakePage(std::shared_ptr<const Report> report, const Lease& lease,
                            std::vector<Row> rows, int64_t row_limit = 0,
                            bool provisional = false) {
  FetchedPage page;
  page.report = std::move(report);
  page.lease = lease;
  page.row_limit = row_limit > 0 ? row_limit : static_cast<int64_t>(rows.size()) + 1;
  page.rows = std::move(rows);
  page.provisional = provisional;
  return page;
}

// Reads one value through a connection of its own, as a user with sqlite3 would.
class Peek {
 public:
  explicit Peek(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  }
  ~Peek() { sqlite3_close(db_); }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return value;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string value = "<none>";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      value = text == nullptr ? "<null>" : reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Runs sql on path through a plain connection, as another program would.
inline void RunSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// A fresh ledger file per test, with helpers that fail the test on any error.
class SqliteLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.File("ledger.db");
    ASSERT_OK(OpenLedger(path_, &ledger_));
  }

  // Registers report and plans [from, to] without refresh.
  DayPlan Plan(const Report& report, const std::string& from, const std::string& to,
               const RefreshPolicy& refresh = {}) {
    EXPECT_TRUE(ledger_->RegisterReport(report).ok());
    const std::vector<std::string> days = DaysBetween(from, to);
    DayPlan plan;
    const Status status = ledger_->PlanDays(report.id, days, refresh, &plan);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return plan;
  }

  std::vector<Lease> Claim(const std::string& report_id, int max, WallTime now,
                           const std::string& owner = "worker-a") {
    std::vector<Lease> out;
    const ClaimRequest request{report_id, max};
    const Status status = ledger_->Claim(std::span(&request, 1), owner, kLease, now, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  }

  std::vector<bool> Commit(std::vector<FetchedPage> pages, WallTime now) {
    std::vector<bool> held;
    const Status status = ledger_->CommitPages(pages, now, kDefaultMaxAttempts, &held);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return held;
  }

  // Commits one page on its own; true when its lease held. row_limit as MakePage.
  bool CommitPage(std::shared_ptr<const Report> report, const Lease& lease, std::vector<Row> rows,
                  WallTime now, int64_t row_limit = 0, bool provisional = false) {
    std::vector<FetchedPage> pages;
    pages.push_back(MakePage(std::move(report), lease, std::move(rows), row_limit, provisional));
    const std::vector<bool> held = Commit(std::move(pages), now);
    return held.size() == 1 && held[0];
  }

  // Plans the single day date of report and claims its first page at At(0).
  Lease PlanAndClaimFirst(const Report& report, const std::string& date) {
    Plan(report, date, date);
    std::vector<Lease> leases = Claim(report.id, 1, At(0));
    EXPECT_EQ(leases.size(), 1u);
    return leases.empty() ? Lease() : leases[0];
  }

  ReportProgress ProgressOf(const std::string& report_id) {
    ReportProgress progress;
    const Status status = ledger_->Progress(std::span(&report_id, 1), &progress);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return progress;
  }

  std::string BatchField(const std::string& field, const PageKey& key) {
    return Peek(path_).Text("SELECT " + field + " FROM batches WHERE report_id = '" +
                            key.report_id + "' AND date = '" + key.date +
                            "' AND start_row = " + std::to_string(key.start_row));
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Ledger> ledger_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TESTS_PERSISTENCE_SQLITE_LEDGER_FIXTURE_H_
