#ifndef BATCHFETCH_TELEMETRY_RUN_OBSERVER_H_
#define BATCHFETCH_TELEMETRY_RUN_OBSERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/page.h"

namespace batchfetch {

// A snapshot of the engine's queues, taken by the coordinator about once a second and
// whenever the ledger's progress is read.
struct EngineGauges {
  int64_t queued = 0;          // claimed pages waiting for a worker
  int64_t fetching = 0;        // pages a worker holds (limiter wait + request)
  int64_t committing = 0;      // fetched pages waiting for / in the writer
  int64_t writer_backlog = 0;  // pages queued in the writer thread
  int64_t mailbox_depth = 0;   // coordinator messages not yet handled
  int64_t max_mailbox_depth = 0;
  int64_t grants_in_window = 0;  // limiter grants in the current window
  int64_t budget = 0;            // grants allowed per window
  double window_seconds = 60;
  double oldest_pending_age_s = 0;  // age of the oldest page claimed and not yet fetched
  ReportProgress progress;          // the ledger's last answer, every report summed
};

// What the engine tells observers (metrics, audit log, progress display) as it runs.
// Every call comes on the io thread and must not block. Default: ignore.
class RunObserver {
 public:
  virtual ~RunObserver() = default;

  // One request finished. http_status is 0 for a transport failure; outcome is one of
  // "ok", "transient", "quota", "unauthorized", "fatal". limiter_wait is the time the
  // worker waited for its token; grants_in_window the limiter's count right after it.
  virtual void OnRequest(const PageKey& page, long http_status, std::string_view outcome,
                         std::chrono::microseconds latency, std::chrono::microseconds limiter_wait,
                         int64_t grants_in_window, int64_t budget) {
    (void)page, (void)http_status, (void)outcome, (void)latency, (void)limiter_wait,
        (void)grants_in_window, (void)budget;
  }
  // A claimed page waited this long in the ready queue before a worker took it.
  virtual void OnQueueWait(std::chrono::microseconds wait) { (void)wait; }
  // A page was committed (rows UPSERTed, page done) after persist_time in the writer.
  virtual void OnCommitted(const PageKey& page, int64_t rows,
                           std::chrono::microseconds persist_time) {
    (void)page, (void)rows, (void)persist_time;
  }
  // A transient failure will be retried / a page became dead.
  virtual void OnRetry(const PageKey& page) { (void)page; }
  virtual void OnDead(const PageKey& page) { (void)page; }
  // The run halts on an unrecoverable error.
  virtual void OnHalt(std::string_view reason) { (void)reason; }
  virtual void OnGauges(const EngineGauges& gauges) { (void)gauges; }
  // The run ended (after the last commit).
  virtual void OnFinished() {}
};

// Forwards every call to each observer in turn.
class CompositeObserver final : public RunObserver {
 public:
  void Add(RunObserver* observer) { observers_.push_back(observer); }

  void OnRequest(const PageKey& page, long http_status, std::string_view outcome,
                 std::chrono::microseconds latency, std::chrono::microseconds limiter_wait,
                 int64_t grants_in_window, int64_t budget) override {
    for (RunObserver* o : observers_) {
      o->OnRequest(page, http_status, outcome, latency, limiter_wait, grants_in_window, budget);
    }
  }
  void OnQueueWait(std::chrono::microseconds wait) override {
    for (RunObserver* o : observers_) o->OnQueueWait(wait);
  }
  void OnCommitted(const PageKey& page, int64_t rows,
                   std::chrono::microseconds persist_time) override {
    for (RunObserver* o : observers_) o->OnCommitted(page, rows, persist_time);
  }
  void OnRetry(const PageKey& page) override {
    for (RunObserver* o : observers_) o->OnRetry(page);
  }
  void OnDead(const PageKey& page) override {
    for (RunObserver* o : observers_) o->OnDead(page);
  }
  void OnHalt(std::string_view reason) override {
    for (RunObserver* o : observers_) o->OnHalt(reason);
  }
  void OnGauges(const EngineGauges& gauges) override {
    for (RunObserver* o : observers_) o->OnGauges(gauges);
  }
  void OnFinished() override {
    for (RunObserver* o : observers_) o->OnFinished();
  }

 private:
  std::vector<RunObserver*> observers_;  // not owned
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_RUN_OBSERVER_H_
