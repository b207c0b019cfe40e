#ifndef TESTS_SUPPORT_SUBPROCESS_H_
#define TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace batchfetch::testing {

// A child process started from argv, killed (SIGKILL) and reaped by the destructor if
// still running; it also dies with the test process (PR_SET_PDEATHSIG), so a crashed test
// leaves no orphans. Used from one thread.
class Subprocess {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the program path (PATH is searched).
    std::vector<std::pair<std::string, std::string>> env;  // Added to / override environ.
    std::string stdout_path;   // Redirect stdout to this file (truncated); "" = inherit.
    std::string stderr_path;   // Redirect stderr to this file (truncated); "" = inherit.
    bool pipe_stdout = false;  // Read stdout through ReadLine() (overrides stdout_path).
    std::string cwd;           // "" = the current directory.
  };

  // Starts the child. Throws std::runtime_error if it cannot be started or exec fails.
  explicit Subprocess(Options options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of the child's stdout without its '\n'; nullopt on EOF or after
  // `timeout`. REQUIRES: Options::pipe_stdout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);

  // Waits up to `timeout` for the child to end. Returns its exit code, or 128 + signal if
  // a signal killed it; nullopt if it is still running. Idempotent once it has ended.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  // Sends `sig` to the child if it is still running; false if it has already been reaped.
  bool Kill(int sig);

  bool running() const { return !status_.has_value(); }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;         // Read end of the stdout pipe, or -1.
  std::string line_buffer_;    // Bytes read past the last returned line.
  std::optional<int> status_;  // Set once reaped.
};

// The outcome of RunCommand.
struct CommandResult {
  int exit_code = -1;  // Exit code, 128 + signal, or -1 if it timed out (then killed).
  std::string out;     // Captured stdout.
  std::string err;     // Captured stderr.
};

// Runs argv to completion with stdout and stderr captured; kills it after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         const std::vector<std::pair<std::string, std::string>>& env = {});

}  // namespace batchfetch::testing

#endif  // TESTS_SUPPORT_SUBPROCESS_H_
