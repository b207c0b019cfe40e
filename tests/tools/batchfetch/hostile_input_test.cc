// Issue 14: what a hostile user, a hostile network and a careless operator try, as one
// table. Each row is a command line (and environment) with the exit code it must get,
// what its stderr must look like, whether it may write anything, and the secrets no
// output, log, audit file or database byte may hold.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/measured_run.h"

namespace batchfetch::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr const char* kPassword = "S3cretPw0rd";
constexpr const char* kToken = "ya29.S3cretT0ken";
constexpr const char* kTokenCmdSecret = "S3cretInTheCmd";

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (bin == nullptr) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// name → size:hash of every entry under dir (directories as "dir").
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = fs::relative(entry.path(), dir).string();
    if (entry.is_directory()) {
      out[name] = "dir";
      continue;
    }
    const std::string bytes = Slurp(entry.path());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
      static constexpr char kHex[] = "0123456789abcdef";
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    out[name] = std::to_string(bytes.size()) + ":" + hex;
  }
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

struct Case {
  std::string name;
  std::vector<std::string> args;  // after the binary; "{PORT}" = the mock server's port
  std::vector<std::pair<std::string, std::string>> env;
  int exit_code = 1;
  enum class Stderr { kAny, kOneRefusal, kJson } stderr_shape = Stderr::kOneRefusal;
  bool nothing_written = true;  // the case's directory is unchanged (listing and hashes)
  bool no_network = false;      // run under `unshare -n`: no connection can be made
  std::string setup = {};       // "garbage": h.db holds random bytes; "text": a text file
  std::vector<std::string> stderr_has = {};
  long max_rss_kib = 0;  // 0 = not checked
  int max_seconds = 30;
  // SQLite's read-only open of a WAL ledger may leave an empty -wal and a -shm index
  // beside it (the ledger's bytes are unchanged): tolerated, see the issue 14 report.
  bool sqlite_sidecars_allowed = false;
};

// Common flags of a backfill that would otherwise be allowed: a fixed today, a range
// inside the API's 16 months, the token from the environment.
std::vector<std::string> Backfill(std::vector<std::string> extra) {
  std::vector<std::string> args = {"backfill",   "--site",     "sc-domain:example.com",
                                   "--from",     "2025-01-01", "--to",
                                   "2025-01-02", "--today",    "2025-03-01"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<Case> Cases() {
  const std::string pg_user = std::string("postgresql://u:") + kPassword + "@127.0.0.1:1/db";
  const std::string pg_query =
      std::string("postgresql://u@127.0.0.1:1/db?sslmode=disable&password=") + kPassword;
  const std::vector<std::pair<std::string, std::string>> token = {{"BATCHFETCH_TOKEN", kToken}};
  std::vector<Case> cases;
  // --- secrets in --db: refused with the password masked, for every command ---
  for (const std::string& db : {pg_user, pg_query}) {
    cases.push_back({"backfill pg " + db.substr(0, 20),
                     Backfill({"--db", db, "--api-base", "http://127.0.0.1:{PORT}"}), token, 1});
    for (const char* command : {"status", "verify", "retry"}) {
      cases.push_back({std::string(command) + " pg", {command, "--db", db}, {}, 1});
    }
  }
  // --- a token command that embeds a secret and fails ---
  {
    Case c{"token-cmd fails",
           Backfill({"--db", "h.db", "--api-base", "http://127.0.0.1:{PORT}", "--token-cmd",
                     std::string("echo ") + kTokenCmdSecret + " >/dev/null; exit 7", "--audit-log",
                     "audit.jsonl", "--max-attempts", "1"}),
           {{"BATCHFETCH_TOKEN", ""}},
           3};
    c.stderr_shape = Case::Stderr::kAny;
    c.nothing_written = false;
    cases.push_back(c);
  }
  // --- an API base whose host hides behind a user part: exit 1, no connection ---
  for (const char* base :
       {"http://127.0.0.1@192.0.2.1:{PORT}", "http://localhost:x@evil.example.com"}) {
    Case c{std::string("api-base ") + base, Backfill({"--db", "h.db", "--api-base", base}), token,
           1};
    c.no_network = true;
    cases.push_back(c);
  }
  // --- newline and escape codes in text that reaches a URL, a header, the ledger or a
  // log line: refused before anything is written (no forged line, header or raw ESC) ---
  {
    Case c{"newline in --site",
           {"backfill", "--site", "sc-domain:a.com\n2026-01-01 00:00:00.000 error [x] forged",
            "--from", "2025-01-01", "--to", "2025-01-01", "--today", "2025-03-01", "--db", "h.db",
            "--api-base", "http://127.0.0.1:{PORT}", "--qpm-window", "6"},
           token,
           1};
    c.stderr_has = {"control character"};
    cases.push_back(c);
    Case json = c;
    json.name = "newline in --site, json logs";
    json.args.insert(json.args.end(), {"--log-format", "json"});
    json.stderr_shape = Case::Stderr::kJson;
    cases.push_back(json);
    const std::string base = "http://127.0.0.1:{PORT}";
    for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
             {"--worker-id", "w\x1b[31mred\nforged"},
             {"--quota-project", "p\r\nX-Forged: 1"},
             {"--quota-user", "u\nforged"},
             {"--subject", "a@example.com\r\nX-Forged: 1"}}) {
      Case text{"control character in " + flag,
                Backfill({"--db", "h.db", "--api-base", base, flag, value}), token, 1};
      text.stderr_has = {flag, "control character"};
      cases.push_back(text);
    }
    // A token goes into the Authorization header: one printable word, and the complaint
    // never shows it.
    Case env_token{"newline in BATCHFETCH_TOKEN",
                   Backfill({"--db", "h.db", "--api-base", base}),
                   {{"BATCHFETCH_TOKEN", std::string(kToken) + "\r\nX-Forged: 1"}},
                   1};
    env_token.stderr_has = {"is not one printable word"};
    cases.push_back(env_token);
    Case flag_token{"newline in --token",
                    Backfill({"--db", "h.db", "--api-base", base, "--token",
                              std::string(kToken) + "\nX-Forged: 1"}),
                    {{"BATCHFETCH_TOKEN", ""}},
                    1};
    flag_token.stderr_has = {"is not one printable word"};
    flag_token.stderr_shape = Case::Stderr::kAny;  // also the warning that --token shows in ps
    cases.push_back(flag_token);
  }
  // --- every number out of its bounds; a wait that may be 0 (back-off base, halt
  // timeout, cooldown) takes a sub-millisecond value as the run it is ---
  for (const char* flag :
       {"--qpm", "--qpm-window", "--qpm-utilization", "--retry-cap", "--retry-base", "--lease",
        "--request-timeout", "--halt-timeout", "--quota-cooldown", "--max-concurrency",
        "--max-attempts", "--queue-limit", "--inflight-limit", "--metrics-hold", "--refresh-days",
        "--row-limit"}) {
    for (const char* value : {"inf", "1e20", "0.0004", "-5", "nan"}) {
      Case c{std::string(flag) + " " + value,
             Backfill({"--db", "h.db", "--api-base", "http://127.0.0.1:{PORT}", "--qpm-window", "6",
                       flag, value}),
             token, 1};
      const std::string f = flag;
      if (std::string(value) == "0.0004" &&
          (f == "--retry-base" || f == "--halt-timeout" || f == "--quota-cooldown")) {
        c.exit_code = 0;
        c.stderr_shape = Case::Stderr::kAny;
        c.nothing_written = false;
      }
      cases.push_back(c);
    }
  }
  // --- a range of 10,000 years ---
  cases.push_back({"0001..9999",
                   {"backfill", "--site", "sc-domain:example.com", "--from", "0001-01-01", "--to",
                    "9999-12-31", "--db", "h.db", "--api-base", "http://127.0.0.1:{PORT}"},
                   token,
                   1});
  {
    Case c{"0001..today with --allow-old-dates",
           {"backfill", "--site", "sc-domain:example.com", "--from", "0001-01-01", "--to",
            "2025-01-02", "--today", "2025-03-01", "--allow-old-dates", "--db", "h.db",
            "--api-base", "http://127.0.0.1:{PORT}"},
           token,
           1};
    c.max_rss_kib = 100 * 1024;
    cases.push_back(c);
  }
  // --- no credential against a real API: refused before anything is written ---
  {
    Case c{"no credential",
           Backfill({"--db", "h.db", "--api-base", "https://api.example.invalid", "--audit-log",
                     "audit.jsonl"}),
           {{"BATCHFETCH_TOKEN", ""},
            {"GOOGLE_APPLICATION_CREDENTIALS", ""},
            {"HOME", "/nonexistent"}},
           1};
    c.no_network = true;
    c.stderr_has = {"no credential"};
    cases.push_back(c);
  }
  // --- admin commands on a path without a ledger ---
  for (const char* command : {"status", "verify", "retry"}) {
    Case c{std::string(command) + " missing", {command, "--db", "typo.db"}, {}, 1};
    c.stderr_has = {"no batchfetch ledger"};
    cases.push_back(c);
  }
  {
    Case c{"export missing", {"export", "--db", "typo.db", "--report", "0123456789abcdef"}, {}, 1};
    cases.push_back(c);
  }
  // --- an unknown report id on a real ledger: refused, nothing changed ---
  for (const char* command : {"retry", "status", "verify"}) {
    Case c{std::string(command) + " unknown id",
           {command, "--db", "h.db", "--report", "0123456789abcdef"},
           {},
           1};
    c.setup = "ledger";
    c.stderr_has = {"no report 0123456789abcdef"};
    c.sqlite_sidecars_allowed = std::string(command) != "retry";
    cases.push_back(c);
  }
  // --- /dev/null, garbage and a text file at open ---
  cases.push_back({"backfill /dev/null",
                   Backfill({"--db", "/dev/null", "--api-base", "http://127.0.0.1:{PORT}"}), token,
                   1});
  for (const char* setup : {"garbage", "text"}) {
    Case c{std::string("backfill ") + setup,
           Backfill({"--db", "h.db", "--api-base", "http://127.0.0.1:{PORT}", "--audit-log",
                     "audit.jsonl"}),
           token, 3};
    c.setup = setup;
    c.stderr_has = {"not a usable SQLite database"};
    cases.push_back(c);
    for (const char* command : {"status", "verify", "retry"}) {
      Case admin{std::string(command) + " " + setup, {command, "--db", "h.db"}, {}, 3};
      admin.setup = setup;
      cases.push_back(admin);
    }
  }
  // --- --metrics-hold 1: the process exits after the hold ---
  {
    Case c{"metrics-hold 1",
           Backfill({"--db", "h.db", "--api-base", "http://127.0.0.1:{PORT}", "--metrics-addr",
                     "127.0.0.1:0", "--metrics-hold", "1", "--qpm-window", "6"}),
           token, 0};
    c.stderr_shape = Case::Stderr::kAny;
    c.nothing_written = false;
    c.max_seconds = 20;
    cases.push_back(c);
  }
  return cases;
}

TEST(HostileInputTest, EveryCaseGetsItsExitCodeOneLineNoWriteAndNoSecret) {
  MockGsc server({"--latency-ms", "1", "--qpm-window", "6", "--rows-per-day", "20"});
  const std::string port = std::to_string(server.port());
  const bool can_unshare =
      RunMeasured({"unshare", "-n", "true"}, {}, "", seconds(10)).exit_code == 0;
  ASSERT_TRUE(can_unshare) << "unshare -n must work here (root)";
  const std::vector<Case> cases = Cases();
  for (const Case& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    TempDir dir;
    if (c.setup == "garbage") {
      std::string bytes;
      for (int i = 0; i < 8192; ++i) bytes += static_cast<char>((i * 7919 + 13) % 251);
      std::ofstream(dir.File("h.db"), std::ios::binary) << bytes;
    } else if (c.setup == "text") {
      std::ofstream(dir.File("h.db")) << "my notes, not a database\n";
    } else if (c.setup == "ledger") {
      const MeasuredRun fill =
          RunMeasured({Bin(), "backfill", "--site", "sc-domain:example.com", "--from", "2025-01-01",
                       "--to", "2025-01-01", "--today", "2025-03-01", "--db", "h.db", "--api-base",
                       "http://127.0.0.1:" + port, "--qpm-window", "6"},
                      {{"BATCHFETCH_TOKEN", kToken}}, dir.path().string(), seconds(60));
      ASSERT_EQ(fill.exit_code, 0) << fill.err;
    }
    const auto before = Snapshot(dir.path());
    std::vector<std::string> argv;
    if (c.no_network) argv = {"unshare", "-n"};
    argv.push_back(Bin());
    for (std::string a : c.args) {
      if (auto at = a.find("{PORT}"); at != std::string::npos) a.replace(at, 6, port);
      argv.push_back(a);
    }
    const MeasuredRun run = RunMeasured(argv, c.env, dir.path().string(), seconds(c.max_seconds));
    if (c.exit_code != -2) {
      EXPECT_EQ(run.exit_code, c.exit_code) << run.out << run.err;
    }
    EXPECT_NE(run.exit_code, -1) << "timed out after " << c.max_seconds << " s";
    const std::vector<std::string> lines = Lines(run.err);
    switch (c.stderr_shape) {
      case Case::Stderr::kOneRefusal: {
        // One line says what to change; backfill may follow it with a usage example.
        int said = 0;
        for (const std::string& line : lines) said += line.rfind("example: ", 0) == 0 ? 0 : 1;
        EXPECT_EQ(said, 1) << run.err;
        break;
      }
      case Case::Stderr::kJson:
        for (const std::string& line : lines) {
          boost::system::error_code ec;
          boost::json::parse(line, ec);
          EXPECT_FALSE(ec) << "not JSON: " << line;
        }
        break;
      case Case::Stderr::kAny:
        break;
    }
    for (const std::string& line : lines) {
      EXPECT_NE(line.rfind("2026-01-01 00:00:00.000 error [x] forged", 0), 0u)
          << "forged: " << line;
    }
    EXPECT_EQ(run.err.find('\x1b'), std::string::npos) << "raw ESC on stderr";
    EXPECT_EQ(run.out.find('\x1b'), std::string::npos) << "raw ESC on stdout";
    for (const std::string& want : c.stderr_has) {
      EXPECT_NE(run.err.find(want), std::string::npos) << run.err;
    }
    if (c.nothing_written) {
      auto after = Snapshot(dir.path());
      if (c.sqlite_sidecars_allowed) {
        after.erase("h.db-shm");
        if (after.count("h.db-wal") && after["h.db-wal"].rfind("0:", 0) == 0)
          after.erase("h.db-wal");
      }
      EXPECT_EQ(after, before) << "the case wrote to its directory";
    }
    EXPECT_FALSE(fs::exists("/dev/null-journal"));
    EXPECT_FALSE(fs::exists("/dev/null-wal"));
    if (c.max_rss_kib > 0) {
      EXPECT_LE(run.peak_rss_kib, c.max_rss_kib);
    }
    if (c.name == "metrics-hold 1") {
      EXPECT_LT(run.elapsed, seconds(15));
    }
    // No secret in any output, log, audit file or database byte.
    std::vector<std::pair<std::string, std::string>> haystacks = {{"stdout", run.out},
                                                                  {"stderr", run.err}};
    for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
      if (entry.is_regular_file())
        haystacks.emplace_back(entry.path().string(), Slurp(entry.path()));
    }
    for (const auto& [where, text] : haystacks) {
      for (const char* secret : {kPassword, kToken, kTokenCmdSecret}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << where;
      }
    }
  }
  std::printf("hostile input: %zu cases\n", cases.size());
}

}  // namespace
}  // namespace batchfetch::testing
