#include "persistence/ledger.h"

#include <gtest/gtest.h>

namespace batchfetch {
namespace {

TEST(RedactTargetTest, HidesThePasswordOfAUriAndNothingElse) {
  EXPECT_EQ(RedactTarget("postgresql://bf:s3cr3t@db.example:5432/ledger"),
            "postgresql://bf:***@db.example:5432/ledger");
  EXPECT_EQ(RedactTarget("postgres://bf:p%40ss:w@rd@db/ledger"), "postgres://bf:***@db/ledger");
  EXPECT_EQ(RedactTarget("postgresql://:pw@db"), "postgresql://:***@db");
  EXPECT_EQ(RedactTarget("postgresql://bf@db/ledger"), "postgresql://bf@db/ledger");
  EXPECT_EQ(RedactTarget("postgresql://db/ledger?user=bf&password=s3cr3t&sslmode=require"),
            "postgresql://db/ledger?user=bf&password=***&sslmode=require");
  EXPECT_EQ(RedactTarget("postgresql://db/ledger?PASSWORD=s3cr3t"),
            "postgresql://db/ledger?PASSWORD=***");
  EXPECT_EQ(RedactTarget("postgresql://a:one@db/l?password=two&password=three"),
            "postgresql://a:***@db/l?password=***&password=***");
  EXPECT_EQ(RedactTarget("postgresql://db/l?passwordx=keep&xpassword=keep"),
            "postgresql://db/l?passwordx=keep&xpassword=keep");
}

TEST(RedactTargetTest, LeavesAFilePathAsItIs) {
  EXPECT_EQ(RedactTarget("batchfetch.db"), "batchfetch.db");
  EXPECT_EQ(RedactTarget("/data/user:pw@host.db"), "/data/user:pw@host.db");
}

TEST(IsPostgresTargetTest, KnowsBothSchemes) {
  EXPECT_TRUE(IsPostgresTarget("postgresql://db/l"));
  EXPECT_TRUE(IsPostgresTarget("postgres://db/l"));
  EXPECT_FALSE(IsPostgresTarget("postgresql.db"));
  EXPECT_FALSE(IsPostgresTarget("./postgres://x"));
}

}  // namespace
}  // namespace batchfetch
