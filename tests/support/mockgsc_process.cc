#include "tests/support/mockgsc_process.h"

#include <signal.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <stdexcept>

#include "tests/support/http_client.h"

namespace batchfetch::testing {

int64_t JsonInt(const boost::json::object& object, std::string_view key) {
  return object.at(key).to_number<int64_t>();
}
namespace {

boost::json::object GetJsonObject(const std::string& url) {
  HttpResponse response = HttpGet(url);
  if (response.status != 200) {
    throw std::runtime_error("GET " + url + " failed: " + std::to_string(response.status) + " " +
                             response.error + " " + response.body);
  }
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(response.body, ec);
  if (ec || !value.is_object()) throw std::runtime_error("GET " + url + ": not a JSON object");
  return value.as_object();
}

}  // namespace

MockGsc::MockGsc(const std::vector<std::string>& args) {
  const char* bin = std::getenv("MOCKGSC_BIN");
  if (bin == nullptr || *bin == '\0') throw std::runtime_error("MOCKGSC_BIN is not set");
  std::vector<std::string> argv = {bin, "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess::Options options;
  options.argv = std::move(argv);
  options.pipe_stdout = true;
  process_ = std::make_unique<Subprocess>(std::move(options));
  auto line = process_->ReadLine(std::chrono::seconds(10));
  const std::string prefix = "listening on 127.0.0.1:";
  if (!line || !line->starts_with(prefix)) {
    throw std::runtime_error("mockgsc did not start (first line: " + line.value_or("<none>") + ")");
  }
  port_ = uint16_t(std::stoi(line->substr(prefix.size())));
}

MockGsc::~MockGsc() {
  if (process_ && process_->running() && !Stop()) {
    process_->Kill(SIGKILL);
    process_->Wait(std::chrono::seconds(5));
  }
}

std::string MockGsc::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string MockGsc::QueryUrl(const std::string& site) const {
  return base_url() + "/webmasters/v3/sites/" + EncodeUriComponent(site) + "/searchAnalytics/query";
}

boost::json::object MockGsc::Stats() const { return GetJsonObject(base_url() + "/__stats"); }

MockGsc::ExpectedDay MockGsc::Expected(const std::string& site, const std::string& type,
                                       const std::string& date,
                                       const std::string& dimensions) const {
  boost::json::object o =
      GetJsonObject(base_url() + "/__expected?site=" + EncodeUriComponent(site) +
                    "&type=" + EncodeUriComponent(type) + "&date=" + date +
                    "&dimensions=" + EncodeUriComponent(dimensions));
  return {o.at("rows").to_number<int64_t>(), std::string(o.at("checksum").as_string()),
          o.at("truncated").as_bool()};
}

std::optional<int> MockGsc::Stop(std::chrono::milliseconds timeout) {
  process_->Kill(SIGTERM);
  return process_->Wait(timeout);
}

}  // namespace batchfetch::testing
