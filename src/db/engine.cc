#include "db/engine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "edgekv/log.h"
#include "replication/replication.h"
#include "util/clock.h"
#include "util/parse_uint.h"
#include "util/sync_dir.h"
#include "util/thread_name.h"
#include "wal/wal_reader.h"

namespace edgekv {
Status Engine::Lock(const std::string& dir) {
  std::string path = dir + "/edgekv.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("can't open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::IOError("another edgekv-server (pid " + pid + ") is using dir '" +
                           dir + "'; refusing to start");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    Log(LogLevel::kWarning, "can't write pid to {}", path);
  }
  lock_fd_ = fd;
  return Status::Ok();
}

StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options,
                                               Store* store) {
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Engine> e(new Engine());
  e->options_ = options;
  e->store_ = store;
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    return Status::IOError("can't create dir '" + options.dir + "': " + ec.message());
  Status s = e->Lock(options.dir);
  if (!s.ok()) return s;
  // The directory may be new (the server creates a missing one): its name
  // is made durable before anything in it counts on it. (Best effort for
  // the parent: one the server may not read, mode 0711, cannot be synced by
  // it, and was not written by it either.)
  s = wal::SyncDir(options.dir);
  if (!s.ok()) return s;
  (void)wal::SyncDir(wal::ParentDir(options.dir));

  DiskOptions dopt;
  dopt.path = options.dir + "/data";
  dopt.databases = options.databases;
  dopt.block_cache_bytes = options.block_cache_bytes;
  dopt.write_buffer_bytes = options.write_buffer_bytes;
  auto disk = DiskTier::Open(dopt);
  if (!disk.ok()) return Status::IOError("LevelDB: " + disk.status().message());
  e->disk_ = std::move(disk.value());

  // Replay the log after what LevelDB already holds.
  const std::string wal_dir = options.dir + "/wal";
  e->recovery_.applied_before = e->disk_->applied_seq();
  wal::ReplayOptions ro;
  ro.after_seq = e->disk_->applied_seq();
  ro.repair = options.wal_repair;
  wal::ReplayResult rr;
  std::vector<std::string> group;
  size_t group_bytes = 0;
  DiskTier* dt = e->disk_.get();
  auto flush_group = [&]() -> Status {
    std::vector<std::string_view> views(group.begin(), group.end());
    Status a = dt->Apply(views);
    group.clear();
    group_bytes = 0;
    return a;
  };
  std::filesystem::create_directories(wal_dir, ec);
  s = wal::Replay(
      wal_dir, ro,
      [&](uint64_t, std::string_view payload) -> Status {
        group.emplace_back(payload);
        group_bytes += payload.size();
        if (group_bytes >= options.apply_limits.group_bytes) return flush_group();
        return Status::Ok();
      },
      &rr);
  if (!s.ok()) return s;
  if (!group.empty()) {
    s = flush_group();
    if (!s.ok()) return s;
  }
  Status synced = e->disk_->Sync();
  if (!synced.ok()) return synced;
  s = e->disk_->EndRecovery();
  if (!s.ok()) return Status::IOError("LevelDB: " + s.message());
  e->recovery_.replayed = rr.batches;
  e->recovery_.note = rr.note;
  e->recovery_.last_seq = std::max(rr.last_seq, e->disk_->applied_seq());
  if (!rr.note.empty()) Log(LogLevel::kWarning, "WAL recovery: {}", rr.note);

  Engine* raw = e.get();
  e->applier_ = std::make_unique<Applier>(
      e->disk_.get(), wal_dir,
      [raw](uint64_t seq) {
        MutexLock l(&raw->purge_mu_);
        if (raw->purge_wal_ != nullptr) raw->purge_wal_->PurgeUpTo(seq);
      },
      options.apply_limits);
  wal::WriterOptions wo;
  wo.dir = wal_dir;
  wo.fsync = options.fsync;
  wo.segment_bytes = options.segment_bytes;
  wo.latency = options.latency;
  auto w = wal::WalWriter::Open(wo, e->recovery_.last_seq + 1);
  if (!w.ok()) return w.status();
  e->wal_ = std::move(w.value());
  e->wal_->SetObserver(e->applier_.get());
  {
    MutexLock l(&e->purge_mu_);
    e->purge_wal_ = e->wal_.get();
  }

  if (Replication* repl = options.replication) {
    // The history ids: a new server starts a new history.
    std::string id = e->disk_->GetMeta("replid");
    std::string id2 = e->disk_->GetMeta("replid2");
    std::string off = e->disk_->GetMeta("replid2_offset");
    if (id.empty()) id = NewReplicationId();
    uint64_t offset = 0;  // unreadable: the second id is then unusable
    if (!off.empty() && !ParseUint64(off, &offset)) {
      id2.clear();
      offset = 0;
    }
    repl->SetIds(id, id2, offset);
    // After a crash or a power loss a coordinator's log may end before
    // records it had sent to replicas (with appendfsync everysec, records
    // leave once written, not fsynced), and it would give their sequence
    // numbers to new writes: a replica holding the lost ones would continue
    // as if they were the new ones. So an unclean stop starts a new
    // history at what was recovered; replicas at or before it continue
    // (replid2), a replica past it gets a full sync. A replica's own log is
    // the coordinator's history: it keeps its ids.
    const std::string clean_stop = e->disk_->GetMeta("clean_stop");
    const bool fresh = e->disk_->GetMeta("replid").empty();
    // Cleared until the next clean stop; if it cannot be, a later crash
    // could look clean: this start counts as unclean then.
    const bool cleared = e->disk_->PutMeta("clean_stop", "").ok();
    if (!fresh && !repl->is_replica() &&
        (!cleared || clean_stop != std::to_string(e->recovery_.last_seq))) {
      repl->NewHistory(e->recovery_.last_seq);
      Log(LogLevel::kNotice,
          "Not stopped cleanly: a new replication history from seq {}; replicas "
          "past it get a full sync",
          e->recovery_.last_seq);
    }
    e->SaveReplicationIds();
    e->wal_->SetRetention(options.retain_bytes, options.retain_seconds,
                          [repl] { return repl->MinNeeded(UINT64_MAX); });
  }
  // Everything replayed is in LevelDB and synced: older segments can go,
  // except what retention keeps for replicas.
  e->wal_->PurgeUpTo(e->recovery_.last_seq);
  e->journal_ = std::make_unique<wal::Journal>(e->wal_.get(), store);
  wal::WalWriter* wp = e->wal_.get();
  Applier* ap = e->applier_.get();
  store->AttachDisk(
      e->disk_.get(), [wp] { return wp->last_seq(); },
      [ap](uint64_t seq) {
        // Bounded: with a failing disk, SCAN still answers
        // from what LevelDB has.
        ap->WaitApplied(seq, 2000);
      });
  store->set_listener(e->journal_.get());
  e->recovery_.millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
  e->last_save_ms_ = WallMs();
  return e;
}

Engine::~Engine() {
  {
    // A background checkpoint waits for the applier, which may never get
    // there (paused by DEBUG SET-DISK-APPLY 0, or LevelDB failing to write):
    // it gives up now. Shutdown applies and syncs everything anyway, below.
    // (No applier yet when Open failed before it.)
    if (applier_ != nullptr) applier_->CancelWaits();
    MutexLock l(&bg_mu_);
    if (bg_thread_.joinable()) bg_thread_.join();
  }
  if (store_ != nullptr) store_->set_listener(nullptr);
  {
    MutexLock l(&purge_mu_);
    purge_wal_ = nullptr;
  }
  // A clean stop: everything the log holds is synced (below). The next
  // start sees it and keeps the replication history (see Open).
  const bool clean = wal_ != nullptr && wal_->healthy();
  const uint64_t last_seq = wal_ != nullptr ? wal_->last_seq() : 0;
  wal_.reset();      // writes and syncs what is pending, hands it to the applier
  applier_.reset();  // applies everything queued, syncs LevelDB
  journal_.reset();
  if (clean && disk_ != nullptr)
    (void)disk_->PutMeta("clean_stop", std::to_string(last_seq));
  disk_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Engine::Checkpoint() {
  Status s = wal_->Sync();
  if (!s.ok()) return s;
  if (!applier_->WaitApplied(wal_->last_seq())) {
    return Status::IOError(
        "the checkpoint was given up (shutdown, or the log was reset)");
  }
  s = disk_->Sync();
  if (!s.ok()) return s;
  wal_->PurgeUpTo(disk_->applied_seq());
  last_save_ms_ = WallMs();
  return Status::Ok();
}

StatusOr<bool> Engine::StartBackgroundCheckpoint() {
  MutexLock l(&bg_mu_);
  if (bg_running_.exchange(true)) return false;
  if (bg_thread_.joinable()) bg_thread_.join();  // the last one, finished
  try {
    bg_thread_ = std::thread([this] {
      SetThreadName("ekv-bgsave");
      Status s = Checkpoint();
      if (!s.ok()) Log(LogLevel::kWarning, "Background saving error: {}", s.message());
      bg_running_.store(false);
    });
  } catch (const std::system_error& e) {
    bg_running_.store(false);
    return Status::IOError(std::string("can't start a background checkpoint: ") +
                           e.what());
  }
  return true;
}

// A file beside data/, not in LevelDB: a full sync destroys LevelDB first
// thing, and the mark must be there before that.
std::string Engine::SyncMarkPath() const {
  return options_.dir + "/full-sync-incomplete";
}

Status Engine::MarkSyncIncomplete(bool incomplete) {
  const std::string path = SyncMarkPath();
  if (incomplete) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return Status::IOError("can't create " + path + ": " + std::strerror(errno));
    ::close(fd);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError("can't remove " + path + ": " + std::strerror(errno));
  }
  return wal::SyncDir(options_.dir);
}

bool Engine::sync_incomplete() const {
  return ::access(SyncMarkPath().c_str(), F_OK) == 0;
}

void Engine::SaveReplicationIds() {
  Replication* repl = options_.replication;
  if (repl == nullptr) return;
  Status s = disk_->PutMeta("replid", repl->replid());
  if (s.ok()) s = disk_->PutMeta("replid2", repl->replid2());
  if (s.ok()) s = disk_->PutMeta("replid2_offset", std::to_string(repl->second_offset()));
  if (!s.ok()) Log(LogLevel::kWarning, "can't save replication ids: {}", s.message());
}

std::string Engine::PersistenceError() const {
  if (wal_->healthy() && applier_->healthy()) return {};  // the common case: no lock
  auto st = wal_->stats();
  if (!st.error.empty()) return "Errors writing to the AOF file: " + st.error;
  std::string ae = applier_->error();
  if (!ae.empty()) return "Errors writing to LevelDB: " + ae;
  return {};
}

std::string Engine::InfoPersistence() const {
  auto st = wal_->stats();
  std::string out;
  auto field = [&](const std::string& k, const std::string& v) {
    out += k + ":" + v + "\r\n";
  };
  auto num = [&](const std::string& k, int64_t v) { field(k, std::to_string(v)); };
  static const char* kPolicies[] = {"always", "everysec", "no"};
  num("aof_enabled", 1);
  num("aof_rewrite_in_progress", 0);
  num("aof_rewrite_scheduled", 0);
  field("aof_last_write_status", st.error.empty() ? "ok" : "err");
  field("aof_last_bgrewrite_status", "ok");
  num("aof_current_size", static_cast<int64_t>(st.bytes));
  num("aof_pending_bio_fsync", 0);
  num("aof_delayed_fsync", 0);
  field("wal_fsync_policy", kPolicies[static_cast<int>(wal_->policy())]);
  num("wal_segments", static_cast<int64_t>(st.segments));
  num("wal_bytes", static_cast<int64_t>(st.bytes));
  num("wal_pending_bytes", static_cast<int64_t>(st.pending_bytes));
  num("wal_last_seq", static_cast<int64_t>(st.last_seq));
  num("wal_written_seq", static_cast<int64_t>(st.written_seq));
  num("wal_synced_seq", static_cast<int64_t>(st.synced_seq));
  num("wal_last_fsync_ms", st.last_fsync_ms);
  num("disk_applied_seq", static_cast<int64_t>(disk_->applied_seq()));
  num("disk_apply_queue_bytes", static_cast<int64_t>(applier_->queued_bytes()));
  // Past half of the limit writers are paced to LevelDB's rate, past all of
  // it they wait (Applier::AdmitWrite, Overloaded).
  num("disk_apply_queue_limit_bytes",
      static_cast<int64_t>(applier_->limits().max_backlog_bytes));
  num("disk_writes_paced", applier_->Pacing() ? 1 : 0);
  num("disk_apply_rate_bytes_per_sec", static_cast<int64_t>(applier_->apply_rate()));
  num("disk_bytes", static_cast<int64_t>(disk_->ApproximateBytes()));
  num("disk_memtable_bytes", static_cast<int64_t>(disk_->MemtableBytes()));
  num("disk_idle_memtable_flushes", static_cast<int64_t>(disk_->memtable_flushes()));
  num("recovery_replayed_batches", static_cast<int64_t>(recovery_.replayed));
  num("recovery_millis", recovery_.millis);
  num("rdb_last_save_time", last_save_ms_.load() / 1000);
  field("rdb_last_bgsave_status", "ok");
  return out;
}

size_t WriteBufferFor(int64_t maxmemory) {
  constexpr int64_t kMin = 4 << 20, kMax = 32 << 20;
  if (maxmemory <= 0) return kMin;
  return static_cast<size_t>(std::clamp(maxmemory / 64, kMin, kMax));
}

}  // namespace edgekv
