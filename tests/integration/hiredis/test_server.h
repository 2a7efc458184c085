// Integration-test helpers: run the real edgekv-server binary on a free
// loopback port and talk to it with hiredis or with a raw socket.
//
//   edgekv_it::TestServer srv({"--maxclients", "2"});
//   auto c = srv.Connect();                     // hiredis
//   edgekv_it::RawConn raw(srv.port());         // bytes in, bytes out
//
// Every blocking operation has a deadline, and every test runs under a
// watchdog (alarm) so that a hang fails the test instead of blocking ctest.
// These limits guard against hangs only: each is several times what the
// operation takes in a sanitizer build on a loaded machine, and a test that
// waits for something polls for it instead of sleeping a fixed time.
//
// A TestServer is stopped with SIGTERM when it goes out of scope, and the
// test fails if the server needed SIGKILL, exited with another status than
// 0 (also by itself, before the end of the test), or left a sanitizer report
// in its log.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace edgekv_it {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Hang guards. The slowest test takes about 3 s on an idle machine.
inline constexpr auto kIoTimeout = 60000ms;      // one read, write or connect
inline constexpr auto kReadyTimeout = 120000ms;  // start-up until it answers
inline constexpr auto kWaitTimeout = 60000ms;    // polling for a condition

// How long a server may take to exit after SIGTERM (a clean shutdown writes
// out the log and LevelDB); $EDGEKV_STOP_TIMEOUT seconds if set.
inline std::chrono::milliseconds StopTimeout() {
  const char* env = std::getenv("EDGEKV_STOP_TIMEOUT");
  return std::chrono::milliseconds(env != nullptr && *env ? std::atol(env) * 1000
                                                          : 300000);
}

// Watchdog: every test gets at most kTestWatchdogSeconds; on expiry SIGALRM's
// default action kills the test process, which ctest reports as a failure
// (the server child dies with it through PR_SET_PDEATHSIG).
inline constexpr unsigned kTestWatchdogSeconds = 600;

class WatchdogListener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { alarm(kTestWatchdogSeconds); }
  void OnTestEnd(const ::testing::TestInfo&) override { alarm(0); }
};

inline bool InstallWatchdog() {
  static bool installed = [] {
    ::testing::UnitTest::GetInstance()->listeners().Append(new WatchdogListener);
    return true;
  }();
  return installed;
}
[[maybe_unused]] inline const bool kWatchdogInstalled = InstallWatchdog();

// ---------------------------------------------------------------------------

inline std::string ServerBinary() {
  if (const char* env = std::getenv("EDGEKV_SERVER"); env != nullptr && *env) return env;
#ifdef EDGEKV_SERVER_BIN
  return EDGEKV_SERVER_BIN;
#else
  throw std::runtime_error("EDGEKV_SERVER is not set");
#endif
}

// A port that was free a moment ago: bind 127.0.0.1:0 and read it back.
inline int PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/getsockname failed");
  }
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The lines of `log` that start or sum up a sanitizer report (UBSan's begin
// "file:line:col: runtime error: ").
inline std::vector<std::string> SanitizerReports(const std::string& log) {
  static const std::regex report(
      "ERROR: (Address|Leak|Memory|Thread)Sanitizer|WARNING: (Thread|Memory)Sanitizer"
      "|SUMMARY: \\w*Sanitizer|^\\S+:\\d+:\\d+: runtime error: ");
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, report)) out.push_back(line);
  }
  return out;
}

// "exit status N" / "killed by signal N" for a wait status.
inline std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

inline std::string LogTail(std::string log) {
  if (log.size() > 4096) log = "..." + log.substr(log.size() - 4096);
  return log;
}

inline std::string MakeTempDir(const char* tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() /
                      (std::string("edgekv-it-") + tag + "-XXXXXX"))
                         .string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

// fork/exec `argv` with stdout+stderr going to `log_path`. The child dies
// with the test process (PR_SET_PDEATHSIG) so that nothing is leaked.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logfd < 0) throw std::runtime_error("cannot open " + log_path);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(logfd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(logfd, STDOUT_FILENO);
    ::dup2(logfd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(logfd);
  return pid;
}

// Waits for `pid` up to `timeout`; returns its wait status if it exited.
inline std::optional<int> WaitPid(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

struct ExitResult {
  bool exited = false;  // exited normally (not by a signal, not still running)
  int code = -1;
  std::string output;  // stdout + stderr
};

// Runs the server binary with `args` expecting it to exit by itself; a
// sanitizer report in its output fails the test.
inline ExitResult RunServerToExit(const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout = kReadyTimeout) {
  std::string dir = MakeTempDir("exit");
  std::vector<std::string> argv{ServerBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string log = dir + "/output.log";
  pid_t pid = Spawn(argv, log);
  ExitResult r;
  auto st = WaitPid(pid, timeout);
  if (!st) {
    ::kill(pid, SIGKILL);
    WaitPid(pid, 5000ms);
  } else if (WIFEXITED(*st)) {
    r.exited = true;
    r.code = WEXITSTATUS(*st);
  }
  r.output = ReadWholeFile(log);
  if (auto reports = SanitizerReports(r.output); !reports.empty()) {
    ADD_FAILURE() << "edgekv-server left a sanitizer report: " << reports[0] << "\n"
                  << LogTail(r.output);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

// ---------------------------------------------------------------------------
// Raw TCP connection with deadlines, for protocol-level tests.

class RawConn {
 public:
  explicit RawConn(int port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      int e = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error(std::string("connect failed: ") + std::strerror(e));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetTimeout(kIoTimeout);
  }
  ~RawConn() { CloseFd(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  int fd() const { return fd_; }
  void CloseFd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void SetTimeout(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    timeout_ = t;
  }

  // Sends everything; returns false on error (e.g. the peer closed).
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `n` bytes are buffered; false on EOF/error/timeout.
  bool Fill(size_t n) {
    auto deadline = Clock::now() + timeout_;
    while (buf_.size() - pos_ < n) {
      if (Clock::now() >= deadline) return false;
      char tmp[65536];
      ssize_t r = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        eof_ = true;
        return false;
      }
      if (r < 0) return false;
      buf_.append(tmp, static_cast<size_t>(r));
    }
    return true;
  }

  // One line without its "\r\n"; nullopt on EOF/timeout.
  std::optional<std::string> ReadLine() {
    Compact();
    while (true) {
      size_t p = buf_.find("\r\n", pos_);
      if (p != std::string::npos) {
        std::string line = buf_.substr(pos_, p - pos_);
        pos_ = p + 2;
        return line;
      }
      if (!Fill(buf_.size() - pos_ + 1)) return std::nullopt;
    }
  }

  std::optional<std::string> ReadExactly(size_t n) {
    if (!Fill(n)) return std::nullopt;
    std::string s = buf_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  // Reads one complete RESP2/RESP3 reply and returns its raw bytes.
  std::optional<std::string> ReadRawReply() {
    Compact();
    size_t start = pos_;
    if (!SkipReply()) return std::nullopt;
    return buf_.substr(start, pos_ - start);
  }

  // Everything until the peer closes. Returns nullopt if it did not close
  // within the timeout (or the connection was reset).
  std::optional<std::string> ReadUntilEof() {
    auto deadline = Clock::now() + timeout_;
    while (!eof_) {
      if (Clock::now() >= deadline) return std::nullopt;
      char tmp[65536];
      ssize_t r = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        eof_ = true;
        break;
      }
      if (r < 0) return std::nullopt;
      buf_.append(tmp, static_cast<size_t>(r));
    }
    std::string s = buf_.substr(pos_);
    pos_ = buf_.size();
    return s;
  }

  // True if the peer closed the connection within the timeout (buffered
  // bytes are discarded).
  bool WaitForEof() { return ReadUntilEof().has_value(); }

  // True if the peer closed or reset the connection within the timeout.
  bool WaitForCloseOrReset() {
    auto deadline = Clock::now() + timeout_;
    while (Clock::now() < deadline) {
      char tmp[65536];
      ssize_t r = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (r == 0) return true;
      if (r < 0 && errno == ECONNRESET) return true;
      if (r < 0 && errno != EINTR) return false;  // timeout
    }
    return false;
  }

 private:
  void Compact() {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
  }

  // Advances pos_ over one reply (reading more as needed).
  bool SkipReply() {
    auto line = ReadLine();
    if (!line || line->empty()) return false;
    char t = (*line)[0];
    std::string rest = line->substr(1);
    switch (t) {
      case '+':
      case '-':
      case ':':
      case '_':
      case ',':
      case '#':
      case '(':
        return true;
      case '$':
      case '=':
      case '!': {
        long n = std::stol(rest);
        if (n < 0) return true;
        return ReadExactly(static_cast<size_t>(n) + 2).has_value();
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        long n = std::stol(rest);
        if (n < 0) return true;
        if (t == '%' || t == '|') n *= 2;
        for (long i = 0; i < n; ++i) {
          if (!SkipReply()) return false;
        }
        if (t == '|') return SkipReply();  // attributes precede a reply
        return true;
      }
      default:
        return false;
    }
  }

  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  std::chrono::milliseconds timeout_{kIoTimeout};
};

// Encodes a command in RESP.
inline std::string Resp(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    s += "$" + std::to_string(a.size()) + "\r\n";
    s += a;
    s += "\r\n";
  }
  return s;
}

// ---------------------------------------------------------------------------
// hiredis.

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisConn = std::unique_ptr<redisContext, RedisFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

inline RedisConn ConnectHiredis(int port,
                                std::chrono::milliseconds timeout = kIoTimeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr) throw std::runtime_error("redisConnect: out of memory");
  if (c->err) {
    std::string err = c->errstr;
    redisFree(c);
    throw std::runtime_error("redisConnect: " + err);
  }
  redisSetTimeout(c, tv);
  return RedisConn(c);
}

// Runs a command given as separate arguments (binary-safe).
inline Reply Cmd(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  return Reply(static_cast<redisReply*>(r));
}

// Compact description of a reply, for assertions: "+OK", "-ERR ...", ":1",
// "$value", "$nil", "*[...]".
inline std::string Describe(const redisReply* r) {
  if (r == nullptr) return "<no reply>";
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      return "+" + std::string(r->str, r->len);
    case REDIS_REPLY_ERROR:
      return "-" + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return ":" + std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "$nil";
    case REDIS_REPLY_STRING:
      return "$" + std::string(r->str, r->len);
    case REDIS_REPLY_ARRAY: {
      std::string s = "*[";
      for (size_t i = 0; i < r->elements; ++i) {
        if (i) s += ",";
        s += Describe(r->element[i]);
      }
      return s + "]";
    }
    default:
      return "<type " + std::to_string(r->type) + ">";
  }
}

inline std::string Call(redisContext* c, const std::vector<std::string>& args) {
  Reply r = Cmd(c, args);
  if (!r) return std::string("<io error: ") + c->errstr + ">";
  return Describe(r.get());
}

// ---------------------------------------------------------------------------

class TestServer {
 public:
  // `extra` are directives appended after the defaults (port, bind, dir,
  // save), so they may override them. `binary` replaces the server binary
  // (the harness's own tests run a fake).
  explicit TestServer(std::vector<std::string> extra = {}, std::string binary = "") {
    if (binary.empty()) binary = ServerBinary();
    for (size_t i = 0; i + 1 < extra.size(); ++i) {
      if (extra[i] == "--requirepass") password_ = extra[i + 1];
    }
    dir_ = MakeTempDir("srv");
    log_ = dir_ + "/server.log";
    std::filesystem::create_directories(dir_ + "/data");
    std::string last_error;
    // The port may be taken between picking and binding: retry a few times.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = PickFreePort();
      std::vector<std::string> argv{binary,         "--port",    std::to_string(port_),
                                    "--bind",       "127.0.0.1", "--dir",
                                    dir_ + "/data", "--save",    ""};
      argv.insert(argv.end(), extra.begin(), extra.end());
      pid_ = Spawn(argv, log_);
      if (WaitReady(kReadyTimeout, &last_error)) return;
      if (auto st = WaitPid(pid_, 0ms)) {  // exited: maybe the port was taken
        pid_ = -1;
        last_error += " (server exited, " + DescribeStatus(*st) + "): " + Log();
        continue;
      }
      break;
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      WaitPid(pid_, kWaitTimeout);
      pid_ = -1;
    }
    std::string log = Log();
    Cleanup();
    throw std::runtime_error("edgekv-server did not become ready: " + last_error +
                             "\n--- server log ---\n" + log);
  }

  // Stops the server and judges how it ended (see the top of this file).
  ~TestServer() {
    std::vector<std::string> problems = Stop();
    if (!problems.empty()) {
      std::string all;
      for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
      ADD_FAILURE() << "edgekv-server on port " << port_ << ": " << all
                    << "\n--- its log ---\n"
                    << LogTail(Log());
    } else if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "--- edgekv-server log (port %d) ---\n%s\n", port_,
                   LogTail(Log()).c_str());
    }
    Cleanup();
  }

  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string Log() const { return ReadWholeFile(log_); }

  RedisConn Connect(std::chrono::milliseconds timeout = 5000ms) const {
    return ConnectHiredis(port_, timeout);
  }

  // Resident set size of the server, in KiB (-1 if unknown).
  long RssKb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
  }

  bool Running() {
    if (pid_ <= 0) return false;
    if (auto st = WaitPid(pid_, 0ms)) {
      exit_status_ = *st;
      pid_ = -1;
      return false;
    }
    return true;
  }

  // Waits for the process to exit by itself; returns its wait status.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_status_;
    auto st = WaitPid(pid_, timeout);
    if (st) {
      exit_status_ = st;
      pid_ = -1;
    }
    return st;
  }

  // Sends `sig` and waits; returns the wait status if it exited in time.
  // A SIGKILL sent here is the test's intent: that process is judged by its
  // log alone.
  std::optional<int> Signal(int sig, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_status_;
    if (sig == SIGKILL) killed_on_purpose_ = true;
    ::kill(pid_, sig);
    return WaitExit(timeout);
  }

  // How long the destructor waits after SIGTERM before SIGKILL.
  void set_stop_timeout(std::chrono::milliseconds t) { stop_timeout_ = t; }

 private:
  // Ready means: accepting connections and done loading its data. EXISTS, a
  // data command, is refused with -LOADING while the server still recovers
  // its dataset, so that is the probe; AUTH first when a password is set.
  bool WaitReady(std::chrono::milliseconds timeout, std::string* err) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (WaitPid(pid_, 0ms)) {
        *err = "process exited during startup";
        return false;
      }
      try {
        RawConn c(port_);
        c.SetTimeout(2000ms);
        std::string probe;
        if (!password_.empty()) probe += Resp({"AUTH", password_});
        probe += Resp({"EXISTS", "edgekv-it:readiness-probe"});
        if (c.Send(probe)) {
          std::optional<std::string> auth = "+OK\r\n";
          if (!password_.empty()) auth = c.ReadRawReply();
          auto reply = c.ReadRawReply();
          if (auth == "+OK\r\n" && reply && reply->rfind(":", 0) == 0) return true;
          *err = "not ready: " + auth.value_or("<none>") + reply.value_or("<none>");
        }
      } catch (const std::exception& e) {
        *err = e.what();
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // SIGTERM (unless it already exited), then what went wrong: empty if it
  // exited 0 in time and its log holds no sanitizer report.
  std::vector<std::string> Stop() {
    std::vector<std::string> problems;
    if (pid_ > 0) {
      if (auto st = WaitPid(pid_, 0ms)) {
        exit_status_ = st;
        if (*st != 0) {
          problems.push_back("died by itself (" + DescribeStatus(*st) +
                             ") before the test stopped it");
        }
      } else {
        ::kill(pid_, SIGTERM);
        exit_status_ = WaitPid(pid_, stop_timeout_);
        if (!exit_status_) {
          ::kill(pid_, SIGKILL);
          exit_status_ = WaitPid(pid_, kWaitTimeout);
          problems.push_back("did not exit within " +
                             std::to_string(stop_timeout_.count() / 1000) +
                             " s of SIGTERM and was killed with SIGKILL");
        } else if (*exit_status_ != 0) {
          problems.push_back("stopped with " + DescribeStatus(*exit_status_) +
                             " after SIGTERM");
        }
      }
      pid_ = -1;
    } else if (exit_status_ && *exit_status_ != 0 && !killed_on_purpose_) {
      // Reaped by Running(), WaitExit() or Signal(): the test saw it end.
      problems.push_back("ended with " + DescribeStatus(*exit_status_));
    }
    if (auto reports = SanitizerReports(Log()); !reports.empty()) {
      std::string first;
      for (size_t i = 0; i < reports.size() && i < 4; ++i) {
        first += (i ? "; " : "") + reports[i];
      }
      problems.push_back("its log holds a sanitizer report: " + first);
    }
    return problems;
  }

  void Cleanup() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  bool killed_on_purpose_ = false;
  std::chrono::milliseconds stop_timeout_ = StopTimeout();
  std::string dir_;
  std::string log_;
  std::string password_;  // from --requirepass, for the readiness probe
};

}  // namespace edgekv_it
