#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace batchfetch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A port the kernel just considered free on 127.0.0.1 (a race with other programs is
// handled by retrying the start).
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  if (port == 0) throw std::runtime_error("PgCluster: no free loopback port");
  return port;
}

std::string Tail(const std::string& path, std::size_t max = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

}  // namespace

PgCluster::PgCluster() {
  const char* env_bindir = std::getenv("PG_BINDIR");
  bindir_ = env_bindir && *env_bindir ? env_bindir : "/usr/lib/postgresql/15/bin";
  if (!std::filesystem::exists(bindir_ + "/initdb")) {
    throw std::runtime_error("PgCluster: no " + bindir_ +
                             "/initdb; install postgresql-15 (tools/install-deps)");
  }
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr)
      throw std::runtime_error("PgCluster: running as root and no user nobody");
    if (::chown(dir_.path().c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      throw std::runtime_error("PgCluster: cannot chown " + dir_.path().string() + " to nobody");
    }
    as_user_ = {"setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups", "--pdeathsig=KILL"};
  }
  std::vector<std::string> initdb = as_user_;
  const std::vector<std::string> initdb_args = {bindir_ + "/initdb",
                                                "-D",
                                                dir_.File("data"),
                                                "-U",
                                                "batchfetch",
                                                "--auth=trust",
                                                "-E",
                                                "UTF8",
                                                "--locale=C",
                                                "--no-sync",
                                                "--no-instructions"};
  initdb.insert(initdb.end(), initdb_args.begin(), initdb_args.end());
  {
    Subprocess::Options options;
    options.argv = initdb;
    options.stdout_path = dir_.File("initdb.log");
    options.stderr_path = dir_.File("initdb.err");
    options.cwd = dir_.path().string();
    Subprocess run(options);
    const std::optional<int> code = run.Wait(seconds(60));
    if (code != 0) {
      throw std::runtime_error("PgCluster: initdb failed: " + Tail(dir_.File("initdb.err")));
    }
  }
  std::string log;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (TryStart(FreePort(), &log)) return;
  }
  throw std::runtime_error("PgCluster: postgres did not start: " + log);
}

bool PgCluster::TryStart(uint16_t port, std::string* log_tail) {
  Subprocess::Options options;
  options.argv = as_user_;
  const std::vector<std::string> args = {bindir_ + "/postgres",
                                         "-D",
                                         dir_.File("data"),
                                         "-p",
                                         std::to_string(port),
                                         "-c",
                                         "listen_addresses=127.0.0.1",
                                         "-c",
                                         "unix_socket_directories=",
                                         "-c",
                                         "fsync=off",
                                         "-c",
                                         "synchronous_commit=off",
                                         "-c",
                                         "full_page_writes=off",
                                         "-c",
                                         "max_connections=200",
                                         "-c",
                                         "shared_buffers=64MB"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.stderr_path = dir_.File("postgres.log");
  options.stdout_path = dir_.File("postgres.out");
  options.cwd = dir_.path().string();
  server_ = std::make_unique<Subprocess>(options);
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres user=batchfetch";
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) {
      port_ = port;
      return true;
    }
    if (server_->Wait(milliseconds(50)).has_value()) break;  // exited: port taken?
  }
  *log_tail = Tail(dir_.File("postgres.log"));
  server_.reset();
  return false;
}

PgCluster::~PgCluster() {
  if (server_ && server_->Kill(SIGQUIT)) {  // immediate shutdown: nothing to keep
    if (!server_->Wait(seconds(10)).has_value()) server_->Kill(SIGKILL);
    server_->Wait(seconds(5));
  }
  // Children of the postmaster exit on their own once it is gone; give them a moment
  // before the directory is removed.
  std::this_thread::sleep_for(milliseconds(100));
}

PgCluster& PgCluster::Shared() {
  static PgCluster cluster;
  return cluster;
}

std::string PgCluster::Uri(const std::string& name) const {
  return "postgresql://batchfetch@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

std::string PgCluster::NewDatabase() {
  static std::atomic<int> next{0};
  const std::string name =
      "t" + std::to_string(::getpid()) + "_" + std::to_string(next.fetch_add(1));
  PgQuery(Uri("postgres"), "CREATE DATABASE " + name);
  return Uri(name);
}

std::vector<std::vector<std::string>> PgQuery(const std::string& uri, const std::string& sql) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("PgQuery: cannot connect: " + msg);
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* res = PQexec(conn, sql.c_str());
  const ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string msg = PQresultErrorMessage(res);
    PQclear(res);
    PQfinish(conn);
    throw std::runtime_error("PgQuery: " + msg + " in: " + sql);
  }
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(res); ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(res); ++c) {
      row.emplace_back(PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
    }
  }
  PQclear(res);
  PQfinish(conn);
  return rows;
}

int64_t PgScalar(const std::string& uri, const std::string& sql) {
  auto rows = PgQuery(uri, sql);
  if (rows.empty() || rows[0].empty()) return 0;
  return std::strtoll(rows[0][0].c_str(), nullptr, 10);
}

}  // namespace batchfetch::testing
