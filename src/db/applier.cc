#include "db/applier.h"

#include <algorithm>
#include <vector>

#include "edgekv/log.h"
#include "edgekv/wal_format.h"
#include "storage/disk_tier.h"
#include "util/malloc_arena.h"
#include "util/thread_name.h"

namespace edgekv {

using Clock = std::chrono::steady_clock;

ApplierLimits ApplierLimits::For(int64_t maxmemory) {
  constexpr int64_t kMin = 8 << 20, kMax = 32 << 20;
  ApplierLimits l;
  l.group_bytes =
      static_cast<size_t>(maxmemory <= 0 ? kMax : std::clamp(maxmemory / 8, kMin, kMax));
  l.group_delay = std::chrono::seconds(2);
  l.max_backlog_bytes = 4 * l.group_bytes;
  return l;
}

Applier::Applier(DiskTier* disk, std::string wal_dir,
                 std::function<void(uint64_t)> on_synced, ApplierLimits limits)
    : disk_(disk),
      on_synced_(std::move(on_synced)),
      group_bytes_(limits.group_bytes),
      max_backlog_bytes_(limits.max_backlog_bytes),
      group_delay_(limits.group_delay),
      cursor_(std::move(wal_dir)) {
  pos_ = disk_->applied_seq();
  written_seq_.store(pos_);
  can_idle_ = CanRaiseNice();
  thread_ = std::thread([this] { Loop(); });
}

ApplierLimits Applier::limits() const {
  ApplierLimits l;
  l.group_bytes = group_bytes();
  l.group_delay = group_delay_;
  l.max_backlog_bytes = max_backlog_bytes();
  return l;
}

void Applier::SetLimits(const ApplierLimits& limits) {
  group_bytes_.store(limits.group_bytes, std::memory_order_relaxed);
  max_backlog_bytes_.store(limits.max_backlog_bytes, std::memory_order_relaxed);
  Nudge();  // a group past the new bound goes now
}

Applier::~Applier() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Applier::OnWritten(size_t bytes, uint64_t last_seq) {
  // Called for every log write (one at a time, under the writer's lock), so
  // it takes no lock the applier thread holds: that thread runs at a low
  // priority (nice 10), and a log writer waiting for it to be scheduled
  // again would hold up every client. The applier is told when a group starts (to time
  // it) and when it is full, not at every write; a wake-up lost to a race
  // with its wait only makes it start at its next look (at most 250 ms).
  written_seq_.store(last_seq);
  pending_bytes_.fetch_add(bytes);
  backlog_bytes_.fetch_add(bytes);
  if (!timing_.load()) {
    first_pending_ns_.store(Clock::now().time_since_epoch().count());
    timing_.store(true);
    cv_.notify_all();
  } else if (pending_bytes_.load() >= group_bytes() && !wake_.load()) {
    Nudge();
  }
}

void Applier::Nudge() {
  wake_.store(true);
  cv_.notify_all();
  Boost();
}

void Applier::Boost() {
  if (idle_.load()) SetIdle(false);
}

void Applier::SetIdle(bool idle) {
  if (!can_idle_) return;
  std::lock_guard<std::mutex> l(prio_mu_);
  if (idle_.load() == idle) return;
  pid_t tid = tid_.load();
  if (tid == 0) return;
  if (idle) {
    idle_.store(true);
    SetIdleNice(tid, true);
  } else {
    SetIdleNice(tid, false);
    idle_.store(false);
  }
}

void Applier::OnReset(uint64_t last_seq) {
  {
    std::lock_guard<std::mutex> l(mu_);
    reset_ = true;
    reset_seq_ = last_seq;
    written_seq_.store(last_seq);
    backlog_bytes_ = 0;
    ++resets_;
  }
  applied_cv_.notify_all();
}

void Applier::Hold(uint64_t seq) {
  {
    std::lock_guard<std::mutex> l(mu_);
    held_ = true;
    reset_ = true;
    reset_seq_ = seq;
    written_seq_.store(seq);
    backlog_bytes_ = 0;
    ++resets_;
  }
  applied_cv_.notify_all();
}

void Applier::Release() {
  {
    std::lock_guard<std::mutex> l(mu_);
    held_ = false;
  }
  cv_.notify_all();
}

bool Applier::WaitApplied(uint64_t seq, int64_t timeout_ms) {
  if (disk_->applied_seq() >= seq) return true;
  if (timeout_ms == 0) {  // no lock: see OnWritten
    Nudge();
    return false;
  }
  std::unique_lock<std::mutex> l(mu_);
  const uint64_t resets = resets_;
  // Given up when the log is reset (a replica's full sync: seq belongs to
  // the history it replaced) or waits are cancelled (shutdown).
  auto given_up = [&] { return resets_ != resets || waits_cancelled_ || stop_; };
  auto ready = [&] { return disk_->applied_seq() >= seq || given_up(); };
  if (!ready()) Nudge();  // someone waits: apply now
  if (timeout_ms < 0) {
    applied_cv_.wait(l, ready);
  } else if (!applied_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms), ready)) {
    return false;
  }
  return disk_->applied_seq() >= seq && resets_ == resets;
}

void Applier::CancelWaits() {
  {
    std::lock_guard<std::mutex> l(mu_);
    waits_cancelled_ = true;
  }
  applied_cv_.notify_all();
}

void Applier::SetPaused(bool paused) {
  {
    std::lock_guard<std::mutex> l(mu_);
    paused_ = paused;
  }
  cv_.notify_all();
}

uint64_t Applier::applied_seq() const { return disk_->applied_seq(); }

bool Applier::Overloaded() {
  uint64_t backlog = backlog_bytes_.load(std::memory_order_relaxed);
  if (!overloaded_.load(std::memory_order_relaxed)) {
    if (backlog <= max_backlog_bytes()) return false;
    overloaded_ = true;
    Nudge();
    return true;
  }
  uint64_t under = std::min(group_bytes(), max_backlog_bytes() / 2);
  if (backlog + under > max_backlog_bytes()) return true;
  overloaded_ = false;
  return false;
}

void Applier::ReleaseBuffers() {
  {
    std::lock_guard<std::mutex> l(released_mu_);
    if (released_ns_ == 0) {
      released_ns_ = Clock::now().time_since_epoch().count();
      released_small_ = group_peak_ <= group_bytes() / 4;
    }
    group_peak_ = 0;
    // The larger buffers go; whatever was not freed yet stays here.
    if (released_frames_.capacity() < frames_.capacity()) released_frames_.swap(frames_);
    if (released_payloads_.capacity() < payloads_.capacity())
      released_payloads_.swap(payloads_);
  }
  disk_->ReleaseApplyBuffers();
}

void Applier::ReclaimBuffers() {
  std::lock_guard<std::mutex> l(released_mu_);
  released_ns_ = 0;
  if (frames_.capacity() < released_frames_.capacity()) frames_.swap(released_frames_);
  if (payloads_.capacity() < released_payloads_.capacity())
    payloads_.swap(released_payloads_);
}

void Applier::FreeReleasedBuffers() {
  std::string frames;
  std::vector<std::string_view> payloads;
  {
    std::lock_guard<std::mutex> l(released_mu_);
    const auto keep = group_delay_ + std::chrono::milliseconds(100);
    if (released_ns_ == 0 ||
        (released_small_ &&
         Clock::now() - Clock::time_point(Clock::duration(released_ns_)) < keep)) {
      return;
    }
    released_ns_ = 0;
    frames.swap(released_frames_);
    payloads.swap(released_payloads_);
  }
  disk_->FreeReleasedApplyBuffers();
}  // freed here, on the caller's thread

bool Applier::holds_released_buffers() const {
  std::lock_guard<std::mutex> l(released_mu_);
  return released_ns_ != 0;
}

bool Applier::AdmitWrite(size_t bytes) {
  if (!Pacing()) return true;
  Boost();
  const double max = static_cast<double>(max_backlog_bytes());
  double backlog = static_cast<double>(queued_bytes());
  double over = std::clamp((backlog - max / 2) / (max / 2), 0.0, 1.0);
  double rate = apply_rate_.load(std::memory_order_relaxed) * (1.0 - 0.9 * over);
  std::lock_guard<std::mutex> l(pace_mu_);
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - pace_refill_).count();
  pace_refill_ = now;
  // At most 10 ms worth of writes at once. A write goes while the bucket is
  // not empty, even one larger than it; the ones after it wait for what it
  // took (the bucket goes negative).
  pace_tokens_ = std::min(pace_tokens_ + rate * std::min(elapsed, 1.0), rate * 0.01);
  if (pace_tokens_ <= 0) return false;
  pace_tokens_ -= static_cast<double>(bytes);
  return true;
}

std::string Applier::error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

void Applier::SetError(const std::string& message) {
  std::lock_guard<std::mutex> l(mu_);
  if (error_.empty()) Log(LogLevel::kWarning, "{}", message);
  error_ = message;
  has_error_ = true;
}

bool Applier::CatchUp(uint64_t target, uint64_t wipes) {
  ReclaimBuffers();
  if (!positioned_) {
    Status s = cursor_.Seek(pos_);
    if (!s.ok()) {
      SetError("LevelDB applier: can't read the log: " + s.message());
      return false;
    }
    positioned_ = true;
  }
  while (pos_ < target) {
    // One group: up to group_bytes() of frames, written to LevelDB in
    // write-buffer-sized chunks (DiskTier::Apply).
    const size_t group_bytes = this->group_bytes();
    std::string& frames = frames_;
    frames.clear();
    // Reserved whole (address space; pages are touched as they fill): grown
    // by doubling, each step would unmap the last buffer on this thread.
    if (frames.capacity() < group_bytes + (1u << 20)) {
      frames.reserve(group_bytes + (1u << 20));
    }
    if (payloads_.capacity() < group_bytes / 64) {
      payloads_.reserve(group_bytes / 64);
    }
    auto started = Clock::now();
    auto read = cursor_.Read(target, group_bytes, &frames);
    group_peak_ = std::max(group_peak_, frames.size());
    if (!read.ok() || read.value() == 0) {
      positioned_ = false;
      SetError("LevelDB applier: can't read the log after sequence " +
               std::to_string(pos_) + ": " +
               (read.ok() ? std::string("it ends there") : read.status().message()));
      return false;
    }
    std::vector<std::string_view>& payloads = payloads_;
    payloads.clear();
    for (size_t off = 0; off + wal::kFrameHeaderSize <= frames.size();) {
      uint32_t len = wal::GetFixed32(frames.data() + off + 4);
      payloads.emplace_back(frames.data() + off + wal::kFrameHeaderSize, len);
      off += wal::kFrameHeaderSize + len;
    }
    Status s = disk_->Apply(payloads, wipes);
    if (s.code() == Status::Code::kAborted) return true;  // see Hold
    if (!s.ok()) {
      positioned_ = false;  // read the group again next time
      SetError("LevelDB apply failed: " + s.message());
      // LevelDB keeps failing after one write error until reopened. (The
      // caller waits before the retry.)
      Status r = disk_->Reopen();
      if (!r.ok()) Log(LogLevel::kVerbose, "LevelDB reopen failed: {}", r.message());
      return false;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (has_error_) {
        error_.clear();
        has_error_ = false;
      }
      if (reset_) return true;  // the log was reset meanwhile
      pos_ = cursor_.last_seq();
      // OnWritten adds meanwhile, without mu_.
      uint64_t backlog = backlog_bytes_.load();
      while (!backlog_bytes_.compare_exchange_weak(
          backlog, backlog - std::min<uint64_t>(backlog, frames.size()))) {
      }
    }
    // The pace writers get when LevelDB falls behind (AdmitWrite). Small
    // groups say little about the rate.
    double took = std::chrono::duration<double>(Clock::now() - started).count();
    if (frames.size() >= (1u << 20) && took > 0) {
      double sample = static_cast<double>(frames.size()) / took;
      apply_rate_.store(0.7 * apply_rate_.load() + 0.3 * sample);
    }

    applied_cv_.notify_all();
  }
  return true;
}

void Applier::Loop() {
  SetThreadName("ekv-disk-apply");
  ReserveMallocArena(kArenaReserve);
  LowerThreadPriority();
  tid_.store(ThreadId());
  auto last_sync = Clock::now();
  uint64_t synced = disk_->applied_seq();
  auto last_applied = Clock::now();
  bool flushed_since = true;  // the memtable was written out since the last group
  while (true) {
    uint64_t target;
    uint64_t wipes;
    bool stopping;
    bool woken;
    {
      std::unique_lock<std::mutex> l(mu_);
      // Until group_delay_ after the first write of a group, or
      // group_bytes(), or someone waits; with nothing gathered, once a
      // second (to sync LevelDB). Not while paused.
      while (!stop_) {
        if (paused_ || held_) {
          cv_.wait(l);
          continue;
        }
        if (wake_.load()) break;
        auto first = Clock::time_point(Clock::duration(first_pending_ns_.load()));
        if (timing_.load() && (pending_bytes_.load() >= group_bytes() ||
                               Clock::now() >= first + group_delay_)) {
          break;
        }
        // A group is looked at every 250 ms whatever its delay, so that a
        // wake-up lost to a race (a full group, see OnWritten) costs that.
        auto until = timing_.load()
                         ? std::min(first + group_delay_,
                                    Clock::now() + std::chrono::milliseconds(250))
                         : Clock::now() + std::chrono::seconds(1);
        if (cv_.wait_until(l, until) == std::cv_status::timeout && !timing_.load()) break;
      }
      // In this order: a write that OnWritten finds after timing_ is cleared
      // starts the next group, even when `target` below takes it too.
      woken = wake_.exchange(false);
      timing_.store(false);
      pending_bytes_.store(0);
      if (reset_) {
        reset_ = false;
        pos_ = reset_seq_;
        positioned_ = false;
      }
      target = written_seq_.load();
      wipes = disk_->wipes();
      stopping = stop_;
    }
    // Idle priority for a group nobody waits for (see SetIdle). Set before
    // wake_ is read again: a Nudge after this line finds idle_ and boosts;
    // one before it is seen here.
    SetIdle(!woken && !stopping && backlog_bytes_.load() < max_backlog_bytes() / 4);
    if (wake_.load()) SetIdle(false);
    const uint64_t pos_before = pos_;
    bool ok = pos_ >= target || CatchUp(target, wipes);
    if (pos_ != pos_before) {
      last_applied = Clock::now();
      flushed_since = false;
    }
    bool busy;
    {
      std::lock_guard<std::mutex> l(mu_);  // no lost wake-up
      busy = wake_.load() || pending_bytes_.load() >= group_bytes();
    }
    // A group's buffers are tens of megabytes: kept while groups follow each
    // other (fresh ones cost a page fault per 4 KB), given back when the
    // applier waits for the next.
    if (!busy) ReleaseBuffers();
    applied_cv_.notify_all();
    if (!ok) {
      if (stopping) break;  // the log keeps the records: replayed at start
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      wake_.store(true);  // retry without waiting for more writes
      continue;
    }
    if (Clock::now() - last_sync > std::chrono::seconds(1) &&
        disk_->applied_seq() > synced) {
      uint64_t seq = disk_->applied_seq();
      if (disk_->Sync().ok()) {
        synced = seq;
        if (on_synced_) on_synced_(seq);
      }
      last_sync = Clock::now();
    }
    // Idle: the memtable (up to the write buffer, tens of megabytes) goes
    // out to a table now rather than stay in memory until more writes fill
    // it.
    if (!flushed_since && !stopping && Clock::now() - last_applied >= kIdleFlushAfter) {
      flushed_since =
          disk_->FlushMemtable(kIdleFlushMinBytes) != DiskTier::MemtableFlush::kLater;
    }
    if (stopping) {
      std::lock_guard<std::mutex> l(mu_);
      if (pos_ >= written_seq_.load()) break;
    }
  }
  uint64_t seq = disk_->applied_seq();
  if (disk_->Sync().ok() && on_synced_) on_synced_(seq);
  applied_cv_.notify_all();
}

}  // namespace edgekv
