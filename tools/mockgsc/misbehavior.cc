#include "tools/mockgsc/misbehavior.h"

#include <boost/json.hpp>

namespace mockgsc {

namespace json = boost::json;

std::optional<Misbehavior> ParseMisbehavior(std::string_view text) {
  if (text.empty()) return Misbehavior::kNone;
  if (text == "wrong-date") return Misbehavior::kWrongDate;
  if (text == "too-many-rows") return Misbehavior::kTooManyRows;
  if (text == "bad-numbers") return Misbehavior::kBadNumbers;
  if (text == "oversized") return Misbehavior::kOversized;
  if (text == "shifting-rows") return Misbehavior::kShiftingRows;
  return std::nullopt;
}

QueryRequest ServedRequest(Misbehavior mode, const QueryRequest& request) {
  QueryRequest served = request;
  if (mode == Misbehavior::kShiftingRows && served.start_row > 0) --served.start_row;
  return served;
}

std::string Misbehave(Misbehavior mode, const std::string& body, const QueryRequest& request) {
  if (mode == Misbehavior::kShiftingRows) return body;
  json::value parsed = json::parse(body);
  json::object& out = parsed.as_object();
  if (!out.contains("rows") || out.at("rows").as_array().empty()) {
    // Give the mode a row to spoil: one row of the day asked for.
    json::array keys;
    for (std::size_t i = 0; i < request.dimensions.size(); ++i) {
      keys.emplace_back(i == 0 ? request.start_date.ToString() : "x");
    }
    out["rows"] = json::array{json::object{
        {"keys", keys}, {"clicks", 1}, {"impressions", 2}, {"ctr", 0.5}, {"position", 3.0}}};
  }
  json::array& rows = out.at("rows").as_array();
  const std::string day = request.start_date.ToString();
  const std::string other = CivilDate(request.start_date.days() + 1).ToString();
  switch (mode) {
    case Misbehavior::kWrongDate:
      for (json::value& row : rows) {
        for (json::value& key : row.at("keys").as_array()) {
          if (key.is_string() && key.as_string() == day) key = other;
        }
      }
      break;
    case Misbehavior::kTooManyRows: {
      const json::value first = rows.front();
      for (int64_t i = static_cast<int64_t>(rows.size()); i <= request.row_limit; ++i) {
        json::value row = first;
        json::array& keys = row.at("keys").as_array();
        keys.emplace_back("extra-" + std::to_string(i));  // distinct keys: only the count is wrong
        rows.push_back(std::move(row));
      }
      break;
    }
    case Misbehavior::kBadNumbers:
      rows.front().as_object()["clicks"] = -5;
      rows.front().as_object()["ctr"] = 7.5;
      break;
    case Misbehavior::kNone:
    case Misbehavior::kOversized:
    case Misbehavior::kShiftingRows:  // served shifted; the body is a true answer for that
      break;
  }
  return json::serialize(parsed);
}

}  // namespace mockgsc
