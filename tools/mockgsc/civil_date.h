#ifndef TOOLS_MOCKGSC_CIVIL_DATE_H_
#define TOOLS_MOCKGSC_CIVIL_DATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mockgsc {

// A proleptic Gregorian calendar day, stored as days since 1970-01-01.
// Value type; thread-compatible.
class CivilDate {
 public:
  constexpr CivilDate() = default;
  constexpr explicit CivilDate(int64_t days_since_epoch) : days_(days_since_epoch) {}

  // Parses exactly "YYYY-MM-DD" (a real calendar day); nullopt otherwise.
  static std::optional<CivilDate> Parse(std::string_view text);
  // Today's date in UTC according to the system clock.
  static CivilDate Today();

  // "YYYY-MM-DD".
  std::string ToString() const;
  int64_t days() const { return days_; }

  friend constexpr auto operator<=>(CivilDate, CivilDate) = default;

 private:
  int64_t days_ = 0;  // Days since 1970-01-01.
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_CIVIL_DATE_H_
