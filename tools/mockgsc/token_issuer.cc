#include "tools/mockgsc/token_issuer.h"

#include <openssl/rand.h>

#include <random>

namespace mockgsc {

std::string TokenIssuer::Issue(std::chrono::microseconds now) {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::random_device rd;
    for (unsigned char& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token = "ya29.mock-";
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  expires_[token] = now + lifetime_;
  ++issued_;
  return token;
}

TokenIssuer::Status TokenIssuer::Check(const std::string& token,
                                       std::chrono::microseconds now) const {
  auto it = expires_.find(token);
  if (it == expires_.end()) return Status::kUnknown;
  return now < it->second ? Status::kValid : Status::kExpired;
}

}  // namespace mockgsc
