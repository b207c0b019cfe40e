// batchfetch status / verify / retry: read or repair the ledger. status and verify print
// text for people or, with --json, one JSON object on one line for scripts.

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "persistence/ledger.h"
#include "tools/batchfetch/commands.h"

namespace batchfetch {

namespace {

// Parses --db (and extra options added by add) from argv. Returns -1 to go on.
template <typename AddOptions>
int ParseDbFlags(const char* name, int argc, char** argv, std::string* db, AddOptions add) {
  CLI::App app{std::string("batchfetch ") + name, std::string("batchfetch ") + name};
  app.add_option("--db", *db, "SQLite file or postgresql:// URI")->required();
  add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "batchfetch %s: %s\nexample: batchfetch %s --db batchfetch.db\n", name,
                 e.what(), name);
    return kExitUsage;
  }
  return -1;
}

std::unique_ptr<Ledger> OpenOrComplain(const char* name, const std::string& db) {
  std::unique_ptr<Ledger> ledger;
  if (Status s = OpenLedger(db, &ledger); !s.ok()) {
    std::fprintf(stderr, "batchfetch %s: cannot use --db %s: %s\n", name, db.c_str(),
                 s.ToString().c_str());
    return nullptr;
  }
  return ledger;
}

int Complain(const char* name, const Status& s) {
  std::fprintf(stderr, "batchfetch %s: %s\n", name, s.ToString().c_str());
  return kExitHalted;
}

std::string IsoTime(WallTime t) {
  const std::time_t secs = WallClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

boost::json::object JobJson(const Job& job) {
  return {{"id", job.id},
          {"site", job.spec.site},
          {"type", job.spec.search_type},
          {"dimensions", job.spec.DimensionsCsv()},
          {"data_state", job.spec.data_state},
          {"from", job.spec.start_date},
          {"to", job.spec.end_date},
          {"row_limit", job.spec.row_limit}};
}

void PrintJobHeader(const Job& job) {
  std::printf("job %s  %s %s %s..%s [%s]\n", job.id.c_str(), job.spec.site.c_str(),
              job.spec.search_type.c_str(), job.spec.start_date.c_str(), job.spec.end_date.c_str(),
              job.spec.DimensionsCsv().c_str());
}

boost::json::object StatusJson(const Job& job, const JobReport& r) {
  boost::json::object o = JobJson(job);
  const JobProgress& p = r.progress;
  o["pages"] = {{"pending", p.pending},
                {"leased", p.leased},
                {"done", p.done},
                {"dead", p.dead},
                {"total", p.total()}};
  o["rows"] = p.rows;
  o["truncated_days"] = p.truncated_days;
  boost::json::array dead;
  for (const DeadPage& d : r.dead) {
    dead.push_back({{"date", d.key.date},
                    {"start_row", d.key.start_row},
                    {"attempts", d.attempts},
                    {"last_error", d.last_error}});
  }
  o["dead_pages"] = std::move(dead);
  boost::json::array leases;
  for (const LiveLease& l : r.leases) {
    leases.push_back({{"owner", l.owner},
                      {"pages", l.pages},
                      {"last_heartbeat", IsoTime(l.last_heartbeat)},
                      {"expires_at", IsoTime(l.expires_at)}});
  }
  o["leases"] = std::move(leases);
  return o;
}

void PrintStatus(const Job& job, const JobReport& r, WallTime now) {
  const JobProgress& p = r.progress;
  PrintJobHeader(job);
  std::printf(
      "  pages: %lld done, %lld pending, %lld leased, %lld dead (of %lld); %lld rows; "
      "%lld truncated days\n",
      static_cast<long long>(p.done), static_cast<long long>(p.pending),
      static_cast<long long>(p.leased), static_cast<long long>(p.dead),
      static_cast<long long>(p.total()), static_cast<long long>(p.rows),
      static_cast<long long>(p.truncated_days));
  if (!r.dead.empty()) std::printf("  dead pages (batchfetch retry puts them back):\n");
  for (const DeadPage& d : r.dead) {
    std::printf("    %s:%lld  %d attempts  last error: %s\n", d.key.date.c_str(),
                static_cast<long long>(d.key.start_row), d.attempts, d.last_error.c_str());
  }
  if (!r.leases.empty()) std::printf("  live leases:\n");
  for (const LiveLease& l : r.leases) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - l.last_heartbeat);
    std::printf("    %s  %lld pages  last heartbeat %s (%llds ago)  expires %s\n", l.owner.c_str(),
                static_cast<long long>(l.pages), IsoTime(l.last_heartbeat).c_str(),
                static_cast<long long>(ago.count()), IsoTime(l.expires_at).c_str());
  }
}

int64_t ProblemCount(const VerifyReport& r) {
  return r.duplicate_rows + static_cast<int64_t>(r.unfinished.size() + r.missing_pages.size() +
                                                 r.missing_days.size() + r.row_mismatch.size());
}

boost::json::array Strings(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const std::string& s : v) a.push_back(boost::json::string(s));
  return a;
}

boost::json::object VerifyJson(const Job& job, const VerifyReport& r) {
  boost::json::object o = JobJson(job);
  o["clean"] = r.clean();
  o["problems"] = ProblemCount(r);
  o["duplicate_rows"] = r.duplicate_rows;
  o["unfinished"] = Strings(r.unfinished);
  o["missing_pages"] = Strings(r.missing_pages);
  o["missing_days"] = Strings(r.missing_days);
  o["row_mismatch"] = Strings(r.row_mismatch);
  o["truncated_days"] = Strings(r.truncated_days);
  return o;
}

void PrintList(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("  %s (%zu):\n", title, items.size());
  for (const std::string& item : items) std::printf("    %s\n", item.c_str());
}

void PrintVerify(const Job& job, const VerifyReport& r) {
  PrintJobHeader(job);
  if (r.clean()) std::printf("  clean\n");
  if (r.duplicate_rows > 0) {
    std::printf("  duplicate rows: %lld (rows whose natural key is stored more than once)\n",
                static_cast<long long>(r.duplicate_rows));
  }
  PrintList("pages not done", r.unfinished);
  PrintList("missing next pages (a full page whose next page is absent)", r.missing_pages);
  PrintList("days with no page at all", r.missing_days);
  PrintList("days whose stored rows differ from the ledger (deleted rows?)", r.row_mismatch);
  PrintList("truncated days (the API's 50,000-row daily cap; not a problem)", r.truncated_days);
}

}  // namespace

int StatusCommand(int argc, char** argv) {
  std::string db;
  bool json = false;
  if (int rc = ParseDbFlags("status", argc, argv, &db,
                            [&](CLI::App& app) { app.add_flag("--json", json, "JSON output"); });
      rc >= 0) {
    return rc;
  }
  auto ledger = OpenOrComplain("status", db);
  if (!ledger) return kExitUsage;
  std::vector<Job> jobs;
  if (Status s = ledger->ListJobs(&jobs); !s.ok()) return Complain("status", s);
  const WallTime now = WallClock::now();
  boost::json::array out;
  for (const Job& job : jobs) {
    JobReport report;
    if (Status s = ledger->Report(job.id, now, &report); !s.ok()) return Complain("status", s);
    if (json) {
      out.push_back(StatusJson(job, report));
    } else {
      PrintStatus(job, report, now);
    }
  }
  if (json) {
    std::printf("%s\n", boost::json::serialize(boost::json::object{{"jobs", out}}).c_str());
  } else if (jobs.empty()) {
    std::printf("no jobs in %s\n", db.c_str());
  }
  return kExitOk;
}

int VerifyCommand(int argc, char** argv) {
  std::string db;
  bool json = false;
  if (int rc = ParseDbFlags("verify", argc, argv, &db,
                            [&](CLI::App& app) { app.add_flag("--json", json, "JSON output"); });
      rc >= 0) {
    return rc;
  }
  auto ledger = OpenOrComplain("verify", db);
  if (!ledger) return kExitUsage;
  std::vector<Job> jobs;
  if (Status s = ledger->ListJobs(&jobs); !s.ok()) return Complain("verify", s);
  int64_t problems = 0;
  boost::json::array out;
  for (const Job& job : jobs) {
    VerifyReport report;
    if (Status s = ledger->Verify(job.id, &report); !s.ok()) return Complain("verify", s);
    problems += ProblemCount(report);
    if (json) {
      out.push_back(VerifyJson(job, report));
    } else {
      PrintVerify(job, report);
    }
  }
  if (json) {
    std::printf("%s\n", boost::json::serialize(boost::json::object{{"clean", problems == 0},
                                                                   {"problems", problems},
                                                                   {"jobs", out}})
                            .c_str());
  } else {
    std::printf("verify: %s: %lld problem%s in %zu job%s\n", problems == 0 ? "clean" : "PROBLEMS",
                static_cast<long long>(problems), problems == 1 ? "" : "s", jobs.size(),
                jobs.size() == 1 ? "" : "s");
  }
  return problems == 0 ? kExitOk : kExitDeadPages;
}

int RetryCommand(int argc, char** argv) {
  std::string db, job;
  if (int rc = ParseDbFlags("retry", argc, argv, &db,
                            [&](CLI::App& app) { app.add_option("--job", job, "one job id"); });
      rc >= 0) {
    return rc;
  }
  auto ledger = OpenOrComplain("retry", db);
  if (!ledger) return kExitUsage;
  int64_t count = 0;
  if (Status s = ledger->RetryDead(job, &count); !s.ok()) {
    std::fprintf(stderr, "batchfetch retry: %s\n", s.ToString().c_str());
    return kExitHalted;
  }
  std::printf("batchfetch retry: %lld dead pages back to pending\n", static_cast<long long>(count));
  return kExitOk;
}

}  // namespace batchfetch
