// The analysts' side of the PostgreSQL ledger: the views report_<id> (typed DATE) and
// search_analytics_v, and ExportRows through a cursor, on a throwaway cluster.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/civil_date.h"
#include "persistence/ledger.h"
#include "persistence/postgres_ledger.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch {
namespace {

using testing::PgCluster;
using testing::PgQuery;
using testing::PgScalar;

std::shared_ptr<const Report> MakeReport(std::vector<std::string> dimensions) {
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  spec.dimensions = std::move(dimensions);
  return Report::Make(std::move(spec));
}

class PostgresExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = PgCluster::Shared().NewDatabase();
    const Status s = OpenLedger(uri_, &ledger_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // days days from 2025-01-01 of report, rows_per_day rows each, one page per day.
  void Fill(const std::shared_ptr<const Report>& report, int days, int rows_per_day) {
    ASSERT_TRUE(ledger_->RegisterReport(*report).ok());
    const auto all = DaysBetween("2025-01-01", AddDays("2025-01-01", days - 1));
    DayPlan plan;
    ASSERT_TRUE(ledger_->PlanDays(report->id, all, RefreshPolicy(), &plan).ok());
    std::vector<Lease> leases;
    const ClaimRequest request{report->id, days};
    Status s = ledger_->Claim(std::span(&request, 1), "t", std::chrono::minutes(5),
                              WallClock::now(), &leases);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(leases.size(), static_cast<std::size_t>(days));
    std::vector<FetchedPage> pages;
    for (const Lease& lease : leases) {
      FetchedPage& page = pages.emplace_back();
      page.report = report;
      page.lease = lease;
      page.row_limit = 25000;
      for (int i = 0; i < rows_per_day; ++i) {
        Row& r = page.rows.emplace_back();
        r.date = lease.key.date;
        r.query = "q" + std::to_string(i);
        r.country = "fra";
        r.clicks = 1 + i;
        r.impressions = 10 + i;
        r.ctr = r.clicks / r.impressions;
        r.position = 2.5;
      }
    }
    std::vector<bool> held;
    s = ledger_->CommitPages(pages, WallClock::now(), kDefaultMaxAttempts, &held);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string uri_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(PostgresExportTest, ReportViewHasTypedDateAndOnlyItsDimensions) {
  const auto report = MakeReport({"date", "query"});
  Fill(report, 3, 4);
  const auto columns = PgQuery(uri_,
                               "SELECT column_name, data_type FROM information_schema.columns"
                               " WHERE table_name = 'report_" +
                                   report->id + "' ORDER BY ordinal_position");
  ASSERT_EQ(columns.size(), 6u);
  EXPECT_EQ(columns[0], (std::vector<std::string>{"date", "date"}));
  EXPECT_EQ(columns[1][0], "query");
  EXPECT_EQ(columns[2][0], "clicks");
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM report_" + report->id), 12);
  EXPECT_EQ(PgScalar(uri_, "SELECT sum(clicks) FROM report_" + report->id), 3 * (1 + 2 + 3 + 4));
}

TEST_F(PostgresExportTest, GeneralViewHasNullForAbsentDimensions) {
  const auto report = MakeReport({"date", "query"});
  Fill(report, 1, 2);
  EXPECT_EQ(PgScalar(uri_,
                     "SELECT count(*) FROM search_analytics_v WHERE country IS NULL"
                     " AND page IS NULL AND query IS NOT NULL AND data_state = 'final'"),
            2);
}

TEST_F(PostgresExportTest, ExportRowsStreamsInOrderWithinTheRange) {
  const auto report = MakeReport({"date", "query", "country"});
  Fill(report, 5, 1100);  // more than one FETCH per export
  std::vector<std::string> dates;
  double clicks = 0;
  Status s = ledger_->ExportRows(report->id, "2025-01-02", "2025-01-04", [&](const Row& row) {
    if (!dates.empty()) {
      EXPECT_LE(dates.back(), row.date);
    }
    dates.push_back(row.date);
    clicks += row.clicks;
    EXPECT_EQ(row.country, "fra");
    EXPECT_DOUBLE_EQ(row.position, 2.5);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(dates.size(), 3u * 1100);
  EXPECT_EQ(dates.front(), "2025-01-02");
  EXPECT_EQ(dates.back(), "2025-01-04");
  EXPECT_EQ(clicks, 3.0 * 1100 * 1101 / 2);

  int seen = 0;
  s = ledger_->ExportRows(report->id, "", "", [&](const Row&) {
    return ++seen == 3 ? Status::Error(Status::Code::kIoError, "stop") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(ledger_->ExportRows("0123456789abcdef", "", "", [](const Row&) { return Status::Ok(); })
                .code(),
            Status::Code::kNotFound);
  // The connection is usable after both.
  int64_t all = 0;
  ASSERT_TRUE(ledger_
                  ->ExportRows(report->id, "", "",
                               [&](const Row&) {
                                 ++all;
                                 return Status::Ok();
                               })
                  .ok());
  EXPECT_EQ(all, 5 * 1100);
}

}  // namespace
}  // namespace batchfetch
