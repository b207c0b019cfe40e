#ifndef WORKERS_DETAIL_CREDENTIALS_FILE_H_
#define WORKERS_DETAIL_CREDENTIALS_FILE_H_

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

// What every Google credentials file (service-account key, authorized_user) shares: read
// as one JSON object, string members, a token endpoint that is https (http only for a
// loopback test server). Errors name the file (`where`), never its text.
namespace batchfetch::detail {

// Google's OAuth token endpoint: a credentials file's token_uri when it names none.
inline constexpr char kGoogleTokenUri[] = "https://oauth2.googleapis.com/token";

// The file's JSON object (at most 1 MiB), or nullopt with *error.
std::optional<boost::json::object> ReadCredentialsFile(const std::string& path,
                                                       const std::string& where,
                                                       std::string* error);

// The string member `name` of obj, or "" when absent or not a string.
std::string StringField(const boost::json::object& obj, std::string_view name);

// "" when uri is an https:// URL or an http:// URL of a loopback host; else the complaint.
std::string TokenUriProblem(std::string_view uri);

}  // namespace batchfetch::detail

#endif  // WORKERS_DETAIL_CREDENTIALS_FILE_H_
