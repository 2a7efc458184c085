// A statistics counter that threads add to without sharing a cache line:
// each thread adds into its own slot (threads past kSlots share one, still
// correctly), and a read sums the slots. For counters bumped on every
// command by every I/O thread, where one shared atomic would bounce its
// line between cores.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace edgekv {

class ShardedCounter {
 public:
  static constexpr size_t kSlots = 8;

  void fetch_add(uint64_t n, std::memory_order = std::memory_order_relaxed) {
    slots_[MySlot()].v.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t load(std::memory_order = std::memory_order_relaxed) const {
    uint64_t sum = 0;
    for (const Slot& s : slots_) sum += s.v.load(std::memory_order_relaxed);
    return sum;
  }
  // Sets the sum (CONFIG RESETSTAT stores 0); adds racing with it may be
  // kept or lost, as with a plain atomic store.
  void store(uint64_t value, std::memory_order = std::memory_order_relaxed) {
    for (Slot& s : slots_) s.v.store(0, std::memory_order_relaxed);
    slots_[0].v.store(value, std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> v{0};
  };
  static size_t MySlot() {
    static std::atomic<size_t> next{0};
    thread_local const size_t slot =
        next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }
  Slot slots_[kSlots];
};

}  // namespace edgekv
