#include "tests/tools/batchfetch/reports/day_count_poller.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>

#include "tests/tools/batchfetch/reports/reports_ledger.h"

namespace batchfetch::testing {

DayCountPoller::DayCountPoller(std::string target, std::string report_id, std::string date,
                               int interval_ms)
    : target_(std::move(target)),
      report_id_(std::move(report_id)),
      date_(std::move(date)),
      interval_ms_(interval_ms),
      thread_([this] { Loop(); }) {}

DayCountPoller::~DayCountPoller() { Stop(); }

void DayCountPoller::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void DayCountPoller::Loop() {
  const std::string sql =
      "SELECT COUNT(*) FROM search_analytics WHERE report_id = " + SqlText(report_id_) +
      " AND CAST(date AS TEXT) = " + SqlText(date_);
  if (target_.rfind("postgres", 0) == 0) {
    LoopPostgres(sql);
  } else {
    LoopSqlite(sql);
  }
}

void DayCountPoller::LoopSqlite(const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(target_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    error_ = std::string("open: ") + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    error_ = std::string("prepare: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return;
  }
  while (!stop_) {
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      error_ = std::string("step: ") + sqlite3_errmsg(db);
      break;
    }
    ++seen_[sqlite3_column_int64(stmt, 0)];
    ++polls_;
    if (sqlite3_reset(stmt) != SQLITE_OK) {
      error_ = std::string("reset: ") + sqlite3_errmsg(db);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms_));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

void DayCountPoller::LoopPostgres(const std::string& sql) {
  PGconn* conn = PQconnectdb(target_.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    error_ = std::string("connect: ") + PQerrorMessage(conn);
    PQfinish(conn);
    return;
  }
  while (!stop_) {
    PGresult* res = PQexec(conn, sql.c_str());
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
      error_ = std::string("query: ") + PQresultErrorMessage(res);
      PQclear(res);
      break;
    }
    ++seen_[std::strtoll(PQgetvalue(res, 0, 0), nullptr, 10)];
    ++polls_;
    PQclear(res);
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms_));
  }
  PQfinish(conn);
}

}  // namespace batchfetch::testing
