#ifndef TESTS_TELEMETRY_PROMETHEUS_PARSER_H_
#define TESTS_TELEMETRY_PROMETHEUS_PARSER_H_

#include <map>
#include <string>
#include <vector>

namespace batchfetch::testing {

// One sample line.
struct PromSample {
  std::string name;                           // as written (with _bucket/_sum/_count)
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

// A parsed Prometheus text exposition (format 0.0.4), written independently of the
// engine's renderer so a bug in one does not hide behind the same bug in the other.
struct PromExposition {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram|...
  std::map<std::string, std::string> help;
  std::vector<PromSample> samples;

  // The value of the sample name{labels} (labels must match exactly); throws
  // std::out_of_range when absent.
  double Value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const;
  // The sum over every sample called name, whatever its labels; 0 when none.
  double Sum(const std::string& name) const;
};

// Parses text line by line and checks the exposition rules: '# HELP'/'# TYPE' syntax, a
// TYPE at most once and before its family's samples, each family's samples contiguous,
// metric and label names, label value escapes, float values; for histograms, per label
// set: le labels ascending ending in +Inf, cumulative counts non-decreasing, +Inf bucket
// == _count, _sum present; counters never negative. False and the first violation (with
// its line number) in *error.
bool ParsePrometheusText(const std::string& text, PromExposition* out, std::string* error);

}  // namespace batchfetch::testing

#endif  // TESTS_TELEMETRY_PROMETHEUS_PARSER_H_
