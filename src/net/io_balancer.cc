#include "io_balancer.h"

#include <algorithm>

namespace edgekv {

IoBalancer::IoBalancer(int threads, int started)
    : threads_(std::max(1, threads)),
      started_(std::max(threads_, started)),
      in_use_(1),
      saturated_(new std::atomic<bool>[static_cast<size_t>(started_)]),
      conns_(new std::atomic<size_t>[static_cast<size_t>(started_)]) {
  for (int i = 0; i < started_; ++i) {
    saturated_[static_cast<size_t>(i)] = false;
    conns_[static_cast<size_t>(i)] = 0;
  }
}

void IoBalancer::Report(int t, const Sample& s) {
  saturated_[static_cast<size_t>(t)].store(Saturated(s), std::memory_order_relaxed);
}

void IoBalancer::SetConnections(int t, size_t n) {
  conns_[static_cast<size_t>(t)].store(n, std::memory_order_relaxed);
}

void IoBalancer::Tick(bool adaptive, int forced, double idle_cpus) {
  int use = in_use();
  if (forced > 0 || !adaptive) {
    in_use_.store(forced > 0 ? std::min(forced, threads_) : threads_);
    hot_ticks_ = cool_ticks_ = 0;
    return;
  }
  int saturated = 0;
  for (int i = 0; i < use; ++i) {
    saturated += saturated_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
  }
  bool room = idle_cpus < 0 || idle_cpus >= kIdleCpus;
  hot_ticks_ = saturated == use && use < threads_ && room ? hot_ticks_ + 1 : 0;
  cool_ticks_ = saturated == 0 && use > 1 ? cool_ticks_ + 1 : 0;
  if (hot_ticks_ >= kHotTicks) {
    in_use_.store(use + 1);
    hot_ticks_ = cool_ticks_ = 0;
  } else if (cool_ticks_ >= kCoolTicks) {
    in_use_.store(use - 1);
    hot_ticks_ = cool_ticks_ = 0;
  }
}

int IoBalancer::PlaceNew() {
  return static_cast<int>(next_.fetch_add(1, std::memory_order_relaxed) %
                          static_cast<unsigned>(in_use()));
}

std::vector<std::pair<int, size_t>> IoBalancer::Moves(int t, size_t n) const {
  auto use = static_cast<size_t>(in_use());
  auto self = static_cast<size_t>(t);
  std::vector<size_t> load(use), given(use);
  size_t total = 0;
  for (size_t i = 0; i < use; ++i) {
    load[i] = i == self ? n : conns_[i].load(std::memory_order_relaxed);
    total += load[i];
  }
  // Each connection that leaves goes to the thread in use that holds fewest.
  auto least = [&] {
    return static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
  };
  auto give = [&](size_t to) {
    ++load[to];
    ++given[to];
  };
  if (self >= use) {
    for (size_t k = 0; k < n; ++k) give(least());
  } else {
    size_t share = (total + use - 1) / use;
    for (size_t left = n; left > share; --left, --load[self]) {
      size_t to = least();
      if (to == self || load[to] + 1 >= left) break;
      give(to);
    }
  }
  std::vector<std::pair<int, size_t>> out;
  for (size_t i = 0; i < use; ++i) {
    if (given[i] > 0) out.emplace_back(static_cast<int>(i), given[i]);
  }
  return out;
}

}  // namespace edgekv
