#include "tools/mockgsc/query_response.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <vector>

namespace mockgsc {
namespace {

void AppendEscaped(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if ((unsigned char)c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

template <typename T>
void AppendNumber(std::string& out, T value) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, ptr);
}

void AppendRow(std::string& out, const Row& row) {
  out += "{\"keys\":[";
  for (size_t i = 0; i < row.keys.size(); ++i) {
    if (i > 0) out += ',';
    AppendEscaped(out, row.keys[i]);
  }
  out += "],\"clicks\":";
  AppendNumber(out, row.clicks);
  out += ",\"impressions\":";
  AppendNumber(out, row.impressions);
  out += ",\"ctr\":";
  AppendNumber(out, double(row.clicks) / double(row.impressions));
  out += ",\"position\":";
  AppendNumber(out, row.position);
  out += '}';
}

std::string_view ResponseAggregation(const QueryRequest& request) {
  if (request.aggregation_type == "byPage" || request.aggregation_type == "byProperty" ||
      request.aggregation_type == "byNewsShowcasePanel") {
    return request.aggregation_type;
  }
  bool has_page = std::find(request.dimensions.begin(), request.dimensions.end(),
                            Dimension::kPage) != request.dimensions.end();
  return has_page ? "byPage" : "byProperty";
}

}  // namespace

bool IsProvisional(const std::string& data_state, CivilDate day, CivilDate today) {
  return data_state != "final" && day.days() >= today.days() - 2;
}

std::string RenderQueryResponse(const QueryRequest& request, const std::string& site,
                                DataGenerator& generator, CivilDate today) {
  std::vector<std::shared_ptr<const DayRows>> days;  // Keeps the rows below alive.
  std::vector<const Row*> merged;
  for (int64_t d = request.start_date.days(); d <= request.end_date.days(); ++d) {
    days.push_back(
        IsProvisional(request.data_state, CivilDate(d), today)
            ? generator.ProvisionalDay(site, request.type, CivilDate(d), request.dimensions)
            : generator.Day(site, request.type, CivilDate(d), request.dimensions));
  }
  const std::vector<Row>* single = days.size() == 1 ? &days.front()->rows : nullptr;
  if (!single) {
    for (const auto& day : days) {
      for (const Row& row : day->rows) merged.push_back(&row);
    }
    std::stable_sort(merged.begin(), merged.end(),
                     [](const Row* a, const Row* b) { return a->clicks > b->clicks; });
  }
  const auto total = int64_t(single ? single->size() : merged.size());
  const int64_t begin = std::min(request.start_row, total);
  const int64_t end = std::min(total, begin + request.row_limit);

  std::string out;
  out.reserve(size_t(end - begin) * 140 + 128);
  out += '{';
  if (end > begin) {
    out += "\"rows\":[";
    for (int64_t i = begin; i < end; ++i) {
      if (i > begin) out += ',';
      AppendRow(out, single ? (*single)[size_t(i)] : *merged[size_t(i)]);
    }
    out += "],";
  }
  out += "\"responseAggregationType\":\"";
  out += ResponseAggregation(request);
  out += '"';
  if (request.data_state != "final" && request.end_date.days() >= today.days() - 2) {
    CivilDate first(std::max(request.start_date.days(), today.days() - 2));
    out += ",\"metadata\":{\"firstIncompleteDate\":\"" + first.ToString() + "\"}";
  }
  out += '}';
  return out;
}

}  // namespace mockgsc
