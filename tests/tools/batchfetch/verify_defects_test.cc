// batchfetch verify against a clean run and against copies of its database with one
// injected defect each: it finds every one and exits 2, and exits 0 only when clean.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/mockgsc_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace batchfetch::testing {
namespace {

using std::chrono::seconds;

std::string Bin() {
  const char* bin = std::getenv("BATCHFETCH_BIN");
  if (!bin) throw std::runtime_error("BATCHFETCH_BIN is not set");
  return bin;
}

// Runs sql on the database at path, as a user would with the sqlite3 shell.
void Exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string why = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + why);
}

class VerifyDefectsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    MockGsc server(
        {"--latency-ms", "5", "--qpm-window", "6", "--rows-per-day", "300", "--seed", "13"});
    CommandResult run = RunCommand(
        {Bin(), "backfill", "--site", "sc-domain:example.com", "--from", "2025-06-01", "--to",
         "2025-06-10", "--row-limit", "500", "--db", dir_->File("clean.db"), "--api-base",
         server.base_url(), "--qpm-window", "6", "--progress", "never", "--allow-old-dates"},
        seconds(60));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  // A consistent copy of the clean database (WAL included), to damage.
  std::string Copy(const std::string& name) {
    const std::string path = dir_->File(name);
    Exec(dir_->File("clean.db"), "VACUUM INTO '" + path + "'");
    return path;
  }

  static CommandResult Verify(const std::string& db, bool json) {
    std::vector<std::string> argv = {Bin(), "verify", "--db", db};
    if (json) argv.push_back("--json");
    return RunCommand(argv, seconds(30));
  }

  static boost::json::object VerifyJson(const std::string& db, int* exit_code) {
    CommandResult r = Verify(db, true);
    *exit_code = r.exit_code;
    if (r.exit_code != 0 && r.exit_code != 2) {
      ADD_FAILURE() << "verify exited " << r.exit_code << ": " << r.err;
      return {{"reports", boost::json::array{boost::json::object{}}}, {"clean", false}};
    }
    boost::json::object o = boost::json::parse(r.out).as_object();
    EXPECT_EQ(o.at("reports").as_array().size(), 1u);
    return o;
  }

  static inline TempDir* dir_ = nullptr;
};

TEST_F(VerifyDefectsTest, ACleanRunHasNoProblemsAndExitsZero) {
  CommandResult text = Verify(dir_->File("clean.db"), false);
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("0 problems"), std::string::npos) << text.out;
  int code = -1;
  boost::json::object o = VerifyJson(dir_->File("clean.db"), &code);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(o.at("clean").as_bool());
  EXPECT_EQ(o.at("problems").to_number<int64_t>(), 0);
}

TEST_F(VerifyDefectsTest, FindsADeletedRow) {
  const std::string db = Copy("deleted.db");
  Exec(db,
       "DELETE FROM search_analytics WHERE (date, query, page) IN "
       "(SELECT date, query, page FROM search_analytics WHERE date = '2025-06-03' LIMIT 1)");
  int code = -1;
  boost::json::object o = VerifyJson(db, &code);
  EXPECT_EQ(code, 2);
  const auto& job = o.at("reports").as_array().at(0).as_object();
  ASSERT_EQ(job.at("row_mismatch").as_array().size(), 1u) << o;
  EXPECT_EQ(job.at("row_mismatch").as_array().at(0).as_string().subview().substr(0, 10),
            "2025-06-03");
  CommandResult text = Verify(db, false);
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.out.find("2025-06-03"), std::string::npos) << text.out;
}

TEST_F(VerifyDefectsTest, FindsADuplicatedRowInATableWithoutAPrimaryKey) {
  const std::string db = Copy("duplicated.db");
  // As a user might: rebuild the table without its key, then insert a row twice.
  Exec(db,
       "PRAGMA legacy_alter_table = ON;"  // the per-report views name the table
       "BEGIN;"
       "CREATE TABLE sa_nokey AS SELECT * FROM search_analytics;"
       "DROP TABLE search_analytics;"
       "ALTER TABLE sa_nokey RENAME TO search_analytics;"
       "INSERT INTO search_analytics SELECT * FROM search_analytics WHERE date = '2025-06-05' "
       "LIMIT 1;"
       "COMMIT;");
  int code = -1;
  boost::json::object o = VerifyJson(db, &code);
  EXPECT_EQ(code, 2) << o;
  const auto& job = o.at("reports").as_array().at(0).as_object();
  ASSERT_TRUE(job.contains("duplicate_rows")) << o;
  EXPECT_GE(job.at("duplicate_rows").to_number<int64_t>(), 1) << o;
  EXPECT_FALSE(o.at("clean").as_bool());
}

TEST_F(VerifyDefectsTest, FindsAPageResetToPending) {
  const std::string db = Copy("reset.db");
  Exec(db, "UPDATE batches SET state = 'pending' WHERE date = '2025-06-07' AND start_row = 0");
  int code = -1;
  boost::json::object o = VerifyJson(db, &code);
  EXPECT_EQ(code, 2);
  const auto& job = o.at("reports").as_array().at(0).as_object();
  ASSERT_EQ(job.at("unfinished").as_array().size(), 1u) << o;
  EXPECT_EQ(job.at("unfinished").as_array().at(0).as_string(), "2025-06-07:0 pending");
}

TEST_F(VerifyDefectsTest, FindsImpossibleValues) {
  const std::string db = Copy("bad_values.db");
  Exec(db,
       "UPDATE search_analytics SET clicks = -5 WHERE (date, query, page) IN "
       "(SELECT date, query, page FROM search_analytics WHERE date = '2025-06-04' LIMIT 1)");
  int code = -1;
  boost::json::object o = VerifyJson(db, &code);
  EXPECT_EQ(code, 2) << o;
  const auto& report = o.at("reports").as_array().at(0).as_object();
  ASSERT_EQ(report.at("bad_values").as_array().size(), 1u) << o;
  EXPECT_EQ(report.at("bad_values").as_array().at(0).as_string().subview().substr(0, 10),
            "2025-06-04");
}

TEST_F(VerifyDefectsTest, VerifyOfOneReportByIdAndOfAnUnknownOne) {
  CommandResult json = Verify(dir_->File("clean.db"), true);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::string id(
      boost::json::parse(json.out).as_object().at("reports").as_array().at(0).at("id").as_string());
  CommandResult one =
      RunCommand({Bin(), "verify", "--db", dir_->File("clean.db"), "--report", id}, seconds(30));
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_NE(one.out.find("1 report"), std::string::npos) << one.out;
  CommandResult unknown =
      RunCommand({Bin(), "verify", "--db", dir_->File("clean.db"), "--report", "ffffffffffffffff"},
                 seconds(30));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out << unknown.err;
}

TEST_F(VerifyDefectsTest, AMissingDatabaseIsAUsageError) {
  CommandResult r = RunCommand({Bin(), "verify"}, seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--db"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace batchfetch::testing
