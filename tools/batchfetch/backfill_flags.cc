#include "tools/batchfetch/backfill_flags.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "core/civil_date.h"
#include "tools/batchfetch/api_base.h"
#include "tools/batchfetch/flag_checks.h"
#include "tools/batchfetch/login_options.h"
#include "tools/batchfetch/report_planner.h"
#include "tools/batchfetch/site_url.h"
#include "workers/query_rules.h"

namespace batchfetch {

namespace {

// The API keeps 16 months of data; a range reaching further back than twice that is
// refused unless --allow-old-dates, and no run plans more than kMaxRunDays days.
constexpr int64_t kRetentionDays = int64_t{16} * 31;
constexpr int64_t kMaxRunDays = 3660;

// What CLI11 fills before it is validated into BackfillFlags.
struct RawFlags {
  std::vector<std::string> sites;
  std::vector<std::string> types = {"web"};
  std::vector<std::string> dimensions = {"date", "query", "page"};
  std::vector<std::string> filters;
  std::string preset;             // --preset: replaces --dimensions
  bool dimensions_given = false;  // --dimensions came from the command line, env or file
  ReportSpec spec;
  std::string from, to, today, metrics_addr;
  double lease_s = 60, halt_timeout_s = 5, retry_base_s = 1, retry_cap_s = 60;
  double quota_cooldown_s = 900;
  bool allow_old_dates = false;
};

// A finite number in [lo, hi]: "inf", "nan" and "1e20" are refused with one line.
CLI::Validator Bounded(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
          return "must be a number from " + CLI::detail::to_string(lo) + " to " +
                 CLI::detail::to_string(hi) + " (got '" + text + "')";
        }
        return "";
      },
      "in [" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

// A real day written YYYY-MM-DD. prefix names a hidden option, whose error CLI11 prints
// without its name.
CLI::Validator DateCheck(std::string prefix = "") {
  return CLI::Validator(
      [prefix](std::string& text) -> std::string {
        return IsValidDate(text) ? ""
                                 : prefix + "'" + text + "' is not a real date in YYYY-MM-DD form";
      },
      "YYYY-MM-DD");
}

void AddReportOptions(CLI::App& app, RawFlags& raw, BackfillFlags& f) {
  app.add_option("--site", raw.sites,
                 "property: sc-domain:example.com or https://www.example.com/ (repeatable)")
      ->required()
      ->check(PlainText());
  app.add_option("--from", raw.from, "first day, YYYY-MM-DD")->required()->check(DateCheck());
  app.add_option("--to", raw.to,
                 "last day, inclusive (default: the last day the API has data for, in its "
                 "time zone America/Los_Angeles)")
      ->check(DateCheck());
  app.add_option("--today", raw.today, "count days as if the API's today were this day")
      ->check(DateCheck("--today "))
      ->group("");  // hidden: for tests and reproducible runs (README documents it)
  app.add_flag("--allow-old-dates", raw.allow_old_dates,
               "allow a range reaching further back than twice the API's 16 months");
  app.add_option("--type", raw.types,
                 "search type (repeatable); all = every type the API accepts for the dimensions")
      ->check(CLI::IsMember({"web", "image", "video", "news", "discover", "googleNews", "all"}));
  app.add_option("--preset", raw.preset,
                 "a common report instead of --dimensions: by-date, by-country, by-device, "
                 "by-page, by-query, by-query-page, by-search-appearance (two passes: the "
                 "appearances, then date,page for each)")
      ->check(CLI::IsMember(Presets()));
  app.add_option("--dimensions", raw.dimensions, "comma list")
      ->delimiter(',')
      ->check(CLI::IsMember(
          {"date", "query", "page", "country", "device", "searchAppearance", "hour"}));
  app.add_option("--data-state", raw.spec.data_state, "final data, or fresh data too")
      ->check(CLI::IsMember({"final", "all", "hourly_all"}));
  app.add_option("--aggregation-type", raw.spec.aggregation_type, "how rows are aggregated")
      ->check(CLI::IsMember({"auto", "byPage", "byProperty", "byNewsShowcasePanel"}));
  app.add_option("--filter", raw.filters,
                 "dimension:operator:expression, e.g. country:equals:usa (repeatable, ANDed)");
  app.add_option("--row-limit", f.job.row_limit, "rows per page")->check(Bounded(1, 25000));
  app.add_option("--refresh-days", f.job.refresh_days,
                 "re-fetch held days on/after today - N, and provisional days")
      ->check(Bounded(0, 2 * kRetentionDays));
}

void AddRunOptions(CLI::App& app, RawFlags& raw, BackfillFlags& f) {
  app.add_option("--db", f.db, "SQLite file (created 0600) or postgresql:// URI");
  AddLoginOptions(app, f);
  app.add_option("--max-concurrency", f.run.max_concurrency,
                 "requests in flight for the whole run; 1 = sequential")
      ->check(Bounded(1, 1024));
  app.add_option("--qpm", f.qpm, "the API's queries-per-minute quota per site and per user")
      ->check(Bounded(1, 100000));
  app.add_option("--qpm-utilization", f.qpm_utilization, "fraction of --qpm to use")
      ->check(Bounded(0.01, 1));
  app.add_option("--qpm-window", f.qpm_window_s, "quota window in seconds (smaller in tests)")
      ->check(Bounded(1, 3600));
  app.add_option("--queue-limit", f.run.queue_limit, "claimed pages held in memory, at most")
      ->check(Bounded(1, 1000000));
  app.add_option("--inflight-limit", f.run.inflight_limit, "fetched pages waiting for the database")
      ->check(Bounded(1, 10000));
  app.add_option("--max-attempts", f.run.max_attempts, "attempts before a page is dead")
      ->check(Bounded(1, 100));
  app.add_option("--lease", raw.lease_s, "lease length in seconds")->check(Bounded(1, 3600));
  app.add_option("--halt-timeout", raw.halt_timeout_s, "seconds in-flight requests get on a stop")
      ->check(Bounded(0, 600));
  app.add_option("--retry-base", raw.retry_base_s, "back-off base in seconds")
      ->check(Bounded(0, 600));
  app.add_option("--retry-cap", raw.retry_cap_s, "back-off cap in seconds")
      ->check(Bounded(0, 3600));
  app.add_option("--quota-cooldown", raw.quota_cooldown_s, "load-quota cool-down in seconds")
      ->check(Bounded(0, 86400));
  app.add_option("--request-timeout", f.request_timeout_s, "seconds one request may take")
      ->check(Bounded(0.1, 3600));
  app.add_option("--quota-user", f.quota_user,
                 "name of the principal's quota key (default: from the credential)")
      ->check(PlainText());
  app.add_option("--worker-id", f.run.worker_id, "lease owner name (default host-pid-random)")
      ->check(PlainText());
  app.add_option("--project-qpm", f.project_qpm,
                 "the API's per-project quota per --qpm-window, at --qpm-utilization")
      ->check(Bounded(1, 1000000))
      ->group("");  // hidden: tests scale the project budget down with the window
}

void AddOutputOptions(CLI::App& app, RawFlags& raw, BackfillFlags& f) {
  app.add_option("--log-format", f.log_format, "log lines on stderr")
      ->check(CLI::IsMember({"console", "json"}));
  app.add_option("--log-level", f.log_level, "least severe level logged")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--progress", f.progress, "status line on stderr")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--metrics-addr", raw.metrics_addr,
                 "serve /metrics, /health, /stats on [HOST:]PORT (HOST defaults to 127.0.0.1)");
  app.add_option("--metrics-hold", f.metrics_hold_s,
                 "seconds to keep serving /metrics after the run, for a last scrape")
      ->check(Bounded(0, 3600));
  app.add_option("--audit-log", f.audit_log, "append one JSON line per request to this file");
  app.add_flag("--dry-run", f.dry_run,
               "print the reports, days, pages already held and the estimated requests and "
               "minutes; write nothing, send nothing");
  app.add_flag("--json", f.json, "print the end-of-run summary as one JSON object on stdout");
}

// The help groups, in the order --help shows them; kFlagGroups puts every flag in one.
constexpr const char* kGroupOrder[] = {"Login",    "What to fetch",
                                       "Quota",    "Concurrency and retries",
                                       "Database", "Output and telemetry"};

const std::map<std::string, std::string, std::less<>>& FlagGroups() {
  static const auto* groups = new std::map<std::string, std::string, std::less<>>{
      {"token", "Login"},
      {"token-cmd", "Login"},
      {"credentials", "Login"},
      {"subject", "Login"},
      {"quota-project", "Login"},
      {"api-base", "Login"},
      {"site", "What to fetch"},
      {"from", "What to fetch"},
      {"to", "What to fetch"},
      {"allow-old-dates", "What to fetch"},
      {"type", "What to fetch"},
      {"preset", "What to fetch"},
      {"dimensions", "What to fetch"},
      {"data-state", "What to fetch"},
      {"aggregation-type", "What to fetch"},
      {"filter", "What to fetch"},
      {"row-limit", "What to fetch"},
      {"refresh-days", "What to fetch"},
      {"qpm", "Quota"},
      {"qpm-utilization", "Quota"},
      {"qpm-window", "Quota"},
      {"quota-user", "Quota"},
      {"quota-cooldown", "Quota"},
      {"max-concurrency", "Concurrency and retries"},
      {"max-attempts", "Concurrency and retries"},
      {"retry-base", "Concurrency and retries"},
      {"retry-cap", "Concurrency and retries"},
      {"request-timeout", "Concurrency and retries"},
      {"halt-timeout", "Concurrency and retries"},
      {"queue-limit", "Concurrency and retries"},
      {"inflight-limit", "Concurrency and retries"},
      {"db", "Database"},
      {"lease", "Database"},
      {"worker-id", "Database"},
      {"log-format", "Output and telemetry"},
      {"log-level", "Output and telemetry"},
      {"progress", "Output and telemetry"},
      {"metrics-addr", "Output and telemetry"},
      {"metrics-hold", "Output and telemetry"},
      {"audit-log", "Output and telemetry"},
      {"dry-run", "Output and telemetry"},
      {"json", "Output and telemetry"},
  };
  return *groups;
}

// --help: ungrouped options (--help, --config) first, then kGroupOrder, then any other.
class GroupedFormatter final : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::vector<std::string> order = {"Options"};
    order.insert(order.end(), std::begin(kGroupOrder), std::end(kGroupOrder));
    for (const std::string& g : app->get_groups()) {
      if (std::find(order.begin(), order.end(), g) == order.end()) order.push_back(g);
    }
    std::stringstream out;
    out << make_description(app) << make_usage(app, name);
    for (const std::string& group : order) {
      std::vector<const CLI::Option*> opts = app->get_options(
          [&](const CLI::Option* o) { return o->get_group() == group && o->nonpositional(); });
      if (!group.empty() && !opts.empty()) out << make_group(group, false, opts);
    }
    out << '\n' << make_footer(app);
    return out.str();
  }
};

// CLI11 reads a config file before the environment and lets the first value found stand;
// dropping the file's entries whose variable is set makes the environment win.
class EnvFirstConfig final : public CLI::ConfigTOML {
 public:
  explicit EnvFirstConfig(std::string env_token) : env_token_(std::move(env_token)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
    std::erase_if(items, [this](const CLI::ConfigItem& item) {
      if (!item.parents.empty()) return false;
      if (item.name == "token") return !env_token_.empty();
      const char* value = std::getenv(FlagEnvName(item.name).c_str());
      return value != nullptr && *value != '\0';
    });
    return items;
  }

 private:
  std::string env_token_;
};

// Puts every flag in its help group and gives it its BATCHFETCH_* variable.
void FinishFlagTable(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string& name = opt->get_single_name();
    if (name == "help") continue;
    if (opt->get_group() == "Options") {
      auto it = FlagGroups().find(name);
      if (it != FlagGroups().end()) opt->group(it->second);
    }
    // --token keeps its own BATCHFETCH_TOKEN (CredentialEnv): an environment token is
    // a fallback credential, not a --token given.
    if (name != "token" && opt->get_envname().empty()) opt->envname(FlagEnvName(name));
  }
}

// Every --site x --type (--type all, --preset expanded) as a report, each checked
// against the API's rules; a --site of neither property form is warned about.
std::string BuildReports(const RawFlags& raw, BackfillFlags* f) {
  if (!raw.preset.empty() && raw.dimensions_given) {
    return "give --preset or --dimensions, not both (--preset " + raw.preset + " sets them)";
  }
  ReportChoice choice;
  choice.sites = raw.sites;
  choice.types = raw.types;
  choice.dimensions = raw.dimensions;
  choice.preset = raw.preset;
  choice.data_state = raw.spec.data_state;
  choice.aggregation_type = raw.spec.aggregation_type;
  choice.filters = raw.filters;
  std::vector<ReportSpec> specs;
  if (std::string error = ChooseReports(choice, &specs); !error.empty()) return error;
  for (ReportSpec& spec : specs) f->job.reports.push_back(Report::Make(std::move(spec)));
  for (const std::string& site : raw.sites) {
    if (auto warning = SiteFormWarning(site)) f->warnings.push_back(*warning);
  }
  f->appearance_second_pass = raw.preset == "by-search-appearance";
  return "";
}

// from, to (defaulted to the last day with data) and the today the run counts from.
std::string CheckDates(const RawFlags& raw, const std::string& api_today, BackfillFlags* f) {
  f->today = raw.today.empty() ? api_today : raw.today;
  f->job.from = raw.from;
  f->job.to = raw.to.empty() ? LastDayWithData(f->today, raw.spec.data_state) : raw.to;
  if (f->job.to < f->job.from) {
    return "--from " + f->job.from + " is after " +
           (raw.to.empty() ? "the last day with data " : "--to ") + f->job.to +
           (raw.to.empty() ? "" : ": swap them");
  }
  if (f->job.to > f->today) {
    return "--to " + f->job.to + " is after the API's today " + f->today + ": it has no data yet";
  }
  const int64_t span = CountDays(f->job.from, f->job.to);
  const int64_t back = CountDays(f->job.from, f->today);
  if (span > kMaxRunDays) {
    return "--from " + f->job.from + " --to " + f->job.to + " is " + std::to_string(span) +
           " days: one run plans at most " + std::to_string(kMaxRunDays);
  }
  if (!raw.allow_old_dates && back > 2 * kRetentionDays) {
    return "--from " + f->job.from + " is " + std::to_string(back) +
           " days back; the API keeps 16 months of data (add --allow-old-dates to ask anyway)";
  }
  if (back > kRetentionDays) {
    f->warnings.push_back("--from " + f->job.from +
                          " is older than the API's 16 months of data: expect empty pages");
  }
  return "";
}

// One credential at most; none at all only for a loopback test server. token_in_argv: the
// token was given as --token (visible in ps), not in a --config file.
std::string CheckCredentials(const CredentialEnv& env, bool token_in_argv, BackfillFlags* f) {
  const ApiBaseCheck api = CheckApiBase(f->api_base);
  if (!api.error.empty()) return api.error;
  const int given = !f->token.empty() + !f->token_cmd.empty() + !f->credentials.empty();
  if (given > 1) return "give only one of --token, --token-cmd, --credentials";
  f->token_from_flag = token_in_argv && !f->token.empty();
  if (f->token_from_flag) {
    f->warnings.push_back(
        "--token is visible to other users in ps; prefer the BATCHFETCH_TOKEN environment "
        "variable");
  }
  if (given == 0) f->token = env.token;
  if (given == 0 && env.token.empty() && env.credentials.empty() && env.adc_path.empty() &&
      !api.loopback) {
    return "no credential: set BATCHFETCH_TOKEN or GOOGLE_APPLICATION_CREDENTIALS, give "
           "--token-cmd or --credentials, or run gcloud auth application-default login";
  }
  return f->db.empty() ? "--db is empty" : "";
}

std::string FinishRunOptions(const RawFlags& raw, BackfillFlags* f) {
  if (raw.retry_cap_s < raw.retry_base_s) return "--retry-cap must be >= --retry-base";
  if (!raw.metrics_addr.empty()) {
    std::string why;
    f->metrics = ParseListenAddress(raw.metrics_addr, &why);
    if (!f->metrics) return why;
  }
  if (f->metrics_hold_s > 0 && !f->metrics) return "--metrics-hold needs --metrics-addr";
  auto ms = [](double s) { return std::chrono::milliseconds(std::llround(s * 1000)); };
  f->run.lease = ms(raw.lease_s);
  f->run.halt_timeout = ms(raw.halt_timeout_s);
  f->run.retry_base = ms(raw.retry_base_s);
  f->run.retry_cap = ms(raw.retry_cap_s);
  f->run.quota_cooldown = ms(raw.quota_cooldown_s);
  return "";
}

}  // namespace

std::string FlagEnvName(std::string_view flag_name) {
  std::string env = "BATCHFETCH_";
  for (char c : flag_name) {
    env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return env;
}

long BackfillFlags::Budget() const {
  return std::max(1L, static_cast<long>(std::floor(qpm * qpm_utilization + 1e-9)));
}

const char* BackfillExample() {
  return "example: batchfetch backfill --site sc-domain:example.com --from 2025-01-01 "
         "--db batchfetch.db   (token in BATCHFETCH_TOKEN)";
}

std::string LastDayWithData(std::string_view api_today, std::string_view data_state) {
  return data_state == "final" ? AddDays(api_today, -1) : std::string(api_today);
}

std::optional<int> ParseBackfillFlags(int argc, char** argv, const CredentialEnv& env,
                                      const std::string& api_today, BackfillFlags* out,
                                      std::string* error) {
  BackfillFlags f;
  RawFlags raw;
  CLI::App app{"batchfetch backfill: fetch days of searchAnalytics.query into the database",
               "batchfetch backfill"};
  app.option_defaults()->always_capture_default();
  app.formatter(std::make_shared<GroupedFormatter>());
  app.config_formatter(std::make_shared<EnvFirstConfig>(env.token));
  app.set_config("--config", "",
                 "TOML file of flags: one `name = value` a line, names without the dashes "
                 "(max-concurrency = 4, site = [\"sc-domain:a.com\"])");
  app.allow_config_extras(CLI::config_extras_mode::error);
  AddReportOptions(app, raw, f);
  AddRunOptions(app, raw, f);
  AddOutputOptions(app, raw, f);
  FinishFlagTable(app);
  app.footer(
      "Every flag can also be set by an environment variable BATCHFETCH_<FLAG> (--max-concurrency: "
      "BATCHFETCH_MAX_CONCURRENCY; the token: BATCHFETCH_TOKEN) or a --config file. A flag "
      "wins over the environment, which wins over the file, which wins over the default.\n\n" +
      std::string(BackfillExample()));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::ParseError& e) {
    *error = e.what();
    if (error->rfind(": ", 0) == 0) error->erase(0, 2);  // a hidden option's error
    std::replace(error->begin(), error->end(), '\n', ' ');
    out->log_format = f.log_format;  // as far as it was read: the error's format
    return 1;
  }
  bool token_in_argv = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    token_in_argv = token_in_argv || arg == "--token" || arg.starts_with("--token=");
  }
  raw.dimensions_given = app.count("--dimensions") > 0;
  for (const std::string& problem :
       {BuildReports(raw, &f), CheckDates(raw, api_today, &f),
        CheckCredentials(env, token_in_argv, &f), FinishRunOptions(raw, &f)}) {
    if (!problem.empty()) {
      *error = problem;
      out->log_format = f.log_format;
      return 1;
    }
  }
  *out = std::move(f);
  return std::nullopt;
}

}  // namespace batchfetch
