#ifndef TESTS_SUPPORT_RSA_KEY_H_
#define TESTS_SUPPORT_RSA_KEY_H_

#include <string>

namespace batchfetch::testing {

// A fresh 2048-bit RSA key as PKCS#8 PEM, the form Google's service-account key files
// hold. Throws std::runtime_error if OpenSSL cannot make one.
std::string NewRsaKeyPem();

}  // namespace batchfetch::testing

#endif  // TESTS_SUPPORT_RSA_KEY_H_
