#include "tests/tools/batchfetch/multiprocess_fleet.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "core/report.h"
#include "tests/support/checksum.h"
#include "tests/support/pg_cluster.h"
#include "tests/tools/batchfetch/backfill_runner.h"

namespace batchfetch::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Fleet::Fleet(const std::vector<std::string>& args, int processes, const std::string& dir)
    : dir_(dir) {
  for (int i = 0; i < processes; ++i) {
    Subprocess::Options options;
    options.argv = args;
    options.argv.push_back("--worker-id");
    options.argv.push_back("p" + std::to_string(i));
    options.stdout_path = dir_ + "/out" + std::to_string(i) + ".txt";
    options.stderr_path = dir_ + "/err" + std::to_string(i) + ".txt";
    processes_.push_back(std::make_unique<Subprocess>(options));
  }
}

std::vector<int> Fleet::WaitAll(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::vector<int> codes;
  for (auto& p : processes_) {
    const auto left = std::max(std::chrono::milliseconds(1),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   end - std::chrono::steady_clock::now()));
    const std::optional<int> code = p->Wait(left);
    codes.push_back(code.value_or(-1));
  }
  return codes;
}

int64_t Fleet::PagesOf(int i) const {
  static const std::regex kSummary(R"(batchfetch: [a-z ]+: (\d+) pages)");
  std::smatch m;
  const std::string out = Slurp(dir_ + "/out" + std::to_string(i) + ".txt");
  if (!std::regex_search(out, m, kSummary)) return -1;
  return std::stoll(m[1].str());
}

std::string Fleet::OutputOf(int i) const {
  return "--- process p" + std::to_string(i) + " stdout:\n" +
         Slurp(dir_ + "/out" + std::to_string(i) + ".txt") + "--- stderr (tail):\n" + [&] {
           std::string err = Slurp(dir_ + "/err" + std::to_string(i) + ".txt");
           return err.size() > 3000 ? err.substr(err.size() - 3000) : err;
         }();
}

std::map<std::string, PgDay> PgDays(const std::string& uri, const std::string& site,
                                    const std::string& type, const std::string& dimensions) {
  std::vector<std::string> dims;
  ReportSpec spec;  // the report the run registers: defaults but for these three
  spec.site = site;
  spec.search_type = type;
  spec.dimensions.clear();
  std::stringstream in(dimensions);
  for (std::string d; std::getline(in, d, ',');) {
    spec.dimensions.push_back(d);
    dims.push_back(d == "searchAppearance" ? "search_appearance" : d);
  }
  std::string sql = "SELECT date::text, clicks::bigint, impressions::bigint";
  for (const std::string& d : dims) sql += ", " + (d == "date" ? "date::text" : d);
  sql += " FROM search_analytics WHERE report_id = '" + spec.Id() + "'";
  std::map<std::string, RowSetChecksum> sums;
  for (const auto& row : PgQuery(uri, sql)) {
    std::vector<std::string> keys(row.begin() + 3, row.end());
    sums[row[0]].Add(keys, std::stoll(row[1]), std::stoll(row[2]));
  }
  std::map<std::string, PgDay> out;
  for (auto& [date, sum] : sums) out[date] = PgDay{sum.rows(), sum.Hex()};
  return out;
}

void ExpectPgDaysMatch(const std::string& uri, const MockGsc& server,
                       const std::vector<std::string>& dates) {
  const auto stored = PgDays(uri, BackfillRunner::kSite, "web", BackfillRunner::kDims);
  for (const std::string& date : dates) {
    const MockGsc::ExpectedDay want =
        server.Expected(BackfillRunner::kSite, "web", date, BackfillRunner::kDims);
    auto it = stored.find(date);
    EXPECT_EQ(it == stored.end() ? 0 : it->second.rows, want.rows) << "day " << date;
    if (want.rows > 0 && it != stored.end()) {
      EXPECT_EQ(it->second.checksum, want.checksum) << "day " << date;
    }
  }
  EXPECT_EQ(PgScalar(uri,
                     "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM "
                     "search_analytics GROUP BY report_id, date, hour, "
                     "query, page, country, device, search_appearance HAVING count(*) > 1) d"),
            0);
}

}  // namespace batchfetch::testing
