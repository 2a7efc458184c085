// MONITOR: every command the server runs, as one line each, to every client
// that asked for them. While nobody monitors, a command costs one relaxed
// load (Monitors::active).
//
// A monitoring client's connection owns a MonitorSink. Commands on any I/O
// thread Feed lines into every sink; a sink asks its connection's thread to
// take them (wake, at most once until they are taken), so a busy server
// posts one handler per monitor per batch of lines, not per line. A sink
// holds at most `limit` bytes; past that its monitor is closed, as Redis
// closes a client past its output buffer limit.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/thread_annotations.h"

namespace edgekv {

class MonitorSink {
 public:
  MonitorSink(std::function<void()> wake, size_t limit)
      : wake_(std::move(wake)), limit_(limit) {}

  void Push(std::string_view line) EXCLUDES(mu_);
  // Moves the pending lines to the end of *out.
  void Take(std::string* out) EXCLUDES(mu_);
  // More than `limit` bytes were pending: the monitor is to be closed (its
  // connection is woken for it).
  bool overflowed() const { return overflowed_.load(std::memory_order_relaxed); }

 private:
  Mutex mu_;
  std::string pending_ GUARDED_BY(mu_);
  bool woken_ GUARDED_BY(mu_) = false;
  std::atomic<bool> overflowed_{false};
  const std::function<void()> wake_;
  const size_t limit_;
};

class Monitors {
 public:
  bool active() const { return count_.load(std::memory_order_relaxed) > 0; }
  void Add(std::shared_ptr<MonitorSink> sink) EXCLUDES(mu_);
  void Remove(const MonitorSink* sink) EXCLUDES(mu_);
  // Sends one line to every monitor.
  void Feed(std::string_view line) EXCLUDES(mu_);

 private:
  Mutex mu_;
  std::vector<std::shared_ptr<MonitorSink>> sinks_ GUARDED_BY(mu_);
  std::atomic<int> count_{0};
};

// Redis's MONITOR line: +<seconds>.<microseconds> [<db> <addr>] "arg" ...
// with each argument quoted and escaped as Redis's sdscatrepr does, and
// the arguments marked in `redacted` (bit i: args[i]) as "(redacted)".
std::string MonitorLine(int64_t wall_us, int db, std::string_view addr,
                        std::span<const std::string_view> args, uint64_t redacted);

}  // namespace edgekv
