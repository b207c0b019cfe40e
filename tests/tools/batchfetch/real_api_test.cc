// Ready for the real API: a service account end to end (JWT verified by mockgsc, token
// refreshed mid-run, no secret anywhere), several sites and types in one run under
// per-site quota, and the API's combination rules refused before any request.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/rsa_key.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"
#include "tests/tools/batchfetch/ledger_reader.h"

namespace batchfetch::testing {
namespace {

using std::chrono::seconds;

std::string WriteKey(const std::string& path, const std::string& pem,
                     const std::string& token_uri) {
  boost::json::object key{{"type", "service_account"},
                          {"project_id", "test-project"},
                          {"private_key_id", "0123abcd"},
                          {"private_key", pem},
                          {"client_email", "backfill@test-project.iam.gserviceaccount.com"},
                          {"token_uri", token_uri}};
  std::ofstream(path) << boost::json::serialize(key);
  return path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(RealApiTest, ServiceAccountTokenIsVerifiedRefreshedMidRunAndNeverLeaks) {
  TempDir dir;
  const std::string pem = NewRsaKeyPem();
  WriteKey(dir.File("server-key.json"), pem, "https://oauth2.googleapis.com/token");
  MockGsc server({"--service-account-key", dir.File("server-key.json"), "--token-lifetime-s", "2",
                  "--token", "only-issued-tokens-work-" + std::to_string(::getpid()),
                  "--latency-ms", "40", "--rows-per-day", "300", "--seed", "12"});
  const std::string key = WriteKey(dir.File("key.json"), pem, server.base_url() + "/token");
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-09-01", 40);
  CommandResult run =
      RunCommand(runner.Args(server, dates.front(), dates.back(), 1, {"--credentials", key}),
                 seconds(120), {{"BATCHFETCH_TOKEN", ""}});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  runner.ExpectAllDaysMatch(server, dates);
  boost::json::object stats = server.Stats();
  EXPECT_GE(JsonInt(stats, "tokens_issued"), 2) << "a 2 s token must be refreshed during the run";

  // No piece of the key in any output or in the database files.
  const std::string key_line = pem.substr(pem.find('\n') + 1, 40);
  for (const std::string& text :
       {run.out, run.err, ReadAll(runner.db()), ReadAll(runner.db() + "-wal")}) {
    EXPECT_EQ(text.find(key_line), std::string::npos);
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  }
}

TEST(RealApiTest, ThreeSitesTimesTwoTypesEachMatchExpectedUnderEverySitesQuota) {
  TempDir dir;
  MockGsc server({"--latency-ms", "5", "--qpm", "1200", "--qpm-window", "6", "--rows-per-day",
                  "300", "--seed", "31"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-10-01", 15);
  const std::vector<std::string> sites = {"sc-domain:example.com", "https://www.example.org/",
                                          "sc-domain:example.net"};
  // Args() gives --site sites[0]; the other sites and both types are added (repeatable).
  std::vector<std::string> args = runner.Args(server, dates.front(), dates.back(), 8);
  for (const char* flag : {"--site", sites[1].c_str(), "--site", sites[2].c_str(), "--type", "web",
                           "--type", "image"}) {
    args.push_back(flag);
  }
  CommandResult run = RunCommand(args, seconds(180));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  LedgerReader reader(runner.db());
  for (const std::string& site : sites) {
    for (const std::string type : {"web", "image"}) {
      auto stored = reader.Days(site, type, BackfillRunner::kDims);
      for (const std::string& date : dates) {
        MockGsc::ExpectedDay want = server.Expected(site, type, date, BackfillRunner::kDims);
        auto it = stored.find(date);
        EXPECT_EQ(it == stored.end() ? 0 : it->second.rows, want.rows)
            << site << " " << type << " " << date;
        if (want.rows > 0 && it != stored.end()) {
          EXPECT_EQ(it->second.checksum, want.checksum) << site << " " << type << " " << date;
        }
      }
    }
  }
  EXPECT_EQ(reader.DuplicateRows(), 0);
  boost::json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "quota_rejections"), 0);
  for (const auto& [key, count] : stats.at("max_window_requests_by_key").as_object()) {
    EXPECT_LE(count.to_number<int64_t>(), 960) << key;
  }
}

TEST(RealApiTest, InvalidCombinationsAreRefusedBeforeAnyRequest) {
  TempDir dir;
  MockGsc server({"--rows-per-day", "10"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-01-01", 2);
  const std::vector<std::vector<std::string>> bad = {
      {"--aggregation-type", "byProperty", "--dimensions", "date,page"},
      {"--type", "discover", "--dimensions", "date,query"},
      {"--dimensions", "date,hour"},
      {"--filter", "country:equals:narnia"},
      {"--filter", "device:equals:phone"},
      {"--filter", "query"},
  };
  for (const auto& extra : bad) {
    CommandResult run = RunCommand(runner.Args(server, dates.front(), dates.back(), 2, extra));
    EXPECT_EQ(run.exit_code, 1) << extra[0] << " " << extra[1] << ": " << run.err;
    EXPECT_NE(run.err.find("batchfetch backfill: "), std::string::npos) << run.err;
  }
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), 0);
  std::ifstream db(runner.db());
  EXPECT_FALSE(db.good()) << "a refused command must not create the ledger";
}

}  // namespace
}  // namespace batchfetch::testing
