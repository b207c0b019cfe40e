#include "tools/mockgsc/row_checksum.h"

#include <gtest/gtest.h>

#include "tests/support/checksum.h"
#include "tools/mockgsc/data_generator.h"

namespace mockgsc {
namespace {

// The server's checksum and the tests' independent copy must agree, or every engine test
// comparing a database against /__expected would fail for the wrong reason.
TEST(RowChecksumTest, AgreesWithTheTestSupportCopyAndIgnoresOrder) {
  DataGenerator gen({.seed = 3, .rows_per_day = 500});
  auto day = gen.Day("https://www.example.com/", "web", *CivilDate::Parse("2024-05-05"),
                     {Dimension::kDate, Dimension::kQuery});
  ASSERT_FALSE(day->rows.empty());
  RowChecksum server;
  batchfetch::testing::RowSetChecksum forward, backward;
  for (const Row& row : day->rows) {
    server.Add(row.keys, row.clicks, row.impressions);
    forward.Add(row.keys, row.clicks, row.impressions);
  }
  for (auto it = day->rows.rbegin(); it != day->rows.rend(); ++it) {
    backward.Add(it->keys, it->clicks, it->impressions);
  }
  EXPECT_EQ(server.Hex(), forward.Hex());
  EXPECT_EQ(forward.Hex(), backward.Hex());
  EXPECT_EQ(server.Hex().size(), 16u);
}

TEST(RowChecksumTest, MatchesAHandComputedValue) {
  // FNV-1a-64 of "a\x1f" "b\x1e" "1\x1e" "2", computed independently.
  batchfetch::testing::RowSetChecksum sum;
  sum.Add({"a", "b"}, 1, 2);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : std::string("a\x1f"
                                     "b\x1e"
                                     "1\x1e"
                                     "2"))
    h = (h ^ c) * 0x100000001b3ULL;
  EXPECT_EQ(sum.value(), h);
  RowChecksum server;
  std::vector<std::string> keys = {"a", "b"};
  server.Add(keys, 1, 2);
  EXPECT_EQ(server.value(), h);
}

}  // namespace
}  // namespace mockgsc
