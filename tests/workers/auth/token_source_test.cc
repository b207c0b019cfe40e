#include "workers/token_source.h"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "tests/support/http_client.h"
#include "tests/support/mockgsc_process.h"
#include "tests/support/rsa_key.h"
#include "tests/support/temp_dir.h"
#include "workers/command_token_source.h"
#include "workers/http_client.h"
#include "workers/jwt.h"
#include "workers/oauth_token_response.h"
#include "workers/service_account_token_source.h"
#include "workers/static_token_source.h"
#include "workers/token_error.h"

namespace batchfetch {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::MockGsc;
using testing::NewRsaKeyPem;
using testing::TempDir;

struct Got {
  boost::system::error_code ec;
  std::string token;
  std::string error;
};

asio::awaitable<Got> GetToken(TokenSource& source) {
  Got got;
  got.ec = co_await source.Token(&got.token, &got.error);
  co_return got;
}

// Runs `work` on io until it completes and returns its result.
template <typename T>
T RunOn(asio::io_context& io, asio::awaitable<T> work) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    failure = e;
    result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

Got TokenOf(asio::io_context& io, TokenSource& source) { return RunOn(io, GetToken(source)); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A message may name a credential but must never quote a secret.
void ExpectNoSecret(const std::string& message, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    EXPECT_EQ(message.find(secret), std::string::npos) << "secret leaked into: " << message;
  }
  EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

// --- StaticTokenSource ---------------------------------------------------------------

TEST(StaticTokenSourceTest, GivesItsTokenUntilRejected) {
  asio::io_context io;
  StaticTokenSource source("tok-static-123", "BATCHFETCH_TOKEN");
  Got got = TokenOf(io, source);
  ASSERT_FALSE(got.ec) << got.error;
  EXPECT_EQ(got.token, "tok-static-123");
  EXPECT_EQ(source.Describe(), "BATCHFETCH_TOKEN");

  source.Invalidate("some-other-token");  // not ours: ignored
  EXPECT_FALSE(TokenOf(io, source).ec);

  source.Invalidate("tok-static-123");
  got = TokenOf(io, source);
  EXPECT_EQ(got.ec, TokenError::kRejected);
  EXPECT_FALSE(IsTransientTokenError(got.ec));
  EXPECT_NE(got.error.find("BATCHFETCH_TOKEN was rejected (401); give a fresh one"),
            std::string::npos)
      << got.error;
  ExpectNoSecret(got.error, {"tok-static-123"});
}

// --- CommandTokenSource --------------------------------------------------------------

class CommandTokenSourceTest : public ::testing::Test {
 protected:
  // A script that prints tok-1, tok-2, ... on successive runs.
  std::string CountingCommand() {
    const std::string counter = dir_.File("count");
    const std::string script = dir_.File("count.sh");
    WriteFile(script, "n=$(cat '" + counter + "' 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > '" +
                          counter + "'\nprintf '  tok-%s \\n\\n' \"$n\"\n");
    return "sh " + script;
  }

  CommandTokenSource Source(const std::string& command, std::chrono::seconds timeout = 10s) {
    return CommandTokenSource(command, 3000s, timeout, clock_);
  }

  asio::io_context io_;
  FakeClock clock_;
  TempDir dir_;
};

TEST_F(CommandTokenSourceTest, TrimsTheCommandOutput) {
  auto source = Source(CountingCommand());
  Got got = TokenOf(io_, source);
  ASSERT_FALSE(got.ec) << got.error;
  EXPECT_EQ(got.token, "tok-1");
  EXPECT_EQ(source.Describe(), "--token-cmd 'sh ...'");  // never the arguments: secrets
}

TEST_F(CommandTokenSourceTest, ReusesTheTokenForItsLifetimeThenRunsAgain) {
  auto source = Source(CountingCommand());
  EXPECT_EQ(TokenOf(io_, source).token, "tok-1");
  clock_.Advance(2999s);
  EXPECT_EQ(TokenOf(io_, source).token, "tok-1");
  EXPECT_EQ(source.runs(), 1);
  clock_.Advance(1s);
  EXPECT_EQ(TokenOf(io_, source).token, "tok-2");
  EXPECT_EQ(source.runs(), 2);
}

TEST_F(CommandTokenSourceTest, RunsAgainAfterInvalidateOfTheCurrentTokenOnly) {
  auto source = Source(CountingCommand());
  EXPECT_EQ(TokenOf(io_, source).token, "tok-1");
  source.Invalidate("tok-1");
  EXPECT_EQ(TokenOf(io_, source).token, "tok-2");
  source.Invalidate("tok-1");  // a stale 401 from a request sent with the old token
  EXPECT_EQ(TokenOf(io_, source).token, "tok-2");
  EXPECT_EQ(source.runs(), 2);
}

TEST_F(CommandTokenSourceTest, ConcurrentCallersShareOneRun) {
  auto source = Source(CountingCommand());
  std::vector<Got> results(8);
  for (Got& result : results) {
    asio::co_spawn(io_, GetToken(source), [&result](std::exception_ptr e, Got got) {
      if (e) std::rethrow_exception(e);
      result = std::move(got);
    });
  }
  io_.run();
  for (const Got& got : results) EXPECT_EQ(got.token, "tok-1") << got.error;
  EXPECT_EQ(source.runs(), 1);
}

TEST_F(CommandTokenSourceTest, FailingCommandGivesExitStatusAndStderrButNoStdout) {
  const std::string script = dir_.File("fail.sh");
  WriteFile(script,
            "echo ya29.secret-token-on-stdout\n"
            "echo '' >&2\n"
            "echo 'ERROR: (gcloud.auth.print-access-token) You do not currently have an "
            "active account selected.' >&2\n"
            "echo 'second line' >&2\nexit 3\n");
  auto source = Source("sh " + script);
  Got got = TokenOf(io_, source);
  EXPECT_EQ(got.ec, TokenError::kCommandFailed);
  EXPECT_EQ(got.error,
            "--token-cmd 'sh ...' failed (exit status 3): ERROR: (gcloud.auth.print-access-token) "
            "You do not currently have an active account selected.");
  ExpectNoSecret(got.error, {"ya29.secret-token-on-stdout"});
}

TEST_F(CommandTokenSourceTest, EmptyOutputIsAnError) {
  auto source = Source("true");
  Got got = TokenOf(io_, source);
  EXPECT_EQ(got.ec, TokenError::kCommandFailed);
  EXPECT_EQ(got.error, "--token-cmd 'true' printed no token");
}

TEST_F(CommandTokenSourceTest, OutputOfSeveralWordsIsAnError) {
  const std::string script = dir_.File("prompt.sh");
  WriteFile(script, "echo 'Enter your password:'\n");
  auto source = Source("sh " + script);
  Got got = TokenOf(io_, source);
  EXPECT_EQ(got.ec, TokenError::kCommandFailed);
  EXPECT_NE(got.error.find("printed more than one word"), std::string::npos) << got.error;
  ExpectNoSecret(got.error, {"Enter your password"});
}

TEST_F(CommandTokenSourceTest, MissingProgramReportsTheShellsComplaint) {
  auto source = Source("no-such-program-batchfetch-test");
  Got got = TokenOf(io_, source);
  EXPECT_EQ(got.ec, TokenError::kCommandFailed);
  EXPECT_NE(got.error.find("failed (exit status 127)"), std::string::npos) << got.error;
  EXPECT_NE(got.error.find("not found"), std::string::npos) << got.error;
}

TEST_F(CommandTokenSourceTest, SlowCommandIsKilledAtTheTimeout) {
  auto source = Source("sleep 30", 1s);
  const auto start = std::chrono::steady_clock::now();
  Got got = TokenOf(io_, source);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(got.ec, TokenError::kCommandFailed);
  EXPECT_EQ(got.error, "--token-cmd 'sleep ...' timed out after 1 s");
}

TEST_F(CommandTokenSourceTest, CancellingTheCallerKillsTheCommandAtOnce) {
  auto source = Source("sleep 30");
  asio::cancellation_signal cancel;
  std::optional<Got> result;
  asio::co_spawn(io_, GetToken(source),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, Got got) {
                   if (e) std::rethrow_exception(e);
                   result = std::move(got);
                 }));
  asio::steady_timer timer(io_, 100ms);
  timer.async_wait([&](auto) { cancel.emit(asio::cancellation_type::terminal); });
  const auto start = std::chrono::steady_clock::now();
  io_.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ec, asio::error::operation_aborted);
}

// --- ServiceAccountTokenSource against mockgsc ----------------------------------------

constexpr char kEmail[] = "backfill@test-project.iam.gserviceaccount.com";
constexpr char kSite[] = "sc-domain:example.com";
constexpr char kQueryBody[] =
    R"({"startDate":"2024-03-01","endDate":"2024-03-01","dimensions":["date","query"],"rowLimit":5})";

class ServiceAccountTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_pem_ = new std::string(NewRsaKeyPem());
    other_pem_ = new std::string(NewRsaKeyPem());
  }
  static void TearDownTestSuite() {
    delete server_pem_;
    delete other_pem_;
  }

  // Writes a key file; token_uri defaults to the running mockgsc's /token.
  std::string WriteKey(const std::string& name, const std::string& pem,
                       std::optional<std::string> token_uri = std::nullopt) {
    json::object key{{"type", "service_account"},
                     {"project_id", "test-project"},
                     {"private_key_id", "0123abcd"},
                     {"private_key", pem},
                     {"client_email", kEmail},
                     {"token_uri", token_uri ? *token_uri : mock_->base_url() + "/token"}};
    const std::string path = dir_.File(name);
    WriteFile(path, json::serialize(key));
    return path;
  }

  // Starts mockgsc with the server key; tokens it issues live lifetime_s seconds.
  void StartMock(int lifetime_s = 3600) {
    WriteKey("server-key.json", *server_pem_, "https://oauth2.googleapis.com/token");
    mock_ = std::make_unique<MockGsc>(
        std::vector<std::string>{"--service-account-key", dir_.File("server-key.json"),
                                 "--token-lifetime-s", std::to_string(lifetime_s)});
  }

  std::unique_ptr<TokenSource> Make(const std::string& key_path, std::string* error) {
    TokenSourceOptions options;
    options.credentials = key_path;
    options.clock = &clock_;
    return MakeTokenSource(options, io_.get_executor(), http_, error);
  }

  int QueryStatus(const std::string& token) {
    return testing::HttpPost(mock_->QueryUrl(kSite), kQueryBody,
                             {{"Authorization", "Bearer " + token}})
        .status;
  }

  int64_t TokensIssued() { return mock_->Stats().at("tokens_issued").as_int64(); }

  static std::string* server_pem_;
  static std::string* other_pem_;
  asio::io_context io_;
  HttpClient http_{io_.get_executor()};
  FakeClock clock_;
  TempDir dir_;
  std::unique_ptr<MockGsc> mock_;
};

std::string* ServiceAccountTest::server_pem_ = nullptr;
std::string* ServiceAccountTest::other_pem_ = nullptr;

TEST_F(ServiceAccountTest, GetsATokenThatTheApiAccepts) {
  StartMock();
  std::string error;
  auto source = Make(WriteKey("key.json", *server_pem_), &error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->Describe(),
            std::string("service account ") + kEmail + " (" + dir_.File("key.json") + ")");

  Got got = TokenOf(io_, *source);
  ASSERT_FALSE(got.ec) << got.error;
  EXPECT_EQ(QueryStatus(got.token), 200);
  EXPECT_EQ(QueryStatus("ya29.forged"), 401);
  EXPECT_EQ(TokensIssued(), 1);
  EXPECT_EQ(source->QuotaPrincipal(), kEmail);

  EXPECT_EQ(TokenOf(io_, *source).token, got.token);  // cached
  EXPECT_EQ(TokensIssued(), 1);
}

TEST_F(ServiceAccountTest, RefreshesAheadOfExpiryAndAfterA401WhenTheTokenExpiresMidRun) {
  StartMock(/*lifetime_s=*/2);
  std::string error;
  auto source = Make(WriteKey("key.json", *server_pem_), &error);
  ASSERT_TRUE(source) << error;

  Got first = TokenOf(io_, *source);
  ASSERT_FALSE(first.ec) << first.error;
  EXPECT_EQ(QueryStatus(first.token), 200);

  // The server's clock is real: let the 2 s token expire there.
  std::this_thread::sleep_for(2200ms);
  EXPECT_EQ(QueryStatus(first.token), 401);
  // Our clock has not moved, so the source still believes in the token until told.
  EXPECT_EQ(TokenOf(io_, *source).token, first.token);
  source->Invalidate(first.token);
  Got second = TokenOf(io_, *source);
  ASSERT_FALSE(second.ec) << second.error;
  EXPECT_NE(second.token, first.token);
  EXPECT_EQ(QueryStatus(second.token), 200);
  EXPECT_EQ(TokensIssued(), 2);

  // A 2 s token is refreshed after half its life, before the server would refuse it.
  clock_.Advance(999ms);
  EXPECT_EQ(TokenOf(io_, *source).token, second.token);
  clock_.Advance(1ms);
  Got third = TokenOf(io_, *source);
  ASSERT_FALSE(third.ec) << third.error;
  EXPECT_NE(third.token, second.token);
  EXPECT_EQ(QueryStatus(third.token), 200);
  EXPECT_EQ(TokensIssued(), 3);
}

TEST_F(ServiceAccountTest, AnHourTokenIsRefreshedFiveMinutesBeforeItExpires) {
  StartMock(3600);
  std::string error;
  auto source = Make(WriteKey("key.json", *server_pem_), &error);
  ASSERT_TRUE(source) << error;
  const std::string first = TokenOf(io_, *source).token;
  clock_.Advance(54min + 59s);
  EXPECT_EQ(TokenOf(io_, *source).token, first);
  clock_.Advance(1s);
  EXPECT_NE(TokenOf(io_, *source).token, first);
  EXPECT_EQ(TokensIssued(), 2);
}

TEST_F(ServiceAccountTest, AWrongKeyIsRefusedWithAMessageNamingTheFileAndAccount) {
  StartMock();
  std::string error;
  const std::string path = WriteKey("wrong-key.json", *other_pem_);
  auto source = Make(path, &error);
  ASSERT_TRUE(source) << error;
  Got got = TokenOf(io_, *source);
  EXPECT_EQ(got.ec, TokenError::kEndpointRejected);
  EXPECT_FALSE(IsTransientTokenError(got.ec));
  EXPECT_EQ(got.error, std::string("service account ") + kEmail + " (" + path +
                           "): token endpoint " + mock_->base_url() +
                           "/token answered 400 (invalid_grant: Invalid JWT Signature.)");
  ExpectNoSecret(got.error, {other_pem_->substr(200, 40), server_pem_->substr(200, 40)});
  EXPECT_EQ(TokensIssued(), 0);
}

TEST_F(ServiceAccountTest, AnUnreachableEndpointIsTransient) {
  StartMock();
  const uint16_t port = mock_->port();
  mock_->Stop();
  std::string error;
  auto source = Make(
      WriteKey("key.json", *server_pem_, "http://127.0.0.1:" + std::to_string(port) + "/token"),
      &error);
  ASSERT_TRUE(source) << error;
  Got got = TokenOf(io_, *source);
  EXPECT_EQ(got.ec, TokenError::kEndpointUnavailable);
  EXPECT_TRUE(IsTransientTokenError(got.ec));
  EXPECT_NE(got.error.find("cannot reach token endpoint http://127.0.0.1:"), std::string::npos)
      << got.error;
}

TEST_F(ServiceAccountTest, BadKeyFilesAreReportedAtStartupWithoutTheirContents) {
  StartMock();
  const std::string garbage_pem =
      "-----BEGIN PRIVATE "
      "KEY-----\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lC\n"
      "-----END PRIVATE KEY-----\n";
  struct Case {
    std::string name;
    std::string content;
    std::string error_part;
  };
  const std::vector<Case> cases = {
      {"missing.json", "", "cannot be read"},
      {"not-json.json", "private_key = " + garbage_pem, "not a JSON object"},
      {"external.json", R"({"type":"external_account","client_secret":"s3cr3t-client"})",
       "expected \"service_account\" or \"authorized_user\""},
      {"no-email.json",
       json::serialize(json::object{{"type", "service_account"}, {"private_key", garbage_pem}}),
       "\"client_email\" is missing"},
      {"garbage-pem.json",
       json::serialize(json::object{
           {"type", "service_account"}, {"client_email", kEmail}, {"private_key", garbage_pem}}),
       "private_key is not a PEM private key"},
      {"plain-http.json",
       json::serialize(json::object{{"type", "service_account"},
                                    {"client_email", kEmail},
                                    {"private_key", *server_pem_},
                                    {"token_uri", "http://oauth2.example.com/token"}}),
       "must be an https:// URL"},
  };
  for (const Case& c : cases) {
    const std::string path = dir_.File(c.name);
    if (!c.content.empty()) WriteFile(path, c.content);
    std::string error;
    EXPECT_EQ(Make(path, &error), nullptr) << c.name;
    EXPECT_EQ(error.rfind("--credentials: service-account key " + path + ": ", 0), 0u)
        << c.name << ": " << error;
    EXPECT_NE(error.find(c.error_part), std::string::npos) << c.name << ": " << error;
    ExpectNoSecret(error, {"TUlJRXZRSUJB", "s3cr3t-client", server_pem_->substr(200, 40)});
  }
}

TEST_F(ServiceAccountTest, MockgscRefusesForgedOrStaleAssertions) {
  StartMock();
  const std::string token_url = mock_->base_url() + "/token";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto post = [&](const std::string& pem, json::object claims, const std::string& alg = "RS256") {
    std::string error;
    auto jwt = SignJwtRs256(json::serialize(json::object{{"alg", alg}, {"typ", "JWT"}}),
                            json::serialize(claims), pem, &error);
    EXPECT_TRUE(jwt) << error;
    auto response = testing::HttpPost(
        token_url,
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" +
            jwt.value_or(""),
        {{"Content-Type", "application/x-www-form-urlencoded"}});
    return std::make_pair(response.status, response.body);
  };
  const json::object good{{"iss", kEmail},
                          {"scope", ServiceAccountTokenSource::kScope},
                          {"aud", token_url},
                          {"iat", now},
                          {"exp", now + 3600}};
  EXPECT_EQ(post(*server_pem_, good).first, 200);

  auto with = [&](const char* field, json::value value) {
    json::object claims = good;
    claims[field] = std::move(value);
    return claims;
  };
  struct Case {
    const char* what;
    std::pair<int, std::string> got;
    const char* body_part;
  };
  const std::vector<Case> cases = {
      {"other key", post(*other_pem_, good), "Invalid JWT Signature."},
      {"alg HS256", post(*server_pem_, good, "HS256"), "alg must be RS256"},
      {"other issuer", post(*server_pem_, with("iss", "mallory@example.com")),
       "Invalid email or User ID"},
      {"expired", post(*server_pem_, with("exp", now - 10)), "short-lived token"},
      {"two hours", post(*server_pem_, with("exp", now + 7200)), "short-lived token"},
      {"other scope",
       post(*server_pem_, with("scope", "https://www.googleapis.com/auth/cloud-platform")),
       "invalid_scope"},
      {"other audience", post(*server_pem_, with("aud", "https://example.com/")),
       "aud must be the token endpoint"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.got.first, 400) << c.what;
    EXPECT_NE(c.got.second.find(c.body_part), std::string::npos) << c.what << ": " << c.got.second;
  }
  EXPECT_EQ(testing::HttpPost(token_url, "grant_type=password&assertion=x",
                              {{"Content-Type", "application/x-www-form-urlencoded"}})
                .status,
            400);
  EXPECT_EQ(TokensIssued(), 1);
}

TEST_F(ServiceAccountTest, ASubjectIsSignedIntoTheJwtAsSubForDomainWideDelegation) {
  StartMock();
  const std::string key = WriteKey("key.json", *server_pem_);
  TokenSourceOptions options;
  options.credentials = key;
  options.subject = "analyst@example.com";
  options.clock = &clock_;
  std::string error;
  auto source = MakeTokenSource(options, io_.get_executor(), http_, &error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->Describe(), std::string("service account ") + kEmail +
                                    " acting as analyst@example.com (" + key + ")");
  EXPECT_EQ(source->QuotaPrincipal(), "analyst@example.com") << "the API counts the user";
  Got got = TokenOf(io_, *source);
  ASSERT_FALSE(got.ec) << got.error;
  EXPECT_EQ(QueryStatus(got.token), 200);
  json::object stats = mock_->Stats();
  EXPECT_EQ(stats.at("jwt_subject_last").as_string(), "analyst@example.com");
  EXPECT_EQ(stats.at("jwt_subjects").as_object().at("analyst@example.com").as_int64(), 1);
}

TEST_F(ServiceAccountTest, WithoutASubjectTheJwtHasNoSub) {
  StartMock();
  std::string error;
  auto source = Make(WriteKey("key.json", *server_pem_), &error);
  ASSERT_TRUE(source) << error;
  ASSERT_FALSE(TokenOf(io_, *source).ec);
  json::object stats = mock_->Stats();
  EXPECT_EQ(stats.at("jwt_subject_last").as_string(), "");
  EXPECT_EQ(stats.at("jwt_subjects").as_object().at("").as_int64(), 1);
}

// --- AuthorizedUserTokenSource against mockgsc ----------------------------------------

constexpr char kRefreshToken[] = "1//0g-refresh-s3cr3t";
constexpr char kClientSecret[] = "GOCSPX-client-s3cr3t";

class AuthorizedUserTest : public ::testing::Test {
 protected:
  AuthorizedUserTest() : mock_({"--refresh-token", kRefreshToken}) {}

  // Writes user credentials as gcloud does; token_uri is the running mockgsc's /token.
  std::string WriteUser(
      const std::string& name, const std::string& refresh_token,
      const std::string& client_id = "764086051850-abc.apps.googleusercontent.com") {
    json::object creds{{"type", "authorized_user"},
                       {"client_id", client_id},
                       {"client_secret", kClientSecret},
                       {"refresh_token", refresh_token},
                       {"token_uri", mock_.base_url() + "/token"}};
    const std::string path = dir_.File(name);
    WriteFile(path, json::serialize(creds));
    return path;
  }

  std::unique_ptr<TokenSource> Make(const std::string& path, std::string* error) {
    TokenSourceOptions options;
    options.env_credentials = path;
    options.clock = &clock_;
    return MakeTokenSource(options, io_.get_executor(), http_, error);
  }

  asio::io_context io_;
  HttpClient http_{io_.get_executor()};
  FakeClock clock_;
  TempDir dir_;
  MockGsc mock_;
};

TEST_F(AuthorizedUserTest, GetsATokenThatTheApiAcceptsWithAPrincipalWithoutSecrets) {
  std::string error;
  auto source = Make(WriteUser("adc.json", kRefreshToken), &error);
  ASSERT_TRUE(source) << error;
  Got got = TokenOf(io_, *source);
  ASSERT_FALSE(got.ec) << got.error;
  EXPECT_EQ(testing::HttpPost(mock_.QueryUrl(kSite), kQueryBody,
                              {{"Authorization", "Bearer " + got.token}})
                .status,
            200);
  EXPECT_EQ(TokenOf(io_, *source).token, got.token);  // cached
  const std::string principal = source->QuotaPrincipal();
  EXPECT_EQ(principal.rfind("user:764086051850-abc.apps.googleusercontent.com:", 0), 0u)
      << principal;
  EXPECT_EQ(principal.size(),
            std::string("user:764086051850-abc.apps.googleusercontent.com:").size() + 16);
  ExpectNoSecret(principal, {kRefreshToken, kClientSecret, got.token});
  ExpectNoSecret(source->Describe(), {kRefreshToken, kClientSecret});
}

TEST_F(AuthorizedUserTest, OneLoginIsOnePrincipalAndAnotherLoginAnother) {
  std::string error;
  auto a = Make(WriteUser("a.json", kRefreshToken), &error);
  auto again = Make(WriteUser("again.json", kRefreshToken), &error);
  auto other = Make(WriteUser("other.json", "1//0g-another-login"), &error);
  ASSERT_TRUE(a && again && other) << error;
  EXPECT_EQ(a->QuotaPrincipal(), again->QuotaPrincipal());
  EXPECT_NE(a->QuotaPrincipal(), other->QuotaPrincipal());
}

TEST_F(AuthorizedUserTest, ARevokedRefreshTokenIsRejectedWithoutQuotingSecrets) {
  std::string error;
  auto source = Make(WriteUser("revoked.json", "1//0g-revoked-s3cr3t"), &error);
  ASSERT_TRUE(source) << error;
  Got got = TokenOf(io_, *source);
  EXPECT_EQ(got.ec, TokenError::kEndpointRejected);
  EXPECT_NE(got.error.find("invalid_grant"), std::string::npos) << got.error;
  EXPECT_NE(got.error.find(dir_.File("revoked.json")), std::string::npos) << got.error;
  ExpectNoSecret(got.error, {"1//0g-revoked-s3cr3t", kClientSecret});
}

TEST_F(AuthorizedUserTest, AnIncompleteFileIsReportedAtStartup) {
  const std::string path = dir_.File("incomplete.json");
  WriteFile(path, R"({"type":"authorized_user","client_id":"c","client_secret":"GOCSPX-x"})");
  std::string error;
  EXPECT_EQ(Make(path, &error), nullptr);
  EXPECT_EQ(error, "GOOGLE_APPLICATION_CREDENTIALS: user credentials " + path +
                       ": \"refresh_token\" is missing");
  ExpectNoSecret(error, {"GOCSPX-x"});
}

// quota_project_id goes into the x-goog-user-project header of every request.
TEST_F(AuthorizedUserTest, AQuotaProjectWithAControlCharacterIsRefusedAtStartup) {
  const std::string path = dir_.File("forged.json");
  json::object creds{{"type", "authorized_user"},
                     {"client_id", "c"},
                     {"client_secret", kClientSecret},
                     {"refresh_token", kRefreshToken},
                     {"quota_project_id", "p\r\nX-Forged: 1"}};
  WriteFile(path, json::serialize(creds));
  std::string error;
  EXPECT_EQ(Make(path, &error), nullptr);
  EXPECT_NE(error.find("\"quota_project_id\" holds a control character"), std::string::npos)
      << error;
  ExpectNoSecret(error, {kRefreshToken, kClientSecret, "X-Forged"});
}

// A token endpoint's access_token goes into the Authorization header as is.
TEST(ReadTokenResponseTest, AnAccessTokenThatIsNotOnePrintableWordIsABadAnswer) {
  HttpResponse response;
  response.status = 200;
  response.body = R"({"access_token":"ya29.a\r\nX-Forged: 1","token_type":"Bearer"})";
  TokenCache::Fetched got =
      ReadTokenResponse({}, response, "user credentials", "https://oauth2.googleapis.com/token");
  EXPECT_EQ(got.ec, TokenError::kBadTokenResponse);
  EXPECT_TRUE(got.token.empty());
  EXPECT_NE(got.error.find("not one printable word"), std::string::npos) << got.error;
  ExpectNoSecret(got.error, {"ya29", "X-Forged"});
  response.body = R"({"access_token":"ya29.fine","token_type":"Bearer","expires_in":3600})";
  got = ReadTokenResponse({}, response, "user credentials", "https://oauth2.googleapis.com/token");
  EXPECT_FALSE(got.ec) << got.error;
  EXPECT_EQ(got.token, "ya29.fine");
}

// --- MakeTokenSource -----------------------------------------------------------------

// A token goes into the Authorization header as is: a CR or LF in it would forge a header.
TEST(MakeTokenSourceTest, ATokenThatIsNotOnePrintableWordIsRefusedWithoutShowingIt) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  for (const std::string bad : {"T0KEN\r\nX-Forged: 1", "T0KEN\n", "T0 KEN", "T0\x1bKEN"}) {
    TokenSourceOptions env, flag;
    env.env_token = bad;
    flag.token = bad;
    for (const TokenSourceOptions* options : {&env, &flag}) {
      std::string error;
      EXPECT_EQ(MakeTokenSource(*options, io.get_executor(), http, &error), nullptr);
      EXPECT_NE(error.find("not one printable word"), std::string::npos) << error;
      ExpectNoSecret(error, {"T0"});
    }
  }
}

TEST(MakeTokenSourceTest, EveryBareTokenHasTheSameQuotaPrincipalHoweverItIsGiven) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  std::string error;
  TokenSourceOptions env, flag, command;
  env.env_token = "T";
  flag.token = "T";
  command.token_cmd = "echo T";
  for (const TokenSourceOptions* options : {&env, &flag, &command}) {
    auto source = MakeTokenSource(*options, io.get_executor(), http, &error);
    ASSERT_TRUE(source) << error;
    EXPECT_EQ(source->QuotaPrincipal(), "bearer") << source->Describe();
  }
}

TEST(MakeTokenSourceTest, ChoosesByWhatIsGivenAndRefusesTwoAtOnce) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  std::string error;

  EXPECT_EQ(MakeTokenSource({}, io.get_executor(), http, &error), nullptr);
  EXPECT_EQ(error, "");

  TokenSourceOptions options;
  options.env_token = "tok-env";
  EXPECT_EQ(MakeTokenSource(options, io.get_executor(), http, &error)->Describe(),
            "BATCHFETCH_TOKEN");
  options.token = "tok-flag";
  auto flag = MakeTokenSource(options, io.get_executor(), http, &error);
  EXPECT_EQ(flag->Describe(), "--token");
  EXPECT_EQ(TokenOf(io, *flag).token, "tok-flag");
  options.token.clear();
  options.token_cmd = "echo tok";
  EXPECT_EQ(MakeTokenSource(options, io.get_executor(), http, &error)->Describe(),
            "--token-cmd 'echo ...'");

  options.token = "tok-flag";
  EXPECT_EQ(MakeTokenSource(options, io.get_executor(), http, &error), nullptr);
  EXPECT_EQ(error, "give only one of --token, --token-cmd and --credentials");

  TokenSourceOptions from_env;
  from_env.env_credentials = "/nonexistent/key.json";
  EXPECT_EQ(MakeTokenSource(from_env, io.get_executor(), http, &error), nullptr);
  EXPECT_EQ(error,
            "GOOGLE_APPLICATION_CREDENTIALS: service-account key /nonexistent/key.json: cannot "
            "be read");
}

TEST(MakeTokenSourceTest, ASubjectNeedsAServiceAccountKey) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  TempDir dir;
  const std::string user = dir.File("adc.json");
  WriteFile(user, R"({"type":"authorized_user","client_id":"c","client_secret":"GOCSPX-x",)"
                  R"("refresh_token":"1//r","token_uri":"http://127.0.0.1:9/token"})");
  std::string error;
  TokenSourceOptions bare;
  bare.token_cmd = "echo T";
  bare.subject = "analyst@example.com";
  EXPECT_EQ(MakeTokenSource(bare, io.get_executor(), http, &error), nullptr);
  EXPECT_EQ(error,
            "--subject needs a service-account key (--credentials or "
            "GOOGLE_APPLICATION_CREDENTIALS)");
  TokenSourceOptions nothing;
  nothing.subject = "analyst@example.com";
  EXPECT_EQ(MakeTokenSource(nothing, io.get_executor(), http, &error), nullptr);
  EXPECT_NE(error, "");
  TokenSourceOptions with_user;
  with_user.credentials = user;
  with_user.subject = "analyst@example.com";
  EXPECT_EQ(MakeTokenSource(with_user, io.get_executor(), http, &error), nullptr);
  EXPECT_EQ(error, "--subject needs a service-account key; --credentials " + user +
                       " holds user credentials");
}

TEST(MakeTokenSourceTest, TheGcloudAdcFileIsTheLastFallback) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  TempDir dir;
  EXPECT_EQ(AdcDefaultPath("/home/u"),
            "/home/u/.config/gcloud/application_default_credentials.json");
  EXPECT_EQ(AdcDefaultPath(""), "");
  const std::string adc = dir.File("adc.json");
  WriteFile(adc, R"({"type":"authorized_user","client_id":"c","client_secret":"GOCSPX-x",)"
                 R"("refresh_token":"1//r","quota_project_id":"billing-project"})");
  std::string error;
  TokenSourceOptions options;
  options.adc_path = adc;
  auto source = MakeTokenSource(options, io.get_executor(), http, &error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->Describe(), "user credentials of client c (" + adc + ")");
  EXPECT_EQ(source->QuotaProject(), "billing-project");
  options.env_token = "T";  // anything given explicitly or in the environment wins
  EXPECT_EQ(MakeTokenSource(options, io.get_executor(), http, &error)->Describe(),
            "BATCHFETCH_TOKEN");
  options.env_token.clear();
  options.env_credentials = "/nonexistent/key.json";
  EXPECT_EQ(MakeTokenSource(options, io.get_executor(), http, &error), nullptr);
  EXPECT_NE(error.find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos) << error;
}

TEST(MakeTokenSourceTest, ReadEnvironmentFindsTheAdcFileUnderHomeOnlyWhenItExists) {
  TempDir dir;
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", dir.path().string().c_str(), 1);
  TokenSourceOptions absent;
  absent.ReadEnvironment();
  EXPECT_EQ(absent.adc_path, "");
  ASSERT_EQ(std::system(("mkdir -p '" + dir.path().string() + "/.config/gcloud'").c_str()), 0);
  WriteFile(AdcDefaultPath(dir.path().string()), "{}");
  TokenSourceOptions present;
  present.ReadEnvironment();
  EXPECT_EQ(present.adc_path, AdcDefaultPath(dir.path().string()));
  if (old_home) ::setenv("HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace batchfetch
