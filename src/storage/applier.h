// Feeds the write-ahead log into LevelDB in batches. The WAL writer hands it
// every chunk it wrote (Push); one thread applies them in order, coalescing
// many batches into one LevelDB write. Push blocks while more than
// max_queue_bytes wait, which slows writers down when the disk falls behind
// instead of letting memory grow.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace edgekv {

class DiskTier;

class Applier {
 public:
  // on_synced(seq) runs after LevelDB made everything up to seq durable (about
  // once a second): WAL segments before it may be deleted.
  Applier(DiskTier* disk, size_t max_queue_bytes,
          std::function<void(uint64_t)> on_synced);
  ~Applier();  // applies what is queued, syncs, stops

  void Push(std::string_view frames, uint64_t last_seq);
  // Waits until LevelDB holds seq; false when timeout_ms passed first.
  bool WaitApplied(uint64_t seq, int64_t timeout_ms = -1);
  uint64_t applied_seq() const;
  uint64_t queued_bytes() const;
  std::string error() const;
  bool healthy() const { return !has_error_.load(std::memory_order_relaxed); }

 private:
  void Loop();

  DiskTier* disk_;
  size_t max_queue_bytes_;
  std::function<void(uint64_t)> on_synced_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // work or space available
  std::condition_variable applied_cv_;
  // Writes are gathered for up to kApplyDelay or kApplyBytes before they go
  // to LevelDB in one sorted batch, with only the last write of each key:
  // rewritten keys cost LevelDB (and its compactions) once per group. The
  // delay is only LevelDB's lag behind the log (which holds the writes);
  // memory pressure, SCAN and full syncs wake the applier at once.
  static constexpr std::chrono::milliseconds kApplyDelay{250};
  static constexpr size_t kApplyBytes = 4u << 20;
  std::deque<std::string> queue_;
  std::chrono::steady_clock::time_point first_queued_;
  size_t queued_bytes_ = 0;
  bool stop_ = false;
  bool wake_ = false;
  std::string error_;
  std::atomic<bool> has_error_{false};  // !error_.empty(), read without mu_
  std::thread thread_;
};

}  // namespace edgekv
