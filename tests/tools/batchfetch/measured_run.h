#ifndef TESTS_TOOLS_BATCHFETCH_MEASURED_RUN_H_
#define TESTS_TOOLS_BATCHFETCH_MEASURED_RUN_H_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace batchfetch::testing {

// The outcome of RunMeasured.
struct MeasuredRun {
  int exit_code = -1;     // exit code, 128 + signal, or -1 when it timed out (then killed)
  std::string out;        // stdout
  std::string err;        // stderr
  long peak_rss_kib = 0;  // the child's own peak resident set (wait4's ru_maxrss)
  std::chrono::milliseconds elapsed{0};
};

// Runs argv (argv[0] is searched in PATH) in cwd with env added to environ, stdout and
// stderr captured, and kills it after timeout. The caller must be a small process: a
// child's peak RSS starts from its parent's until exec.
MeasuredRun RunMeasured(const std::vector<std::string>& argv,
                        const std::vector<std::pair<std::string, std::string>>& env,
                        const std::string& cwd, std::chrono::milliseconds timeout);

}  // namespace batchfetch::testing

#endif  // TESTS_TOOLS_BATCHFETCH_MEASURED_RUN_H_
