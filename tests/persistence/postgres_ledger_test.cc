// What only the PostgreSQL ledger promises, beyond the contract every backend keeps
// (ledger_contract_test.cc): open modes that create nothing, typed columns, leases decided
// by the server's clock, connection settings, the staging table, and no password in any
// message. Each test gets a fresh database in a throw-away cluster (never skipped).

#include "persistence/postgres_ledger.h"

#include <gtest/gtest.h>

#include <chrono>
#include <latch>
#include <map>
#include <thread>

#include "core/civil_date.h"
#include "persistence/postgres_connection.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using testing::PgCluster;
using testing::PgQuery;
using testing::PgScalar;

class PostgresLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { uri_ = PgCluster::Shared().NewDatabase(); }

  std::unique_ptr<Ledger> Open(OpenMode mode = OpenMode::kCreate) {
    std::unique_ptr<Ledger> ledger;
    const Status status = OpenPostgresLedger(uri_, mode, &ledger);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return ledger;
  }
  int64_t Int(const std::string& sql) { return PgScalar(uri_, sql); }
  std::string Text(const std::string& sql) {
    const auto rows = PgQuery(uri_, sql);
    return rows.empty() || rows[0].empty() ? "<none>" : rows[0][0];
  }
  // Registers report, plans date and claims its page 0 through ledger.
  Lease ClaimDay(Ledger& ledger, const Report& report, const std::string& date, milliseconds lease,
                 WallTime now, const std::string& owner = "worker-a") {
    EXPECT_TRUE(ledger.RegisterReport(report).ok());
    DayPlan plan;
    const std::string days[] = {date};
    EXPECT_TRUE(ledger.PlanDays(report.id, days, {}, &plan).ok());
    std::vector<Lease> out;
    const ClaimRequest request{report.id, 1};
    EXPECT_TRUE(ledger.Claim(std::span(&request, 1), owner, lease, now, &out).ok());
    return out.empty() ? Lease{} : out[0];
  }
  std::vector<Lease> ClaimAny(Ledger& ledger, const Report& report, milliseconds lease,
                              WallTime now, const std::string& owner) {
    std::vector<Lease> out;
    const ClaimRequest request{report.id, 10};
    const Status status = ledger.Claim(std::span(&request, 1), owner, lease, now, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  }
  bool Commit(Ledger& ledger, std::shared_ptr<const Report> report, const Lease& lease,
              std::vector<Row> rows, int64_t row_limit) {
    std::vector<FetchedPage> pages;
    pages.push_back(MakePage(std::move(report), lease, std::move(rows), row_limit));
    std::vector<bool> held;
    const Status status = ledger.CommitPages(pages, WallClock::now(), kDefaultMaxAttempts, &held);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return held.size() == 1 && held[0];
  }

  std::string uri_;
};

TEST_F(PostgresLedgerTest, ExistingAndReadOnlyRefuseADatabaseWithoutALedgerAndCreateNothing) {
  for (OpenMode mode : {OpenMode::kExisting, OpenMode::kReadOnly}) {
    std::unique_ptr<Ledger> ledger;
    EXPECT_EQ(OpenPostgresLedger(uri_, mode, &ledger).code(), Status::Code::kNotFound);
    EXPECT_EQ(ledger, nullptr);
  }
  EXPECT_EQ(Int("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
}

TEST_F(PostgresLedgerTest, ReadOnlyOpensALedgerButWritesNothing) {
  auto report = MakeReport();
  ASSERT_OK(Open()->RegisterReport(*report));
  std::unique_ptr<Ledger> ro = Open(OpenMode::kReadOnly);
  ASSERT_NE(ro, nullptr);
  std::vector<Report> reports;
  ASSERT_OK(ro->ListReports(&reports));
  EXPECT_EQ(reports.size(), 1u);
  auto other = MakeReport("sc-domain:other.example");
  EXPECT_FALSE(ro->RegisterReport(*other).ok());
  DayPlan plan;
  const std::string days[] = {"2024-01-01"};
  EXPECT_FALSE(ro->PlanDays(report->id, days, {}, &plan).ok());
  EXPECT_EQ(Int("SELECT count(*) FROM reports"), 1);
  EXPECT_EQ(Int("SELECT count(*) FROM batches"), 0);
}

TEST_F(PostgresLedgerTest, ANewerSchemaIsRefusedAndLeftUntouched) {
  Open();
  PgQuery(uri_, "UPDATE batchfetch_schema SET version = 99");
  for (OpenMode mode : {OpenMode::kCreate, OpenMode::kExisting, OpenMode::kReadOnly}) {
    std::unique_ptr<Ledger> ledger;
    const Status status = OpenPostgresLedger(uri_, mode, &ledger);
    EXPECT_EQ(status.code(), Status::Code::kForeign) << status.ToString();
    EXPECT_NE(status.message().find("newer"), std::string::npos) << status.message();
  }
  EXPECT_EQ(Int("SELECT version FROM batchfetch_schema"), 99);
}

TEST_F(PostgresLedgerTest, AnotherProgramsTablesAreRefused) {
  PgQuery(uri_, "CREATE TABLE search_analytics(x INTEGER)");
  std::unique_ptr<Ledger> ledger;
  EXPECT_EQ(OpenPostgresLedger(uri_, OpenMode::kCreate, &ledger).code(), Status::Code::kForeign);
  EXPECT_EQ(Int("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 1);
}

TEST_F(PostgresLedgerTest, DatesAreDatesCountsAreBigintsAndTimesAreTimestamptz) {
  Open();
  std::map<std::string, std::string> type;
  for (const auto& row : PgQuery(uri_,
                                 "SELECT table_name || '.' || column_name, data_type FROM"
                                 " information_schema.columns WHERE table_schema = 'public'")) {
    type[row[0]] = row[1];
  }
  EXPECT_EQ(type["search_analytics.date"], "date");
  EXPECT_EQ(type["search_analytics.clicks"], "bigint");
  EXPECT_EQ(type["search_analytics.impressions"], "bigint");
  EXPECT_EQ(type["search_analytics.fetched_at"], "timestamp with time zone");
  EXPECT_EQ(type["batches.date"], "date");
  EXPECT_EQ(type["batches.lease_expires_at"], "timestamp with time zone");
  EXPECT_EQ(type["batches.next_attempt_at"], "timestamp with time zone");
  EXPECT_EQ(type["days.date"], "date");
  EXPECT_EQ(type["days.fetched_at"], "timestamp with time zone");
  EXPECT_EQ(type["search_analytics.report_id"], "text");
  EXPECT_EQ(Int("SELECT version FROM batchfetch_schema"), 3);
}

TEST_F(PostgresLedgerTest, AClientClockAheadCannotStealALease) {
  auto report = MakeReport();
  auto a = Open();
  auto b = Open();
  const WallTime now = WallClock::now();
  const Lease held = ClaimDay(*a, *report, "2024-01-01", milliseconds(60000), now);
  ASSERT_FALSE(held.token.empty());
  // b's clock is a day ahead: by the server's clock the lease has 60 s left.
  EXPECT_TRUE(
      ClaimAny(*b, *report, milliseconds(60000), now + std::chrono::hours(24), "b").empty());
  EXPECT_TRUE(Commit(*a, report, held, MakeRows(2, "2024-01-01"), 10));
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"), 2);
}

TEST_F(PostgresLedgerTest, AClientClockBehindCannotKeepAnExpiredLease) {
  auto report = MakeReport();
  auto a = Open();
  auto b = Open();
  const WallTime now = WallClock::now();
  // A lease of 0 ms has expired by the server's clock as soon as it is granted.
  const Lease lost = ClaimDay(*a, *report, "2024-01-01", milliseconds(0), now);
  ASSERT_FALSE(lost.token.empty());
  const auto taken = ClaimAny(*b, *report, milliseconds(60000), now - std::chrono::hours(24), "b");
  ASSERT_EQ(taken.size(), 1u) << "b's clock is a day behind, the server's is not";
  EXPECT_FALSE(Commit(*a, report, lost, MakeRows(3, "2024-01-01"), 10));
  EXPECT_EQ(Int("SELECT count(*) FROM staged_rows"), 0) << "a lost lease stages nothing";
  EXPECT_EQ(Text("SELECT lease_owner FROM batches"), "b");
  EXPECT_TRUE(Commit(*b, report, taken[0], MakeRows(2, "2024-01-01"), 10));
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"), 2);
}

TEST_F(PostgresLedgerTest, RenewAfterAClockStepExtendsByOneLeaseAtMost) {
  auto report = MakeReport();
  auto a = Open();
  const WallTime now = WallClock::now();
  const Lease lease = ClaimDay(*a, *report, "2024-01-01", milliseconds(5000), now);
  ASSERT_OK(a->Renew(std::span(&lease, 1), now + std::chrono::hours(24)));
  const int64_t left_ms =
      Int("SELECT (extract(epoch FROM lease_expires_at - clock_timestamp()) * 1000)::bigint"
          " FROM batches");
  EXPECT_GT(left_ms, 0);
  EXPECT_LE(left_ms, 5000);
}

TEST_F(PostgresLedgerTest, ADaysRowsWaitInTheStagingTableUntilItsLastPage) {
  auto report = MakeReport();
  auto ledger = Open();
  const Lease first = ClaimDay(*ledger, *report, "2024-01-01", milliseconds(60000), kT0);
  ASSERT_TRUE(Commit(*ledger, report, first, MakeRows(4, "2024-01-01"), 4));
  EXPECT_EQ(Int("SELECT count(*) FROM staged_rows"), 4);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"), 0);
  EXPECT_EQ(Int("SELECT count(*) FROM days"), 0);
  const auto next = ClaimAny(*ledger, *report, milliseconds(60000), kT0, "worker-a");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key.start_row, 4);
  ASSERT_TRUE(Commit(*ledger, report, next[0], MakeRows(1, "2024-01-01", 1), 4));
  EXPECT_EQ(Int("SELECT count(*) FROM staged_rows"), 0);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE date = DATE '2024-01-01'"), 5);
  EXPECT_EQ(Int("SELECT row_count FROM days"), 5);
  EXPECT_EQ(Int("SELECT sum(clicks) FROM search_analytics"), 60);
}

TEST_F(PostgresLedgerTest, ConcurrentRefreshesOfOneDayResetItOnce) {
  auto report = MakeReport();
  auto ledger = Open();
  const Lease lease = ClaimDay(*ledger, *report, "2024-01-01", milliseconds(60000), kT0);
  ASSERT_TRUE(Commit(*ledger, report, lease, MakeRows(3, "2024-01-01"), 10));
  constexpr int kPlanners = 6;
  std::vector<std::unique_ptr<Ledger>> ledgers;
  for (int i = 0; i < kPlanners; ++i) ledgers.push_back(Open(OpenMode::kExisting));
  DayPlan plans[kPlanners];
  Status results[kPlanners];
  std::latch start(kPlanners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPlanners; ++i) {
    threads.emplace_back([&, i] {
      const std::string days[] = {"2024-01-01"};
      const RefreshPolicy refresh{"2024-01-02", 3};
      start.arrive_and_wait();
      results[i] = ledgers[i]->PlanDays(report->id, days, refresh, &plans[i]);
    });
  }
  for (auto& t : threads) t.join();
  int64_t refreshed = 0, unfinished = 0;
  for (int i = 0; i < kPlanners; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i].ToString();
    refreshed += plans[i].refreshed;
    unfinished += plans[i].unfinished;
  }
  EXPECT_EQ(refreshed, 1);
  EXPECT_EQ(unfinished, kPlanners - 1);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"), 3) << "the old day stays visible";
}

TEST_F(PostgresLedgerTest, NonFiniteClicksAreRefusedBeforeAnythingIsWritten) {
  auto report = MakeReport();
  auto ledger = Open();
  const Lease lease = ClaimDay(*ledger, *report, "2024-01-01", milliseconds(60000), kT0);
  std::vector<Row> rows = MakeRows(2, "2024-01-01");
  rows[1].clicks = std::numeric_limits<double>::infinity();
  std::vector<FetchedPage> pages;
  pages.push_back(MakePage(report, lease, rows, 10));
  std::vector<bool> held;
  EXPECT_EQ(ledger->CommitPages(pages, kT0, kDefaultMaxAttempts, &held).code(),
            Status::Code::kInvalid);
  EXPECT_EQ(Text("SELECT state FROM batches"), "leased");
  EXPECT_EQ(Int("SELECT count(*) FROM staged_rows"), 0);
}

TEST_F(PostgresLedgerTest, ConnectionsCarryAStatementTimeout) {
  std::unique_ptr<PgConnection> conn;
  ASSERT_OK(PgConnection::Connect(uri_, &conn));
  PgResult res;
  ASSERT_OK(conn->Exec("SHOW statement_timeout", &res));
  EXPECT_EQ(res.Text(0, 0), "30s");
}

TEST_F(PostgresLedgerTest, NoErrorCarriesThePassword) {
  const std::string port = std::to_string(PgCluster::Shared().port());
  const std::string targets[] = {
      "postgresql://batchfetch:s3cr3t-pw@127.0.0.1:" + port + "/no_such_database",
      "postgresql://batchfetch@127.0.0.1:" + port + "/no_such_database?password=s3cr3t-pw",
      "postgresql://batchfetch:s3cr3t-pw@127.0.0.1:1/db",
      "postgresql://batchfetch:s3cr3t@pw@127.0.0.1:" + port + "/no_such_database",
      "postgresql://batchfetch@127.0.0.1:" + port + "/no_such_database?PassWord=s3cr3t-pw",
      "postgresql://batchfetch:s3cr3t-pw@127.0.0.1:" + port + "/db?sslmode=bogus",
  };
  for (const std::string& target : targets) {
    std::unique_ptr<Ledger> ledger;
    const Status status = OpenPostgresLedger(target, OpenMode::kCreate, &ledger);
    EXPECT_FALSE(status.ok()) << target;
    EXPECT_EQ(status.message().find("s3cr3t"), std::string::npos) << status.message();
    EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
  }
}

}  // namespace
}  // namespace batchfetch
