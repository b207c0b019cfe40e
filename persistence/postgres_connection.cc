#include "persistence/postgres_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "persistence/ledger.h"

namespace batchfetch {
namespace {

using Code = Status::Code;

// Transactions that lose a deadlock or a serialization check are re-run this many times.
constexpr int kMaxTransactionTries = 8;

constexpr const char* kStatementTimeoutSql = "SET statement_timeout = '30s'";

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

// The status for an SQLSTATE (five characters, "" when unknown).
Code CodeForSqlState(std::string_view state) {
  if (state == "40001" || state == "40P01" || state == "55P03") return Code::kBusy;
  if (state == "53100") return Code::kDiskFull;
  if (state == "XX001" || state == "XX002") return Code::kCorrupt;
  if (state == "42P01" || state == "42703") return Code::kForeign;  // missing table/column
  const std::string_view cls = state.substr(0, std::min<std::size_t>(2, state.size()));
  if (cls == "22" || cls == "23" || cls == "42") return Code::kInvalid;
  return Code::kIoError;  // 08 connection, 57 shutdown, 53 resources, and the rest
}

}  // namespace

PgResult::~PgResult() {
  if (res_ != nullptr) PQclear(res_);
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (res_ != nullptr) PQclear(res_);
    res_ = std::exchange(other.res_, nullptr);
  }
  return *this;
}

int PgResult::rows() const { return res_ == nullptr ? 0 : PQntuples(res_); }

std::string PgResult::Text(int row, int column) const {
  if (res_ == nullptr || PQgetisnull(res_, row, column)) return "";
  return std::string(PQgetvalue(res_, row, column),
                     static_cast<std::size_t>(PQgetlength(res_, row, column)));
}

int64_t PgResult::Int64(int row, int column) const {
  if (res_ == nullptr || PQgetisnull(res_, row, column)) return 0;
  return std::strtoll(PQgetvalue(res_, row, column), nullptr, 10);
}

bool PgResult::IsNull(int row, int column) const {
  return res_ == nullptr || PQgetisnull(res_, row, column);
}

int64_t PgResult::affected() const {
  if (res_ == nullptr) return 0;
  return std::strtoll(PQcmdTuples(res_), nullptr, 10);
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
  }
  return out;
}

std::string RedactPostgresUri(const std::string& uri) { return RedactTarget(uri); }

Status PgConnection::Connect(const std::string& uri, std::unique_ptr<PgConnection>* out) {
  std::string password;
  char* parse_error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(uri.c_str(), &parse_error)) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
    }
    PQconninfoFree(options);
  } else {
    if (parse_error != nullptr) PQfreemem(parse_error);  // may quote the password
    return Status::Error(Code::kInvalid, "not a valid PostgreSQL URI: " + RedactPostgresUri(uri));
  }
  std::unique_ptr<PgConnection> conn(new PgConnection(uri, password, RedactPostgresUri(uri)));
  Status status = conn->Open();
  if (!status.ok()) return status;
  *out = std::move(conn);
  return Status::Ok();
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

std::string PgConnection::Clean(std::string message) const {
  if (!password_.empty()) {
    for (std::size_t pos = message.find(password_); pos != std::string::npos;
         pos = message.find(password_, pos)) {
      message.replace(pos, password_.size(), "***");
    }
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

Status PgConnection::Open() {
  if (conn_ != nullptr) PQfinish(conn_);
  // The URI's own settings win over these defaults (later keywords override earlier).
  // Keepalives notice a dead peer within ~25 s, so a network partition cannot hang a halt.
  const char* keywords[] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* values[] = {"10", "1", "10", "5", "3", "batchfetch", uri_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return Status::Error(Code::kIoError, "out of memory connecting");
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Status::Error(Code::kIoError,
                         Clean("cannot connect to " + redacted_ + ": " + PQerrorMessage(conn_)));
  }
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  // No statement may block longer than this (a lock held by a stalled peer, a partition).
  if (Status status = Check(PQexec(conn_, kStatementTimeoutSql), PGRES_COMMAND_OK, "setup");
      !status.ok()) {
    return status;
  }
  for (const std::string& sql : setup_) {
    Status status = Check(PQexec(conn_, sql.c_str()), PGRES_COMMAND_OK, "setup");
    if (!status.ok()) return status;
  }
  for (const auto& [name, sql] : prepared_) {
    Status status = Check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), PGRES_COMMAND_OK,
                          "prepare " + name);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status PgConnection::EnsureOpen() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  if (in_transaction_) {
    // Reconnecting here would run the rest of the transaction's statements on their own.
    return Status::Error(Code::kIoError, "connection to " + redacted_ + " lost in a transaction");
  }
  return Open();
}

Status PgConnection::Check(pg_result* raw, int expected_status, std::string_view what) {
  PgResult res(raw);
  if (raw != nullptr && PQresultStatus(raw) == expected_status) {
    return Status::Ok();
  }
  std::string message(what);
  message += ": ";
  if (raw == nullptr) {
    message += PQerrorMessage(conn_);
    return Status::Error(Code::kIoError, Clean(std::move(message)));
  }
  const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
  const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  message += primary != nullptr ? primary : PQresultErrorMessage(raw);
  if (PQresultStatus(raw) != PGRES_FATAL_ERROR) {
    message += std::string(" (unexpected result ") + PQresStatus(PQresultStatus(raw)) + ")";
    return Status::Error(Code::kIoError, Clean(std::move(message)));
  }
  if (state != nullptr) message += std::string(" [") + state + "]";
  const Code code =
      PQstatus(conn_) != CONNECTION_OK ? Code::kIoError : CodeForSqlState(state ? state : "");
  return Status::Error(code, Clean(std::move(message)));
}

Status PgConnection::Setup(const std::string& sql) {
  setup_.push_back(sql);
  Status status = EnsureOpen();
  if (!status.ok()) return status;
  return Check(PQexec(conn_, sql.c_str()), PGRES_COMMAND_OK, "setup");
}

Status PgConnection::Prepare(const std::string& name, const std::string& sql) {
  prepared_.emplace_back(name, sql);
  Status status = EnsureOpen();
  if (!status.ok()) return status;
  return Check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), PGRES_COMMAND_OK,
               "prepare " + name);
}

Status PgConnection::Run(const std::string& name, const PgParams& params, PgResult* out) {
  Status status = EnsureOpen();
  if (!status.ok()) return status;
  const std::vector<const char*> values = params.Pointers();
  return Take(
      PQexecPrepared(conn_, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0), name,
      out);
}

Status PgConnection::RunOnce(const std::string& sql, const PgParams& params, PgResult* out) {
  Status status = EnsureOpen();
  if (!status.ok()) return status;
  const std::vector<const char*> values = params.Pointers();
  return Take(
      PQexecParams(conn_, sql.c_str(), params.size(), nullptr, values.data(), nullptr, nullptr, 0),
      sql.substr(0, std::min<std::size_t>(sql.size(), 60)), out);
}

Status PgConnection::Exec(const std::string& sql, PgResult* out) {
  Status status = EnsureOpen();
  if (!status.ok()) return status;
  return Take(PQexec(conn_, sql.c_str()), sql.substr(0, std::min<std::size_t>(sql.size(), 60)),
              out);
}

Status PgConnection::Take(pg_result* res, std::string_view what, PgResult* out) {
  const ExecStatusType got = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (got != PGRES_TUPLES_OK && got != PGRES_COMMAND_OK) {
    return Check(res, PGRES_COMMAND_OK, what);
  }
  if (out != nullptr) {
    *out = PgResult(res);
  } else {
    PQclear(res);
  }
  return Status::Ok();
}

Status PgConnection::CopyIn(const std::string& sql, std::string_view data) {
  Status status = EnsureOpen();
  if (!status.ok()) return status;
  status = Check(PQexec(conn_, sql.c_str()), PGRES_COPY_IN, "start COPY");
  if (!status.ok()) return status;
  // Large buffers are sent in pieces so libpq never holds two copies of a page group.
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t pos = 0; pos < data.size(); pos += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - pos);
    if (PQputCopyData(conn_, data.data() + pos, static_cast<int>(n)) != 1) {
      return Status::Error(Code::kIoError,
                           Clean(std::string("COPY data: ") + PQerrorMessage(conn_)));
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) {
    return Status::Error(Code::kIoError, Clean(std::string("COPY end: ") + PQerrorMessage(conn_)));
  }
  status = Check(PQgetResult(conn_), PGRES_COMMAND_OK, "COPY");
  // Drain: libpq returns null once the command is complete.
  while (pg_result* extra = PQgetResult(conn_)) PQclear(extra);
  return status;
}

Status PgConnection::Transaction(const std::function<Status()>& body) {
  std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    Status status = Exec("BEGIN");
    if (status.ok()) {
      in_transaction_ = true;
      status = body();
      if (status.ok()) status = Exec("COMMIT");
      in_transaction_ = false;
    }
    if (status.ok()) return status;
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK &&
        PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      // The body's error is the one to report.
      (void)Exec("ROLLBACK");
    }
    if (status.code() != Code::kBusy || attempt >= kMaxTransactionTries) {
      if (status.code() == Code::kBusy) {
        return Status::Error(Code::kBusy, status.message() + " (gave up after " +
                                              std::to_string(attempt) + " tries)");
      }
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(int64_t{attempt} * 5 + jitter() % 10));
  }
}

}  // namespace batchfetch
