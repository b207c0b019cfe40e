#ifndef TOOLS_MOCKGSC_TOKEN_ISSUER_H_
#define TOOLS_MOCKGSC_TOKEN_ISSUER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace mockgsc {

// The access tokens mockgsc's /token endpoint has handed out and when each expires.
// Thread-compatible (the caller locks).
class TokenIssuer {
 public:
  explicit TokenIssuer(std::chrono::microseconds lifetime) : lifetime_(lifetime) {}

  // A new random token valid from now (time since server start) for the lifetime.
  std::string Issue(std::chrono::microseconds now);

  enum class Status { kUnknown, kValid, kExpired };
  Status Check(const std::string& token, std::chrono::microseconds now) const;

  int64_t issued() const { return issued_; }

 private:
  const std::chrono::microseconds lifetime_;
  std::unordered_map<std::string, std::chrono::microseconds> expires_;  // by token
  int64_t issued_ = 0;
};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_TOKEN_ISSUER_H_
