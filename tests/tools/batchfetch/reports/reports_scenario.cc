#include "tests/tools/batchfetch/reports/reports_scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "tests/support/http_client.h"

namespace batchfetch::testing {
namespace {

std::chrono::sys_days ParseDate(const std::string& date) {
  if (date.size() != 10) throw std::runtime_error("bad date " + date);
  const std::chrono::year_month_day ymd{
      std::chrono::year{std::stoi(date.substr(0, 4))},
      std::chrono::month{static_cast<unsigned>(std::stoi(date.substr(5, 2)))},
      std::chrono::day{static_cast<unsigned>(std::stoi(date.substr(8, 2)))}};
  if (!ymd.ok()) throw std::runtime_error("bad date " + date);
  return ymd;
}

std::string FormatDate(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

int64_t IntField(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_string()) return std::strtoll(v->as_string().c_str(), nullptr, 10);
  return v->to_number<int64_t>();
}

std::string TextField(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

}  // namespace

std::string BatchfetchBin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

std::vector<std::string> BackfillArgs(const std::string& db, const MockGsc& server,
                                      const std::vector<std::string>& flags) {
  std::vector<std::string> args = {BatchfetchBin(),
                                   "backfill",
                                   "--site",
                                   kSite,
                                   "--dimensions",
                                   kDims,
                                   "--row-limit",
                                   std::to_string(kRowLimit),
                                   "--db",
                                   db,
                                   "--api-base",
                                   server.base_url(),
                                   "--token",
                                   "test-token",
                                   "--max-concurrency",
                                   "4",
                                   "--qpm",
                                   "1200",
                                   "--qpm-window",
                                   "6",
                                   "--retry-base",
                                   "0.05",
                                   "--progress",
                                   "never"};
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const bool repeatable = flags[i] == "--filter" || flags[i] == "--site";
    auto it = std::find(args.begin(), args.end(), flags[i]);
    if (!repeatable && it != args.end() && i + 1 < flags.size() && flags[i].rfind("--", 0) == 0) {
      *(it + 1) = flags[++i];
    } else {
      args.push_back(flags[i]);
    }
  }
  return args;
}

CommandResult RunBatchfetch(const std::vector<std::string>& argv,
                            std::chrono::milliseconds timeout) {
  return RunCommand(argv, timeout);
}

MockGsc::ExpectedDay ExpectedAs(const MockGsc& server, const std::string& date,
                                const std::string& data_state, const std::string& dimensions) {
  const HttpResponse response =
      HttpGet(server.base_url() + "/__expected?site=" + EncodeUriComponent(kSite) +
              "&type=web&date=" + date + "&dimensions=" + EncodeUriComponent(dimensions) +
              "&dataState=" + data_state);
  if (response.status != 200) {
    throw std::runtime_error("/__expected: " + std::to_string(response.status) + " " +
                             response.error + response.body);
  }
  const boost::json::object o = boost::json::parse(response.body).as_object();
  return {o.at("rows").to_number<int64_t>(), std::string(o.at("checksum").as_string()),
          o.at("truncated").as_bool()};
}

std::vector<ServedRequest> RecentRequests(const MockGsc& server) {
  const HttpResponse response = HttpGet(server.base_url() + "/__requests");
  if (response.status != 200) {
    throw std::runtime_error("/__requests: " + std::to_string(response.status) + " " +
                             response.error);
  }
  std::vector<ServedRequest> out;
  const boost::json::value parsed = boost::json::parse(response.body);
  for (const boost::json::value& entry : parsed.as_array()) {
    const boost::json::value* body = entry.as_object().if_contains("body");
    if (!body || !body->is_object()) throw std::runtime_error("/__requests: a body is not JSON");
    const boost::json::object& b = body->as_object();
    out.push_back({TextField(b, "startDate"), TextField(b, "endDate"), IntField(b, "startRow"),
                   IntField(b, "rowLimit"), TextField(b, "dataState")});
  }
  return out;
}

int64_t RequestCount(const MockGsc& server) { return JsonInt(server.Stats(), "requests"); }

std::string AddDays(const std::string& date, int n) {
  return FormatDate(ParseDate(date) + std::chrono::days(n));
}

std::vector<std::string> DateRange(const std::string& from, const std::string& to) {
  std::vector<std::string> out;
  for (auto day = ParseDate(from); day <= ParseDate(to); day += std::chrono::days(1)) {
    out.push_back(FormatDate(day));
  }
  return out;
}

int64_t PagesOf(int64_t rows, int row_limit) {
  const int64_t max_pages = (kDailyRowCap + row_limit - 1) / row_limit;
  return std::min<int64_t>(rows / row_limit + 1, max_pages);
}

void ExpectDaysMatch(const ReportsLedger& ledger, const std::string& report_id,
                     const MockGsc& server, const std::vector<std::string>& dates,
                     const std::string& data_state) {
  const auto stored = ledger.Days(report_id);
  for (const std::string& date : dates) {
    const MockGsc::ExpectedDay want = ExpectedAs(server, date, data_state);
    auto it = stored.find(date);
    const int64_t rows = it == stored.end() ? 0 : it->second.rows;
    EXPECT_EQ(rows, want.rows) << "report " << report_id << " day " << date;
    if (want.rows > 0 && it != stored.end()) {
      EXPECT_EQ(it->second.checksum, want.checksum) << "report " << report_id << " day " << date;
    }
  }
}

}  // namespace batchfetch::testing
