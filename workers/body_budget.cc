#include "workers/body_budget.h"

namespace batchfetch {

std::shared_ptr<BodyBudget> BodyBudget::Process() {
  static const std::shared_ptr<BodyBudget> budget = std::make_shared<BodyBudget>(kDefaultLimit);
  return budget;
}

bool BodyBudget::TryReserve(std::size_t bytes) {
  std::size_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void BodyBudget::Release(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

}  // namespace batchfetch
