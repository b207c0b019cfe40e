#include "tests/tools/batchfetch/backfill_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {

BackfillRunner::BackfillRunner(std::string db) : db_(std::move(db)) {}

std::string BackfillRunner::bin() const {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

std::vector<std::string> BackfillRunner::Args(const MockGsc& server, const std::string& from,
                                              const std::string& to, int concurrency,
                                              const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {
      bin(), "backfill", "--site", kSite, "--from", from, "--to", to, "--dimensions", kDims,
      "--row-limit", std::to_string(kRowLimit), "--db", db_, "--api-base", server.base_url(),
      "--max-concurrency", std::to_string(concurrency), "--qpm", "1200", "--qpm-window", "6",
      "--retry-base", "0.05", "--lease", "10", "--progress", "never",
      // Fixed test dates stay valid as the years pass.
      "--allow-old-dates"};
  // A flag already present gets its value replaced; others are appended.
  for (std::size_t i = 0; i < extra.size(); ++i) {
    auto it = std::find(args.begin(), args.end(), extra[i]);
    if (it != args.end() && i + 1 < extra.size() && extra[i].rfind("--", 0) == 0) {
      *(it + 1) = extra[++i];
    } else {
      args.push_back(extra[i]);
    }
  }
  return args;
}

std::vector<std::string> BackfillRunner::Dates(const std::string& from, int count) {
  const int y = std::stoi(from.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(from.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(from.substr(8, 2)));
  std::chrono::sys_days day =
      std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i, day += std::chrono::days(1)) {
    std::chrono::year_month_day ymd{day};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    out.push_back(buf);
  }
  return out;
}

std::pair<int, int> BackfillRunner::ExpectAllDaysMatch(const MockGsc& server,
                                                       const std::vector<std::string>& dates,
                                                       const std::string& data_state) const {
  LedgerReader reader(db_);
  auto stored = reader.Days(kSite, "web", kDims, data_state);
  int multi_page_days = 0, empty_days = 0;
  for (const std::string& date : dates) {
    MockGsc::ExpectedDay want = server.Expected(kSite, "web", date, kDims);
    if (want.rows > kRowLimit) ++multi_page_days;
    if (want.rows == 0) ++empty_days;
    auto it = stored.find(date);
    const int64_t got_rows = it == stored.end() ? 0 : it->second.rows;
    EXPECT_EQ(got_rows, want.rows) << "day " << date;
    if (want.rows > 0 && it != stored.end()) {
      EXPECT_EQ(it->second.checksum, want.checksum) << "day " << date;
    }
  }
  EXPECT_EQ(reader.DuplicateRows(), 0);
  return {multi_page_days, empty_days};
}

}  // namespace batchfetch::testing
