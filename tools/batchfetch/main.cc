// batchfetch: back-fills days of Search Console reports from the Search Console API into a
// database. The subcommands are a table; each handler parses its own flags.

#include <cstdio>
#include <cstring>

#include "tools/batchfetch/commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*handler)(int, char**);
};

constexpr Command kCommands[] = {
    {"backfill", "fetch days of every report into the database (resumes and refreshes)",
     batchfetch::BackfillCommand},
    {"status", "per report: days held, pages by state, dead pages, live leases",
     batchfetch::StatusCommand},
    {"verify", "check stored rows: duplicates, holes, truncated days; exit 0 when clean",
     batchfetch::VerifyCommand},
    {"retry", "put dead pages back to pending (--report ID)", batchfetch::RetryCommand},
    {"export", "one report's rows on stdout as CSV or JSON lines", batchfetch::ExportCommand},
    {"sites", "the properties the credential can read, with its permission on each",
     batchfetch::SitesCommand},
};

int Usage(FILE* out) {
  std::fprintf(out, "usage: batchfetch <command> [flags]   (batchfetch <command> --help)\n\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
  std::fprintf(
      out,
      "\nexample:\n  BATCHFETCH_TOKEN=... batchfetch backfill --site sc-domain:example.com "
      "--from 2025-01-01 --db batchfetch.db\n");
  return out == stdout ? 0 : batchfetch::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    return Usage(stdout);
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version")) {
    std::printf("batchfetch %s\n", BATCHFETCH_VERSION);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (!std::strcmp(argv[1], c.name)) return c.handler(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "batchfetch: unknown command '%s'\n", argv[1]);
  return Usage(stderr);
}
