#include "command_stats.h"

#include <thread>

#include "util/latency_histogram.h"

namespace edgekv {

namespace {
std::atomic<uint64_t> next_serial{1};

// Counters one thread writes: a load and a store, no locked add.
void Add(std::atomic<uint64_t>& c, uint64_t v) {
  c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
}  // namespace

struct CommandStats::Block {
  explicit Block(size_t n)
      : owner(std::this_thread::get_id()),
        calls(n),
        usec(n),
        failed(n),
        rejected(n),
        histograms(n) {}
  ~Block() {
    for (auto& h : histograms) delete[] h.load(std::memory_order_relaxed);
  }
  const std::thread::id owner;
  std::vector<std::atomic<uint64_t>> calls, usec, failed, rejected;
  // latency::kSlots counters per command, made when first needed (most
  // commands are never called); published with release for INFO's reads.
  std::vector<std::atomic<std::atomic<uint64_t>*>> histograms;
};

CommandStats::CommandStats(size_t commands)
    : commands_(commands), serial_(next_serial.fetch_add(1)), baseline_(commands) {}

CommandStats::~CommandStats() = default;

CommandStats::Block* CommandStats::Mine() {
  // The block of this thread for this instance (one thread may count for
  // several: the unit tests make a server per test).
  thread_local uint64_t cached_serial = 0;
  thread_local Block* cached = nullptr;
  if (cached_serial == serial_) return cached;
  MutexLock l(&mu_);
  cached = nullptr;
  for (const auto& b : blocks_) {
    if (b->owner == std::this_thread::get_id()) cached = b.get();
  }
  if (cached == nullptr) {
    blocks_.push_back(std::make_unique<Block>(commands_));
    cached = blocks_.back().get();
  }
  cached_serial = serial_;
  return cached;
}

void CommandStats::Ran(size_t id, uint64_t usec, bool failed, bool track) {
  if (id >= commands_) return;
  Block* b = Mine();
  Add(b->calls[id], 1);
  Add(b->usec[id], usec);
  if (failed) Add(b->failed[id], 1);
  if (track) {
    std::atomic<uint64_t>* h = b->histograms[id].load(std::memory_order_relaxed);
    if (h == nullptr) {
      h = new std::atomic<uint64_t>[latency::kSlots]();
      b->histograms[id].store(h, std::memory_order_release);
    }
    Add(h[latency::SlotOf(usec)], 1);
  }
}

void CommandStats::Rejected(size_t id) {
  if (id >= commands_) return;
  Add(Mine()->rejected[id], 1);
}

std::vector<CommandStats::Totals> CommandStats::RawLocked() const {
  std::vector<Totals> out(commands_);
  for (const auto& b : blocks_) {
    for (size_t i = 0; i < commands_; ++i) {
      out[i].calls += b->calls[i].load(std::memory_order_relaxed);
      out[i].usec += b->usec[i].load(std::memory_order_relaxed);
      out[i].failed += b->failed[i].load(std::memory_order_relaxed);
      out[i].rejected += b->rejected[i].load(std::memory_order_relaxed);
    }
  }
  return out;
}

std::vector<CommandStats::Totals> CommandStats::Sum() const {
  // One hold of mu_: a Reset between reading and subtracting would leave a
  // baseline above the totals read (and the differences would wrap).
  MutexLock l(&mu_);
  std::vector<Totals> out = RawLocked();
  for (size_t i = 0; i < commands_; ++i) {
    out[i].calls -= baseline_[i].calls;
    out[i].usec -= baseline_[i].usec;
    out[i].failed -= baseline_[i].failed;
    out[i].rejected -= baseline_[i].rejected;
  }
  return out;
}

std::map<size_t, std::vector<uint64_t>> CommandStats::RawHistogramsLocked() const {
  std::map<size_t, std::vector<uint64_t>> out;
  for (const auto& b : blocks_) {
    for (size_t i = 0; i < commands_; ++i) {
      const std::atomic<uint64_t>* h = b->histograms[i].load(std::memory_order_acquire);
      if (h == nullptr) continue;
      std::vector<uint64_t>& sum = out[i];
      sum.resize(latency::kSlots);
      for (size_t j = 0; j < latency::kSlots; ++j) {
        sum[j] += h[j].load(std::memory_order_relaxed);
      }
    }
  }
  return out;
}

std::map<size_t, std::vector<uint64_t>> CommandStats::Histograms() const {
  MutexLock l(&mu_);
  std::map<size_t, std::vector<uint64_t>> out = RawHistogramsLocked();
  for (auto it = out.begin(); it != out.end();) {
    auto base = histogram_baseline_.find(it->first);
    if (base != histogram_baseline_.end()) {
      for (size_t j = 0; j < latency::kSlots; ++j) it->second[j] -= base->second[j];
    }
    if (latency::Total(it->second) == 0) {
      it = out.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void CommandStats::Reset() {
  MutexLock l(&mu_);
  baseline_ = RawLocked();
  histogram_baseline_ = RawHistogramsLocked();
}

void ErrorStats::OnError(std::string_view code) {
  total_.fetch_add(1, std::memory_order_relaxed);
  MutexLock l(&mu_);
  auto it = codes_.find(code);
  if (it != codes_.end()) {
    ++it->second;
  } else if (codes_.size() < kMaxCodes) {
    codes_.emplace(std::string(code), 1);
  }
}

void ErrorStats::OnErrorTakenBack(std::string_view code) {
  total_.fetch_sub(1, std::memory_order_relaxed);
  MutexLock l(&mu_);
  auto it = codes_.find(code);
  if (it != codes_.end() && --it->second == 0) codes_.erase(it);
}

std::map<std::string, uint64_t> ErrorStats::ByCode() const {
  MutexLock l(&mu_);
  return {codes_.begin(), codes_.end()};
}

void ErrorStats::Reset() {
  total_.store(0, std::memory_order_relaxed);
  MutexLock l(&mu_);
  codes_.clear();
}

}  // namespace edgekv
