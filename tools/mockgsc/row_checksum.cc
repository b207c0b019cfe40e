#include "tools/mockgsc/row_checksum.h"

#include <cstdio>

namespace mockgsc {
namespace {

uint64_t Fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

void RowChecksum::Add(std::span<const std::string> keys, int64_t clicks, int64_t impressions) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) h = Fnv1a(h, "\x1f");
    h = Fnv1a(h, keys[i]);
  }
  h = Fnv1a(h, "\x1e");
  h = Fnv1a(h, std::to_string(clicks));
  h = Fnv1a(h, "\x1e");
  h = Fnv1a(h, std::to_string(impressions));
  sum_ += h;
}

std::string RowChecksum::Hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(sum_));
  return buf;
}

}  // namespace mockgsc
