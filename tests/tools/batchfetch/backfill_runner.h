#ifndef TESTS_TOOLS_BATCHFETCH_BACKFILL_RUNNER_H_
#define TESTS_TOOLS_BATCHFETCH_BACKFILL_RUNNER_H_

#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"

namespace batchfetch::testing {

// Builds `batchfetch backfill` command lines against a MockGsc for one ledger file and
// checks the stored rows against /__expected. The site is sc-domain:example.com, the
// dimensions date,query,page, the row limit 500 and the quota time-scaled (window 6 s).
class BackfillRunner {
 public:
  static constexpr const char* kSite = "sc-domain:example.com";
  static constexpr const char* kDims = "date,query,page";
  static constexpr int kRowLimit = 500;

  explicit BackfillRunner(std::string db);

  const std::string& db() const { return db_; }
  // $BATCHFETCH_BIN; throws if unset.
  std::string bin() const;

  // argv for a backfill of from..to with concurrency workers; extra flags override the
  // defaults above or are appended.
  std::vector<std::string> Args(const MockGsc& server, const std::string& from,
                                const std::string& to, int concurrency,
                                const std::vector<std::string>& extra = {}) const;

  // count consecutive days starting at from (YYYY-MM-DD).
  static std::vector<std::string> Dates(const std::string& from, int count);

  // gtest-asserts that every day's stored rows and checksum equal /__expected and that
  // no natural key is stored twice. Returns {days with 2+ pages, empty days}.
  // data_state names the report the run stored (--data-state).
  std::pair<int, int> ExpectAllDaysMatch(const MockGsc& server,
                                         const std::vector<std::string>& dates,
                                         const std::string& data_state = "final") const;

 private:
  std::string db_;
};

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_BACKFILL_RUNNER_H_
