#ifndef TESTS_TOOLS_BATCHFETCH_MULTIPROCESS_FLEET_H_
#define TESTS_TOOLS_BATCHFETCH_MULTIPROCESS_FLEET_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"

namespace batchfetch::testing {

// N `batchfetch backfill` processes started together on one ledger, each with its own
// --worker-id (p0, p1, ...) and its own stdout/stderr files in dir.
class Fleet {
 public:
  // args: one command line (BackfillRunner::Args); "--worker-id pI" is appended.
  Fleet(const std::vector<std::string>& args, int processes, const std::string& dir);

  Subprocess& process(int i) { return *processes_[static_cast<std::size_t>(i)]; }
  int size() const { return static_cast<int>(processes_.size()); }

  // Waits for every process (up to timeout in all); their exit codes, -1 for one still
  // running (then killed).
  std::vector<int> WaitAll(std::chrono::milliseconds timeout);
  // "N pages" from process i's summary line; -1 when there is none.
  int64_t PagesOf(int i) const;
  // Process i's stdout and stderr, for failure messages.
  std::string OutputOf(int i) const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<Subprocess>> processes_;
};

// Rows stored per date in a PostgreSQL ledger with their /__expected checksum, read
// with plain SQL (independent of the engine's persistence code).
struct PgDay {
  int64_t rows = 0;
  std::string checksum;
};
std::map<std::string, PgDay> PgDays(const std::string& uri, const std::string& site,
                                    const std::string& type, const std::string& dimensions);

// gtest-asserts that every date's rows and checksum in the PostgreSQL ledger equal
// /__expected and that no natural key is stored twice.
void ExpectPgDaysMatch(const std::string& uri, const MockGsc& server,
                       const std::vector<std::string>& dates);

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_MULTIPROCESS_FLEET_H_
