// Appends batches to the write-ahead log with group commit.
//
// Append() is called by command threads (with the stripes of the keys they
// changed still locked, so the log order matches the memory order of every
// key); it only copies bytes under a mutex and assigns the sequence number.
// Whoever writes (an I/O thread at the end of its event-loop pass, in
// WriteUpTo, or the writer thread for records nobody waits for) write()s
// everything appended so far in one go (and with appendfsync always,
// fdatasync()s it), then wakes the waiters whose batches are covered. So the
// records of many clients and of whole pipelines share one write and one
// fsync.
//
// Durability per policy (as Redis defines appendfsync):
//   always:   a waiter is woken after its batch is written and fdatasync()ed;
//   everysec: after it is written (survives kill -9); fsync once a second;
//   no:       after it is written; the kernel decides when to flush.
// If a write fails (disk full, I/O error), the bytes stay queued and are
// retried; waiters are not woken until they are written; error() reports the
// failure so that new writes can be refused with MISCONF. An fsync that fails
// does the same (as Redis does for its everysec fsync) until an fsync
// succeeds; the fsync thread tries again every 100 ms whatever the policy.
// With always, the records whose fsync failed are neither acknowledged nor
// handed on until a retry succeeds, and each retry writes them again first
// (Linux may drop the pages of a failed writeback). With everysec the
// records are acknowledged already: as in Redis, a machine crash after a
// failed fsync may lose more than a second of them.
//
// Segments. A segment is fdatasync()ed in full before the next one is
// created, so that after a machine crash only the last segment can be torn.
// That fsync would block whoever writes when the segment fills, for as long
// as the disk takes to flush up to a second of writes (tens of milliseconds
// under load: I/O threads, a replica's link). So no fsync of a full segment
// is done by the threads that write: once the segment reaches
// wal-segment-size, records go on into it while the fsync thread flushes it
// (the pre-sync, on a duplicate of the descriptor, holding no lock the
// writers need); then the writer thread alone starts the next segment, whose
// fdatasync of the old one covers only what came since. Command threads
// leave the records to the writer thread meanwhile (their replies wait for it
// as for any write they do not do themselves). With always, every write is
// fsynced already, and whoever writes starts the next segment at once.
#pragma once

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "edgekv/status.h"
#include "edgekv/thread_annotations.h"
#include "format/batch.h"

namespace edgekv {
class LatencyMonitor;
}

namespace edgekv::wal {

enum class FsyncPolicy { kAlways = 0, kEverysec = 1, kNo = 2 };

struct WriterOptions {
  std::string dir;  // the wal/ directory
  FsyncPolicy fsync = FsyncPolicy::kEverysec;
  uint64_t segment_bytes = 64ull << 20;
  // Flushes a segment's data to disk (0, or -1 with errno). Tests put a
  // failing one here; the integration tests fail fsync in a FUSE file system.
  int (*sync)(int fd) = ::fdatasync;
  // LATENCY's events (aof-write, aof-write-alone, aof-write-pending-fsync,
  // aof-fsync-always), if set.
  LatencyMonitor* latency = nullptr;
};

struct WriterStats {
  uint64_t last_seq = 0;     // last sequence assigned
  uint64_t written_seq = 0;  // last sequence written to the file
  uint64_t synced_seq = 0;   // last sequence known fsynced
  int64_t last_fsync_ms = 0;
  uint64_t segments = 0;
  uint64_t bytes = 0;          // bytes in all segments
  uint64_t pending_bytes = 0;  // appended, not yet written
  uint64_t writer_passes = 0;  // times the writer thread has woken up
  // Appends a parked writer thread slept through until its one-second
  // backstop (a lost wake-up: never expected).
  uint64_t writer_missed_wakeups = 0;
  bool writer_parked = false;  // idle: waits for the next append
  std::string error;           // empty when healthy
};

class WalWriter {
 public:
  // Starts a new segment at `next_seq` in options.dir (created if missing).
  static StatusOr<std::unique_ptr<WalWriter>> Open(WriterOptions options,
                                                   uint64_t next_seq);
  ~WalWriter();  // writes and syncs what is pending, then stops

  // Assigns the next sequence number to the batch and queues its frame.
  // Returns the sequence number. Thread-safe.
  uint64_t Append(const BatchBuilder& batch, int64_t time_ms) EXCLUDES(mu_);
  // Runs `done` once `seq` is durable per the policy, on the thread that
  // made it so (the writer or fsync thread, or a command thread writing for
  // itself: `done` must be quick), or at once on the caller's thread if it
  // already is.
  void WhenDurable(uint64_t seq, std::function<void()> done) EXCLUDES(mu_);
  // Blocks until `seq` is durable per the policy (tests, SAVE, shutdown).
  void WaitDurable(uint64_t seq) EXCLUDES(mu_);
  bool IsDurable(uint64_t seq) const;
  uint64_t durable_seq() const { return DurableSeq(); }
  // With everysec/no, lets a command thread write what is pending itself
  // (leader-style group commit: no hand-off to the writer thread). Returns
  // false if another thread is writing, or with appendfsync always.
  bool TryWriteNow();
  // Has the writer thread write what is pending now (for a thread that must
  // never block on the disk).
  void WriteSoon() { Wake(); }
  // Writes (with always: and fsyncs) what is pending until `seq` is durable,
  // waiting for a thread that is writing now rather than handing off to the
  // writer thread: a write() to the page cache is shorter than a wake-up, and
  // an fsync covers what every thread appended meanwhile (group commit).
  // Returns whether `seq` is durable; false on a write error (then
  // WhenDurable() waits for the writer thread's retries), and while the next
  // segment is due (the writer thread starts it; WhenDurable() waits for it).
  bool WriteUpTo(uint64_t seq);

  // Told of every write to the segments and of every Reset (the LevelDB
  // applier, which reads the records back with a WalCursor). Called with the
  // writer's lock held: it must be quick and must not block. Set before the
  // first Append.
  class Observer {
   public:
    virtual ~Observer() = default;
    // Records up to last_seq are in the segments; `bytes` more than before.
    virtual void OnWritten(size_t bytes, uint64_t last_seq) = 0;
    // The log was emptied; the next record has sequence last_seq + 1.
    virtual void OnReset(uint64_t last_seq) = 0;
  };
  void SetObserver(Observer* observer) { observer_ = observer; }

  void SetPolicy(FsyncPolicy p) { policy_.store(static_cast<int>(p)); }
  FsyncPolicy policy() const { return static_cast<FsyncPolicy>(policy_.load()); }
  bool healthy() const {
    return !has_error_.load(std::memory_order_relaxed) &&
           !has_fsync_error_.load(std::memory_order_relaxed);
  }
  // Bytes appended and not yet handed to write(): grows while the writer is
  // held up (a write error, a slow disk).
  uint64_t pending_bytes() const {
    return pending_bytes_.load(std::memory_order_relaxed);
  }
  WriterStats stats() const EXCLUDES(mu_);
  uint64_t last_seq() const EXCLUDES(mu_);

  // Appends a frame received from the coordinator, keeping its sequence
  // number (replicas mirror the coordinator's log). seq must follow the last.
  Status AppendRaw(std::string_view frame, uint64_t seq) EXCLUDES(mu_);
  // Drops every segment and starts anew at next_seq (a replica's full sync).
  Status Reset(uint64_t next_seq) EXCLUDES(mu_);

  // Deletes closed segments whose batches are all <= seq, except what the
  // retention rules keep for replicas: the newest `keep_bytes`, segments
  // younger than `keep_seconds`, and everything from retain_floor()+1 on.
  void PurgeUpTo(uint64_t seq) EXCLUDES(mu_);
  void SetRetention(uint64_t keep_bytes, int64_t keep_seconds,
                    std::function<uint64_t()> retain_floor) EXCLUDES(mu_);
  // Forces an fdatasync of what is written (SAVE, shutdown).
  Status Sync();

 private:
  explicit WalWriter(WriterOptions options, uint64_t next_seq);
  Status OpenSegment(uint64_t first_seq);
  void WriterLoop();
  // Idle passes (5 ms apart) before the writer thread parks.
  static constexpr int kPassesBeforePark = 20;
  // Wakes the writer thread if it is parked (after every append).
  void Unpark() EXCLUDES(wake_mu_);
  // may_rotate: the caller may start the next segment (the writer thread;
  // anyone with always).
  bool WriteOnce(bool may_rotate);
  bool SyncChunk();
  void PublishChunk();
  void FsyncLoop();
  void WakeFsyncer() EXCLUDES(fsync_mu_);
  // A descriptor of the open segment that stays valid however long an fsync
  // on it takes (the writers close theirs when they start the next one).
  int DupFd() EXCLUDES(fd_mu_);
  // fdatasyncs the open segment through DupFd and marks what was written
  // before it synced. Returns 0, or the error (errno).
  int SyncOpenSegment() EXCLUDES(fd_mu_, reset_mu_, mu_);
  // Records the outcome (0 or errno) of an fsync of a segment: a failure
  // refuses writes until one succeeds. EBADF and EINVAL (no segment open, a
  // descriptor that cannot sync) are not disk errors, as in Redis.
  void NoteFsync(int err) EXCLUDES(mu_);
  // Records a failed write (or segment start): writes are refused (error())
  // until a write succeeds.
  void NoteWriteError(const std::string& err) EXCLUDES(mu_);
  static bool WriteAll(int fd, const std::string& data, size_t* offset);
  void FireWaiters();
  void SyncWritten();
  void MarkSynced(uint64_t target);
  uint64_t DurableSeq() const;

  WriterOptions options_;
  std::atomic<int> policy_;

  mutable Mutex mu_;
  std::string pending_ GUARDED_BY(mu_);
  uint64_t next_seq_ GUARDED_BY(mu_);
  uint64_t pending_first_seq_ GUARDED_BY(mu_) = 0;
  uint64_t pending_last_seq_ GUARDED_BY(mu_) = 0;
  std::multimap<uint64_t, std::function<void()>> waiters_ GUARDED_BY(mu_);
  std::atomic<bool> have_waiters_{false};  // !waiters_.empty(), read without mu_
  std::atomic<bool> stop_{false};
  // The writer thread sleeps on wake_cv_ (its own mutex: command threads
  // appending under mu_ never contend with its wake-ups).
  void Wake() EXCLUDES(wake_mu_);
  Mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ GUARDED_BY(wake_mu_) = false;   // the writer thread has work now
  std::atomic<bool> parked_{false};          // it waits for the next append
  std::atomic<uint64_t> passes_{0};          // its wake-ups (stats)
  std::atomic<uint64_t> missed_wakeups_{0};  // parked through an append (stats)
  std::string error_ GUARDED_BY(mu_);        // of the last write
  std::string fsync_error_ GUARDED_BY(mu_);  // of the last fsync
  struct Segment {
    uint64_t first_seq;
    std::string path;
    uint64_t bytes;  // the open (last) segment's: see segment_size_
    int64_t created_ms = 0;
  };
  std::vector<Segment> segments_ GUARDED_BY(mu_);
  uint64_t TotalBytes() const REQUIRES(mu_);
  uint64_t keep_bytes_ GUARDED_BY(mu_) = 0;
  int64_t keep_seconds_ GUARDED_BY(mu_) = 0;
  std::function<uint64_t()> retain_floor_ GUARDED_BY(mu_);

  // Whoever writes holds write_mu_ (the writer thread, or a command thread in
  // TryWriteNow/WriteUpTo); fd_ changes under both write_mu_ and fd_mu_, and
  // the fsync thread reads it (DupFd) under fd_mu_ alone.
  Mutex write_mu_;
  Mutex fd_mu_;
  int fd_ = -1;
  std::atomic<uint64_t> segment_size_{0};    // bytes in the open segment
  std::atomic<uint64_t> open_first_seq_{0};  // the open segment's name
  // Pre-sync of a full segment (see the top): asked for by whoever finds it
  // full (its first sequence, 0 if none), done by the fsync thread.
  std::atomic<uint64_t> presync_asked_{0};
  std::atomic<uint64_t> presync_done_{0};
  // The open segment is full and flushed: only the writer thread writes
  // until it has started the next one (WriteUpTo does not wait for it).
  std::atomic<bool> switch_due_{false};
  // Reset() (a replica's full sync) moves the sequences back; counted so
  // that an fsync begun before it does not mark the new ones synced.
  Mutex reset_mu_;
  std::atomic<uint64_t> reset_gen_{0};
  Mutex fsync_mu_;
  std::condition_variable fsync_cv_;
  bool fsync_wake_ GUARDED_BY(fsync_mu_) = false;
  std::string chunk_;  // being written; a failed write's rest stays here
  size_t chunk_written_ = 0;
  // With always: chunk_ is written but its fsync failed (SyncChunk).
  bool chunk_unsynced_ = false;
  bool chunk_retry_ = false;   // its fsync failed: written again before the next
  size_t unsynced_bytes_ = 0;  // written by the last pass, for the observer
  uint64_t chunk_first_ = 0, chunk_last_ = 0;

  std::atomic<uint64_t> pending_bytes_{0};
  std::atomic<uint64_t> appended_seq_{0};  // last sequence in pending_ or written
  std::atomic<uint64_t> written_seq_{0};
  std::atomic<uint64_t> synced_seq_{0};
  std::atomic<int64_t> last_fsync_ms_{0};
  std::atomic<bool> has_error_{false};
  std::atomic<bool> has_fsync_error_{false};  // set and cleared under mu_
  // fsyncs of the open segment running now (the fsync thread's, SAVE's):
  // LATENCY tells a write that waited behind one (aof-write-pending-fsync).
  std::atomic<int> fsyncs_running_{0};
  Observer* observer_ = nullptr;

  std::thread writer_;
  std::thread fsyncer_;
};

// Lists "<first seq>.wal" segments in dir, sorted by first sequence.
std::vector<std::pair<uint64_t, std::string>> ListSegments(const std::string& dir);
std::string SegmentName(uint64_t first_seq);

}  // namespace edgekv::wal
