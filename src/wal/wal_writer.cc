#include "wal_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "edgekv/log.h"
#include "util/clock.h"
#include "util/latency_monitor.h"
#include "util/parse_uint.h"
#include "util/sync_dir.h"
#include "util/thread_name.h"

namespace edgekv::wal {

std::string SegmentName(uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu.wal",
                static_cast<unsigned long long>(first_seq));
  return buf;
}

std::vector<std::pair<uint64_t, std::string>> ListSegments(const std::string& dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() != 24 || name.substr(20) != ".wal") continue;
    uint64_t first;  // not a segment's name unless 20 digits of a uint64
    if (!ParseUint64(std::string_view(name).substr(0, 20), &first)) continue;
    out.emplace_back(first, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

WalWriter::WalWriter(WriterOptions options, uint64_t next_seq)
    : options_(std::move(options)),
      policy_(static_cast<int>(options_.fsync)),
      next_seq_(next_seq) {
  appended_seq_ = next_seq - 1;
  written_seq_ = next_seq - 1;
  synced_seq_ = next_seq - 1;
}

namespace {

// A segment that was open when the process died (kill -9, a machine crash)
// still has the blocks OpenSegment allocated ahead of its end (up to
// wal-segment-size): a truncation to its own size gives them back. Its
// modification time, which retention goes by, is kept.
void ReleaseAllocatedTail(const std::string& path, const struct stat& st) {
  const uint64_t block = st.st_blksize > 0 ? static_cast<uint64_t>(st.st_blksize) : 4096;
  const uint64_t in_use = (static_cast<uint64_t>(st.st_size) + block - 1) / block * block;
  // (Some slack: a block of metadata may be counted too.)
  if (static_cast<uint64_t>(st.st_blocks) * 512 <= in_use + (64u << 10)) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (::ftruncate(fd, st.st_size) == 0) {
    const struct timespec times[2] = {{0, UTIME_OMIT}, st.st_mtim};
    (void)::futimens(fd, times);
  }
  ::close(fd);
}

}  // namespace

StatusOr<std::unique_ptr<WalWriter>> WalWriter::Open(WriterOptions options,
                                                     uint64_t next_seq) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::IOError("can't create " + options.dir + ": " + ec.message());
  // The directory's own entry is durable before any record goes into it:
  // otherwise a power loss could take the whole log with it.
  Status synced = SyncDirAndParent(options.dir);
  if (!synced.ok()) return synced;
  std::unique_ptr<WalWriter> w(new WalWriter(options, next_seq));
  {
    MutexLock l(&w->mu_);
    for (auto& [seq, path] : ListSegments(options.dir)) {
      struct stat st;
      bool ok = ::stat(path.c_str(), &st) == 0;
      if (ok) ReleaseAllocatedTail(path, st);
      uint64_t bytes = ok ? static_cast<uint64_t>(st.st_size) : 0;
      int64_t mtime = ok ? static_cast<int64_t>(st.st_mtime) * 1000 : 0;
      w->segments_.push_back({seq, path, bytes, mtime});
    }
  }
  Status s = w->OpenSegment(next_seq);
  if (!s.ok()) return s;
  w->writer_ = std::thread([p = w.get()] { p->WriterLoop(); });
  w->fsyncer_ = std::thread([p = w.get()] { p->FsyncLoop(); });
  return w;
}

WalWriter::~WalWriter() {
  stop_ = true;
  Wake();
  WakeFsyncer();
  if (writer_.joinable()) writer_.join();
  if (fsyncer_.joinable()) fsyncer_.join();
  if (fd_ >= 0) {
    options_.sync(fd_);
    (void)::ftruncate(fd_, static_cast<off_t>(segment_size_.load()));
    ::close(fd_);
  }
}

// Caller holds write_mu_ (or is Open, before any other thread runs).
Status WalWriter::OpenSegment(uint64_t first_seq) {
  // The old segment is complete on disk before the new one exists: only the
  // last segment can be torn by a crash. After a pre-sync this flushes only
  // what was written since.
  const int old = fd_;
  if (old >= 0 && options_.sync(old) != 0) {
    // Not on disk: the records go on into this segment (a later switch
    // tries again) rather than leave a torn segment before another.
    int err = errno;
    NoteFsync(err);
    return Status::IOError(std::string("fsync of the full segment: ") +
                           std::strerror(err));
  }
  std::string path = options_.dir + "/" + SegmentName(first_seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  // The segment's blocks are allocated now, not as its pages are flushed:
  // on ext4 a flush that allocates holds the file's block map, and every
  // write() to the file waits for it (for up to the whole flush of a
  // second of records, reading block bitmaps from disk). The size stays
  // that of what is written (readers stop there). Best effort: where the
  // space is not there, whatever was allocated is given back.
  if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0,
                  static_cast<off_t>(options_.segment_bytes)) != 0) {
    (void)::ftruncate(fd, 0);
  }
  std::string header(kMagic, sizeof(kMagic));
  header.push_back(static_cast<char>(kVersion));
  header.push_back(0);
  PutFixed64(&header, first_seq);
  size_t off = 0;
  if (!WriteAll(fd, header, &off) || options_.sync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return Status::IOError("write " + path + ": " + std::strerror(err));
  }
  // The segment's name is durable before a record goes into it (a power
  // loss would otherwise take fsynced records with the name).
  if (Status synced = SyncDir(options_.dir); !synced.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return synced;
  }
  {
    MutexLock l(&fd_mu_);
    fd_ = fd;
  }
  if (old >= 0) {
    // Gives back the allocated blocks past what was written, if any.
    (void)::ftruncate(old, static_cast<off_t>(segment_size_.load()));
    ::close(old);  // the fsync thread syncs through its own dup
  }
  open_first_seq_ = first_seq;
  presync_asked_ = 0;
  presync_done_ = 0;
  switch_due_ = false;
  MutexLock l(&mu_);
  if (old >= 0 && !segments_.empty()) segments_.back().bytes = segment_size_.load();
  segment_size_ = header.size();
  segments_.push_back({first_seq, path, header.size(), WallMs()});
  return Status::Ok();
}

uint64_t WalWriter::Append(const BatchBuilder& batch, int64_t time_ms) {
  uint64_t seq;
  {
    MutexLock l(&mu_);
    seq = next_seq_++;
    if (pending_.empty()) pending_first_seq_ = seq;
    batch.AppendFrame(seq, time_ms, &pending_);
    pending_bytes_.store(pending_.size(), std::memory_order_relaxed);
    pending_last_seq_ = seq;
    appended_seq_.store(seq);  // seq_cst: see Unpark
  }
  // The command thread writes (and with always, fsyncs) the log itself when
  // it sends its replies (WriteUpTo); the writer thread is woken only by
  // waiters (WhenDurable), and otherwise passes by every few milliseconds
  // (or, parked while idle, is woken here).
  Unpark();
  return seq;
}

void WalWriter::Unpark() {
  // The writer stores parked_ before it reads appended_seq_ for the last
  // time; an appender stores appended_seq_ before it reads parked_ (both
  // seq_cst): either the writer sees the record and does not park, or the
  // appender sees it parked. Taking wake_mu_ (held by the writer from its
  // store of parked_ until it waits) makes the notification reach its wait.
  if (!parked_.load() || !parked_.exchange(false)) return;
  { MutexLock l(&wake_mu_); }
  wake_cv_.notify_one();
}

uint64_t WalWriter::DurableSeq() const {
  return policy() == FsyncPolicy::kAlways ? synced_seq_.load() : written_seq_.load();
}

bool WalWriter::IsDurable(uint64_t seq) const { return seq <= DurableSeq(); }

void WalWriter::Wake() {
  {
    MutexLock l(&wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_one();
}

void WalWriter::WhenDurable(uint64_t seq, std::function<void()> done) {
  bool queued = false;
  {
    MutexLock l(&mu_);
    if (seq > DurableSeq()) {
      waiters_.emplace(seq, std::move(done));
      have_waiters_ = true;
      queued = true;
    }
  }
  if (queued) {
    Wake();
  } else {
    done();
  }
}

void WalWriter::WaitDurable(uint64_t seq) {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  WhenDurable(seq, [&] {
    std::lock_guard<std::mutex> l(m);
    ready = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(m);
  cv.wait(l, [&] { return ready; });
}

bool WalWriter::WriteAll(int fd, const std::string& data, size_t* offset) {
  while (*offset < data.size()) {
    ssize_t n = ::write(fd, data.data() + *offset, data.size() - *offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    *offset += static_cast<size_t>(n);
  }
  return true;
}

void WalWriter::FireWaiters() {
  if (!have_waiters_.load()) return;
  std::vector<std::function<void()>> ready;
  {
    MutexLock l(&mu_);
    uint64_t durable = DurableSeq();
    auto end = waiters_.upper_bound(durable);
    for (auto it = waiters_.begin(); it != end; ++it)
      ready.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
    have_waiters_ = !waiters_.empty();
  }
  for (auto& f : ready) f();
}

// Writes what is pending (after any remainder of a failed write). Returns
// false if there was nothing to do, the write failed, or the next segment is
// due and the caller may not start it (the writer thread is woken for it).
// Caller holds write_mu_.
bool WalWriter::WriteOnce(bool may_rotate) {
  if (chunk_unsynced_) {
    if (policy() == FsyncPolicy::kAlways) return SyncChunk();
    chunk_unsynced_ = false;  // no longer always: written is enough
    PublishChunk();
    return true;
  }
  if (chunk_written_ == chunk_.size()) {
    chunk_.clear();
    chunk_written_ = 0;
    MutexLock l(&mu_);
    if (pending_.empty()) return false;
    chunk_.swap(pending_);
    pending_bytes_.store(0, std::memory_order_relaxed);
    chunk_first_ = pending_first_seq_;
    chunk_last_ = pending_last_seq_;
  }
  if (fd_ < 0) {
    // Reset could not start its segment: started now, with these records.
    Status s = OpenSegment(chunk_first_);
    if (!s.ok()) {
      NoteWriteError(std::string(s.message()));
      return false;
    }
  }
  if (chunk_written_ == 0 && segment_size_ >= options_.segment_bytes) {
    // The segment is full (see the top of wal_writer.h). Without always, the
    // next one starts once the fsync thread has flushed this one, and only
    // on the writer thread; records go on into this one meanwhile. Past
    // twice the size (the fsync thread is stuck), the writer thread starts
    // the next one anyway.
    const uint64_t open = open_first_seq_.load();
    const bool always = policy() == FsyncPolicy::kAlways;
    const bool presynced = presync_done_.load() == open;
    if (!always && !presynced && presync_asked_.load() != open) {
      presync_asked_ = open;
      WakeFsyncer();
    }
    if (always || presynced || segment_size_ >= 2 * options_.segment_bytes) {
      if (!may_rotate && !always) {
        switch_due_ = true;  // command threads leave the log to the writer now
        Wake();              // chunk_ stays for the writer thread
        return false;
      }
      Status s = OpenSegment(chunk_first_);
      if (!s.ok()) {
        Log(LogLevel::kWarning, "WAL: can't start a new segment: {}", s.message());
        // Written on into this one; the switch is tried again after the
        // next pre-sync. Command threads write for themselves meanwhile.
        presync_asked_ = 0;
        presync_done_ = 0;
        switch_due_ = false;
      }
    }
  }
  size_t before = chunk_written_;
  const bool timed = options_.latency != nullptr && options_.latency->enabled();
  const auto started =
      timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  bool ok = WriteAll(fd_, chunk_, &chunk_written_);
  if (timed) {  // as Redis reports its AOF writes
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
    options_.latency->Add(
        fsyncs_running_.load() > 0 ? "aof-write-pending-fsync" : "aof-write-alone", ms);
    options_.latency->Add("aof-write", ms);
  }
  segment_size_ += chunk_written_ - before;
  if (!ok) {
    NoteWriteError(std::strerror(errno));
    return false;
  }
  if (has_error_.exchange(false)) {
    Log(LogLevel::kNotice, "WAL: writes succeed again");
    MutexLock l(&mu_);
    error_.clear();
  }
  unsynced_bytes_ = chunk_.size() - before;
  if (policy() == FsyncPolicy::kAlways) {
    chunk_unsynced_ = true;
    return SyncChunk();
  }
  PublishChunk();
  return true;
}

// With always, the chunk is published (to the applier, the replicas and its
// waiters) only once fsynced; if the fsync fails, every later pass tries it
// again before writing anything else. Caller holds write_mu_.
//
// A failed fsync may leave the chunk's pages clean in the page cache without
// them being on disk (Linux reports a writeback error once and does not
// write those pages again), so a retry writes the chunk again, at the same
// offset, before it fsyncs: its success then means what it says.
bool WalWriter::SyncChunk() {
  if (chunk_retry_) {  // the chunk ends the segment: written again in place
    const off_t offset = static_cast<off_t>(segment_size_.load() - chunk_.size());
    size_t done = 0;
    if (::lseek(fd_, offset, SEEK_SET) != offset || !WriteAll(fd_, chunk_, &done)) {
      return false;  // tried again at the next pass
    }
  }
  int err = 0;
  {
    LatencyScope timed(options_.latency, "aof-fsync-always");
    err = options_.sync(fd_) == 0 ? 0 : errno;
  }
  NoteFsync(err);
  chunk_retry_ = err != 0;
  if (err != 0) return false;
  chunk_unsynced_ = false;
  synced_seq_ = chunk_last_;
  last_fsync_ms_ = WallMs();
  PublishChunk();
  return true;
}

void WalWriter::PublishChunk() {
  written_seq_ = chunk_last_;
  if (observer_ != nullptr) observer_->OnWritten(unsynced_bytes_, chunk_last_);
  chunk_written_ = chunk_.size();
  FireWaiters();
}

bool WalWriter::WriteUpTo(uint64_t seq) {
  if (DurableSeq() >= seq) return true;
  if (switch_due_.load() && policy() != FsyncPolicy::kAlways) {
    // The writer thread holds write_mu_ for the switch (fsyncs): do not
    // wait for it here; the caller's replies wait for it (WhenDurable).
    Wake();
    return false;
  }
  MutexLock w(&write_mu_);
  // Whoever wrote (and with always, fsynced) while this thread waited for
  // write_mu_ may have covered seq: group commit among command threads.
  while (DurableSeq() < seq) {
    if (!WriteOnce(/*may_rotate=*/false)) break;
  }
  if (DurableSeq() < seq && written_seq_.load() >= seq) SyncWritten();
  return DurableSeq() >= seq;
}

// With always: written records not yet fsynced (the policy changed at run
// time) are fsynced now. Caller holds write_mu_.
void WalWriter::SyncWritten() {
  if (policy() != FsyncPolicy::kAlways) return;
  uint64_t target = written_seq_.load();
  if (synced_seq_.load() >= target || fd_ < 0) return;
  int err = options_.sync(fd_) == 0 ? 0 : errno;
  NoteFsync(err);
  if (err == 0) {
    MarkSynced(target);
    FireWaiters();
  }
}

// Records up to `target` are on disk (never moves synced_seq_ back: another
// thread may have fsynced further meanwhile).
void WalWriter::MarkSynced(uint64_t target) {
  uint64_t cur = synced_seq_.load();
  while (cur < target && !synced_seq_.compare_exchange_weak(cur, target)) {
  }
  last_fsync_ms_ = WallMs();
}

bool WalWriter::TryWriteNow() {
  if (policy() == FsyncPolicy::kAlways)
    return false;  // fsyncs belong to the writer thread
  if (!write_mu_.native().try_lock()) return false;
  bool wrote = false;
  // Drain what others appended meanwhile too, a few rounds at most.
  for (int i = 0; i < 4 && WriteOnce(/*may_rotate=*/false); ++i) wrote = true;
  write_mu_.native().unlock();
  return wrote;
}

void WalWriter::WriterLoop() {
  SetThreadName("ekv-wal-write");
  uint64_t seen = 0;    // appended when this thread last passed by
  int idle_passes = 0;  // in a row: nothing appended, nothing left to write
  while (true) {
    bool woken;
    {
      // Command threads write (and with always, fsync) for themselves
      // (WriteUpTo). This thread passes by every few ms, or when someone
      // waits (WhenDurable) or a replica appends with always, so that nothing
      // stays unwritten. After kPassesBeforePark idle passes it parks: it
      // waits until the next append (Unpark) instead, or a second at most,
      // so that an idle server does not wake 200 times a second.
      std::unique_lock<std::mutex> l(wake_mu_.native());
      wake_mu_.AssertHeld();
      if (!wake_ && !stop_ && healthy()) {
        if (idle_passes >= kPassesBeforePark) {
          parked_.store(true);  // seq_cst: see Unpark
          if (appended_seq_.load() == seen &&
              wake_cv_.wait_for(l, std::chrono::seconds(1)) == std::cv_status::timeout &&
              appended_seq_.load() != seen && parked_.load()) {
            // A record appended meanwhile that did not wake it (Unpark
            // clears parked_ before it notifies): only the backstop did.
            missed_wakeups_.fetch_add(1, std::memory_order_relaxed);
          }
          parked_.store(false);  // parks again after this pass if still idle
        } else {
          wake_cv_.wait_for(l, std::chrono::milliseconds(5));
        }
      }
      woken = wake_;
      wake_ = false;
    }
    passes_.fetch_add(1, std::memory_order_relaxed);
    // Unless woken, write only what has waited since the last pass: what was
    // appended just now is written by its command thread in a moment.
    uint64_t target =
        woken || stop_ ? appended_seq_.load(std::memory_order_acquire) : seen;
    uint64_t before = seen;
    seen = appended_seq_.load(std::memory_order_acquire);
    bool idle = !woken && seen == before && written_seq_.load() >= seen &&
                !switch_due_.load() && healthy();
    idle_passes = idle ? idle_passes + 1 : 0;
    if (written_seq_.load() >= target && healthy()) {
      if (woken && synced_seq_.load() < written_seq_.load() &&
          policy() == FsyncPolicy::kAlways) {
        MutexLock w(&write_mu_);
        SyncWritten();
      }
      if (stop_) break;
      continue;  // nothing to write: no lock is touched
    }
    bool ok;
    {
      MutexLock w(&write_mu_);
      ok = WriteOnce(/*may_rotate=*/true);
    }
    if (!ok && !healthy()) {
      if (stop_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry
    }
  }
}

void WalWriter::WakeFsyncer() {
  {
    MutexLock l(&fsync_mu_);
    fsync_wake_ = true;
  }
  fsync_cv_.notify_one();
}

int WalWriter::DupFd() {
  MutexLock l(&fd_mu_);
  return fd_ >= 0 ? ::fcntl(fd_, F_DUPFD_CLOEXEC, 0) : -1;
}

// Every record up to written_seq_ read before DupFd is in the segment it
// duplicates or in an older one (fsynced in full when the next one started).
// A Reset meanwhile (a full sync) makes that target meaningless: not marked.
int WalWriter::SyncOpenSegment() {
  const uint64_t gen = reset_gen_.load();
  const uint64_t target = written_seq_.load();
  int fd = DupFd();
  if (fd < 0) return EBADF;
  fsyncs_running_.fetch_add(1);
  int err = options_.sync(fd) == 0 ? 0 : errno;
  fsyncs_running_.fetch_sub(1);
  ::close(fd);
  if (err == 0) {
    MutexLock l(&reset_mu_);
    if (reset_gen_.load() == gen) MarkSynced(target);
  }
  NoteFsync(err);
  return err;
}

void WalWriter::NoteWriteError(const std::string& err) {
  if (!has_error_.exchange(true)) {
    Log(LogLevel::kWarning, "WAL: write error, writes are refused until it clears: {}",
        err);
  }
  MutexLock l(&mu_);
  error_ = err;
}

void WalWriter::NoteFsync(int err) {
  if (err == EBADF || err == EINVAL) return;
  if (err == 0 && !has_fsync_error_.load()) return;  // the common case: no lock
  bool changed;
  {
    MutexLock l(&mu_);
    changed = has_fsync_error_.load() != (err != 0);
    fsync_error_ = err == 0 ? std::string() : std::strerror(err);
    has_fsync_error_ = err != 0;
  }
  if (!changed) return;
  if (err != 0) {
    Log(LogLevel::kWarning,
        "WAL: fsync error, writes are refused until an fsync succeeds: {}",
        std::strerror(err));
  } else {
    Log(LogLevel::kNotice, "WAL: fsync succeeds again, writes are accepted");
  }
}

void WalWriter::FsyncLoop() {
  SetThreadName("ekv-wal-fsync");
  while (!stop_) {
    {
      std::unique_lock<std::mutex> l(fsync_mu_.native());
      fsync_mu_.AssertHeld();
      if (!fsync_wake_ && !stop_) fsync_cv_.wait_for(l, std::chrono::milliseconds(100));
      fsync_wake_ = false;
    }
    if (stop_) break;
    const uint64_t asked = presync_asked_.load();
    if (asked != 0 && presync_done_.load() != asked) {
      if (asked == open_first_seq_.load() && SyncOpenSegment() == 0) {
        presync_done_ = asked;
        switch_due_ = true;  // command threads leave the log to the writer now
        Wake();              // the writer thread starts the next segment
      }
      continue;  // (not synced: tried again at the next pass)
    }
    if (has_fsync_error_.load()) {
      // Tried again whatever the policy (writes are refused meanwhile), even
      // with nothing new to sync: the error clears once one succeeds.
      if (SyncOpenSegment() == 0) FireWaiters();
      continue;
    }
    if (policy() != FsyncPolicy::kEverysec) continue;
    if (WallMs() - last_fsync_ms_.load() < 1000) continue;
    if (written_seq_.load() == synced_seq_.load()) {
      last_fsync_ms_ = WallMs();
      continue;
    }
    SyncOpenSegment();
  }
}

Status WalWriter::Sync() {
  WaitDurable(last_seq());
  if (int err = SyncOpenSegment(); err != 0)
    return Status::IOError(std::string("fsync: ") + std::strerror(err));
  return Status::Ok();
}

uint64_t WalWriter::last_seq() const {
  MutexLock l(&mu_);
  return next_seq_ - 1;
}

uint64_t WalWriter::TotalBytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) total += segments_[i].bytes;
  if (!segments_.empty()) total += segment_size_.load();
  return total;
}

WriterStats WalWriter::stats() const {
  WriterStats s;
  MutexLock l(&mu_);
  s.last_seq = next_seq_ - 1;
  s.written_seq = written_seq_.load();
  s.synced_seq = synced_seq_.load();
  s.last_fsync_ms = last_fsync_ms_.load();
  s.segments = segments_.size();
  s.bytes = TotalBytes();
  s.pending_bytes = pending_.size();
  s.writer_passes = passes_.load(std::memory_order_relaxed);
  s.writer_missed_wakeups = missed_wakeups_.load(std::memory_order_relaxed);
  s.writer_parked = parked_.load(std::memory_order_relaxed);
  s.error = error_.empty() ? fsync_error_ : error_;
  return s;
}

void WalWriter::SetRetention(uint64_t keep_bytes, int64_t keep_seconds,
                             std::function<uint64_t()> retain_floor) {
  MutexLock l(&mu_);
  keep_bytes_ = keep_bytes;
  keep_seconds_ = keep_seconds;
  retain_floor_ = std::move(retain_floor);
}

void WalWriter::PurgeUpTo(uint64_t seq) {
  MutexLock l(&mu_);
  if (retain_floor_) seq = std::min(seq, retain_floor_());
  const int64_t now = WallMs();
  uint64_t total = TotalBytes();
  // A segment's batches end just before the next segment's first sequence;
  // the last (open) segment is never purged.
  while (segments_.size() > 1 && segments_[1].first_seq - 1 <= seq) {
    const Segment& oldest = segments_.front();
    uint64_t rest = total - oldest.bytes;
    if (rest < keep_bytes_) break;  // needed to keep keep_bytes of history
    if (keep_seconds_ > 0 && now - oldest.created_ms < keep_seconds_ * 1000) break;
    ::unlink(oldest.path.c_str());
    total = rest;
    segments_.erase(segments_.begin());
  }
}

Status WalWriter::AppendRaw(std::string_view frame, uint64_t seq) {
  {
    MutexLock l(&mu_);
    if (seq < next_seq_) {
      return Status::InvalidArgument("sequence " + std::to_string(seq) +
                                     " does not follow " + std::to_string(next_seq_ - 1));
    }
    next_seq_ = seq + 1;
    if (pending_.empty()) pending_first_seq_ = seq;
    pending_.append(frame);
    pending_bytes_.store(pending_.size(), std::memory_order_relaxed);
    pending_last_seq_ = seq;
    appended_seq_.store(seq);  // seq_cst: see Unpark
  }
  if (policy() == FsyncPolicy::kAlways) Wake();
  Unpark();
  return Status::Ok();
}

Status WalWriter::Reset(uint64_t next_seq) {
  MutexLock w(&write_mu_);
  std::vector<Segment> old;
  {
    MutexLock l(&mu_);
    pending_.clear();
    pending_bytes_.store(0, std::memory_order_relaxed);
    old.swap(segments_);
    next_seq_ = next_seq;
    appended_seq_ = next_seq - 1;
  }
  chunk_.clear();
  chunk_written_ = 0;
  chunk_unsynced_ = false;
  chunk_retry_ = false;
  {
    MutexLock r(&reset_mu_);
    reset_gen_.fetch_add(1);
    written_seq_ = next_seq - 1;
    synced_seq_ = next_seq - 1;
  }
  // Old segments go first: the new one may have the same name. The open one
  // is closed without an fsync (its records are dropped), so that a failing
  // disk does not leave fd_ on a deleted file.
  for (auto& seg : old) ::unlink(seg.path.c_str());
  {
    MutexLock f(&fd_mu_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  segment_size_ = 0;
  Status s = OpenSegment(next_seq);
  if (observer_ != nullptr) observer_->OnReset(next_seq - 1);
  FireWaiters();
  return s;
}

}  // namespace edgekv::wal
