#ifndef BATCHFETCH_TELEMETRY_LOGGING_H_
#define BATCHFETCH_TELEMETRY_LOGGING_H_

#include <string>
#include <string_view>

#include "core/json_escape.h"

namespace batchfetch {

// Installs the process-wide spdlog logger on stderr. format is "console" or "json"
// (one JSON object a line: time, level, worker, msg); level is debug|info|warn|error.
// Every line carries worker_id. Returns false and a one-line *error for a bad value.
bool SetupLogging(std::string_view format, std::string_view level, const std::string& worker_id,
                  std::string* error);

// Shows line as a status line at the bottom of stderr: log lines are written above it and
// it is redrawn after each, so the two never garble each other. "" removes it. Meant for
// a terminal (uses "\r" and the erase-line escape). Thread-safe.
void SetStatusLine(std::string_view line);

}  // namespace batchfetch

#endif  // BATCHFETCH_TELEMETRY_LOGGING_H_
