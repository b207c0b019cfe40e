#ifndef TESTS_SUPPORT_CHECKSUM_H_
#define TESTS_SUPPORT_CHECKSUM_H_

// The row-set checksum mockgsc reports from GET /__expected, computed here independently
// (header-only, no mockgsc code) so a test can check what landed in a database:
//   s = keys joined with '\x1f' + '\x1e' + decimal(clicks) + '\x1e' + decimal(impressions)
//   checksum = sum over rows of FNV-1a-64(s), mod 2^64, as 16 lowercase hex digits.
// The sum makes it independent of row order.

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

namespace batchfetch::testing {

// Accumulates the checksum of a row set. Thread-compatible.
class RowSetChecksum {
 public:
  // `keys`: the row's dimension values in request order (any range of string-like values).
  template <typename Keys>
  void Add(const Keys& keys, int64_t clicks, int64_t impressions) {
    uint64_t h = kOffset;
    bool first = true;
    for (const auto& key : keys) {
      if (!first) h = Mix(h, "\x1f");
      first = false;
      h = Mix(h, std::string_view(key));
    }
    h = Mix(h, "\x1e");
    h = Mix(h, std::to_string(clicks));
    h = Mix(h, "\x1e");
    h = Mix(h, std::to_string(impressions));
    sum_ += h;
    ++rows_;
  }
  void Add(std::initializer_list<std::string_view> keys, int64_t clicks, int64_t impressions) {
    Add<std::initializer_list<std::string_view>>(keys, clicks, impressions);
  }

  uint64_t value() const { return sum_; }
  int64_t rows() const { return rows_; }
  // 16 lowercase hex digits, as /__expected prints it.
  std::string Hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(sum_));
    return buf;
  }

 private:
  static constexpr uint64_t kOffset = 0xcbf29ce484222325ULL;
  static constexpr uint64_t kPrime = 0x100000001b3ULL;
  static uint64_t Mix(uint64_t h, std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * kPrime;
    return h;
  }

  uint64_t sum_ = 0;  // Wrapping sum of per-row FNV-1a hashes.
  int64_t rows_ = 0;  // Rows added.
};

}  // namespace batchfetch::testing

#endif  // TESTS_SUPPORT_CHECKSUM_H_
