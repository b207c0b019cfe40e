#ifndef BATCHFETCH_TESTS_PERSISTENCE_SQLITE_LEDGER_FIXTURE_H_
#define BATCHFETCH_TESTS_PERSISTENCE_SQLITE_LEDGER_FIXTURE_H_

// Shared by the SqliteLedger tests: jobs, rows and pages to feed it, a second connection
// to look at the file as a user would, and a fixture with a fresh ledger per test.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

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

inline std::shared_ptr<const Job> MakeJob(const std::string& from, const std::string& to,
                                          int row_limit = 25000) {
  auto job = std::make_shared<Job>();
  job->spec.site = "sc-domain:example.com";
  job->spec.start_date = from;
  job->spec.end_date = to;
  job->spec.row_limit = row_limit;
  job->id = job->spec.Id();
  return job;
}

inline std::vector<Row> MakeRows(int n, const std::string& date, int salt = 0) {
  std::vector<Row> rows(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row& r = rows[static_cast<std::size_t>(i)];
    r.date = date;
    r.query = "query " + std::to_string(salt) + "-" + std::to_string(i);
    r.page = "https://example.com/p/" + std::to_string(i % 97);
    r.clicks = 12;
    r.impressions = 340 + i;
    r.ctr = 12.0 / (340 + i);
    r.position = 3.25;
  }
  return rows;
}

inline FetchedPage MakePage(std::shared_ptr<const Job> job, const Lease& lease,
                            std::vector<Row> rows) {
  return FetchedPage{std::move(job), lease, std::move(rows)};
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

  std::vector<Lease> Claim(const std::string& job_id, int max, WallTime now,
                           const std::string& owner = "worker-a") {
    std::vector<Lease> out;
    const Status status = ledger_->Claim(job_id, owner, max, kLease, now, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  }

  std::vector<bool> Commit(std::vector<FetchedPage> pages, WallTime now) {
    std::vector<bool> held;
    const Status status = ledger_->CommitPages(pages, now, &held);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return held;
  }

  // Commits one page on its own; true when its lease held.
  bool CommitPage(std::shared_ptr<const Job> job, const Lease& lease, std::vector<Row> rows,
                  WallTime now) {
    std::vector<FetchedPage> pages;
    pages.push_back(MakePage(std::move(job), lease, std::move(rows)));
    const std::vector<bool> held = Commit(std::move(pages), now);
    return held.size() == 1 && held[0];
  }

  // Registers job and claims its first page at At(0).
  Lease RegisterAndClaimFirst(const Job& job) {
    EXPECT_TRUE(ledger_->RegisterJob(job).ok());
    std::vector<Lease> leases = Claim(job.id, 1, At(0));
    EXPECT_EQ(leases.size(), 1u);
    return leases.empty() ? Lease() : leases[0];
  }

  JobProgress ProgressOf(const std::string& job_id) {
    JobProgress progress;
    const Status status = ledger_->Progress(job_id, &progress);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return progress;
  }

  std::string BatchField(const std::string& field, const PageKey& key) {
    return Peek(path_).Text("SELECT " + field + " FROM batches WHERE job_id = '" + key.job_id +
                            "' AND date = '" + key.date +
                            "' AND start_row = " + std::to_string(key.start_row));
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Ledger> ledger_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TESTS_PERSISTENCE_SQLITE_LEDGER_FIXTURE_H_
