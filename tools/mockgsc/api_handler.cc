#include "tools/mockgsc/api_handler.h"

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <stdexcept>

#include "tools/mockgsc/api_error.h"
#include "tools/mockgsc/misbehavior.h"
#include "tools/mockgsc/query_request.h"
#include "tools/mockgsc/query_response.h"
#include "tools/mockgsc/row_checksum.h"

namespace mockgsc {
namespace {

namespace json = boost::json;

Reply JsonReply(int status, std::string body) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

Reply NotFound(std::string_view what) {
  return JsonReply(
      404, ApiErrorBody(404, "NOT_FOUND", "global", "notFound", "Not Found: " + std::string(what)));
}

std::string PageKey(const std::string& site, const QueryRequest& req) {
  std::string key = site + '\x1f' + req.type + '\x1f';
  for (Dimension d : req.dimensions) key += std::string(DimensionName(d)) + ',';
  key += '\x1f' + req.start_date.ToString() + ".." + req.end_date.ToString() + '\x1f' +
         std::to_string(req.start_row);
  return key;
}

}  // namespace

ApiHandler::ApiHandler(const ServerOptions& options)
    : options_(options),
      start_(std::chrono::steady_clock::now()),
      generator_({.seed = options.seed,
                  .rows_per_day = options.rows_per_day,
                  .huge_day_percent = options.huge_day_percent}),
      quota_(std::chrono::microseconds(int64_t(options.qpm_window_s * 1e6))),
      project_(std::chrono::microseconds(int64_t(options.qpm_window_s * 1e6))),
      faults_({.seed = options.seed,
               .error_rate = options.error_rate,
               .fatal_after = options.fatal_after,
               .fail_pages = options.fail_pages}),
      latency_(options.latency_ms, std::max(options.latency_p99_ms, options.latency_ms),
               options.seed),
      tokens_(std::chrono::seconds(options.token_lifetime_s)) {
  if (!options.service_account_key.empty()) {
    std::string error;
    verifier_ = JwtVerifier::FromKeyFile(options.service_account_key, &error);
    if (!verifier_) throw std::runtime_error(error);
  }
}

std::chrono::microseconds ApiHandler::Now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start_);
}

Reply ApiHandler::Handle(std::string_view method, std::string_view target,
                         std::string_view authorization, std::string_view body,
                         std::string_view content_type, std::string_view user_project) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return NotFound(target);
  std::vector<std::string> segments(url->segments().begin(), url->segments().end());
  if (method == "POST" && segments.size() == 6 && segments[0] == "webmasters" &&
      segments[1] == "v3" && segments[2] == "sites" && segments[4] == "searchAnalytics" &&
      segments[5] == "query") {
    {
      json::object seen{{"target", std::string(target)},
                        {"content_type", std::string(content_type)},
                        {"auth_scheme", authorization.starts_with("Bearer ") ? "Bearer" : ""}};
      boost::system::error_code ec;
      json::value parsed = json::parse(body, ec);
      if (ec) {
        seen["body_text"] = std::string(body);
      } else {
        seen["body"] = std::move(parsed);
      }
      if (!user_project.empty()) seen["user_project"] = std::string(user_project);
      std::lock_guard lock(mu_);
      CountUserProject(user_project);
      recent_.push_back(json::serialize(seen));
      if (recent_.size() > 64) recent_.pop_front();
    }
    return HandleQuery(segments[3], authorization, body);
  }
  if (method == "GET" && segments.size() == 3 && segments[0] == "webmasters" &&
      segments[1] == "v3" && segments[2] == "sites") {
    {
      std::lock_guard lock(mu_);
      CountUserProject(user_project);
    }
    return HandleSites(authorization);
  }
  if (method == "POST" && segments.size() == 1 && segments[0] == "token") {
    return HandleToken(body);
  }
  if (method == "GET" && segments.size() == 1) {
    if (segments[0] == "__stats") return HandleStats();
    if (segments[0] == "__expected") return HandleExpected(target);
    if (segments[0] == "__log") return HandleLog();
    if (segments[0] == "__requests") return HandleRequests();
  }
  return NotFound(url->path());
}

void ApiHandler::Finished() {
  std::lock_guard lock(mu_);
  stats_.Finished();
}

Reply ApiHandler::HandleQuery(const std::string& site, std::string_view authorization,
                              std::string_view body) {
  std::unique_lock lock(mu_);
  const auto now = Now();
  const int64_t n = stats_.Arrived();
  arrivals_ms_.push_back(now.count() / 1000);
  auto finish = [&](Reply reply) {
    reply.query = true;
    if (reply.delay.count() == 0) reply.delay = latency_.Draw();
    std::string_view fault_name = FaultPlan::OutcomeName(reply.fault);
    stats_.CountOutcome(fault_name.empty() ? std::to_string(reply.status) : fault_name);
    return reply;
  };

  const int64_t project_count = project_.Arrive("project", now);

  const bool auth_required =
      !options_.token.empty() || verifier_ || !options_.refresh_token.empty();
  if (auth_required && !Authorized(authorization, now)) {
    return finish(JsonReply(
        401, ApiErrorBody(401, "UNAUTHENTICATED", "global", "authError",
                          "Request had invalid authentication credentials. Expected OAuth 2 "
                          "access token, login cookie or other valid authentication "
                          "credential.")));
  }

  const std::string user =
      authorization.starts_with("Bearer ") ? std::string(authorization.substr(7)) : "anonymous";
  const int64_t site_count = quota_.Arrive("site:" + site, now);
  const int64_t user_count = quota_.Arrive("user:" + user, now);
  const bool forbidden = options_.forbid_sites.contains(site) ||
                         (options_.forbid_sites.empty() && !options_.forbid_message.empty());
  if (forbidden) {
    // Answered at once, like a fatal-after 403, so a halt can be timed from its arrival.
    const std::string message =
        !options_.forbid_message.empty()
            ? options_.forbid_message
            : "User does not have sufficient permission for site '" + site +
                  "'. See also: https://support.google.com/webmasters/answer/2451999.";
    Reply reply =
        JsonReply(403, ApiErrorBody(403, "PERMISSION_DENIED", "global", "forbidden", message));
    reply.delay = std::chrono::microseconds(1);
    return finish(std::move(reply));
  }
  if (options_.project_qpm > 0 && project_count > options_.project_qpm) {
    stats_.CountQuotaRejection();
    return finish(JsonReply(
        429, ApiErrorBody(429, "RESOURCE_EXHAUSTED", "usageLimits", "rateLimitExceeded",
                          "Quota exceeded for quota metric 'Queries' and limit 'Queries per "
                          "minute' of service 'searchconsole.googleapis.com' for consumer "
                          "'project_number:123456'.")));
  }
  if (site_count > options_.qpm || user_count > options_.qpm) {
    stats_.CountQuotaRejection();
    const std::string message =
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service "
        "'searchconsole.googleapis.com' for site '" +
        site + "'.";
    if (options_.quota_status == 403) {
      return finish(JsonReply(
          403, ApiErrorBody(403, "PERMISSION_DENIED", "usageLimits", "quotaExceeded", message)));
    }
    return finish(JsonReply(
        429, ApiErrorBody(429, "RESOURCE_EXHAUSTED", "usageLimits", "rateLimitExceeded", message)));
  }

  if (faults_.IsFatal(n)) {
    // A permission error is answered at once, with no service latency, so a halt test
    // can time the halt from its arrival.
    Reply fatal =
        JsonReply(403, ApiErrorBody(403, "PERMISSION_DENIED", "global", "forbidden",
                                    "User does not have sufficient permission for site '" + site +
                                        "'. See also: https://support.google.com/webmasters/answer/"
                                        "2451999."));
    fatal.delay = std::chrono::microseconds(1);
    return finish(std::move(fatal));
  }
  if (options_.stall_after > 0 && n >= options_.stall_after) {
    return finish(FaultReply(Fault::kStall));
  }

  std::string error;
  auto request = QueryRequest::Parse(body, &error);
  if (!request) return finish(JsonReply(400, BadRequestBody(error)));

  if (faults_.IsFailPage(request->start_date.ToString(), request->start_row)) {
    return finish(FaultReply(Fault::kInternalError));
  }
  if (Fault fault = faults_.Draw(); fault != Fault::kNone) {
    Reply reply = FaultReply(fault);
    if (fault == Fault::kTruncatedBody) {
      lock.unlock();
      reply.body = RenderQueryResponse(*request, site, generator_, Today());
      lock.lock();
    }
    return finish(std::move(reply));
  }
  Reply reply = finish(Reply{});
  lock.unlock();
  // Rendering is the expensive part; it runs without the lock.
  const auto mode = ParseMisbehavior(options_.misbehave).value_or(Misbehavior::kNone);
  reply.body = RenderQueryResponse(ServedRequest(mode, *request), site, generator_, Today());
  if (mode == Misbehavior::kOversized) {
    reply.oversized_bytes = options_.oversized_mb << 20;
    reply.body.clear();
  } else if (mode != Misbehavior::kNone) {
    reply.body = Misbehave(mode, reply.body, *request);
  }
  lock.lock();
  stats_.CountPageServed(PageKey(site, *request));
  return reply;
}

void ApiHandler::CountUserProject(std::string_view user_project) {
  if (user_project.empty()) {
    ++api_requests_without_project_;
  } else {
    ++user_projects_[std::string(user_project)];
  }
}

Reply ApiHandler::HandleSites(std::string_view authorization) {
  std::lock_guard lock(mu_);
  ++sites_requests_;
  const bool auth_required =
      !options_.token.empty() || verifier_ || !options_.refresh_token.empty();
  if (auth_required && !Authorized(authorization, Now())) {
    return JsonReply(401, ApiErrorBody(401, "UNAUTHENTICATED", "global", "authError",
                                       "Request had invalid authentication credentials. Expected "
                                       "OAuth 2 access token, login cookie or other valid "
                                       "authentication credential."));
  }
  json::array entries;
  for (const std::string& site : options_.sites) {
    if (options_.forbid_sites.contains(site)) continue;
    entries.push_back(json::object{{"siteUrl", site}, {"permissionLevel", "siteOwner"}});
  }
  for (const std::string& site : options_.forbid_sites) {
    entries.push_back(json::object{{"siteUrl", site}, {"permissionLevel", "siteUnverifiedUser"}});
  }
  json::object out;
  if (!entries.empty()) out["siteEntry"] = std::move(entries);  // absent when none, as Google does
  return JsonReply(200, json::serialize(out));
}

bool ApiHandler::Authorized(std::string_view authorization, std::chrono::microseconds now) const {
  if (!authorization.starts_with("Bearer ")) return false;
  const std::string token(authorization.substr(7));
  if (!options_.token.empty() && token == options_.token) return true;
  return tokens_.Check(token, now) == TokenIssuer::Status::kValid;
}

Reply ApiHandler::HandleToken(std::string_view body) {
  auto oauth_error = [](std::string_view error, std::string_view description) {
    return JsonReply(
        400, json::serialize(json::object{{"error", error}, {"error_description", description}}));
  };
  if (!verifier_ && options_.refresh_token.empty()) {
    return oauth_error("invalid_client",
                       "mockgsc was started without --service-account-key or --refresh-token");
  }
  if (!boost::urls::parse_query(body)) {
    return oauth_error("invalid_request", "The request body is not form-encoded.");
  }
  boost::urls::encoding_opts form;
  form.space_as_plus = true;  // '+' decodes to a space, as forms want
  std::string grant_type, assertion, client_id, client_secret, refresh_token;
  for (auto param : boost::urls::params_view(body, form)) {
    if (param.key == "grant_type")
      grant_type = param.value;
    else if (param.key == "assertion")
      assertion = param.value;
    else if (param.key == "client_id")
      client_id = param.value;
    else if (param.key == "client_secret")
      client_secret = param.value;
    else if (param.key == "refresh_token")
      refresh_token = param.value;
  }
  if (grant_type == "refresh_token" && !options_.refresh_token.empty()) {
    if (client_id.empty() || client_secret.empty()) {
      return oauth_error("invalid_client", "The OAuth client was not found.");
    }
    if (refresh_token != options_.refresh_token) {
      return oauth_error("invalid_grant", "Token has been expired or revoked.");
    }
    std::lock_guard lock(mu_);
    std::string token = tokens_.Issue(Now());
    return JsonReply(200, json::serialize(json::object{{"access_token", token},
                                                       {"expires_in", options_.token_lifetime_s},
                                                       {"token_type", "Bearer"}}));
  }
  if (!verifier_) {
    return oauth_error("unsupported_grant_type", "Invalid grant_type: " + grant_type);
  }
  if (grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    return oauth_error("unsupported_grant_type", "Invalid grant_type: " + grant_type);
  }
  if (assertion.empty())
    return oauth_error("invalid_request", "Missing required parameter: assertion");
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::string subject;
  if (auto refusal = verifier_->Verify(assertion, now_s, &subject)) {
    return oauth_error(refusal->error, refusal->description);
  }
  std::lock_guard lock(mu_);
  last_subject_ = subject;
  ++subjects_[subject];
  std::string token = tokens_.Issue(Now());
  return JsonReply(200, json::serialize(json::object{{"access_token", token},
                                                     {"expires_in", options_.token_lifetime_s},
                                                     {"token_type", "Bearer"}}));
}

Reply ApiHandler::FaultReply(Fault fault) {
  Reply reply;
  switch (fault) {
    case Fault::kInternalError:
      reply = JsonReply(500, ApiErrorBody(500, "INTERNAL", "global", "backendError",
                                          "Internal error encountered."));
      break;
    case Fault::kUnavailable:
      reply = JsonReply(503, ApiErrorBody(503, "UNAVAILABLE", "global", "backendError",
                                          "The service is currently unavailable."));
      reply.headers.emplace_back("Retry-After", "1");
      break;
    case Fault::kTooManyRequests:
      reply =
          JsonReply(429, ApiErrorBody(429, "RESOURCE_EXHAUSTED", "usageLimits", "rateLimitExceeded",
                                      "Quota exceeded for quota metric 'Queries'."));
      reply.headers.emplace_back("Retry-After", "1");
      break;
    case Fault::kMalformedJson:
      reply.body = "{\"rows\":[{\"keys\":[\"oops\"],<html>Server Error</html>";
      break;
    case Fault::kStall:
      reply.delay = std::chrono::milliseconds(options_.stall_ms);
      break;
    case Fault::kReset:
    case Fault::kTruncatedBody:
    case Fault::kNone:
      break;
  }
  reply.fault = fault;
  return reply;
}

CivilDate ApiHandler::Today() const {
  return options_.today ? *options_.today : CivilDate::Today();
}

Reply ApiHandler::HandleExpected(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  std::string site, type = "web", date, dims = "date,query,page", data_state = "final";
  for (auto param : url->params()) {
    if (param.key == "site")
      site = param.value;
    else if (param.key == "type")
      type = param.value;
    else if (param.key == "date")
      date = param.value;
    else if (param.key == "dimensions")
      dims = param.value;
    else if (param.key == "dataState")
      data_state = param.value;
  }
  auto day = CivilDate::Parse(date);
  auto dimensions = ParseDimensionList(dims);
  const bool known_state =
      data_state == "final" || data_state == "all" || data_state == "hourly_all";
  if (site.empty() || !day || !dimensions || !known_state) {
    return JsonReply(400, BadRequestBody("/__expected needs site, date=YYYY-MM-DD, valid "
                                         "dimensions and dataState final|all|hourly_all"));
  }
  // What a query with this dataState is served for the day (see RenderQueryResponse).
  auto rows = IsProvisional(data_state, *day, Today())
                  ? generator_.ProvisionalDay(site, type, *day, *dimensions)
                  : generator_.Day(site, type, *day, *dimensions);
  RowChecksum checksum;
  for (const Row& row : rows->rows) checksum.Add(row.keys, row.clicks, row.impressions);
  return JsonReply(200, json::serialize(json::object{{"rows", rows->rows.size()},
                                                     {"checksum", checksum.Hex()},
                                                     {"truncated", rows->truncated()},
                                                     {"total_rows", rows->total_rows}}));
}

Reply ApiHandler::HandleStats() {
  std::lock_guard lock(mu_);
  json::object out = stats_.ToJson();
  json::object by_key;
  for (const auto& [key, n] : quota_.MaxByKey()) by_key[key] = n;
  out["max_window_requests"] = quota_.max_window_arrivals();
  out["max_window_requests_by_key"] = std::move(by_key);
  // The most arrivals seen in any one window, per site, per token and for the project.
  json::object sites, tokens;
  for (const auto& [key, n] : quota_.MaxByKey()) {
    if (key.starts_with("site:")) sites[key.substr(5)] = n;
    if (key.starts_with("user:")) tokens[key.substr(5)] = n;
  }
  out["max_in_window"] = json::object{
      {"site", std::move(sites)},
      {"token", std::move(tokens)},
      {"project", project_.max_window_arrivals()},
  };
  out["project_budget"] = options_.project_qpm;
  out["budget"] = options_.qpm;
  out["window_s"] = options_.qpm_window_s;
  out["tokens_issued"] = tokens_.issued();
  json::object projects, subjects;
  for (const auto& [project, n] : user_projects_) projects[project] = n;
  for (const auto& [subject, n] : subjects_) subjects[subject] = n;
  out["user_project_requests"] = std::move(projects);
  out["requests_without_user_project"] = api_requests_without_project_;
  out["sites_requests"] = sites_requests_;
  out["jwt_subject_last"] = last_subject_;
  out["jwt_subjects"] = std::move(subjects);
  return JsonReply(200, json::serialize(out));
}

Reply ApiHandler::HandleLog() {
  std::lock_guard lock(mu_);
  json::array out(arrivals_ms_.begin(), arrivals_ms_.end());
  return JsonReply(200, json::serialize(out));
}

Reply ApiHandler::HandleRequests() {
  std::lock_guard lock(mu_);
  std::string out = "[";
  for (const std::string& r : recent_) {
    if (out.size() > 1) out += ',';
    out += r;
  }
  out += ']';
  return JsonReply(200, std::move(out));
}

}  // namespace mockgsc
