#ifndef TESTS_TOOLS_BATCHFETCH_LEDGER_READER_H_
#define TESTS_TOOLS_BATCHFETCH_LEDGER_READER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct sqlite3;

namespace batchfetch::testing {

// Reads a batchfetch SQLite ledger with plain SQL, as a user would with sqlite3.
// Independent of the engine's persistence code. Throws std::runtime_error on errors.
class LedgerReader {
 public:
  explicit LedgerReader(const std::string& path);
  ~LedgerReader();
  LedgerReader(const LedgerReader&) = delete;
  LedgerReader& operator=(const LedgerReader&) = delete;

  struct Day {
    int64_t rows = 0;
    std::string checksum;  // as /__expected computes it
  };
  // Rows stored per date for the report of (site, type, dimensions, data_state) with
  // every other field at its default, with their checksum.
  std::map<std::string, Day> Days(const std::string& site, const std::string& type,
                                  const std::string& dimensions,
                                  const std::string& data_state = "final");
  // Rows whose key (report, date, dimensions) appears more than once (0 when the key is
  // enforced).
  int64_t DuplicateRows();
  int64_t TotalRows();
  // A single integer from sql.
  int64_t Scalar(const std::string& sql);

 private:
  ::sqlite3* db_ = nullptr;
};

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_LEDGER_READER_H_
