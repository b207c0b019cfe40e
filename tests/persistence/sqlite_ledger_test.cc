// What only the SQLite ledger does: the file (mode, WAL, page size, open modes, foreign
// and newer files), its column types and the busy retry. The behaviour every backend
// shares is in ledger_contract_test.cc.

#include "persistence/sqlite_ledger.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <latch>
#include <set>
#include <sstream>
#include <thread>

#include "persistence/ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/persistence/temp_dir.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The names of the files in dir.
std::set<std::string> Files(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    out.insert(entry.path().filename().string());
  }
  return out;
}

TEST_F(SqliteLedgerTest, CommitStoresRowsUnderTheirReportWithUnusedDimensionsEmpty) {
  auto report = MakeReport();
  const Lease lease = PlanAndClaimFirst(*report, "2024-01-01");
  EXPECT_TRUE(CommitPage(report, lease, MakeRows(10, "2024-01-01"), At(10), 25000));
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.done, 1);
  EXPECT_EQ(p.total(), 1);
  EXPECT_EQ(p.rows, 10);
  EXPECT_TRUE(p.finished());
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics WHERE report_id = '" + report->id +
                     "' AND site = 'sc-domain:example.com' AND search_type = 'web'"
                     " AND country = '' AND device = '' AND hour = ''"),
            10);
  EXPECT_EQ(BatchField("lease_token", lease.key), "<null>");
  EXPECT_EQ(BatchField("row_count", lease.key), "10");
  EXPECT_EQ(BatchField("row_limit", lease.key), "25000");
  EXPECT_EQ(peek.Text("SELECT row_count || ' ' || truncated || ' ' || provisional FROM days"),
            "10 0 0");
}

TEST_F(SqliteLedgerTest, IntegralClicksAreStoredAsIntegers) {
  auto report = MakeReport();
  EXPECT_TRUE(CommitPage(report, PlanAndClaimFirst(*report, "2024-01-01"),
                         MakeRows(1, "2024-01-01"), At(1)));
  Peek peek(path_);
  EXPECT_EQ(peek.Text("SELECT typeof(clicks) || ' ' || typeof(impressions) || ' ' ||"
                      " typeof(ctr) || ' ' || clicks FROM search_analytics"),
            "integer integer real 12");
}

TEST_F(SqliteLedgerTest, RowsWithoutTheDateDimensionAreStoredUnderThePageDate) {
  auto report = MakeReportWith([](ReportSpec& s) { s.dimensions = {"query"}; });
  Plan(*report, "2024-01-01", "2024-01-02");
  auto leases = Claim(report->id, 2, At(0));
  ASSERT_EQ(leases.size(), 2u);
  std::vector<FetchedPage> pages;
  for (const Lease& l : leases) pages.push_back(MakePage(report, l, MakeRows(5, "")));
  Commit(std::move(pages), At(1));
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics"), 10);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics WHERE date = '2024-01-02'"), 5);
}

TEST_F(SqliteLedgerTest, AKeyRepeatedOnALaterPageOfTheDayLeavesNothingStaged) {
  auto report = MakeReport();
  const Lease first = PlanAndClaimFirst(*report, "2024-01-01");
  ASSERT_TRUE(CommitPage(report, first, MakeRows(4, "2024-01-01"), At(1), 4));
  // The API's order shifted between requests: page 2 repeats the last row of page 1.
  std::vector<Row> rows = MakeRows(4, "2024-01-01");
  rows.erase(rows.begin(), rows.begin() + 3);
  ASSERT_TRUE(CommitPage(report, Claim(report->id, 1, At(2))[0], rows, At(2), 4));
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM staged_rows"), 0) << "the day starts again";
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics"), 0);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM days"), 0);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM batches WHERE state = 'pending' AND start_row = 0"), 1);
}

TEST_F(SqliteLedgerTest, TheDayRecordsItsPagesRowsSoVerifySeesAKeyRepeatedWithinAPage) {
  auto report = MakeReport();
  const Lease first = PlanAndClaimFirst(*report, "2024-01-01");
  std::vector<Row> rows = MakeRows(4, "2024-01-01");
  rows[3] = rows[2];  // a one-page day is written straight in: the key is stored once
  ASSERT_TRUE(CommitPage(report, first, rows, At(1)));
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics"), 3);
  EXPECT_EQ(peek.Int("SELECT row_count FROM days"), 4) << "what the pages returned";
  VerifyReport v;
  ASSERT_TRUE(ledger_->Verify(report->id, &v).ok());
  EXPECT_EQ(v.row_mismatch, std::vector<std::string>{"2024-01-01: stored 3, ledger says 4"});
}

TEST_F(SqliteLedgerTest, ACommitAfterTheFirstOneOfItsLeaseChangesNothing) {
  auto report = MakeReport();
  const Lease lease = PlanAndClaimFirst(*report, "2024-01-01");
  std::vector<Row> rows = MakeRows(50, "2024-01-01");
  EXPECT_TRUE(CommitPage(report, lease, rows, At(1)));
  for (Row& r : rows) r.clicks = 99;
  EXPECT_FALSE(CommitPage(report, lease, rows, At(2))) << "the first commit ended the lease";
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics"), 50);
  EXPECT_EQ(peek.Int("SELECT max(clicks) FROM search_analytics"), 12);
}

TEST_F(SqliteLedgerTest, ACommitNeedsItsReportAndTheRowsItAskedFor) {
  auto report = MakeReport();
  const Lease lease = PlanAndClaimFirst(*report, "2024-01-01");
  std::vector<FetchedPage> pages;
  pages.push_back(MakePage(MakeReport("sc-domain:other.example"), lease, MakeRows(1, "")));
  std::vector<bool> held;
  EXPECT_EQ(ledger_->CommitPages(pages, At(1), kDefaultMaxAttempts, &held).code(),
            Status::Code::kInvalid);
  pages[0].report = report;
  pages[0].row_limit = 0;
  EXPECT_EQ(ledger_->CommitPages(pages, At(1), kDefaultMaxAttempts, &held).code(),
            Status::Code::kInvalid);
  EXPECT_EQ(BatchField("state", lease.key), "leased");
}

TEST_F(SqliteLedgerTest, RegisterReportRejectsAnIdThatIsNotItsFields) {
  Report report = *MakeReport();
  report.id = "0000000000000000";
  EXPECT_EQ(ledger_->RegisterReport(report).code(), Status::Code::kInvalid);
  report = *MakeReport("");
  EXPECT_EQ(ledger_->RegisterReport(report).code(), Status::Code::kInvalid);
  DayPlan plan;
  const std::vector<std::string> days = {"2024-01-01"};
  EXPECT_EQ(ledger_->PlanDays("no-such-report", days, {}, &plan).code(), Status::Code::kNotFound);
}

TEST_F(SqliteLedgerTest, ProgressOfAnUnknownReportIsNotFound) {
  const std::string unknown = "no-such-report";
  ReportProgress p;
  EXPECT_EQ(ledger_->Progress(std::span(&unknown, 1), &p).code(), Status::Code::kNotFound);
}

TEST_F(SqliteLedgerTest, ReopenKeepsReportsPagesAndRows) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-02");
  auto leases = Claim(report->id, 1, At(0));
  CommitPage(report, leases[0], MakeRows(3, "2024-01-01"), At(1));
  ledger_.reset();
  ASSERT_OK(OpenLedger(path_, OpenMode::kExisting, &ledger_));
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.done, 1);
  EXPECT_EQ(p.pending, 1);
  EXPECT_EQ(p.rows, 3);
  EXPECT_EQ(Peek(path_).Int("PRAGMA user_version"), 3);
  EXPECT_EQ(Peek(path_).Int("PRAGMA application_id"), 0x62666368);
  EXPECT_EQ(Peek(path_).Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Peek(path_).Int("PRAGMA page_size"), 16384);
}

TEST(SqliteLedgerOpenTest, CreatesTheFileReadableByItsOwnerOnly) {
  TempDir dir;
  const std::string path = dir.File("new.db");
  const mode_t old_umask = umask(0);
  std::unique_ptr<Ledger> ledger;
  const Status status = OpenLedger(path, &ledger);
  umask(old_umask);
  ASSERT_OK(status);
  ASSERT_OK(ledger->RegisterReport(*MakeReport()));
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST(SqliteLedgerOpenTest, AnotherProgramsDatabaseIsForeignAndLeftUntouched) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RunSql(path, "CREATE TABLE notes(x)");
  const std::string before = ReadFile(path);
  for (OpenMode mode : {OpenMode::kCreate, OpenMode::kExisting, OpenMode::kReadOnly}) {
    std::unique_ptr<Ledger> ledger;
    const Status status = OpenLedger(path, mode, &ledger);
    EXPECT_EQ(status.code(), Status::Code::kForeign) << status.ToString();
    EXPECT_EQ(status.message(),
              "not a batchfetch database: " + path + " (another program's file?)");
  }
  EXPECT_EQ(Peek(path).Text("PRAGMA journal_mode"), "delete") << "the file was changed";
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_EQ(Files(dir.path()), std::set<std::string>{"other.db"});
}

TEST(SqliteLedgerOpenTest, AnotherApplicationIdIsForeign) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RunSql(path, "PRAGMA application_id = 42");
  std::unique_ptr<Ledger> ledger;
  EXPECT_EQ(OpenLedger(path, &ledger).code(), Status::Code::kForeign);
}

TEST(SqliteLedgerOpenTest, NewerSchemaIsForeignAsksForAnUpgradeAndIsLeftByteIdentical) {
  TempDir dir;
  const std::string path = dir.File("new.db");
  {
    std::unique_ptr<Ledger> ledger;
    ASSERT_OK(OpenLedger(path, &ledger));
    ASSERT_OK(ledger->RegisterReport(*MakeReport()));
  }
  RunSql(path, "PRAGMA user_version = 99");
  const std::string before = ReadFile(path);
  const std::set<std::string> files = Files(dir.path());
  for (OpenMode mode : {OpenMode::kCreate, OpenMode::kExisting, OpenMode::kReadOnly}) {
    std::unique_ptr<Ledger> ledger;
    const Status status = OpenLedger(path, mode, &ledger);
    EXPECT_EQ(status.code(), Status::Code::kForeign);
    EXPECT_EQ(status.message(),
              "database schema 99 is newer than this batchfetch (3); upgrade batchfetch");
  }
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_EQ(Files(dir.path()), files);
}

TEST(SqliteLedgerOpenTest, GarbageFileIsCorrupt) {
  TempDir dir;
  const std::string path = dir.File("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) out << "this is not a database ";
  }
  std::unique_ptr<Ledger> ledger;
  const Status status = OpenLedger(path, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kCorrupt) << status.ToString();
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
}

TEST(SqliteLedgerOpenTest, UnreachablePathIsAnIoErrorNamingIt) {
  TempDir dir;
  std::unique_ptr<Ledger> ledger;
  const std::string missing = dir.File("no/such/dir/ledger.db");
  Status status = OpenLedger(missing, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_NE(status.message().find(missing), std::string::npos) << status.message();
}

TEST(SqliteLedgerOpenTest, NonRegularFilesAreRefusedWithOneLineAndLeftAlone) {
  TempDir dir;
  for (const std::string& path : {std::string("/dev/null"), dir.path()}) {
    for (OpenMode mode : {OpenMode::kCreate, OpenMode::kExisting, OpenMode::kReadOnly}) {
      std::unique_ptr<Ledger> ledger;
      const Status status = OpenLedger(path, mode, &ledger);
      EXPECT_EQ(status.code(), Status::Code::kIoError) << path;
      EXPECT_EQ(status.message(), "cannot use " + path + " as a ledger: not a regular file");
      EXPECT_EQ(ledger, nullptr);
    }
  }
  EXPECT_TRUE(Files(dir.path()).empty());
  EXPECT_FALSE(std::filesystem::exists("/dev/null-wal"));
  EXPECT_FALSE(std::filesystem::exists("/dev/null-journal"));
}

TEST(SqliteLedgerOpenTest, ExistingAndReadOnlyRefuseAMissingPathAndCreateNothing) {
  TempDir dir;
  const std::string path = dir.File("missing.db");
  for (OpenMode mode : {OpenMode::kExisting, OpenMode::kReadOnly}) {
    std::unique_ptr<Ledger> ledger;
    const Status status = OpenLedger(path, mode, &ledger);
    EXPECT_EQ(status.code(), Status::Code::kNotFound);
    EXPECT_EQ(status.message(), "no batchfetch ledger at " + path);
  }
  EXPECT_TRUE(Files(dir.path()).empty());
}

TEST(SqliteLedgerOpenTest, ExistingAndReadOnlyRefuseAFileWithNoLedgerAndCreateNothing) {
  TempDir dir;
  const std::string empty = dir.File("empty.db");
  std::ofstream{empty};
  const std::string blank = dir.File("blank.db");  // a database with no tables
  RunSql(blank, "CREATE TABLE t(x); DROP TABLE t;");
  const std::set<std::string> files = Files(dir.path());
  ASSERT_EQ(files.size(), 2u);
  for (const std::string& path : {empty, blank}) {
    for (OpenMode mode : {OpenMode::kExisting, OpenMode::kReadOnly}) {
      std::unique_ptr<Ledger> ledger;
      const Status status = OpenLedger(path, mode, &ledger);
      EXPECT_EQ(status.code(), Status::Code::kNotFound) << path << " " << status.ToString();
    }
  }
  EXPECT_EQ(Files(dir.path()), files) << "no journal, WAL or shm file";
  EXPECT_EQ(std::filesystem::file_size(empty), 0u);
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(empty, OpenMode::kCreate, &ledger));  // kCreate makes it a ledger
}

TEST(SqliteLedgerOpenTest, ReadOnlyReadsAReadOnlyFileAndWritesNothing) {
  TempDir dir;
  const std::string path = dir.File("ledger.db");
  auto report = MakeReport();
  {
    std::unique_ptr<Ledger> ledger;
    ASSERT_OK(OpenLedger(path, &ledger));
    ASSERT_OK(ledger->RegisterReport(*report));
  }
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  const std::string before = ReadFile(path);
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(path, OpenMode::kReadOnly, &ledger));
  std::vector<Report> reports;
  ASSERT_OK(ledger->ListReports(&reports));
  EXPECT_EQ(reports.size(), 1u);
  ReportStatus status;
  ASSERT_OK(ledger->Describe(report->id, At(0), &status));
  EXPECT_FALSE(ledger->RegisterReport(*MakeReport("sc-domain:other.example")).ok());
  ledger.reset();
  EXPECT_EQ(ReadFile(path), before);
}

TEST(SqliteLedgerConcurrencyTest, WriteLockHeldElsewhereGivesBusyAfterBoundedRetries) {
  TempDir dir;
  const std::string path = dir.File("locked.db");
  std::unique_ptr<Ledger> ledger;
  SqliteBusyPolicy busy;
  busy.busy_timeout = milliseconds(1);
  busy.max_tries = 3;
  ASSERT_OK(SqliteLedger::Open(path, OpenMode::kCreate, busy, &ledger));
  auto report = MakeReport();
  ASSERT_OK(ledger->RegisterReport(*report));
  const std::vector<std::string> days = {"2024-01-01"};
  DayPlan plan;
  ASSERT_OK(ledger->PlanDays(report->id, days, {}, &plan));

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::vector<Lease> leases;
  const ClaimRequest request{report->id, 1};
  const Status status = ledger->Claim(std::span(&request, 1), "w", kLease, At(0), &leases);
  EXPECT_EQ(status.code(), Status::Code::kBusy) << status.ToString();
  EXPECT_NE(status.message().find("after 3 tries"), std::string::npos) << status.message();
  EXPECT_TRUE(leases.empty());
  ReportProgress progress;
  EXPECT_TRUE(ledger->Progress(std::span(&report->id, 1), &progress).ok())
      << "WAL readers are not blocked";
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_OK(ledger->Claim(std::span(&request, 1), "w", kLease, At(0), &leases));
  EXPECT_EQ(leases.size(), 1u);
}

TEST(SqliteLedgerConcurrencyTest, TwoConnectionsCreatingPlanningAndClaimingNeverShareAPage) {
  TempDir dir;
  const std::string path = dir.File("shared.db");
  auto report = MakeReport();
  const std::vector<std::string> days = DaysBetween("2020-01-01", "2021-12-31");  // 731
  std::vector<Lease> claimed[2];
  Status results[2];
  std::latch start(2);
  // Both create the file, register the report, plan its days and claim at the same time.
  auto claimer = [&](int i) {
    start.arrive_and_wait();
    std::unique_ptr<Ledger> ledger;
    results[i] = OpenLedger(path, &ledger);
    if (results[i].ok()) results[i] = ledger->RegisterReport(*report);
    DayPlan plan;
    if (results[i].ok()) results[i] = ledger->PlanDays(report->id, days, {}, &plan);
    const ClaimRequest request{report->id, 3};
    while (results[i].ok()) {
      const std::size_t before = claimed[i].size();
      results[i] = ledger->Claim(std::span(&request, 1), "worker-" + std::to_string(i), kLease,
                                 At(0), &claimed[i]);
      if (claimed[i].size() == before) break;
    }
  };
  std::thread a(claimer, 0), b(claimer, 1);
  a.join();
  b.join();
  ASSERT_OK(results[0]);
  ASSERT_OK(results[1]);
  std::set<std::pair<std::string, int64_t>> keys;
  for (const auto& block : claimed) {
    for (const Lease& l : block) keys.insert({l.key.date, l.key.start_row});
  }
  EXPECT_EQ(claimed[0].size() + claimed[1].size(), 731u);
  EXPECT_EQ(keys.size(), 731u) << "a page was handed out twice";
}

}  // namespace
}  // namespace batchfetch
