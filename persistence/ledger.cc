#include "persistence/ledger.h"

#include <cctype>

#include "persistence/postgres_ledger.h"
#include "persistence/sqlite_ledger.h"

namespace batchfetch {
namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsPostgresTarget(const std::string& target) {
  return target.starts_with("postgresql://") || target.starts_with("postgres://");
}

std::string RedactTarget(const std::string& target) {
  if (!IsPostgresTarget(target)) return target;
  std::string out = target;
  // postgresql://[user[:password]@]host...: the password ends at the authority's last '@'.
  const std::size_t authority = out.find("://") + 3;
  std::size_t end = out.find_first_of("/?#", authority);
  if (end == std::string::npos) end = out.size();
  const std::size_t at = out.rfind('@', end - 1);
  if (at != std::string::npos && at >= authority) {
    const std::size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ?password=...&...: every parameter named password, whatever its case.
  std::size_t pos = out.find('?');
  while (pos != std::string::npos) {
    const std::size_t key = pos + 1;
    std::size_t next = out.find_first_of("&#", key);
    const std::size_t eq = out.find('=', key);
    if (eq != std::string::npos && (next == std::string::npos || eq < next) &&
        EqualsIgnoringCase(std::string_view(out).substr(key, eq - key), "password")) {
      const std::size_t value_end = next == std::string::npos ? out.size() : next;
      out.replace(eq + 1, value_end - eq - 1, "***");
      next = out.find_first_of("&#", eq + 1);
    }
    if (next == std::string::npos || out[next] == '#') break;
    pos = next;
  }
  return out;
}

Status OpenLedger(const std::string& target, OpenMode mode, std::unique_ptr<Ledger>* out) {
  if (IsPostgresTarget(target)) return OpenPostgresLedger(target, mode, out);
  return SqliteLedger::Open(target, mode, out);
}

}  // namespace batchfetch
