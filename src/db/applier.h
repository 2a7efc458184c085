// Feeds the write-ahead log into LevelDB in batches. The WAL writer tells it
// how far the segments go (OnWritten); one thread reads the records back from
// the segments with a WalCursor and applies them in order, many batches to
// one LevelDB write.
//
// The log on disk is the queue: the writer never copies records for the
// applier and never waits for it, so a LevelDB write or compaction never
// holds up a client (or a replica's link) in the middle of a log write.
// LevelDB's lag costs disk (segments are kept until LevelDB synced past
// them) and, with maxmemory, memory waits for it (only applied entries may
// leave memory), which slows writers down instead.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "wal/wal_cursor.h"
#include "wal/wal_writer.h"

namespace edgekv {

class DiskTier;

// How the applier groups writes, and how far LevelDB may fall behind the log.
struct ApplierLimits {
  // Writes are gathered for up to group_delay or group_bytes of log before
  // they go to LevelDB in one sorted batch, with only the last write of each
  // key: rewritten keys cost LevelDB (and its compactions) once per group.
  // The delay is only LevelDB's lag behind the log (which holds the writes);
  // memory pressure, SCAN and full syncs wake the applier at once.
  size_t group_bytes = 8u << 20;
  std::chrono::milliseconds group_delay{1000};
  // How far LevelDB may fall behind the log; this also bounds what a start
  // after a crash replays. Past half of it, writes are paced (AdmitWrite);
  // past all of it, they wait (Overloaded).
  uint64_t max_backlog_bytes = 32u << 20;

  // For a server with this maxmemory (0: no limit). A group is held in
  // memory while it is applied (its frames, about as much again in tables
  // and LevelDB's batch), so it is an eighth of maxmemory, between 8 and
  // 32 MB; the backlog is four groups; a heavy load fills group_bytes first.
  // The delay is two seconds: a key rewritten within a group costs LevelDB
  // one write (writes, with their flushes and compactions, are most of the
  // tier's CPU), and a longer delay would leave all of a short load's
  // groups to its end. LevelDB's lag costs no reads (memory holds what
  // LevelDB has not), and memory pressure, SCAN and full syncs wake the
  // applier at once. The figures behind the delay: docs/benchmarks.md.
  static ApplierLimits For(int64_t maxmemory);
};

class Applier : public wal::WalWriter::Observer {
 public:
  // Reads the segments in wal_dir from just after LevelDB's applied sequence.
  // on_synced(seq) runs after LevelDB made everything up to seq durable (after
  // a group, at most once a second): WAL segments before it may be deleted.
  Applier(DiskTier* disk, std::string wal_dir, std::function<void(uint64_t)> on_synced,
          ApplierLimits limits = {});
  ~Applier() override;  // applies what is written, syncs, stops

  void OnWritten(size_t bytes, uint64_t last_seq) override;
  void OnReset(uint64_t last_seq) override;

  // A replica's full sync replaces LevelDB and the log. Hold(seq) drops what
  // the applier has not applied and holds it until Release(), without
  // waiting: a group being applied stops at its next LevelDB write once
  // DiskTier::Wipe begins. After Release() it reads the log after seq.
  void Hold(uint64_t seq);
  void Release();

  // Waits until LevelDB holds seq; false when timeout_ms passed first, the
  // log was reset meanwhile (Hold, OnReset) or CancelWaits was called. With
  // timeout_ms 0 it only asks the applier to hurry, without taking a lock.
  bool WaitApplied(uint64_t seq, int64_t timeout_ms = -1);
  // Every WaitApplied from now on returns at once (shutdown: a checkpoint
  // waiting for a LevelDB that cannot be written must not hold it up).
  void CancelWaits();
  uint64_t applied_seq() const;
  uint64_t queued_bytes() const {  // in the log, not yet in LevelDB
    return backlog_bytes_.load(std::memory_order_relaxed);
  }
  // LevelDB is more than limits().max_backlog_bytes behind the log: writers
  // wait (see the dispatcher) until it is a group (at most half the bound)
  // under that. Wakes the applier.
  bool Overloaded();
  // Pacing, so that writers slow down smoothly rather than stop in bursts at
  // the bound (as RocksDB's delayed writes): while the backlog is under half
  // of the bound every write is admitted; above, writes are admitted at the
  // rate the applier has been applying, times a factor falling from 1 at half
  // the bound to 1/10 at the bound (a write goes while the bucket is not
  // empty and may take it below zero). False: wait a moment and ask again.
  // `bytes` estimates what the write adds to the log.
  bool AdmitWrite(size_t bytes);
  bool Pacing() const { return queued_bytes() > max_backlog_bytes() / 2; }
  // What the applier applied per second while busy (recent groups).
  double apply_rate() const { return apply_rate_.load(std::memory_order_relaxed); }
  ApplierLimits limits() const;
  // New group and backlog bounds (CONFIG SET maxmemory); the group delay
  // stays. Takes effect from the next group.
  void SetLimits(const ApplierLimits& limits);
  // Paused, the applier applies nothing until resumed (DEBUG SET-DISK-APPLY).
  void SetPaused(bool paused);
  // Frees the buffers the applier gave back when it went idle (called by the
  // upkeep thread every tick; see ReleaseBuffers). Those of small groups
  // (at most a quarter of group_bytes) are kept for longer than the gap
  // between two groups of a steady load (group_delay + 100 ms): under such a
  // load the next group takes them back instead of paying a page fault per
  // 4 KB of fresh buffers. Those of large groups (a bulk load) go at once.
  void FreeReleasedBuffers();
  bool holds_released_buffers() const;  // given back, not freed yet
  // Someone is about to wait for the applier (a snapshot, a sync): it runs
  // at its normal priority (nice 10) until its current group is done.
  void Boost();
  std::string error() const;
  bool healthy() const { return !has_error_.load(std::memory_order_relaxed); }

 private:
  // The memtable of a server that wrote nothing for this long is written
  // out (DiskTier::FlushMemtable) when it holds at least this much.
  static constexpr std::chrono::seconds kIdleFlushAfter{5};
  static constexpr uint64_t kIdleFlushMinBytes = 256 << 10;
  void Loop();
  // Reads and applies the records after pos_ up to target. False on an error
  // (recorded in error_; retried by the caller).
  bool CatchUp(uint64_t target, uint64_t wipes);
  // A group's buffers are tens of megabytes. When the applier goes idle it
  // hands them to FreeReleasedBuffers instead of freeing them itself:
  // freeing them unmaps them, which holds the process's memory-map lock, and
  // the applier runs at an idle priority: preempted inside the unmap, it
  // would hold up every thread that needs the lock (an I/O thread, a
  // replica's link growing its malloc arena) until it runs again.
  // ReclaimBuffers takes them back if the next group starts before they
  // were freed.
  void ReleaseBuffers();
  void ReclaimBuffers();
  void SetError(const std::string& message);
  // Asks the applier to apply now, without taking mu_ (the wake-up can be
  // lost to a race with its wait: it then starts at its next timeout).
  void Nudge();
  // Priority. A group nobody waits for, with the backlog under a quarter of
  // its bound, is applied at nice 19, so that LevelDB's work takes little
  // CPU from clients and the client processes beside the server. Anyone who
  // waits (Nudge), the backlog growing (pacing) and a snapshot (Boost) put
  // it back at nice 10 at once, so it is never starved by a saturating load.
  // Only where the kernel lets the thread go back to nice 10 (can_idle_);
  // elsewhere always nice 10. (Not SCHED_IDLE: see thread_name.h.)
  void SetIdle(bool idle);
  bool can_idle_ = false;
  std::atomic<pid_t> tid_{0};
  std::mutex prio_mu_;  // orders SetIdle(true) against Boost's SetIdle(false)
  std::atomic<bool> idle_{false};

  DiskTier* disk_;
  std::function<void(uint64_t)> on_synced_;
  // The limits (ApplierLimits): the bounds change with maxmemory.
  size_t group_bytes() const { return group_bytes_.load(std::memory_order_relaxed); }
  uint64_t max_backlog_bytes() const {
    return max_backlog_bytes_.load(std::memory_order_relaxed);
  }
  std::atomic<size_t> group_bytes_;
  std::atomic<uint64_t> max_backlog_bytes_;
  const std::chrono::milliseconds group_delay_;
  wal::WalCursor cursor_;    // the applier thread's only
  bool positioned_ = false;  // cursor_ is at pos_ (applier thread)
  // A group's frames and their payloads (applier thread; see ReleaseBuffers).
  std::string frames_;
  std::vector<std::string_view> payloads_;
  mutable std::mutex released_mu_;
  std::string released_frames_;                      // guarded by released_mu_
  std::vector<std::string_view> released_payloads_;  // guarded by released_mu_
  int64_t released_ns_ = 0;      // guarded by released_mu_: when (steady), 0: none
  bool released_small_ = false;  // guarded by released_mu_: kept a while
  size_t group_peak_ = 0;        // applier thread: largest group since the release

  mutable std::mutex mu_;
  std::condition_variable cv_;  // work (or stop)
  std::condition_variable applied_cv_;
  // Guarded by mu_ (pos_ is written by the applier thread only, so that
  // thread reads it without mu_).
  uint64_t pos_ = 0;    // LevelDB holds records up to here
  bool reset_ = false;  // the log was reset: go on from reset_seq_
  uint64_t reset_seq_ = 0;
  // Set by writers without mu_ (OnWritten, Nudge); the applier waits for
  // them on cv_ with a timeout.
  std::atomic<uint64_t> written_seq_{0};  // the segments hold records up to here
  std::atomic<bool> timing_{false};  // a group is being gathered since first_pending_ns_
  std::atomic<int64_t> first_pending_ns_{0};  // steady_clock
  std::atomic<uint64_t> pending_bytes_{0};    // written since the applier last took work
  std::atomic<bool> wake_{false};             // apply now
  std::atomic<uint64_t> backlog_bytes_{0};    // written, not yet applied
  // Bytes per second the applier applied while it was busy (an average over
  // recent groups), for AdmitWrite.
  std::atomic<double> apply_rate_{64.0 * (1 << 20)};
  std::mutex pace_mu_;
  // Guarded by pace_mu_: bytes that may be admitted, and when they were counted.
  double pace_tokens_ = 0;
  std::chrono::steady_clock::time_point pace_refill_;
  std::atomic<bool> overloaded_{false};
  bool stop_ = false;
  bool paused_ = false;
  bool held_ = false;    // Hold() .. Release()
  uint64_t resets_ = 0;  // Holds and OnResets: a wait from before gives up
  bool waits_cancelled_ = false;
  std::string error_;
  std::atomic<bool> has_error_{false};  // !error_.empty(), read without mu_
  std::thread thread_;
};

}  // namespace edgekv
