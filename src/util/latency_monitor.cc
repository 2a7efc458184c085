#include "util/latency_monitor.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "util/sparkline.h"

namespace edgekv {

void LatencyMonitor::Add(std::string_view event, int64_t ms) {
  const int64_t threshold = threshold_ms();
  if (threshold <= 0 || ms < threshold) return;
  AddAt(event, ms, static_cast<int64_t>(std::time(nullptr)));
}

void LatencyMonitor::AddAt(std::string_view event, int64_t ms, int64_t now_s) {
  const auto v = static_cast<uint32_t>(std::clamp<int64_t>(ms, 0, UINT32_MAX));
  MutexLock l(&mu_);
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), Series{}).first;
  Series& s = it->second;
  s.max_ms = std::max(s.max_ms, v);
  // One sample per second: a second spike in the same second keeps the worse.
  Sample& prev = s.samples[(s.next + kSamples - 1) % kSamples];
  if (prev.time_s == now_s) {
    prev.ms = std::max(prev.ms, v);
    return;
  }
  s.samples[s.next] = {now_s, v};
  s.next = (s.next + 1) % kSamples;
}

LatencyMonitor::Event LatencyMonitor::ToEvent(const std::string& name, const Series& s) {
  Event e{name, {}, s.max_ms};
  for (size_t j = 0; j < kSamples; ++j) {
    const Sample& sample = s.samples[(s.next + j) % kSamples];
    if (sample.time_s != 0) e.samples.push_back(sample);
  }
  return e;
}

std::vector<LatencyMonitor::Event> LatencyMonitor::Events() const {
  MutexLock l(&mu_);
  std::vector<Event> out;
  out.reserve(events_.size());
  for (const auto& [name, s] : events_) out.push_back(ToEvent(name, s));
  return out;
}

std::optional<LatencyMonitor::Event> LatencyMonitor::Find(std::string_view event) const {
  MutexLock l(&mu_);
  auto it = events_.find(event);
  if (it == events_.end()) return std::nullopt;
  return ToEvent(it->first, it->second);
}

size_t LatencyMonitor::Reset(std::span<const std::string_view> events) {
  MutexLock l(&mu_);
  if (events.empty()) {
    size_t n = events_.size();
    events_.clear();
    return n;
  }
  size_t n = 0;
  for (std::string_view e : events) {
    auto it = events_.find(e);
    if (it != events_.end()) {
      events_.erase(it);
      ++n;
    }
  }
  return n;
}

LatencyEventStats AnalyzeLatencyEvent(const LatencyMonitor::Event& event, int64_t now_s) {
  LatencyEventStats st;
  if (event.samples.empty()) return st;
  uint64_t sum = 0;
  int64_t oldest = event.samples.front().time_s;
  st.min_ms = st.max_ms = event.samples.front().ms;
  for (const auto& s : event.samples) {
    ++st.samples;
    st.min_ms = std::min<uint64_t>(st.min_ms, s.ms);
    st.max_ms = std::max<uint64_t>(st.max_ms, s.ms);
    sum += s.ms;
    oldest = std::min(oldest, s.time_s);
  }
  st.avg_ms = sum / static_cast<uint64_t>(st.samples);
  st.period_s = std::max<int64_t>(1, now_s - oldest);
  uint64_t dev = 0;
  for (const auto& s : event.samples) {
    dev += s.ms > st.avg_ms ? s.ms - st.avg_ms : st.avg_ms - s.ms;
  }
  st.mad_ms = dev / static_cast<uint64_t>(st.samples);
  return st;
}

namespace {
constexpr size_t kGraphColumns = 80;
constexpr int kGraphRows = 4;

std::string AgoLabel(int64_t elapsed) {
  if (elapsed < 60) return fmt::format("{}s", elapsed);
  if (elapsed < 3600) return fmt::format("{}m", elapsed / 60);
  if (elapsed < 86400) return fmt::format("{}h", elapsed / 3600);
  return fmt::format("{}d", elapsed / 86400);
}

}  // namespace

std::string RenderLatencyGraph(const LatencyMonitor::Event& event, int64_t now_s) {
  std::vector<uint32_t> values;
  std::vector<std::string> labels;
  for (const auto& s : event.samples) {
    values.push_back(s.ms);
    labels.push_back(AgoLabel(now_s - s.time_s));
  }
  uint32_t min = 0, max = 0;
  if (!values.empty()) {
    min = *std::min_element(values.begin(), values.end());
    max = *std::max_element(values.begin(), values.end());
  }
  std::string out = fmt::format("{} - high {} ms, low {} ms (all time high {} ms)\n",
                                event.name, max, min, event.max_ms);
  out.append(kGraphColumns, '-').push_back('\n');
  out += RenderSparkline(values, labels, kGraphColumns, kGraphRows);
  return out;
}

}  // namespace edgekv
