// The analysts' side of the SQLite ledger: the views report_<id> and search_analytics_v,
// and ExportRows streaming a report's rows in key order.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <tuple>
#include <vector>

#include "persistence/report_views.h"
#include "persistence/sqlite_ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"

namespace batchfetch {
namespace {

// Column names of a table or view, in order.
std::vector<std::string> ColumnsOf(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = "SELECT name FROM pragma_table_info('" + table + "')";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class SqliteLedgerExportTest : public SqliteLedgerTest {
 protected:
  // Plans [from, to] of report and stores rows_per_day rows on every day (one page each).
  void Fill(const std::shared_ptr<const Report>& report, const std::string& from,
            const std::string& to, int rows_per_day) {
    Plan(*report, from, to);
    const std::vector<Lease> leases =
        Claim(report->id, static_cast<int>(CountDays(from, to)), At(0));
    std::vector<FetchedPage> pages;
    for (const Lease& lease : leases) {
      pages.push_back(MakePage(report, lease, MakeRows(rows_per_day, lease.key.date)));
    }
    for (bool held : Commit(std::move(pages), At(1))) ASSERT_TRUE(held);
  }

  std::vector<Row> Export(const std::string& report_id, const std::string& from = "",
                          const std::string& to = "") {
    std::vector<Row> rows;
    const Status status = ledger_->ExportRows(report_id, from, to, [&](const Row& row) {
      rows.push_back(row);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
    return rows;
  }
};

TEST_F(SqliteLedgerExportTest, RegisterReportCreatesItsViewWithItsDimensionsOnly) {
  const auto report = MakeReportWith([](ReportSpec& s) { s.dimensions = {"country", "date"}; });
  Fill(report, "2025-01-01", "2025-01-02", 3);
  EXPECT_EQ(
      ColumnsOf(path_, ReportViewName(report->id)),
      (std::vector<std::string>{"date", "country", "clicks", "impressions", "ctr", "position"}));
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM report_" + report->id), 6);
  EXPECT_EQ(peek.Int("SELECT sum(clicks) FROM report_" + report->id), 6 * 12);
  EXPECT_EQ(peek.Text("SELECT min(date) FROM report_" + report->id), "2025-01-01");
}

TEST_F(SqliteLedgerExportTest, ReportViewShowsOnlyItsReportsRows) {
  const auto a = MakeReport("sc-domain:a.example");
  const auto b = MakeReport("sc-domain:b.example");
  Fill(a, "2025-01-01", "2025-01-03", 2);
  Fill(b, "2025-01-01", "2025-01-01", 5);
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM report_" + a->id), 6);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM report_" + b->id), 5);
  EXPECT_EQ(ColumnsOf(path_, "report_" + a->id),
            (std::vector<std::string>{"date", "query", "page", "clicks", "impressions", "ctr",
                                      "position"}));
}

TEST_F(SqliteLedgerExportTest, GeneralViewHasNullForAbsentDimensionsAndTheReportsFields) {
  const auto report = MakeReportWith([](ReportSpec& s) {
    s.dimensions = {"date", "query"};
    s.filters = {"country:equals:fra"};
  });
  Plan(*report, "2025-02-01", "2025-02-01");
  const std::vector<Lease> leases = Claim(report->id, 1, At(0));
  ASSERT_EQ(leases.size(), 1u);
  std::vector<Row> rows = MakeRows(2, "2025-02-01");
  for (Row& r : rows) r.page.clear();  // the API sends no page for a (date, query) report
  ASSERT_TRUE(CommitPage(report, leases[0], rows, At(1)));

  Peek peek(path_);
  const std::string where = " FROM search_analytics_v WHERE report_id = '" + report->id + "'";
  EXPECT_EQ(peek.Int("SELECT count(*)" + where), 2);
  EXPECT_EQ(peek.Int("SELECT count(*)" + where +
                     " AND page IS NULL AND country IS NULL"
                     " AND device IS NULL AND hour IS NULL AND search_appearance IS NULL"),
            2);
  EXPECT_EQ(peek.Int("SELECT count(*)" + where + " AND query IS NOT NULL"), 2);
  EXPECT_EQ(peek.Text("SELECT site || ' ' || search_type || ' ' || dimensions || ' ' ||"
                      " data_state || ' ' || aggregation_type || ' ' || filters" +
                      where),
            "sc-domain:example.com web date,query final auto country:equals:fra");
}

TEST_F(SqliteLedgerExportTest, ExportRowsStreamsInKeyOrderWithinTheRange) {
  const auto report = MakeReport();
  Fill(report, "2025-03-01", "2025-03-05", 4);
  const std::vector<Row> all = Export(report->id);
  ASSERT_EQ(all.size(), 20u);
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(std::tie(all[i - 1].date, all[i - 1].query, all[i - 1].page),
              std::tie(all[i].date, all[i].query, all[i].page));
  }
  EXPECT_EQ(all.front().clicks, 12);
  EXPECT_DOUBLE_EQ(all.front().ctr, 12.0 / 340);
  EXPECT_DOUBLE_EQ(all.front().position, 3.25);

  const std::vector<Row> some = Export(report->id, "2025-03-02", "2025-03-03");
  ASSERT_EQ(some.size(), 8u);
  EXPECT_EQ(some.front().date, "2025-03-02");
  EXPECT_EQ(some.back().date, "2025-03-03");
  EXPECT_EQ(Export(report->id, "2025-03-04").size(), 8u);
  EXPECT_EQ(Export(report->id, "", "2025-03-01").size(), 4u);
}

TEST_F(SqliteLedgerExportTest, ExportRowsStopsAtTheCallersError) {
  const auto report = MakeReport();
  Fill(report, "2025-03-01", "2025-03-02", 3);
  int seen = 0;
  const Status status = ledger_->ExportRows(report->id, "", "", [&](const Row&) {
    return ++seen == 2 ? Status::Error(Status::Code::kIoError, "pipe closed") : Status::Ok();
  });
  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_EQ(seen, 2);
  // The statement is usable again afterwards.
  EXPECT_EQ(Export(report->id).size(), 6u);
}

TEST_F(SqliteLedgerExportTest, ExportRowsRefusesAnUnknownReportAndABadDate) {
  int calls = 0;
  auto count = [&](const Row&) {
    ++calls;
    return Status::Ok();
  };
  EXPECT_EQ(ledger_->ExportRows("0123456789abcdef", "", "", count).code(), Status::Code::kNotFound);
  const auto report = MakeReport();
  Fill(report, "2025-03-01", "2025-03-01", 1);
  EXPECT_EQ(ledger_->ExportRows(report->id, "2025-13-01", "", count).code(),
            Status::Code::kInvalid);
  EXPECT_EQ(calls, 0);
}

TEST_F(SqliteLedgerExportTest, ExportRowsWorksOnAReadOnlyLedger) {
  const auto report = MakeReport();
  Fill(report, "2025-03-01", "2025-03-02", 3);
  std::unique_ptr<Ledger> reader;
  ASSERT_OK(OpenLedger(path_, OpenMode::kReadOnly, &reader));
  int64_t rows = 0;
  ASSERT_OK(reader->ExportRows(report->id, "", "", [&](const Row&) {
    ++rows;
    return Status::Ok();
  }));
  EXPECT_EQ(rows, 6);
}

TEST_F(SqliteLedgerExportTest, ExportSeesAWholeDayOnlyOnceItsLastPageCommits) {
  const auto report = MakeReport();
  Plan(*report, "2025-04-01", "2025-04-01");
  std::vector<Lease> first = Claim(report->id, 1, At(0));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(CommitPage(report, first[0], MakeRows(3, "2025-04-01", 1), At(1), 3));
  EXPECT_EQ(Export(report->id).size(), 0u);  // staged, not yet visible
  std::vector<Lease> second = Claim(report->id, 1, At(2));
  ASSERT_EQ(second.size(), 1u);
  ASSERT_TRUE(CommitPage(report, second[0], MakeRows(1, "2025-04-01", 2), At(3), 3));
  EXPECT_EQ(Export(report->id).size(), 4u);
}

}  // namespace
}  // namespace batchfetch
