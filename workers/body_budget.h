#ifndef BATCHFETCH_WORKERS_BODY_BUDGET_H_
#define BATCHFETCH_WORKERS_BODY_BUDGET_H_

// The bytes every response body of a process may buffer together, so N oversized
// answers at once cannot take N times the per-response cap. A transfer reserves what its
// body's buffer grows by before it grows; a reservation that does not fit is refused and
// the transfer is cut off. Reserved bytes are released when the body is freed.
//
// Thread rule: any thread (one atomic counter).

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace batchfetch {

class BodyBudget {
 public:
  // The default budget of every HttpClient that is not given one.
  static constexpr std::size_t kDefaultLimit = std::size_t{384} << 20;

  explicit BodyBudget(std::size_t limit) : limit_(limit) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  // The budget shared by every HttpClient of the process (kDefaultLimit).
  static std::shared_ptr<BodyBudget> Process();

  // Reserves bytes; false (nothing reserved) when used() + bytes would exceed limit().
  bool TryReserve(std::size_t bytes);
  // Gives back bytes. REQUIRES: they were reserved.
  void Release(std::size_t bytes);

  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// Holds bytes of a budget until destroyed (kept alive with a response's body).
class BodyBudgetHold {
 public:
  BodyBudgetHold(std::shared_ptr<BodyBudget> budget, std::size_t bytes)
      : budget_(std::move(budget)), bytes_(bytes) {}
  ~BodyBudgetHold() {
    if (budget_) budget_->Release(bytes_);
  }
  BodyBudgetHold(const BodyBudgetHold&) = delete;
  BodyBudgetHold& operator=(const BodyBudgetHold&) = delete;

 private:
  std::shared_ptr<BodyBudget> budget_;
  std::size_t bytes_;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_BODY_BUDGET_H_
