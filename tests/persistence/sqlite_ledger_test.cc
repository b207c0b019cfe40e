#include "persistence/sqlite_ledger.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <latch>
#include <set>
#include <thread>

#include "persistence/ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/persistence/temp_dir.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;

TEST_F(SqliteLedgerTest, RegisterJobCreatesOnePendingFirstPagePerDay) {
  auto job = MakeJob("2024-02-27", "2024-03-02");
  ASSERT_OK(ledger_->RegisterJob(*job));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.pending, 5);
  EXPECT_EQ(p.total(), 5);
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM batches WHERE start_row = 0 AND attempts = 0"), 5);
  EXPECT_EQ(peek.Text("SELECT group_concat(date) FROM (SELECT date FROM batches ORDER BY date)"),
            "2024-02-27,2024-02-28,2024-02-29,2024-03-01,2024-03-02");
  EXPECT_EQ(peek.Text("SELECT dimensions FROM jobs"), "date,query,page");
}

TEST_F(SqliteLedgerTest, RegisterJobTwiceLeavesTheJobAndItsPagesAsTheyAre) {
  auto job = MakeJob("2024-01-01", "2024-01-03");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 1, At(0));
  ASSERT_EQ(leases.size(), 1u);
  ASSERT_OK(ledger_->RegisterJob(*job));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.total(), 3);
  EXPECT_EQ(p.leased, 1);
  std::vector<Job> jobs;
  ASSERT_OK(ledger_->ListJobs(&jobs));
  EXPECT_EQ(jobs.size(), 1u);
}

TEST_F(SqliteLedgerTest, RegisterJobRejectsBadInput) {
  EXPECT_EQ(ledger_->RegisterJob(*MakeJob("2024-01-05", "2024-01-01")).code(),
            Status::Code::kInvalid);
  EXPECT_EQ(ledger_->RegisterJob(*MakeJob("2024-02-30", "2024-03-01")).code(),
            Status::Code::kInvalid);
  EXPECT_EQ(ledger_->RegisterJob(*MakeJob("2024-01-01", "2024-01-02", 0)).code(),
            Status::Code::kInvalid);
  EXPECT_EQ(ledger_->RegisterJob(*MakeJob("2024-01-01", "2024-01-02", 25001)).code(),
            Status::Code::kInvalid);
}

TEST_F(SqliteLedgerTest, ListJobsReturnsEveryFieldOfEveryJob) {
  auto job = std::make_shared<Job>(*MakeJob("2024-01-01", "2024-01-02", 1000));
  job->spec.search_type = "image";
  job->spec.dimensions = {"date", "country", "device"};
  job->spec.data_state = "all";
  job->id = job->spec.Id();
  ASSERT_OK(ledger_->RegisterJob(*job));
  std::vector<Job> jobs;
  ASSERT_OK(ledger_->ListJobs(&jobs));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, job->id);
  EXPECT_EQ(jobs[0].spec.Id(), job->id);
  EXPECT_EQ(jobs[0].spec.dimensions, job->spec.dimensions);
  EXPECT_EQ(jobs[0].spec.row_limit, 1000);
}

TEST_F(SqliteLedgerTest, ClaimHandsOutOldestDatesFirstInBlocksWithFreshTokens) {
  auto job = MakeJob("2024-01-01", "2024-01-05");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto first = Claim(job->id, 3, At(0));
  auto second = Claim(job->id, 3, At(0));
  auto third = Claim(job->id, 3, At(0));
  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_TRUE(third.empty());
  std::vector<std::string> dates;
  std::set<std::string> tokens;
  for (const auto* block : {&first, &second}) {
    for (const Lease& l : *block) {
      dates.push_back(l.key.date);
      tokens.insert(l.token);
      EXPECT_EQ(l.key.job_id, job->id);
      EXPECT_EQ(l.key.start_row, 0);
      EXPECT_EQ(l.attempts, 0);
      EXPECT_EQ(l.token.size(), 32u);
      EXPECT_EQ(l.token.find_first_not_of("0123456789abcdef"), std::string::npos);
    }
  }
  EXPECT_EQ(dates, (std::vector<std::string>{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                             "2024-01-05"}));
  EXPECT_EQ(tokens.size(), 5u);
  EXPECT_EQ(BatchField("lease_owner", first[0].key), "worker-a");
  EXPECT_EQ(BatchField("lease_expires_at", first[0].key),
            std::to_string(1'700'000'000'000 + kLease.count()));
}

TEST_F(SqliteLedgerTest, ClaimedPageIsNotClaimableUntilItsLeaseExpires) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  ASSERT_EQ(Claim(job->id, 10, At(0)).size(), 1u);
  EXPECT_TRUE(Claim(job->id, 10, At(kLease.count() - 1), "worker-b").empty());
  EXPECT_EQ(Claim(job->id, 10, At(kLease.count()), "worker-b").size(), 1u);
}

TEST_F(SqliteLedgerTest, ExpiredLeaseIsClaimableAgainWithoutCountingAnAttempt) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto a = Claim(job->id, 1, At(0));
  auto b = Claim(job->id, 1, At(kLease.count() + 5), "worker-b");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].attempts, 0);
  EXPECT_NE(b[0].token, a[0].token);
  EXPECT_EQ(BatchField("attempts", b[0].key), "0");
  EXPECT_EQ(BatchField("lease_owner", b[0].key), "worker-b");
}

TEST_F(SqliteLedgerTest, CommitStoresRowsAndMarksAShortPageDoneWithoutANextPage) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  const Lease lease = RegisterAndClaimFirst(*job);
  EXPECT_TRUE(CommitPage(job, lease, MakeRows(10, "2024-01-01"), At(10)));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.done, 1);
  EXPECT_EQ(p.total(), 1);
  EXPECT_EQ(p.rows, 10);
  EXPECT_TRUE(p.finished());
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics WHERE site = 'sc-domain:example.com'"
                     " AND search_type = 'web' AND dimensions = 'date,query,page'"
                     " AND country = '' AND device = '' AND hour = ''"),
            10);
  EXPECT_EQ(BatchField("lease_token", lease.key), "<null>");
  EXPECT_EQ(BatchField("row_count", lease.key), "10");
}

TEST_F(SqliteLedgerTest, IntegralClicksAreStoredAsIntegers) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  EXPECT_TRUE(CommitPage(job, RegisterAndClaimFirst(*job), MakeRows(1, "2024-01-01"), At(1)));
  Peek peek(path_);
  EXPECT_EQ(peek.Text("SELECT typeof(clicks) || ' ' || typeof(impressions) || ' ' ||"
                      " typeof(ctr) || ' ' || clicks FROM search_analytics"),
            "integer integer real 12");
}

TEST_F(SqliteLedgerTest, RowsWithoutTheDateDimensionAreStoredUnderThePageDate) {
  auto job = std::make_shared<Job>(*MakeJob("2024-01-01", "2024-01-02"));
  job->spec.dimensions = {"query"};
  job->id = job->spec.Id();
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 2, At(0));
  ASSERT_EQ(leases.size(), 2u);
  std::vector<FetchedPage> pages;
  for (const Lease& l : leases) pages.push_back(MakePage(job, l, MakeRows(5, "")));
  Commit(std::move(pages), At(1));
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics"), 10);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics WHERE date = '2024-01-02'"), 5);
}

TEST_F(SqliteLedgerTest, FullPageQueuesTheNextPageOfThatDay) {
  auto job = MakeJob("2024-01-01", "2024-01-02", 4);
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 1, At(0));
  CommitPage(job, leases[0], MakeRows(4, "2024-01-01"), At(1));
  auto next = Claim(job->id, 10, At(2));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].key.date, "2024-01-01");
  EXPECT_EQ(next[0].key.start_row, 4);
  EXPECT_EQ(next[1].key.date, "2024-01-02");
  EXPECT_EQ(next[1].key.start_row, 0);
}

TEST_F(SqliteLedgerTest, FullPageAtTheDailyCapMarksTheDayTruncated) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  for (int64_t start_row : {int64_t{0}, int64_t{25000}}) {
    auto leases = Claim(job->id, 10, At(start_row));
    ASSERT_EQ(leases.size(), 1u);
    EXPECT_EQ(leases[0].key.start_row, start_row);
    const int salt = static_cast<int>(start_row);
    EXPECT_TRUE(CommitPage(job, leases[0], MakeRows(25000, "2024-01-01", salt), At(salt + 1)));
  }
  EXPECT_TRUE(Claim(job->id, 10, At(100000)).empty());
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.total(), 2);
  EXPECT_EQ(p.rows, 50000);
  EXPECT_EQ(p.truncated_days, 1);
  EXPECT_EQ(Peek(path_).Int("SELECT count(*) FROM search_analytics"), 50000);
}

TEST_F(SqliteLedgerTest, LateOwnerChangesNoPageStateButItsRowsUpsertWithoutDuplicates) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  const Lease late = Claim(job->id, 1, At(0))[0];
  const Lease owner = Claim(job->id, 1, At(kLease.count()), "worker-b")[0];
  const std::vector<Row> rows = MakeRows(7, "2024-01-01");

  bool held = true;
  ASSERT_OK(ledger_->Renew(std::span(&late, 1), At(10 * kLease.count())));
  EXPECT_EQ(BatchField("lease_expires_at", owner.key),
            std::to_string(1'700'000'000'000 + 2 * kLease.count()));
  ASSERT_OK(ledger_->FailPage(late, "late failure", true, 5, At(0), At(1), &held));
  EXPECT_FALSE(held);
  ASSERT_OK(ledger_->Release(std::span(&late, 1), At(1)));
  EXPECT_FALSE(CommitPage(job, late, rows, At(2)));
  EXPECT_EQ(BatchField("state || ' ' || attempts || ' ' || lease_owner", owner.key),
            "leased 0 worker-b");
  EXPECT_EQ(BatchField("lease_token", owner.key), owner.token);
  EXPECT_EQ(ProgressOf(job->id).leased, 1);

  EXPECT_TRUE(CommitPage(job, owner, rows, At(3)));
  EXPECT_EQ(ProgressOf(job->id).done, 1);
  EXPECT_EQ(Peek(path_).Int("SELECT count(*) FROM search_analytics"), 7);

  // After completion, the late owner still changes nothing.
  ASSERT_OK(ledger_->FailPage(late, "late failure", true, 5, At(0), At(4), &held));
  EXPECT_FALSE(held);
  ASSERT_OK(ledger_->Release(std::span(&owner, 1), At(4)));
  EXPECT_EQ(BatchField("state", owner.key), "done");
}

TEST_F(SqliteLedgerTest, ReUpsertOfTheSameRowsUpdatesValuesWithoutDuplicates) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  const Lease lease = RegisterAndClaimFirst(*job);
  std::vector<Row> rows = MakeRows(50, "2024-01-01");
  EXPECT_TRUE(CommitPage(job, lease, rows, At(1)));
  for (Row& r : rows) r.clicks = 99;
  EXPECT_FALSE(CommitPage(job, lease, rows, At(2))) << "the first commit ended the lease";
  Peek peek(path_);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM search_analytics"), 50);
  EXPECT_EQ(peek.Int("SELECT count(*) FROM (SELECT DISTINCT site, search_type, dimensions, date,"
                     " hour, query, page, country, device, search_appearance"
                     " FROM search_analytics)"),
            50);
  EXPECT_EQ(peek.Int("SELECT min(clicks) FROM search_analytics"), 99);
}

TEST_F(SqliteLedgerTest, RenewExtendsAHeldLease) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  const Lease lease = RegisterAndClaimFirst(*job);
  ASSERT_OK(ledger_->Renew(std::span(&lease, 1), At(3 * kLease.count())));
  EXPECT_TRUE(Claim(job->id, 1, At(2 * kLease.count()), "worker-b").empty());
  EXPECT_EQ(Claim(job->id, 1, At(3 * kLease.count()), "worker-b").size(), 1u);
}

TEST_F(SqliteLedgerTest, ReleaseMakesPagesClaimableAtOnceWithoutAnAttempt) {
  auto job = MakeJob("2024-01-01", "2024-01-03");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 3, At(0));
  ASSERT_OK(ledger_->Release(leases, At(1)));
  EXPECT_EQ(ProgressOf(job->id).pending, 3);
  auto again = Claim(job->id, 3, At(2));
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].attempts, 0);
}

TEST_F(SqliteLedgerTest, FailPageRetriesAfterRetryAtThenDiesAtMaxAttempts) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  constexpr int kMaxAttempts = 3;
  int64_t t = 0;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    auto leases = Claim(job->id, 1, At(t));
    ASSERT_EQ(leases.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(leases[0].attempts, attempt - 1);
    bool held = false;
    ASSERT_OK(ledger_->FailPage(leases[0], "HTTP 503 #" + std::to_string(attempt), false,
                                kMaxAttempts, At(t + 1000), At(t + 1), &held));
    EXPECT_TRUE(held);
    if (attempt < kMaxAttempts) {
      EXPECT_EQ(BatchField("state", leases[0].key), "pending");
      EXPECT_EQ(BatchField("next_attempt_at", leases[0].key),
                std::to_string(1'700'000'000'000 + t + 1000));
      EXPECT_TRUE(Claim(job->id, 1, At(t + 999)).empty()) << "claimable before retry_at";
    }
    t += 1000;
  }
  const PageKey key{job->id, "2024-01-01", 0};
  EXPECT_EQ(BatchField("state || ' ' || attempts", key), "dead 3");
  EXPECT_EQ(BatchField("last_error", key), "HTTP 503 #3");
  EXPECT_EQ(BatchField("length(errors) - length(replace(errors, char(10), ''))", key), "2")
      << "three history lines";
  EXPECT_TRUE(Claim(job->id, 1, At(t + 100000)).empty());
  EXPECT_EQ(ProgressOf(job->id).dead, 1);
  EXPECT_TRUE(ProgressOf(job->id).finished());
}

TEST_F(SqliteLedgerTest, FinalFailureKillsThePageAtOnce) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  const Lease lease = RegisterAndClaimFirst(*job);
  bool held = false;
  ASSERT_OK(ledger_->FailPage(lease, "400 \"bad\"\nrequest", true, 5, At(0), At(1), &held));
  EXPECT_TRUE(held);
  EXPECT_EQ(BatchField("state", lease.key), "dead");
  EXPECT_EQ(BatchField("errors", lease.key),
            "{\"attempt\":1,\"at\":1700000000001,\"dead\":true,"
            "\"error\":\"400 \\\"bad\\\"\\nrequest\"}");
}

TEST_F(SqliteLedgerTest, RetryDeadPutsDeadPagesBackToPendingWithAttemptsReset) {
  auto job = MakeJob("2024-01-01", "2024-01-03");
  auto other = MakeJob("2024-02-01", "2024-02-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  ASSERT_OK(ledger_->RegisterJob(*other));
  bool held = false;
  for (const Lease& l : Claim(job->id, 2, At(0))) {
    ASSERT_OK(ledger_->FailPage(l, "boom", true, 5, At(0), At(1), &held));
  }
  ASSERT_OK(ledger_->FailPage(Claim(other->id, 1, At(0))[0], "boom", true, 5, At(0), At(1), &held));
  int64_t count = -1;
  ASSERT_OK(ledger_->RetryDead(job->id, &count));
  EXPECT_EQ(count, 2);
  EXPECT_EQ(ProgressOf(job->id).pending, 3);
  EXPECT_EQ(ProgressOf(other->id).dead, 1);
  auto again = Claim(job->id, 3, At(2));
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].attempts, 0);
  ASSERT_OK(ledger_->RetryDead("", &count));
  EXPECT_EQ(count, 1);
  EXPECT_EQ(ProgressOf(other->id).pending, 1);
}

TEST_F(SqliteLedgerTest, ProgressCountsPagesByStateRowsAndTruncatedDays) {
  auto job = MakeJob("2024-01-01", "2024-01-06", 3);
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 4, At(0));
  std::vector<FetchedPage> pages;
  pages.push_back(MakePage(job, leases[0], MakeRows(3, leases[0].key.date)));  // full: next
  pages.push_back(MakePage(job, leases[1], MakeRows(2, leases[1].key.date)));
  Commit(std::move(pages), At(1));
  bool held = false;
  ASSERT_OK(ledger_->FailPage(leases[2], "x", true, 5, At(0), At(1), &held));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.pending, 3);  // 2 untouched days + the next page of day 1
  EXPECT_EQ(p.leased, 1);
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.dead, 1);
  EXPECT_EQ(p.rows, 5);
  EXPECT_EQ(p.truncated_days, 0);
  EXPECT_FALSE(p.finished());
  JobProgress unknown;
  EXPECT_EQ(ledger_->Progress("no-such-job", &unknown).code(), Status::Code::kNotFound);
}

TEST_F(SqliteLedgerTest, ReopenKeepsJobsPagesAndRows) {
  auto job = MakeJob("2024-01-01", "2024-01-02");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 1, At(0));
  CommitPage(job, leases[0], MakeRows(3, "2024-01-01"), At(1));
  ledger_.reset();
  ASSERT_OK(OpenLedger(path_, &ledger_));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.done, 1);
  EXPECT_EQ(p.pending, 1);
  EXPECT_EQ(p.rows, 3);
  EXPECT_EQ(Peek(path_).Int("PRAGMA user_version"), 2);
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
  ASSERT_OK(ledger->RegisterJob(*MakeJob("2024-01-01", "2024-01-01")));
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST(SqliteLedgerOpenTest, AnotherProgramsDatabaseIsForeign) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RunSql(path, "CREATE TABLE notes(x)");
  std::unique_ptr<Ledger> ledger;
  const Status status = OpenLedger(path, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kForeign) << status.ToString();
  EXPECT_EQ(status.message(), "not a batchfetch database: " + path + " (another program's file?)");
  EXPECT_EQ(Peek(path).Text("PRAGMA journal_mode"), "delete") << "the file was changed";
}

TEST(SqliteLedgerOpenTest, AnotherApplicationIdIsForeign) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RunSql(path, "PRAGMA application_id = 42");
  std::unique_ptr<Ledger> ledger;
  EXPECT_EQ(OpenLedger(path, &ledger).code(), Status::Code::kForeign);
}

TEST(SqliteLedgerOpenTest, NewerSchemaIsForeignAndAsksForAnUpgrade) {
  TempDir dir;
  const std::string path = dir.File("new.db");
  {
    std::unique_ptr<Ledger> ledger;
    ASSERT_OK(OpenLedger(path, &ledger));
  }
  RunSql(path, "PRAGMA user_version = 7");
  std::unique_ptr<Ledger> ledger;
  const Status status = OpenLedger(path, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kForeign);
  EXPECT_EQ(status.message(),
            "database schema 7 is newer than this batchfetch (2); upgrade batchfetch");
}

TEST(SqliteLedgerOpenTest, AVersionOneFileGainsTheProvisionalColumnAndKeepsItsPages) {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  auto job = MakeJob("2024-01-01", "2024-01-02");
  {
    std::unique_ptr<Ledger> ledger;
    ASSERT_OK(OpenLedger(path, &ledger));
    ASSERT_OK(ledger->RegisterJob(*job));
  }
  // What a version 1 file looks like.
  RunSql(path, "ALTER TABLE batches DROP COLUMN provisional; PRAGMA user_version = 1");
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(path, &ledger));
  EXPECT_EQ(Peek(path).Int("PRAGMA user_version"), 2);
  EXPECT_EQ(Peek(path).Int("SELECT sum(provisional) FROM batches"), 0);
  JobProgress progress;
  ASSERT_OK(ledger->Progress(job->id, &progress));
  EXPECT_EQ(progress.pending, 2);
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
  status = OpenLedger(dir.path(), &ledger);  // a directory
  EXPECT_EQ(status.code(), Status::Code::kIoError) << status.ToString();
}

TEST(SqliteLedgerOpenTest, UnwritableDirectoryIsAnIoError) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into any directory";
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0500), 0);
  std::unique_ptr<Ledger> ledger;
  const Status status = OpenLedger(dir.File("ledger.db"), &ledger);
  chmod(dir.path().c_str(), 0700);
  EXPECT_EQ(status.code(), Status::Code::kIoError) << status.ToString();
}

TEST(SqliteLedgerConcurrencyTest, WriteLockHeldElsewhereGivesBusyAfterBoundedRetries) {
  TempDir dir;
  const std::string path = dir.File("locked.db");
  std::unique_ptr<Ledger> ledger;
  SqliteBusyPolicy busy;
  busy.busy_timeout = milliseconds(1);
  busy.max_tries = 3;
  ASSERT_OK(SqliteLedger::Open(path, busy, &ledger));
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger->RegisterJob(*job));

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::vector<Lease> leases;
  const Status status = ledger->Claim(job->id, "w", 1, kLease, At(0), &leases);
  EXPECT_EQ(status.code(), Status::Code::kBusy) << status.ToString();
  EXPECT_NE(status.message().find("after 3 tries"), std::string::npos) << status.message();
  EXPECT_TRUE(leases.empty());
  JobProgress progress;
  EXPECT_TRUE(ledger->Progress(job->id, &progress).ok()) << "WAL readers are not blocked";
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_OK(ledger->Claim(job->id, "w", 1, kLease, At(0), &leases));
  EXPECT_EQ(leases.size(), 1u);
}

TEST(SqliteLedgerConcurrencyTest, TwoConnectionsClaimingAtOnceNeverShareAPage) {
  TempDir dir;
  const std::string path = dir.File("shared.db");
  auto job = MakeJob("2020-01-01", "2021-12-31");  // 731 pages
  std::vector<Lease> claimed[2];
  Status results[2];
  std::latch start(2);
  // Both create the file, register the job and claim at the same time.
  auto claimer = [&](int i) {
    start.arrive_and_wait();
    std::unique_ptr<Ledger> ledger;
    results[i] = OpenLedger(path, &ledger);
    if (results[i].ok()) results[i] = ledger->RegisterJob(*job);
    while (results[i].ok()) {
      const std::size_t before = claimed[i].size();
      results[i] =
          ledger->Claim(job->id, "worker-" + std::to_string(i), 3, kLease, At(0), &claimed[i]);
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
