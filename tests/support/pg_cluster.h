#ifndef TESTS_SUPPORT_PG_CLUSTER_H_
#define TESTS_SUPPORT_PG_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace batchfetch::testing {

// A throw-away PostgreSQL 15 cluster for tests: initdb into a temporary directory, then
// `postgres` on a free 127.0.0.1 port (no Unix socket, fsync off, trust auth for the
// superuser "batchfetch"). Run as root, the server runs as "nobody" (PostgreSQL refuses
// root). It is stopped (immediate shutdown) and deleted on destruction, and dies with
// the test process. Binaries come from $PG_BINDIR or /usr/lib/postgresql/15/bin.
//
// Never skips: a constructor that cannot start the server throws std::runtime_error with
// the server log's tail, so the test fails loudly.
//
// Thread rule: NewDatabase and the query helpers may be called from any thread.
class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // One cluster per test process, started on first use, stopped at exit.
  static PgCluster& Shared();

  uint16_t port() const { return port_; }
  // postgresql://batchfetch@127.0.0.1:PORT/name
  std::string Uri(const std::string& name) const;
  // Creates an empty database with a fresh name and returns its URI.
  std::string NewDatabase();

 private:
  bool TryStart(uint16_t port, std::string* log_tail);

  TempDir dir_;
  std::string bindir_;
  std::vector<std::string> as_user_;  // argv prefix that drops root, or empty
  std::unique_ptr<Subprocess> server_;
  uint16_t port_ = 0;
};

// Runs sql on uri with libpq and returns every row as text ("" for NULL). Throws
// std::runtime_error on any error.
std::vector<std::vector<std::string>> PgQuery(const std::string& uri, const std::string& sql);
// The first column of the first row as an integer (0 when there is no row).
int64_t PgScalar(const std::string& uri, const std::string& sql);

}  // namespace batchfetch::testing

#endif  // TESTS_SUPPORT_PG_CLUSTER_H_
