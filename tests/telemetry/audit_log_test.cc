#include "telemetry/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace batchfetch {
namespace {

using std::chrono::microseconds;

TEST(AuditLogTest, OneFlushedJsonLinePerRequestInAnOwnerOnlyFile) {
  testing::TempDir dir;
  const std::string path = dir.File("audit.jsonl");
  AuditLog log("host-1-\"w\"");
  std::string error;
  ASSERT_TRUE(log.Open(path, &error)) << error;
  log.OnRequest(PageKey{"rep-1", "2025-01-02", 500}, 200, "ok", microseconds(12345),
                microseconds(10), 57, 960);
  log.OnRequest(PageKey{"rep-1", "2025-01-03", 0}, 0, "transient", microseconds(1), microseconds(0),
                58, 960);
  // Flushed already: read it while the log is still open.
  std::ifstream in(path);
  std::string line;
  std::vector<boost::json::object> lines;
  while (std::getline(in, line)) lines.push_back(boost::json::parse(line).as_object());
  ASSERT_EQ(lines.size(), 2u);
  const boost::json::object& first = lines[0];
  EXPECT_EQ(first.at("worker").as_string(), "host-1-\"w\"");
  EXPECT_EQ(first.at("report").as_string(), "rep-1");
  EXPECT_EQ(first.at("date").as_string(), "2025-01-02");
  EXPECT_EQ(first.at("start_row").to_number<int64_t>(), 500);
  EXPECT_EQ(first.at("status").to_number<int64_t>(), 200);
  EXPECT_EQ(first.at("outcome").as_string(), "ok");
  EXPECT_NEAR(first.at("latency_ms").to_number<double>(), 12.345, 1e-9);
  EXPECT_EQ(first.at("grants_in_window").to_number<int64_t>(), 57);
  EXPECT_EQ(first.at("budget").to_number<int64_t>(), 960);
  EXPECT_EQ(first.at("time").as_string().size(), std::string("2025-01-01T00:00:00.000000Z").size());
  EXPECT_EQ(lines[1].at("status").to_number<int64_t>(), 0);

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(AuditLogTest, AnUnwritablePathIsAClearError) {
  AuditLog log("w");
  std::string error;
  EXPECT_FALSE(log.Open("/nonexistent-dir/audit.jsonl", &error));
  EXPECT_NE(error.find("--audit-log"), std::string::npos);
}

}  // namespace
}  // namespace batchfetch
