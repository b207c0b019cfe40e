#include "workers/retry_policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

namespace batchfetch {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A cursor over the value: each Read* consumes on success and leaves the cursor where it
// stopped otherwise (callers give up on the first failure).
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool Done() const { return s_.empty(); }
  void SkipSpaces() {
    while (!s_.empty() && s_.front() == ' ') {
      s_.remove_prefix(1);
    }
  }
  bool Literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) {
      return false;
    }
    s_.remove_prefix(lit.size());
    return true;
  }
  // Exactly `min_digits`..`max_digits` decimal digits.
  bool Number(int min_digits, int max_digits, int* out) {
    int value = 0;
    int n = 0;
    while (n < max_digits && n < static_cast<int>(s_.size()) &&
           std::isdigit(static_cast<unsigned char>(s_[n]))) {
      value = value * 10 + (s_[n] - '0');
      ++n;
    }
    if (n < min_digits) {
      return false;
    }
    s_.remove_prefix(n);
    *out = value;
    return true;
  }
  // A letter-only word ("Sun", "Sunday").
  std::string_view Word() {
    std::size_t n = 0;
    while (n < s_.size() && std::isalpha(static_cast<unsigned char>(s_[n]))) {
      ++n;
    }
    const std::string_view w = s_.substr(0, n);
    s_.remove_prefix(n);
    return w;
  }
  bool Month(int* out) {
    const std::string_view w = Word();
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
      if (w == kMonths[i]) {
        *out = static_cast<int>(i) + 1;
        return true;
      }
    }
    return false;
  }
  bool Clock(int* h, int* m, int* s) {
    return Number(2, 2, h) && Literal(":") && Number(2, 2, m) && Literal(":") && Number(2, 2, s);
  }

 private:
  std::string_view s_;
};

struct DateTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
bool ParseImfFixdate(std::string_view v, DateTime* t) {
  Scanner s(v);
  return !s.Word().empty() && s.Literal(", ") && s.Number(2, 2, &t->day) && s.Literal(" ") &&
         s.Month(&t->month) && s.Literal(" ") && s.Number(4, 4, &t->year) && s.Literal(" ") &&
         s.Clock(&t->hour, &t->minute, &t->second) && s.Literal(" GMT") && s.Done();
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year below 70 is 20xx.
bool ParseRfc850(std::string_view v, DateTime* t) {
  Scanner s(v);
  int yy = 0;
  if (!(!s.Word().empty() && s.Literal(", ") && s.Number(2, 2, &t->day) && s.Literal("-") &&
        s.Month(&t->month) && s.Literal("-") && s.Number(2, 2, &yy) && s.Literal(" ") &&
        s.Clock(&t->hour, &t->minute, &t->second) && s.Literal(" GMT") && s.Done())) {
    return false;
  }
  t->year = yy < 70 ? 2000 + yy : 1900 + yy;
  return true;
}

// asctime: "Sun Nov  6 08:49:37 1994".
bool ParseAsctime(std::string_view v, DateTime* t) {
  Scanner s(v);
  if (s.Word().empty() || !s.Literal(" ") || !s.Month(&t->month) || !s.Literal(" ")) {
    return false;
  }
  s.SkipSpaces();
  return s.Number(1, 2, &t->day) && s.Literal(" ") && s.Clock(&t->hour, &t->minute, &t->second) &&
         s.Literal(" ") && s.Number(4, 4, &t->year) && s.Done();
}

std::optional<WallTime> ToWallTime(const DateTime& t) {
  const std::chrono::year_month_day ymd{std::chrono::year{t.year},
                                        std::chrono::month{static_cast<unsigned>(t.month)},
                                        std::chrono::day{static_cast<unsigned>(t.day)}};
  // Years far from now are nonsense here, and outside ~1678..2262 they overflow the
  // nanosecond system_clock.
  if (t.year < 1900 || t.year > 2200) {
    return std::nullopt;
  }
  if (!ymd.ok() || t.hour > 23 || t.minute > 59 || t.second > 60) {
    return std::nullopt;
  }
  const auto tp = std::chrono::sys_days{ymd} + std::chrono::hours{t.hour} +
                  std::chrono::minutes{t.minute} + std::chrono::seconds{t.second};
  return std::chrono::time_point_cast<WallClock::duration>(tp);
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() &&
         (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n')) {
    v.remove_suffix(1);
  }
  return v;
}

}  // namespace

RetryPolicy::RetryPolicy(milliseconds base, milliseconds cap, uint64_t seed)
    : base_(base), cap_(cap), rng_(seed) {}

milliseconds RetryPolicy::Delay(int attempt, std::optional<milliseconds> retry_after) {
  // base * 2^(attempt-1), saturating at cap without overflowing.
  const int64_t cap = std::max<int64_t>(cap_.count(), 0);
  int64_t ceiling = std::min(std::max<int64_t>(base_.count(), 0), cap);
  for (int i = 1; i < attempt && ceiling < cap; ++i) {
    ceiling = std::min(ceiling * 2, cap);
  }
  const int64_t jitter = std::uniform_int_distribution<int64_t>(0, ceiling)(rng_);
  milliseconds delay(jitter);
  if (retry_after && *retry_after > delay) {
    delay = *retry_after;
  }
  return delay;
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value, WallTime now) {
  value = Trim(value);
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    // delta-seconds; absurd values saturate at about 31 years rather than overflow.
    constexpr int64_t kMaxSeconds = int64_t{1} << 30;
    int64_t seconds = 0;
    for (const char c : value) {
      seconds = std::min(seconds * 10 + (c - '0'), kMaxSeconds);
    }
    return milliseconds(seconds * 1000);
  }
  DateTime t;
  if (!ParseImfFixdate(value, &t) && !ParseRfc850(value, &(t = DateTime{})) &&
      !ParseAsctime(value, &(t = DateTime{}))) {
    return std::nullopt;
  }
  const std::optional<WallTime> when = ToWallTime(t);
  if (!when) {
    return std::nullopt;
  }
  if (*when <= now) {
    return milliseconds(0);
  }
  // An HTTP-date has whole seconds: round up so the wait never ends early.
  return std::chrono::ceil<milliseconds>(*when - now);
}

}  // namespace batchfetch
