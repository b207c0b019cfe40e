#include "persistence/sqlite_statement.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/persistence/temp_dir.h"

namespace batchfetch {
namespace {

class SqliteStatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.File("t.db");
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    ASSERT_TRUE(SqliteExec(db_, "CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)").ok());
  }
  void TearDown() override { sqlite3_close_v2(db_); }

  TempDir dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

TEST_F(SqliteStatementTest, BindNumberStoresIntegralValuesAsIntegers) {
  SqliteStatement insert, read;
  ASSERT_TRUE(insert.Prepare(db_, "INSERT INTO t VALUES (?1, ?2)").ok());
  ASSERT_TRUE(read.Prepare(db_, "SELECT typeof(v) FROM t WHERE k = ?1").ok());
  const std::pair<const char*, double> values[] = {{"a", 12.0}, {"b", 0.5}, {"c", 1e300}};
  for (const auto& [key, value] : values) {
    insert.BindText(1, key);
    insert.BindNumber(2, value);
    ASSERT_TRUE(insert.Run().ok());
  }
  const std::pair<const char*, const char*> want[] = {
      {"a", "integer"}, {"b", "real"}, {"c", "real"}};
  for (const auto& [key, type] : want) {
    read.BindText(1, key);
    bool row = false;
    ASSERT_TRUE(read.Step(&row).ok());
    ASSERT_TRUE(row);
    EXPECT_EQ(read.ColumnText(0), type) << key;
    read.Reset();
  }
}

TEST_F(SqliteStatementTest, PageLimitReachedIsDiskFull) {
  ASSERT_TRUE(SqliteExec(db_, "PRAGMA max_page_count = 3").ok());
  SqliteStatement insert;
  ASSERT_TRUE(insert.Prepare(db_, "INSERT INTO t VALUES (?1, 1)").ok());
  Status status;
  std::string key(1000, 'x');
  for (int i = 0; i < 100 && status.ok(); ++i) {
    key[0] = static_cast<char>('A' + i % 50);
    key[1] = static_cast<char>('A' + i / 50);
    insert.BindText(1, key);
    status = insert.Run();
  }
  EXPECT_EQ(status.code(), Status::Code::kDiskFull) << status.ToString();
  EXPECT_TRUE(status.IsFatal());
}

TEST_F(SqliteStatementTest, WriteLockHeldElsewhereIsBusy) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_TRUE(SqliteExec(other, "BEGIN IMMEDIATE").ok());
  const Status status = SqliteExec(db_, "BEGIN IMMEDIATE");
  EXPECT_EQ(status.code(), Status::Code::kBusy) << status.ToString();
  ASSERT_TRUE(SqliteExec(other, "ROLLBACK").ok());
  sqlite3_close(other);
}

TEST_F(SqliteStatementTest, ConstraintViolationIsInvalidAndNamesTheStatement) {
  SqliteStatement insert;
  ASSERT_TRUE(insert.Prepare(db_, "INSERT INTO t VALUES ('same', 1)").ok());
  ASSERT_TRUE(insert.Run().ok());
  const Status status = insert.Run();
  EXPECT_EQ(status.code(), Status::Code::kInvalid);
  EXPECT_NE(status.message().find("INSERT INTO t"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("UNIQUE"), std::string::npos) << status.message();
}

TEST_F(SqliteStatementTest, BadBindIndexIsReportedByTheNextStep) {
  SqliteStatement read;
  ASSERT_TRUE(read.Prepare(db_, "SELECT v FROM t WHERE k = ?1").ok());
  read.BindText(2, "no such parameter");
  bool row = true;
  EXPECT_EQ(read.Step(&row).code(), Status::Code::kInvalid);
  EXPECT_FALSE(row);
  read.BindText(1, "k");
  EXPECT_TRUE(read.Step(&row).ok()) << "the bind error is reported once";
}

TEST(SqliteStatusTest, MapsResultCodesToStatusCodes) {
  EXPECT_TRUE(SqliteStatus(SQLITE_OK, nullptr, "x").ok());
  EXPECT_TRUE(SqliteStatus(SQLITE_DONE, nullptr, "x").ok());
  EXPECT_EQ(SqliteStatus(SQLITE_BUSY_SNAPSHOT, nullptr, "x").code(), Status::Code::kBusy);
  EXPECT_EQ(SqliteStatus(SQLITE_NOTADB, nullptr, "x").code(), Status::Code::kCorrupt);
  EXPECT_EQ(SqliteStatus(SQLITE_CORRUPT_INDEX, nullptr, "x").code(), Status::Code::kCorrupt);
  EXPECT_EQ(SqliteStatus(SQLITE_FULL, nullptr, "x").code(), Status::Code::kDiskFull);
  EXPECT_EQ(SqliteStatus(SQLITE_IOERR_WRITE, nullptr, "x").code(), Status::Code::kIoError);
  EXPECT_EQ(SqliteStatus(SQLITE_CANTOPEN, nullptr, "x").code(), Status::Code::kIoError);
  const Status s = SqliteStatus(SQLITE_FULL, nullptr, "commit");
  EXPECT_EQ(s.ToString(), "disk full: commit: database or disk is full");
}

}  // namespace
}  // namespace batchfetch
