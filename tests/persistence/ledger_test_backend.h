#ifndef BATCHFETCH_TESTS_PERSISTENCE_LEDGER_TEST_BACKEND_H_
#define BATCHFETCH_TESTS_PERSISTENCE_LEDGER_TEST_BACKEND_H_

// What the ledger contract test needs of a database: a fresh target for OpenLedger, and a
// connection of its own to read and poke the tables as a user (or another program) would.
// Every backend (SQLite, PostgreSQL) implements it; ledger_contract_test.cc runs the same
// tests over each.

#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/persistence/temp_dir.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch {

class LedgerTestBackend {
 public:
  using Rows = std::vector<std::vector<std::string>>;

  virtual ~LedgerTestBackend() = default;
  // A target where no ledger exists yet (OpenLedger with kCreate makes one).
  virtual std::string NewTarget() = 0;
  // Runs sql on target through a connection of its own; every row as text, "" for NULL.
  // Throws std::runtime_error on an error (so a test fails loudly).
  virtual Rows Query(const std::string& target, const std::string& sql) = 0;
};

// A file in a temporary directory per target.
class SqliteTestBackend final : public LedgerTestBackend {
 public:
  std::string NewTarget() override {
    if (dir_.path().empty()) throw std::runtime_error("no temporary directory");
    return dir_.File("ledger" + std::to_string(++files_) + ".db");
  }
  Rows Query(const std::string& target, const std::string& sql) override {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(target.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      throw std::runtime_error("cannot open " + target);
    }
    sqlite3_busy_timeout(db, 5000);
    Rows rows;
    std::string error;
    const char* tail = sql.c_str();
    while (error.empty() && tail != nullptr && *tail != '\0') {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, tail, -1, &stmt, &tail) != SQLITE_OK) {
        error = sqlite3_errmsg(db);
        break;
      }
      if (stmt == nullptr) break;  // trailing whitespace
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        auto& row = rows.emplace_back();
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          const auto* text = sqlite3_column_text(stmt, i);
          row.push_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
        }
      }
      if (rc != SQLITE_DONE) error = sqlite3_errmsg(db);
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    if (!error.empty()) throw std::runtime_error(sql + ": " + error);
    return rows;
  }

 private:
  TempDir dir_;
  int files_ = 0;
};

// A fresh database per target in the test process's throw-away cluster.
class PostgresTestBackend final : public LedgerTestBackend {
 public:
  // The session option makes lease times follow the caller's `now` (PostgresLedger's
  // test seam; in production the server's clock decides), so fake times drive expiry.
  std::string NewTarget() override {
    return testing::PgCluster::Shared().NewDatabase() +
           "?options=-c%20batchfetch.lease_clock%3Dcaller";
  }
  Rows Query(const std::string& target, const std::string& sql) override {
    return testing::PgQuery(target, sql);
  }
};

inline std::unique_ptr<LedgerTestBackend> MakeLedgerTestBackend(const std::string& name) {
  if (name == "postgres") return std::make_unique<PostgresTestBackend>();
  return std::make_unique<SqliteTestBackend>();
}

}  // namespace batchfetch

#endif  // BATCHFETCH_TESTS_PERSISTENCE_LEDGER_TEST_BACKEND_H_
