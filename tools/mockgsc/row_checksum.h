#ifndef TOOLS_MOCKGSC_ROW_CHECKSUM_H_
#define TOOLS_MOCKGSC_ROW_CHECKSUM_H_

#include <cstdint>
#include <span>
#include <string>

namespace mockgsc {

// The order-independent checksum of a row set that /__expected reports:
//   s = keys joined with '\x1f' + '\x1e' + decimal(clicks) + '\x1e' + decimal(impressions)
//   checksum = sum over rows of FNV-1a-64(s), mod 2^64, as 16 lowercase hex digits.
// tests/support/checksum.h is an independent copy of this contract for the engine's tests.
// Thread-compatible.
class RowChecksum {
 public:
  void Add(std::span<const std::string> keys, int64_t clicks, int64_t impressions);
  uint64_t value() const { return sum_; }
  // 16 lowercase hex digits.
  std::string Hex() const;

 private:
  uint64_t sum_ = 0;  // Wrapping sum of per-row hashes.
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_ROW_CHECKSUM_H_
