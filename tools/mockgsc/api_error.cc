#include "tools/mockgsc/api_error.h"

#include <boost/json.hpp>

namespace mockgsc {

std::string ApiErrorBody(int code, std::string_view status, std::string_view domain,
                         std::string_view reason, std::string_view message) {
  boost::json::object detail{{"message", message}, {"domain", domain}, {"reason", reason}};
  boost::json::object error{{"code", code},
                            {"message", message},
                            {"status", status},
                            {"errors", boost::json::array{detail}}};
  return boost::json::serialize(boost::json::object{{"error", error}});
}

std::string BadRequestBody(std::string_view message) {
  return ApiErrorBody(400, "INVALID_ARGUMENT", "global", "badRequest", message);
}

}  // namespace mockgsc
