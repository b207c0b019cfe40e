#include "tests/support/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.h"

extern char** environ;

namespace batchfetch::testing {
namespace {

std::vector<std::string> MergedEnvironment(
    const std::vector<std::pair<std::string, std::string>>& additions) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [key, value] : additions) overridden |= key == name;
    if (!overridden) env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : additions) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In the child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(const Subprocess::Options& options, char** argv, char** envp,
                            int stdout_pipe_write, int error_pipe_write) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto redirect = [&](const std::string& path, int target) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, target) < 0) {
      int err = errno;
      (void)!write(error_pipe_write, &err, sizeof err);
      _exit(127);
    }
  };
  if (stdout_pipe_write >= 0) {
    dup2(stdout_pipe_write, STDOUT_FILENO);
  } else if (!options.stdout_path.empty()) {
    redirect(options.stdout_path, STDOUT_FILENO);
  }
  if (!options.stderr_path.empty()) redirect(options.stderr_path, STDERR_FILENO);
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
    int err = errno;
    (void)!write(error_pipe_write, &err, sizeof err);
    _exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvpe(argv[0], argv, envp);
  int err = errno;
  (void)!write(error_pipe_write, &err, sizeof err);
  _exit(127);
}

}  // namespace

Subprocess::Subprocess(Options options) {
  if (options.argv.empty()) throw std::runtime_error("Subprocess: empty argv");
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = MergedEnvironment(options.env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  int error_pipe[2];
  int out_pipe[2] = {-1, -1};
  if (pipe2(error_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (options.pipe_stdout && pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(error_pipe[0]);
    close(error_pipe[1]);
    throw std::runtime_error("pipe2 failed");
  }
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid_ == 0) ExecChild(options, argv.data(), envp.data(), out_pipe[1], error_pipe[1]);

  close(error_pipe[1]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  stdout_fd_ = out_pipe[0];
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (n == sizeof child_errno) {
    Wait(std::chrono::seconds(5));
    if (stdout_fd_ >= 0) close(stdout_fd_);
    throw std::runtime_error("cannot start " + options.argv[0] + ": " + std::strerror(child_errno));
  }
}

Subprocess::~Subprocess() {
  if (running()) {
    Kill(SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::optional<std::string> Subprocess::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (size_t nl = line_buffer_.find('\n'); nl != std::string::npos) {
      std::string line = line_buffer_.substr(0, nl);
      line_buffer_.erase(0, nl + 1);
      return line;
    }
    if (stdout_fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, int(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    line_buffer_.append(buf, size_t(n));
  }
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(500);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = DecodeStatus(status);
      return status_;
    }
    if (r < 0 && errno != EINTR) {
      status_ = -1;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

bool Subprocess::Kill(int sig) {
  if (!running()) return false;
  return kill(pid_, sig) == 0;
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::vector<std::pair<std::string, std::string>>& env) {
  TempDir dir;
  CommandResult result;
  {
    Subprocess::Options options;
    options.argv = argv;
    options.env = env;
    options.stdout_path = dir.File("stdout");
    options.stderr_path = dir.File("stderr");
    Subprocess child(std::move(options));
    auto code = child.Wait(timeout);
    if (code) {
      result.exit_code = *code;
    } else {
      child.Kill(SIGKILL);
      child.Wait(std::chrono::seconds(10));
    }
  }
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  };
  result.out = slurp(dir.File("stdout"));
  result.err = slurp(dir.File("stderr"));
  return result;
}

}  // namespace batchfetch::testing
