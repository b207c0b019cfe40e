// A schema-v2 PostgreSQL ledger written by the previous release upgrades in place: every
// row kept and attributed to its report, pages of one report's several old jobs merged,
// days recorded, Verify clean, re-opening changes nothing.
//
// The fixture (fixtures/ledger_v2_postgres.sql) was made with the previous release's
// batchfetch against its mockgsc (--seed 7 --rows-per-day 120), site sc-domain:example.com:
//   backfill --from 2026-11-01 --to 2026-11-03 --dimensions date,query   --row-limit 50
//   backfill --from 2026-11-02 --to 2026-11-04 --dimensions date,query   --row-limit 50
//   backfill --from 2026-11-01 --to 2026-11-02 --dimensions date,country --row-limit 50
// then `pg_dump --no-owner --no-privileges --inserts`.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include "persistence/postgres_ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch {
namespace {

using testing::PgCluster;
using testing::PgQuery;
using testing::PgScalar;

// The dump's SQL without psql's meta-commands (\restrict ...), for one PQexec.
std::string FixtureSql() {
  // ctest names the source tree; a by-hand run from anywhere falls back to __FILE__.
  const char* root = std::getenv("BATCHFETCH_SOURCE_DIR");
  const std::filesystem::path dir = root != nullptr && *root != '\0'
                                        ? std::filesystem::path(root) / "tests" / "persistence"
                                        : std::filesystem::path(__FILE__).parent_path();
  const auto path = dir / "fixtures" / "ledger_v2_postgres.sql";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::string sql, line;
  while (std::getline(in, line)) {
    if (!line.starts_with("\\")) sql += line + "\n";
  }
  return sql;
}

ReportSpec Spec(std::vector<std::string> dimensions) {
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  spec.dimensions = std::move(dimensions);
  return spec;
}

class PostgresMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = PgCluster::Shared().NewDatabase();
    PgQuery(uri_, FixtureSql());
    ASSERT_EQ(PgScalar(uri_, "SELECT version FROM batchfetch_schema"), 2);
  }

  // "dimensions date count sum(clicks)" per day, from the v2 tables or the v3 ones.
  std::vector<std::string> DaysV2() {
    return Lines(
        "SELECT dimensions || ' ' || date || ' ' || count(*) || ' ' || sum(clicks)::bigint"
        " FROM search_analytics GROUP BY dimensions, date ORDER BY 1");
  }
  std::vector<std::string> DaysV3(const std::map<std::string, std::string>& dims_of_report) {
    std::vector<std::string> out;
    for (const auto& row :
         PgQuery(uri_,
                 "SELECT report_id, date::text || ' ' || count(*) || ' ' || sum(clicks)"
                 " FROM search_analytics GROUP BY report_id, date ORDER BY date, report_id")) {
      out.push_back(dims_of_report.at(row[0]) + " " + row[1]);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> Lines(const std::string& sql) {
    std::vector<std::string> out;
    for (const auto& row : PgQuery(uri_, sql)) out.push_back(row[0]);
    return out;
  }
  // A digest of every ledger table's content.
  std::string Digest() {
    std::string out;
    for (const char* table : {"reports", "batches", "days", "search_analytics"}) {
      out += PgQuery(uri_, std::string("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY"
                                       " t::text), '')) FROM ") +
                               table + " AS t")[0][0];
    }
    return out;
  }

  std::string uri_;
};

TEST_F(PostgresMigrationTest, AVersion2LedgerUpgradesWithEveryRowAttributedToItsReport) {
  const std::vector<std::string> before = DaysV2();
  ASSERT_EQ(before.size(), 4u);
  const int64_t rows_before = PgScalar(uri_, "SELECT count(*) FROM search_analytics");

  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenPostgresLedger(uri_, OpenMode::kCreate, &ledger));
  EXPECT_EQ(PgScalar(uri_, "SELECT version FROM batchfetch_schema"), 3);
  EXPECT_EQ(PgScalar(uri_,
                     "SELECT count(*) FROM pg_tables WHERE tablename IN"
                     " ('jobs', 'batches_v2', 'search_analytics_v2')"),
            0);

  const ReportSpec by_query = Spec({"date", "query"}), by_country = Spec({"date", "country"});
  std::vector<Report> reports;
  ASSERT_OK(ledger->ListReports(&reports));
  ASSERT_EQ(reports.size(), 2u) << "two old jobs of one report became one report";
  std::map<std::string, std::string> dims;
  for (const Report& r : reports) {
    EXPECT_EQ(r.id, r.spec.Id());
    dims[r.id] = r.spec.DimensionsCsv();
  }
  ASSERT_TRUE(dims.contains(by_query.Id()));
  ASSERT_TRUE(dims.contains(by_country.Id()));

  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM search_analytics"), rows_before);
  EXPECT_EQ(DaysV3(dims), before) << "same rows and click sums per report and day";

  // Pages of the two overlapping jobs merged: one page per (date, start_row).
  EXPECT_EQ(
      PgScalar(uri_, "SELECT count(*) FROM batches WHERE report_id = '" + by_query.Id() + "'"), 9);
  for (const Report& r : reports) {
    VerifyReport v;
    ASSERT_OK(ledger->Verify(r.id, &v));
    EXPECT_TRUE(v.clean()) << r.spec.Describe()
                           << (v.row_mismatch.empty() ? "" : " " + v.row_mismatch[0]);
  }
  ReportStatus status;
  ASSERT_OK(ledger->Describe(by_query.Id(), kT0, &status));
  EXPECT_EQ(status.days_held, std::vector<std::string>{"2026-11-01..2026-11-04"});
  EXPECT_EQ(status.progress.rows, PgScalar(uri_,
                                           "SELECT count(*) FROM search_analytics WHERE"
                                           " report_id = '" +
                                               by_query.Id() + "'"));
  ASSERT_OK(ledger->Describe(by_country.Id(), kT0, &status));
  EXPECT_EQ(status.days_held, std::vector<std::string>{"2026-11-01..2026-11-02"});

  // The next run fetches only the day the ledger does not hold.
  DayPlan plan;
  const std::vector<std::string> days = DaysBetween("2026-11-01", "2026-11-05");
  ASSERT_OK(ledger->PlanDays(by_query.Id(), days, {}, &plan));
  EXPECT_EQ(plan.added, 1);
  EXPECT_EQ(plan.held, 4);
}

TEST_F(PostgresMigrationTest, ADayDamagedByVersion2IsKeptButFetchedAgain) {
  // Version 2's overlap bug: another job's page 0 deleted part of a finished day.
  PgQuery(uri_,
          "DELETE FROM search_analytics WHERE dimensions = 'date,query' AND date = '2026-11-04'"
          " AND query IN (SELECT query FROM search_analytics WHERE dimensions = 'date,query'"
          " AND date = '2026-11-04' ORDER BY query LIMIT 60)");
  const int64_t rows_before = PgScalar(uri_, "SELECT count(*) FROM search_analytics");
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenPostgresLedger(uri_, OpenMode::kCreate, &ledger));
  const std::string id = Spec({"date", "query"}).Id();
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM search_analytics"), rows_before);
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM days WHERE date = DATE '2026-11-04'"), 0);
  EXPECT_EQ(PgScalar(uri_,
                     "SELECT count(*) FROM batches WHERE date = DATE '2026-11-04' AND"
                     " start_row = 0 AND state = 'pending' AND report_id = '" +
                         id + "'"),
            1);
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM batches WHERE date = DATE '2026-11-04'"), 1);
  VerifyReport v;
  ASSERT_OK(ledger->Verify(id, &v));
  EXPECT_EQ(v.unfinished, std::vector<std::string>{"2026-11-04:0 pending"});
  EXPECT_EQ(v.row_mismatch, std::vector<std::string>{"2026-11-04: stored 127, ledger says 0"});
}

TEST_F(PostgresMigrationTest, ReopeningAnUpgradedLedgerChangesNothing) {
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenPostgresLedger(uri_, OpenMode::kCreate, &ledger));
  ledger.reset();
  const std::string digest = Digest();
  for (OpenMode mode : {OpenMode::kCreate, OpenMode::kExisting, OpenMode::kReadOnly}) {
    ASSERT_OK(OpenPostgresLedger(uri_, mode, &ledger));
    ledger.reset();
    EXPECT_EQ(Digest(), digest);
  }
}

TEST_F(PostgresMigrationTest, ReadOnlyNeverMigratesAndLeavesVersion2Untouched) {
  std::unique_ptr<Ledger> ledger;
  EXPECT_EQ(OpenPostgresLedger(uri_, OpenMode::kReadOnly, &ledger).code(), Status::Code::kForeign);
  EXPECT_EQ(PgScalar(uri_, "SELECT version FROM batchfetch_schema"), 2);
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM jobs"), 3);
}

TEST_F(PostgresMigrationTest, TwoProcessesOpeningAtOnceMigrateOnce) {
  const int64_t rows_before = PgScalar(uri_, "SELECT count(*) FROM search_analytics");
  constexpr int kOpeners = 3;
  Status results[kOpeners];
  std::latch start(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      std::unique_ptr<Ledger> ledger;
      start.arrive_and_wait();
      results[i] = OpenPostgresLedger(uri_, OpenMode::kCreate, &ledger);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(PgScalar(uri_, "SELECT version FROM batchfetch_schema"), 3);
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM search_analytics"), rows_before);
  EXPECT_EQ(PgScalar(uri_, "SELECT count(*) FROM reports"), 2);
}

}  // namespace
}  // namespace batchfetch
