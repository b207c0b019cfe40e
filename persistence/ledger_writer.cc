#include "persistence/ledger_writer.h"

#include <utility>
#include <vector>

namespace batchfetch {
namespace {

// The ledger after LedgerWriter::Abandon(): every call fails at once.
class GivenUpLedger final : public Ledger {
 public:
  Status RegisterReports(std::span<const Report* const>) override { return Error(); }
  Status PlanReports(std::span<const std::string>, std::span<const std::string>,
                     const RefreshPolicy&, std::vector<DayPlan>*) override {
    return Error();
  }
  Status Claim(std::span<const ClaimRequest>, const std::string&, std::chrono::milliseconds,
               WallTime, std::vector<Lease>*) override {
    return Error();
  }
  Status CommitPages(std::span<const FetchedPage>, WallTime, int, std::vector<bool>*) override {
    return Error();
  }
  Status FailPage(const Lease&, const std::string&, bool, int, WallTime, WallTime, bool*) override {
    return Error();
  }
  Status Release(std::span<const Lease>, WallTime) override { return Error(); }
  Status Renew(std::span<const Lease>, WallTime) override { return Error(); }
  Status Progress(std::span<const std::string>, ReportProgress*) override { return Error(); }
  Status RetryDead(const std::string&, int64_t*) override { return Error(); }
  Status ListReports(std::vector<Report>*) override { return Error(); }
  Status Describe(const std::string&, WallTime, ReportStatus*) override { return Error(); }
  Status Verify(const std::string&, VerifyReport*) override { return Error(); }

 private:
  static Status Error() {
    return Status::Error(Status::Code::kIoError, "the ledger was given up after a database halt");
  }
};

}  // namespace

LedgerWriter::LedgerWriter(std::unique_ptr<Ledger> ledger, std::size_t max_group, int max_attempts)
    : ledger_(std::move(ledger)),
      given_up_(std::make_unique<GivenUpLedger>()),
      max_group_(max_group == 0 ? 1 : max_group),
      max_attempts_(max_attempts) {
  thread_ = std::thread([this] { Run(); });
}

LedgerWriter::~LedgerWriter() { Stop(); }

void LedgerWriter::Post(std::function<void(Ledger&)> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void LedgerWriter::SubmitPage(FetchedPage page, PageCallback on_done,
                              std::function<void()> on_taken) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!stopping_) {
      pages_.push_back(PendingPage{std::move(page), std::move(on_done), std::move(on_taken)});
      lock.unlock();
      cv_.notify_one();
      return;
    }
  }
  if (on_taken) on_taken();
  on_done(Status::Error(Status::Code::kInvalid, "the ledger writer has stopped"), false);
}

std::size_t LedgerWriter::backlog() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pages_.size() + committing_;
}

std::size_t LedgerWriter::commits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commits_;
}

void LedgerWriter::Abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_ = true;
}

Ledger& LedgerWriter::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  return abandoned_ ? *given_up_ : *ledger_;
}

void LedgerWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  // Only the first caller joins; the thread is gone for later ones.
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void LedgerWriter::Run() {
  std::vector<std::function<void(Ledger&)>> tasks;
  std::vector<PendingPage> group;
  std::vector<FetchedPage> pages;
  std::vector<bool> lease_held;
  while (true) {
    tasks.clear();
    group.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty() || !pages_.empty(); });
      if (tasks_.empty() && pages_.empty()) return;  // stopping, and drained
      while (!tasks_.empty()) {
        tasks.push_back(std::move(tasks_.front()));
        tasks_.pop_front();
      }
      while (!pages_.empty() && group.size() < max_group_) {
        group.push_back(std::move(pages_.front()));
        pages_.pop_front();
      }
      committing_ = group.size();
    }

    for (PendingPage& p : group) {
      if (p.on_taken) p.on_taken();
    }
    for (auto& task : tasks) task(Current());
    if (group.empty()) continue;

    pages.clear();
    for (PendingPage& p : group) pages.push_back(std::move(p.page));
    const Status status =
        Current().CommitPages(pages, WallClock::now(), max_attempts_, &lease_held);
    {
      std::lock_guard<std::mutex> lock(mu_);
      committing_ = 0;
      ++commits_;
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
      group[i].on_done(status, status.ok() && i < lease_held.size() && lease_held[i]);
    }
    pages.clear();  // the rows are done with: free them before sleeping
    group.clear();
  }
}

}  // namespace batchfetch
