#ifndef BATCHFETCH_WORKERS_SERVICE_ACCOUNT_KEY_H_
#define BATCHFETCH_WORKERS_SERVICE_ACCOUNT_KEY_H_

#include <optional>
#include <string>

namespace batchfetch {

// A Google service-account JSON key file, as the Cloud console downloads it.
struct ServiceAccountKey {
  std::string path;  // the file it was read from
  std::string client_email;
  std::string private_key;     // PEM; never logged or put in a message
  std::string private_key_id;  // "" when absent; sent as the JWT "kid"
  std::string token_uri;       // "https://oauth2.googleapis.com/token" when absent

  // Reads and checks path: JSON with type "service_account", client_email, a PEM RSA
  // private_key and an https token_uri (http only for a loopback host). Returns nullopt
  // and a one-line *error naming the file (never quoting the key) otherwise.
  static std::optional<ServiceAccountKey> Load(const std::string& path, std::string* error);
};

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_SERVICE_ACCOUNT_KEY_H_
