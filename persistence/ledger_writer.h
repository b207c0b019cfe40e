#ifndef BATCHFETCH_PERSISTENCE_LEDGER_WRITER_H_
#define BATCHFETCH_PERSISTENCE_LEDGER_WRITER_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "persistence/ledger.h"

namespace batchfetch {

// The one thread that talks to the database. Everything that touches the Ledger runs
// here, so no blocking database call ever runs on the io thread.
//
// Fetched pages are group-committed: all pages queued when the writer wakes (up to
// max_group) go into one CommitPages transaction. Other tasks run one by one, before
// pages, in the order they were posted.
//
// Thread rule: Post and SubmitPage may be called from any thread. Callbacks run on the
// writer thread; callers post results back to their own executor.
class LedgerWriter {
 public:
  using PageCallback = std::function<void(const Status&, bool lease_held)>;

  static constexpr std::size_t kDefaultMaxGroup = 64;

  // max_attempts: what CommitPages gets (a day restarted that often is dead).
  explicit LedgerWriter(std::unique_ptr<Ledger> ledger, std::size_t max_group = kDefaultMaxGroup,
                        int max_attempts = kDefaultMaxAttempts);
  // Finishes everything queued, then joins the thread.
  ~LedgerWriter();

  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // Runs task(ledger) on the writer thread. Tasks and callbacks must not throw.
  void Post(std::function<void(Ledger&)> task);

  // Queues page for the next group commit; on_done gets the commit's status and whether
  // the page's lease still held.
  // on_taken (optional) runs on the writer thread when the page leaves the queue for a
  // commit group: from then on it no longer waits for the writer, so the caller's
  // backpressure can admit another page while this group commits.
  void SubmitPage(FetchedPage page, PageCallback on_done, std::function<void()> on_taken = nullptr);

  // Pages queued or being committed, not yet reported.
  std::size_t backlog() const;

  // CommitPages transactions run so far (one per group).
  std::size_t commits() const;

  // Gives the ledger up (a run halted because its database is unusable): the task or
  // commit running now finishes, then everything queued and posted later runs against a
  // ledger whose every call fails at once with kIoError, so no caller waits on a locked
  // or broken database again. Pages never committed stay leased until their lease ends.
  void Abandon();

  // Finishes everything queued, then joins. Idempotent. Later Posts are dropped and later
  // pages fail at once with kInvalid. REQUIRES: not called on the writer thread.
  void Stop();

 private:
  struct PendingPage {
    FetchedPage page;
    PageCallback on_done;
    std::function<void()> on_taken;
  };

  void Run();
  // The ledger the next task or commit uses: ledger_, or given_up_ after Abandon().
  Ledger& Current();

  std::unique_ptr<Ledger> ledger_;
  const std::unique_ptr<Ledger> given_up_;  // what runs after Abandon()
  const std::size_t max_group_;
  const int max_attempts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void(Ledger&)>> tasks_;  // guarded by mu_
  std::deque<PendingPage> pages_;                   // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  bool abandoned_ = false;                          // guarded by mu_
  std::size_t committing_ = 0;                      // guarded by mu_: pages in CommitPages
  std::size_t commits_ = 0;                         // guarded by mu_
  std::mutex join_mu_;                              // serialises joining thread_
  std::thread thread_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_LEDGER_WRITER_H_
