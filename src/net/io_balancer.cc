#include "io_balancer.h"

#include <algorithm>

namespace edgekv {

IoBalancer::IoBalancer(int threads)
    : threads_(std::max(1, threads)),
      in_use_(1),
      saturated_(new std::atomic<bool>[static_cast<size_t>(threads_)]),
      conns_(new std::atomic<size_t>[static_cast<size_t>(threads_)]) {
  for (int i = 0; i < threads_; ++i) {
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

void IoBalancer::Tick(bool adaptive, int forced) {
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
  hot_ticks_ = saturated == use && use < threads_ ? hot_ticks_ + 1 : 0;
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
  std::vector<std::pair<int, size_t>> out;
  int use = in_use();
  if (n == 0) return out;
  std::vector<size_t> load(static_cast<size_t>(use));
  size_t total = 0;
  for (int i = 0; i < use; ++i) {
    load[static_cast<size_t>(i)] =
        i == t ? n : conns_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    total += load[static_cast<size_t>(i)];
  }
  // Each connection that leaves goes to the thread in use that holds fewest.
  auto give = [&](int to) {
    out.emplace_back(to, 1);
    ++load[static_cast<size_t>(to)];
  };
  auto least = [&] {
    return static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
  };
  if (t >= use) {
    for (size_t k = 0; k < n; ++k) give(least());
  } else {
    size_t share = (total + static_cast<size_t>(use) - 1) / static_cast<size_t>(use);
    size_t left = n;
    while (left > share) {
      int to = least();
      if (to == t || load[static_cast<size_t>(to)] + 1 >= left) break;
      give(to);
      --left;
      --load[static_cast<size_t>(t)];
    }
  }
  // Merge repeated targets.
  std::sort(out.begin(), out.end());
  std::vector<std::pair<int, size_t>> merged;
  for (auto& m : out) {
    if (!merged.empty() && merged.back().first == m.first) {
      merged.back().second += m.second;
    } else {
      merged.push_back(m);
    }
  }
  return merged;
}

}  // namespace edgekv
