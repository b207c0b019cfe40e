#include "persistence/sqlite_schema.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "persistence/sqlite_statement.h"

namespace batchfetch {
namespace {

// Version 1. Times are INTEGER unix milliseconds; dates are TEXT YYYY-MM-DD. Kept to SQL
// that PostgreSQL also reads, except WITHOUT ROWID.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE jobs(
  id          TEXT PRIMARY KEY,
  site        TEXT NOT NULL,
  search_type TEXT NOT NULL,
  dimensions  TEXT NOT NULL,
  data_state  TEXT NOT NULL,
  start_date  TEXT NOT NULL,
  end_date    TEXT NOT NULL,
  row_limit   INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE TABLE batches(
  job_id           TEXT NOT NULL REFERENCES jobs(id),
  date             TEXT NOT NULL,
  start_row        INTEGER NOT NULL,
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'leased', 'done', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  row_count        INTEGER,
  truncated        INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  errors           TEXT,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (job_id, date, start_row)
);
CREATE INDEX batches_by_state ON batches(job_id, state, date, start_row);
CREATE TABLE search_analytics(
  site              TEXT NOT NULL,
  search_type       TEXT NOT NULL,
  dimensions        TEXT NOT NULL,
  date              TEXT NOT NULL,
  hour              TEXT NOT NULL,
  query             TEXT NOT NULL,
  page              TEXT NOT NULL,
  country           TEXT NOT NULL,
  device            TEXT NOT NULL,
  search_appearance TEXT NOT NULL,
  clicks            INTEGER NOT NULL,
  impressions       INTEGER NOT NULL,
  ctr               REAL NOT NULL,
  position          REAL NOT NULL,
  fetched_at        INTEGER NOT NULL,
  PRIMARY KEY (site, search_type, dimensions, date, hour, query, page, country, device,
               search_appearance)
) WITHOUT ROWID;
)sql";

// Version 2: a page's rows are provisional (fresh data, re-fetched by a later run).
constexpr const char* kSchemaV2 =
    "ALTER TABLE batches ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0";

struct Header {
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t objects = 0;  // rows of sqlite_schema: tables, indexes, views, triggers
};

Status QueryInt(sqlite3* db, const char* sql, int64_t* out) {
  SqliteStatement stmt;
  Status status = stmt.Prepare(db, sql);
  if (!status.ok()) return status;
  bool row = false;
  status = stmt.Step(&row);
  if (!status.ok()) return status;
  *out = row ? stmt.ColumnInt64(0) : 0;
  stmt.Reset();
  return Status::Ok();
}

Status ReadHeader(sqlite3* db, const std::string& path, Header* out) {
  Status status = QueryInt(db, "PRAGMA application_id", &out->application_id);
  if (status.ok()) status = QueryInt(db, "PRAGMA user_version", &out->user_version);
  if (status.ok()) status = QueryInt(db, "SELECT count(*) FROM sqlite_master", &out->objects);
  if (status.ok()) return status;
  if (status.code() == Status::Code::kCorrupt) {
    return Status::Error(Status::Code::kCorrupt,
                         "not a usable SQLite database: " + path + " (" + status.message() + ")");
  }
  return Status::Error(status.code(), "cannot read " + path + ": " + status.message());
}

// Ok when the file is ours at a version we understand, or empty (*empty = true).
Status CheckHeader(const Header& header, const std::string& path, bool* empty) {
  *empty = header.application_id == 0 && header.objects == 0;
  if (*empty) return Status::Ok();
  if (header.application_id != kSqliteApplicationId) {
    return Status::Error(Status::Code::kForeign,
                         "not a batchfetch database: " + path + " (another program's file?)");
  }
  if (header.user_version > kSqliteSchemaVersion) {
    return Status::Error(Status::Code::kForeign,
                         "database schema " + std::to_string(header.user_version) +
                             " is newer than this batchfetch (" +
                             std::to_string(kSqliteSchemaVersion) + "); upgrade batchfetch");
  }
  return Status::Ok();
}

// Creates the schema in an empty file or migrates an older one, in one transaction, so
// two processes opening a new file at once cannot both create it.
Status CreateOrMigrate(sqlite3* db, const std::string& path) {
  Status status = SqliteExec(db, "BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  Header header;
  bool empty = false;
  status = ReadHeader(db, path, &header);
  if (status.ok()) status = CheckHeader(header, path, &empty);
  // Each schema step runs when the file is older than it, keyed on user_version.
  const bool create =
      empty || (header.application_id == kSqliteApplicationId && header.user_version == 0);
  if (status.ok() && create) status = SqliteExec(db, kSchemaV1);
  if (status.ok() && (create || header.user_version < 2)) status = SqliteExec(db, kSchemaV2);
  if (status.ok() && (create || header.user_version < kSqliteSchemaVersion)) {
    status = SqliteExec(db, "PRAGMA application_id = " + std::to_string(kSqliteApplicationId) +
                                "; PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion));
  }
  if (status.ok()) return SqliteExec(db, "COMMIT");
  if (!sqlite3_get_autocommit(db)) {
    // The transaction's own error is the one to report; a failed rollback adds nothing.
    (void)SqliteExec(db, "ROLLBACK");
  }
  return status;
}

Status Configure(sqlite3* db, const std::string& path, const SqliteBusyPolicy& busy) {
  int rc = sqlite3_extended_result_codes(db, 1);
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(db, static_cast<int>(busy.busy_timeout.count()));
  Status status = SqliteStatus(rc, db, "configure " + path);
  if (!status.ok()) return status;

  // Reject a foreign or damaged file before changing anything in it (even its journal).
  Header header;
  bool empty = false;
  // One read transaction for the three reads: in autocommit each would see its own
  // snapshot, and a process creating the schema in between would make a new file look
  // foreign (tables present, application_id not yet).
  status = RetryWhileBusy(busy, [&] {
    Status s = SqliteExec(db, "BEGIN");
    if (!s.ok()) return s;
    s = ReadHeader(db, path, &header);
    const Status end = SqliteExec(db, s.ok() ? "COMMIT" : "ROLLBACK");
    return s.ok() ? end : s;
  });
  if (status.ok()) status = CheckHeader(header, path, &empty);
  if (!status.ok()) return status;

  // Rows carry long keys (site, type, dimensions, query, page): 16 KiB pages make a
  // shallower key B-tree, ~15% more rows per CPU-second than 4 KiB
  // (bench/persistence_throughput). Only a new file can take it.
  if (empty) {
    status = SqliteExec(db, "PRAGMA page_size = 16384");
    if (!status.ok()) return status;
  }
  // 32 MiB of page cache per connection keeps the key B-tree's hot pages in memory.
  status = SqliteExec(db,
                      "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                      " PRAGMA cache_size = -32768;"
                      // SQLite checkpoints the WAL every 1000 pages; this also shrinks the
                      // file back after a checkpoint, so it never stays large.
                      " PRAGMA journal_size_limit = 67108864;");
  // Two connections opening a new file at once both change its journal mode: SQLite
  // does not call the busy handler for that, so retry.
  if (status.ok()) {
    status = RetryWhileBusy(busy, [&] { return SqliteExec(db, "PRAGMA journal_mode = WAL"); });
  }
  if (!status.ok()) return status;
  if (!empty && header.user_version == kSqliteSchemaVersion) return Status::Ok();
  return RetryWhileBusy(busy, [&] { return CreateOrMigrate(db, path); });
}

}  // namespace

Status OpenSqliteLedgerDatabase(const std::string& path, const SqliteBusyPolicy& busy,
                                sqlite3** out) {
  *out = nullptr;
  if (path.empty()) return Status::Error(Status::Code::kInvalid, "empty ledger path");
  // Create the file ourselves so its mode is 0600 whatever the umask; SQLite gives the
  // -wal and -shm files the database file's permissions.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return Status::Error(Status::Code::kIoError,
                         "cannot open ledger " + path + ": " + std::strerror(err));
  }
  ::close(fd);

  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Status status = SqliteStatus(rc, db, "cannot open ledger " + path);
  if (status.ok()) status = Configure(db, path, busy);
  if (!status.ok()) {
    // Closing a connection with no statements left cannot fail in a way we could act on.
    (void)sqlite3_close(db);
    return status;
  }
  *out = db;
  return Status::Ok();
}

}  // namespace batchfetch
