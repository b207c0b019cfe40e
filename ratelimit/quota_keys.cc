#include "ratelimit/quota_keys.h"

#include <algorithm>
#include <cmath>

namespace batchfetch {

int64_t ScaledBudget(double qpm, double utilization, std::chrono::milliseconds window) {
  const double per_window = qpm * utilization * static_cast<double>(window.count()) / 60000.0;
  // A hair of tolerance so 1200 x 0.8 is 960, not 959 after rounding error.
  const double floored = std::floor(per_window + 1e-9);
  if (!(floored >= 1)) return 1;
  if (floored >= 9.0e18) return static_cast<int64_t>(9.0e18);
  return static_cast<int64_t>(floored);
}

std::string PrincipalKeyName(std::string_view credential_principal, std::string_view quota_user) {
  if (!quota_user.empty()) return "principal:" + std::string(quota_user);
  if (credential_principal.empty()) return "principal:bearer";
  return "principal:" + std::string(credential_principal);
}

std::vector<QuotaKey> RequestQuotaKeys(std::string_view site, std::string_view credential_principal,
                                       const QuotaPolicy& policy) {
  const int64_t per_key = ScaledBudget(policy.qpm, policy.utilization, policy.window);
  const int64_t project = ScaledBudget(policy.project_qpm, policy.utilization, policy.window);
  return {
      {"site:" + std::string(site), per_key},
      {PrincipalKeyName(credential_principal, policy.quota_user), per_key},
      {"project", project},
  };
}

}  // namespace batchfetch
