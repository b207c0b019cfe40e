#ifndef TOOLS_MOCKGSC_API_HANDLER_H_
#define TOOLS_MOCKGSC_API_HANDLER_H_

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/mockgsc/data_generator.h"
#include "tools/mockgsc/fault_plan.h"
#include "tools/mockgsc/jwt_verifier.h"
#include "tools/mockgsc/latency_model.h"
#include "tools/mockgsc/quota_window.h"
#include "tools/mockgsc/server_options.h"
#include "tools/mockgsc/server_stats.h"
#include "tools/mockgsc/token_issuer.h"

namespace mockgsc {

// What the transport must do for one request.
struct Reply {
  int status = 200;
  std::string body;                                          // JSON.
  std::vector<std::pair<std::string, std::string>> headers;  // Extra headers.
  Fault fault = Fault::kNone;          // Non-none: act out this fault instead of answering.
  std::chrono::microseconds delay{0};  // Wait this long before acting.
  bool query = false;           // A query request: call ApiHandler::Finished() once it is over.
  int64_t oversized_bytes = 0;  // > 0: stream a 200 of this many bytes of unclosed JSON.
};

// The HTTP-agnostic core of mockgsc: routes a request and decides its answer, in this
// order for queries: auth (401) -> forbidden site (403) -> quota (429/403) -> fatal-after
// (403) -> body (400) -> fail-page (500) -> random fault -> data. Arrivals are counted in
// sliding windows per project (every query), per site and per token (authorized ones). With a
// service-account key it is also the OAuth token endpoint (POST /token, JWT bearer grant), and with
// a refresh token for the refresh-token grant. GET /webmasters/v3/sites lists the
// properties (sites.list). Every API request's x-goog-user-project header is counted per
// project in /__stats (user_project_requests). Thread-safe.
class ApiHandler {
 public:
  // Throws std::runtime_error if options.service_account_key cannot be used.
  explicit ApiHandler(const ServerOptions& options);

  // Decides the reply to one request. `target` is the origin-form request target.
  // user_project is the x-goog-user-project header ("" when absent).
  Reply Handle(std::string_view method, std::string_view target, std::string_view authorization,
               std::string_view body, std::string_view content_type = {},
               std::string_view user_project = {});
  // A query reply (Reply::query) has been sent or abandoned.
  void Finished();

 private:
  Reply HandleQuery(const std::string& site, std::string_view authorization, std::string_view body);
  // GET /webmasters/v3/sites: siteEntry[] {siteUrl, permissionLevel}.
  Reply HandleSites(std::string_view authorization);
  // Counts an API request's x-goog-user-project header (lock held).
  void CountUserProject(std::string_view user_project);
  // POST /token: exchanges a signed JWT assertion for an access token.
  Reply HandleToken(std::string_view body);
  // The Authorization header carries --token or an unexpired issued token (lock held).
  bool Authorized(std::string_view authorization, std::chrono::microseconds now) const;
  Reply HandleExpected(std::string_view target);
  Reply HandleStats();
  Reply HandleLog();
  // GET /__requests: the last query requests as sent (target, content type, auth
  // scheme, body), so a test can compare two clients' requests.
  Reply HandleRequests();
  // The reply for a drawn random fault (lock held).
  Reply FaultReply(Fault fault);
  std::chrono::microseconds Now() const;
  // --today, or the real UTC date.
  CivilDate Today() const;

  const ServerOptions options_;
  const std::chrono::steady_clock::time_point start_;
  DataGenerator generator_;              // Thread-safe on its own.
  std::optional<JwtVerifier> verifier_;  // Set with --service-account-key; immutable.

  std::mutex mu_;  // Guards everything below.
  ServerStats stats_;
  QuotaWindow quota_;    // Per "site:<site>" and "user:<token>" (authorized queries).
  QuotaWindow project_;  // Key "project": every query request.
  FaultPlan faults_;
  LatencyModel latency_;
  TokenIssuer tokens_;
  std::vector<int64_t> arrivals_ms_;  // Query arrival times since start, for /__log.
  std::deque<std::string> recent_;    // The last 64 query requests as JSON, for /__requests.
  std::map<std::string, int64_t> user_projects_;  // API requests by x-goog-user-project.
  int64_t api_requests_without_project_ = 0;      // API requests without that header.
  int64_t sites_requests_ = 0;                    // GET /webmasters/v3/sites.
  std::string last_subject_;                      // "sub" of the last JWT accepted, or "".
  std::map<std::string, int64_t> subjects_;       // Tokens issued by JWT "sub" ("" = none).
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_API_HANDLER_H_
