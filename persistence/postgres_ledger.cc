#include "persistence/postgres_ledger.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include "persistence/ledger_util.h"

namespace batchfetch {
namespace {

using ledger_util::FromMillis;
using ledger_util::HistoryLine;
using ledger_util::PageName;
using ledger_util::SplitCsv;
using ledger_util::ToMillis;
using Code = Status::Code;

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

}  // namespace

Status PostgresLedger::Open(const std::string& uri, std::unique_ptr<Ledger>* out) {
  std::unique_ptr<PgConnection> conn;
  Status status = PgConnection::Connect(uri, &conn);
  if (status.ok()) status = EnsurePostgresSchema(*conn);
  if (status.ok()) {
    status = conn->Setup(
        "CREATE TEMP TABLE IF NOT EXISTS search_analytics_stage (LIKE search_analytics)"
        " ON COMMIT DELETE ROWS");
  }
  if (!status.ok()) return status;
  std::unique_ptr<PostgresLedger> ledger(new PostgresLedger(std::move(conn)));
  status = ledger->PrepareAll();
  if (!status.ok()) return status;
  *out = std::move(ledger);
  return Status::Ok();
}

PostgresLedger::PostgresLedger(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

PostgresLedger::~PostgresLedger() = default;

Status PostgresLedger::RegisterJob(const Job& job, const RefreshPolicy& refresh) {
  std::vector<std::string> days;
  if (Status status = ledger_util::ValidateJob(job, &days); !status.ok()) return status;
  const JobSpec& spec = job.spec;
  const int64_t now_ms = ToMillis(WallClock::now());
  return conn_->Transaction([&]() -> Status {
    PgParams job_params;
    job_params.Add(job.id).Add(spec.site).Add(spec.search_type).Add(spec.DimensionsCsv());
    job_params.Add(spec.data_state).Add(spec.start_date).Add(spec.end_date);
    job_params.Add(int64_t{spec.row_limit}).Add(now_ms);
    Status status = conn_->Run("insert_job", job_params);
    if (!status.ok()) return status;
    PgParams pages;
    pages.Add(job.id).Add(TextArray(days)).Add(now_ms);
    status = conn_->Run("insert_first_pages", pages);
    if (!status.ok() || refresh.today.empty()) return status;

    PgParams select;
    select.Add(job.id).Add(AddDays(refresh.today, -refresh.refresh_days));
    PgResult found;
    status = conn_->Run("refresh_dates", select, &found);
    if (!status.ok() || found.rows() == 0) return status;
    std::vector<std::string> dates;
    for (int i = 0; i < found.rows(); ++i) dates.push_back(found.Text(i, 0));
    PgParams drop;
    drop.Add(job.id).Add(TextArray(dates));
    status = conn_->Run("drop_later_pages", drop);
    if (!status.ok()) return status;
    PgParams reset;
    reset.Add(job.id).Add(TextArray(dates)).Add(now_ms);
    status = conn_->Run("reset_first_pages", reset);
    return status;
  });
}

Status PostgresLedger::Claim(const std::string& job_id, const std::string& owner, int max,
                             std::chrono::milliseconds lease, WallTime now,
                             std::vector<Lease>* out) {
  if (max <= 0) return Status::Ok();
  const int64_t now_ms = ToMillis(now);
  PgParams params;
  params.Add(owner).Add(now_ms + lease.count()).Add(now_ms).Add(job_id).Add(int64_t{max});
  PgResult res;
  // One statement is its own transaction: the CTE's row locks end with it.
  Status status = conn_->Run("claim", params, &res);
  if (!status.ok()) return status;
  const std::size_t base = out->size();
  for (int i = 0; i < res.rows(); ++i) {
    Lease& l = out->emplace_back();
    l.key.job_id = job_id;
    l.key.date = res.Text(i, 0);
    l.key.start_row = res.Int64(i, 1);
    l.token = res.Text(i, 2);
    l.attempts = static_cast<int>(res.Int64(i, 3));
  }
  // RETURNING gives rows in no promised order.
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(base), out->end(),
            [](const Lease& a, const Lease& b) {
              return std::tie(a.key.date, a.key.start_row) < std::tie(b.key.date, b.key.start_row);
            });
  return Status::Ok();
}

Status PostgresLedger::CommitPages(std::span<const FetchedPage> pages, WallTime now,
                                   std::vector<bool>* lease_held) {
  lease_held->assign(pages.size(), false);
  for (const FetchedPage& page : pages) {
    if (page.job == nullptr || page.job->id != page.lease.key.job_id) {
      return Status::Error(Code::kInvalid, "a fetched page must carry the job it belongs to");
    }
  }
  if (pages.empty()) return Status::Ok();
  const int64_t now_ms = ToMillis(now);
  const std::string now_text = std::to_string(now_ms);

  // Every row of the group, in COPY text format, in the table's column order.
  std::string copy;
  std::size_t rows = 0;
  for (const FetchedPage& page : pages) rows += page.rows.size();
  copy.reserve(rows * 160);
  for (const FetchedPage& page : pages) {
    const JobSpec& spec = page.job->spec;
    std::string prefix;
    AppendCopyText(spec.site, &prefix);
    AppendCopyText(spec.search_type, &prefix);
    AppendCopyText(spec.DimensionsCsv(), &prefix);
    for (const Row& row : page.rows) {
      copy += prefix;
      // One request covers one day, so a row without the date dimension is of its page's.
      AppendCopyText(row.date.empty() ? page.lease.key.date : row.date, &copy);
      AppendCopyText(row.hour, &copy);
      AppendCopyText(row.query, &copy);
      AppendCopyText(row.page, &copy);
      AppendCopyText(row.country, &copy);
      AppendCopyText(row.device, &copy);
      AppendCopyText(row.search_appearance, &copy);
      AppendCopyNumber(row.clicks, &copy, '\t');
      AppendCopyNumber(row.impressions, &copy, '\t');
      AppendCopyNumber(row.ctr, &copy, '\t');
      AppendCopyNumber(row.position, &copy, '\t');
      copy += now_text;
      copy += '\n';
    }
  }

  return conn_->Transaction([&]() -> Status {
    lease_held->assign(pages.size(), false);
    // Completed first: only a page 0 whose lease holds may replace its day's rows.
    std::vector<std::string> sites, types, dims, dates;
    std::vector<PageKey> next_pages;  // after full pages whose lease held, below the cap
    for (std::size_t i = 0; i < pages.size(); ++i) {
      const FetchedPage& page = pages[i];
      const JobSpec& spec = page.job->spec;
      const PageKey& key = page.lease.key;
      const int64_t row_count = static_cast<int64_t>(page.rows.size());
      const bool full = row_count >= spec.row_limit;
      const bool truncated = full && key.start_row + spec.row_limit >= kDailyRowCap;
      PgParams complete;
      complete.Add(row_count).Add(int64_t{truncated ? 1 : 0}).Add(now_ms);
      complete.Add(key.job_id).Add(key.date).Add(key.start_row).Add(page.lease.token);
      complete.Add(int64_t{page.provisional ? 1 : 0});
      PgResult res;
      Status status = conn_->Run("complete_page", complete, &res);
      if (!status.ok()) return status;
      (*lease_held)[i] = res.affected() == 1;
      if ((*lease_held)[i] && key.start_row == 0) {
        sites.push_back(spec.site);
        types.push_back(spec.search_type);
        dims.push_back(spec.DimensionsCsv());
        dates.push_back(key.date);
      }
      if ((*lease_held)[i] && full && !truncated) {
        next_pages.push_back({key.job_id, key.date, key.start_row + spec.row_limit});
      }
    }
    if (!dates.empty()) {
      PgParams del;
      del.Add(TextArray(sites)).Add(TextArray(types)).Add(TextArray(dims)).Add(TextArray(dates));
      Status status = conn_->Run("delete_day_rows", del);
      if (!status.ok()) return status;
    }
    if (rows > 0) {
      Status status = conn_->CopyIn("COPY search_analytics_stage FROM STDIN", copy);
      if (status.ok()) status = conn_->Run("upsert_stage", PgParams());
      if (!status.ok()) return status;
    }
    for (const PageKey& key : next_pages) {
      PgParams next;
      next.Add(key.job_id).Add(key.date).Add(key.start_row).Add(now_ms);
      Status status = conn_->Run("insert_page", next);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  });
}

Status PostgresLedger::FailPage(const Lease& lease, const std::string& error, bool final,
                                int max_attempts, WallTime retry_at, WallTime now,
                                bool* lease_held) {
  *lease_held = false;
  const int64_t now_ms = ToMillis(now);
  const int attempt = lease.attempts + 1;
  PgParams params;
  params.Add(error)
      .Add(HistoryLine(attempt, now_ms, error, final || attempt >= max_attempts))
      .Add(int64_t{final ? 1 : 0})
      .Add(int64_t{max_attempts})
      .Add(ToMillis(retry_at))
      .Add(now_ms)
      .Add(lease.key.job_id)
      .Add(lease.key.date)
      .Add(lease.key.start_row)
      .Add(lease.token);
  PgResult res;
  Status status = conn_->Run("fail_page", params, &res);
  *lease_held = status.ok() && res.affected() == 1;
  return status;
}

Status PostgresLedger::UpdateLeases(const std::string& name, std::initializer_list<int64_t> times,
                                    std::span<const Lease> leases) {
  if (leases.empty()) return Status::Ok();
  std::vector<std::string> job_ids, dates, tokens;
  std::vector<int64_t> start_rows;
  for (const Lease& lease : leases) {
    job_ids.push_back(lease.key.job_id);
    dates.push_back(lease.key.date);
    start_rows.push_back(lease.key.start_row);
    tokens.push_back(lease.token);
  }
  PgParams params;
  for (int64_t t : times) params.Add(t);
  params.Add(TextArray(job_ids)).Add(TextArray(dates)).Add(IntArray(start_rows));
  params.Add(TextArray(tokens));
  return conn_->Run(name, params);
}

Status PostgresLedger::Release(std::span<const Lease> leases, WallTime now) {
  return UpdateLeases("release", {ToMillis(now)}, leases);
}

Status PostgresLedger::Renew(std::span<const Lease> leases, WallTime expires_at) {
  // updated_at records the renewal (the owner's heartbeat, shown by Report).
  return UpdateLeases("renew", {ToMillis(expires_at), ToMillis(WallClock::now())}, leases);
}

Status PostgresLedger::ReadProgress(const std::string& job_id, JobProgress* out) {
  *out = JobProgress();
  PgParams id;
  id.Add(job_id);
  PgResult exists;
  Status status = conn_->Run("job_exists", id, &exists);
  if (!status.ok()) return status;
  if (exists.Int64(0, 0) == 0)
    return Status::Error(Code::kNotFound, "no job " + job_id + " in the ledger");
  PgResult states;
  status = conn_->Run("count_states", id, &states);
  if (!status.ok()) return status;
  for (int i = 0; i < states.rows(); ++i) {
    const std::string state = states.Text(i, 0);
    const int64_t n = states.Int64(i, 1);
    if (state == "pending") out->pending = n;
    if (state == "leased") out->leased = n;
    if (state == "dead") out->dead = n;
    if (state == "done") {
      out->done = n;
      out->rows = states.Int64(i, 2);
    }
  }
  PgResult truncated;
  status = conn_->Run("truncated_days", id, &truncated);
  if (status.ok()) {
    out->truncated_days = truncated.Int64(0, 0);
    out->provisional_days = truncated.Int64(0, 1);
  }
  return status;
}

Status PostgresLedger::Progress(const std::string& job_id, JobProgress* out) {
  return conn_->Transaction([&] { return ReadProgress(job_id, out); });
}

Status PostgresLedger::RetryDead(const std::string& job_id, int64_t* count) {
  *count = 0;
  PgParams params;
  params.Add(ToMillis(WallClock::now())).Add(job_id);
  PgResult res;
  Status status = conn_->Run("retry_dead", params, &res);
  if (status.ok()) *count = res.affected();
  return status;
}

Status PostgresLedger::ListJobs(std::vector<Job>* out) {
  PgResult res;
  Status status = conn_->Run("list_jobs", PgParams(), &res);
  if (!status.ok()) return status;
  for (int i = 0; i < res.rows(); ++i) {
    Job& job = out->emplace_back();
    job.id = res.Text(i, 0);
    job.spec.site = res.Text(i, 1);
    job.spec.search_type = res.Text(i, 2);
    job.spec.dimensions = SplitCsv(res.Text(i, 3));
    job.spec.data_state = res.Text(i, 4);
    job.spec.start_date = res.Text(i, 5);
    job.spec.end_date = res.Text(i, 6);
    job.spec.row_limit = static_cast<int>(res.Int64(i, 7));
  }
  return Status::Ok();
}

Status PostgresLedger::Report(const std::string& job_id, WallTime now, JobReport* out) {
  return conn_->Transaction([&]() -> Status {
    *out = JobReport();
    Status status = ReadProgress(job_id, &out->progress);
    if (!status.ok()) return status;
    PgParams id;
    id.Add(job_id);
    PgResult dead;
    status = conn_->Run("dead_pages", id, &dead);
    if (!status.ok()) return status;
    for (int i = 0; i < dead.rows(); ++i) {
      DeadPage& page = out->dead.emplace_back();
      page.key = PageKey{job_id, dead.Text(i, 0), dead.Int64(i, 1)};
      page.attempts = static_cast<int>(dead.Int64(i, 2));
      page.last_error = dead.Text(i, 3);
      page.errors = dead.Text(i, 4);
    }
    PgParams live;
    live.Add(job_id).Add(ToMillis(now));
    PgResult leases;
    status = conn_->Run("live_leases", live, &leases);
    if (!status.ok()) return status;
    for (int i = 0; i < leases.rows(); ++i) {
      LiveLease& lease = out->leases.emplace_back();
      lease.owner = leases.Text(i, 0);
      lease.pages = leases.Int64(i, 1);
      lease.last_heartbeat = FromMillis(leases.Int64(i, 2));
      lease.expires_at = FromMillis(leases.Int64(i, 3));
    }
    return Status::Ok();
  });
}

Status PostgresLedger::Verify(const std::string& job_id, VerifyReport* out) {
  return conn_->Transaction([&]() -> Status {
    *out = VerifyReport();
    PgParams id;
    id.Add(job_id);
    PgResult spec;
    Status status = conn_->Run("job_spec", id, &spec);
    if (!status.ok()) return status;
    if (spec.rows() == 0)
      return Status::Error(Code::kNotFound, "no job " + job_id + " in the ledger");
    const std::string site = spec.Text(0, 0), search_type = spec.Text(0, 1),
                      dimensions = spec.Text(0, 2), start_date = spec.Text(0, 3),
                      end_date = spec.Text(0, 4);
    const int64_t row_limit = spec.Int64(0, 5);

    PgParams dup_params;
    dup_params.Add(site).Add(search_type).Add(dimensions).Add(start_date).Add(end_date);
    PgResult dups;
    status = conn_->Run("duplicate_rows", dup_params, &dups);
    if (!status.ok()) return status;
    out->duplicate_rows = dups.Int64(0, 0);

    PgResult unfinished;
    status = conn_->Run("unfinished_pages", id, &unfinished);
    if (!status.ok()) return status;
    for (int i = 0; i < unfinished.rows(); ++i) {
      out->unfinished.push_back(PageName(unfinished.Text(i, 0), unfinished.Int64(i, 1)) + " " +
                                unfinished.Text(i, 2));
    }

    PgParams missing_params;
    missing_params.Add(job_id).Add(row_limit);
    PgResult missing;
    status = conn_->Run("missing_next_pages", missing_params, &missing);
    if (!status.ok()) return status;
    for (int i = 0; i < missing.rows(); ++i) {
      out->missing_pages.push_back(PageName(missing.Text(i, 0), missing.Int64(i, 1)));
    }

    PgResult dates;
    status = conn_->Run("page_dates", id, &dates);
    if (!status.ok()) return status;
    std::set<std::string> dates_with_pages;
    for (int i = 0; i < dates.rows(); ++i) dates_with_pages.insert(dates.Text(i, 0));
    for (std::string& day : DaysBetween(start_date, end_date)) {
      if (!dates_with_pages.contains(day)) out->missing_days.push_back(std::move(day));
    }

    // Fewer rows than the done pages recorded means rows were deleted (see SqliteLedger).
    PgParams count_params;
    count_params.Add(job_id).Add(site).Add(search_type).Add(dimensions);
    PgResult counts;
    status = conn_->Run("row_counts", count_params, &counts);
    if (!status.ok()) return status;
    for (int i = 0; i < counts.rows(); ++i) {
      const int64_t ledger = counts.Int64(i, 1), stored = counts.Int64(i, 2);
      if (stored < ledger) {
        out->row_mismatch.push_back(counts.Text(i, 0) + ": stored " + std::to_string(stored) +
                                    ", ledger says " + std::to_string(ledger));
      }
    }

    PgResult truncated;
    status = conn_->Run("truncated_dates", id, &truncated);
    if (!status.ok()) return status;
    for (int i = 0; i < truncated.rows(); ++i) out->truncated_days.push_back(truncated.Text(i, 0));
    return Status::Ok();
  });
}

}  // namespace batchfetch
