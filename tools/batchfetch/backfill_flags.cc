#include "tools/batchfetch/backfill_flags.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <sstream>

#include "workers/query_rules.h"
#include "workers/search_console_codec.h"

namespace batchfetch {

namespace {

std::optional<std::chrono::sys_days> ToDays(const std::string& date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (date[i] < '0' || date[i] > '9') return std::nullopt;
  }
  const int y = std::stoi(date.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd};
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

bool IsLoopbackHttp(const std::string& url) {
  for (const char* prefix :
       {"http://127.", "http://localhost:", "http://localhost/", "http://[::1]"}) {
    if (url.rfind(prefix, 0) == 0) return true;
  }
  return url == "http://localhost";
}

}  // namespace

long BackfillFlags::Budget() const {
  return std::max(1L, static_cast<long>(std::floor(qpm * qpm_utilization + 1e-9)));
}

const char* BackfillExample() {
  return "example: batchfetch backfill --site sc-domain:example.com --from 2025-01-01 "
         "--to 2025-03-31 --db batchfetch.db   (token in BATCHFETCH_TOKEN)";
}

bool IsValidDate(const std::string& date) { return ToDays(date).has_value(); }

std::optional<int> ParseBackfillFlags(int argc, char** argv, const std::string& env_token,
                                      const std::string& today, BackfillFlags* out,
                                      std::string* error) {
  BackfillFlags f;
  std::string dimensions = "date,query,page";
  std::vector<std::string> sites, types, filters;
  double lease_s = 60, halt_timeout_s = 5, retry_base_s = 1, retry_cap_s = 60;
  double quota_cooldown_s = 900;
  CLI::App app{"batchfetch backfill: fetch a date range from searchAnalytics.query into the ledger",
               "batchfetch backfill"};
  app.add_option("--site", sites,
                 "property: sc-domain:example.com or https://www.example.com/ (repeatable)")
      ->required();
  app.add_option("--from", f.spec.start_date, "first day, YYYY-MM-DD")->required();
  app.add_option("--to", f.spec.end_date, "last day, YYYY-MM-DD (inclusive)")->required();
  app.add_option("--type", types, "web|image|video|news|discover|googleNews (repeatable)");
  app.add_option("--filter", filters,
                 "dimension:operator:expression, e.g. country:equals:usa (repeatable, ANDed)");
  app.add_option("--aggregation-type", f.spec.aggregation_type,
                 "auto|byPage|byProperty|byNewsShowcasePanel");
  app.add_option("--dimensions", dimensions,
                 "comma list of date,query,page,country,device,searchAppearance,hour");
  app.add_option("--data-state", f.spec.data_state, "final|all");
  app.add_option("--row-limit", f.spec.row_limit, "rows per page, 1..25000");
  app.add_option("--db", f.db, "SQLite file (created 0600) or postgresql:// URI");
  app.add_option("--api-base", f.api_base, "API root URL");
  app.add_option("--token", f.token, "bearer token (prefer BATCHFETCH_TOKEN: flags show in ps)");
  app.add_option("--token-cmd", f.token_cmd,
                 "command printing a bearer token, re-run on 401 or after 50 min");
  app.add_option("--credentials", f.credentials,
                 "service-account JSON key file (or GOOGLE_APPLICATION_CREDENTIALS)");
  app.add_option("--max-concurrency", f.run.max_concurrency, "worker coroutines; 1 = sequential");
  app.add_option("--qpm", f.qpm, "the API's queries-per-minute quota per site");
  app.add_option("--qpm-utilization", f.qpm_utilization, "fraction of --qpm to use, (0, 1]");
  app.add_option("--qpm-window", f.qpm_window_s, "quota window in seconds (60; smaller in tests)");
  app.add_option("--queue-limit", f.run.queue_limit, "claimed pages held in memory, at most");
  app.add_option("--inflight-limit", f.run.inflight_limit,
                 "fetched pages waiting for the database");
  app.add_option("--max-attempts", f.run.max_attempts, "attempts before a page is dead");
  app.add_option("--refresh-days", f.refresh_days,
                 "re-fetch finished days on/after today - N, and provisional days (3)");
  app.add_option("--lease", lease_s, "lease length in seconds");
  app.add_option("--halt-timeout", halt_timeout_s,
                 "seconds in-flight requests get on SIGINT/SIGTERM");
  app.add_option("--retry-base", retry_base_s, "back-off base in seconds");
  app.add_option("--retry-cap", retry_cap_s, "back-off cap in seconds");
  app.add_option("--quota-cooldown", quota_cooldown_s, "load-quota cool-down in seconds");
  app.add_option("--request-timeout", f.request_timeout_s, "seconds one request may take");
  app.add_option("--worker-id", f.run.worker_id, "lease owner name (default host-pid-random)");
  app.add_option("--log-format", f.log_format, "console|json");
  app.add_option("--log-level", f.log_level, "debug|info|warn|error");
  app.add_option("--progress", f.progress, "auto|always|never");
  std::string metrics_addr;
  app.add_option("--metrics-addr", metrics_addr,
                 "serve /metrics, /health, /stats on [HOST:]PORT (HOST defaults to 127.0.0.1)");
  app.add_option("--metrics-hold", f.metrics_hold_s,
                 "seconds to keep serving /metrics after the run, for a last scrape");
  app.add_option("--audit-log", f.audit_log, "append one JSON line per request to this file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    *error = what;
    return 1;
  }

  auto fail = [&](std::string message) -> std::optional<int> {
    *error = std::move(message);
    return 1;
  };
  for (const std::string& site : sites) {
    if (site.empty()) return fail("--site is empty");
  }
  if (types.empty()) types.push_back("web");
  if (!IsValidDate(f.spec.start_date)) {
    return fail("--from '" + f.spec.start_date + "' is not a real date in YYYY-MM-DD form");
  }
  if (!IsValidDate(f.spec.end_date)) {
    return fail("--to '" + f.spec.end_date + "' is not a real date in YYYY-MM-DD form");
  }
  if (f.spec.end_date < f.spec.start_date) {
    return fail("--from " + f.spec.start_date + " is after --to " + f.spec.end_date +
                ": swap them");
  }
  static const std::set<std::string> kTypes = {"web",  "image",    "video",
                                               "news", "discover", "googleNews"};
  for (const std::string& type : types) {
    if (!kTypes.count(type)) {
      return fail("--type '" + type +
                  "' is not one of web, image, video, news, discover, googleNews");
    }
  }
  f.spec.dimensions.clear();
  std::set<std::string> seen;
  for (const std::string& d : Split(dimensions, ',')) {
    if (!IsKnownDimension(d)) {
      return fail("--dimensions: unknown dimension '" + d +
                  "' (known: date, query, page, country, device, searchAppearance, hour)");
    }
    if (!seen.insert(d).second) return fail("--dimensions: '" + d + "' is given twice");
    f.spec.dimensions.push_back(d);
  }
  if (f.spec.dimensions.empty()) return fail("--dimensions is empty");
  if (f.spec.data_state != "final" && f.spec.data_state != "all" &&
      f.spec.data_state != "hourly_all") {
    return fail("--data-state must be final, all or hourly_all (got '" + f.spec.data_state + "')");
  }
  QueryShape shape;
  shape.dimensions = f.spec.dimensions;
  shape.aggregation_type = f.spec.aggregation_type;
  shape.data_state = f.spec.data_state;
  for (const std::string& text : filters) {
    std::string filter_error;
    std::optional<Filter> filter = ParseFilter(text, &filter_error);
    if (!filter) return fail("--filter '" + text + "': " + filter_error);
    shape.filters.push_back(*filter);
    f.spec.filters.push_back(text);
  }
  for (const std::string& type : types) {
    shape.type = type;
    if (auto rule = ValidateQuery(shape)) return fail(*rule);
  }
  if (f.spec.row_limit < 1 || f.spec.row_limit > 25000) {
    return fail("--row-limit must be between 1 and 25000 (got " + std::to_string(f.spec.row_limit) +
                ")");
  }
  if (f.run.max_concurrency < 1 || f.run.max_concurrency > 1024) {
    return fail("--max-concurrency must be between 1 and 1024");
  }
  if (!(f.qpm >= 1)) return fail("--qpm must be at least 1");
  if (!(f.qpm_utilization > 0 && f.qpm_utilization <= 1)) {
    return fail("--qpm-utilization must be in (0, 1]");
  }
  if (!(f.qpm_window_s > 0)) return fail("--qpm-window must be a positive number of seconds");
  if (f.run.queue_limit < 1) return fail("--queue-limit must be at least 1");
  if (f.run.inflight_limit < 1) return fail("--inflight-limit must be at least 1");
  if (f.run.max_attempts < 1) return fail("--max-attempts must be at least 1");
  if (f.refresh_days < 0) return fail("--refresh-days must not be negative");
  if (!(lease_s > 0)) return fail("--lease must be a positive number of seconds");
  if (!(halt_timeout_s >= 0)) return fail("--halt-timeout must not be negative");
  if (!(retry_base_s >= 0) || !(retry_cap_s >= retry_base_s)) {
    return fail("--retry-base must be >= 0 and --retry-cap >= --retry-base");
  }
  if (!(quota_cooldown_s >= 0)) return fail("--quota-cooldown must not be negative");
  if (!(f.request_timeout_s > 0)) return fail("--request-timeout must be positive");
  if (f.log_format != "console" && f.log_format != "json") {
    return fail("--log-format must be console or json");
  }
  if (f.log_level != "debug" && f.log_level != "info" && f.log_level != "warn" &&
      f.log_level != "error") {
    return fail("--log-level must be one of debug, info, warn, error");
  }
  if (f.progress != "auto" && f.progress != "always" && f.progress != "never") {
    return fail("--progress must be auto, always or never");
  }
  if (!metrics_addr.empty()) {
    std::string why;
    f.metrics = ParseListenAddress(metrics_addr, &why);
    if (!f.metrics) return fail(why);
  }
  if (!(f.metrics_hold_s >= 0)) return fail("--metrics-hold must be >= 0 seconds");
  if (f.metrics_hold_s > 0 && !f.metrics) return fail("--metrics-hold needs --metrics-addr");
  if (f.api_base.rfind("https://", 0) != 0 && !IsLoopbackHttp(f.api_base)) {
    return fail("--api-base '" + f.api_base +
                "' must be https:// (plain http:// only for a loopback test server)");
  }
  if (f.db.empty()) return fail("--db is empty");

  if (static_cast<int>(!f.token.empty()) + static_cast<int>(!f.token_cmd.empty()) +
          static_cast<int>(!f.credentials.empty()) >
      1) {
    return fail("give only one of --token, --token-cmd, --credentials");
  }
  f.token_from_flag = !f.token.empty();
  if (f.token.empty() && f.token_cmd.empty() && f.credentials.empty()) f.token = env_token;
  if (f.token_from_flag) {
    f.warnings.push_back(
        "--token is visible to other users in ps; prefer the BATCHFETCH_TOKEN environment "
        "variable");
  }
  if (auto t = ToDays(today)) {
    if (*ToDays(f.spec.end_date) < *t - std::chrono::days(16 * 31)) {
      f.warnings.push_back(
          "the whole range is older than the API's 16 months of data: "
          "expect empty pages");
    }
  }

  using std::chrono::milliseconds;
  auto ms = [](double s) { return milliseconds(static_cast<int64_t>(std::llround(s * 1000))); };
  f.run.lease = ms(lease_s);
  f.run.halt_timeout = ms(halt_timeout_s);
  f.run.retry_base = ms(retry_base_s);
  f.run.retry_cap = ms(retry_cap_s);
  f.run.quota_cooldown = ms(quota_cooldown_s);
  for (const std::string& site : sites) {
    for (const std::string& type : types) {
      JobSpec job = f.spec;
      job.site = site;
      job.search_type = type;
      f.jobs.push_back(std::move(job));
    }
  }
  f.spec = f.jobs.front();
  *out = std::move(f);
  return std::nullopt;
}

}  // namespace batchfetch
