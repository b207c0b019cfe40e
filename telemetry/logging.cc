#include "telemetry/logging.h"

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace batchfetch {

namespace {

// %* : the message, escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped =
        JsonEscape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %~ : the message with control characters (newline, escape, ...) written as \xNN, so a
// value from the command line cannot forge a log line or reach the terminal raw.
class SafeMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char kHex[] = "0123456789abcdef";
    for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f) {
        const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
        dest.append(esc, esc + 4);
      } else {
        dest.push_back(ch);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SafeMessageFlag>();
  }
};

// The status line and the lock every write to stderr takes.
struct StatusLine {
  std::mutex mu;
  std::string line;  // "" = none shown
};

StatusLine& TheStatusLine() {
  static StatusLine* s = new StatusLine;  // never destroyed: logging may outlive statics
  return *s;
}

// Writes log lines to stderr above the status line (see SetStatusLine).
class StderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    StatusLine& s = TheStatusLine();
    std::lock_guard lock(s.mu);
    if (!s.line.empty()) std::fputs("\r\033[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
    if (!s.line.empty()) std::fwrite(s.line.data(), 1, s.line.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void SetStatusLine(std::string_view line) {
  StatusLine& s = TheStatusLine();
  std::lock_guard lock(s.mu);
  if (line.empty() && s.line.empty()) return;
  std::fputs("\r\033[K", stderr);
  s.line.assign(line);
  std::fwrite(s.line.data(), 1, s.line.size(), stderr);
  std::fflush(stderr);
}

bool SetupLogging(std::string_view format, std::string_view level, const std::string& worker_id,
                  std::string* error) {
  spdlog::level::level_enum lvl;
  if (level == "debug") {
    lvl = spdlog::level::debug;
  } else if (level == "info") {
    lvl = spdlog::level::info;
  } else if (level == "warn") {
    lvl = spdlog::level::warn;
  } else if (level == "error") {
    lvl = spdlog::level::err;
  } else {
    *error =
        "--log-level must be one of debug, info, warn, error (got '" + std::string(level) + "')";
    return false;
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","worker":")" + JsonEscape(worker_id) +
        R"(","msg":"%*"})");
  } else if (format == "console") {
    formatter->add_flag<SafeMessageFlag>('~').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [" +
                                                          JsonEscape(worker_id) + "] %~");
  } else {
    *error = "--log-format must be console or json (got '" + std::string(format) + "')";
    return false;
  }
  // StderrSink locks for itself, so the logger's sink is safe from any thread.
  auto logger = std::make_shared<spdlog::logger>("batchfetch", std::make_shared<StderrSink>());
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  spdlog::set_default_logger(std::move(logger));
  return true;
}

}  // namespace batchfetch
