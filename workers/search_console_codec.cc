#include "workers/search_console_codec.h"

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <exception>
#include <new>
#include <string>
#include <unordered_set>
#include <utility>

#include "workers/query_rules.h"

namespace batchfetch {
namespace {

namespace json = boost::json;

// The API's dimension names and the Row field each one fills.
struct DimensionField {
  std::string_view name;
  std::string Row::*field;
};
constexpr std::array<DimensionField, 7> kDimensionFields = {{
    {"date", &Row::date},
    {"hour", &Row::hour},
    {"query", &Row::query},
    {"page", &Row::page},
    {"country", &Row::country},
    {"device", &Row::device},
    {"searchAppearance", &Row::search_appearance},
}};

std::string Row::*FieldOf(std::string_view dimension) {
  for (const DimensionField& d : kDimensionFields) {
    if (d.name == dimension) {
      return d.field;
    }
  }
  return nullptr;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Percent-encodes s as one path segment: RFC 3986 unreserved characters stay, every other
// byte becomes %XX.
std::string EncodePathSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

bool Fail(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
  return false;
}

// Reads a metric that JSON may carry as an integer or a double.
bool ReadMetric(const json::object& row, std::string_view name, double* out) {
  const json::value* v = row.if_contains(name);
  if (v == nullptr || !v->is_number()) {
    return false;
  }
  boost::system::error_code ec;
  *out = v->to_number<double>(ec);
  return !ec;
}

// A count the API reports (clicks, impressions): a non-negative integer that a double
// holds exactly (at most 2^53), so 1e308 is not a count.
bool IsCount(double v) {
  return std::isfinite(v) && v >= 0 && v <= 9007199254740992.0 && v == std::floor(v);
}

// The row's numbers are ones the API can send; else a reason.
std::string CheckMetrics(const Row& row) {
  if (!IsCount(row.clicks)) return "clicks is not a non-negative integer up to 2^53";
  if (!IsCount(row.impressions)) return "impressions is not a non-negative integer up to 2^53";
  if (!std::isfinite(row.ctr) || row.ctr < 0 || row.ctr > 1) return "ctr is outside [0, 1]";
  if (!std::isfinite(row.position) || row.position < 0) {
    return "position is not a finite non-negative number";
  }
  return "";
}

bool ParseRows(const json::array& rows, const std::vector<std::string Row::*>& fields,
               const QueryExpectation& expect, ParsedPage* out, std::string* error) {
  if (expect.row_limit > 0 && static_cast<int64_t>(rows.size()) > expect.row_limit) {
    return Fail(error, "the answer has " + std::to_string(rows.size()) +
                           " rows for a rowLimit of " + std::to_string(expect.row_limit));
  }
  out->rows.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json::object* obj = rows[i].if_object();
    if (obj == nullptr) {
      return Fail(error, "rows[" + std::to_string(i) + "] is not an object");
    }
    Row row;
    const json::value* keys_value = obj->if_contains("keys");
    if (keys_value != nullptr || !fields.empty()) {
      const json::array* keys = keys_value ? keys_value->if_array() : nullptr;
      if (keys == nullptr) {
        return Fail(error, "rows[" + std::to_string(i) + "].keys is missing or not an array");
      }
      if (keys->size() != fields.size()) {
        return Fail(error, "rows[" + std::to_string(i) + "] has " + std::to_string(keys->size()) +
                               " keys for " + std::to_string(fields.size()) + " dimensions");
      }
      for (std::size_t k = 0; k < fields.size(); ++k) {
        const json::string* key = (*keys)[k].if_string();
        if (key == nullptr) {
          return Fail(error, "rows[" + std::to_string(i) + "].keys[" + std::to_string(k) +
                                 "] is not a string");
        }
        row.*fields[k] = std::string_view(*key);
      }
    }
    if (!ReadMetric(*obj, "clicks", &row.clicks) ||
        !ReadMetric(*obj, "impressions", &row.impressions) || !ReadMetric(*obj, "ctr", &row.ctr) ||
        !ReadMetric(*obj, "position", &row.position)) {
      return Fail(error, "rows[" + std::to_string(i) +
                             "] lacks a numeric clicks, impressions, ctr or position");
    }
    if (std::string bad = CheckMetrics(row); !bad.empty()) {
      return Fail(error, "rows[" + std::to_string(i) + "]: " + bad);
    }
    if (!expect.date.empty() && !row.date.empty() && row.date != expect.date) {
      return Fail(error, "rows[" + std::to_string(i) + "] is dated " + row.date.substr(0, 40) +
                             ", not the requested " + expect.date);
    }
    out->rows.push_back(std::move(row));
  }
  // One answer never repeats a key: a repeat means the rows are not what was asked for
  // (and the ledger would restart the day forever). Checked when the request is known.
  if (expect.row_limit > 0 && !fields.empty()) {
    std::unordered_set<std::string> seen;
    seen.reserve(out->rows.size());
    for (std::size_t i = 0; i < out->rows.size(); ++i) {
      std::string key;
      for (auto field : fields) (key += out->rows[i].*field) += '\x1f';
      if (!seen.insert(std::move(key)).second) {
        return Fail(error, "rows[" + std::to_string(i) + "] repeats the keys of an earlier row");
      }
    }
  }
  return true;
}

bool ParseQueryResponseOrThrow(std::string_view body, const QueryExpectation& expect,
                               ParsedPage* out, std::string* error) {
  std::vector<std::string Row::*> fields;
  fields.reserve(expect.dimensions.size());
  for (const std::string& d : expect.dimensions) {
    std::string Row::*field = FieldOf(d);
    if (field == nullptr) {
      return Fail(error, "unknown dimension '" + d + "'");
    }
    fields.push_back(field);
  }

  // The whole document lives in one arena freed on return: no per-node allocation.
  json::monotonic_resource arena(body.size() + 4096);
  json::parser parser;  // strict JSON; invalid UTF-8 in strings is an error
  parser.reset(&arena);
  boost::system::error_code ec;
  // The whole body is one complete document: a short one or trailing bytes are errors.
  const std::size_t used = parser.write(body.data(), body.size(), ec);
  if (ec) {
    return Fail(error, "malformed JSON at byte " + std::to_string(used) + ": " + ec.message());
  }
  const json::value doc = parser.release();

  const json::object* top = doc.if_object();
  if (top == nullptr) {
    return Fail(error, "response is not a JSON object");
  }
  if (const json::value* rows = top->if_contains("rows")) {
    const json::array* array = rows->if_array();
    if (array == nullptr) {
      return Fail(error, "rows is not an array");
    }
    if (!ParseRows(*array, fields, expect, out, error)) {
      return false;
    }
  }
  if (const json::value* metadata = top->if_contains("metadata")) {
    const json::object* meta = metadata->if_object();
    if (meta == nullptr) {
      return Fail(error, "metadata is not an object");
    }
    if (const json::value* date = meta->if_contains("firstIncompleteDate")) {
      const json::string* s = date->if_string();
      if (s == nullptr) {
        return Fail(error, "metadata.firstIncompleteDate is not a string");
      }
      out->first_incomplete_date = std::string_view(*s);
    }
  }
  return true;
}

}  // namespace

std::string QueryUrl(std::string_view api_base, std::string_view site) {
  if (!api_base.empty() && api_base.back() == '/') {
    api_base.remove_suffix(1);
  }
  std::string url(api_base);
  url += "/webmasters/v3/sites/";
  url += EncodePathSegment(site);
  url += "/searchAnalytics/query";
  return url;
}

std::string QueryBody(const ReportSpec& spec, std::string_view date, int64_t start_row,
                      int64_t row_limit) {
  json::object body;
  body["startDate"] = date;
  body["endDate"] = date;
  json::array dimensions;
  for (const std::string& d : spec.dimensions) {
    dimensions.emplace_back(d);
  }
  body["dimensions"] = std::move(dimensions);
  body["type"] = spec.search_type;
  body["dataState"] = spec.data_state;
  body["rowLimit"] = row_limit;
  body["startRow"] = start_row;
  QueryShape extras;
  extras.aggregation_type = spec.aggregation_type;
  for (const std::string& text : spec.filters) {
    std::string filter_error;
    if (auto filter = ParseFilter(text, &filter_error)) extras.filters.push_back(*filter);
  }
  AddQueryExtras(extras, &body);
  return json::serialize(body);
}

bool ParseQueryResponse(std::string_view body, const std::vector<std::string>& dimensions,
                        ParsedPage* out, std::string* error) {
  return ParseQueryResponse(body, QueryExpectation{dimensions, "", 0}, out, error);
}

bool ParseQueryResponse(std::string_view body, const QueryExpectation& expect, ParsedPage* out,
                        std::string* error) {
  out->rows.clear();
  out->first_incomplete_date.clear();
  bool ok = false;
  try {
    ok = ParseQueryResponseOrThrow(body, expect, out, error);
  } catch (const std::bad_alloc&) {
    ok = Fail(error, "out of memory parsing the response");
  } catch (const std::exception& e) {
    ok = Fail(error, std::string("cannot parse the response: ") + e.what());
  } catch (...) {
    ok = Fail(error, "cannot parse the response");
  }
  if (!ok) {
    out->rows.clear();
    out->first_incomplete_date.clear();
  }
  return ok;
}

bool IsKnownDimension(std::string_view dimension) { return FieldOf(dimension) != nullptr; }

}  // namespace batchfetch
