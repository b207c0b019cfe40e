#include "workers/command_token_source.h"

#include <boost/asio/error.hpp>
#include <utility>

#include "core/text.h"
#include "workers/detail/shell_command.h"
#include "workers/token_error.h"

namespace batchfetch {
namespace {

constexpr size_t kMaxStderrLine = 200;

std::string Trim(std::string_view text) {
  const char* space = " \t\r\n\v\f";
  size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(space);
  return std::string(text.substr(begin, end - begin + 1));
}

// The first non-blank line of text, cut to kMaxStderrLine characters.
std::string FirstLine(std::string_view text) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string line = Trim(text.substr(0, eol));
    if (!line.empty()) {
      if (line.size() > kMaxStderrLine) line = line.substr(0, kMaxStderrLine) + "...";
      return line;
    }
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return "";
}

}  // namespace

CommandTokenSource::CommandTokenSource(std::string command, std::chrono::seconds lifetime,
                                       std::chrono::seconds timeout, const Clock& clock)
    : command_(std::move(command)), lifetime_(lifetime), timeout_(timeout), cache_(clock) {}

// Names the program only: the command's arguments (or an assignment before it) may hold
// a secret, and this text reaches logs and halt messages.
std::string CommandTokenSource::Describe() const {
  const std::size_t start = command_.find_first_not_of(" \t");
  if (start == std::string::npos) return "--token-cmd";
  const std::size_t end = command_.find_first_of(" \t\n", start);
  const std::string program = command_.substr(start, end == std::string::npos ? end : end - start);
  if (program.find_first_of("=$`'\"") != std::string::npos) return "--token-cmd";
  const bool more =
      end != std::string::npos && command_.find_first_not_of(" \t\n", end) != std::string::npos;
  return "--token-cmd '" + program + (more ? " ...'" : "'");
}

boost::asio::awaitable<boost::system::error_code> CommandTokenSource::Token(std::string* token,
                                                                            std::string* error) {
  co_return co_await cache_.Get([this] { return RunOnce(); }, token, error);
}

boost::asio::awaitable<TokenCache::Fetched> CommandTokenSource::RunOnce() {
  detail::CommandOutcome outcome;
  TokenCache::Fetched fetched;
  fetched.ec = co_await detail::RunShellCommand(command_, timeout_, &outcome);
  if (fetched.ec) {
    fetched.error = Describe() + " was cancelled";
    co_return fetched;
  }
  auto fail = [&](const std::string& why) {
    fetched.ec = TokenError::kCommandFailed;
    fetched.error = Describe() + " " + why;
    std::string line = FirstLine(outcome.err);
    if (!line.empty()) fetched.error += ": " + line;
    return fetched;
  };
  if (!outcome.spawn_error.empty()) co_return fail("could not run: " + outcome.spawn_error);
  if (outcome.timed_out) {
    co_return fail("timed out after " + std::to_string(timeout_.count()) + " s");
  }
  if (outcome.signal != 0) {
    co_return fail("was killed by signal " + std::to_string(outcome.signal));
  }
  if (outcome.exit_status != 0) {
    co_return fail("failed (exit status " + std::to_string(outcome.exit_status) + ")");
  }
  std::string token = Trim(outcome.out);
  if (token.empty()) co_return fail("printed no token");
  // A token is one printable word: anything else means the command printed something
  // other than a token (a prompt, a warning, several lines).
  if (!IsOnePrintableWord(token)) {
    co_return fail("printed more than one word; it must print only the access token");
  }
  fetched.token = std::move(token);
  fetched.reuse_for = lifetime_;
  co_return fetched;
}

}  // namespace batchfetch
