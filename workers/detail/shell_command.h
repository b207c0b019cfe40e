#ifndef BATCHFETCH_WORKERS_DETAIL_SHELL_COMMAND_H_
#define BATCHFETCH_WORKERS_DETAIL_SHELL_COMMAND_H_

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>

namespace batchfetch::detail {

// How a shell command ended.
struct CommandOutcome {
  int exit_status = -1;     // exit code when it exited normally, else -1
  int signal = 0;           // the signal that killed it, or 0
  bool timed_out = false;   // killed because it outran the timeout
  std::string out;          // stdout, at most 64 KiB
  std::string err;          // stderr, at most 64 KiB
  std::string spawn_error;  // why /bin/sh could not be started, or ""
};

// Runs `/bin/sh -c command` with stdin from /dev/null and stdout and stderr captured.
// The child is started on the calling (io) thread; a helper thread reads its output and
// reaps it, so the io thread never blocks. The command is killed (SIGKILL) after
// `timeout`, or at once when the awaiting coroutine is cancelled; the result is then
// operation_aborted. Keeps the io_context's run() going until the helper thread is done.
boost::asio::awaitable<boost::system::error_code> RunShellCommand(std::string command,
                                                                  std::chrono::milliseconds timeout,
                                                                  CommandOutcome* outcome);

}  // namespace batchfetch::detail

#endif  // BATCHFETCH_WORKERS_DETAIL_SHELL_COMMAND_H_
