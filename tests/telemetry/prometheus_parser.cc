#include "tests/telemetry/prometheus_parser.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

namespace batchfetch::testing {

namespace {

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || (c >= '0' && c <= '9'); }

bool IsMetricName(const std::string& s) {
  if (s.empty() || !IsNameStart(s[0], true)) return false;
  for (char c : s) {
    if (!IsNameChar(c, true)) return false;
  }
  return true;
}

bool ParseFloat(const std::string& s, double* out) {
  if (s == "NaN") {
    *out = NAN;
    return true;
  }
  if (s == "+Inf" || s == "Inf") {
    *out = INFINITY;
    return true;
  }
  if (s == "-Inf") {
    *out = -INFINITY;
    return true;
  }
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// The family a sample name belongs to, given the declared types.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string sfx = suffix;
    if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
      const std::string base = name.substr(0, name.size() - sfx.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

// Parses `name{labels} value [timestamp]`.
bool ParseSample(const std::string& line, PromSample* s, std::string* why) {
  std::size_t i = 0;
  while (i < line.size() && IsNameChar(line[i], true)) ++i;
  s->name = line.substr(0, i);
  if (!IsMetricName(s->name)) {
    *why = "bad metric name";
    return false;
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      std::size_t start = i;
      while (i < line.size() && IsNameChar(line[i], false)) ++i;
      std::string label = line.substr(start, i - start);
      if (label.empty() || !IsNameStart(label[0], false)) {
        *why = "bad label name";
        return false;
      }
      if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
        *why = "expected =\" after label " + label;
        return false;
      }
      i += 2;
      std::string value;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= line.size()) break;
          char e = line[i++];
          if (e == 'n')
            value += '\n';
          else if (e == '\\')
            value += '\\';
          else if (e == '"')
            value += '"';
          else {
            *why = "bad escape in label value";
            return false;
          }
        } else if (c == '\n') {
          *why = "raw newline in label value";
          return false;
        } else {
          value += c;
        }
      }
      if (!closed) {
        *why = "unterminated label value";
        return false;
      }
      if (s->labels.count(label)) {
        *why = "label " + label + " given twice";
        return false;
      }
      s->labels[label] = value;
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      *why = "expected , or } in label set";
      return false;
    }
  }
  if (i >= line.size() || line[i] != ' ') {
    *why = "expected a space before the value";
    return false;
  }
  ++i;
  std::string rest = line.substr(i);
  std::istringstream in(rest);
  std::string value, timestamp, extra;
  in >> value >> timestamp >> extra;
  if (!extra.empty()) {
    *why = "trailing text after the timestamp";
    return false;
  }
  if (!ParseFloat(value, &s->value)) {
    *why = "bad value '" + value + "'";
    return false;
  }
  if (!timestamp.empty()) {
    char* end = nullptr;
    std::strtoll(timestamp.c_str(), &end, 10);
    if (end != timestamp.c_str() + timestamp.size()) {
      *why = "bad timestamp";
      return false;
    }
  }
  return true;
}

bool CheckHistograms(const PromExposition& e, std::string* error) {
  for (const auto& [family, type] : e.types) {
    if (type != "histogram") continue;
    // label set without le -> (le, count) in order of appearance; _sum, _count
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts, sums;
    for (const PromSample& s : e.samples) {
      auto labels = s.labels;
      if (s.name == family + "_bucket") {
        auto le = labels.find("le");
        double bound;
        if (le == labels.end() || !ParseFloat(le->second, &bound)) {
          *error = family + ": bucket without a valid le label";
          return false;
        }
        labels.erase(le);
        buckets[labels].push_back({bound, s.value});
      } else if (s.name == family + "_count") {
        counts[labels] = s.value;
      } else if (s.name == family + "_sum") {
        sums[labels] = s.value;
      } else if (s.name == family) {
        *error = family + ": a histogram sample without _bucket/_sum/_count";
        return false;
      }
    }
    if (buckets.empty()) {
      *error = family + ": histogram without buckets";
      return false;
    }
    for (const auto& [labels, bs] : buckets) {
      for (std::size_t i = 1; i < bs.size(); ++i) {
        if (!(bs[i].first > bs[i - 1].first)) {
          *error = family + ": le bounds not ascending";
          return false;
        }
        if (bs[i].second < bs[i - 1].second) {
          *error = family + ": bucket counts are not cumulative";
          return false;
        }
      }
      if (!std::isinf(bs.back().first)) {
        *error = family + ": the last bucket is not le=\"+Inf\"";
        return false;
      }
      if (!counts.count(labels) || counts[labels] != bs.back().second) {
        *error = family + ": _count missing or different from the +Inf bucket";
        return false;
      }
      if (!sums.count(labels)) {
        *error = family + ": _sum missing";
        return false;
      }
    }
  }
  return true;
}

}  // namespace

double PromExposition::Value(const std::string& name,
                             const std::map<std::string, std::string>& labels) const {
  for (const PromSample& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  throw std::out_of_range("no sample " + name);
}

double PromExposition::Sum(const std::string& name) const {
  double sum = 0;
  for (const PromSample& s : samples) {
    if (s.name == name) sum += s.value;
  }
  return sum;
}

bool ParsePrometheusText(const std::string& text, PromExposition* out, std::string* error) {
  PromExposition e;
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                               "untyped"};
  std::set<std::string> seen_families;  // families whose samples have started
  std::string current;                  // family of the previous sample
  std::set<std::string> closed;         // families whose samples have ended
  if (!text.empty() && text.back() != '\n') {
    *error = "the exposition does not end with a newline";
    return false;
  }
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(number) + ": " + why + ": '" + line + "'";
    return false;
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      if (hash != "#") continue;
      if (keyword == "HELP" || keyword == "TYPE") {
        if (!IsMetricName(name)) return fail("bad metric name in " + keyword);
        std::string rest;
        std::getline(words, rest);
        if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
        if (keyword == "TYPE") {
          if (!kTypes.count(rest)) return fail("unknown type '" + rest + "'");
          if (e.types.count(name)) return fail("second TYPE for " + name);
          if (seen_families.count(name)) return fail("TYPE after samples of " + name);
          e.types[name] = rest;
        } else {
          if (e.help.count(name)) return fail("second HELP for " + name);
          e.help[name] = rest;
        }
      }
      continue;
    }
    PromSample s;
    std::string why;
    if (!ParseSample(line, &s, &why)) return fail(why);
    const std::string family = FamilyOf(s.name, e.types);
    if (family != current) {
      if (closed.count(family) || (seen_families.count(family))) {
        return fail("samples of " + family + " are not contiguous");
      }
      if (!current.empty()) closed.insert(current);
      current = family;
    }
    seen_families.insert(family);
    auto type = e.types.find(family);
    if (type != e.types.end() && type->second == "counter" && !(s.value >= 0)) {
      return fail("negative counter");
    }
    if (type != e.types.end() && type->second == "histogram" && s.name == family) {
      return fail("histogram sample without a suffix");
    }
    e.samples.push_back(std::move(s));
  }
  if (!CheckHistograms(e, error)) return false;
  *out = std::move(e);
  return true;
}

}  // namespace batchfetch::testing
