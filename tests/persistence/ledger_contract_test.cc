// The behaviour every Ledger and QuotaLedger promises, run against each backend: SQLite
// (a temporary file) and PostgreSQL (a fresh database in a throw-away cluster that the
// test starts itself; it fails, never skips, when the cluster cannot start).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "persistence/ledger.h"
#include "persistence/quota_ledger.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;

// sql's text literal for s.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string Ms(int64_t ms_after_t0) { return std::to_string(1'700'000'000'000 + ms_after_t0); }

class LedgerContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (postgres()) {
      target_ = testing::PgCluster::Shared().NewDatabase();
    } else {
      ASSERT_FALSE(dir_.path().empty());
      target_ = dir_.File("ledger.db");
    }
    ASSERT_OK(OpenLedger(target_, &ledger_));
  }

  bool postgres() const { return GetParam() == "postgres"; }

  // One value through a connection of its own, as a user would read it.
  std::string Text(const std::string& sql) {
    if (postgres()) {
      auto rows = testing::PgQuery(target_, sql);
      return rows.empty() ? "<none>" : rows[0][0];
    }
    return Peek(target_).Text(sql);
  }
  int64_t Int(const std::string& sql) { return std::stoll(Text(sql)); }

  std::string BatchField(const std::string& field, const PageKey& key) {
    return Text("SELECT " + field + " FROM batches WHERE job_id = '" + key.job_id +
                "' AND date = '" + key.date + "' AND start_row = " + std::to_string(key.start_row));
  }

  std::vector<Lease> Claim(const std::string& job_id, int max, WallTime now,
                           const std::string& owner = "worker-a") {
    std::vector<Lease> out;
    const Status status = ledger_->Claim(job_id, owner, max, kLease, now, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  }

  bool CommitPage(std::shared_ptr<const Job> job, const Lease& lease, std::vector<Row> rows,
                  WallTime now) {
    std::vector<FetchedPage> pages;
    pages.push_back(MakePage(std::move(job), lease, std::move(rows)));
    std::vector<bool> held;
    const Status status = ledger_->CommitPages(pages, now, &held);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return held.size() == 1 && held[0];
  }

  JobProgress ProgressOf(const std::string& job_id) {
    JobProgress progress;
    const Status status = ledger_->Progress(job_id, &progress);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return progress;
  }

  TempDir dir_;
  std::string target_;
  std::unique_ptr<Ledger> ledger_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerContractTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(LedgerContractTest, RegisterJobIsIdempotentAndListsEveryField) {
  auto job = std::make_shared<Job>(*MakeJob("2024-02-27", "2024-03-02", 1000));
  job->spec.search_type = "image";
  job->spec.dimensions = {"date", "country", "device"};
  job->spec.data_state = "all";
  job->id = job->spec.Id();
  ASSERT_OK(ledger_->RegisterJob(*job));
  ASSERT_EQ(Claim(job->id, 1, At(0)).size(), 1u);
  ASSERT_OK(ledger_->RegisterJob(*job));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.total(), 5);
  EXPECT_EQ(p.leased, 1);
  std::vector<Job> jobs;
  ASSERT_OK(ledger_->ListJobs(&jobs));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].spec.Id(), job->id);
  EXPECT_EQ(jobs[0].spec.dimensions, job->spec.dimensions);
  EXPECT_EQ(ledger_->RegisterJob(*MakeJob("2024-01-05", "2024-01-01")).code(),
            Status::Code::kInvalid);
  JobProgress none;
  EXPECT_EQ(ledger_->Progress("no-such-job", &none).code(), Status::Code::kNotFound);
}

TEST_P(LedgerContractTest, ClaimHandsOutOldestDatesFirstWithFreshTokensUntilLeasesExpire) {
  auto job = MakeJob("2024-01-01", "2024-01-05");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto first = Claim(job->id, 2, At(0));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].key.date, "2024-01-01");
  EXPECT_EQ(first[1].key.date, "2024-01-02");
  EXPECT_NE(first[0].token, first[1].token);
  EXPECT_EQ(BatchField("lease_owner", first[0].key), "worker-a");
  EXPECT_EQ(BatchField("lease_expires_at", first[0].key), Ms(kLease.count()));
  auto rest = Claim(job->id, 10, At(1), "worker-b");
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].key.date, "2024-01-03");
  EXPECT_TRUE(Claim(job->id, 10, At(kLease.count() - 1)).empty());
  // Expired leases come back without an attempt counted, with new tokens.
  auto again = Claim(job->id, 10, At(kLease.count()), "worker-c");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].attempts, 0);
  EXPECT_NE(again[0].token, first[0].token);
  EXPECT_EQ(BatchField("attempts", again[0].key), "0");
}

TEST_P(LedgerContractTest, CommitStoresRowsAndQueuesTheNextPageOfAFullOne) {
  auto job = MakeJob("2024-01-01", "2024-01-02", 4);
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 2, At(0));
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_TRUE(CommitPage(job, leases[0], MakeRows(4, "2024-01-01"), At(1)));  // full
  EXPECT_TRUE(CommitPage(job, leases[1], MakeRows(3, "2024-01-02"), At(1)));  // short
  JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.pending, 1);
  EXPECT_EQ(p.rows, 7);
  auto next = Claim(job->id, 5, At(2));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key.start_row, 4);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"), 7);
  EXPECT_EQ(Int("SELECT clicks FROM search_analytics WHERE query = 'query 0-1' AND"
                " date = '2024-01-01'"),
            12);
}

TEST_P(LedgerContractTest, AFullPageAtTheDailyCapMarksTheDayTruncated) {
  auto job = MakeJob("2024-01-01", "2024-01-01", 25000);
  ASSERT_OK(ledger_->RegisterJob(*job));
  Lease lease = Claim(job->id, 1, At(0))[0];
  EXPECT_TRUE(CommitPage(job, lease, MakeRows(25000, "2024-01-01", 1), At(1)));
  lease = Claim(job->id, 1, At(2))[0];
  EXPECT_EQ(lease.key.start_row, 25000);
  EXPECT_TRUE(CommitPage(job, lease, MakeRows(25000, "2024-01-01", 2), At(3)));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.pending, 0);
  EXPECT_EQ(p.truncated_days, 1);
  EXPECT_EQ(p.rows, 50000);
}

TEST_P(LedgerContractTest, RowsWithAwkwardTextRoundTripExactly) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  std::vector<Row> rows = MakeRows(3, "2024-01-01");
  rows[0].query = "tab\there \"quoted\" back\\slash";
  rows[1].query = "new\nline and 'single' and \r and ünïcödé 検索";
  rows[2].clicks = 2.5;  // not integral
  EXPECT_TRUE(CommitPage(job, Claim(job->id, 1, At(0))[0], rows, At(1)));
  for (const Row& row : rows) {
    EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query = " + Quote(row.query)), 1)
        << row.query;
  }
  EXPECT_EQ(Text("SELECT clicks FROM search_analytics WHERE query = " + Quote(rows[2].query)),
            "2.5");
}

TEST_P(LedgerContractTest, ALateOwnerChangesNoPageStateAndItsRowsMakeNoDuplicates) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  const Lease late = Claim(job->id, 1, At(0))[0];
  const Lease owner = Claim(job->id, 1, At(kLease.count()), "worker-b")[0];
  const std::vector<Row> rows = MakeRows(7, "2024-01-01");
  bool held = true;
  ASSERT_OK(ledger_->Renew(std::span(&late, 1), At(10 * kLease.count())));
  EXPECT_EQ(BatchField("lease_expires_at", owner.key), Ms(2 * kLease.count()));
  ASSERT_OK(ledger_->FailPage(late, "late failure", true, 5, At(0), At(1), &held));
  EXPECT_FALSE(held);
  ASSERT_OK(ledger_->Release(std::span(&late, 1), At(1)));
  EXPECT_FALSE(CommitPage(job, late, rows, At(2)));
  EXPECT_EQ(BatchField("state", owner.key), "leased");
  EXPECT_EQ(BatchField("lease_owner", owner.key), "worker-b");
  EXPECT_EQ(BatchField("lease_token", owner.key), owner.token);
  EXPECT_TRUE(CommitPage(job, owner, rows, At(3)));
  EXPECT_FALSE(CommitPage(job, late, rows, At(4)));
  EXPECT_EQ(ProgressOf(job->id).done, 1);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"), 7);
  VerifyReport verify;
  ASSERT_OK(ledger_->Verify(job->id, &verify));
  EXPECT_TRUE(verify.clean());
  EXPECT_EQ(verify.duplicate_rows, 0);
}

TEST_P(LedgerContractTest, RenewExtendsAndReleaseReturnsPagesWithoutAnAttempt) {
  auto job = MakeJob("2024-01-01", "2024-01-03");
  ASSERT_OK(ledger_->RegisterJob(*job));
  auto leases = Claim(job->id, 3, At(0));
  ASSERT_OK(ledger_->Renew(std::span(leases).subspan(0, 1), At(3 * kLease.count())));
  auto taken = Claim(job->id, 3, At(2 * kLease.count()), "worker-b");
  EXPECT_EQ(taken.size(), 2u) << "the renewed lease still holds";
  ASSERT_OK(ledger_->Release(taken, At(2 * kLease.count() + 1)));
  EXPECT_EQ(ProgressOf(job->id).pending, 2);
  auto again = Claim(job->id, 3, At(2 * kLease.count() + 2));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].attempts, 0);
}

TEST_P(LedgerContractTest, FailPageRetriesAfterRetryAtThenDiesAndRetryDeadRevivesIt) {
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
      EXPECT_TRUE(Claim(job->id, 1, At(t + 999)).empty());
    }
    t += 1000;
  }
  JobReport report;
  ASSERT_OK(ledger_->Report(job->id, At(t), &report));
  EXPECT_EQ(report.progress.dead, 1);
  ASSERT_EQ(report.dead.size(), 1u);
  EXPECT_EQ(report.dead[0].attempts, 3);
  EXPECT_EQ(report.dead[0].last_error, "HTTP 503 #3");
  EXPECT_EQ(std::count(report.dead[0].errors.begin(), report.dead[0].errors.end(), '\n'), 2);
  int64_t count = 0;
  ASSERT_OK(ledger_->RetryDead(job->id, &count));
  EXPECT_EQ(count, 1);
  auto revived = Claim(job->id, 1, At(t));
  ASSERT_EQ(revived.size(), 1u);
  EXPECT_EQ(revived[0].attempts, 0);
}

TEST_P(LedgerContractTest, ReportListsLiveLeaseOwnersWithTheirLastHeartbeat) {
  auto job = MakeJob("2024-01-01", "2024-01-06");
  ASSERT_OK(ledger_->RegisterJob(*job));
  Claim(job->id, 2, At(0), "worker-a");
  Claim(job->id, 1, At(500), "worker-b");
  Claim(job->id, 1, At(-kLease.count()), "worker-gone");  // expired at At(0)
  JobReport report;
  ASSERT_OK(ledger_->Report(job->id, At(1000), &report));
  EXPECT_EQ(report.progress.leased, 4);
  ASSERT_EQ(report.leases.size(), 2u);
  EXPECT_EQ(report.leases[0].owner, "worker-a");
  EXPECT_EQ(report.leases[0].pages, 2);
  EXPECT_EQ(report.leases[0].last_heartbeat, At(0));
  EXPECT_EQ(report.leases[0].expires_at, At(kLease.count()));
  EXPECT_EQ(report.leases[1].owner, "worker-b");
  EXPECT_EQ(report.leases[1].last_heartbeat, At(500));
}

TEST_P(LedgerContractTest, VerifyIsCleanForAFinishedJobAndListsUnfinishedPages) {
  auto job = MakeJob("2024-01-01", "2024-01-03", 4);
  ASSERT_OK(ledger_->RegisterJob(*job));
  for (const Lease& lease : Claim(job->id, 2, At(0))) {
    ASSERT_TRUE(CommitPage(job, lease, MakeRows(2, lease.key.date), At(1)));
  }
  VerifyReport report;
  ASSERT_OK(ledger_->Verify(job->id, &report));
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.unfinished, std::vector<std::string>{"2024-01-03:0 pending"});
  ASSERT_TRUE(CommitPage(job, Claim(job->id, 1, At(2))[0], MakeRows(1, "2024-01-03"), At(3)));
  ASSERT_OK(ledger_->Verify(job->id, &report));
  EXPECT_TRUE(report.clean());
}

// Concurrency: every claimer has a connection of its own, as processes would.
TEST_P(LedgerContractTest, ConcurrentClaimersNeverShareAPage) {
  auto job = MakeJob("2023-01-01", "2023-12-31");  // 365 pages
  ASSERT_OK(ledger_->RegisterJob(*job));
  constexpr int kClaimers = 4;
  std::vector<Lease> claimed[kClaimers];
  Status results[kClaimers];
  std::latch start(kClaimers);
  auto claimer = [&](int i) {
    std::unique_ptr<Ledger> ledger;
    results[i] = OpenLedger(target_, &ledger);
    start.arrive_and_wait();
    while (results[i].ok()) {
      const std::size_t before = claimed[i].size();
      results[i] = ledger->Claim(job->id, "w" + std::to_string(i), 3, kLease, At(0), &claimed[i]);
      if (claimed[i].size() == before) break;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) threads.emplace_back(claimer, i);
  for (auto& t : threads) t.join();
  std::set<std::string> keys;
  std::size_t total = 0;
  for (int i = 0; i < kClaimers; ++i) {
    ASSERT_OK(results[i]);
    total += claimed[i].size();
    for (const Lease& l : claimed[i]) keys.insert(l.key.date);
  }
  EXPECT_EQ(total, 365u);
  EXPECT_EQ(keys.size(), 365u) << "a page was handed out twice";
}

TEST_P(LedgerContractTest, EightClaimersOfOnePageHaveExactlyOneWinner) {
  auto job = MakeJob("2024-01-01", "2024-01-01");
  ASSERT_OK(ledger_->RegisterJob(*job));
  constexpr int kClaimers = 8;
  std::vector<std::unique_ptr<Ledger>> ledgers(kClaimers);
  for (auto& l : ledgers) ASSERT_OK(OpenLedger(target_, &l));
  std::atomic<int> winners{0}, errors{0};
  std::latch start(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) {
    threads.emplace_back([&, i] {
      std::vector<Lease> out;
      start.arrive_and_wait();
      if (!ledgers[i]->Claim(job->id, "w" + std::to_string(i), 1, kLease, At(0), &out).ok()) {
        ++errors;
      }
      if (!out.empty()) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(ProgressOf(job->id).leased, 1);
}

// The shared quota.
TEST_P(LedgerContractTest, RefreshResetsFinishedProvisionalAndRecentDaysButNoLeasedOne) {
  auto job = MakeJob("2024-01-01", "2024-01-05", 4);
  ASSERT_OK(ledger_->RegisterJob(*job));
  std::vector<Lease> leases = Claim(job->id, 5, At(0));
  ASSERT_EQ(leases.size(), 5u);
  auto commit = [&](const Lease& lease, int n, int salt, bool provisional) {
    std::vector<FetchedPage> pages;
    pages.push_back(MakePage(job, lease, MakeRows(n, lease.key.date, salt)));
    pages.back().provisional = provisional;
    std::vector<bool> held;
    const Status status = ledger_->CommitPages(pages, At(1), &held);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return held.size() == 1 && held[0];
  };
  // 01-01: two pages, provisional; 01-02 and 01-03: old and final; 01-04: still leased;
  // 01-05: recent.
  ASSERT_TRUE(commit(leases[0], 4, 0, true));
  const Lease second = Claim(job->id, 1, At(2))[0];
  ASSERT_EQ(second.key.start_row, 4);
  ASSERT_TRUE(commit(second, 2, 5, true));
  ASSERT_TRUE(commit(leases[1], 3, 0, false));
  ASSERT_TRUE(commit(leases[2], 3, 0, false));
  ASSERT_TRUE(commit(leases[4], 3, 0, false));
  EXPECT_EQ(ProgressOf(job->id).provisional_days, 1);
  EXPECT_EQ(BatchField("provisional", {job->id, "2024-01-01", 4}), "1");

  ASSERT_OK(ledger_->RegisterJob(*job));  // no refresh: nothing changes
  EXPECT_EQ(ProgressOf(job->id).done, 5);

  RefreshPolicy refresh;
  refresh.today = "2024-01-06";
  refresh.refresh_days = 2;  // 01-04 and later
  ASSERT_OK(ledger_->RegisterJob(*job, refresh));
  const JobProgress p = ProgressOf(job->id);
  EXPECT_EQ(p.done, 2);     // 01-02, 01-03
  EXPECT_EQ(p.pending, 2);  // page 0 of 01-01 and of 01-05
  EXPECT_EQ(p.leased, 1);   // 01-04, untouched
  EXPECT_EQ(p.provisional_days, 0);
  EXPECT_EQ(Int("SELECT count(*) FROM batches WHERE date = '2024-01-01'"), 1);
  EXPECT_EQ(BatchField("attempts", {job->id, "2024-01-01", 0}), "0");
  EXPECT_EQ(BatchField("lease_token", leases[3].key), leases[3].token);
  // The stored rows stay until the day is fetched again.
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE date = '2024-01-01'"), 6);

  // The re-fetch replaces the day's rows: the final data lacks rows the old one had.
  std::vector<Lease> again = Claim(job->id, 5, At(3));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].key.date, "2024-01-01");
  ASSERT_TRUE(commit(again[0], 2, 1, false));
  ASSERT_TRUE(commit(again[1], 3, 1, false));
  ASSERT_TRUE(commit(leases[3], 1, 0, false));
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE date = '2024-01-01'"), 2);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE date = '2024-01-05'"), 3);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query NOT LIKE 'query 1-%'"
                " AND date IN ('2024-01-01', '2024-01-05')"),
            0);
  VerifyReport verify;
  ASSERT_OK(ledger_->Verify(job->id, &verify));
  EXPECT_TRUE(verify.clean());
}

TEST_P(LedgerContractTest, APageZeroWithItsLeaseReplacesItsDayButALateOwnerOnlyUpserts) {
  auto job = MakeJob("2024-01-01", "2024-01-02");
  ASSERT_OK(ledger_->RegisterJob(*job));
  const Lease late = Claim(job->id, 1, At(0))[0];
  const Lease owner = Claim(job->id, 1, At(kLease.count()), "worker-b")[0];
  ASSERT_EQ(owner.key, late.key);
  // Rows of another day and of another dimension list are never touched.
  auto other = std::make_shared<Job>(*MakeJob("2024-01-01", "2024-01-01"));
  other->spec.dimensions = {"date", "query"};
  other->id = other->spec.Id();
  ASSERT_OK(ledger_->RegisterJob(*other));
  EXPECT_TRUE(
      CommitPage(other, Claim(other->id, 1, At(0))[0], MakeRows(4, "2024-01-01", 9), At(1)));

  EXPECT_FALSE(CommitPage(job, late, MakeRows(7, "2024-01-01", 1), At(kLease.count() + 1)));
  const std::string mine =
      "SELECT count(*) FROM search_analytics WHERE dimensions = 'date,query,page'";
  EXPECT_EQ(Int(mine), 7);  // a late owner's rows still UPSERT
  EXPECT_TRUE(CommitPage(job, owner, MakeRows(3, "2024-01-01", 2), At(kLease.count() + 2)));
  EXPECT_EQ(Int(mine), 3);  // the owner's page 0 replaced the day
  EXPECT_EQ(Int(mine + " AND query LIKE 'query 2-%'"), 3);
  EXPECT_FALSE(CommitPage(job, late, MakeRows(2, "2024-01-01", 2), At(kLease.count() + 3)));
  EXPECT_EQ(Int(mine), 3);  // the late owner deleted nothing
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE dimensions = 'date,query'"), 4);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics"
                " GROUP BY site, search_type, dimensions, date, hour, query, page, country,"
                " device, search_appearance ORDER BY count(*) DESC LIMIT 1"),
            1);
}

TEST_P(LedgerContractTest, QuotaGrantsUpToTheBudgetThenSaysWhenToRetry) {
  std::unique_ptr<QuotaLedger> quota;
  ASSERT_OK(OpenQuotaLedger(target_, &quota));
  QuotaDecision d;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(quota->TryGrant("site:a", 1, 5, milliseconds(60000), &d));
    EXPECT_TRUE(d.granted);
  }
  EXPECT_EQ(d.in_window, 3);
  ASSERT_OK(quota->TryGrant("site:a", 3, 5, milliseconds(60000), &d));
  EXPECT_FALSE(d.granted) << "3 + 3 > 5";
  EXPECT_EQ(d.in_window, 3);
  EXPECT_GT(d.retry_after.count(), 59000);
  EXPECT_LE(d.retry_after.count(), 60000);
  ASSERT_OK(quota->TryGrant("site:a", 2, 5, milliseconds(60000), &d));
  EXPECT_TRUE(d.granted);
  ASSERT_OK(quota->TryGrant("site:b", 5, 5, milliseconds(60000), &d));
  EXPECT_TRUE(d.granted) << "keys are independent";
  EXPECT_EQ(quota->TryGrant("site:a", 6, 5, milliseconds(60000), &d).code(),
            Status::Code::kInvalid);
}

TEST_P(LedgerContractTest, QuotaGrantsLeaveTheWindowAfterItsLength) {
  std::unique_ptr<QuotaLedger> quota;
  ASSERT_OK(OpenQuotaLedger(target_, &quota));
  QuotaDecision d;
  ASSERT_OK(quota->TryGrant("k", 2, 2, milliseconds(300), &d));
  ASSERT_TRUE(d.granted);
  ASSERT_OK(quota->TryGrant("k", 1, 2, milliseconds(300), &d));
  ASSERT_FALSE(d.granted);
  std::this_thread::sleep_for(d.retry_after + milliseconds(5));
  ASSERT_OK(quota->TryGrant("k", 1, 2, milliseconds(300), &d));
  EXPECT_TRUE(d.granted);
}

TEST_P(LedgerContractTest, ConcurrentQuotaClientsNeverExceedTheBudgetInAnyWindow) {
  constexpr int kClients = 4;
  constexpr int64_t kBudget = 20;
  const milliseconds window(400);
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> grants;
  std::latch start(kClients);
  std::atomic<int> errors{0};
  const auto end = std::chrono::steady_clock::now() + milliseconds(1500);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      std::unique_ptr<QuotaLedger> quota;
      if (!OpenQuotaLedger(target_, &quota).ok()) ++errors;
      start.arrive_and_wait();
      while (quota && std::chrono::steady_clock::now() < end) {
        QuotaDecision d;
        if (!quota->TryGrant("site:shared", 1, kBudget, window, &d).ok()) {
          ++errors;
          return;
        }
        if (d.granted) {
          std::lock_guard lock(mu);
          grants.push_back(std::chrono::steady_clock::now());
        } else {
          std::this_thread::sleep_for(std::min(d.retry_after, milliseconds(20)));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::sort(grants.begin(), grants.end());
  // ~4 windows' worth: the budget is used, and never exceeded (the grant is taken before
  // the local timestamp, so allow the scheduling jitter between the two).
  EXPECT_GE(grants.size(), static_cast<std::size_t>(3 * kBudget));
  EXPECT_LE(grants.size(), static_cast<std::size_t>(5 * kBudget));
  for (std::size_t i = 0; i + kBudget < grants.size(); ++i) {
    EXPECT_GE(grants[i + kBudget] - grants[i], window - milliseconds(25)) << "grant " << i;
  }
}

TEST(PostgresLedgerOpenTest, ConnectionErrorsAreOneLineIoErrorsWithoutThePassword) {
  std::unique_ptr<Ledger> ledger;
  const Status status =
      OpenLedger("postgresql://batchfetch:s3cr3t-pw@127.0.0.1:1/nowhere", &ledger);
  EXPECT_EQ(status.code(), Status::Code::kIoError) << status.ToString();
  EXPECT_EQ(status.message().find("s3cr3t-pw"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("***"), std::string::npos) << status.message();
}

TEST(PostgresLedgerOpenTest, ADatabaseWithAnotherProgramsTablesIsForeign) {
  const std::string uri = testing::PgCluster::Shared().NewDatabase();
  testing::PgQuery(uri, "CREATE TABLE jobs(x int)");
  std::unique_ptr<Ledger> ledger;
  EXPECT_EQ(OpenLedger(uri, &ledger).code(), Status::Code::kForeign);
}

TEST(PostgresLedgerOpenTest, ANewerSchemaIsForeignAndAsksForAnUpgrade) {
  const std::string uri = testing::PgCluster::Shared().NewDatabase();
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(uri, &ledger));
  testing::PgQuery(uri, "UPDATE batchfetch_schema SET version = 99");
  const Status status = OpenLedger(uri, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kForeign);
  EXPECT_NE(status.message().find("upgrade"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace batchfetch
