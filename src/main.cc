// edgekv-server [edgekv.conf] [--directive value ...]
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_table.h"
#include "commands/dispatcher.h"
#include "commands/server_context.h"
#include "commands/version.h"
#include "edgekv/config.h"
#include "edgekv/log.h"
#include "edgekv/store.h"
#include "net/server.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "Usage: edgekv-server [/path/to/edgekv.conf] [--directive value ...]\n"
               "       edgekv-server -v | --version\n"
               "       edgekv-server -h | --help\n\n"
               "Examples:\n"
               "       edgekv-server conf/edgekv.conf\n"
               "       edgekv-server --port 7777 --dir ./data\n");
}

// Reaps expired keys in the background, like Redis's active expire cycle:
// `hz` times a second, with at most a quarter of each period's time.
class ExpiryCron {
 public:
  ExpiryCron(edgekv::Store* store, edgekv::Config* config)
      : store_(store), config_(config), thread_([this] { Loop(); }) {}
  ~ExpiryCron() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      int64_t hz = std::max<int64_t>(1, config_->Int(edgekv::Cfg::kHz));
      int64_t period_us = 1000000 / hz;
      l.unlock();
      store_->ActiveExpireCycle(edgekv::NowMs(), period_us / 4);
      l.lock();
      cv_.wait_for(l, std::chrono::microseconds(period_us), [this] { return stop_; });
    }
  }

  edgekv::Store* store_;
  edgekv::Config* config_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace edgekv;
  std::vector<std::string> args(argv + 1, argv + argc);
  Config config;
  size_t first_flag = 0;
  if (!args.empty()) {
    if (args[0] == "-v" || args[0] == "--version") {
      std::printf("edgekv-server v=%s (redis compatible %s)\n", kEdgekvVersion,
                  kRedisCompatVersion);
      return 0;
    }
    if (args[0] == "-h" || args[0] == "--help") {
      Usage();
      return 0;
    }
    if (args[0].rfind("--", 0) != 0) {
      Status s = config.LoadFile(args[0]);
      if (!s.ok()) {
        std::fprintf(stderr, "*** FATAL CONFIG FILE ERROR ***\n%s\n", s.message().c_str());
        return 1;
      }
      first_flag = 1;
    }
  }
  Status s = config.ApplyArgs({args.begin() + static_cast<long>(first_flag), args.end()});
  if (!s.ok()) {
    std::fprintf(stderr, "*** FATAL CONFIG ERROR ***\n%s\n", s.message().c_str());
    Usage();
    return 1;
  }

  LogInit(static_cast<LogLevel>(config.Int(Cfg::kLoglevel)), config.String(Cfg::kLogfile));

  std::string dir = config.String(Cfg::kDir);
  std::error_code fec;
  std::filesystem::create_directories(dir, fec);
  if (fec || chdir(dir.c_str()) != 0) {
    Log(LogLevel::kWarning, "Can't chdir to '{}': {}", dir,
        fec ? fec.message() : std::strerror(errno));
    return 1;
  }

  int io_threads = static_cast<int>(config.Int(Cfg::kIoThreads));
  if (io_threads == 0) {
    io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  StoreOptions so;
  so.databases = static_cast<int>(config.Int(Cfg::kDatabases));
  Store store(so);
  CommandTable commands;
  ServerContext ctx(&config, &store, &commands);
  ctx.set_io_threads(io_threads);
  Dispatcher dispatcher(&ctx);
  NetServer server(&ctx, &dispatcher, io_threads);
  ctx.shutdown = [&server] {
    Log(LogLevel::kWarning, "User requested shutdown...");
    server.Stop();
  };

  Log(LogLevel::kNotice, "edgekv {} (redis {} compatible) starting, pid={}",
      kEdgekvVersion, kRedisCompatVersion, getpid());
  s = server.Listen();
  if (!s.ok()) {
    Log(LogLevel::kWarning, "{}", s.message());
    return 1;
  }
  ExpiryCron expiry(&store, &config);
  Log(LogLevel::kNotice, "Server initialized, {} I/O threads", io_threads);
  Log(LogLevel::kNotice, "Ready to accept connections tcp on port {}", server.port());
  server.Run();
  Log(LogLevel::kWarning, "edgekv is now ready to exit, bye bye...");
  return 0;
}
