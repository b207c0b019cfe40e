#ifndef TOOLS_MOCKGSC_DATA_GENERATOR_H_
#define TOOLS_MOCKGSC_DATA_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/mockgsc/civil_date.h"
#include "tools/mockgsc/dimension.h"

namespace mockgsc {

// One Search Analytics row; ctr is derived (clicks / impressions) when serialised.
struct Row {
  std::vector<std::string> keys;  // One per requested dimension, in request order.
  int64_t clicks = 0;
  int64_t impressions = 0;  // >= max(clicks, 1).
  double position = 1;      // In [1, 100].
};

// What a day holds for one (site, type, dimensions) query.
struct DayRows {
  std::vector<Row> rows;   // The servable rows: clicks desc, at most kDailyRowCap.
  int64_t total_rows = 0;  // Rows the day has before the cap.
  bool truncated() const { return total_rows > int64_t(rows.size()); }
};

// Deterministic synthetic Search Analytics data: the same (seed, site, type, date,
// dimensions) always yields the same sorted rows. Days are cached in an LRU bounded by
// total rows. Thread-safe.
class DataGenerator {
 public:
  static constexpr int64_t kDailyRowCap = 50'000;  // The API serves no row past this.
  static constexpr int64_t kHugeDayRows = 60'000;  // Rows of a "huge" (truncated) day.

  struct Options {
    uint64_t seed = 1;
    int64_t rows_per_day = 2000;     // Mean rows of an ordinary day.
    int huge_day_percent = 5;        // Days (in 100) with kHugeDayRows rows; 5 more are empty.
    int64_t cache_rows = 1'000'000;  // LRU bound on cached rows.
  };

  explicit DataGenerator(Options options);

  // Rows the day has before the cap (not generated; cheap).
  int64_t RowCount(const std::string& site, const std::string& type, CivilDate date,
                   const std::vector<Dimension>& dims) const;

  // The day's servable rows; generated on first use, then cached.
  std::shared_ptr<const DayRows> Day(const std::string& site, const std::string& type,
                                     CivilDate date, const std::vector<Dimension>& dims);

  // What the day looked like while it was still fresh (dataState all, on/after
  // firstIncompleteDate): a deterministic subset of Day()'s rows (about 70%) with smaller
  // clicks and impressions, still sorted by clicks desc. Cached like Day().
  std::shared_ptr<const DayRows> ProvisionalDay(const std::string& site, const std::string& type,
                                                CivilDate date, const std::vector<Dimension>& dims);

 private:
  // The cached value for key, made by make() (outside the lock) on a miss.
  std::shared_ptr<const DayRows> Cached(
      const std::string& key, const std::function<std::shared_ptr<const DayRows>()>& make);
  std::shared_ptr<const DayRows> Generate(const std::string& site, const std::string& type,
                                          CivilDate date, const std::vector<Dimension>& dims) const;

  struct CacheEntry {
    std::string key;
    std::shared_ptr<const DayRows> day;
  };

  const Options options_;
  std::mutex mu_;              // Guards the cache below.
  std::list<CacheEntry> lru_;  // Most recently used first.
  std::unordered_map<std::string, std::list<CacheEntry>::iterator> index_;
  int64_t cached_rows_ = 0;  // Sum of rows in lru_.
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_DATA_GENERATOR_H_
