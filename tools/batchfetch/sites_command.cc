// batchfetch sites: the Search Console properties the credential can read (sites.list),
// with the permission level on each; the same login flags as backfill.

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "core/clock.h"
#include "tools/batchfetch/api_base.h"
#include "tools/batchfetch/commands.h"
#include "tools/batchfetch/login_options.h"
#include "tools/batchfetch/site_list.h"
#include "workers/error_classifier.h"
#include "workers/http_client.h"
#include "workers/token_source.h"

namespace batchfetch {

namespace {

namespace asio = boost::asio;

struct SitesFlags {
  std::string api_base = "https://www.googleapis.com";
  std::string token, token_cmd, credentials, subject, quota_project;
  double request_timeout_s = 60;
};

constexpr char kSitesExample[] =
    "example: batchfetch sites --credentials key.json   (or gcloud auth "
    "application-default login first)";

// GETs the property list: one token, one request, once more after a 401 with a fresh
// token. Returns the exit code; prints the table on stdout or one line on stderr.
asio::awaitable<int> ListSites(const SitesFlags& flags, TokenSource* tokens,
                               const std::string& quota_project, HttpClient& http) {
  for (int attempt = 0;; ++attempt) {
    HttpRequest request;
    request.url = SitesUrl(flags.api_base);
    request.timeout = std::chrono::milliseconds(std::llround(flags.request_timeout_s * 1000));
    if (!quota_project.empty()) request.headers.push_back("x-goog-user-project: " + quota_project);
    std::string token;
    if (tokens) {
      std::string error;
      if (boost::system::error_code ec = co_await tokens->Token(&token, &error)) {
        std::fprintf(stderr, "batchfetch sites: %s\n", error.c_str());
        co_return kExitHalted;
      }
      request.headers.push_back("Authorization: Bearer " + token);
    }
    auto [ec, response] =
        co_await http.AsyncPerform(std::move(request), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      std::fprintf(stderr, "batchfetch sites: %s\n", ec.message().c_str());
      co_return kExitHalted;
    }
    const Classification c = Classify(response, WallClock::now());
    if (c.kind == ErrorKind::kUnauthorized && tokens && attempt == 0) {
      tokens->Invalidate(token);
      continue;
    }
    if (c.kind != ErrorKind::kNone) {
      std::fprintf(stderr, "batchfetch sites: %s\n", c.reason.c_str());
      co_return kExitHalted;
    }
    std::string error;
    auto entries = ParseSiteList(response.body, &error);
    if (!entries) {
      std::fprintf(stderr, "batchfetch sites: %s\n", error.c_str());
      co_return kExitHalted;
    }
    std::fputs(FormatSiteList(*entries).c_str(), stdout);
    std::fflush(stdout);
    co_return kExitOk;
  }
}

}  // namespace

int SitesCommand(int argc, char** argv) {
  SitesFlags flags;
  CLI::App app{
      "batchfetch sites: the Search Console properties this credential can read, with "
      "its permission level on each",
      "batchfetch sites"};
  AddLoginOptions(app, flags);
  app.add_option("--request-timeout", flags.request_timeout_s, "seconds the request may take")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "batchfetch sites: %s\n%s\n", e.what(), kSitesExample);
    return kExitUsage;
  }
  auto usage = [](const std::string& error) {
    std::fprintf(stderr, "batchfetch sites: %s\n%s\n", error.c_str(), kSitesExample);
    return kExitUsage;
  };
  const ApiBaseCheck api = CheckApiBase(flags.api_base);
  if (!api.error.empty()) return usage(api.error);

  TokenSourceOptions options;
  options.token = flags.token;
  options.token_cmd = flags.token_cmd;
  options.credentials = flags.credentials;
  options.subject = flags.subject;
  options.ReadEnvironment();
  if (!flags.token.empty() || !flags.token_cmd.empty() || !flags.credentials.empty()) {
    options.env_credentials.clear();  // an explicit credential wins
    options.adc_path.clear();
  }
  const bool none = flags.token.empty() && flags.token_cmd.empty() && flags.credentials.empty() &&
                    options.env_token.empty() && options.env_credentials.empty() &&
                    options.adc_path.empty();
  if (none && !api.loopback) {
    return usage(
        "no credential: set BATCHFETCH_TOKEN or GOOGLE_APPLICATION_CREDENTIALS, give "
        "--token-cmd or --credentials, or run gcloud auth application-default login");
  }

  asio::io_context io(1);
  HttpClient http(io.get_executor());
  std::string error;
  std::unique_ptr<TokenSource> tokens = MakeTokenSource(options, io.get_executor(), http, &error);
  if (!tokens && !error.empty()) return usage(error);
  const std::string quota_project = !flags.quota_project.empty() ? flags.quota_project
                                    : tokens                     ? tokens->QuotaProject()
                                                                 : std::string();
  int code = kExitHalted;
  asio::co_spawn(io, ListSites(flags, tokens.get(), quota_project, http),
                 [&code](std::exception_ptr e, int result) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       std::fprintf(stderr, "batchfetch sites: internal error: %s\n", ex.what());
                     }
                     return;
                   }
                   code = result;
                 });
  io.run();
  return code;
}

}  // namespace batchfetch
