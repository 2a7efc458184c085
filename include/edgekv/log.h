// Redis-style log lines ("pid:M 26 Nov 2026 21:44:54.123 * message") to stdout
// or `logfile`, filtered by `loglevel`. Thread-safe.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace edgekv {

enum class LogLevel { kDebug = 0, kVerbose = 1, kNotice = 2, kWarning = 3, kNothing = 4 };

void LogInit(LogLevel level, const std::string& file);
void LogSetLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogWrite(LogLevel level, std::string_view msg);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (!LogEnabled(level)) return;
  LogWrite(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace edgekv
