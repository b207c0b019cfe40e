// Day one, logging in and choosing what to fetch, process level against mockgsc: OAuth
// user credentials (authorized_user, as gcloud writes them) found by --credentials, by
// GOOGLE_APPLICATION_CREDENTIALS and at the ADC default path, refreshed mid-run, their
// secrets in no output, audit line or database byte; --quota-project and the file's
// quota_project_id as x-goog-user-project; --subject as the JWT's sub; `batchfetch
// sites`; --type all and --preset.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"
#include "tests/support/rsa_key.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/batchfetch/backfill_runner.h"

namespace batchfetch::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;
using Env = std::vector<std::pair<std::string, std::string>>;

constexpr char kRefreshToken[] = "1//0g-login-refresh-s3cr3t-XYZ";
constexpr char kClientSecret[] = "GOCSPX-login-client-s3cr3t-XYZ";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// An authorized_user file as `gcloud auth application-default login` writes it.
std::string WriteUser(const std::string& path, const MockGsc& server,
                      const std::string& quota_project = "") {
  json::object creds{{"type", "authorized_user"},
                     {"client_id", "764086051850-login.apps.googleusercontent.com"},
                     {"client_secret", kClientSecret},
                     {"refresh_token", kRefreshToken},
                     {"token_uri", server.base_url() + "/token"}};
  if (!quota_project.empty()) creds["quota_project_id"] = quota_project;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << json::serialize(creds);
  return path;
}

// No credential from the environment unless a test gives one; HOME has no ADC file.
Env CleanEnv(const std::string& home) {
  return {{"BATCHFETCH_TOKEN", ""}, {"GOOGLE_APPLICATION_CREDENTIALS", ""}, {"HOME", home}};
}

void ExpectNoSecretIn(const std::string& what, const std::string& text) {
  for (const char* secret : {kRefreshToken, kClientSecret}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "secret in " << what;
  }
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << "part of a secret in " << what;
}

std::vector<std::string> WithoutDimensions(std::vector<std::string> args) {
  auto it = std::find(args.begin(), args.end(), "--dimensions");
  if (it != args.end()) args.erase(it, it + 2);
  return args;
}

TEST(LoginTest, AuthorizedUserRefreshesMidRunWhereverItIsFoundAndNoSecretLeaks) {
  TempDir dir;
  MockGsc server({"--refresh-token", kRefreshToken, "--token-lifetime-s", "2", "--latency-ms", "40",
                  "--rows-per-day", "200", "--seed", "15"});
  const std::string empty_home = dir.File("empty-home");
  std::filesystem::create_directories(empty_home);
  const std::string user = WriteUser(dir.File("user.json"), server, "file-quota-project");
  const std::string adc_home = dir.File("adc-home");
  WriteUser(adc_home + "/.config/gcloud/application_default_credentials.json", server,
            "file-quota-project");
  const auto dates = BackfillRunner::Dates("2025-09-01", 12);

  struct Way {
    std::string name;
    std::vector<std::string> flags;
    Env env;
  };
  Env by_env = CleanEnv(empty_home);
  by_env[1].second = user;
  const std::vector<Way> ways = {
      {"--credentials", {"--credentials", user}, CleanEnv(empty_home)},
      {"GOOGLE_APPLICATION_CREDENTIALS", {}, by_env},
      {"the ADC default path", {}, CleanEnv(adc_home)},
  };
  int64_t issued = 0, requests = 0;
  for (const Way& way : ways) {
    SCOPED_TRACE(way.name);
    BackfillRunner runner(dir.File(way.name.substr(2, 6) + ".db"));
    std::vector<std::string> args = runner.Args(server, dates.front(), dates.back(), 1, way.flags);
    const std::string audit = runner.db() + ".audit";
    args.insert(args.end(), {"--audit-log", audit, "--log-level", "debug"});
    CommandResult run = RunCommand(args, seconds(60), way.env);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    runner.ExpectAllDaysMatch(server, dates);
    json::object stats = server.Stats();
    EXPECT_GE(JsonInt(stats, "tokens_issued") - issued, 2)
        << "a 2 s token must be refreshed again during a run of several seconds";
    issued = JsonInt(stats, "tokens_issued");
    // The file's quota_project_id is sent on every request when --quota-project is absent.
    const int64_t sent = JsonInt(stats, "requests") - requests;
    requests = JsonInt(stats, "requests");
    EXPECT_EQ(stats.at("user_project_requests").at("file-quota-project").to_number<int64_t>(),
              requests);
    EXPECT_GE(sent, 12);
    for (const auto& [what, text] : std::vector<std::pair<std::string, std::string>>{
             {"stdout", run.out},
             {"stderr", run.err},
             {"audit log", ReadAll(audit)},
             {"db", ReadAll(runner.db())},
             {"db-wal", ReadAll(runner.db() + "-wal")},
             {"db-shm", ReadAll(runner.db() + "-shm")}}) {
      ExpectNoSecretIn(what, text);
    }
    EXPECT_FALSE(ReadAll(audit).empty()) << "the audit log was written";
  }
}

TEST(LoginTest, QuotaProjectFlagIsSentOnEveryApiRequestAndWinsOverTheFile) {
  TempDir dir;
  MockGsc server({"--refresh-token", kRefreshToken, "--rows-per-day", "50"});
  const std::string user = WriteUser(dir.File("user.json"), server, "file-quota-project");
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-09-01", 5);
  CommandResult run =
      RunCommand(runner.Args(server, dates.front(), dates.back(), 2,
                             {"--credentials", user, "--quota-project", "flag-proj"}),
                 seconds(60), CleanEnv(dir.path().string()));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  CommandResult sites = RunCommand({runner.bin(), "sites", "--api-base", server.base_url(),
                                    "--credentials", user, "--quota-project", "flag-proj"},
                                   seconds(30), CleanEnv(dir.path().string()));
  ASSERT_EQ(sites.exit_code, 0) << sites.out << sites.err;
  json::object stats = server.Stats();
  EXPECT_EQ(JsonInt(stats, "requests"), 5);
  EXPECT_EQ(stats.at("user_project_requests").as_object(),
            (json::object{{"flag-proj", 6}}))  // 5 queries + 1 sites.list
      << json::serialize(stats);
  EXPECT_EQ(JsonInt(stats, "requests_without_user_project"), 0);
  // /__requests shows the header on the query itself.
  json::value seen = json::parse(HttpGet(server.base_url() + "/__requests").body);
  ASSERT_FALSE(seen.as_array().empty());
  for (const json::value& r : seen.as_array()) {
    EXPECT_EQ(r.at("user_project").as_string(), "flag-proj");
  }
}

TEST(LoginTest, SubjectIsTheJwtSubForDomainWideDelegationAndNeedsAServiceAccount) {
  TempDir dir;
  const std::string pem = NewRsaKeyPem();
  auto write_key = [&](const std::string& path, const std::string& token_uri) {
    json::object key{{"type", "service_account"},
                     {"project_id", "test-project"},
                     {"private_key_id", "0123abcd"},
                     {"private_key", pem},
                     {"client_email", "backfill@test-project.iam.gserviceaccount.com"},
                     {"token_uri", token_uri}};
    std::ofstream(path) << json::serialize(key);
    return path;
  };
  write_key(dir.File("server-key.json"), "https://oauth2.googleapis.com/token");
  MockGsc server({"--service-account-key", dir.File("server-key.json"), "--rows-per-day", "50"});
  const std::string key = write_key(dir.File("key.json"), server.base_url() + "/token");
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-09-01", 3);
  CommandResult run =
      RunCommand(runner.Args(server, dates.front(), dates.back(), 1,
                             {"--credentials", key, "--subject", "analyst@example.com"}),
                 seconds(60), CleanEnv(dir.path().string()));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  runner.ExpectAllDaysMatch(server, dates);
  json::object stats = server.Stats();
  EXPECT_EQ(stats.at("jwt_subject_last").as_string(), "analyst@example.com");
  EXPECT_EQ(stats.at("jwt_subjects").as_object().size(), 1u) << json::serialize(stats);
  EXPECT_EQ(JsonInt(stats, "requests"), 3);

  // A bare token cannot act as anyone: refused before any request.
  CommandResult bare = RunCommand(runner.Args(server, dates.front(), dates.back(), 1,
                                              {"--token", "T", "--subject", "analyst@example.com"}),
                                  seconds(30), CleanEnv(dir.path().string()));
  EXPECT_EQ(bare.exit_code, 1) << bare.out << bare.err;
  EXPECT_NE(bare.err.find("--subject needs a service-account key"), std::string::npos) << bare.err;
  EXPECT_EQ(JsonInt(server.Stats(), "requests"), 3);
}

TEST(LoginTest, SitesListsTheMockgscPropertiesWithTheirPermissionLevel) {
  TempDir dir;
  MockGsc server({"--token", "sites-token", "--sites", "sc-domain:a.example,https://b.example/",
                  "--forbid-site", "sc-domain:c.example"});
  BackfillRunner runner(dir.File("ledger.db"));
  const Env env = {{"BATCHFETCH_TOKEN", "sites-token"},
                   {"GOOGLE_APPLICATION_CREDENTIALS", ""},
                   {"HOME", dir.path().string()}};
  CommandResult sites =
      RunCommand({runner.bin(), "sites", "--api-base", server.base_url()}, seconds(30), env);
  ASSERT_EQ(sites.exit_code, 0) << sites.out << sites.err;
  EXPECT_EQ(sites.out,
            "PROPERTY             PERMISSION\n"
            "sc-domain:a.example  siteOwner\n"
            "https://b.example/   siteOwner\n"
            "sc-domain:c.example  siteUnverifiedUser (not verified: no data)\n");
  EXPECT_EQ(JsonInt(server.Stats(), "sites_requests"), 1);

  Env wrong = env;
  wrong[0].second = "wrong-token";
  CommandResult refused =
      RunCommand({runner.bin(), "sites", "--api-base", server.base_url()}, seconds(30), wrong);
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(refused.err.find("401"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("wrong-token"), std::string::npos) << refused.err;

  // No credential and a real API: one line, nothing sent.
  Env none = env;
  none[0].second = "";
  CommandResult no_credential = RunCommand({runner.bin(), "sites"}, seconds(30), none);
  EXPECT_EQ(no_credential.exit_code, 1);
  EXPECT_NE(no_credential.err.find("no credential"), std::string::npos) << no_credential.err;
}

// The types mockgsc was asked for, from its /__requests log (the last 64 queries).
std::set<std::string> RequestedTypes(const MockGsc& server) {
  std::set<std::string> types;
  json::value seen = json::parse(HttpGet(server.base_url() + "/__requests").body);
  for (const json::value& r : seen.as_array()) {
    types.insert(std::string(r.at("body").at("type").as_string()));
  }
  return types;
}

TEST(LoginTest, TypeAllFetchesEveryTypeValidForTheDimensions) {
  TempDir dir;
  const auto dates = BackfillRunner::Dates("2025-09-01", 2);
  {
    MockGsc server({"--rows-per-day", "30"});
    BackfillRunner runner(dir.File("by-page.db"));
    CommandResult run =
        RunCommand(WithoutDimensions(runner.Args(server, dates.front(), dates.back(), 4,
                                                 {"--type", "all", "--preset", "by-page"})),
                   seconds(60), CleanEnv(dir.path().string()));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_EQ(RequestedTypes(server),
              (std::set<std::string>{"web", "image", "video", "news", "discover", "googleNews"}));
    EXPECT_EQ(JsonInt(server.Stats(), "requests"), 12) << "6 types x 2 days, one page each";
  }
  {
    // date,query,page: discover and googleNews have no query dimension.
    MockGsc server({"--rows-per-day", "30"});
    BackfillRunner runner(dir.File("by-query-page.db"));
    CommandResult run =
        RunCommand(runner.Args(server, dates.front(), dates.back(), 4, {"--type", "all"}),
                   seconds(60), CleanEnv(dir.path().string()));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_EQ(RequestedTypes(server), (std::set<std::string>{"web", "image", "video", "news"}));
    EXPECT_EQ(JsonInt(server.Stats(), "requests"), 8);
    runner.ExpectAllDaysMatch(server, dates);
  }
}

TEST(LoginTest, SearchAppearancePresetRunsItsTwoPassesAndABareDomainIsWarnedAbout) {
  TempDir dir;
  MockGsc server({"--rows-per-day", "30"});
  BackfillRunner runner(dir.File("ledger.db"));
  const auto dates = BackfillRunner::Dates("2025-09-01", 2);
  std::vector<std::string> args = WithoutDimensions(
      runner.Args(server, dates.front(), dates.back(), 4, {"--preset", "by-search-appearance"}));
  args.insert(args.end(), {"--site", "example.org"});
  CommandResult run = RunCommand(args, seconds(60), CleanEnv(dir.path().string()));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("--site example.org is neither a domain property nor a URL prefix: "
                         "write sc-domain:example.org or https://example.org/"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("pass 2 of 2"), std::string::npos) << run.err;
  // Pass 1: searchAppearance alone; pass 2: each appearance found as a filter.
  json::value seen = json::parse(HttpGet(server.base_url() + "/__requests").body);
  int first = 0, second = 0;
  std::set<std::string> filtered;
  for (const json::value& r : seen.as_array()) {
    const json::object& body = r.at("body").as_object();
    const json::array& dims = body.at("dimensions").as_array();
    if (dims.size() == 1 && dims[0].as_string() == "searchAppearance") {
      ++first;
      EXPECT_EQ(body.if_contains("dimensionFilterGroups"), nullptr);
    } else {
      ++second;
      EXPECT_EQ(json::serialize(dims), R"(["date","page"])");
      const json::value& filter = body.at("dimensionFilterGroups").at(0).at("filters").at(0);
      EXPECT_EQ(filter.at("dimension").as_string(), "searchAppearance");
      filtered.insert(std::string(filter.at("expression").as_string()));
    }
  }
  EXPECT_EQ(first, 4) << "2 sites x 2 days";
  EXPECT_GT(second, 0);
  EXPECT_GE(filtered.size(), 2u);
}

}  // namespace
}  // namespace batchfetch::testing
