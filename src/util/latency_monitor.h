// The latency monitor behind LATENCY LATEST, HISTORY, RESET, GRAPH and
// DOCTOR, as Redis keeps it (its latency.c): when latency-monitor-threshold
// is above 0, an operation that took at least that many milliseconds is
// recorded under its event's name ("command", "fast-command", "aof-write",
// "aof-fsync-always", "expire-cycle", "eviction-cycle", ...). Each event
// keeps its last kSamples seconds with a spike (one sample per second: the
// worst of that second) and its worst ever.
//
// Threading: any thread records; a mutex guards the events. It is taken only
// for an operation at least as slow as the threshold (a few a second at
// most), and by LATENCY itself. The threshold is an atomic, read on every
// command.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/thread_annotations.h"

namespace edgekv {

class LatencyMonitor {
 public:
  static constexpr size_t kSamples = 160;

  struct Sample {
    int64_t time_s;  // unix seconds
    uint32_t ms;
  };
  struct Event {
    std::string name;
    std::vector<Sample> samples;  // oldest first
    uint32_t max_ms = 0;          // the worst since the event was first seen
  };

  void set_threshold_ms(int64_t ms) {
    threshold_ms_.store(ms, std::memory_order_relaxed);
  }
  int64_t threshold_ms() const { return threshold_ms_.load(std::memory_order_relaxed); }
  bool enabled() const { return threshold_ms() > 0; }

  // Records `ms` for `event` if monitoring is on and ms is at least the
  // threshold.
  void Add(std::string_view event, int64_t ms);
  // Records unconditionally, at `now_s` (tests; Add).
  void AddAt(std::string_view event, int64_t ms, int64_t now_s) EXCLUDES(mu_);

  // Every event seen since its last reset, by name.
  std::vector<Event> Events() const EXCLUDES(mu_);
  std::optional<Event> Find(std::string_view event) const EXCLUDES(mu_);
  // Forgets the given events (every event when none is given); returns how
  // many there were.
  size_t Reset(std::span<const std::string_view> events) EXCLUDES(mu_);

 private:
  struct Series {
    size_t next = 0;  // the slot the next second goes to
    uint32_t max_ms = 0;
    std::array<Sample, kSamples> samples{};  // time_s 0: unused
  };
  static Event ToEvent(const std::string& name, const Series& s);

  std::atomic<int64_t> threshold_ms_{0};
  mutable Mutex mu_;
  std::map<std::string, Series, std::less<>> events_ GUARDED_BY(mu_);
};

// Times the enclosing block for `event` when the monitor is on (no clock
// read when it is off).
class LatencyScope {
 public:
  LatencyScope(LatencyMonitor* monitor, const char* event)
      : monitor_(monitor != nullptr && monitor->enabled() ? monitor : nullptr),
        event_(event),
        start_(monitor_ != nullptr ? std::chrono::steady_clock::now()
                                   : std::chrono::steady_clock::time_point{}) {}
  ~LatencyScope() {
    if (monitor_ == nullptr) return;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start_);
    monitor_->Add(event_, ms.count());
  }
  LatencyScope(const LatencyScope&) = delete;
  LatencyScope& operator=(const LatencyScope&) = delete;

 private:
  LatencyMonitor* monitor_;
  const char* event_;
  std::chrono::steady_clock::time_point start_;
};

// LATENCY DOCTOR's figures of one event, as Redis computes them: samples,
// their average and mean absolute deviation (whole ms), and the seconds
// since the oldest one (at least 1).
struct LatencyEventStats {
  int samples = 0;
  uint64_t avg_ms = 0, mad_ms = 0, min_ms = 0, max_ms = 0;
  int64_t period_s = 0;
};
LatencyEventStats AnalyzeLatencyEvent(const LatencyMonitor::Event& event, int64_t now_s);

// LATENCY GRAPH's text: a title line, a rule, and the samples as a
// four-row sparkline, each column labelled with how long ago it was.
std::string RenderLatencyGraph(const LatencyMonitor::Event& event, int64_t now_s);

}  // namespace edgekv
