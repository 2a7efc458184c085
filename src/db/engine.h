// The persistent engine under the memory table: the directory lock, LevelDB
// (DiskTier), the write-ahead log (WalWriter + Journal) and the applier that
// feeds the log into LevelDB. Open() recovers: it replays the log after the
// last sequence LevelDB holds, then attaches everything to the store.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "db/applier.h"
#include "edgekv/status.h"
#include "edgekv/store.h"
#include "storage/disk_tier.h"
#include "wal/journal.h"
#include "wal/wal_writer.h"

namespace edgekv {

class Replication;

struct EngineOptions {
  std::string dir;  // holds edgekv.lock, wal/ and data/
  int databases = 16;
  wal::FsyncPolicy fsync = wal::FsyncPolicy::kEverysec;
  bool wal_repair = false;
  uint64_t segment_bytes = 64ull << 20;
  size_t block_cache_bytes = 8 << 20;
  size_t write_buffer_bytes = 4 << 20;  // see WriteBufferFor()
  ApplierLimits apply_limits;           // see ApplierLimits::For()
  // Replication: WAL retention for catch-up, and where the history ids live.
  uint64_t retain_bytes = 256ull << 20;
  int64_t retain_seconds = 3600;
  Replication* replication = nullptr;
  LatencyMonitor* latency = nullptr;  // the WAL's LATENCY events
};

// LevelDB's memtable size for a server with this maxmemory (0: no limit).
// Every flushed memtable is compacted with the tables under it, so a larger
// one costs less compaction per write (a 32 MB memtable needs about half the
// compaction CPU of a 4 MB one under a steady SET load, and replays after a
// kill -9 stall less on compactions). But up to two of them stay resident
// outside maxmemory (a 32 MB one adds 30-60 bytes per key to a million small
// keys), and an open reads LevelDB's log of up to one memtable back (about
// 0.3 s for 32 MB). So: 4 MB, unless maxmemory says the server has memory to
// spare, then a 64th of it, up to 32 MB.
size_t WriteBufferFor(int64_t maxmemory);

struct RecoveryInfo {
  uint64_t applied_before = 0;  // LevelDB's sequence at start
  uint64_t replayed = 0;        // batches replayed from the log
  uint64_t last_seq = 0;
  std::string note;  // torn tail / repair, if any
  int64_t millis = 0;
};

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options,
                                                Store* store);
  ~Engine();

  wal::WalWriter& wal() { return *wal_; }
  DiskTier& disk() { return *disk_; }
  Applier& applier() { return *applier_; }
  const RecoveryInfo& recovery() const { return recovery_; }
  std::string wal_dir() const { return options_.dir + "/wal"; }

  // SAVE: everything written, fsynced, applied to LevelDB and synced there.
  Status Checkpoint();
  // BGSAVE: Checkpoint() on a thread the engine owns, one at a time (as
  // Redis runs one child). Returns false when one is running already; an
  // error when no thread can be started. The destructor waits for it.
  StatusOr<bool> StartBackgroundCheckpoint();
  bool background_checkpoint_running() const { return bg_running_.load(); }
  int64_t last_save_ms() const { return last_save_ms_.load(); }
  // Writes are refused (MISCONF) while this is non-empty.
  std::string PersistenceError() const;
  // Persists the replication ids (LevelDB meta).
  void SaveReplicationIds();
  // A replica's full sync in progress: from before its wipe until its
  // snapshot is whole, the data is incomplete and must not be served, across
  // restarts too (a file in dir, made durable).
  Status MarkSyncIncomplete(bool incomplete);
  bool sync_incomplete() const;
  std::string InfoPersistence() const;

 private:
  Engine() = default;
  Status Lock(const std::string& dir);
  std::string SyncMarkPath() const;

  EngineOptions options_;
  Store* store_ = nullptr;
  int lock_fd_ = -1;
  std::unique_ptr<DiskTier> disk_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<wal::WalWriter> wal_;
  // What the applier's callback purges (on the applier thread); cleared
  // before wal_ is destroyed.
  Mutex purge_mu_;
  wal::WalWriter* purge_wal_ GUARDED_BY(purge_mu_) = nullptr;
  std::unique_ptr<wal::Journal> journal_;
  RecoveryInfo recovery_;
  std::atomic<int64_t> last_save_ms_{0};
  // The background checkpoint: started by a command thread, joined by the
  // next start or by the destructor before anything it uses is destroyed.
  Mutex bg_mu_;
  std::thread bg_thread_ GUARDED_BY(bg_mu_);
  std::atomic<bool> bg_running_{false};
};

}  // namespace edgekv
