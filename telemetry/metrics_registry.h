#ifndef BATCHFETCH_TELEMETRY_METRICS_REGISTRY_H_
#define BATCHFETCH_TELEMETRY_METRICS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "telemetry/histogram.h"

namespace batchfetch {

// Label pairs of one series, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Named counters, gauges and histograms, rendered in the Prometheus text exposition
// format (version 0.0.4). Families render in registration order, series in label order.
// Returned pointers stay valid for the registry's life.
//
// Thread rule: not synchronised; one thread (the io thread) updates and renders.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series of family name with labels, created at 0 on first use. A family's
  // type and help are fixed by its first use. REQUIRES: name matches
  // [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]*.
  double* Counter(const std::string& name, const std::string& help, const Labels& labels = {});
  double* Gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram* Histo(const std::string& name, const std::string& help,
                   const std::vector<double>& bounds, const Labels& labels = {});

  // The whole registry as Prometheus text, one "\n"-terminated line each.
  std::string Render() const;

 private:
  struct Family;
  Family* FamilyOf(const std::string& name, const std::string& help, const char* type);

  std::vector<std::unique_ptr<Family>> families_;  // registration order
  std::map<std::string, Family*> by_name_;
};

// value as Prometheus writes a sample value: integers without a fraction, NaN, +Inf, -Inf.
std::string FormatSampleValue(double value);

// s escaped for a label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& s);

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_METRICS_REGISTRY_H_
