#include "persistence/postgres_ledger.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/civil_date.h"
#include "persistence/ledger_util.h"

namespace batchfetch {
namespace {

using ledger_util::HistoryLine;
using ledger_util::PageName;
using ledger_util::SplitCsv;
using ledger_util::ToMillis;
using Code = Status::Code;

// A renewal never extends a lease further than this past the server's now when the
// caller asked for no lease yet (Renew without a Claim on this object).
constexpr std::chrono::milliseconds kMaxRenewal{std::chrono::minutes(10)};

// COPY text format: backslash, tab, newline and carriage return are escaped.
void AppendCopyText(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '\\':
        *out += "\\\\";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('\t');
}

// Shortest text that reads back as the same double ("12" for 12.0).
void AppendCopyNumber(double value, std::string* out, char end) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, result.ptr);
  out->push_back(end);
}

// A count the API sent as a JSON number, as the BIGINT column holds it.
bool ToCount(double value, int64_t* out) {
  if (!std::isfinite(value) || std::fabs(value) > 9.0e18) return false;
  *out = std::llround(value);
  return true;
}

// A PostgreSQL array literal of text values: {"a","b"}.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string IntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

// Pages (or days) as parallel arrays for the unnest() statements.
struct KeyArrays {
  std::vector<std::string> report_ids, dates;
  std::vector<int64_t> start_rows;

  void Add(const PageKey& key) {
    report_ids.push_back(key.report_id);
    dates.push_back(key.date);
    start_rows.push_back(key.start_row);
  }
  bool empty() const { return report_ids.empty(); }
  PgParams DayParams() const {
    PgParams p;
    p.Add(TextArray(report_ids)).Add(TextArray(dates));
    return p;
  }
  PgParams PageParams() const {
    PgParams p = DayParams();
    p.Add(IntArray(start_rows));
    return p;
  }
};

ReportSpec SpecFromRow(const PgResult& res, int row, int first_column) {
  ReportSpec spec;
  spec.site = res.Text(row, first_column);
  spec.search_type = res.Text(row, first_column + 1);
  spec.dimensions = SplitCsv(res.Text(row, first_column + 2));
  spec.data_state = res.Text(row, first_column + 3);
  spec.aggregation_type = res.Text(row, first_column + 4);
  spec.filters.clear();
  const std::string filters = res.Text(row, first_column + 5);
  for (std::size_t start = 0; start < filters.size();) {
    const std::size_t end = std::min(filters.find('\n', start), filters.size());
    spec.filters.push_back(filters.substr(start, end - start));
    start = end + 1;
  }
  return spec;
}

Status NoReport(const std::string& report_id) {
  return Status::Error(Code::kNotFound, "no report " + report_id + " in the ledger");
}

}  // namespace

Status OpenPostgresLedger(const std::string& uri, OpenMode mode, std::unique_ptr<Ledger>* out) {
  std::unique_ptr<PgConnection> conn;
  Status status = PgConnection::Connect(uri, &conn);
  if (status.ok() && mode == OpenMode::kReadOnly) {
    status = conn->Setup("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  }
  if (status.ok()) status = EnsurePostgresSchema(*conn, mode);
  if (!status.ok()) return status;
  std::unique_ptr<PostgresLedger> ledger(new PostgresLedger(std::move(conn)));
  status = ledger->PrepareAll();
  if (!status.ok()) return status;
  *out = std::move(ledger);
  return Status::Ok();
}

PostgresLedger::PostgresLedger(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

PostgresLedger::~PostgresLedger() = default;

Status PostgresLedger::RegisterReports(std::span<const Report* const> reports) {
  for (const Report* report : reports) {
    if (report->spec.site.empty() || report->id != report->spec.Id()) {
      return Status::Error(Code::kInvalid, "a report needs a site and the id of its spec");
    }
  }
  Status status = conn_->Transaction([&]() -> Status {
    Status s = Status::Ok();
    for (std::size_t i = 0; s.ok() && i < reports.size(); ++i) {
      const ReportSpec& spec = reports[i]->spec;
      PgParams p;
      p.Add(reports[i]->id).Add(spec.site).Add(spec.search_type).Add(spec.DimensionsCsv());
      p.Add(spec.data_state).Add(spec.aggregation_type).Add(spec.FiltersText());
      s = conn_->Run("insert_report", p);
    }
    return s;
  });
  // The reports' views (and the general one, for a ledger made before views existed).
  if (status.ok()) status = CreatePostgresReportViews(*conn_, reports);
  return status;
}

Status PostgresLedger::PlanReports(std::span<const std::string> report_ids,
                                   std::span<const std::string> days, const RefreshPolicy& refresh,
                                   std::vector<DayPlan>* out) {
  out->assign(report_ids.size(), DayPlan());
  std::set<std::string> unique;
  for (const std::string& day : days) {
    if (!IsValidDate(day)) return Status::Error(Code::kInvalid, "not a day: " + day);
    unique.insert(day);
  }
  if (!refresh.today.empty() && !IsValidDate(refresh.today)) {
    return Status::Error(Code::kInvalid, "not a day: " + refresh.today);
  }
  const std::string refresh_from =
      refresh.today.empty() ? "" : AddDays(refresh.today, -refresh.refresh_days);
  const std::vector<std::string> asked(unique.begin(), unique.end());
  return conn_->Transaction([&]() -> Status {
    out->assign(report_ids.size(), DayPlan());
    Status status = Status::Ok();
    for (std::size_t r = 0; status.ok() && r < report_ids.size(); ++r) {
      status =
          PlanReportDays(report_ids[r], asked, refresh_from, !refresh.today.empty(), &(*out)[r]);
    }
    return status;
  });
}

Status PostgresLedger::PlanReportDays(const std::string& report_id,
                                      const std::vector<std::string>& asked,
                                      const std::string& refresh_from, bool refresh, DayPlan* out) {
  Report report;
  Status status = ReadReport(report_id, &report);
  if (!status.ok() || asked.empty()) return status;
  PgParams p;
  p.Add(report_id).Add(TextArray(asked));
  PgResult states;
  status = conn_->Run("day_states", p, &states);
  if (!status.ok()) return status;
  std::vector<std::string> added, refreshed;
  for (int i = 0; i < states.rows(); ++i) {
    const std::string day = states.Text(i, 0);
    const int64_t pages = states.Int64(i, 1), open = states.Int64(i, 2);
    const bool provisional = states.Int64(i, 4) != 0;
    if (pages == 0) {
      added.push_back(day);
    } else if (open > 0) {
      ++out->unfinished;
    } else if (refresh && (day >= refresh_from || provisional)) {
      refreshed.push_back(day);
    } else {
      ++out->held;
    }
  }
  if (!added.empty()) {
    PgParams insert;
    insert.Add(report_id).Add(TextArray(added));
    PgResult inserted;
    status = conn_->Run("insert_first_pages", insert, &inserted);
    if (!status.ok()) return status;
    out->added = inserted.rows();
    out->unfinished += static_cast<int64_t>(added.size()) - inserted.rows();
  }
  if (!refreshed.empty()) {
    PgParams reset;
    reset.Add(report_id).Add(TextArray(refreshed));
    PgResult reset_days;
    status = conn_->Run("refresh_reset_first_pages", reset, &reset_days);
    if (!status.ok()) return status;
    std::vector<std::string> mine;
    mine.reserve(static_cast<std::size_t>(reset_days.rows()));
    for (int i = 0; i < reset_days.rows(); ++i) mine.push_back(reset_days.Text(i, 0));
    out->refreshed = static_cast<int64_t>(mine.size());
    out->unfinished += static_cast<int64_t>(refreshed.size() - mine.size());
    if (!mine.empty()) {
      PgParams drop;
      drop.Add(report_id).Add(TextArray(mine));
      for (const char* name : {"refresh_drop_later_pages", "refresh_clear_stage"}) {
        status = conn_->Run(name, drop);
        if (!status.ok()) return status;
      }
    }
  }
  return Status::Ok();
}

Status PostgresLedger::Claim(std::span<const ClaimRequest> requests, const std::string& owner,
                             std::chrono::milliseconds lease, WallTime now,
                             std::vector<Lease>* out) {
  last_now_ = now;
  longest_lease_ = std::max(longest_lease_, lease);
  const int64_t lease_ms = std::max<int64_t>(0, lease.count());
  const std::size_t base = out->size();
  // One transaction; each request sees the pages the ones before it leased as taken.
  return conn_->Transaction([&]() -> Status {
    out->resize(base);
    for (const ClaimRequest& request : requests) {
      if (request.max <= 0) continue;
      PgParams params;
      params.Add(request.report_id).Add(int64_t{request.max}).Add(owner).Add(ToMillis(now));
      params.Add(lease_ms);
      PgResult res;
      Status status = conn_->Run("claim", params, &res);
      if (!status.ok()) return status;
      const std::size_t first = out->size();
      for (int i = 0; i < res.rows(); ++i) {
        Lease& l = out->emplace_back();
        l.key.report_id = request.report_id;
        l.key.date = res.Text(i, 0);
        l.key.start_row = res.Int64(i, 1);
        l.token = res.Text(i, 2);
        l.attempts = static_cast<int>(res.Int64(i, 3));
      }
      // RETURNING gives rows in no promised order.
      std::sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end(),
                [](const Lease& a, const Lease& b) {
                  return std::tie(a.key.date, a.key.start_row) <
                         std::tie(b.key.date, b.key.start_row);
                });
    }
    return Status::Ok();
  });
}

Status PostgresLedger::CommitPages(std::span<const FetchedPage> pages, WallTime now,
                                   int max_attempts, std::vector<bool>* lease_held) {
  lease_held->assign(pages.size(), false);
  last_now_ = now;
  for (const FetchedPage& page : pages) {
    if (page.report == nullptr || page.report->id != page.lease.key.report_id) {
      return Status::Error(Code::kInvalid, "a fetched page must carry the report it belongs to");
    }
    for (const Row& row : page.rows) {
      int64_t n;
      if (!ToCount(row.clicks, &n) || !ToCount(row.impressions, &n)) {
        return Status::Error(Code::kInvalid,
                             "page " + PageName(page.lease.key.date, page.lease.key.start_row) +
                                 " has clicks or impressions that are not finite counts");
      }
    }
  }
  if (pages.empty()) return Status::Ok();

  KeyArrays keys;
  std::vector<std::string> tokens;
  std::vector<int64_t> row_counts, row_limits, truncated, provisional;
  for (const FetchedPage& page : pages) {
    const PageKey& key = page.lease.key;
    const int64_t rows = static_cast<int64_t>(page.rows.size());
    keys.Add(key);
    tokens.push_back(page.lease.token);
    row_counts.push_back(rows);
    row_limits.push_back(page.row_limit);
    truncated.push_back(ReachesDailyCap(key.start_row, rows) ? 1 : 0);
    provisional.push_back(page.provisional ? 1 : 0);
  }

  return conn_->Transaction([&]() -> Status {
    lease_held->assign(pages.size(), false);
    PgParams complete = keys.PageParams();
    complete.Add(TextArray(tokens)).Add(IntArray(row_counts)).Add(IntArray(row_limits));
    complete.Add(IntArray(truncated)).Add(IntArray(provisional));
    PgResult done;
    Status status = conn_->Run("complete_pages", complete, &done);
    if (!status.ok()) return status;
    std::set<std::tuple<std::string, std::string, int64_t>> held;
    for (int i = 0; i < done.rows(); ++i) {
      held.emplace(done.Text(i, 0), done.Text(i, 1), done.Int64(i, 2));
    }
    if (held.empty()) return Status::Ok();

    KeyArrays staged, next, finished;
    std::vector<int64_t> finished_truncated;
    std::string copy;
    for (std::size_t i = 0; i < pages.size(); ++i) {
      const FetchedPage& page = pages[i];
      const PageKey& key = page.lease.key;
      if (!held.contains({key.report_id, key.date, key.start_row})) continue;
      (*lease_held)[i] = true;
      staged.Add(key);
      const int64_t rows = static_cast<int64_t>(page.rows.size());
      const bool full = page.row_limit > 0 && rows >= page.row_limit;
      if (full && !ReachesDailyCap(key.start_row, rows)) {
        next.Add(PageKey{key.report_id, key.date, key.start_row + rows});
      } else {
        finished.Add(key);
        finished_truncated.push_back(ReachesDailyCap(key.start_row, rows) ? 1 : 0);
      }
      std::string prefix;
      AppendCopyText(key.report_id, &prefix);
      AppendCopyText(key.date, &prefix);  // one request covers one day: the page's
      AppendCopyText(std::to_string(key.start_row), &prefix);
      AppendCopyText(page.report->spec.site, &prefix);
      AppendCopyText(page.report->spec.search_type, &prefix);
      for (const Row& row : page.rows) {
        copy += prefix;
        AppendCopyText(row.hour, &copy);
        AppendCopyText(row.query, &copy);
        AppendCopyText(row.page, &copy);
        AppendCopyText(row.country, &copy);
        AppendCopyText(row.device, &copy);
        AppendCopyText(row.search_appearance, &copy);
        int64_t clicks = 0, impressions = 0;
        ToCount(row.clicks, &clicks);
        ToCount(row.impressions, &impressions);
        copy += std::to_string(clicks) + '\t' + std::to_string(impressions) + '\t';
        AppendCopyNumber(row.ctr, &copy, '\t');
        AppendCopyNumber(row.position, &copy, '\n');
      }
    }
    // What an earlier fetch of these pages (and the pages after them) staged is stale.
    status = conn_->Run("clear_stage_from", staged.PageParams());
    if (!status.ok()) return status;
    if (!copy.empty()) {
      status = conn_->CopyIn(
          "COPY staged_rows(report_id, date, start_row, site, search_type, hour,"
          " query, page, country, device, search_appearance, clicks, impressions, ctr,"
          " position) FROM STDIN",
          copy);
      if (!status.ok()) return status;
    }
    if (!next.empty()) {
      status = conn_->Run("insert_next_pages", next.PageParams());
      if (!status.ok()) return status;
    }
    if (finished.empty()) return Status::Ok();
    // A day is swapped in only as one consistent answer. When its done pages disagree on
    // provisional (it turned final mid-fetch) or a key came on two pages (rows shifted
    // between them), it restarts from row 0 instead and its old rows stay visible.
    PgResult sums;
    status = conn_->Run("finished_days", finished.DayParams(), &sums);
    if (!status.ok()) return status;
    using Day = std::pair<std::string, std::string>;
    std::map<Day, int64_t> expected;
    std::set<Day> restart;
    for (int i = 0; i < sums.rows(); ++i) {
      const Day day{sums.Text(i, 0), sums.Text(i, 1)};
      expected[day] = sums.Int64(i, 2);
      if (sums.Int64(i, 3) > 1) restart.insert(day);
    }
    // Each round swaps the days not yet restarted; a day whose inserted rows fall short
    // of its pages' rows (a key came twice) is rolled back and restarted, then the rest
    // is swapped again. Every repeat restarts at least one day more, so this ends.
    status = conn_->Exec("SAVEPOINT swap_days");
    while (status.ok()) {
      KeyArrays swapped;
      std::vector<int64_t> swapped_truncated;
      for (std::size_t i = 0; i < finished.report_ids.size(); ++i) {
        if (restart.contains({finished.report_ids[i], finished.dates[i]})) continue;
        swapped.Add(PageKey{finished.report_ids[i], finished.dates[i], 0});
        swapped_truncated.push_back(finished_truncated[i]);
      }
      if (swapped.empty()) break;
      PgResult inserted;
      status = conn_->Run("swap_delete_day_rows", swapped.DayParams());
      if (status.ok()) status = conn_->Run("swap_insert_day_rows", swapped.DayParams(), &inserted);
      if (!status.ok()) return status;
      std::map<Day, int64_t> stored;
      for (int i = 0; i < inserted.rows(); ++i) {
        stored[{inserted.Text(i, 0), inserted.Text(i, 1)}] = inserted.Int64(i, 2);
      }
      bool collided = false;
      for (std::size_t i = 0; i < swapped.report_ids.size(); ++i) {
        const Day day{swapped.report_ids[i], swapped.dates[i]};
        if (stored[day] == expected[day]) continue;
        restart.insert(day);
        collided = true;
      }
      if (collided) {
        status = conn_->Exec("ROLLBACK TO SAVEPOINT swap_days");
        continue;
      }
      status = conn_->Run("swap_clear_stage", swapped.DayParams());
      PgParams record = swapped.DayParams();
      record.Add(IntArray(swapped_truncated));
      if (status.ok()) status = conn_->Run("swap_record_days", record);
      break;
    }
    if (status.ok()) status = conn_->Exec("RELEASE SAVEPOINT swap_days");
    if (!status.ok() || restart.empty()) return status;
    KeyArrays restarted;
    for (const Day& day : restart) restarted.Add(PageKey{day.first, day.second, 0});
    status = conn_->Run("restart_drop_later_pages", restarted.DayParams());
    PgParams first = restarted.DayParams();
    first.Add(ToMillis(now)).Add(max_attempts).Add(kDayChangedError);
    if (status.ok()) status = conn_->Run("restart_first_pages", first);
    if (status.ok()) status = conn_->Run("swap_clear_stage", restarted.DayParams());
    return status;
  });
}

Status PostgresLedger::FailPage(const Lease& lease, const std::string& error, bool final,
                                int max_attempts, WallTime retry_at, WallTime now,
                                bool* lease_held) {
  *lease_held = false;
  last_now_ = now;
  const int64_t now_ms = ToMillis(now);
  const int attempt = lease.attempts + 1;
  PgParams params;
  params.Add(error)
      .Add(HistoryLine(attempt, now_ms, error, final || attempt >= max_attempts))
      .Add(int64_t{final ? 1 : 0})
      .Add(int64_t{max_attempts})
      .Add(ToMillis(retry_at))
      .Add(lease.key.report_id)
      .Add(lease.key.date)
      .Add(lease.key.start_row)
      .Add(lease.token);
  PgResult res;
  Status status = conn_->Run("fail_page", params, &res);
  *lease_held = status.ok() && res.affected() == 1;
  return status;
}

Status PostgresLedger::UpdateLeases(const std::string& name, PgParams params,
                                    std::span<const Lease> leases) {
  if (leases.empty()) return Status::Ok();
  std::vector<std::string> report_ids, dates, tokens;
  std::vector<int64_t> start_rows;
  for (const Lease& lease : leases) {
    report_ids.push_back(lease.key.report_id);
    dates.push_back(lease.key.date);
    start_rows.push_back(lease.key.start_row);
    tokens.push_back(lease.token);
  }
  PgParams all;
  all.Add(TextArray(report_ids)).Add(TextArray(dates)).Add(IntArray(start_rows));
  all.Add(TextArray(tokens));
  for (const std::string& extra : params.values()) all.Add(extra);
  return conn_->Run(name, all);
}

Status PostgresLedger::Release(std::span<const Lease> leases, WallTime now) {
  last_now_ = now;
  return UpdateLeases("release", PgParams(), leases);
}

Status PostgresLedger::Renew(std::span<const Lease> leases, WallTime expires_at) {
  // The server's clock decides expiry: the caller's absolute time becomes a duration from
  // its own last now, bounded by the longest lease it claimed, so a stepped client clock
  // cannot keep a lease for longer than one lease.
  const auto cap = longest_lease_.count() > 0 ? longest_lease_ : kMaxRenewal;
  const auto wanted = std::chrono::duration_cast<std::chrono::milliseconds>(expires_at - last_now_);
  const int64_t ms = std::clamp<int64_t>(wanted.count(), 0, cap.count());
  PgParams p;
  p.Add(ledger_util::ToMillis(expires_at)).Add(ms).Add(ToMillis(last_now_));
  return UpdateLeases("renew", std::move(p), leases);
}

Status PostgresLedger::ReadReport(const std::string& report_id, Report* out) {
  PgParams id;
  id.Add(report_id);
  PgResult res;
  Status status = conn_->Run("report_row", id, &res);
  if (!status.ok()) return status;
  if (res.rows() == 0) return NoReport(report_id);
  out->id = report_id;
  out->spec = SpecFromRow(res, 0, 0);
  return Status::Ok();
}

Status PostgresLedger::ReadProgress(std::span<const std::string> report_ids, ReportProgress* out) {
  *out = ReportProgress();
  const std::set<std::string> unique(report_ids.begin(), report_ids.end());
  const std::vector<std::string> ids(unique.begin(), unique.end());
  PgParams p;
  p.Add(TextArray(ids));
  PgResult known;
  Status status = conn_->Run("count_reports", p, &known);
  if (!status.ok()) return status;
  if (known.Int64(0, 0) != static_cast<int64_t>(ids.size())) {
    for (const std::string& id : ids) {
      Report report;
      if (Status s = ReadReport(id, &report); !s.ok()) return s;
    }
  }
  PgResult states;
  status = conn_->Run("count_states", p, &states);
  if (!status.ok()) return status;
  for (int i = 0; i < states.rows(); ++i) {
    const std::string state = states.Text(i, 0);
    const int64_t n = states.Int64(i, 1);
    if (state == "pending") out->pending = n;
    if (state == "leased") out->leased = n;
    if (state == "done") out->done = n;
    if (state == "dead") out->dead = n;
  }
  PgResult days;
  status = conn_->Run("count_days", p, &days);
  if (!status.ok()) return status;
  out->days_held = days.Int64(0, 0);
  out->rows = days.Int64(0, 1);
  out->truncated_days = days.Int64(0, 2);
  out->provisional_days = days.Int64(0, 3);
  return Status::Ok();
}

Status PostgresLedger::Progress(std::span<const std::string> report_ids, ReportProgress* out) {
  return conn_->Transaction([&] { return ReadProgress(report_ids, out); });
}

Status PostgresLedger::RetryDead(const std::string& report_id, int64_t* count) {
  *count = 0;
  return conn_->Transaction([&]() -> Status {
    *count = 0;
    if (!report_id.empty()) {
      Report report;
      Status status = ReadReport(report_id, &report);
      if (!status.ok()) return status;
    }
    PgParams params;
    params.Add(report_id);
    PgResult res;
    Status status = conn_->Run("retry_dead", params, &res);
    if (status.ok()) *count = res.affected();
    return status;
  });
}

Status PostgresLedger::ListReports(std::vector<Report>* out) {
  PgResult res;
  Status status = conn_->Run("list_reports", PgParams(), &res);
  if (!status.ok()) return status;
  for (int i = 0; i < res.rows(); ++i) {
    Report& report = out->emplace_back();
    report.id = res.Text(i, 0);
    report.spec = SpecFromRow(res, i, 1);
  }
  return Status::Ok();
}

Status PostgresLedger::Describe(const std::string& report_id, WallTime now, ReportStatus* out) {
  return conn_->Transaction([&]() -> Status {
    *out = ReportStatus();
    Status status = ReadReport(report_id, &out->report);
    if (!status.ok()) return status;
    const std::string ids[] = {report_id};
    status = ReadProgress(ids, &out->progress);
    if (!status.ok()) return status;
    PgParams id;
    id.Add(report_id);

    PgResult held;
    status = conn_->Run("held_days", id, &held);
    if (!status.ok()) return status;
    // Consecutive days become one "FIRST..LAST" range.
    int64_t first = 0, last = 0;
    bool open = false;
    auto close_range = [&] {
      if (!open) return;
      out->days_held.push_back(first == last
                                   ? FormatCivilDate(first)
                                   : FormatCivilDate(first) + ".." + FormatCivilDate(last));
    };
    for (int i = 0; i < held.rows(); ++i) {
      const std::string day = held.Text(i, 0);
      const std::optional<int64_t> n = ParseCivilDate(day);
      if (!n) continue;
      if (open && *n == last + 1) {
        last = *n;
      } else {
        close_range();
        first = last = *n;
        open = true;
      }
      if (held.Int64(i, 1) != 0) out->truncated_days.push_back(day);
    }
    close_range();

    PgResult dead;
    status = conn_->Run("dead_pages", id, &dead);
    if (!status.ok()) return status;
    for (int i = 0; i < dead.rows(); ++i) {
      DeadPage& page = out->dead.emplace_back();
      page.key = PageKey{report_id, dead.Text(i, 0), dead.Int64(i, 1)};
      page.attempts = static_cast<int>(dead.Int64(i, 2));
      page.last_error = dead.Text(i, 3);
      page.errors = dead.Text(i, 4);
    }
    // Live by the lease clock, the one that decides expiry.
    PgParams live;
    live.Add(report_id).Add(ToMillis(now));
    PgResult leases;
    status = conn_->Run("live_leases", live, &leases);
    if (!status.ok()) return status;
    for (int i = 0; i < leases.rows(); ++i) {
      LiveLease& lease = out->leases.emplace_back();
      lease.owner = leases.Text(i, 0);
      lease.pages = leases.Int64(i, 1);
      lease.last_heartbeat = ledger_util::FromMillis(leases.Int64(i, 2));
      lease.expires_at = ledger_util::FromMillis(leases.Int64(i, 3));
    }
    return Status::Ok();
  });
}

Status PostgresLedger::Verify(const std::string& report_id, VerifyReport* out) {
  return conn_->Transaction([&]() -> Status {
    *out = VerifyReport();
    Report report;
    Status status = ReadReport(report_id, &report);
    if (!status.ok()) return status;
    PgParams id;
    id.Add(report_id);

    PgResult dups;
    status = conn_->Run("duplicate_rows", id, &dups);
    if (!status.ok()) return status;
    out->duplicate_rows = dups.Int64(0, 0);

    PgResult unfinished;
    status = conn_->Run("unfinished_pages", id, &unfinished);
    if (!status.ok()) return status;
    for (int i = 0; i < unfinished.rows(); ++i) {
      out->unfinished.push_back(PageName(unfinished.Text(i, 0), unfinished.Int64(i, 1)) + " " +
                                unfinished.Text(i, 2));
    }

    PgResult missing;
    status = conn_->Run("missing_next_pages", id, &missing);
    if (!status.ok()) return status;
    for (int i = 0; i < missing.rows(); ++i) {
      out->missing_pages.push_back(PageName(missing.Text(i, 0), missing.Int64(i, 1)));
    }

    PgResult counts;
    status = conn_->Run("row_mismatch", id, &counts);
    if (!status.ok()) return status;
    for (int i = 0; i < counts.rows(); ++i) {
      out->row_mismatch.push_back(counts.Text(i, 0) + ": stored " + counts.Text(i, 1) +
                                  ", ledger says " + counts.Text(i, 2));
    }

    PgResult bad;
    status = conn_->Run("bad_values", id, &bad);
    if (!status.ok()) return status;
    for (int i = 0; i < bad.rows(); ++i) {
      out->bad_values.push_back(bad.Text(i, 0) + ": " + bad.Text(i, 1) +
                                " rows with impossible numbers");
    }

    PgResult truncated;
    status = conn_->Run("truncated_dates", id, &truncated);
    if (!status.ok()) return status;
    for (int i = 0; i < truncated.rows(); ++i) out->truncated_days.push_back(truncated.Text(i, 0));
    return Status::Ok();
  });
}

}  // namespace batchfetch
