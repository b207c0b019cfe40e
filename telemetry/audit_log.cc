#include "telemetry/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "telemetry/logging.h"

namespace batchfetch {

namespace {

std::string UtcNow() {
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return buf;
}

}  // namespace

AuditLog::AuditLog(std::string worker_id) : worker_id_(std::move(worker_id)) {}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

bool AuditLog::Open(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "--audit-log " + path + ": " + std::strerror(errno);
    return false;
  }
  file_ = ::fdopen(fd, "a");
  if (!file_) {
    *error = "--audit-log " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  return true;
}

void AuditLog::OnRequest(const PageKey& page, long http_status, std::string_view outcome,
                         std::chrono::microseconds latency, std::chrono::microseconds limiter_wait,
                         int64_t grants_in_window, int64_t budget) {
  if (!file_) return;
  std::fprintf(
      file_,
      "{\"time\":\"%s\",\"worker\":\"%s\",\"report\":\"%s\",\"date\":\"%s\",\"start_row\":%lld,"
      "\"status\":%ld,\"outcome\":\"%s\",\"latency_ms\":%.3f,\"limiter_wait_ms\":%.3f,"
      "\"grants_in_window\":%lld,\"budget\":%lld}\n",
      UtcNow().c_str(), JsonEscape(worker_id_).c_str(), JsonEscape(page.report_id).c_str(),
      JsonEscape(page.date).c_str(), static_cast<long long>(page.start_row), http_status,
      JsonEscape(outcome).c_str(), static_cast<double>(latency.count()) / 1000.0,
      static_cast<double>(limiter_wait.count()) / 1000.0, static_cast<long long>(grants_in_window),
      static_cast<long long>(budget));
  std::fflush(file_);
  ++lines_;
}

}  // namespace batchfetch
