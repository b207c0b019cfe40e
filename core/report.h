#ifndef BATCHFETCH_CORE_REPORT_H_
#define BATCHFETCH_CORE_REPORT_H_

// A report: one shape of searchAnalytics.query answer. Every stored row belongs to
// exactly one report, and a report's id is part of every row's key, so two reports never
// touch each other's rows. What a run asks for is a set of reports over a range of days
// (Job); the range and the row limit are not part of any identity.

#include <memory>
#include <string>
#include <vector>

namespace batchfetch {

// Everything that changes the API's answer for one day.
struct ReportSpec {
  std::string site;                 // "sc-domain:example.com" or "https://www.example.com/"
  std::string search_type = "web";  // web, image, video, news, discover, googleNews
  std::vector<std::string> dimensions = {"date", "query", "page"};
  std::string data_state = "final";       // final, all or hourly_all
  std::string aggregation_type = "auto";  // auto, byPage, byProperty, byNewsShowcasePanel
  std::vector<std::string> filters;       // "dimension:operator:expression", ANDed

  // "date,query,page": the form stored in the ledger.
  std::string DimensionsCsv() const;
  // The filters as stored in the ledger: sorted, one per line ("" when none).
  std::string FiltersText() const;
  // A stable id derived from every field above and nothing else (16 hex digits). Filter
  // order does not matter (they are ANDed).
  std::string Id() const;
  // One line naming every field that is not the default, for status and logs:
  // "sc-domain:example.com web date,query,page final filter page:contains:/blog".
  std::string Describe() const;
};

struct Report {
  std::string id;  // == spec.Id()
  ReportSpec spec;

  static std::shared_ptr<const Report> Make(ReportSpec spec);
};

// What one run asks for: the days [from, to] of every report, in the order given (the
// order --max-concurrency 1 fetches them in), rows_per_page rows per request.
struct Job {
  std::vector<std::shared_ptr<const Report>> reports;
  std::string from;       // YYYY-MM-DD, inclusive
  std::string to;         // YYYY-MM-DD, inclusive
  int row_limit = 25000;  // rows per page, 1..25000
  int refresh_days = 3;   // finished days on/after today - refresh_days are re-fetched
};

}  // namespace batchfetch

#endif  // BATCHFETCH_CORE_REPORT_H_
