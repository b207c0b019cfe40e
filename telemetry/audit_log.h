#ifndef BATCHFETCH_TELEMETRY_AUDIT_LOG_H_
#define BATCHFETCH_TELEMETRY_AUDIT_LOG_H_

#include <cstdio>
#include <string>

#include "telemetry/run_observer.h"

namespace batchfetch {

// The QPM audit log: one JSON object per request, one line each, flushed as written so a
// crash loses nothing already answered:
//   {"time":"2025-01-01T00:00:00.123456Z","worker":"w1","report":"…","date":"2025-01-01",
//    "start_row":0,"status":200,"outcome":"ok","latency_ms":12.3,"limiter_wait_ms":0.1,
//    "grants_in_window":57,"budget":960}
// time is the UTC wall time the answer arrived. No header, URL or token is ever written.
//
// Thread rule: the io thread only.
class AuditLog final : public RunObserver {
 public:
  explicit AuditLog(std::string worker_id);
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Opens path for appending (created 0600). False and a one-line *error on failure.
  bool Open(const std::string& path, std::string* error);

  void OnRequest(const PageKey& page, long http_status, std::string_view outcome,
                 std::chrono::microseconds latency, std::chrono::microseconds limiter_wait,
                 int64_t grants_in_window, int64_t budget) override;

  int64_t lines() const { return lines_; }

 private:
  std::string worker_id_;
  std::FILE* file_ = nullptr;
  int64_t lines_ = 0;
};

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_AUDIT_LOG_H_
