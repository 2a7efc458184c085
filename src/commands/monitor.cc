#include "monitor.h"

#include <fmt/format.h>

#include <algorithm>

namespace edgekv {

void MonitorSink::Push(std::string_view line) {
  bool wake = false;
  {
    MutexLock l(&mu_);
    if (overflowed()) return;
    if (pending_.size() + line.size() > limit_) {
      overflowed_.store(true, std::memory_order_relaxed);
      std::string().swap(pending_);
      wake = true;  // to be closed, even while its output is backed up
    } else {
      pending_.append(line);
      wake = !woken_;
    }
    woken_ = true;
  }
  if (wake && wake_) wake_();
}

void MonitorSink::Take(std::string* out) {
  MutexLock l(&mu_);
  woken_ = false;
  out->append(pending_);
  pending_.clear();
  if (pending_.capacity() > (1u << 20)) std::string().swap(pending_);
}

void Monitors::Add(std::shared_ptr<MonitorSink> sink) {
  MutexLock l(&mu_);
  sinks_.push_back(std::move(sink));
  count_.store(static_cast<int>(sinks_.size()), std::memory_order_relaxed);
}

void Monitors::Remove(const MonitorSink* sink) {
  MutexLock l(&mu_);
  std::erase_if(sinks_, [&](const auto& s) { return s.get() == sink; });
  count_.store(static_cast<int>(sinks_.size()), std::memory_order_relaxed);
}

void Monitors::Feed(std::string_view line) {
  MutexLock l(&mu_);
  for (const auto& sink : sinks_) sink->Push(line);
}

namespace {

// Redis's sdscatrepr: a quoted string with \" \\ \n \r \t \a \b escaped and
// other bytes outside the printable ASCII as \xHH.
void AppendRepr(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\a':
        out->append("\\a");
        break;
      case '\b':
        out->append("\\b");
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out->push_back(static_cast<char>(c));
        } else {
          fmt::format_to(std::back_inserter(*out), "\\x{:02x}", c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string MonitorLine(int64_t wall_us, int db, std::string_view addr,
                        std::span<const std::string_view> args, uint64_t redacted) {
  std::string line =
      fmt::format("+{}.{:06} [{} {}]", wall_us / 1000000, wall_us % 1000000, db, addr);
  for (size_t i = 0; i < args.size(); ++i) {
    line.push_back(' ');
    if (i < 64 && (redacted >> i) & 1) {
      line.append("\"(redacted)\"");
    } else {
      AppendRepr(&line, args[i]);
    }
  }
  line.append("\r\n");
  return line;
}

}  // namespace edgekv
