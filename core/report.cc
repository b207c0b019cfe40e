#include "core/report.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace batchfetch {
namespace {

// FNV-1a, 64 bit: small, stable across platforms and releases.
class Fnv1a64 {
 public:
  // Adds a length-prefixed field, so ("ab","c") and ("a","bc") differ.
  void AddField(std::string_view field) {
    AddBytes(std::to_string(field.size()));
    AddBytes(":");
    AddBytes(field);
  }
  uint64_t value() const { return hash_; }

 private:
  void AddBytes(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string ReportSpec::DimensionsCsv() const {
  std::string out;
  for (const std::string& d : dimensions) {
    if (!out.empty()) out += ',';
    out += d;
  }
  return out;
}

std::string ReportSpec::FiltersText() const {
  std::vector<std::string> sorted = filters;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const std::string& f : sorted) {
    if (!out.empty()) out += '\n';
    out += f;
  }
  return out;
}

std::string ReportSpec::Id() const {
  Fnv1a64 h;
  h.AddField("batchfetch-report-v1");
  h.AddField(site);
  h.AddField(search_type);
  h.AddField(DimensionsCsv());
  h.AddField(data_state);
  h.AddField(aggregation_type);
  std::vector<std::string> sorted = filters;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& f : sorted) h.AddField(f);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h.value()));
  return buf;
}

std::string ReportSpec::Describe() const {
  std::string out = site + " " + search_type + " " + DimensionsCsv() + " " + data_state;
  if (aggregation_type != "auto") out += " aggregation " + aggregation_type;
  std::vector<std::string> sorted = filters;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& f : sorted) out += " filter " + f;
  return out;
}

std::shared_ptr<const Report> Report::Make(ReportSpec spec) {
  auto report = std::make_shared<Report>();
  report->id = spec.Id();
  report->spec = std::move(spec);
  return report;
}

}  // namespace batchfetch
