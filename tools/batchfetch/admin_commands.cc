// batchfetch status / verify / retry: read or repair the ledger, per report. status and
// verify print text for people or, with --json, one JSON object on one line for scripts.
// They never create a ledger: a path that holds none is refused (exit 1).

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
    std::string what = e.what();
    for (char& c : what) c = c == '\n' ? ' ' : c;
    std::fprintf(stderr, "batchfetch %s: %s\nexample: batchfetch %s --db batchfetch.db\n", name,
                 what.c_str(), name);
    return kExitUsage;
  }
  return -1;
}

// Opens an existing ledger; nullptr after one line on stderr (no ledger there, or it
// cannot be read). *code is the exit code to return then.
std::unique_ptr<Ledger> OpenExisting(const char* name, const std::string& db, OpenMode mode,
                                     int* code) {
  std::unique_ptr<Ledger> ledger;
  Status s = OpenLedger(db, mode, &ledger);
  if (s.ok()) return ledger;
  const std::string shown = RedactTarget(db);
  if (s.code() == Status::Code::kNotFound) {
    std::fprintf(stderr, "batchfetch %s: no batchfetch ledger at --db %s\n", name, shown.c_str());
  } else {
    std::fprintf(stderr, "batchfetch %s: cannot use --db %s: %s\n", name, shown.c_str(),
                 s.ToString().c_str());
  }
  *code = ExitForUnusableLedger(s);
  return nullptr;
}

int Complain(const char* name, const Status& s) {
  std::fprintf(stderr, "batchfetch %s: %s\n", name, s.ToString().c_str());
  return kExitHalted;
}

// The reports to look at: every one, or only report_id (exit 1 when it names none).
int SelectReports(const char* name, Ledger& ledger, const std::string& report_id,
                  std::vector<Report>* out) {
  std::vector<Report> all;
  if (Status s = ledger.ListReports(&all); !s.ok()) return Complain(name, s);
  for (Report& r : all) {
    if (report_id.empty() || r.id == report_id) out->push_back(std::move(r));
  }
  if (!report_id.empty() && out->empty()) {
    std::fprintf(stderr,
                 "batchfetch %s: no report %s in this ledger (batchfetch status lists them)\n",
                 name, report_id.c_str());
    return kExitUsage;
  }
  return -1;
}

std::string IsoTime(WallTime t) {
  const std::time_t secs = WallClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

boost::json::array Strings(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const std::string& s : v) a.push_back(boost::json::string(s));
  return a;
}

boost::json::object ReportJson(const Report& report) {
  const ReportSpec& s = report.spec;
  return {{"id", report.id},
          {"describe", s.Describe()},
          {"site", s.site},
          {"type", s.search_type},
          {"dimensions", s.DimensionsCsv()},
          {"data_state", s.data_state},
          {"aggregation_type", s.aggregation_type},
          {"filters", Strings(s.filters)}};
}

boost::json::object StatusJson(const ReportStatus& r) {
  boost::json::object o = ReportJson(r.report);
  const ReportProgress& p = r.progress;
  o["pages"] = {{"pending", p.pending},
                {"leased", p.leased},
                {"done", p.done},
                {"dead", p.dead},
                {"total", p.total()}};
  o["rows"] = p.rows;
  o["days_held"] = p.days_held;
  o["days_held_ranges"] = Strings(r.days_held);
  o["truncated_days"] = Strings(r.truncated_days);
  o["provisional_days"] = p.provisional_days;
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

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

void PrintStatus(const ReportStatus& r, WallTime now) {
  const ReportProgress& p = r.progress;
  std::printf("report %s  %s\n", r.report.id.c_str(), r.report.spec.Describe().c_str());
  std::printf("  days held (%lld): %s\n", static_cast<long long>(p.days_held),
              Joined(r.days_held).c_str());
  std::printf(
      "  pages: %lld done, %lld pending, %lld leased, %lld dead (of %lld); %lld rows; "
      "%lld truncated days; %lld provisional days\n",
      static_cast<long long>(p.done), static_cast<long long>(p.pending),
      static_cast<long long>(p.leased), static_cast<long long>(p.dead),
      static_cast<long long>(p.total()), static_cast<long long>(p.rows),
      static_cast<long long>(p.truncated_days), static_cast<long long>(p.provisional_days));
  if (!r.truncated_days.empty()) {
    std::printf("  truncated days (the API's 50,000-row cap): %s\n",
                Joined(r.truncated_days).c_str());
  }
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
                                                 r.row_mismatch.size() + r.bad_values.size());
}

boost::json::object VerifyJson(const Report& report, const VerifyReport& r) {
  boost::json::object o = ReportJson(report);
  o["clean"] = r.clean();
  o["problems"] = ProblemCount(r);
  o["duplicate_rows"] = r.duplicate_rows;
  o["unfinished"] = Strings(r.unfinished);
  o["missing_pages"] = Strings(r.missing_pages);
  o["row_mismatch"] = Strings(r.row_mismatch);
  o["bad_values"] = Strings(r.bad_values);
  o["truncated_days"] = Strings(r.truncated_days);
  return o;
}

void PrintList(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("  %s (%zu):\n", title, items.size());
  for (const std::string& item : items) std::printf("    %s\n", item.c_str());
}

void PrintVerify(const Report& report, const VerifyReport& r) {
  std::printf("report %s  %s\n", report.id.c_str(), report.spec.Describe().c_str());
  if (r.clean()) std::printf("  clean\n");
  if (r.duplicate_rows > 0) {
    std::printf("  duplicate rows: %lld (rows whose natural key is stored more than once)\n",
                static_cast<long long>(r.duplicate_rows));
  }
  PrintList("pages not done", r.unfinished);
  PrintList("missing next pages (a full page whose next page is absent)", r.missing_pages);
  PrintList("days whose stored rows differ from the ledger (deleted rows?)", r.row_mismatch);
  PrintList("rows with impossible values", r.bad_values);
  PrintList("truncated days (the API's 50,000-row daily cap; not a problem)", r.truncated_days);
}

}  // namespace

int StatusCommand(int argc, char** argv) {
  std::string db, report_id;
  bool json = false;
  if (int rc = ParseDbFlags("status", argc, argv, &db,
                            [&](CLI::App& app) {
                              app.add_flag("--json", json, "JSON output");
                              app.add_option("--report", report_id, "one report id");
                            });
      rc >= 0) {
    return rc;
  }
  int code = kExitOk;
  auto ledger = OpenExisting("status", db, OpenMode::kReadOnly, &code);
  if (!ledger) return code;
  std::vector<Report> reports;
  if (int rc = SelectReports("status", *ledger, report_id, &reports); rc >= 0) return rc;
  const WallTime now = WallClock::now();
  boost::json::array out;
  for (const Report& report : reports) {
    ReportStatus status;
    if (Status s = ledger->Describe(report.id, now, &status); !s.ok()) {
      return Complain("status", s);
    }
    if (json) {
      out.push_back(StatusJson(status));
    } else {
      PrintStatus(status, now);
    }
  }
  if (json) {
    std::printf("%s\n", boost::json::serialize(boost::json::object{{"reports", out}}).c_str());
  } else if (reports.empty()) {
    std::printf("no reports in %s\n", RedactTarget(db).c_str());
  }
  return kExitOk;
}

int VerifyCommand(int argc, char** argv) {
  std::string db, report_id;
  bool json = false;
  if (int rc = ParseDbFlags("verify", argc, argv, &db,
                            [&](CLI::App& app) {
                              app.add_flag("--json", json, "JSON output");
                              app.add_option("--report", report_id, "one report id");
                            });
      rc >= 0) {
    return rc;
  }
  int code = kExitOk;
  auto ledger = OpenExisting("verify", db, OpenMode::kReadOnly, &code);
  if (!ledger) return code;
  std::vector<Report> reports;
  if (int rc = SelectReports("verify", *ledger, report_id, &reports); rc >= 0) return rc;
  int64_t problems = 0;
  boost::json::array out;
  for (const Report& report : reports) {
    VerifyReport verify;
    if (Status s = ledger->Verify(report.id, &verify); !s.ok()) return Complain("verify", s);
    problems += ProblemCount(verify);
    if (json) {
      out.push_back(VerifyJson(report, verify));
    } else {
      PrintVerify(report, verify);
    }
  }
  if (json) {
    std::printf("%s\n", boost::json::serialize(boost::json::object{{"clean", problems == 0},
                                                                   {"problems", problems},
                                                                   {"reports", out}})
                            .c_str());
  } else {
    std::printf("verify: %s: %lld problem%s in %zu report%s\n",
                problems == 0 ? "clean" : "PROBLEMS", static_cast<long long>(problems),
                problems == 1 ? "" : "s", reports.size(), reports.size() == 1 ? "" : "s");
  }
  return problems == 0 ? kExitOk : kExitDeadPages;
}

int RetryCommand(int argc, char** argv) {
  std::string db, report_id;
  if (int rc = ParseDbFlags("retry", argc, argv, &db,
                            [&](CLI::App& app) {
                              app.add_option("--report,--job", report_id,
                                             "one report id (default: every report)");
                            });
      rc >= 0) {
    return rc;
  }
  int code = kExitOk;
  auto ledger = OpenExisting("retry", db, OpenMode::kExisting, &code);
  if (!ledger) return code;
  int64_t count = 0;
  if (Status s = ledger->RetryDead(report_id, &count); !s.ok()) {
    if (s.code() == Status::Code::kNotFound) {
      std::fprintf(stderr,
                   "batchfetch retry: no report %s in this ledger (batchfetch status lists them)\n",
                   report_id.c_str());
      return kExitUsage;
    }
    return Complain("retry", s);
  }
  std::printf("batchfetch retry: %lld dead pages back to pending\n", static_cast<long long>(count));
  return kExitOk;
}

}  // namespace batchfetch
