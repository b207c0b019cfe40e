// The behaviour every Ledger promises, run against each backend: SQLite
// (a temporary file) and PostgreSQL (a fresh database in a throw-away cluster that the
// test starts itself; it fails, never skips, when the cluster cannot start). A backend
// is a LedgerTestBackend (tests/persistence/ledger_test_backend.h); the SQL the tests
// read with is plain enough for both.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "core/civil_date.h"
#include "persistence/ledger.h"
#include "tests/persistence/ledger_test_backend.h"
#include "tests/persistence/sqlite_ledger_fixture.h"
#include "tests/support/pg_cluster.h"

namespace batchfetch {
namespace {

using std::chrono::milliseconds;

// sql's text literal for s.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

class LedgerContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = MakeLedgerTestBackend(GetParam());
    target_ = backend_->NewTarget();
    ASSERT_OK(OpenLedger(target_, OpenMode::kCreate, &ledger_));
  }

  // One value through a connection of its own, as a user would read it.
  std::string Text(const std::string& sql) {
    const auto rows = backend_->Query(target_, sql);
    return rows.empty() || rows[0].empty() ? "<none>" : rows[0][0];
  }
  int64_t Int(const std::string& sql) {
    const std::string text = Text(sql);
    return text == "<none>" || text.empty() ? -1 : static_cast<int64_t>(std::stod(text));
  }
  void Exec(const std::string& sql) { backend_->Query(target_, sql); }

  // Rows stored for report on date, and the sum of their clicks.
  int64_t StoredRows(const Report& report, const std::string& date) {
    return Int("SELECT count(*) FROM search_analytics WHERE report_id = '" + report.id +
               "' AND date = '" + date + "'");
  }
  int64_t StoredClicks(const Report& report, const std::string& date) {
    return Int("SELECT coalesce(sum(clicks), 0) FROM search_analytics WHERE report_id = '" +
               report.id + "' AND date = '" + date + "'");
  }
  int64_t Pages(const Report& report, const std::string& where = "TRUE") {
    return Int("SELECT count(*) FROM batches WHERE report_id = '" + report.id + "' AND (" + where +
               ")");
  }
  std::string BatchField(const std::string& field, const PageKey& key) {
    return Text("SELECT " + field + " FROM batches WHERE report_id = '" + key.report_id +
                "' AND date = '" + key.date + "' AND start_row = " + std::to_string(key.start_row));
  }

  DayPlan Plan(const Report& report, const std::string& from, const std::string& to,
               const RefreshPolicy& refresh = {}) {
    EXPECT_TRUE(ledger_->RegisterReport(report).ok());
    const std::vector<std::string> days = DaysBetween(from, to);
    DayPlan plan;
    const Status status = ledger_->PlanDays(report.id, days, refresh, &plan);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return plan;
  }

  std::vector<Lease> Claim(const std::string& report_id, int max, WallTime now,
                           const std::string& owner = "worker-a") {
    std::vector<Lease> out;
    const ClaimRequest request{report_id, max};
    const Status status = ledger_->Claim(std::span(&request, 1), owner, kLease, now, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  }

  // The one page a claim of max 1 gets; a test failure (and an empty lease) when none.
  Lease ClaimOne(const std::string& report_id, WallTime now,
                 const std::string& owner = "worker-a") {
    std::vector<Lease> leases = Claim(report_id, 1, now, owner);
    if (leases.size() != 1) {
      ADD_FAILURE() << "expected one page to claim, got " << leases.size();
      return Lease();
    }
    return leases[0];
  }

  bool CommitPage(std::shared_ptr<const Report> report, const Lease& lease, std::vector<Row> rows,
                  WallTime now, int64_t row_limit = 0, bool provisional = false) {
    std::vector<FetchedPage> pages;
    pages.push_back(MakePage(std::move(report), lease, std::move(rows), row_limit, provisional));
    std::vector<bool> held;
    const Status status = ledger_->CommitPages(pages, now, kDefaultMaxAttempts, &held);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return held.size() == 1 && held[0];
  }

  // Fetches every claimable page of report as worker-a would, the day's answer being
  // `total` rows of salt (per date), row_limit rows per request. Returns the pages
  // committed. Each page's rows are [start_row, start_row + PageRowLimit) of the answer.
  int FetchAll(std::shared_ptr<const Report> report, int total, int row_limit, int salt,
               WallTime now, bool provisional = false) {
    int pages = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      std::vector<Lease> leases = Claim(report->id, 1, now);
      if (leases.empty()) break;
      const Lease& lease = leases[0];
      const int64_t asked = PageRowLimit(row_limit, lease.key.start_row);
      std::vector<Row> all = MakeRows(total, lease.key.date, salt);
      const int64_t begin = std::min<int64_t>(lease.key.start_row, total);
      const int64_t end = std::min<int64_t>(begin + asked, total);
      std::vector<Row> rows(all.begin() + begin, all.begin() + end);
      EXPECT_TRUE(CommitPage(report, lease, std::move(rows), now, asked, provisional));
      ++pages;
    }
    return pages;
  }

  ReportProgress ProgressOf(const std::string& report_id) {
    ReportProgress progress;
    const Status status = ledger_->Progress(std::span(&report_id, 1), &progress);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return progress;
  }

  VerifyReport VerifyOf(const std::string& report_id) {
    VerifyReport report;
    const Status status = ledger_->Verify(report_id, &report);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return report;
  }

  std::unique_ptr<LedgerTestBackend> backend_;
  std::string target_;
  std::unique_ptr<Ledger> ledger_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerContractTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Reports.

TEST_P(LedgerContractTest, RegisterReportIsIdempotentAndListsEveryField) {
  auto report = MakeReportWith([](ReportSpec& s) {
    s.search_type = "image";
    s.dimensions = {"date", "country", "device"};
    s.data_state = "all";
    s.aggregation_type = "byPage";
    s.filters = {"query:contains:shoe", "country:equals:fra"};
  });
  ASSERT_OK(ledger_->RegisterReport(*report));
  ASSERT_OK(ledger_->RegisterReport(*report));
  std::vector<Report> reports;
  ASSERT_OK(ledger_->ListReports(&reports));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].id, report->id);
  EXPECT_EQ(reports[0].spec.Id(), report->id) << "every field round-trips";
  EXPECT_EQ(reports[0].spec.dimensions, report->spec.dimensions);
  EXPECT_EQ(reports[0].spec.aggregation_type, "byPage");
  EXPECT_EQ(reports[0].spec.FiltersText(), report->spec.FiltersText());
  EXPECT_EQ(Int("SELECT count(*) FROM reports"), 1);
  const std::string unknown = "no-such-report";
  ReportProgress p;
  ASSERT_OK(ledger_->Progress(std::span(&unknown, 0), &p));
  EXPECT_EQ(p.total(), 0);
}

TEST_P(LedgerContractTest, ListReportsIsOldestFirst) {
  auto a = MakeReport("sc-domain:b.example");
  auto b = MakeReport("sc-domain:a.example");
  ASSERT_OK(ledger_->RegisterReport(*a));
  ASSERT_OK(ledger_->RegisterReport(*b));
  ASSERT_OK(ledger_->RegisterReport(*a));
  std::vector<Report> reports;
  ASSERT_OK(ledger_->ListReports(&reports));
  ASSERT_EQ(reports.size(), 2u);
  // Registered in the same millisecond perhaps: then by insertion, never by name.
  EXPECT_EQ(reports[0].id, a->id);
  EXPECT_EQ(reports[1].id, b->id);
}

TEST_P(LedgerContractTest, RegisterReportsRecordsManyReportsAndTheirViewsInOneCall) {
  auto a = MakeReport("sc-domain:a.example");
  auto b = MakeReport("sc-domain:b.example");
  auto c = MakeReport("sc-domain:c.example");
  ASSERT_OK(ledger_->RegisterReport(*b));
  const std::vector<const Report*> all = {a.get(), b.get(), c.get()};
  ASSERT_OK(ledger_->RegisterReports(all));
  ASSERT_OK(ledger_->RegisterReports(all));
  std::vector<Report> reports;
  ASSERT_OK(ledger_->ListReports(&reports));
  ASSERT_EQ(reports.size(), 3u) << "a report already recorded is left as it is";
  EXPECT_EQ(reports[0].id, b->id);
  for (const Report* report : all) {
    EXPECT_EQ(Int("SELECT count(*) FROM report_" + report->id), 0)
        << "the view of " << report->spec.site << " is queryable";
  }
  Report broken = *MakeReport("sc-domain:d.example");
  broken.id = "not-its-id";
  auto fine = MakeReport("sc-domain:e.example");
  const std::vector<const Report*> with_broken = {fine.get(), &broken};
  EXPECT_EQ(ledger_->RegisterReports(with_broken).code(), Status::Code::kInvalid);
  reports.clear();
  ASSERT_OK(ledger_->ListReports(&reports));
  EXPECT_EQ(reports.size(), 3u) << "a refused batch records none of its reports";
}

TEST_P(LedgerContractTest, PlanReportsCountsEachReportApart) {
  auto a = MakeReport("sc-domain:a.example");
  auto b = MakeReport("sc-domain:b.example");
  const std::vector<const Report*> both = {a.get(), b.get()};
  ASSERT_OK(ledger_->RegisterReports(both));
  Plan(*a, "2024-03-01", "2024-03-02");
  const std::vector<std::string> ids = {a->id, b->id};
  const std::vector<std::string> days = {"2024-03-01", "2024-03-02", "2024-03-03"};
  std::vector<DayPlan> plans;
  ASSERT_OK(ledger_->PlanReports(ids, days, RefreshPolicy(), &plans));
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].added, 1);
  EXPECT_EQ(plans[0].unfinished, 2);
  EXPECT_EQ(plans[1].added, 3);
  EXPECT_EQ(Pages(*a), 3);
  EXPECT_EQ(Pages(*b), 3);
  const std::vector<std::string> unknown = {b->id, "0123456789abcdef"};
  const std::vector<std::string> next_day = {"2024-03-04"};
  EXPECT_FALSE(ledger_->PlanReports(unknown, next_day, RefreshPolicy(), &plans).ok());
  EXPECT_EQ(Pages(*b), 3) << "a plan naming an unknown report writes nothing";
}

// PlanDays.

TEST_P(LedgerContractTest, PlanDaysInsertsAFirstPageForEveryNewDayOnce) {
  auto report = MakeReport();
  DayPlan plan = Plan(*report, "2024-02-27", "2024-03-02");
  EXPECT_EQ(plan.added, 5);
  EXPECT_EQ(Pages(*report, "start_row = 0 AND state = 'pending'"), 5);
  plan = Plan(*report, "2024-02-27", "2024-03-02");
  EXPECT_EQ(plan.added, 0);
  EXPECT_EQ(plan.unfinished, 5);
  EXPECT_EQ(Pages(*report), 5);
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.pending, 5);
  EXPECT_EQ(p.days_held, 0);
}

TEST_P(LedgerContractTest, PlanDaysWithAWiderRangeLeavesHeldDaysAlone) {
  auto report = MakeReport();
  Plan(*report, "2024-01-02", "2024-01-03");
  ASSERT_EQ(FetchAll(report, 5, 1000, 1, At(0)), 2);
  DayPlan plan = Plan(*report, "2024-01-01", "2024-01-04");
  EXPECT_EQ(plan.added, 2);
  EXPECT_EQ(plan.held, 2);
  EXPECT_EQ(plan.refreshed, 0);
  EXPECT_EQ(plan.unfinished, 0);
  std::vector<Lease> leases = Claim(report->id, 10, At(1));
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].key.date, "2024-01-01");
  EXPECT_EQ(leases[1].key.date, "2024-01-04");
}

TEST_P(LedgerContractTest, PlanDaysRefreshesProvisionalAndRecentHeldDaysButNoDayBeingFetched) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-05");
  // 01-01 provisional (two pages), 01-02 and 01-03 old and final, 01-05 recent.
  std::vector<Lease> leases = Claim(report->id, 5, At(0));
  ASSERT_EQ(leases.size(), 5u);
  ASSERT_TRUE(CommitPage(report, leases[0], MakeRows(4, "2024-01-01"), At(1), 4, true));
  const Lease second = ClaimOne(report->id, At(2));
  ASSERT_EQ(second.key.start_row, 4);
  ASSERT_TRUE(CommitPage(report, second, MakeRows(2, "2024-01-01", 5), At(2), 4, true));
  ASSERT_TRUE(CommitPage(report, leases[1], MakeRows(3, "2024-01-02"), At(1), 4));
  ASSERT_TRUE(CommitPage(report, leases[2], MakeRows(3, "2024-01-03"), At(1), 4));
  ASSERT_TRUE(CommitPage(report, leases[4], MakeRows(3, "2024-01-05"), At(1), 4));
  // 01-04 is still leased.
  EXPECT_EQ(ProgressOf(report->id).provisional_days, 1);
  EXPECT_EQ(ProgressOf(report->id).days_held, 4);

  DayPlan plan = Plan(*report, "2024-01-01", "2024-01-05");  // no refresh policy
  EXPECT_EQ(plan.held, 4);
  EXPECT_EQ(plan.unfinished, 1);
  EXPECT_EQ(ProgressOf(report->id).done, 5);

  RefreshPolicy refresh;
  refresh.today = "2024-01-06";
  refresh.refresh_days = 2;  // 01-04 and later
  plan = Plan(*report, "2024-01-01", "2024-01-05", refresh);
  EXPECT_EQ(plan.refreshed, 2);  // 01-01 (provisional), 01-05 (recent)
  EXPECT_EQ(plan.held, 2);
  EXPECT_EQ(plan.unfinished, 1);
  EXPECT_EQ(plan.added, 0);
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.pending, 2);
  EXPECT_EQ(p.leased, 1);
  EXPECT_EQ(Pages(*report, "date = '2024-01-01'"), 1) << "later pages of a refreshed day go";
  EXPECT_EQ(BatchField("attempts", {report->id, "2024-01-01", 0}), "0");
  EXPECT_EQ(BatchField("lease_token", leases[3].key), leases[3].token);
  // The held rows stay visible (and held) until the new fetch completes.
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 6);
  EXPECT_EQ(p.days_held, 4);
  EXPECT_EQ(p.rows, 15);

  // The re-fetch replaces the day: the new answer lacks rows the old one had.
  std::vector<Lease> again = Claim(report->id, 5, At(3));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].key.date, "2024-01-01");
  ASSERT_TRUE(CommitPage(report, again[0], MakeRows(2, "2024-01-01", 1), At(4), 4));
  ASSERT_TRUE(CommitPage(report, again[1], MakeRows(3, "2024-01-05", 1), At(4), 4));
  ASSERT_TRUE(CommitPage(report, leases[3], MakeRows(1, "2024-01-04"), At(4), 4));
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 2);
  EXPECT_EQ(StoredRows(*report, "2024-01-05"), 3);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query NOT LIKE 'query 1-%'"
                " AND date IN ('2024-01-01', '2024-01-05')"),
            0);
  EXPECT_EQ(ProgressOf(report->id).provisional_days, 0);
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

TEST_P(LedgerContractTest, PlanDaysNeverTouchesAnotherReport) {
  auto mine = MakeReport();
  auto other = MakeReportWith([](ReportSpec& s) { s.data_state = "all"; });
  Plan(*other, "2024-01-01", "2024-01-02");
  ASSERT_EQ(FetchAll(other, 3, 1000, 7, At(0), /*provisional=*/true), 2);
  RefreshPolicy refresh;
  refresh.today = "2024-01-03";
  refresh.refresh_days = 10;
  DayPlan plan = Plan(*mine, "2024-01-01", "2024-01-02", refresh);
  EXPECT_EQ(plan.added, 2);
  EXPECT_EQ(plan.refreshed, 0);
  EXPECT_EQ(Pages(*other, "state = 'done'"), 2);
  EXPECT_EQ(StoredRows(*other, "2024-01-01"), 3);
  EXPECT_EQ(ProgressOf(other->id).days_held, 2);
}

TEST_P(LedgerContractTest, PlanDaysRejectsABadDateAndChangesNothing) {
  auto report = MakeReport();
  ASSERT_OK(ledger_->RegisterReport(*report));
  const std::vector<std::string> days = {"2024-01-01", "2024-02-30"};
  DayPlan plan;
  EXPECT_EQ(ledger_->PlanDays(report->id, days, {}, &plan).code(), Status::Code::kInvalid);
  EXPECT_EQ(Pages(*report), 0);
}

// Claim.

TEST_P(LedgerContractTest, ClaimHandsOutOldestDatesFirstWithFreshTokensUntilLeasesExpire) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-05");
  auto first = Claim(report->id, 2, At(0));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].key.date, "2024-01-01");
  EXPECT_EQ(first[1].key.date, "2024-01-02");
  EXPECT_EQ(first[0].key.report_id, report->id);
  EXPECT_NE(first[0].token, first[1].token);
  EXPECT_EQ(BatchField("lease_owner", first[0].key), "worker-a");
  auto rest = Claim(report->id, 10, At(1), "worker-b");
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].key.date, "2024-01-03");
  EXPECT_TRUE(Claim(report->id, 10, At(kLease.count() - 1)).empty());
  // Expired leases come back without an attempt counted, with new tokens.
  auto again = Claim(report->id, 10, At(kLease.count()), "worker-c");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].attempts, 0);
  EXPECT_NE(again[0].token, first[0].token);
  EXPECT_EQ(BatchField("attempts", again[0].key), "0");
}

TEST_P(LedgerContractTest, ClaimOverSeveralReportsKeepsRequestOrderAndDateOrderWithin) {
  auto a = MakeReport("sc-domain:a.example");
  auto b = MakeReport("sc-domain:b.example");
  auto c = MakeReport("sc-domain:c.example");
  Plan(*a, "2024-01-01", "2024-01-04");
  Plan(*b, "2024-01-01", "2024-01-04");
  Plan(*c, "2024-01-01", "2024-01-01");
  const std::vector<ClaimRequest> requests = {{b->id, 2}, {a->id, 3}, {c->id, 0}, {b->id, 1}};
  std::vector<Lease> out(1);  // appended to, not replaced
  ASSERT_OK(ledger_->Claim(requests, "w", kLease, At(0), &out));
  ASSERT_EQ(out.size(), 1u + 2 + 3 + 1);
  const std::vector<std::pair<std::string, std::string>> want = {
      {b->id, "2024-01-01"}, {b->id, "2024-01-02"}, {a->id, "2024-01-01"},
      {a->id, "2024-01-02"}, {a->id, "2024-01-03"}, {b->id, "2024-01-03"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(out[i + 1].key.report_id, want[i].first) << i;
    EXPECT_EQ(out[i + 1].key.date, want[i].second) << i;
  }
  EXPECT_EQ(ProgressOf(c->id).pending, 1);
}

// CommitPages.

TEST_P(LedgerContractTest, AFullPageQueuesTheNextAndTheDaysRowsAppearWithItsLastPage) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-02");
  auto leases = Claim(report->id, 2, At(0));
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_TRUE(CommitPage(report, leases[0], MakeRows(4, "2024-01-01"), At(1), 4));  // full
  EXPECT_TRUE(CommitPage(report, leases[1], MakeRows(3, "2024-01-02"), At(1), 4));  // short
  ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.pending, 1);
  EXPECT_EQ(p.rows, 3) << "01-01 is not complete yet";
  EXPECT_EQ(p.days_held, 1);
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 0);
  auto next = Claim(report->id, 5, At(2));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key.start_row, 4);
  EXPECT_TRUE(CommitPage(report, next[0], MakeRows(1, "2024-01-01", 1), At(3), 4));
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 5);
  p = ProgressOf(report->id);
  EXPECT_EQ(p.rows, 8);
  EXPECT_EQ(p.days_held, 2);
  EXPECT_EQ(Int("SELECT clicks FROM search_analytics WHERE query = 'query 0-1' AND"
                " date = '2024-01-01'"),
            12);
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

TEST_P(LedgerContractTest, RowLimit20000OnA50000RowDayAsksThreePagesAndMarksTheDayTruncated) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  std::vector<int64_t> starts, asked;
  for (int i = 0; i < 5; ++i) {
    auto leases = Claim(report->id, 1, At(i));
    if (leases.empty()) break;
    starts.push_back(leases[0].key.start_row);
    asked.push_back(PageRowLimit(20000, leases[0].key.start_row));
    // The API has more than the cap for this day: every request is answered in full.
    ASSERT_TRUE(CommitPage(report, leases[0],
                           MakeRows(static_cast<int>(asked.back()), "2024-01-01", i), At(i),
                           asked.back()));
  }
  EXPECT_EQ(starts, (std::vector<int64_t>{0, 20000, 40000}));
  EXPECT_EQ(asked, (std::vector<int64_t>{20000, 20000, 10000}));
  EXPECT_EQ(Pages(*report, "start_row >= 50000"), 0);
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.truncated_days, 1);
  EXPECT_EQ(p.rows, 50000);
  EXPECT_EQ(p.pending, 0);
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 50000);
  const VerifyReport v = VerifyOf(report->id);
  EXPECT_TRUE(v.clean()) << (v.missing_pages.empty() ? "" : v.missing_pages[0]);
  EXPECT_EQ(v.truncated_days, std::vector<std::string>{"2024-01-01"});
}

TEST_P(LedgerContractTest, RowsWithAwkwardTextRoundTripExactly) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  std::vector<Row> rows = MakeRows(3, "2024-01-01");
  rows[0].query = "tab\there \"quoted\" back\\slash";
  rows[1].query = "new\nline and 'single' and \r and ünïcödé 検索";
  // Counts are whole numbers (the codec refuses fractions); this one needs 64 bits.
  rows[2].clicks = 4294967301;
  EXPECT_TRUE(CommitPage(report, ClaimOne(report->id, At(0)), rows, At(1)));
  for (const Row& row : rows) {
    EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query = " + Quote(row.query)), 1)
        << row.query;
  }
  EXPECT_EQ(Text("SELECT clicks FROM search_analytics WHERE query = " + Quote(rows[2].query)),
            "4294967301");
}

TEST_P(LedgerContractTest, ReportsDifferingOnlyInFiltersOrAggregationKeepSeparateCompleteRows) {
  auto plain = MakeReport();
  auto filtered = MakeReportWith([](ReportSpec& s) { s.filters = {"query:contains:shoe"}; });
  auto by_page = MakeReportWith([](ReportSpec& s) { s.aggregation_type = "byPage"; });
  auto all = MakeReportWith([](ReportSpec& s) { s.data_state = "all"; });
  std::set<std::string> ids = {plain->id, filtered->id, by_page->id, all->id};
  ASSERT_EQ(ids.size(), 4u);
  int salt = 0;
  for (const auto& report : {plain, filtered, by_page, all}) {
    Plan(*report, "2024-01-01", "2024-01-01");
    // Same queries, pages and dates: the rows differ only in their report.
    ASSERT_GE(FetchAll(report, 5 + 2 * salt, 4, 0, At(salt)), 2);
    ++salt;
  }
  salt = 0;
  for (const auto& report : {plain, filtered, by_page, all}) {
    EXPECT_EQ(StoredRows(*report, "2024-01-01"), 5 + 2 * salt) << report->spec.Describe();
    EXPECT_EQ(StoredClicks(*report, "2024-01-01"), 12 * (5 + 2 * salt));
    EXPECT_TRUE(VerifyOf(report->id).clean());
    ++salt;
  }
  // A refresh of one replaces its rows only.
  RefreshPolicy refresh{"2024-01-02", 5};
  ASSERT_EQ(Plan(*filtered, "2024-01-01", "2024-01-01", refresh).refreshed, 1);
  ASSERT_EQ(FetchAll(filtered, 2, 4, 9, At(10)), 1);
  EXPECT_EQ(StoredRows(*filtered, "2024-01-01"), 2);
  EXPECT_EQ(StoredRows(*plain, "2024-01-01"), 5);
  EXPECT_EQ(StoredRows(*by_page, "2024-01-01"), 9);
  EXPECT_EQ(StoredRows(*all, "2024-01-01"), 11);
}

TEST_P(LedgerContractTest, ADeadPageOfAnOverlappingRunNeverRemovesTheFirstRunsRows) {
  auto report = MakeReport();
  // Run A: 01-02 in two pages, complete.
  Plan(*report, "2024-01-02", "2024-01-02");
  ASSERT_EQ(FetchAll(report, 6, 4, 1, At(0)), 2);
  ASSERT_EQ(StoredRows(*report, "2024-01-02"), 6);
  // Run B: a wider range that refreshes 01-02; its page 0 commits, its page 1 dies.
  RefreshPolicy refresh{"2024-01-03", 1};
  const DayPlan plan = Plan(*report, "2024-01-01", "2024-01-03", refresh);
  EXPECT_EQ(plan.refreshed, 1);
  EXPECT_EQ(plan.added, 2);
  std::vector<Lease> leases = Claim(report->id, 3, At(1), "run-b");
  ASSERT_EQ(leases.size(), 3u);
  ASSERT_EQ(leases[1].key.date, "2024-01-02");
  ASSERT_TRUE(CommitPage(report, leases[1], MakeRows(4, "2024-01-02", 2), At(2), 4));
  const Lease second = ClaimOne(report->id, At(3), "run-b");
  ASSERT_EQ(second.key.start_row, 4);
  bool held = false;
  ASSERT_OK(ledger_->FailPage(second, "HTTP 400", true, 5, At(3), At(3), &held));
  EXPECT_TRUE(held);
  // A's rows are still the day's rows, whole.
  EXPECT_EQ(StoredRows(*report, "2024-01-02"), 6);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query LIKE 'query 1-%'"), 6);
  const VerifyReport v = VerifyOf(report->id);
  EXPECT_TRUE(v.row_mismatch.empty()) << v.row_mismatch[0];
  EXPECT_EQ(v.unfinished.size(), 3u);  // 01-01, 01-03 leased; 01-02:4 dead
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.dead, 1);
  EXPECT_EQ(p.days_held, 1);
  EXPECT_EQ(p.rows, 6);
  // RetryDead and a complete second fetch replace the day.
  int64_t revived = 0;
  ASSERT_OK(ledger_->RetryDead(report->id, &revived));
  EXPECT_EQ(revived, 1);
  const Lease retry = ClaimOne(report->id, At(4), "run-b");
  ASSERT_EQ(retry.key, second.key);
  ASSERT_TRUE(CommitPage(report, retry, MakeRows(1, "2024-01-02", 3), At(5), 4));
  EXPECT_EQ(StoredRows(*report, "2024-01-02"), 5);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query LIKE 'query 1-%'"), 0);
}

TEST_P(LedgerContractTest, ALostLeaseCommitWritesNothingAfterTheNewOwnerCommittedFinalData) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  const Lease stale = ClaimOne(report->id, At(0), "paused");
  const Lease owner = ClaimOne(report->id, At(kLease.count()), "worker-b");
  ASSERT_EQ(owner.key, stale.key);
  std::vector<Row> final_rows = MakeRows(5, "2024-01-01", 1, 20);
  ASSERT_TRUE(CommitPage(report, owner, final_rows, At(kLease.count() + 1)));
  // The paused owner wakes up with provisional (smaller) values for the same keys.
  std::vector<Row> provisional_rows = MakeRows(7, "2024-01-01", 1, 3);
  EXPECT_FALSE(CommitPage(report, stale, provisional_rows, At(kLease.count() + 2), 0, true));
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 5);
  EXPECT_EQ(StoredClicks(*report, "2024-01-01"), 100);
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.provisional_days, 0);
  EXPECT_EQ(p.done, 1);
  EXPECT_EQ(BatchField("provisional", owner.key), "0");
  bool held = true;
  ASSERT_OK(ledger_->FailPage(stale, "late failure", true, 5, At(0), At(1), &held));
  EXPECT_FALSE(held);
  ASSERT_OK(ledger_->Release(std::span(&stale, 1), At(1)));
  ASSERT_OK(ledger_->Renew(std::span(&stale, 1), At(10 * kLease.count())));
  EXPECT_EQ(BatchField("state", owner.key), "done");
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

TEST_P(LedgerContractTest, ALostLeaseCommitMidDayNeitherStagesRowsNorClearsTheNewOwners) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  const Lease stale = ClaimOne(report->id, At(0), "paused");
  const Lease owner = ClaimOne(report->id, At(kLease.count()), "worker-b");
  // The new owner's page 0 is full: the day is half fetched.
  ASSERT_TRUE(CommitPage(report, owner, MakeRows(4, "2024-01-01", 1), At(kLease.count()), 4));
  // The stale page 0 (a full page of other rows) must not restart or pollute the day.
  EXPECT_FALSE(CommitPage(report, stale, MakeRows(4, "2024-01-01", 2), At(kLease.count()), 4));
  EXPECT_EQ(Pages(*report), 2);
  const Lease next = ClaimOne(report->id, At(kLease.count() + 1), "worker-b");
  ASSERT_EQ(next.key.start_row, 4);
  ASSERT_TRUE(CommitPage(report, next, {}, At(kLease.count() + 2), 4));
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 4);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query LIKE 'query 2-%'"), 0);
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

TEST_P(LedgerContractTest, AReaderDuringAThreePageRefreshSeesTheOldOrTheNewCompleteDay) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  ASSERT_EQ(FetchAll(report, 10, 4, 1, At(0)), 3);  // 4 + 4 + 2
  ASSERT_EQ(StoredRows(*report, "2024-01-01"), 10);
  RefreshPolicy refresh{"2024-01-02", 3};
  ASSERT_EQ(Plan(*report, "2024-01-01", "2024-01-01", refresh).refreshed, 1);
  std::vector<int64_t> seen;
  for (int i = 0; i < 3; ++i) {
    const Lease lease = ClaimOne(report->id, At(10 + i));
    std::vector<Row> all = MakeRows(11, "2024-01-01", 2, 30);
    const int64_t begin = lease.key.start_row, end = std::min<int64_t>(begin + 4, 11);
    ASSERT_TRUE(CommitPage(report, lease, std::vector<Row>(all.begin() + begin, all.begin() + end),
                           At(10 + i), 4));
    seen.push_back(StoredRows(*report, "2024-01-01"));
    EXPECT_EQ(StoredClicks(*report, "2024-01-01"), seen.back() == 10 ? 120 : 330);
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{10, 10, 11}));
  EXPECT_EQ(ProgressOf(report->id).rows, 11);
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

// A day whose answer changed mid-fetch is fetched again from row 0 rather than swapped in:
// when its last page commits, its done pages disagree on provisional, or its staged rows
// are fewer than its pages returned (a key came on two pages: rows shifted between them).
// The staged rows and later pages go, page 0 is pending at once with one more attempt
// (so a day that never holds still ends: see the next test), and the old complete day
// stays visible.
TEST_P(LedgerContractTest, PagesDisagreeingOnProvisionalRestartTheDayAndKeepTheOldDay) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  ASSERT_EQ(FetchAll(report, 10, 4, 1, At(0)), 3);  // the old day: 4 + 4 + 2 final rows
  ASSERT_EQ(Plan(*report, "2024-01-01", "2024-01-01", {"2024-01-02", 3}).refreshed, 1);
  // Page 0 of the new fetch fails once, then comes back provisional.
  Lease lease = ClaimOne(report->id, At(10));
  bool held = false;
  ASSERT_OK(ledger_->FailPage(lease, "HTTP 503", false, 5, At(11), At(10), &held));
  ASSERT_TRUE(held);
  lease = ClaimOne(report->id, At(11));
  ASSERT_EQ(lease.attempts, 1);
  const std::vector<Row> answer = MakeRows(11, "2024-01-01", 2, 30);
  auto slice = [&](int64_t begin, int64_t end) {
    return std::vector<Row>(answer.begin() + begin, answer.begin() + end);
  };
  ASSERT_TRUE(CommitPage(report, lease, slice(0, 4), At(12), 4, /*provisional=*/true));
  // The answer turned final before the next pages were asked for.
  lease = ClaimOne(report->id, At(13), "worker-b");
  ASSERT_EQ(lease.key.start_row, 4);
  ASSERT_TRUE(CommitPage(report, lease, slice(4, 8), At(13), 4));
  lease = ClaimOne(report->id, At(14), "worker-b");
  ASSERT_EQ(lease.key.start_row, 8);
  EXPECT_TRUE(CommitPage(report, lease, slice(8, 11), At(14), 4)) << "its lease held";

  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 10) << "the old day stays visible";
  EXPECT_EQ(StoredClicks(*report, "2024-01-01"), 120);
  EXPECT_EQ(Int("SELECT row_count FROM days WHERE report_id = '" + report->id + "'"), 10);
  EXPECT_EQ(Pages(*report), 1) << "pages past row 0 go";
  const PageKey first{report->id, "2024-01-01", 0};
  EXPECT_EQ(BatchField("state", first), "pending");
  EXPECT_EQ(BatchField("attempts", first), "2") << "the failure, then the restart";
  EXPECT_EQ(BatchField("last_error", first), kDayChangedError);
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.pending, 1);
  EXPECT_EQ(p.days_held, 1);
  EXPECT_EQ(p.provisional_days, 0);
  EXPECT_EQ(p.rows, 10);
  const VerifyReport v = VerifyOf(report->id);
  EXPECT_EQ(v.unfinished, std::vector<std::string>{"2024-01-01:0 pending"});
  EXPECT_TRUE(v.row_mismatch.empty()) << v.row_mismatch[0];

  // Claimable at once; a consistent fetch then replaces the day.
  ASSERT_EQ(FetchAll(report, 11, 4, 2, At(14)), 3);
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 11);
  EXPECT_EQ(Int("SELECT count(*) FROM search_analytics WHERE query NOT LIKE 'query 2-%'"), 0);
  EXPECT_EQ(ProgressOf(report->id).provisional_days, 0);
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

TEST_P(LedgerContractTest, ARowRepeatedOnALaterPageRestartsTheDay) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  const std::vector<Row> answer = MakeRows(10, "2024-01-01", 1);
  Lease lease = ClaimOne(report->id, At(0));
  ASSERT_TRUE(CommitPage(report, lease, {answer.begin(), answer.begin() + 4}, At(0), 4));
  // The API's order shifted: page 4 starts with row 3 again (10 rows in 11 places).
  lease = ClaimOne(report->id, At(1));
  ASSERT_EQ(lease.key.start_row, 4);
  ASSERT_TRUE(CommitPage(report, lease, {answer.begin() + 3, answer.begin() + 7}, At(1), 4));
  lease = ClaimOne(report->id, At(2));
  ASSERT_EQ(lease.key.start_row, 8);
  EXPECT_TRUE(CommitPage(report, lease, {answer.begin() + 7, answer.end()}, At(2), 4));

  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 0) << "nothing swapped in";
  EXPECT_EQ(Pages(*report), 1);
  EXPECT_EQ(BatchField("state", {report->id, "2024-01-01", 0}), "pending");
  const ReportProgress p = ProgressOf(report->id);
  EXPECT_EQ(p.days_held, 0);
  EXPECT_EQ(p.rows, 0);
  EXPECT_TRUE(VerifyOf(report->id).row_mismatch.empty());

  ASSERT_EQ(FetchAll(report, 10, 4, 1, At(3)), 3);
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 10);
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

// The attack: the API shifts the day's rows between pages on every fetch (fresh data
// re-ranked while it is paged). Without a bound the day would be fetched forever.
TEST_P(LedgerContractTest, ADayWhoseRowsShiftOnEveryFetchIsDeadAtMaxAttempts) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  ASSERT_EQ(FetchAll(report, 10, 4, 1, At(0)), 3);  // a complete day is held
  const int64_t held_clicks = StoredClicks(*report, "2024-01-01");
  ASSERT_EQ(Plan(*report, "2024-01-01", "2024-01-01", {"2024-01-02", 3}).refreshed, 1);
  const std::vector<Row> answer = MakeRows(10, "2024-01-01", 2);
  constexpr int kMaxAttempts = 3;
  auto commit = [&](const Lease& lease, int64_t begin, int64_t end, int t) {
    std::vector<FetchedPage> pages;
    pages.push_back(
        MakePage(report, lease, {answer.begin() + begin, answer.begin() + end}, 4, false));
    std::vector<bool> held;
    const Status s = ledger_->CommitPages(pages, At(t), kMaxAttempts, &held);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return held.size() == 1 && held[0];
  };
  for (int fetch = 1; fetch <= kMaxAttempts; ++fetch) {
    const int t = 10 * fetch;
    const std::vector<Lease> first = Claim(report->id, 1, At(t));
    ASSERT_EQ(first.size(), 1u) << "fetch " << fetch << " finds page 0 claimable";
    EXPECT_EQ(first[0].attempts, fetch - 1);
    ASSERT_TRUE(commit(first[0], 0, 4, t));
    const Lease second = ClaimOne(report->id, At(t + 1));
    ASSERT_TRUE(commit(second, 3, 7, t + 1));  // row 3 again: the order shifted
    const Lease third = ClaimOne(report->id, At(t + 2));
    ASSERT_TRUE(commit(third, 7, 10, t + 2));
  }
  const PageKey page0{report->id, "2024-01-01", 0};
  EXPECT_EQ(BatchField("state", page0), "dead") << "three restarts in a row end the day";
  EXPECT_TRUE(Claim(report->id, 1, At(100)).empty()) << "nothing more to fetch";
  ReportStatus status;
  ASSERT_OK(ledger_->Describe(report->id, At(100), &status));
  ASSERT_EQ(status.dead.size(), 1u);
  EXPECT_EQ(status.dead[0].attempts, kMaxAttempts);
  EXPECT_EQ(status.dead[0].last_error, kDayChangedError);
  const std::string& history = status.dead[0].errors;
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), kMaxAttempts - 1) << history;
  EXPECT_NE(history.find("{\"attempt\":3,\"at\":"), std::string::npos) << history;
  EXPECT_NE(history.find("\"dead\":true"), std::string::npos) << history;
  EXPECT_EQ(StoredRows(*report, "2024-01-01"), 10) << "the held day stays";
  EXPECT_EQ(StoredClicks(*report, "2024-01-01"), held_clicks);
  EXPECT_EQ(Pages(*report), 1) << "no page past row 0 is left behind";
  EXPECT_EQ(Int("SELECT count(*) FROM staged_rows"), 0) << "no staged row is left behind";
  int64_t revived = 0;
  ASSERT_OK(ledger_->RetryDead(report->id, &revived));
  EXPECT_EQ(revived, 1);
  ASSERT_EQ(FetchAll(report, 10, 4, 2, At(200)), 3) << "a retry when the data holds still";
  EXPECT_TRUE(VerifyOf(report->id).clean());
}

// Failures, leases, dead pages.

TEST_P(LedgerContractTest, RenewExtendsAndReleaseReturnsPagesWithoutAnAttempt) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-03");
  auto leases = Claim(report->id, 3, At(0));
  ASSERT_OK(ledger_->Renew(std::span(leases).subspan(0, 1), At(3 * kLease.count())));
  auto taken = Claim(report->id, 3, At(2 * kLease.count()), "worker-b");
  EXPECT_EQ(taken.size(), 2u) << "the renewed lease still holds";
  ASSERT_OK(ledger_->Release(taken, At(2 * kLease.count() + 1)));
  EXPECT_EQ(ProgressOf(report->id).pending, 2);
  auto again = Claim(report->id, 3, At(2 * kLease.count() + 2));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].attempts, 0);
}

TEST_P(LedgerContractTest, FailPageRetriesAfterRetryAtThenDiesAndRetryDeadRevivesIt) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  constexpr int kMaxAttempts = 3;
  int64_t t = 0;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    auto leases = Claim(report->id, 1, At(t));
    ASSERT_EQ(leases.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(leases[0].attempts, attempt - 1);
    bool held = false;
    ASSERT_OK(ledger_->FailPage(leases[0], "HTTP 503 #" + std::to_string(attempt), false,
                                kMaxAttempts, At(t + 1000), At(t + 1), &held));
    EXPECT_TRUE(held);
    if (attempt < kMaxAttempts) {
      EXPECT_TRUE(Claim(report->id, 1, At(t + 999)).empty());
    }
    t += 1000;
  }
  ReportStatus status;
  ASSERT_OK(ledger_->Describe(report->id, At(t), &status));
  EXPECT_EQ(status.progress.dead, 1);
  ASSERT_EQ(status.dead.size(), 1u);
  EXPECT_EQ(status.dead[0].attempts, 3);
  EXPECT_EQ(status.dead[0].last_error, "HTTP 503 #3");
  EXPECT_EQ(std::count(status.dead[0].errors.begin(), status.dead[0].errors.end(), '\n'), 2);
  int64_t count = 0;
  ASSERT_OK(ledger_->RetryDead(report->id, &count));
  EXPECT_EQ(count, 1);
  auto revived = Claim(report->id, 1, At(t));
  ASSERT_EQ(revived.size(), 1u);
  EXPECT_EQ(revived[0].attempts, 0);
}

TEST_P(LedgerContractTest, RetryDeadOfAnUnknownReportIsNotFoundAndEmptyMeansEveryReport) {
  auto a = MakeReport("sc-domain:a.example");
  auto b = MakeReport("sc-domain:b.example");
  for (const auto& report : {a, b}) {
    Plan(*report, "2024-01-01", "2024-01-01");
    bool held = false;
    ASSERT_OK(
        ledger_->FailPage(ClaimOne(report->id, At(0)), "HTTP 400", true, 5, At(0), At(0), &held));
  }
  int64_t count = -1;
  EXPECT_EQ(ledger_->RetryDead("no-such-report", &count).code(), Status::Code::kNotFound);
  EXPECT_EQ(Int("SELECT count(*) FROM batches WHERE state = 'dead'"), 2);
  ASSERT_OK(ledger_->RetryDead("", &count));
  EXPECT_EQ(count, 2);
}

TEST_P(LedgerContractTest, ProgressSumsOverTheReportsGiven) {
  auto a = MakeReport("sc-domain:a.example");
  auto b = MakeReport("sc-domain:b.example");
  auto c = MakeReport("sc-domain:c.example");
  Plan(*a, "2024-01-01", "2024-01-02");
  Plan(*b, "2024-01-01", "2024-01-03");
  Plan(*c, "2024-01-01", "2024-01-04");
  ASSERT_EQ(FetchAll(a, 3, 1000, 0, At(0)), 2);
  Claim(b->id, 1, At(0));
  const std::vector<std::string> ids = {a->id, b->id};
  ReportProgress p;
  ASSERT_OK(ledger_->Progress(ids, &p));
  EXPECT_EQ(p.done, 2);
  EXPECT_EQ(p.leased, 1);
  EXPECT_EQ(p.pending, 2);
  EXPECT_EQ(p.rows, 6);
  EXPECT_EQ(p.days_held, 2);
}

TEST_P(LedgerContractTest, DescribeShowsDaysHeldAsRangesTruncatedDaysDeadPagesAndLeases) {
  auto report = MakeReport();
  Plan(*report, "2024-01-30", "2024-02-02");
  Plan(*report, "2024-02-05", "2024-02-05");
  Plan(*report, "2024-02-07", "2024-02-08");
  ASSERT_EQ(FetchAll(report, 2, 1000, 0, At(0)), 7);
  Plan(*report, "2024-02-09", "2024-02-12");
  auto leases = Claim(report->id, 4, At(0), "worker-a");
  ASSERT_EQ(leases.size(), 4u);
  // 02-09: truncated (the cap reached in one page of 50000 asked).
  ASSERT_TRUE(CommitPage(report, leases[0], MakeRows(3, "2024-02-09"), At(1), 3));
  bool held = false;
  ASSERT_OK(ledger_->FailPage(leases[1], "HTTP 400 bad", true, 5, At(1), At(1), &held));
  std::vector<Lease> next = Claim(report->id, 1, At(2), "worker-b");
  ASSERT_EQ(next.size(), 1u);  // 02-09:3
  ReportStatus status;
  ASSERT_OK(ledger_->Describe(report->id, At(1000), &status));
  EXPECT_EQ(status.report.id, report->id);
  EXPECT_EQ(status.report.spec.site, report->spec.site);
  EXPECT_EQ(status.days_held, (std::vector<std::string>{"2024-01-30..2024-02-02", "2024-02-05",
                                                        "2024-02-07..2024-02-08"}));
  EXPECT_EQ(status.progress.days_held, 7);
  ASSERT_EQ(status.dead.size(), 1u);
  EXPECT_EQ(status.dead[0].key.date, "2024-02-10");
  EXPECT_EQ(status.dead[0].last_error, "HTTP 400 bad");
  ASSERT_EQ(status.leases.size(), 2u);
  EXPECT_EQ(status.leases[0].owner, "worker-a");
  EXPECT_EQ(status.leases[0].pages, 2);
  EXPECT_EQ(status.leases[0].expires_at, At(kLease.count()));
  EXPECT_EQ(status.leases[1].owner, "worker-b");
  EXPECT_EQ(status.leases[1].last_heartbeat, At(2));
  EXPECT_TRUE(status.truncated_days.empty());
  EXPECT_EQ(ledger_->Describe("no-such-report", At(0), &status).code(), Status::Code::kNotFound);
}

TEST_P(LedgerContractTest, DescribeListsTruncatedDays) {
  auto report = MakeReport();
  Plan(*report, "2024-03-01", "2024-03-01");
  const Lease lease = ClaimOne(report->id, At(0));
  const Lease capped{PageKey{report->id, "2024-03-01", 0}, lease.token, 0};
  // One page of 25000 asked, full: not the last page. The second reaches the cap.
  ASSERT_TRUE(CommitPage(report, capped, MakeRows(25000, "2024-03-01", 1), At(1), 25000));
  ASSERT_TRUE(CommitPage(report, ClaimOne(report->id, At(2)), MakeRows(25000, "2024-03-01", 2),
                         At(3), 25000));
  ReportStatus status;
  ASSERT_OK(ledger_->Describe(report->id, At(4), &status));
  EXPECT_EQ(status.truncated_days, std::vector<std::string>{"2024-03-01"});
  EXPECT_EQ(status.progress.truncated_days, 1);
  EXPECT_EQ(status.days_held, std::vector<std::string>{"2024-03-01"});
}

// Verify.

TEST_P(LedgerContractTest, VerifyIsCleanForAFinishedReportAndListsUnfinishedPages) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-03");
  for (const Lease& lease : Claim(report->id, 2, At(0))) {
    ASSERT_TRUE(CommitPage(report, lease, MakeRows(2, lease.key.date), At(1)));
  }
  VerifyReport v = VerifyOf(report->id);
  EXPECT_FALSE(v.clean());
  EXPECT_EQ(v.unfinished, std::vector<std::string>{"2024-01-03:0 pending"});
  ASSERT_TRUE(CommitPage(report, ClaimOne(report->id, At(2)), MakeRows(1, "2024-01-03"), At(3)));
  EXPECT_TRUE(VerifyOf(report->id).clean());
  VerifyReport none;
  EXPECT_EQ(ledger_->Verify("no-such-report", &none).code(), Status::Code::kNotFound);
}

TEST_P(LedgerContractTest, VerifyFindsDeletedRowsMissingPagesAndImpossibleValues) {
  auto report = MakeReport();
  auto other = MakeReportWith([](ReportSpec& s) { s.data_state = "all"; });
  Plan(*report, "2024-01-01", "2024-01-03");
  Plan(*other, "2024-01-01", "2024-01-01");
  ASSERT_EQ(FetchAll(report, 6, 4, 0, At(0)), 6);
  ASSERT_EQ(FetchAll(other, 6, 4, 0, At(0)), 2);
  ASSERT_TRUE(VerifyOf(report->id).clean());
  Exec("DELETE FROM search_analytics WHERE report_id = '" + report->id +
       "' AND date = '2024-01-01' AND query = 'query 0-0'");
  Exec("DELETE FROM batches WHERE report_id = '" + report->id +
       "' AND date = '2024-01-02' AND start_row = 4");
  Exec("UPDATE search_analytics SET clicks = -1 WHERE report_id = '" + report->id +
       "' AND date = '2024-01-03' AND query = 'query 0-1'");
  Exec("UPDATE search_analytics SET ctr = 1.5 WHERE report_id = '" + report->id +
       "' AND date = '2024-01-03' AND query = 'query 0-2'");
  const VerifyReport v = VerifyOf(report->id);
  EXPECT_FALSE(v.clean());
  EXPECT_EQ(v.row_mismatch, std::vector<std::string>{"2024-01-01: stored 5, ledger says 6"});
  EXPECT_EQ(v.missing_pages, std::vector<std::string>{"2024-01-02:4"});
  ASSERT_EQ(v.bad_values.size(), 1u);
  EXPECT_EQ(v.bad_values[0].rfind("2024-01-03: ", 0), 0u) << v.bad_values[0];
  EXPECT_EQ(v.duplicate_rows, 0);
  EXPECT_TRUE(VerifyOf(other->id).clean()) << "another report's rows are its own";
}

// Concurrency: every claimer has a connection of its own, as processes would.
TEST_P(LedgerContractTest, ConcurrentClaimersNeverShareAPage) {
  auto report = MakeReport();
  Plan(*report, "2023-01-01", "2023-12-31");  // 365 pages
  constexpr int kClaimers = 4;
  std::vector<Lease> claimed[kClaimers];
  Status results[kClaimers];
  std::latch start(kClaimers);
  auto claimer = [&](int i) {
    std::unique_ptr<Ledger> ledger;
    results[i] = OpenLedger(target_, OpenMode::kExisting, &ledger);
    start.arrive_and_wait();
    const ClaimRequest request{report->id, 3};
    while (results[i].ok()) {
      const std::size_t before = claimed[i].size();
      results[i] = ledger->Claim(std::span(&request, 1), "w" + std::to_string(i), kLease, At(0),
                                 &claimed[i]);
      if (claimed[i].size() == before) break;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) threads.emplace_back(claimer, i);
  for (auto& t : threads) t.join();
  std::set<std::string> keys;
  std::size_t total = 0;
  for (int i = 0; i < kClaimers; ++i) {
    ASSERT_OK(results[i]);
    total += claimed[i].size();
    for (const Lease& l : claimed[i]) keys.insert(l.key.date);
  }
  EXPECT_EQ(total, 365u);
  EXPECT_EQ(keys.size(), 365u) << "a page was handed out twice";
}

TEST_P(LedgerContractTest, EightClaimersOfOnePageHaveExactlyOneWinner) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  constexpr int kClaimers = 8;
  std::vector<std::unique_ptr<Ledger>> ledgers(kClaimers);
  for (auto& l : ledgers) ASSERT_OK(OpenLedger(target_, OpenMode::kExisting, &l));
  std::atomic<int> winners{0}, errors{0};
  std::latch start(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) {
    threads.emplace_back([&, i] {
      std::vector<Lease> out;
      const ClaimRequest request{report->id, 1};
      start.arrive_and_wait();
      if (!ledgers[i]
               ->Claim(std::span(&request, 1), "w" + std::to_string(i), kLease, At(0), &out)
               .ok()) {
        ++errors;
      }
      if (!out.empty()) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(ProgressOf(report->id).leased, 1);
}

TEST_P(LedgerContractTest, ExistingAndReadOnlyOpenAFinishedLedger) {
  auto report = MakeReport();
  Plan(*report, "2024-01-01", "2024-01-01");
  ASSERT_EQ(FetchAll(report, 3, 1000, 0, At(0)), 1);
  ledger_.reset();
  std::unique_ptr<Ledger> ro;
  ASSERT_OK(OpenLedger(target_, OpenMode::kReadOnly, &ro));
  std::vector<Report> reports;
  ASSERT_OK(ro->ListReports(&reports));
  ASSERT_EQ(reports.size(), 1u);
  VerifyReport v;
  ASSERT_OK(ro->Verify(report->id, &v));
  EXPECT_TRUE(v.clean());
  std::unique_ptr<Ledger> rw;
  ASSERT_OK(OpenLedger(target_, OpenMode::kExisting, &rw));
  ReportProgress p;
  ASSERT_OK(rw->Progress(std::span(&report->id, 1), &p));
  EXPECT_EQ(p.rows, 3);
}

TEST(PostgresLedgerOpenTest, ConnectionErrorsAreOneLineIoErrorsWithoutThePassword) {
  std::unique_ptr<Ledger> ledger;
  const Status status =
      OpenLedger("postgresql://batchfetch:s3cr3t-pw@127.0.0.1:1/nowhere", &ledger);
  EXPECT_EQ(status.code(), Status::Code::kIoError) << status.ToString();
  EXPECT_EQ(status.message().find("s3cr3t-pw"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("***"), std::string::npos) << status.message();
}

TEST(PostgresLedgerOpenTest, ADatabaseWithAnotherProgramsTablesIsForeign) {
  const std::string uri = testing::PgCluster::Shared().NewDatabase();
  testing::PgQuery(uri, "CREATE TABLE jobs(x int)");
  std::unique_ptr<Ledger> ledger;
  EXPECT_EQ(OpenLedger(uri, &ledger).code(), Status::Code::kForeign);
}

TEST(PostgresLedgerOpenTest, ANewerSchemaIsForeignAndAsksForAnUpgrade) {
  const std::string uri = testing::PgCluster::Shared().NewDatabase();
  std::unique_ptr<Ledger> ledger;
  ASSERT_OK(OpenLedger(uri, &ledger));
  testing::PgQuery(uri, "UPDATE batchfetch_schema SET version = 99");
  const Status status = OpenLedger(uri, &ledger);
  EXPECT_EQ(status.code(), Status::Code::kForeign);
  EXPECT_NE(status.message().find("upgrade"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace batchfetch
