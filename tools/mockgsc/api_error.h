#ifndef TOOLS_MOCKGSC_API_ERROR_H_
#define TOOLS_MOCKGSC_API_ERROR_H_

#include <string>
#include <string_view>

namespace mockgsc {

// The Google API error envelope:
// {"error":{"code":C,"message":M,"status":S,"errors":[{"message":M,"domain":D,"reason":R}]}}
std::string ApiErrorBody(int code, std::string_view status, std::string_view domain,
                         std::string_view reason, std::string_view message);

// 400 INVALID_ARGUMENT / global / badRequest.
std::string BadRequestBody(std::string_view message);

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_API_ERROR_H_
