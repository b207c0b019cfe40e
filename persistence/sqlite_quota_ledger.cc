#include "persistence/sqlite_quota_ledger.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <utility>

namespace batchfetch {
namespace {

using Code = Status::Code;

// PRAGMA application_id of a quota file: 'bfqt'.
constexpr int32_t kQuotaApplicationId = 0x62667174;

// quota_log and quota_asks hold CLOCK_BOOTTIME milliseconds of the boot named in
// quota_meta. (The wall-clock quota_grants table of older releases is left alone, so a
// process of an older release never mixes its times with these.)
constexpr const char* kQuotaSchema =
    "CREATE TABLE IF NOT EXISTS quota_meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS quota_log(quota_key TEXT NOT NULL,"
    " granted_at INTEGER NOT NULL, n INTEGER NOT NULL);"
    // Covering: a decision sums n over a key's window from the index alone, without a
    // table lookup per grant (the project and principal keys hold every grant of the
    // window). It replaces quota_log_by_key of earlier releases.
    "CREATE INDEX IF NOT EXISTS quota_log_by_key_n ON quota_log(quota_key, granted_at, n);"
    "DROP INDEX IF EXISTS quota_log_by_key;"
    "CREATE TABLE IF NOT EXISTS quota_asks(quota_key TEXT NOT NULL, owner TEXT NOT NULL,"
    " budget INTEGER NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (quota_key, owner))"
    " WITHOUT ROWID;";

int64_t BootMillis() {
  timespec ts{};
  // CLOCK_BOOTTIME cannot fail on Linux with a valid pointer.
  (void)clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string NewOwner() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%d-%08x%08x", static_cast<int>(::getpid()), rd(), rd());
  return buf;
}

}  // namespace

std::string SqliteQuotaLedger::CurrentBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

Status SqliteQuotaLedger::Open(const std::string& path, std::unique_ptr<QuotaLedger>* out) {
  return Open(path, CurrentBootId(), out);
}

Status SqliteQuotaLedger::Open(const std::string& path, const std::string& boot_id,
                               std::unique_ptr<QuotaLedger>* out) {
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
  std::unique_ptr<SqliteQuotaLedger> ledger(new SqliteQuotaLedger(db, NewOwner()));
  if (status.ok()) status = ledger->Init(path, boot_id);
  if (status.ok()) status = ledger->Prepare();
  if (!status.ok()) return status;
  *out = std::move(ledger);
  return Status::Ok();
}

Status SqliteQuotaLedger::Init(const std::string& path, const std::string& boot_id) {
  Status status =
      SqliteStatus(sqlite3_busy_timeout(db_, static_cast<int>(busy_.busy_timeout.count())), db_,
                   "configure " + path);
  if (status.ok()) {
    status = RetryWhileBusy(busy_, [&] {
      return SqliteExec(db_, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    });
  }
  if (!status.ok()) return status;
  return RetryWhileBusy(busy_, [&]() -> Status {
    Status s = SqliteExec(db_, "BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    SqliteStatement id;
    s = id.Prepare(db_, "PRAGMA application_id");
    bool row = false;
    if (s.ok()) s = id.Step(&row);
    const int64_t app = row ? id.ColumnInt64(0) : 0;
    id.Reset();
    if (s.ok() && app != 0 && app != kQuotaApplicationId) {
      s = Status::Error(Code::kForeign, "not a batchfetch quota file: " + path);
    }
    if (s.ok()) s = SqliteExec(db_, kQuotaSchema);
    if (s.ok() && app == 0) {
      s = SqliteExec(db_, "PRAGMA application_id = " + std::to_string(kQuotaApplicationId));
    }
    // Times of another boot mean nothing now: start the log afresh.
    SqliteStatement boot;
    std::string stored;
    bool found = false;
    if (s.ok()) s = boot.Prepare(db_, "SELECT value FROM quota_meta WHERE name = 'boot_id'");
    if (s.ok()) s = boot.Step(&found);
    if (s.ok() && found) stored = boot.ColumnText(0);
    boot.Reset();
    if (s.ok() && (!found || stored != boot_id)) {
      s = SqliteExec(db_, "DELETE FROM quota_log; DELETE FROM quota_asks");
      SqliteStatement set;
      if (s.ok()) {
        s = set.Prepare(db_,
                        "INSERT OR REPLACE INTO quota_meta(name, value) VALUES ('boot_id', ?1)");
      }
      if (s.ok()) {
        set.BindText(1, boot_id);
        s = set.Run();
      }
    }
    if (s.ok()) return SqliteExec(db_, "COMMIT");
    if (!sqlite3_get_autocommit(db_)) (void)SqliteExec(db_, "ROLLBACK");
    return s;
  });
}

SqliteQuotaLedger::~SqliteQuotaLedger() {
  for (SqliteStatement* s : {&begin_, &commit_, &rollback_, &ask_, &ask_prune_, &ask_min_, &prune_,
                             &count_, &insert_, &blocker_}) {
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
      {&ask_,
       "INSERT INTO quota_asks(quota_key, owner, budget, seen_at) VALUES (?1, ?2, ?3, ?4)"
       " ON CONFLICT(quota_key, owner) DO UPDATE SET budget = excluded.budget,"
       " seen_at = max(seen_at, excluded.seen_at)"},
      {&ask_prune_, "DELETE FROM quota_asks WHERE quota_key = ?1 AND seen_at <= ?2"},
      {&ask_min_, "SELECT min(budget) FROM quota_asks WHERE quota_key = ?1"},
      {&prune_, "DELETE FROM quota_log WHERE quota_key = ?1 AND granted_at <= ?2"},
      {&count_,
       "SELECT coalesce(sum(n), 0) FROM quota_log WHERE quota_key = ?1 AND granted_at > ?2"},
      {&insert_, "INSERT INTO quota_log(quota_key, granted_at, n) VALUES (?1, ?2, ?3)"},
      // The most recent grant that must leave the window before want more fit.
      {&blocker_,
       "SELECT granted_at FROM (SELECT granted_at, sum(n) OVER (ORDER BY granted_at DESC"
       " ROWS UNBOUNDED PRECEDING) AS total FROM quota_log WHERE quota_key = ?1 AND"
       " granted_at > ?2) WHERE total > ?3 ORDER BY granted_at DESC LIMIT 1"},
  };
  for (const auto& [stmt, sql] : all) {
    Status status = stmt->Prepare(db_, sql);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SqliteQuotaLedger::RetryAt(const std::string& key, int64_t want, int64_t budget, int64_t now,
                                  int64_t window_ms, int64_t* retry_at) {
  *retry_at = now + window_ms;
  if (want > budget) return Status::Ok();  // never fits this budget: ask again a window later
  blocker_.BindText(1, key);
  blocker_.BindInt64(2, now - window_ms);
  blocker_.BindInt64(3, budget - want);
  return blocker_.ForEachRow(
      [&](const SqliteStatement& r) { *retry_at = r.ColumnInt64(0) + window_ms; });
}

Status SqliteQuotaLedger::ReadKey(const QuotaAsk& ask, int64_t now, int64_t window_ms,
                                  KeyWindow* out) {
  const int64_t ask_ttl = AskLifetime(std::chrono::milliseconds(window_ms)).count();
  ask_prune_.BindText(1, ask.key);
  ask_prune_.BindInt64(2, now - ask_ttl);
  Status status = ask_prune_.Run();
  if (!status.ok()) return status;
  ask_.BindText(1, ask.key);
  ask_.BindText(2, owner_);
  ask_.BindInt64(3, ask.budget);
  ask_.BindInt64(4, now);
  status = ask_.Run();
  if (!status.ok()) return status;
  bool row = false;
  ask_min_.BindText(1, ask.key);
  status = ask_min_.Step(&row);
  if (!status.ok()) return status;
  out->budget = row && !ask_min_.ColumnIsNull(0) ? ask_min_.ColumnInt64(0) : ask.budget;
  ask_min_.Reset();

  prune_.BindText(1, ask.key);
  prune_.BindInt64(2, now - window_ms);
  status = prune_.Run();
  if (!status.ok()) return status;
  count_.BindText(1, ask.key);
  count_.BindInt64(2, now - window_ms);
  status = count_.Step(&row);
  if (!status.ok()) return status;
  out->used = row ? count_.ColumnInt64(0) : 0;
  count_.Reset();
  return Status::Ok();
}

Status SqliteQuotaLedger::Decide(std::span<const QuotaAsk> keys, int64_t n, int64_t now,
                                 int64_t window_ms, std::map<std::string, KeyWindow>* seen,
                                 QuotaDecision* out) {
  QuotaDecision d;
  d.granted = true;
  int64_t retry_at = now;
  std::vector<KeyWindow*> windows;
  for (const QuotaAsk& ask : keys) {
    auto [it, fresh] = seen->try_emplace(ask.key);
    if (fresh) {
      if (Status status = ReadKey(ask, now, window_ms, &it->second); !status.ok()) return status;
    }
    const KeyWindow& w = it->second;
    windows.push_back(&it->second);
    d.in_window.push_back(w.used);
    d.budget.push_back(w.budget);
    if (w.used + n > w.budget) {
      d.granted = false;
      int64_t key_retry = 0;
      Status status = RetryAt(ask.key, n, w.budget, now, window_ms, &key_retry);
      if (!status.ok()) return status;
      retry_at = std::max(retry_at, key_retry);
    }
  }
  if (d.granted) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      insert_.BindText(1, keys[i].key);
      insert_.BindInt64(2, now);
      insert_.BindInt64(3, n);
      Status status = insert_.Run();
      if (!status.ok()) return status;
      windows[i]->used += n;
      d.in_window[i] += n;
    }
  } else {
    d.retry_after = std::chrono::milliseconds(std::max<int64_t>(1, retry_at - now));
  }
  *out = std::move(d);
  return Status::Ok();
}

Status SqliteQuotaLedger::TryGrant(std::span<const QuotaAsk> keys, int64_t n,
                                   std::chrono::milliseconds window, QuotaDecision* out) {
  const QuotaRequest request{keys, n};
  std::vector<QuotaDecision> decisions;
  Status status = TryGrantAll(std::span(&request, 1), window, &decisions);
  if (status.ok()) *out = std::move(decisions.front());
  return status;
}

Status SqliteQuotaLedger::TryGrantAll(std::span<const QuotaRequest> requests,
                                      std::chrono::milliseconds window,
                                      std::vector<QuotaDecision>* out) {
  out->clear();
  if (Status status = CheckQuotaRequests(requests, window); !status.ok()) return status;
  return RetryWhileBusy(busy_, [&]() -> Status {
    std::vector<QuotaDecision> decisions(requests.size());
    Status s = begin_.Run();
    if (!s.ok()) return s;
    // The clock is read under the write lock, so grant times never go backwards across
    // the processes that share the file.
    const int64_t now = BootMillis();
    std::map<std::string, KeyWindow> seen;
    for (std::size_t i = 0; s.ok() && i < requests.size(); ++i) {
      s = Decide(requests[i].keys, requests[i].n, now, window.count(), &seen, &decisions[i]);
    }
    if (s.ok()) s = commit_.Run();
    if (!s.ok() && !sqlite3_get_autocommit(db_)) (void)rollback_.Run();
    if (s.ok()) *out = std::move(decisions);
    return s;
  });
}

}  // namespace batchfetch
