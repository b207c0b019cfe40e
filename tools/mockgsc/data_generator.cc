#include "tools/mockgsc/data_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "tools/mockgsc/key_values.h"

namespace mockgsc {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashString(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

uint64_t Combine(uint64_t a, uint64_t b) { return SplitMix(a ^ SplitMix(b)); }

// Uniform in [0, 1) from the top 53 bits.
double Unit(uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }

constexpr std::array<std::string_view, 16> kWords = {
    "best",  "cheap", "near me", "how to", "review", "vs",     "price",  "buy",
    "guide", "2024",  "online",  "free",   "shoes",  "coffee", "laptop", "recipe"};

bool HasUnbounded(const std::vector<Dimension>& dims) {
  return std::any_of(dims.begin(), dims.end(),
                     [](Dimension d) { return d == Dimension::kQuery || d == Dimension::kPage; });
}

// Distinct combinations of the bounded dimensions in `dims` (1 for none).
int64_t BoundedCombinations(const std::vector<Dimension>& dims) {
  int64_t product = 1;
  for (Dimension d : dims) {
    if (int64_t c = DimensionCardinality(d); c > 0) product *= c;
  }
  return product;
}

uint64_t DayHash(uint64_t seed, const std::string& site, const std::string& type, CivilDate date) {
  return Combine(Combine(Combine(seed, HashString(site)), HashString(type)), uint64_t(date.days()));
}

std::string CacheKey(const std::string& site, const std::string& type, CivilDate date,
                     const std::vector<Dimension>& dims) {
  std::string key = site + '\x1f' + type + '\x1f' + std::to_string(date.days()) + '\x1f';
  for (Dimension d : dims) key += char('0' + int(d));
  return key;
}

}  // namespace

DataGenerator::DataGenerator(Options options) : options_(options) {}

int64_t DataGenerator::RowCount(const std::string& site, const std::string& type, CivilDate date,
                                const std::vector<Dimension>& dims) const {
  uint64_t h = DayHash(options_.seed, site, type, date);
  const uint64_t bucket = h % 100;
  int64_t count;
  if (bucket < 5) {
    count = 0;
  } else if (bucket < 5 + uint64_t(options_.huge_day_percent)) {
    count = kHugeDayRows;
  } else {
    count = 1 + int64_t(SplitMix(h) % uint64_t(std::max<int64_t>(1, 2 * options_.rows_per_day)));
  }
  if (!HasUnbounded(dims)) count = std::min(count, BoundedCombinations(dims));
  return count;
}

std::shared_ptr<const DayRows> DataGenerator::Day(const std::string& site, const std::string& type,
                                                  CivilDate date,
                                                  const std::vector<Dimension>& dims) {
  return Cached(CacheKey(site, type, date, dims), [&] { return Generate(site, type, date, dims); });
}

std::shared_ptr<const DayRows> DataGenerator::ProvisionalDay(const std::string& site,
                                                             const std::string& type,
                                                             CivilDate date,
                                                             const std::vector<Dimension>& dims) {
  return Cached(CacheKey(site, type, date, dims) + "\x1fprovisional", [&] {
    std::shared_ptr<const DayRows> final_day = Day(site, type, date, dims);
    auto day = std::make_shared<DayRows>();
    for (const Row& row : final_day->rows) {
      uint64_t h = options_.seed ^ 0x70726f76ULL;  // "prov"
      for (const std::string& key : row.keys) h = Combine(h, HashString(key));
      if (SplitMix(h) % 10 >= 7) continue;  // ~30% of the rows are not there yet
      Row fresh = row;
      fresh.clicks = row.clicks * 6 / 10;  // monotone: the order by clicks desc holds
      fresh.impressions = std::max<int64_t>({row.impressions * 6 / 10, fresh.clicks, 1});
      day->rows.push_back(std::move(fresh));
    }
    day->total_rows = int64_t(day->rows.size());
    return std::shared_ptr<const DayRows>(std::move(day));
  });
}

std::shared_ptr<const DayRows> DataGenerator::Cached(
    const std::string& key, const std::function<std::shared_ptr<const DayRows>()>& make) {
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->day;
    }
  }
  // Made outside the lock; two threads racing on one day both produce the same rows.
  auto day = make();
  std::lock_guard lock(mu_);
  if (index_.count(key) == 0) {
    lru_.push_front({key, day});
    index_[key] = lru_.begin();
    cached_rows_ += int64_t(day->rows.size());
    while (cached_rows_ > options_.cache_rows && lru_.size() > 1) {
      cached_rows_ -= int64_t(lru_.back().day->rows.size());
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }
  return day;
}

std::shared_ptr<const DayRows> DataGenerator::Generate(const std::string& site,
                                                       const std::string& type, CivilDate date,
                                                       const std::vector<Dimension>& dims) const {
  auto day = std::make_shared<DayRows>();
  const int64_t n = RowCount(site, type, date, dims);
  day->total_rows = n;
  if (n == 0) return day;

  const uint64_t day_hash = DayHash(options_.seed, site, type, date);
  const bool has_query = std::find(dims.begin(), dims.end(), Dimension::kQuery) != dims.end();
  const int64_t combos = BoundedCombinations(dims);
  const std::string date_text = date.ToString();

  // Metrics first, so only the rows that survive the cap get keys.
  struct Metric {
    int64_t index;
    int64_t clicks;
    int64_t impressions;
    double position;
  };
  std::vector<Metric> metrics(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t r = Combine(day_hash, uint64_t(i));
    double u = Unit(r);
    double v = Unit(SplitMix(r ^ 1));
    double w = Unit(SplitMix(r ^ 2));
    int64_t clicks = int64_t(300.0 * u * u * u * u);
    int64_t impressions = clicks + 1 + int64_t(v * v * 40.0 * double(clicks + 1));
    double position = 1.0 + std::round(w * 990.0) / 10.0;
    metrics[size_t(i)] = {i, clicks, impressions, position};
  }
  const size_t kept = size_t(std::min<int64_t>(n, kDailyRowCap));
  auto by_clicks = [](const Metric& a, const Metric& b) {
    return a.clicks != b.clicks ? a.clicks > b.clicks : a.index < b.index;
  };
  std::partial_sort(metrics.begin(), metrics.begin() + ptrdiff_t(kept), metrics.end(), by_clicks);

  day->rows.resize(kept);
  for (size_t r = 0; r < kept; ++r) {
    const Metric& m = metrics[r];
    Row& row = day->rows[r];
    row.clicks = m.clicks;
    row.impressions = m.impressions;
    row.position = m.position;
    row.keys.reserve(dims.size());
    // Mixed radix: the bounded dims take the low digits of the index, query/page the rest,
    // so every index yields a distinct key tuple.
    int64_t small = m.index % combos;
    const int64_t big = m.index / combos;
    for (Dimension d : dims) {
      int64_t card = DimensionCardinality(d);
      int64_t digit = card > 0 ? small % card : 0;
      if (card > 0) small /= card;
      switch (d) {
        case Dimension::kDate:
          row.keys.push_back(date_text);
          break;
        case Dimension::kHour: {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%sT%02d:00:00-07:00", date_text.c_str(), int(digit));
          row.keys.emplace_back(buf);
          break;
        }
        case Dimension::kDevice:
          row.keys.emplace_back(kDevices[size_t(digit)]);
          break;
        case Dimension::kCountry:
          row.keys.emplace_back(kCountries[size_t(digit)]);
          break;
        case Dimension::kSearchAppearance:
          row.keys.emplace_back(kSearchAppearances[size_t(digit)]);
          break;
        case Dimension::kQuery: {
          uint64_t h = Combine(day_hash ^ 0x51, uint64_t(big));
          row.keys.push_back("query " + std::to_string(big) + " " +
                             std::string(kWords[h % kWords.size()]) + " " +
                             std::string(kWords[(h >> 8) % kWords.size()]));
          break;
        }
        case Dimension::kPage: {
          // With a query dimension, many queries land on one page; alone, pages are unique.
          int64_t page =
              has_query ? int64_t(Combine(day_hash ^ 0x9a, uint64_t(big)) % uint64_t(n / 4 + 1))
                        : big;
          row.keys.push_back("https://www.example.com/p/" + std::to_string(page));
          break;
        }
      }
    }
  }
  return day;
}

}  // namespace mockgsc
