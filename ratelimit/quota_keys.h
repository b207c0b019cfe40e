#ifndef BATCHFETCH_RATELIMIT_QUOTA_KEYS_H_
#define BATCHFETCH_RATELIMIT_QUOTA_KEYS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace batchfetch {

// One quota the API counts a request against, and this process's budget for it (grants
// per quota window). Value type.
struct QuotaKey {
  std::string name;    // "site:<site>", "principal:<id>" or "project"
  int64_t budget = 0;  // grants per window; >= 1
  friend bool operator==(const QuotaKey&, const QuotaKey&) = default;
};

// The quota flags of a run. Value type.
struct QuotaPolicy {
  double qpm = 1200;                        // --qpm: per site and per principal, per minute
  double utilization = 0.8;                 // --qpm-utilization
  double project_qpm = 40000;               // the API's per-project limit, per minute
  std::chrono::milliseconds window{60000};  // --qpm-window: budgets are per this window
  std::string quota_user;                   // --quota-user NAME; empty = from the credential
};

// Grants per `window` for `qpm` requests per minute at `utilization`: floor(qpm x
// utilization x window / 60 s), at least 1. REQUIRES: qpm, utilization and window > 0
// and finite (the CLI checks the flags).
int64_t ScaledBudget(double qpm, double utilization, std::chrono::milliseconds window);

// The principal's quota key name. `credential_principal` is TokenSource::QuotaPrincipal()
// (a service account's client_email, "user:<client_id>:<hash>" for OAuth user
// credentials, "bearer" for a bare token, "" when there is no credential); a non-empty
// `quota_user` (--quota-user) names the principal instead, whatever the credential.
// A bare token or no credential share ONE key per ledger: "principal:bearer".
std::string PrincipalKeyName(std::string_view credential_principal, std::string_view quota_user);

// The keys one request for `site` counts against: "site:<site>" and the principal (each
// qpm x utilization per window) and "project" (project_qpm x utilization per window),
// always all three, in that order.
std::vector<QuotaKey> RequestQuotaKeys(std::string_view site, std::string_view credential_principal,
                                       const QuotaPolicy& policy);

}  // namespace batchfetch

#endif  // BATCHFETCH_RATELIMIT_QUOTA_KEYS_H_
