#include "persistence/quota_ledger.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "persistence/postgres_quota_ledger.h"
#include "persistence/sqlite_quota_ledger.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/temp_dir.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The QuotaLedger contract, on SQLite and on PostgreSQL. Windows are a minute long so no
// grant leaves its window while a test runs: nothing here waits for time to pass.
class QuotaLedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") uri_ = testing::PgCluster::Shared().NewDatabase();
  }

  // A connection of a new "process" on the shared quota state.
  std::unique_ptr<QuotaLedger> Connect() {
    std::unique_ptr<QuotaLedger> out;
    const Status status = GetParam() == "postgres"
                              ? PostgresQuotaLedger::Open(uri_, &out)
                              : SqliteQuotaLedger::Open(dir_.File("q"), "boot-A", &out);
    EXPECT_TRUE(status.ok()) << status.message();
    return out;
  }

  static QuotaDecision Grant(QuotaLedger& ledger, std::vector<QuotaAsk> keys, int64_t n = 1) {
    QuotaDecision d;
    const Status status = ledger.TryGrant(keys, n, seconds(60), &d);
    EXPECT_TRUE(status.ok()) << status.message();
    return d;
  }

  testing::TempDir dir_;
  std::string uri_;
};

TEST_P(QuotaLedgerTest, ManyRequestsAreDecidedInOrderEachCountingTheEarlierOnes) {
  auto ledger = Connect();
  // Three sites share a principal whose budget is 2: the third finds it full.
  const std::vector<QuotaAsk> a{{"site:a", 5}, {"principal", 2}};
  const std::vector<QuotaAsk> b{{"site:b", 5}, {"principal", 2}};
  const std::vector<QuotaAsk> c{{"site:c", 5}, {"principal", 2}};
  const std::vector<QuotaRequest> requests{{a, 1}, {b, 1}, {c, 1}};
  std::vector<QuotaDecision> out;
  const Status status = ledger->TryGrantAll(requests, seconds(60), &out);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].granted);
  EXPECT_EQ(out[0].in_window, (std::vector<int64_t>{1, 1}));
  EXPECT_TRUE(out[1].granted);
  EXPECT_EQ(out[1].in_window, (std::vector<int64_t>{1, 2}));
  EXPECT_FALSE(out[2].granted);
  EXPECT_EQ(out[2].in_window, (std::vector<int64_t>{0, 2}));
  EXPECT_GT(out[2].retry_after.count(), 0);
  // What was granted is recorded for the next decision (of any process); site c was not
  // charged for its refusal.
  auto other = Connect();
  EXPECT_FALSE(Grant(*other, {{"principal", 2}}).granted);
  EXPECT_EQ(Grant(*other, {{"site:c", 5}}).in_window, (std::vector<int64_t>{1}));
  // One malformed request decides none of them.
  const std::vector<QuotaAsk> d{{"site:d", 5}};
  const std::vector<QuotaRequest> bad{{d, 1}, {d, 0}};
  EXPECT_EQ(ledger->TryGrantAll(bad, seconds(60), &out).code(), Status::Code::kInvalid);
  EXPECT_TRUE(out.empty());
}

TEST_P(QuotaLedgerTest, GrantsEveryKeyOrNone) {
  auto ledger = Connect();
  QuotaDecision d = Grant(*ledger, {{"a", 2}, {"b", 5}}, 2);
  EXPECT_TRUE(d.granted);
  EXPECT_EQ(d.in_window, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(d.budget, (std::vector<int64_t>{2, 5}));
  // a is full: b must not be charged for the refused request.
  d = Grant(*ledger, {{"b", 5}, {"a", 2}}, 1);
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.in_window, (std::vector<int64_t>{2, 2}));
  d = Grant(*ledger, {{"b", 5}}, 3);
  EXPECT_TRUE(d.granted);
  EXPECT_EQ(d.in_window, (std::vector<int64_t>{5}));
  EXPECT_FALSE(Grant(*ledger, {{"b", 5}}, 1).granted);
}

TEST_P(QuotaLedgerTest, ARefusalSaysWhenTheBlockingGrantLeavesTheWindow) {
  auto ledger = Connect();
  ASSERT_TRUE(Grant(*ledger, {{"a", 1}, {"p", 100}}).granted);
  const QuotaDecision d = Grant(*ledger, {{"p", 100}, {"a", 1}});
  EXPECT_FALSE(d.granted);
  EXPECT_GT(d.retry_after, seconds(50));
  EXPECT_LE(d.retry_after, seconds(60));
}

TEST_P(QuotaLedgerTest, TheSmallestBudgetAskedByALiveProcessWins) {
  auto generous = Connect();
  auto careful = Connect();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Grant(*generous, {{"site:x", 5}}).granted);
  QuotaDecision d = Grant(*careful, {{"site:x", 3}});
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.budget, (std::vector<int64_t>{3}));
  d = Grant(*generous, {{"site:x", 5}});
  EXPECT_FALSE(d.granted) << "the generous process must use the careful one's budget";
  EXPECT_EQ(d.budget, (std::vector<int64_t>{3}));
  EXPECT_EQ(d.in_window, (std::vector<int64_t>{3}));
}

TEST_P(QuotaLedgerTest, KeysAreDataWhateverTheirCharacters) {
  auto ledger = Connect();
  const std::string odd = R"(site:https://x.example/?a="b",c\d{e}'; DROP TABLE quota_log; --)";
  EXPECT_TRUE(Grant(*ledger, {{odd, 1}, {"project", 9}}).granted);
  EXPECT_FALSE(Grant(*ledger, {{odd, 1}}).granted);
  EXPECT_TRUE(Grant(*ledger, {{"site:https://x.example/", 1}}).granted);
}

TEST_P(QuotaLedgerTest, RefusesMalformedRequests) {
  auto ledger = Connect();
  QuotaDecision d;
  const std::vector<QuotaAsk> twice = {{"a", 3}, {"a", 3}};
  EXPECT_EQ(ledger->TryGrant(twice, 1, seconds(60), &d).code(), Status::Code::kInvalid);
  const std::vector<QuotaAsk> small = {{"a", 1}};
  EXPECT_EQ(ledger->TryGrant(small, 2, seconds(60), &d).code(), Status::Code::kInvalid);
  EXPECT_EQ(ledger->TryGrant(small, 1, milliseconds(0), &d).code(), Status::Code::kInvalid);
  EXPECT_EQ(ledger->TryGrant({}, 1, seconds(60), &d).code(), Status::Code::kInvalid);
}

INSTANTIATE_TEST_SUITE_P(Backends, QuotaLedgerTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// SQLite's times are CLOCK_BOOTTIME: meaningless after a reboot, so a file of another
// boot starts afresh, while a file of this boot keeps its log.
TEST(SqliteQuotaLedgerTest, AFileOfAnotherBootStartsAfresh) {
  testing::TempDir dir;
  std::unique_ptr<QuotaLedger> ledger;
  ASSERT_TRUE(SqliteQuotaLedger::Open(dir.File("q"), "boot-A", &ledger).ok());
  QuotaDecision d;
  const std::vector<QuotaAsk> keys = {{"a", 1}};
  ASSERT_TRUE(ledger->TryGrant(keys, 1, seconds(60), &d).ok());
  ASSERT_TRUE(d.granted);
  ledger.reset();

  ASSERT_TRUE(SqliteQuotaLedger::Open(dir.File("q"), "boot-A", &ledger).ok());
  ASSERT_TRUE(ledger->TryGrant(keys, 1, seconds(60), &d).ok());
  EXPECT_FALSE(d.granted) << "same boot: the log holds";
  ledger.reset();

  ASSERT_TRUE(SqliteQuotaLedger::Open(dir.File("q"), "boot-B", &ledger).ok());
  ASSERT_TRUE(ledger->TryGrant(keys, 1, seconds(60), &d).ok());
  EXPECT_TRUE(d.granted) << "another boot: the log starts afresh";
}

TEST(SqliteQuotaLedgerTest, TheBootIdIsReadFromTheKernel) {
  EXPECT_EQ(SqliteQuotaLedger::CurrentBootId().size(), 36u);
}

}  // namespace
}  // namespace batchfetch
