#include "edgekv/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace edgekv {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kNotice)};
std::mutex g_mu;
FILE* g_file = nullptr;  // nullptr: stdout
}  // namespace

void LogInit(LogLevel level, const std::string& file) {
  g_level = static_cast<int>(level);
  if (!file.empty()) {
    std::lock_guard<std::mutex> l(g_mu);
    g_file = std::fopen(file.c_str(), "a");
  }
}

void LogSetLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void LogWrite(LogLevel level, std::string_view msg) {
  static const char kMarks[] = ".-*#";
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char ts[64];
  size_t n = std::strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S", &tm);
  std::snprintf(ts + n, sizeof(ts) - n, ".%03d", static_cast<int>(tv.tv_usec / 1000));
  std::lock_guard<std::mutex> l(g_mu);
  FILE* f = g_file ? g_file : stdout;
  std::fprintf(f, "%d:M %s %c %.*s\n", static_cast<int>(getpid()), ts,
               kMarks[std::min(static_cast<int>(level), 3)],
               static_cast<int>(msg.size()), msg.data());
  std::fflush(f);
}

}  // namespace edgekv
