#include "persistence/sqlite_quota_ledger.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "persistence/ledger_util.h"

namespace batchfetch {
namespace {

using Code = Status::Code;

// PRAGMA application_id of a quota file: 'bfqt'.
constexpr int32_t kQuotaApplicationId = 0x62667174;

constexpr const char* kQuotaSchema =
    "CREATE TABLE IF NOT EXISTS quota_grants(quota_key TEXT NOT NULL,"
    " granted_at INTEGER NOT NULL, n INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS quota_grants_by_key ON quota_grants(quota_key, granted_at);";

}  // namespace

Status SqliteQuotaLedger::Open(const std::string& path, std::unique_ptr<QuotaLedger>* out) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return Status::Error(Code::kIoError,
                         "cannot open quota file " + path + ": " + std::strerror(err));
  }
  ::close(fd);
  sqlite3* db = nullptr;
  Status status = SqliteStatus(
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), db,
      "cannot open quota file " + path);
  std::unique_ptr<SqliteQuotaLedger> ledger(new SqliteQuotaLedger(db));
  if (status.ok()) {
    status =
        SqliteStatus(sqlite3_busy_timeout(db, static_cast<int>(ledger->busy_.busy_timeout.count())),
                     db, "configure " + path);
  }
  if (status.ok()) {
    status = RetryWhileBusy(ledger->busy_, [&] {
      return SqliteExec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    });
  }
  if (status.ok()) {
    status = RetryWhileBusy(ledger->busy_, [&]() -> Status {
      Status s = SqliteExec(db, "BEGIN IMMEDIATE");
      if (!s.ok()) return s;
      SqliteStatement id;
      s = id.Prepare(db, "PRAGMA application_id");
      bool row = false;
      if (s.ok()) s = id.Step(&row);
      const int64_t app = row ? id.ColumnInt64(0) : 0;
      id.Reset();
      if (s.ok() && app != 0 && app != kQuotaApplicationId) {
        s = Status::Error(Code::kForeign, "not a batchfetch quota file: " + path);
      }
      if (s.ok()) s = SqliteExec(db, kQuotaSchema);
      if (s.ok() && app == 0) {
        s = SqliteExec(db, "PRAGMA application_id = " + std::to_string(kQuotaApplicationId));
      }
      if (s.ok()) return SqliteExec(db, "COMMIT");
      if (!sqlite3_get_autocommit(db)) (void)SqliteExec(db, "ROLLBACK");
      return s;
    });
  }
  if (status.ok()) status = ledger->Prepare();
  if (!status.ok()) return status;
  *out = std::move(ledger);
  return Status::Ok();
}

SqliteQuotaLedger::~SqliteQuotaLedger() {
  for (SqliteStatement* s :
       {&begin_, &commit_, &rollback_, &prune_, &count_, &insert_, &blocker_}) {
    *s = SqliteStatement();
  }
  // Every statement is finalized; a close error leaves nothing to do.
  (void)sqlite3_close(db_);
}

Status SqliteQuotaLedger::Prepare() {
  const std::pair<SqliteStatement*, const char*> all[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&prune_, "DELETE FROM quota_grants WHERE quota_key = ?1 AND granted_at <= ?2"},
      {&count_,
       "SELECT coalesce(sum(n), 0) FROM quota_grants WHERE quota_key = ?1 AND granted_at > ?2"},
      {&insert_, "INSERT INTO quota_grants(quota_key, granted_at, n) VALUES (?1, ?2, ?3)"},
      // The most recent grant that must leave the window before want more fit.
      {&blocker_,
       "SELECT granted_at FROM (SELECT granted_at, sum(n) OVER (ORDER BY granted_at DESC"
       " ROWS UNBOUNDED PRECEDING) AS total FROM quota_grants WHERE quota_key = ?1 AND"
       " granted_at > ?2) WHERE total > ?3 ORDER BY granted_at DESC LIMIT 1"},
  };
  for (const auto& [stmt, sql] : all) {
    Status status = stmt->Prepare(db_, sql);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SqliteQuotaLedger::Decide(const std::string& key, int64_t n, int64_t budget,
                                 int64_t window_ms, QuotaDecision* out) {
  // The clock is read under the write lock, so grant times never go backwards across
  // the processes that share the file.
  const int64_t now = ledger_util::ToMillis(WallClock::now());
  prune_.BindText(1, key);
  prune_.BindInt64(2, now - window_ms);
  Status status = prune_.Run();
  if (!status.ok()) return status;
  count_.BindText(1, key);
  count_.BindInt64(2, now - window_ms);
  bool row = false;
  status = count_.Step(&row);
  if (!status.ok()) return status;
  const int64_t used = row ? count_.ColumnInt64(0) : 0;
  count_.Reset();
  if (used + n <= budget) {
    insert_.BindText(1, key);
    insert_.BindInt64(2, now);
    insert_.BindInt64(3, n);
    status = insert_.Run();
    if (!status.ok()) return status;
    *out = QuotaDecision{true, std::chrono::milliseconds(0), used + n};
    return Status::Ok();
  }
  blocker_.BindText(1, key);
  blocker_.BindInt64(2, now - window_ms);
  blocker_.BindInt64(3, budget - n);
  int64_t retry_at = now + window_ms;
  status = blocker_.ForEachRow(
      [&](const SqliteStatement& r) { retry_at = r.ColumnInt64(0) + window_ms; });
  if (!status.ok()) return status;
  *out =
      QuotaDecision{false, std::chrono::milliseconds(std::max<int64_t>(1, retry_at - now)), used};
  return Status::Ok();
}

Status SqliteQuotaLedger::TryGrant(const std::string& key, int64_t n, int64_t budget,
                                   std::chrono::milliseconds window, QuotaDecision* out) {
  if (n < 1 || n > budget || window.count() <= 0) {
    return Status::Error(Code::kInvalid, "a grant needs 1 <= n <= budget and a window > 0");
  }
  return RetryWhileBusy(busy_, [&]() -> Status {
    Status status = begin_.Run();
    if (!status.ok()) return status;
    status = Decide(key, n, budget, window.count(), out);
    if (status.ok()) status = commit_.Run();
    if (!status.ok() && !sqlite3_get_autocommit(db_)) (void)rollback_.Run();
    return status;
  });
}

}  // namespace batchfetch
