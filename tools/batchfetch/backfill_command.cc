// batchfetch backfill: parse the flags, set up logging, hand over to BackfillRun.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "core/civil_date.h"
#include "core/json_escape.h"
#include "telemetry/logging.h"
#include "tools/batchfetch/appearance_passes.h"
#include "tools/batchfetch/backfill_flags.h"
#include "tools/batchfetch/backfill_run.h"
#include "tools/batchfetch/commands.h"
#include "tools/batchfetch/dry_run.h"
#include "workers/token_source.h"

namespace batchfetch {

namespace {

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::mt19937 rng(std::random_device{}());
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(rng() & 0xffff));
  return std::string(host) + "-" + std::to_string(getpid()) + "-" + suffix;
}

// True when argv or BATCHFETCH_LOG_FORMAT asks for JSON log lines: then even a flag error
// is one JSON line.
bool WantsJsonLogs(int argc, char** argv) {
  const char* env_format = std::getenv(FlagEnvName("log-format").c_str());
  if (env_format != nullptr && std::string(env_format) == "json") return true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--log-format=json" ||
        (arg == "--log-format" && i + 1 < argc && std::string(argv[i + 1]) == "json")) {
      return true;
    }
  }
  return false;
}

void PrintUsageError(bool json, const std::string& error) {
  if (json) {
    std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"batchfetch backfill: %s\"}\n",
                 JsonEscape(error).c_str());
  } else {
    std::fprintf(stderr, "batchfetch backfill: %s\n%s\n", error.c_str(), BackfillExample());
  }
}

}  // namespace

int BackfillCommand(int argc, char** argv) {
  TokenSourceOptions found;
  found.ReadEnvironment();
  const CredentialEnv env{found.env_token, found.env_credentials, found.adc_path};
  BackfillFlags flags;
  std::string error;
  if (auto code = ParseBackfillFlags(argc, argv, env, ApiDay(WallClock::now()), &flags, &error)) {
    if (*code != 0) PrintUsageError(WantsJsonLogs(argc, argv) || flags.log_format == "json", error);
    return *code;
  }
  if (flags.run.worker_id.empty()) flags.run.worker_id = DefaultWorkerId();
  if (!SetupLogging(flags.log_format, flags.log_level, flags.run.worker_id, &error)) {
    PrintUsageError(flags.log_format == "json", error);
    return kExitUsage;
  }
  for (const std::string& w : flags.warnings) spdlog::warn("{}", w);
  if (flags.dry_run) return DryRun(flags);
  if (flags.appearance_second_pass) return RunAppearancePasses(std::move(flags));
  BackfillRun run(std::move(flags));
  return run.Execute();
}

}  // namespace batchfetch
