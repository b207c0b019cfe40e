// A schema 2 ledger written by the previous release (tests/persistence/fixtures/
// ledger_v2.db: five old jobs of one site: date,country final over three ranges and row
// limits, date,country with dataState all overlapping one day, date,query in pages of
// 10, one dead page) opens, upgrades in place and keeps every row under its report.

#include "persistence/sqlite_migration.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "persistence/ledger.h"
#include "tests/persistence/ledger_test_backend.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/persistence/temp_dir.h"

namespace batchfetch {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string FixturePath() {
  const char* source = std::getenv("BATCHFETCH_SOURCE_DIR");
  const std::string root = source != nullptr ? source : BATCHFETCH_TEST_SOURCE_DIR;
  return root + "/tests/persistence/fixtures/ledger_v2.db";
}

// "dimensions|date" -> "rows|clicks" of search_analytics, grouped by the given columns.
using DaySums = std::map<std::string, std::string>;

class SqliteMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.File("ledger.db");
    std::error_code error;
    std::filesystem::copy_file(FixturePath(), path_, error);
    ASSERT_FALSE(error) << FixturePath() << ": " << error.message();
  }

  DaySums Sums(const std::string& key_sql) {
    DaySums out;
    for (const auto& row : db_.Query(path_, "SELECT " + key_sql +
                                                ", count(*) || '|' || CAST(sum(clicks) AS INTEGER)"
                                                " FROM search_analytics GROUP BY 1 ORDER BY 1")) {
      out[row[0]] = row[1];
    }
    return out;
  }

  TempDir dir_;
  std::string path_;
  SqliteTestBackend db_;
};

TEST_F(SqliteMigrationTest, EveryRowIsKeptUnderTheReportOfItsJob) {
  ASSERT_EQ(db_.Query(path_, "PRAGMA user_version")[0][0], "2");
  const DaySums before = Sums("dimensions || '|' || date");
  ASSERT_EQ(before.size(), 7u);
  const int64_t rows_before =
      std::stoll(db_.Query(path_, "SELECT count(*) FROM search_analytics")[0][0]);

  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(path_, OpenMode::kExisting, &ledger));
  EXPECT_EQ(db_.Query(path_, "PRAGMA user_version")[0][0], "3");
  EXPECT_EQ(db_.Query(path_, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v2'")[0][0],
            "0");

  std::vector<Report> reports;
  ASSERT_OK(ledger->ListReports(&reports));
  ASSERT_EQ(reports.size(), 3u);
  std::map<std::string, std::string> id_of;  // "dimensions data_state" -> id
  for (const Report& report : reports) {
    EXPECT_EQ(report.id, report.spec.Id());
    EXPECT_EQ(report.spec.site, "sc-domain:example.com");
    EXPECT_EQ(report.spec.aggregation_type, "auto");
    EXPECT_TRUE(report.spec.filters.empty());
    id_of[report.spec.DimensionsCsv() + " " + report.spec.data_state] = report.id;
  }
  ASSERT_EQ(id_of.size(), 3u);
  const std::string final_country = id_of["date,country final"];
  const std::string all_country = id_of["date,country all"];
  const std::string final_query = id_of["date,query final"];
  ASSERT_FALSE(final_country.empty());
  ASSERT_FALSE(all_country.empty());
  ASSERT_FALSE(final_query.empty());

  // Each old (dimensions, date) is now one report's day, with the same rows and clicks.
  const DaySums after = Sums("report_id || '|' || date");
  EXPECT_EQ(std::stoll(db_.Query(path_, "SELECT count(*) FROM search_analytics")[0][0]),
            rows_before);
  for (const auto& [key, sums] : before) {
    const std::string dimensions = key.substr(0, key.find('|'));
    const std::string date = key.substr(key.find('|') + 1);
    // The day both date,country reports fetched belongs to the older, final one.
    const std::string id = dimensions == "date,query" ? final_query : final_country;
    EXPECT_EQ(after.count(id + "|" + date), 1u) << key;
    if (after.count(id + "|" + date) == 1) {
      EXPECT_EQ(after.at(id + "|" + date), sums) << key;
    }
  }

  for (const Report& report : reports) {
    VerifyReport v;
    ASSERT_OK(ledger->Verify(report.id, &v));
    EXPECT_EQ(v.duplicate_rows, 0);
    EXPECT_TRUE(v.row_mismatch.empty()) << report.spec.Describe() << ": " << v.row_mismatch[0];
    EXPECT_TRUE(v.missing_pages.empty()) << report.spec.Describe();
    EXPECT_TRUE(v.bad_values.empty()) << report.spec.Describe();
    if (report.id == final_country) {
      EXPECT_EQ(v.unfinished, std::vector<std::string>{"2024-01-06:0 dead"});
    } else if (report.id == all_country) {
      // It lost 2024-01-03 to the final report: its next run fetches the day again.
      EXPECT_EQ(v.unfinished, std::vector<std::string>{"2024-01-03:0 pending"});
    } else {
      EXPECT_TRUE(v.clean());
    }
  }
  ReportStatus status;
  ASSERT_OK(ledger->Describe(final_country, At(0), &status));
  EXPECT_EQ(status.days_held, (std::vector<std::string>{"2024-01-01..2024-01-05", "2024-01-07"}));
  ASSERT_EQ(status.dead.size(), 1u);
  EXPECT_NE(status.dead[0].errors.find("500"), std::string::npos) << status.dead[0].errors;
  ASSERT_OK(ledger->Describe(final_query, At(0), &status));
  EXPECT_EQ(status.days_held, std::vector<std::string>{"2024-01-01..2024-01-03"});
  EXPECT_EQ(status.progress.rows, 81);

  // The next run plans nothing new for held days and fetches the lost one.
  const std::vector<std::string> days = DaysBetween("2024-01-01", "2024-01-05");
  DayPlan plan;
  ASSERT_OK(ledger->PlanDays(final_country, days, {}, &plan));
  EXPECT_EQ(plan.held, 5);
  EXPECT_EQ(plan.added, 0);

  // Opening again changes nothing.
  const DaySums migrated = Sums("report_id || '|' || date");
  const auto pages = db_.Query(path_, "SELECT * FROM batches ORDER BY 1, 2, 3");
  const auto held = db_.Query(path_, "SELECT * FROM days ORDER BY 1, 2");
  ledger.reset();
  ASSERT_OK(OpenLedger(path_, OpenMode::kExisting, &ledger));
  EXPECT_EQ(Sums("report_id || '|' || date"), migrated);
  EXPECT_EQ(db_.Query(path_, "SELECT * FROM batches ORDER BY 1, 2, 3"), pages);
  EXPECT_EQ(db_.Query(path_, "SELECT * FROM days ORDER BY 1, 2"), held);
}

TEST_F(SqliteMigrationTest, AVersionOneLedgerUpgradesThroughVersionTwo) {
  // Version 1 had no provisional column.
  db_.Query(path_, "ALTER TABLE batches DROP COLUMN provisional; PRAGMA user_version = 1");
  const DaySums before = Sums("date");
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(path_, OpenMode::kCreate, &ledger));
  EXPECT_EQ(db_.Query(path_, "PRAGMA user_version")[0][0], "3");
  EXPECT_EQ(Sums("date"), before);
  EXPECT_EQ(db_.Query(path_, "SELECT count(*) FROM batches WHERE provisional <> 0")[0][0], "0");
}

TEST_F(SqliteMigrationTest, AFinishedDayMissingRowsKeepsThemAndIsFetchedAgain) {
  // What schema 2's overlap bug left: a done page whose day lost rows.
  db_.Query(path_,
            "DELETE FROM search_analytics WHERE dimensions = 'date,query' AND date = '2024-01-01'"
            " AND query = (SELECT min(query) FROM search_analytics"
            " WHERE dimensions = 'date,query' AND date = '2024-01-01')");
  const DaySums before = Sums("dimensions || '|' || date");
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(path_, OpenMode::kExisting, &ledger));
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  spec.dimensions = {"date", "query"};
  const std::string id = spec.Id();
  EXPECT_EQ(db_.Query(path_,
                      "SELECT count(*) || '|' || CAST(sum(clicks) AS INTEGER) FROM"
                      " search_analytics WHERE report_id = '" +
                          id + "' AND date = '2024-01-01'")[0][0],
            before.at("date,query|2024-01-01"));
  VerifyReport v;
  ASSERT_OK(ledger->Verify(id, &v));
  EXPECT_EQ(v.unfinished, std::vector<std::string>{"2024-01-01:0 pending"});
  EXPECT_TRUE(v.row_mismatch.empty());
  ReportStatus status;
  ASSERT_OK(ledger->Describe(id, At(0), &status));
  EXPECT_EQ(status.days_held, std::vector<std::string>{"2024-01-02..2024-01-03"});
}

TEST_F(SqliteMigrationTest, ReadOnlyRefusesAnOldSchemaAndLeavesItByteIdentical) {
  const std::string before = ReadFile(path_);
  std::unique_ptr<Ledger> ledger;
  const Status status = OpenLedger(path_, OpenMode::kReadOnly, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kInvalid);
  EXPECT_NE(status.message().find("run batchfetch backfill once to upgrade"), std::string::npos)
      << status.message();
  EXPECT_EQ(status.message().find('\n'), std::string::npos);
  EXPECT_EQ(ReadFile(path_), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(SqliteMigrationTest, AFailedMigrationLeavesTheOldSchema) {
  // A row no schema 3 key can hold twice is impossible in schema 2; a broken table is
  // not: with batches gone the migration fails, and rolls back whole.
  db_.Query(path_, "ALTER TABLE batches RENAME TO pages");
  const std::string before = Sums("dimensions || '|' || date").begin()->second;
  std::unique_ptr<Ledger> ledger;
  EXPECT_FALSE(OpenLedger(path_, OpenMode::kExisting, &ledger).ok());
  EXPECT_EQ(db_.Query(path_, "PRAGMA user_version")[0][0], "2");
  EXPECT_EQ(Sums("dimensions || '|' || date").begin()->second, before);
}

}  // namespace
}  // namespace batchfetch
