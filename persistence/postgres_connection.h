#ifndef BATCHFETCH_PERSISTENCE_POSTGRES_CONNECTION_H_
#define BATCHFETCH_PERSISTENCE_POSTGRES_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "persistence/status.h"

struct pg_conn;
struct pg_result;

namespace batchfetch {

// One result of a libpq call, cleared on destruction. Values are read as text.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* res) : res_(res) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  // "" for NULL.
  std::string Text(int row, int column) const;
  // 0 for NULL or text that is not a number.
  int64_t Int64(int row, int column) const;
  bool IsNull(int row, int column) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  pg_result* res_ = nullptr;
};

// Text parameters of one statement; nullopt-free: NULL is written with Null().
class PgParams {
 public:
  PgParams& Add(std::string value) {
    values_.push_back(std::move(value));
    nulls_.push_back(false);
    return *this;
  }
  PgParams& Add(int64_t value) { return Add(std::to_string(value)); }
  PgParams& Null() {
    values_.emplace_back();
    nulls_.push_back(true);
    return *this;
  }
  int size() const { return static_cast<int>(values_.size()); }
  const std::vector<std::string>& values() const { return values_; }
  // Pointers for libpq, valid while this object lives unchanged.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

// One libpq connection with its prepared statements. Every result is checked and turned
// into a Status; errors are one line and never carry the connection's password.
// A broken connection is re-opened (and its statements prepared again) on the next call.
//
// Thread rule: one thread at a time.
class PgConnection {
 public:
  // Connects to uri (postgresql:// or postgres://). Errors: kIoError naming the target
  // with its password masked.
  static Status Connect(const std::string& uri, std::unique_ptr<PgConnection>* out);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs sql now and after every reconnect, before the statements are prepared (e.g. a
  // temporary table they use).
  Status Setup(const std::string& sql);
  // Prepares sql under name now and after every reconnect.
  Status Prepare(const std::string& name, const std::string& sql);
  // Runs the prepared statement name with params; *out (nullable) gets the result.
  Status Run(const std::string& name, const PgParams& params, PgResult* out = nullptr);
  // Runs sql, not prepared, with params (one statement; for rare statements).
  Status RunOnce(const std::string& sql, const PgParams& params, PgResult* out = nullptr);
  // Runs sql (no parameters; several statements allowed when out is null).
  Status Exec(const std::string& sql, PgResult* out = nullptr);
  // Sends text-format COPY data: sql is "COPY ... FROM STDIN", data its rows.
  Status CopyIn(const std::string& sql, std::string_view data);

  // Runs body between BEGIN and COMMIT, rolling back on error. A serialization failure
  // or deadlock (kBusy) re-runs the whole transaction a bounded number of times, so body
  // must start from scratch each call.
  Status Transaction(const std::function<Status()>& body);

  // The URI with its password replaced by "***", for messages.
  const std::string& redacted() const { return redacted_; }

 private:
  PgConnection(std::string uri, std::string password, std::string redacted)
      : uri_(std::move(uri)), password_(std::move(password)), redacted_(std::move(redacted)) {}
  Status Open();
  Status EnsureOpen();
  // Maps a result (or the connection's error when res is null) to a Status.
  Status Check(pg_result* res, int expected_status, std::string_view what);
  // Ok for a command or rows (moved into *out, nullable), else Check's error.
  Status Take(pg_result* res, std::string_view what, PgResult* out);
  // One line, with the password masked.
  std::string Clean(std::string message) const;

  const std::string uri_;
  const std::string password_;
  const std::string redacted_;
  pg_conn* conn_ = nullptr;
  bool in_transaction_ = false;     // a lost connection inside one is an error, not a reconnect
  std::vector<std::string> setup_;  // run on every connect
  std::vector<std::pair<std::string, std::string>> prepared_;  // name, sql
};

// Masks the password of a postgresql:// URI (user:secret@ -> user:***@, and a
// password=... query parameter).
std::string RedactPostgresUri(const std::string& uri);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_POSTGRES_CONNECTION_H_
