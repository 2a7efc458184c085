#include "applier.h"

#include <chrono>
#include <vector>

#include "disk_tier.h"
#include "edgekv/log.h"
#include "edgekv/wal_format.h"
#include "util/thread_name.h"
#include "wal/batch.h"

namespace edgekv {

Applier::Applier(DiskTier* disk, size_t max_queue_bytes,
                 std::function<void(uint64_t)> on_synced)
    : disk_(disk), max_queue_bytes_(max_queue_bytes), on_synced_(std::move(on_synced)) {
  thread_ = std::thread([this] { Loop(); });
}

Applier::~Applier() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Applier::Push(std::string_view frames, uint64_t last_seq) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return queued_bytes_ < max_queue_bytes_ || stop_; });
  bool first = queue_.empty();
  if (first) first_queued_ = std::chrono::steady_clock::now();
  queue_.emplace_back(frames);
  queued_bytes_ += frames.size();
  // The applier gathers writes for a while (see kApplyDelay): it is told when
  // a group starts (to time it) and when it is full, not at every chunk.
  if (queued_bytes_ >= kApplyBytes && !wake_) {
    wake_ = true;
    cv_.notify_all();
  } else if (first) {
    cv_.notify_all();
  }
}

bool Applier::WaitApplied(uint64_t seq, int64_t timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  auto ready = [&] { return disk_->applied_seq() >= seq || stop_; };
  if (!ready()) {  // someone waits: apply now
    wake_ = true;
    cv_.notify_all();
  }
  if (timeout_ms < 0) {
    applied_cv_.wait(l, ready);
    return true;
  }
  return applied_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms), ready);
}

uint64_t Applier::applied_seq() const { return disk_->applied_seq(); }

uint64_t Applier::queued_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return queued_bytes_;
}

std::string Applier::error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

void Applier::Loop() {
  SetThreadName("ekv-disk-apply");
  LowerThreadPriority();
  using Clock = std::chrono::steady_clock;
  auto last_sync = Clock::now();
  uint64_t synced = disk_->applied_seq();
  while (true) {
    std::deque<std::string> work;
    {
      std::unique_lock<std::mutex> l(mu_);
      // Until kApplyDelay after the first write queued (or a second, to sync
      // LevelDB), unless kApplyBytes are queued or someone waits.
      auto until = queue_.empty() ? Clock::now() + std::chrono::seconds(1)
                                  : first_queued_ + kApplyDelay;
      cv_.wait_until(l, until, [&] {
        return stop_ || wake_ ||
               (!queue_.empty() && Clock::now() >= first_queued_ + kApplyDelay);
      });
      wake_ = false;
      if (queue_.empty() && stop_) break;
      work.swap(queue_);
    }
    size_t bytes = 0;
    for (auto& chunk : work) bytes += chunk.size();
    // Split into frames; apply in groups of up to kApplyBytes per LevelDB
    // write (one write lands in one memtable, which may grow by that much
    // over its write buffer).
    std::vector<std::string_view> group;
    size_t group_bytes = 0;
    auto apply = [&] {
      while (!group.empty()) {
        Status s = disk_->Apply(group);
        if (s.ok()) {
          if (has_error_.load()) {
            std::lock_guard<std::mutex> l(mu_);
            error_.clear();
            has_error_ = false;
          }
          break;
        }
        {
          std::lock_guard<std::mutex> l(mu_);
          if (error_.empty())
            Log(LogLevel::kWarning, "LevelDB apply failed: {}", s.message());
          error_ = s.message();
          has_error_ = true;
          if (stop_) return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        // LevelDB keeps failing after one write error until reopened.
        Status r = disk_->Reopen();
        if (!r.ok()) Log(LogLevel::kVerbose, "LevelDB reopen failed: {}", r.message());
      }
      group.clear();
      group_bytes = 0;
      { std::lock_guard<std::mutex> l(mu_); }  // no lost wake-up
      applied_cv_.notify_all();
    };
    for (auto& chunk : work) {
      size_t off = 0;
      while (off + wal::kFrameHeaderSize <= chunk.size()) {
        uint32_t len = wal::GetFixed32(chunk.data() + off + 4);
        group.emplace_back(chunk.data() + off + wal::kFrameHeaderSize, len);
        group_bytes += len;
        off += wal::kFrameHeaderSize + len;
        if (group_bytes >= kApplyBytes) apply();
      }
    }
    apply();
    work.clear();
    {
      std::lock_guard<std::mutex> l(mu_);
      queued_bytes_ -= bytes;
    }
    cv_.notify_all();
    applied_cv_.notify_all();
    if (Clock::now() - last_sync > std::chrono::seconds(1) &&
        disk_->applied_seq() > synced) {
      uint64_t seq = disk_->applied_seq();
      if (disk_->Sync().ok()) {
        synced = seq;
        if (on_synced_) on_synced_(seq);
      }
      last_sync = Clock::now();
    }
  }
  uint64_t seq = disk_->applied_seq();
  if (disk_->Sync().ok() && on_synced_) on_synced_(seq);
  applied_cv_.notify_all();
}

}  // namespace edgekv
