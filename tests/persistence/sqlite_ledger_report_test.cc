// SqliteLedger's Describe and Verify on files a user may have touched by hand. The
// behaviour every backend shares is in ledger_contract_test.cc.

#include <gtest/gtest.h>

#include <limits>

#include "persistence/sqlite_ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"

namespace batchfetch {
namespace {

class SqliteLedgerVerifyTest : public SqliteLedgerTest {
 protected:
  // Fetches report_ over 2024-01-01..03 with 4 rows per page: day 1 has a full page then
  // a short one, days 2 and 3 one short page each. 4 + 1 + 2 + 3 rows.
  void FetchEverything() {
    Plan(*report_, "2024-01-01", "2024-01-03");
    const int sizes[] = {4, 2, 3, 1};  // by claim order: day 1, day 2, day 3, day 1 page 2
    int i = 0;
    for (int round = 0; round < 2; ++round) {
      for (const Lease& lease : Claim(report_->id, 10, At(round))) {
        ASSERT_TRUE(
            CommitPage(report_, lease, MakeRows(sizes[i], lease.key.date, i), At(round), 4));
        ++i;
      }
    }
    ASSERT_EQ(i, 4);
  }

  VerifyReport Verify() {
    VerifyReport report;
    const Status status = ledger_->Verify(report_->id, &report);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return report;
  }

  std::shared_ptr<const Report> report_ = MakeReport();
};

TEST_F(SqliteLedgerVerifyTest, AFinishedReportIsClean) {
  FetchEverything();
  const VerifyReport report = Verify();
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.duplicate_rows, 0);
  EXPECT_TRUE(report.truncated_days.empty());
  EXPECT_EQ(ProgressOf(report_->id).rows, 10);
  EXPECT_EQ(Peek(path_).Int("SELECT count(*) FROM staged_rows"), 0) << "staging is emptied";
}

TEST_F(SqliteLedgerVerifyTest, CountsDuplicateRowsInATableThatLostItsKey) {
  FetchEverything();
  RunSql(path_,
         "PRAGMA legacy_alter_table = ON;"  // the views name the table: rename regardless
         "CREATE TABLE copy AS SELECT * FROM search_analytics;"
         "DROP TABLE search_analytics;"
         "ALTER TABLE copy RENAME TO search_analytics;"
         "INSERT INTO search_analytics SELECT * FROM search_analytics WHERE date = '2024-01-03'");
  // A fresh connection: its statements are prepared against the damaged table.
  ledger_.reset();
  ASSERT_OK(OpenLedger(path_, OpenMode::kReadOnly, &ledger_));
  const VerifyReport report = Verify();
  EXPECT_EQ(report.duplicate_rows, 6) << "3 keys, each stored twice";
  EXPECT_EQ(report.row_mismatch, std::vector<std::string>{"2024-01-03: stored 6, ledger says 3"});
  EXPECT_FALSE(report.clean());
}

TEST_F(SqliteLedgerVerifyTest, RowsStoredWithoutTheirDayBeingHeldAreAMismatchOfThatDay) {
  FetchEverything();
  RunSql(path_,
         "INSERT INTO search_analytics SELECT report_id, site, search_type, date, hour,"
         " query || ' extra', page, country, device, search_appearance, clicks, impressions,"
         " ctr, position, fetched_at FROM search_analytics WHERE date = '2024-01-02'");
  EXPECT_EQ(Verify().row_mismatch, std::vector<std::string>{"2024-01-02: stored 4, ledger says 2"});
}

TEST_F(SqliteLedgerVerifyTest, InfinitePositionsAreImpossibleValues) {
  Plan(*report_, "2024-01-01", "2024-01-01");
  std::vector<Row> rows = MakeRows(3, "2024-01-01");
  rows[1].position = std::numeric_limits<double>::infinity();
  ASSERT_TRUE(CommitPage(report_, Claim(report_->id, 1, At(0))[0], rows, At(1)));
  const VerifyReport report = Verify();
  ASSERT_EQ(report.bad_values.size(), 1u);
  EXPECT_EQ(report.bad_values[0].rfind("2024-01-01: 1 rows", 0), 0u) << report.bad_values[0];
}

TEST_F(SqliteLedgerTest, DescribeOfAReportWithNothingFetchedHasNoRanges) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-02");
  ReportStatus status;
  ASSERT_OK(ledger_->Describe(report->id, At(0), &status));
  EXPECT_TRUE(status.days_held.empty());
  EXPECT_EQ(status.progress.pending, 2);
  EXPECT_TRUE(status.leases.empty());
  EXPECT_TRUE(status.dead.empty());
}

}  // namespace
}  // namespace batchfetch
