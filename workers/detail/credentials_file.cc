#include "workers/detail/credentials_file.h"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <sstream>

namespace batchfetch::detail {
namespace {

namespace json = boost::json;

constexpr size_t kMaxFileBytes = 1 << 20;

bool IsLoopbackHost(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

}  // namespace

std::optional<json::object> ReadCredentialsFile(const std::string& path, const std::string& where,
                                                std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = where + ": cannot be read";
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.size() > kMaxFileBytes) {
    *error = where + ": too large to be a credentials file";
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    // Boost.JSON's messages name the fault, never the text, so no secret can leak.
    *error = where + ": not a JSON object" + (ec ? " (" + ec.message() + ")" : "");
    return std::nullopt;
  }
  return std::move(doc.get_object());
}

std::string StringField(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string TokenUriProblem(std::string_view uri) {
  auto parsed = boost::urls::parse_absolute_uri(uri);
  if (parsed && (parsed->scheme() == "https" ||
                 (parsed->scheme() == "http" && IsLoopbackHost(parsed->encoded_host())))) {
    return "";
  }
  return "\"token_uri\" must be an https:// URL (http:// only for a loopback test server)";
}

}  // namespace batchfetch::detail
