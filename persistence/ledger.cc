#include "persistence/ledger.h"

#include "persistence/sqlite_ledger.h"

namespace batchfetch {

Status OpenLedger(const std::string& target, std::unique_ptr<Ledger>* out) {
  if (target.starts_with("postgresql://") || target.starts_with("postgres://")) {
    return Status::Error(Status::Code::kInvalid, "PostgreSQL ledger not built yet");
  }
  return SqliteLedger::Open(target, out);
}

}  // namespace batchfetch
