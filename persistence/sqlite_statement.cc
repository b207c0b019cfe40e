#include "persistence/sqlite_statement.h"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <optional>
#include <random>
#include <thread>
#include <utility>

namespace batchfetch {

Status SqliteStatus(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string message(what);
  message += ": ";
  // The connection's message is only about rc when it reports the same code.
  message += db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)
                 ? sqlite3_errmsg(db)
                 : sqlite3_errstr(rc);
  const int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  using Code = Status::Code;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Error(Code::kBusy, std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Error(Code::kCorrupt, std::move(message));
    case SQLITE_FULL:
      return Status::Error(Code::kDiskFull, std::move(message));
    case SQLITE_IOERR:
      if (system_errno == ENOSPC) {
        return Status::Error(Code::kDiskFull, message + " (no space left on device)");
      }
      return Status::Error(Code::kIoError, std::move(message));
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return Status::Error(Code::kInvalid, std::move(message));
    default:
      return Status::Error(Code::kIoError, std::move(message));
  }
}

Status RetryWhileBusy(const SqliteBusyPolicy& policy, const std::function<Status()>& step) {
  const auto deadline = std::chrono::steady_clock::now() + policy.budget;
  std::optional<std::minstd_rand> jitter;  // seeded on the first busy retry only: the
                                           // common, uncontended path pays nothing
  for (int attempt = 1;; ++attempt) {
    Status status = step();
    if (status.code() != Status::Code::kBusy) return status;
    if (!jitter) jitter.emplace(std::random_device{}());
    if (attempt >= policy.max_tries || std::chrono::steady_clock::now() >= deadline) {
      return Status::Error(Status::Code::kBusy, status.message() + " (gave up after " +
                                                    std::to_string(attempt) + " tries)");
    }
    const auto pause = std::chrono::milliseconds(std::min(attempt, 20) + (*jitter)() % 5);
    std::this_thread::sleep_for(pause);
  }
}

Status SqliteExec(sqlite3* db, std::string_view sql) {
  const std::string text(sql);
  return SqliteStatus(sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr), db, text);
}

SqliteStatement::~SqliteStatement() { Finalize(); }

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_rc_(std::exchange(other.bind_rc_, SQLITE_OK)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    Finalize();
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_rc_ = std::exchange(other.bind_rc_, SQLITE_OK);
  }
  return *this;
}

void SqliteStatement::Finalize() {
  // sqlite3_finalize repeats the last step's error, already reported by Step.
  if (stmt_ != nullptr) (void)sqlite3_finalize(stmt_);
  stmt_ = nullptr;
}

Status SqliteStatement::Prepare(sqlite3* db, std::string_view sql) {
  Finalize();
  db_ = db;
  bind_rc_ = SQLITE_OK;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    stmt_ = nullptr;
    return SqliteStatus(rc, db, "prepare " + std::string(sql.substr(0, 60)));
  }
  return Status::Ok();
}

void SqliteStatement::BindText(int index, std::string_view value) {
  const int rc =
      sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void SqliteStatement::BindInt64(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void SqliteStatement::BindDouble(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void SqliteStatement::BindNumber(int index, double value) {
  // 2^53: beyond it a double no longer holds every integer exactly.
  constexpr double kExactIntegerLimit = 9007199254740992.0;
  if (std::fabs(value) <= kExactIntegerLimit && std::trunc(value) == value) {
    BindInt64(index, static_cast<int64_t>(value));
  } else {
    BindDouble(index, value);
  }
}

void SqliteStatement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Status SqliteStatement::Step(bool* row) {
  *row = false;
  if (bind_rc_ != SQLITE_OK) {
    const int rc = std::exchange(bind_rc_, SQLITE_OK);
    return SqliteStatus(rc, db_, std::string("bind ") + sqlite3_sql(stmt_));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    *row = true;
    return Status::Ok();
  }
  if (rc == SQLITE_DONE) return Status::Ok();
  Status status = SqliteStatus(rc, db_, sqlite3_sql(stmt_));
  Reset();
  return status;
}

Status SqliteStatement::Run() {
  bool row = true;
  while (row) {
    Status status = Step(&row);
    if (!status.ok()) return status;
  }
  Reset();
  return Status::Ok();
}

Status SqliteStatement::ForEachRow(const std::function<void(const SqliteStatement&)>& on_row) {
  while (true) {
    bool row = false;
    Status status = Step(&row);
    if (!status.ok()) return status;
    if (!row) break;
    on_row(*this);
  }
  Reset();
  return Status::Ok();
}

void SqliteStatement::Reset() {
  // sqlite3_reset repeats the last step's error, already reported by Step.
  (void)sqlite3_reset(stmt_);
}

int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double SqliteStatement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return std::string();
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace batchfetch
