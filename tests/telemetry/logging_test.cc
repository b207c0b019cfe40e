#include "telemetry/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace batchfetch {
namespace {

// What body writes to fd 2 (through the logger it sets up).
template <typename Body>
std::string CaptureStderr(Body body) {
  testing::TempDir dir;
  const std::string path = dir.File("err.txt");
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, 2);
  ::close(fd);
  body();
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::stringstream all;
  all << std::ifstream(path).rdbuf();
  return all.str();
}

TEST(LoggingTest, JsonLinesParseOneByOneAndCarryTheWorkerId) {
  const std::string out = CaptureStderr([] {
    std::string error;
    ASSERT_TRUE(SetupLogging("json", "debug", "host-7-\"x\"", &error)) << error;
    spdlog::info("plain");
    spdlog::warn("quotes \" backslash \\ newline \n tab \t control \x01 end");
    spdlog::debug("{} pages", 3);
  });
  std::istringstream in(out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    boost::json::object o = boost::json::parse(line).as_object();
    EXPECT_EQ(o.at("worker").as_string(), "host-7-\"x\"");
    EXPECT_TRUE(o.contains("time") && o.contains("level") && o.contains("msg"));
    if (n == 1) {
      EXPECT_EQ(o.at("msg").as_string(),
                "quotes \" backslash \\ newline \n tab \t control \x01 end");
      EXPECT_EQ(o.at("level").as_string(), "warning");
    }
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(LoggingTest, ConsoleLinesCarryTheWorkerIdAndLevelFilters) {
  const std::string s = CaptureStderr([] {
    std::string error;
    ASSERT_TRUE(SetupLogging("console", "warn", "w-9", &error)) << error;
    spdlog::info("hidden");
    spdlog::error("shown");
  });
  EXPECT_EQ(s.find("hidden"), std::string::npos);
  EXPECT_NE(s.find("[w-9] shown"), std::string::npos) << s;
}

TEST(LoggingTest, ConsoleLinesEscapeControlCharactersSoNoLineCanBeForged) {
  const std::string s = CaptureStderr([] {
    std::string error;
    ASSERT_TRUE(SetupLogging("console", "info", "w\nx", &error)) << error;
    spdlog::info("site a\n2025-01-01 00:00:00.000 error [w] forged \x1b[2J end");
  });
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
  EXPECT_EQ(s.find('\x1b'), std::string::npos) << s;
  EXPECT_NE(s.find("site a\\x0a2025-01-01"), std::string::npos) << s;
}

TEST(LoggingTest, StatusLineIsErasedBeforeALogLineAndRedrawnAfter) {
  const std::string s = CaptureStderr([] {
    std::string error;
    ASSERT_TRUE(SetupLogging("console", "info", "w", &error)) << error;
    SetStatusLine("3/10 pages");
    spdlog::info("hello");
    SetStatusLine("");
  });
  const std::size_t hello = s.find("hello");
  ASSERT_NE(hello, std::string::npos);
  EXPECT_LT(s.find("3/10 pages"), hello);
  EXPECT_NE(s.find("\r\033[K", s.find("3/10 pages")), std::string::npos);
  EXPECT_NE(s.find("3/10 pages", hello), std::string::npos) << "redrawn under the log line";
}

TEST(LoggingTest, BadFormatOrLevelIsAnError) {
  std::string error;
  EXPECT_FALSE(SetupLogging("xml", "info", "w", &error));
  EXPECT_FALSE(SetupLogging("json", "loud", "w", &error));
}

}  // namespace
}  // namespace batchfetch
