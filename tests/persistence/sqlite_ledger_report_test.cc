#include <gtest/gtest.h>

#include "persistence/sqlite_ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"

namespace batchfetch {
namespace {

TEST_F(SqliteLedgerTest, ReportListsDeadPagesAndLiveLeasesByOwner) {
  auto job = MakeJob("2024-01-01", "2024-01-06");
  ASSERT_OK(ledger_->RegisterJob(*job));
  const auto a = Claim(job->id, 2, At(0), "worker-a");
  const auto b = Claim(job->id, 1, At(500), "worker-b");
  const auto dying = Claim(job->id, 1, At(600), "worker-b");
  bool held = false;
  ASSERT_OK(ledger_->FailPage(dying[0], "HTTP 400 bad request", true, 5, At(0), At(700), &held));
  Claim(job->id, 1, At(-kLease.count()), "worker-gone");  // expired at At(0)

  JobReport report;
  ASSERT_OK(ledger_->Report(job->id, At(1000), &report));
  EXPECT_EQ(report.progress.leased, 4);
  EXPECT_EQ(report.progress.dead, 1);
  EXPECT_EQ(report.progress.pending, 1);
  ASSERT_EQ(report.dead.size(), 1u);
  EXPECT_EQ(report.dead[0].key, dying[0].key);
  EXPECT_EQ(report.dead[0].attempts, 1);
  EXPECT_EQ(report.dead[0].last_error, "HTTP 400 bad request");
  EXPECT_NE(report.dead[0].errors.find("HTTP 400 bad request"), std::string::npos);
  ASSERT_EQ(report.leases.size(), 2u) << "worker-gone's lease has expired";
  EXPECT_EQ(report.leases[0].owner, "worker-a");
  EXPECT_EQ(report.leases[0].pages, 2);
  EXPECT_EQ(report.leases[0].last_heartbeat, At(0));
  EXPECT_EQ(report.leases[0].expires_at, At(kLease.count()));
  EXPECT_EQ(report.leases[1].owner, "worker-b");
  EXPECT_EQ(report.leases[1].pages, 1);
  EXPECT_EQ(report.leases[1].last_heartbeat, At(500));

  JobReport unknown;
  EXPECT_EQ(ledger_->Report("no-such-job", At(0), &unknown).code(), Status::Code::kNotFound);
}

class SqliteLedgerVerifyTest : public SqliteLedgerTest {
 protected:
  // Runs job (3 days, row_limit 4) to the end: day 1 has a full page then a short one,
  // days 2 and 3 one short page each. 4 + 1 + 2 + 3 rows.
  void RunJobToTheEnd() {
    ASSERT_OK(ledger_->RegisterJob(*job_));
    const int sizes[] = {4, 2, 3, 1};  // by claim order: day 1, day 2, day 3, day 1 page 2
    int i = 0;
    for (int round = 0; round < 2; ++round) {
      for (const Lease& lease : Claim(job_->id, 10, At(round))) {
        ASSERT_TRUE(CommitPage(job_, lease, MakeRows(sizes[i], lease.key.date, i), At(round)));
        ++i;
      }
    }
    ASSERT_EQ(i, 4);
  }

  VerifyReport Verify() {
    VerifyReport report;
    const Status status = ledger_->Verify(job_->id, &report);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return report;
  }

  std::shared_ptr<const Job> job_ = MakeJob("2024-01-01", "2024-01-03", 4);
};

TEST_F(SqliteLedgerVerifyTest, AFinishedJobIsClean) {
  RunJobToTheEnd();
  const VerifyReport report = Verify();
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.duplicate_rows, 0);
  EXPECT_TRUE(report.truncated_days.empty());
  EXPECT_EQ(ProgressOf(job_->id).rows, 10);
}

TEST_F(SqliteLedgerVerifyTest, ReportsUnfinishedPagesAndMissingDays) {
  ASSERT_OK(ledger_->RegisterJob(*job_));
  const Lease first = Claim(job_->id, 1, At(0))[0];
  ASSERT_TRUE(CommitPage(job_, first, MakeRows(4, first.key.date), At(0)));  // full
  RunSql(path_, "DELETE FROM batches WHERE date = '2024-01-03'");
  const VerifyReport report = Verify();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.unfinished,
            (std::vector<std::string>{"2024-01-01:4 pending", "2024-01-02:0 pending"}));
  EXPECT_EQ(report.missing_days, (std::vector<std::string>{"2024-01-03"}));
  EXPECT_TRUE(report.missing_pages.empty());
}

TEST_F(SqliteLedgerVerifyTest, ReportsAMissingNextPageAndDeletedRows) {
  RunJobToTheEnd();
  RunSql(path_,
         "DELETE FROM batches WHERE date = '2024-01-01' AND start_row = 4;"
         "DELETE FROM search_analytics WHERE date = '2024-01-02' AND query ="
         " (SELECT min(query) FROM search_analytics WHERE date = '2024-01-02')");
  const VerifyReport report = Verify();
  EXPECT_EQ(report.missing_pages, (std::vector<std::string>{"2024-01-01:4"}));
  // Day 1 now stores more rows than its remaining done page counts: not a loss.
  EXPECT_EQ(report.row_mismatch, (std::vector<std::string>{"2024-01-02: stored 1, ledger says 2"}));
  EXPECT_FALSE(report.clean());
}

TEST_F(SqliteLedgerVerifyTest, CountsDuplicateRowsInATableThatLostItsKey) {
  RunJobToTheEnd();
  RunSql(path_,
         "CREATE TABLE copy AS SELECT * FROM search_analytics;"
         "DROP TABLE search_analytics;"
         "ALTER TABLE copy RENAME TO search_analytics;"
         "INSERT INTO search_analytics SELECT * FROM search_analytics WHERE date = '2024-01-03'");
  const VerifyReport report = Verify();
  EXPECT_EQ(report.duplicate_rows, 6) << "3 keys, each stored twice";
  EXPECT_FALSE(report.clean());
}

TEST_F(SqliteLedgerVerifyTest, ListsTruncatedDaysWithoutCallingThemProblems) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  for (int64_t start_row : {int64_t{0}, int64_t{25000}}) {
    const Lease lease = Claim(job->id, 1, At(0))[0];
    const int salt = static_cast<int>(start_row);
    ASSERT_TRUE(CommitPage(job, lease, MakeRows(25000, "2024-01-01", salt), At(0)));
  }
  VerifyReport report;
  ASSERT_OK(ledger_->Verify(job->id, &report));
  EXPECT_EQ(report.truncated_days, (std::vector<std::string>{"2024-01-01"}));
  EXPECT_TRUE(report.clean());
}

TEST_F(SqliteLedgerVerifyTest, UnknownJobIsNotFound) {
  VerifyReport report;
  EXPECT_EQ(ledger_->Verify("no-such-job", &report).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace batchfetch
