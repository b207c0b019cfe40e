#include "persistence/ledger_writer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "core/civil_date.h"
#include "tests/persistence/temp_dir.h"

namespace batchfetch {
namespace {

// Records what the writer asks of it. CommitPages can be held at its start so a test
// decides what queues up meanwhile; it can also be told to fail.
class FakeLedger : public Ledger {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool hold_commits = false;  // CommitPages waits while this is true
    int commits_entered = 0;
    std::vector<std::size_t> groups;  // pages per CommitPages call
    std::vector<std::string> events;  // "task:<name>" and "commit:<n>", in order
    Status commit_status;
  };

  explicit FakeLedger(std::shared_ptr<Shared> shared) : s_(std::move(shared)) {}

  Status CommitPages(std::span<const FetchedPage> pages, WallTime, int,
                     std::vector<bool>* held) override {
    std::unique_lock<std::mutex> lock(s_->mu);
    ++s_->commits_entered;
    s_->cv.notify_all();
    s_->cv.wait(lock, [&] { return !s_->hold_commits; });
    s_->groups.push_back(pages.size());
    s_->events.push_back("commit:" + std::to_string(pages.size()));
    held->assign(pages.size(), true);
    // A page whose token is "lost" has been taken over.
    for (std::size_t i = 0; i < pages.size(); ++i) (*held)[i] = pages[i].lease.token != "lost";
    return s_->commit_status;
  }
  Status RegisterReports(std::span<const Report* const>) override { return Status::Ok(); }
  Status PlanReports(std::span<const std::string>, std::span<const std::string>,
                     const RefreshPolicy&, std::vector<DayPlan>*) override {
    return Status::Ok();
  }
  Status Claim(std::span<const ClaimRequest>, const std::string&, std::chrono::milliseconds,
               WallTime, std::vector<Lease>*) override {
    return Status::Ok();
  }
  Status FailPage(const Lease&, const std::string&, bool, int, WallTime, WallTime, bool*) override {
    return Status::Ok();
  }
  Status Release(std::span<const Lease>, WallTime) override { return Status::Ok(); }
  Status Renew(std::span<const Lease>, WallTime) override { return Status::Ok(); }
  Status Progress(std::span<const std::string>, ReportProgress*) override { return Status::Ok(); }
  Status RetryDead(const std::string&, int64_t*) override { return Status::Ok(); }
  Status ListReports(std::vector<Report>*) override { return Status::Ok(); }
  Status Describe(const std::string&, WallTime, ReportStatus*) override { return Status::Ok(); }
  Status Verify(const std::string&, VerifyReport*) override { return Status::Ok(); }

  void Record(const std::string& event) {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->events.push_back(event);
  }

 private:
  std::shared_ptr<Shared> s_;
};

FetchedPage PageWithToken(const std::string& token) {
  FetchedPage page;
  page.lease.token = token;
  return page;
}

class LedgerWriterTest : public ::testing::Test {
 protected:
  std::unique_ptr<LedgerWriter> MakeWriter(std::size_t max_group = 64) {
    return std::make_unique<LedgerWriter>(std::make_unique<FakeLedger>(shared_), max_group);
  }
  void HoldCommits(bool hold) {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->hold_commits = hold;
    }
    shared_->cv.notify_all();
  }
  void WaitForCommitEntered(int n) {
    std::unique_lock<std::mutex> lock(shared_->mu);
    shared_->cv.wait(lock, [&] { return shared_->commits_entered >= n; });
  }

  std::shared_ptr<FakeLedger::Shared> shared_ = std::make_shared<FakeLedger::Shared>();
};

// After a database halt the writer gives its ledger up: the commit running then finishes
// against the real ledger, and what is queued behind it or posted later fails at once
// instead of waiting on the database again — every caller still gets its answer.
TEST_F(LedgerWriterTest, AbandonFailsEverythingQueuedAfterTheRunningCommitAtOnce) {
  auto writer = MakeWriter();
  HoldCommits(true);
  std::atomic<int> ok{0}, failed{0};
  auto count = [&](const Status& status, bool) { ++(status.ok() ? ok : failed); };
  writer->SubmitPage(PageWithToken("t0"), count);
  WaitForCommitEntered(1);  // the real ledger is busy with it
  for (int i = 0; i < 5; ++i) writer->SubmitPage(PageWithToken("t"), count);
  Status task_status;
  writer->Post([&](Ledger& ledger) {
    task_status = ledger.Release({}, WallClock::now());  // the fake would say Ok
  });
  writer->Abandon();
  HoldCommits(false);
  Status later_status;
  writer->Post([&](Ledger& ledger) { later_status = ledger.Progress({}, nullptr); });
  writer->Stop();
  EXPECT_EQ(ok.load(), 1) << "the commit already running";
  EXPECT_EQ(failed.load(), 5);
  EXPECT_EQ(task_status.code(), Status::Code::kIoError);
  EXPECT_EQ(later_status.code(), Status::Code::kIoError);
  EXPECT_NE(later_status.message().find("given up"), std::string::npos);
  EXPECT_EQ(shared_->groups, (std::vector<std::size_t>{1})) << "the real ledger saw one commit";
}

TEST_F(LedgerWriterTest, PagesQueuedDuringACommitLandInOneTransaction) {
  auto writer = MakeWriter();
  HoldCommits(true);
  std::atomic<int> done{0};
  auto count = [&](const Status& status, bool held) {
    EXPECT_TRUE(status.ok());
    EXPECT_TRUE(held);
    ++done;
  };
  writer->SubmitPage(PageWithToken("t0"), count);
  WaitForCommitEntered(1);
  for (int i = 1; i <= 40; ++i) writer->SubmitPage(PageWithToken("t"), count);
  EXPECT_EQ(writer->backlog(), 41u);
  HoldCommits(false);
  writer->Stop();
  EXPECT_EQ(done.load(), 41);
  EXPECT_EQ(shared_->groups, (std::vector<std::size_t>{1, 40}));
  EXPECT_EQ(writer->commits(), 2u);
  EXPECT_EQ(writer->backlog(), 0u);
}

TEST_F(LedgerWriterTest, GroupsAreBoundedByMaxGroup) {
  auto writer = MakeWriter(16);
  HoldCommits(true);
  writer->SubmitPage(PageWithToken("t"), [](const Status&, bool) {});
  WaitForCommitEntered(1);
  for (int i = 0; i < 40; ++i) writer->SubmitPage(PageWithToken("t"), [](const Status&, bool) {});
  HoldCommits(false);
  writer->Stop();
  EXPECT_EQ(shared_->groups, (std::vector<std::size_t>{1, 16, 16, 8}));
}

TEST_F(LedgerWriterTest, TasksRunInPostedOrderBeforeQueuedPages) {
  auto writer = MakeWriter();
  HoldCommits(true);
  writer->SubmitPage(PageWithToken("t"), [](const Status&, bool) {});
  WaitForCommitEntered(1);
  writer->SubmitPage(PageWithToken("t"), [](const Status&, bool) {});
  for (const char* name : {"a", "b", "c"}) {
    writer->Post([name](Ledger& ledger) { static_cast<FakeLedger&>(ledger).Record(name); });
  }
  HoldCommits(false);
  writer->Stop();
  EXPECT_EQ(shared_->events, (std::vector<std::string>{"commit:1", "a", "b", "c", "commit:1"}));
}

TEST_F(LedgerWriterTest, CallbacksReportWhetherEachLeaseHeld) {
  auto writer = MakeWriter();
  HoldCommits(true);
  writer->SubmitPage(PageWithToken("t"), [](const Status&, bool) {});
  WaitForCommitEntered(1);
  std::vector<bool> held(2);
  writer->SubmitPage(PageWithToken("ok"), [&](const Status&, bool h) { held[0] = h; });
  writer->SubmitPage(PageWithToken("lost"), [&](const Status&, bool h) { held[1] = h; });
  HoldCommits(false);
  writer->Stop();
  EXPECT_EQ(held, (std::vector<bool>{true, false}));
}

TEST_F(LedgerWriterTest, AFailedCommitReachesEveryPageOfItsGroup) {
  shared_->commit_status = Status::Error(Status::Code::kDiskFull, "database or disk is full");
  auto writer = MakeWriter();
  HoldCommits(true);
  std::vector<Status> results;
  auto record = [&](const Status& s, bool held) {
    EXPECT_FALSE(held);
    results.push_back(s);
  };
  writer->SubmitPage(PageWithToken("t"), record);
  WaitForCommitEntered(1);
  writer->SubmitPage(PageWithToken("t"), record);
  writer->SubmitPage(PageWithToken("t"), record);
  HoldCommits(false);
  writer->Stop();
  ASSERT_EQ(results.size(), 3u);
  for (const Status& s : results) EXPECT_EQ(s.code(), Status::Code::kDiskFull);
}

TEST_F(LedgerWriterTest, StopDrainsEverythingQueuedAndLaterWorkIsRefused) {
  auto writer = MakeWriter(4);
  HoldCommits(true);
  int pages_done = 0;
  int tasks_run = 0;
  writer->SubmitPage(PageWithToken("t"), [&](const Status&, bool) { ++pages_done; });
  WaitForCommitEntered(1);
  for (int i = 0; i < 10; ++i) {
    writer->SubmitPage(PageWithToken("t"), [&](const Status&, bool) { ++pages_done; });
    writer->Post([&](Ledger&) { ++tasks_run; });
  }
  std::thread stopper([&] { writer->Stop(); });
  HoldCommits(false);
  stopper.join();
  EXPECT_EQ(pages_done, 11);
  EXPECT_EQ(tasks_run, 10);
  writer->Stop();  // idempotent

  Status late;
  writer->SubmitPage(PageWithToken("t"), [&](const Status& s, bool) { late = s; });
  EXPECT_EQ(late.code(), Status::Code::kInvalid);
  writer->Post([&](Ledger&) { ++tasks_run; });
  EXPECT_EQ(tasks_run, 10);
}

TEST(LedgerWriterSqliteTest, CommitsFetchedPagesIntoARealLedger) {
  TempDir dir;
  std::unique_ptr<Ledger> ledger;
  const Status opened = OpenLedger(dir.File("ledger.db"), &ledger);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  ReportSpec spec;
  spec.site = "sc-domain:example.com";
  auto report = Report::Make(spec);
  const std::vector<std::string> days = DaysBetween("2024-01-01", "2024-01-10");

  LedgerWriter writer(std::move(ledger));
  std::promise<std::vector<Lease>> claimed;
  writer.Post([&](Ledger& l) {
    std::vector<Lease> leases;
    DayPlan plan;
    EXPECT_TRUE(l.RegisterReport(*report).ok());
    EXPECT_TRUE(l.PlanDays(report->id, days, {}, &plan).ok());
    const ClaimRequest request{report->id, 10};
    EXPECT_TRUE(
        l.Claim(std::span(&request, 1), "w", std::chrono::seconds(60), WallClock::now(), &leases)
            .ok());
    claimed.set_value(leases);
  });
  const std::vector<Lease> leases = claimed.get_future().get();
  ASSERT_EQ(leases.size(), 10u);
  std::atomic<int> held{0};
  for (const Lease& lease : leases) {
    FetchedPage page{report, lease, 25000, std::vector<Row>(3)};
    for (std::size_t i = 0; i < page.rows.size(); ++i) page.rows[i].query = std::to_string(i);
    writer.SubmitPage(std::move(page), [&](const Status& s, bool h) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      held += h ? 1 : 0;
    });
  }
  writer.Stop();
  EXPECT_EQ(held.load(), 10);
  EXPECT_LE(writer.commits(), 10u);
  std::unique_ptr<Ledger> check;
  ASSERT_TRUE(OpenLedger(dir.File("ledger.db"), OpenMode::kReadOnly, &check).ok());
  ReportProgress progress;
  ASSERT_TRUE(check->Progress(std::span(&report->id, 1), &progress).ok());
  EXPECT_EQ(progress.rows, 30);
  EXPECT_EQ(progress.days_held, 10);
}

}  // namespace
}  // namespace batchfetch
