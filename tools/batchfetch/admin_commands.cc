// batchfetch status / verify / retry: read or repair the ledger.

#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

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
  if (Status s = ledger->ListJobs(&jobs); !s.ok()) {
    std::fprintf(stderr, "batchfetch status: %s\n", s.ToString().c_str());
    return kExitHalted;
  }
  if (json) std::printf("{\"jobs\":[");
  bool first = true;
  for (const Job& job : jobs) {
    JobProgress p;
    if (Status s = ledger->Progress(job.id, &p); !s.ok()) {
      std::fprintf(stderr, "batchfetch status: %s\n", s.ToString().c_str());
      return kExitHalted;
    }
    if (json) {
      std::printf("%s{\"id\":\"%s\",\"site\":\"%s\",\"type\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
                  "\"pending\":%lld,\"leased\":%lld,\"done\":%lld,\"dead\":%lld,\"rows\":%lld}",
                  first ? "" : ",", job.id.c_str(), job.spec.site.c_str(),
                  job.spec.search_type.c_str(), job.spec.start_date.c_str(),
                  job.spec.end_date.c_str(), static_cast<long long>(p.pending),
                  static_cast<long long>(p.leased), static_cast<long long>(p.done),
                  static_cast<long long>(p.dead), static_cast<long long>(p.rows));
    } else {
      std::printf("job %s  %s %s %s..%s [%s]\n  pages: %lld done, %lld pending, %lld leased, "
                  "%lld dead; %lld rows\n",
                  job.id.c_str(), job.spec.site.c_str(), job.spec.search_type.c_str(),
                  job.spec.start_date.c_str(), job.spec.end_date.c_str(),
                  job.spec.DimensionsCsv().c_str(), static_cast<long long>(p.done),
                  static_cast<long long>(p.pending), static_cast<long long>(p.leased),
                  static_cast<long long>(p.dead), static_cast<long long>(p.rows));
    }
    first = false;
  }
  if (json) std::printf("]}\n");
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
  std::fprintf(stderr, "batchfetch verify: not implemented yet\n");
  return kExitUsage;
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
