#include "telemetry/metrics_registry.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

namespace batchfetch {

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  const char* type;                                         // counter, gauge, histogram
  std::map<Labels, std::unique_ptr<double>> values;         // counter and gauge series
  std::map<Labels, std::unique_ptr<Histogram>> histograms;  // histogram series
};

namespace {

// Backslash and newline always; the double quote too inside a label value.
std::string Escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="1",b="2"} with extra appended last (for le); "" when there is no label at all.
std::string LabelText(const Labels& labels, const char* extra_name = nullptr,
                      const std::string& extra_value = "") {
  if (labels.empty() && !extra_name) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  if (extra_name) {
    if (!first) out += ',';
    out += std::string(extra_name) + "=\"" + EscapeLabelValue(extra_value) + "\"";
  }
  return out + "}";
}

}  // namespace

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  // The shortest text that reads back as the same double.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general);
  (void)ec;
  return std::string(buf, end);
}

std::string EscapeLabelValue(const std::string& s) { return Escape(s, true); }

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family* MetricsRegistry::FamilyOf(const std::string& name, const std::string& help,
                                                   const char* type) {
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}, {}}));
  by_name_[name] = families_.back().get();
  return families_.back().get();
}

double* MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  auto& slot = FamilyOf(name, help, "counter")->values[labels];
  if (!slot) slot = std::make_unique<double>(0);
  return slot.get();
}

double* MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                               const Labels& labels) {
  auto& slot = FamilyOf(name, help, "gauge")->values[labels];
  if (!slot) slot = std::make_unique<double>(0);
  return slot.get();
}

Histogram* MetricsRegistry::Histo(const std::string& name, const std::string& help,
                                  const std::vector<double>& bounds, const Labels& labels) {
  auto& slot = FamilyOf(name, help, "histogram")->histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

std::string MetricsRegistry::Render() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + Escape(f->help, false) + "\n";
    out += "# TYPE " + f->name + " " + f->type + "\n";
    for (const auto& [labels, value] : f->values) {
      out += f->name + LabelText(labels) + " " + FormatSampleValue(*value) + "\n";
    }
    for (const auto& [labels, h] : f->histograms) {
      const std::vector<uint64_t> cumulative = h->Cumulative();
      for (std::size_t i = 0; i < cumulative.size(); ++i) {
        const std::string le =
            i < h->bounds().size() ? FormatSampleValue(h->bounds()[i]) : std::string("+Inf");
        out += f->name + "_bucket" + LabelText(labels, "le", le) + " " +
               FormatSampleValue(static_cast<double>(cumulative[i])) + "\n";
      }
      out += f->name + "_sum" + LabelText(labels) + " " + FormatSampleValue(h->sum()) + "\n";
      out += f->name + "_count" + LabelText(labels) + " " +
             FormatSampleValue(static_cast<double>(h->count())) + "\n";
    }
  }
  return out;
}

}  // namespace batchfetch
