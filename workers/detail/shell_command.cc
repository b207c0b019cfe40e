#include "workers/detail/shell_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>

extern char** environ;

namespace batchfetch::detail {
namespace {

namespace asio = boost::asio;

constexpr size_t kMaxCapture = size_t{64} * 1024;

// The pipe that tells the reader thread to kill the command. Shared by the thread and
// the cancellation handler, whichever lets go last closes it.
struct CancelPipe {
  int read_fd = -1;
  int write_fd = -1;
  ~CancelPipe() {
    if (read_fd >= 0) close(read_fd);
    if (write_fd >= 0) close(write_fd);
  }
};

// Reads out_fd and err_fd until both close, kills pid on timeout or cancellation, reaps
// it. Runs on the helper thread. Returns true if it was cancelled.
bool Drain(pid_t pid, int out_fd, int err_fd, int cancel_fd,
           std::chrono::steady_clock::time_point deadline, CommandOutcome* outcome) {
  bool killed = false, cancelled = false;
  // The whole process group dies, so a grandchild (`sh -c 'sleep 30'`) cannot hold the
  // pipes open; one that left the group is waited for only this long.
  auto kill_group = [&] {
    kill(-pid, SIGKILL);
    killed = true;
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  };
  std::array<pollfd, 3> fds{{{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}}};
  char buffer[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      if (killed) break;
      outcome->timed_out = true;
      kill_group();
      continue;
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP))) {
      cancelled = true;
      fds[2].fd = -1;
      if (!killed) kill_group();
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds[i].fd = -1;
        continue;
      }
      std::string& sink = i == 0 ? outcome->out : outcome->err;
      sink.append(buffer, std::min<size_t>(got, kMaxCapture - std::min(kMaxCapture, sink.size())));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) outcome->exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome->signal = WTERMSIG(status);
  return cancelled;
}

// Starts /bin/sh -c command; on success *out_fd and *err_fd are the read ends.
bool Spawn(const std::string& command, pid_t* pid, int* out_fd, int* err_fd, std::string* error) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    close(out[0]);
    close(out[1]);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group, killed as one
  std::string arg0 = "sh", arg1 = "-c", arg2 = command;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  int rc = posix_spawn(pid, "/bin/sh", &actions, &attributes, argv, environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    *error = std::string("cannot start /bin/sh: ") + std::strerror(rc);
    close(out[0]);
    close(err[0]);
    return false;
  }
  *out_fd = out[0];
  *err_fd = err[0];
  return true;
}

struct Result {
  boost::system::error_code ec;
  CommandOutcome outcome;
};

}  // namespace

asio::awaitable<boost::system::error_code> RunShellCommand(std::string command,
                                                           std::chrono::milliseconds timeout,
                                                           CommandOutcome* outcome) {
  auto io_ex = co_await asio::this_coro::executor;
  Result result = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result)>(
      [io_ex, timeout](auto handler, std::string cmd) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto ex = asio::get_associated_executor(handler, io_ex);
        Result early;
        pid_t pid = -1;
        int out_fd = -1, err_fd = -1;
        auto cancel = std::make_shared<CancelPipe>();
        int cancel_fds[2];
        if (pipe2(cancel_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
          early.outcome.spawn_error = std::string("pipe: ") + std::strerror(errno);
        } else {
          cancel->read_fd = cancel_fds[0];
          cancel->write_fd = cancel_fds[1];
          Spawn(cmd, &pid, &out_fd, &err_fd, &early.outcome.spawn_error);
        }
        if (!early.outcome.spawn_error.empty()) {
          asio::post(ex, [h = std::move(handler), early = std::move(early)]() mutable {
            std::move(h)(std::move(early));
          });
          return;
        }
        if (slot.is_connected()) {
          slot.assign([cancel](asio::cancellation_type) {
            char byte = 1;
            [[maybe_unused]] ssize_t n = write(cancel->write_fd, &byte, 1);
          });
        }
        auto work = asio::prefer(ex, asio::execution::outstanding_work.tracked);
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::thread([h = std::move(handler), work, cancel, pid, out_fd, err_fd, deadline,
                     slot]() mutable {
          Result done;
          bool cancelled = Drain(pid, out_fd, err_fd, cancel->read_fd, deadline, &done.outcome);
          close(out_fd);
          close(err_fd);
          if (cancelled) done.ec = asio::error::operation_aborted;
          asio::post(work, [h = std::move(h), done = std::move(done), slot]() mutable {
            if (slot.is_connected()) slot.clear();
            std::move(h)(std::move(done));
          });
        }).detach();
      },
      asio::use_awaitable, std::move(command));
  *outcome = std::move(result.outcome);
  co_return result.ec;
}

}  // namespace batchfetch::detail
