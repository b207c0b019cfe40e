#include "persistence/sqlite_schema.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/report.h"
#include "persistence/ledger_util.h"
#include "persistence/report_views.h"
#include "persistence/sqlite_migration.h"
#include "persistence/sqlite_statement.h"

namespace batchfetch {
namespace {

using Code = Status::Code;

// Version 3. Times are INTEGER unix milliseconds; dates are TEXT YYYY-MM-DD. Kept to SQL
// that PostgreSQL also reads, except WITHOUT ROWID.
//
// reports: what changes the API's answer; id = ReportSpec::Id() of the other fields.
// batches: pages; row_limit is the rows the page asked for (set when done).
// days: the days held = a complete fetch stored in search_analytics; row_count is the
//   rows stored for the day when it was swapped in.
// staged_rows: rows of pages of a day whose fetch is not complete yet; moved into
//   search_analytics in the transaction of the day's last page.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE reports(
  id               TEXT PRIMARY KEY,
  site             TEXT NOT NULL,
  search_type      TEXT NOT NULL,
  dimensions       TEXT NOT NULL,
  data_state       TEXT NOT NULL,
  aggregation_type TEXT NOT NULL,
  filters          TEXT NOT NULL,
  created_at       INTEGER NOT NULL
);
CREATE TABLE batches(
  report_id        TEXT NOT NULL REFERENCES reports(id),
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
  row_limit        INTEGER,
  truncated        INTEGER NOT NULL DEFAULT 0,
  provisional      INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  errors           TEXT,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (report_id, date, start_row)
);
CREATE INDEX batches_by_state ON batches(report_id, state, date, start_row);
CREATE TABLE days(
  report_id   TEXT NOT NULL REFERENCES reports(id),
  date        TEXT NOT NULL,
  row_count   INTEGER NOT NULL,
  truncated   INTEGER NOT NULL DEFAULT 0,
  provisional INTEGER NOT NULL DEFAULT 0,
  fetched_at  INTEGER NOT NULL,
  PRIMARY KEY (report_id, date)
) WITHOUT ROWID;
CREATE TABLE search_analytics(
  report_id         TEXT NOT NULL,
  site              TEXT NOT NULL,
  search_type       TEXT NOT NULL,
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
  PRIMARY KEY (report_id, date, hour, query, page, country, device, search_appearance)
) WITHOUT ROWID;
CREATE TABLE staged_rows(
  report_id         TEXT NOT NULL,
  site              TEXT NOT NULL,
  search_type       TEXT NOT NULL,
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
  PRIMARY KEY (report_id, date, hour, query, page, country, device, search_appearance)
) WITHOUT ROWID;
)sql";

// Version 1 -> 2: a page's rows are provisional (fresh data, re-fetched by a later run).
constexpr const char* kSchemaV1ToV2 =
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
  if (status.code() == Code::kCorrupt) {
    return Status::Error(Code::kCorrupt,
                         "not a usable SQLite database: " + path + " (" + status.message() + ")");
  }
  return Status::Error(status.code(), "cannot read " + path + ": " + status.message());
}

Status Foreign(const std::string& path) {
  return Status::Error(Code::kForeign,
                       "not a batchfetch database: " + path + " (another program's file?)");
}

Status Newer(int64_t version) {
  return Status::Error(Code::kForeign, "database schema " + std::to_string(version) +
                                           " is newer than this batchfetch (" +
                                           std::to_string(kSqliteSchemaVersion) +
                                           "); upgrade batchfetch");
}

Status NoLedger(const std::string& path) {
  return Status::Error(Code::kNotFound, "no batchfetch ledger at " + path);
}

// Ok when the file is ours at a version we understand, or empty (*empty = true).
Status CheckHeader(const Header& header, const std::string& path, bool* empty) {
  *empty = header.application_id == 0 && header.objects == 0;
  if (*empty) return Status::Ok();
  if (header.application_id != kSqliteApplicationId) return Foreign(path);
  if (header.user_version > kSqliteSchemaVersion) return Newer(header.user_version);
  return Status::Ok();
}

int64_t BigEndian32(const unsigned char* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

// Looks at path before SQLite touches it (opening a WAL file, even read-only, may create
// -shm and -wal files): refuses a non-regular file, a missing one unless create, and a
// file whose header already says it is not ours or too new. *empty_file for a 0-byte
// file. The header on disk may lag the WAL; the checks after opening are authoritative.
Status Precheck(const std::string& path, OpenMode mode, bool* empty_file) {
  *empty_file = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT && mode != OpenMode::kCreate) return NoLedger(path);
    if (err == ENOENT) return Status::Ok();
    return Status::Error(Code::kIoError, "cannot open ledger " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kIoError, "cannot use " + path + " as a ledger: not a regular file");
  }
  if (st.st_size == 0) {
    *empty_file = true;
    return mode == OpenMode::kCreate ? Status::Ok() : NoLedger(path);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Status::Error(Code::kIoError, "cannot open ledger " + path + ": " + std::strerror(err));
  }
  std::array<unsigned char, 100> header{};
  const ssize_t n = ::read(fd, header.data(), header.size());
  ::close(fd);
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  if (n < static_cast<ssize_t>(header.size()) || std::memcmp(header.data(), kMagic, 16) != 0) {
    return Status::Error(Code::kCorrupt,
                         "not a usable SQLite database: " + path + " (file is not a database)");
  }
  const int64_t user_version = BigEndian32(&header[60]);
  const int64_t application_id = BigEndian32(&header[68]);
  if (application_id != 0 && application_id != kSqliteApplicationId) return Foreign(path);
  if (application_id == kSqliteApplicationId && user_version > kSqliteSchemaVersion) {
    return Newer(user_version);
  }
  return Status::Ok();
}

// Creates the schema in an empty file or migrates an older one, in one transaction, so
// two processes opening a new file at once cannot both create it.
Status CreateOrMigrate(sqlite3* db, const std::string& path, OpenMode mode) {
  Status status = SqliteExec(db, "BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  Header header;
  bool empty = false;
  status = ReadHeader(db, path, &header);
  if (status.ok()) status = CheckHeader(header, path, &empty);
  if (status.ok() && empty && mode != OpenMode::kCreate) status = NoLedger(path);
  if (status.ok() && header.user_version < kSqliteSchemaVersion) {
    const bool create = empty || header.user_version == 0;
    if (create) {
      status = CreateSqliteSchema(db);
    } else {
      if (header.user_version < 2) status = SqliteExec(db, kSchemaV1ToV2);
      if (status.ok()) status = MigrateSqliteV2ToV3(db);
    }
    // The analysts' views: search_analytics_v and one per report already migrated.
    if (status.ok()) status = CreateSqliteViews(db);
    if (status.ok()) {
      status =
          SqliteExec(db, "PRAGMA application_id = " + std::to_string(kSqliteApplicationId) +
                             "; PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion));
    }
  }
  if (status.ok()) return SqliteExec(db, "COMMIT");
  if (!sqlite3_get_autocommit(db)) {
    // The transaction's own error is the one to report; a failed rollback adds nothing.
    (void)SqliteExec(db, "ROLLBACK");
  }
  if (status.code() != Code::kForeign && status.code() != Code::kNotFound &&
      header.user_version != 0 && header.user_version < kSqliteSchemaVersion) {
    return Status::Error(status.code(), "cannot upgrade ledger " + path + " from schema " +
                                            std::to_string(header.user_version) + ": " +
                                            status.message());
  }
  return status;
}

Status Configure(sqlite3* db, const std::string& path, OpenMode mode,
                 const SqliteBusyPolicy& busy) {
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
  if (empty && mode != OpenMode::kCreate) return NoLedger(path);
  if (mode == OpenMode::kReadOnly) {
    if (header.user_version < kSqliteSchemaVersion) {
      return Status::Error(Code::kInvalid,
                           "ledger " + path + " has schema " + std::to_string(header.user_version) +
                               " (this batchfetch uses " + std::to_string(kSqliteSchemaVersion) +
                               "): run batchfetch backfill once to upgrade it");
    }
    return SqliteExec(db, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;");
  }

  // Rows carry long keys (report, query, page): 16 KiB pages make a shallower key
  // B-tree, ~15% more rows per CPU-second than 4 KiB (bench/persistence_throughput).
  // Only a new file can take it.
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
  return RetryWhileBusy(busy, [&] { return CreateOrMigrate(db, path, mode); });
}

}  // namespace

Status CreateSqliteSchema(sqlite3* db) { return SqliteExec(db, kSchemaV3); }

Status CreateSqliteReportViews(sqlite3* db, std::span<const Report* const> reports) {
  Status status = SqliteExec(db, GeneralViewSql(SqlDialect::kSqlite));
  std::string sql;
  for (std::size_t i = 0; status.ok() && i < reports.size(); ++i) {
    status = ReportViewSql(*reports[i], SqlDialect::kSqlite, &sql);
    if (status.ok()) status = SqliteExec(db, sql);
  }
  return status;
}

Status CreateSqliteViews(sqlite3* db) {
  std::vector<Report> reports;
  SqliteStatement select;
  Status status = select.Prepare(db, "SELECT id, dimensions FROM reports");
  if (status.ok()) {
    status = select.ForEachRow([&](const SqliteStatement& r) {
      Report& report = reports.emplace_back();
      report.id = r.ColumnText(0);
      report.spec.dimensions = ledger_util::SplitCsv(r.ColumnText(1));
    });
  }
  std::vector<const Report*> all;
  all.reserve(reports.size());
  for (const Report& report : reports) all.push_back(&report);
  if (status.ok()) status = CreateSqliteReportViews(db, all);
  return status;
}

Status OpenSqliteLedgerDatabase(const std::string& path, OpenMode mode,
                                const SqliteBusyPolicy& busy, sqlite3** out) {
  *out = nullptr;
  if (path.empty()) return Status::Error(Code::kInvalid, "empty ledger path");
  bool empty_file = false;
  if (Status status = Precheck(path, mode, &empty_file); !status.ok()) return status;
  if (mode == OpenMode::kCreate) {
    // Create the file ourselves so its mode is 0600 whatever the umask; SQLite gives the
    // -wal and -shm files the database file's permissions.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int err = errno;
      return Status::Error(Code::kIoError,
                           "cannot open ledger " + path + ": " + std::strerror(err));
    }
    ::close(fd);
  }

  sqlite3* db = nullptr;
  const int flags = (mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Status status = SqliteStatus(rc, db, "cannot open ledger " + path);
  if (status.ok()) status = Configure(db, path, mode, busy);
  if (!status.ok()) {
    // Closing a connection with no statements left cannot fail in a way we could act on.
    (void)sqlite3_close(db);
    return status;
  }
  *out = db;
  return Status::Ok();
}

}  // namespace batchfetch
