#include "disk_tier.h"

#include <fcntl.h>
#include <isa-l/crc.h>
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "disk_format.h"
#include "edgekv/log.h"
#include "format/batch.h"
#include "last_writes.h"
#include "types/zset_value.h"
#include "util/malloc_arena.h"
#include "util/sync_dir.h"
#include "util/thread_name.h"

namespace edgekv {
namespace {

using disk::GetBE32;
using disk::PutBE32;

std::string Prefix(char tag, uint32_t ns) {
  std::string k(1, tag);
  PutBE32(&k, ns);
  return k;
}

std::string EncodeCounts(const KeyspaceCounts& c) {
  std::string v;
  wal::PutFixed64(&v, c.keys);
  wal::PutFixed64(&v, c.expires);
  return v;
}

Status FromLevelDb(const leveldb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IOError(s.ToString());
}

// LevelDB's default Env maps table files into memory (up to 1000 of them),
// which shows up as process RSS for every table page ever read. edgekv's
// memory budget is its own table plus the block cache, so tables are read
// with pread() instead: what stays in memory is what the cache keeps.
//
// It also checks what LevelDB trusts without checking, unless paranoid_checks
// is on (which would also make LevelDB's own log stricter at recovery): a
// table's footer, and the checksums of the index and metaindex blocks the
// footer points to. LevelDB allocates a block before it reads it, at the size
// its handle says: a footer corrupted on disk to a size of terabytes would
// throw std::bad_alloc and end the process, and so would a corrupted handle of
// a data block in the index (or of the filter block in the metaindex). With
// those two blocks checked, every handle LevelDB follows was written by it.
class PreadFile : public leveldb::RandomAccessFile {
 public:
  PreadFile(std::string name, int fd, uint64_t size)
      : name_(std::move(name)), fd_(fd), size_(size) {}
  ~PreadFile() override { ::close(fd_); }
  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    ssize_t r = ::pread(fd_, scratch, n, static_cast<off_t>(offset));
    *result = leveldb::Slice(scratch, r < 0 ? 0 : static_cast<size_t>(r));
    if (r < 0) return leveldb::Status::IOError(name_, std::strerror(errno));
    if (static_cast<size_t>(r) != n) return leveldb::Status::OK();  // LevelDB's to judge
    if (n == kFooterSize && offset + n == size_) {
      if (!FooterFits(scratch)) {
        return leveldb::Status::Corruption(name_, "table footer points past the file");
      }
    } else if (IsFooterBlock(offset, n) && !ChecksumOk(scratch, n)) {
      return leveldb::Status::Corruption(name_, "index block checksum mismatch");
    }
    return leveldb::Status::OK();
  }

 private:
  // LevelDB's table footer (table_format.md): the metaindex and index block
  // handles (two varint64s each: offset, size), padding, an 8-byte magic.
  static constexpr size_t kFooterSize = 48;
  static constexpr size_t kBlockTrailerSize = 5;  // type byte + crc32

  static bool GetVarint64(const char** p, const char* end, uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
      uint64_t byte = static_cast<unsigned char>(*(*p)++);
      *v |= (byte & 0x7f) << shift;
      if (byte < 0x80) return true;
    }
    return false;
  }

  // Both handles are whole varints and end inside the file, before the footer.
  // Remembers them (IsFooterBlock).
  bool FooterFits(const char* footer) const {
    const char* p = footer;
    const char* end = footer + kFooterSize - 8;
    const uint64_t room = size_ - kFooterSize;
    for (int i = 0; i < 2; ++i) {
      uint64_t off, len;
      if (!GetVarint64(&p, end, &off) || !GetVarint64(&p, end, &len)) return false;
      if (off > room || len > room - off || kBlockTrailerSize > room - off - len) {
        return false;
      }
      handles_[i][0].store(off, std::memory_order_relaxed);
      handles_[i][1].store(len + kBlockTrailerSize, std::memory_order_relaxed);
    }
    return true;
  }

  // The read of a whole block (with its trailer) the footer points to.
  bool IsFooterBlock(uint64_t offset, size_t n) const {
    for (const auto& h : handles_) {
      if (h[1].load(std::memory_order_relaxed) == n &&
          h[0].load(std::memory_order_relaxed) == offset) {
        return true;
      }
    }
    return false;
  }

  // A block's trailer: a type byte, then the masked CRC-32C of the contents
  // and the type byte (LevelDB's table_format.md, crc32c.h).
  static bool ChecksumOk(const char* block, size_t n) {
    const size_t body = n - kBlockTrailerSize + 1;
    uint32_t stored = 0;
    for (int i = 3; i >= 0; --i) {
      stored = (stored << 8) |
               static_cast<unsigned char>(block[body + static_cast<size_t>(i)]);
    }
    const uint32_t rot = stored - 0xa282ead8u;
    const uint32_t want = (rot >> 17) | (rot << 15);
    const uint32_t got =
        crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(block)),
                    static_cast<int>(body), 0xFFFFFFFFu) ^
        0xFFFFFFFFu;
    return got == want;
  }

  std::string name_;
  int fd_;
  uint64_t size_;
  // The metaindex and index handles from the footer: offset, size with the
  // trailer (0 until the footer is read).
  mutable std::atomic<uint64_t> handles_[2][2] = {};
};

class PreadEnv : public leveldb::EnvWrapper {
 public:
  PreadEnv() : leveldb::EnvWrapper(leveldb::Env::Default()) {}
  leveldb::Status NewRandomAccessFile(const std::string& f,
                                      leveldb::RandomAccessFile** r) override {
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *r = nullptr;
      return errno == ENOENT ? leveldb::Status::NotFound(f, std::strerror(errno))
                             : leveldb::Status::IOError(f, std::strerror(errno));
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      *r = nullptr;
      return leveldb::Status::IOError(f, std::strerror(err));
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);  // point reads: no readahead
    *r = new PreadFile(f, fd, static_cast<uint64_t>(st.st_size));
    return leveldb::Status::OK();
  }
  // LevelDB's compactions run on the thread that runs these: named, and at
  // background priority.
  void Schedule(void (*fn)(void*), void* arg) override {
    target()->Schedule(&Background, new Task{fn, arg});
  }

 private:
  struct Task {
    void (*fn)(void*);
    void* arg;
  };
  static void Background(void* p) {
    thread_local bool set_up = false;
    if (!set_up) {
      SetThreadName("ekv-compact");
      ReserveMallocArena(kArenaReserve);
      LowestThreadPriority();
      set_up = true;
    }
    Task t = *static_cast<Task*>(p);
    delete static_cast<Task*>(p);
    t.fn(t.arg);
  }
};

leveldb::Env* TableEnv() {
  static PreadEnv* env = new PreadEnv();  // lives as long as the process
  return env;
}

const char kAppliedKey[] = "mapplied";
const char kNsMapKey[] = "mnsmap";
const char kFormatKey[] = "mformat";
const char kVersionKey[] = "mversion";
const char kConvertAtKey[] = "mconvert_at";  // the last 'd' key converted

Status Closed() { return Status::IOError("LevelDB is closed after a failed reopen"); }

// LevelDB fsyncs its directory only when it syncs a manifest, and not after
// the rename that installs CURRENT: DB::Open writes a new manifest, renames
// CURRENT to it and deletes the old manifest, so until the next manifest
// sync (the next memtable flush) a power loss could leave CURRENT naming a
// deleted manifest. Nor is a log file started at a memtable switch named
// durably until then, though writes synced into it count as durable. Called
// after every open (with the parent: the directory may be new) and after
// every synced write.
Status SyncDbDir(const std::string& path, bool with_parent) {
  Status s = with_parent ? wal::SyncDirAndParent(path) : wal::SyncDir(path);
  return s.ok() ? s : Status::IOError("LevelDB directory: " + s.message());
}

// LevelDB's own logs ("<number>.log"), fdatasync()ed. A sync write fsyncs
// only the log LevelDB writes now: the one it switched away from at its last
// memtable switch is closed without an fsync, and kept until that memtable's
// flush has ended. Writes left unsynced in it would be lost by a power cut
// while a later sync write in the new log survived (LevelDB's recovery
// replays both): a hole in LevelDB under a durable applied sequence. A log
// deleted meanwhile was flushed into a table (synced) first.
Status SyncLevelDbLogs(const std::string& path) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t digits = name.size() - std::min<size_t>(name.size(), 4);
    if (digits == 0 || name.compare(digits, 4, ".log") != 0 ||
        name.find_first_not_of("0123456789") != digits) {
      continue;
    }
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // flushed and deleted meanwhile
      return Status::IOError("LevelDB log " + name + ": " + std::strerror(errno));
    }
    int rc = ::fdatasync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0)
      return Status::IOError("LevelDB log " + name + ": " + std::strerror(err));
  }
  if (ec) return Status::IOError("LevelDB directory: " + ec.message());
  return Status::Ok();
}

// Room LevelDB needs to reopen: a new log, a manifest, a memtable flush.
constexpr uint64_t kReopenRoomBytes = 16ull << 20;

}  // namespace

// 'd', the namespace (big-endian, so that keys sort by namespace), the key.
void PutDiskKey(std::string* out, uint32_t ns, std::string_view key) {
  out->push_back('d');
  PutBE32(out, ns);
  out->append(key);
}

std::string DiskKey(uint32_t ns, std::string_view key) {
  std::string k;
  PutDiskKey(&k, ns, key);
  return k;
}

StatusOr<std::unique_ptr<DiskTier>> DiskTier::Open(const DiskOptions& options) {
  std::unique_ptr<DiskTier> t(new DiskTier());
  t->options_ = options;
  leveldb::Options lo;
  lo.create_if_missing = true;
  // Hot keys live in edgekv's own memory table, so LevelDB's block cache only
  // needs to hold index/filter blocks and recently read cold blocks.
  t->cache_.reset(leveldb::NewLRUCache(options.block_cache_bytes));
  lo.block_cache = t->cache_.get();
  // A bloom filter (10 bits/key, ~1% false positives) answers "absent" for
  // keys that do not exist without reading a data block from disk.
  t->filter_.reset(leveldb::NewBloomFilterPolicy(10));
  lo.filter_policy = t->filter_.get();
  // Snappy is cheap and values (JSON, tokens, flags) compress well.
  lo.compression = leveldb::kSnappyCompression;
  // The memtable counts against the process's memory (two of them while one
  // is flushed, plus an applier group over the limit), so its size follows
  // maxmemory (WriteBufferFor).
  lo.write_buffer_size =
      std::max(options.write_buffer_bytes, options.recovery_write_buffer_bytes);
  lo.max_file_size = 8 << 20;
  lo.env = TableEnv();
  // Each open table keeps its index and filter blocks in memory: bound the
  // number of open tables (about 2 GB of data per 256 files of 8 MB).
  lo.max_open_files = 512;
  t->options_for_open_ = lo;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(lo, options.path, &db);
  if (!s.ok()) return FromLevelDb(s);
  t->db_.reset(db);
  Status m = t->ConvertFormat();
  if (m.ok()) m = t->LoadMeta();
  if (m.ok()) m = SyncDbDir(options.path, true);
  if (!m.ok()) return m;
  return t;
}

Status DiskTier::PutMeta(const std::string& name, std::string_view value) {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  leveldb::WriteOptions wo;
  wo.sync = true;
  Status s =
      FromLevelDb(db_->Put(wo, "m" + name, leveldb::Slice(value.data(), value.size())));
  return s.ok() ? SyncDbDir(options_.path, false) : s;
}

std::vector<std::pair<std::string, std::string>> DiskTier::Libraries() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return out;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("f"); it->Valid() && it->key()[0] == 'f'; it->Next()) {
    leveldb::Slice k = it->key(), v = it->value();
    out.emplace_back(std::string(k.data() + 1, k.size() - 1), v.ToString());
  }
  return out;
}

std::string DiskTier::GetMeta(const std::string& name) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return {};
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), "m" + name, &v).ok()) v.clear();
  return v;
}

Status DiskTier::Wipe() {
  wipes_.fetch_add(1, std::memory_order_acq_rel);  // before the lock: Apply stops
  std::unique_lock<std::shared_mutex> dl(db_mu_);
  db_.reset();
  leveldb::Status s = leveldb::DestroyDB(options_.path, options_for_open_);
  if (!s.ok()) return FromLevelDb(s);
  leveldb::DB* db = nullptr;
  s = leveldb::DB::Open(options_for_open_, options_.path, &db);
  if (!s.ok()) return FromLevelDb(s);
  db_.reset(db);
  applied_seq_ = 0;
  {
    MutexLock l(&mu_);
    nsmap_.clear();
    next_ns_ = 0;
    counts_.clear();
    garbage_.clear();
    next_version_ = 1;
  }
  Status m = ConvertFormat();  // marks the empty store with the current layout
  if (m.ok()) m = LoadMeta();
  // DestroyDB removed the directory: it is new in its parent.
  return m.ok() ? SyncDbDir(options_.path, true) : m;
}

namespace {

class SnapshotImpl : public DiskTier::Snapshot {
 public:
  SnapshotImpl(leveldb::DB* db, std::shared_lock<std::shared_mutex> lock)
      : lock_(std::move(lock)), db_(db) {
    snap_ = db_->GetSnapshot();
    leveldb::ReadOptions ro;
    ro.snapshot = snap_;
    ro.fill_cache = false;
    std::string v;
    if (db_->Get(ro, kAppliedKey, &v).ok() && v.size() == 8)
      seq_ = wal::GetFixed64(v.data());
    if (db_->Get(ro, kNsMapKey, &v).ok() && v.size() >= 4) {
      size_t n = v.size() / 4 - 1;
      for (size_t i = 0; i < n; ++i) nsmap_.push_back(wal::GetFixed32(v.data() + 4 * i));
    }
    it_.reset(db_->NewIterator(ro));
    it_->Seek("d");
    ro_ = ro;
  }
  ~SnapshotImpl() override {
    it_.reset();
    db_->ReleaseSnapshot(snap_);
  }
  uint64_t seq() const override { return seq_; }

  bool Next(size_t max_bytes, std::string* out) override {
    if (done_) return false;
    wal::BatchBuilder b;
    size_t bytes = 0;
    if (!sent_namespaces_) {
      for (size_t db = 0; db < nsmap_.size(); ++db)
        b.FlushDb(static_cast<int>(db), nsmap_[db]);
      b.LibraryFlush();
      std::unique_ptr<leveldb::Iterator> lib(db_->NewIterator(ro_));
      for (lib->Seek("f"); lib->Valid() && lib->key()[0] == 'f'; lib->Next()) {
        leveldb::Slice k = lib->key(), v = lib->value();
        b.LibraryPut(std::string_view(k.data() + 1, k.size() - 1),
                     std::string_view(v.data(), v.size()));
      }
      sent_namespaces_ = true;
    }
    // A collection's elements follow its record, as many batches as they
    // take; its expiry comes after the last one.
    if (elements_ != nullptr) bytes += NextElements(max_bytes, &b);
    for (; elements_ == nullptr && it_->Valid() && bytes < max_bytes; it_->Next()) {
      leveldb::Slice k = it_->key();
      if (k.size() < 5 || k[0] != 'd') {
        done_ = true;
        break;
      }
      uint32_t ns = GetBE32(k.data() + 1);
      int db = -1;
      for (size_t i = 0; i < nsmap_.size(); ++i) {
        if (nsmap_[i] == ns) db = static_cast<int>(i);
      }
      if (db < 0) continue;  // a flushed namespace not yet collected
      leveldb::Slice v = it_->value();
      disk::Record r;
      if (!disk::DecodeRecord(std::string_view(v.data(), v.size()), &r)) continue;
      std::string_view key(k.data() + 5, k.size() - 5);
      if (r.type == ValueType::kString) {
        b.Put(db, key, r.value, r.expire_ms,
              static_cast<uint8_t>(wal::kFlagCreated |
                                   (r.expire_ms != kNoExpire ? wal::kFlagHasExpire : 0)));
        bytes += k.size() + v.size();
        continue;
      }
      if (r.size == 0) continue;
      db_of_collection_ = db;
      type_ = r.type;
      key_.assign(key);
      expire_ = r.expire_ms;
      prefix_.clear();
      disk::PutVersionKey(&prefix_, 'e', ns, key, r.version);
      elements_.reset(db_->NewIterator(ro_));
      elements_->Seek(prefix_);
      first_element_ = true;
      bytes += NextElements(max_bytes - bytes, &b);
    }
    if (elements_ == nullptr && !it_->Valid()) done_ = true;
    if (!b.empty()) b.AppendFrame(seq_, 0, out);
    if (done_) {
      wal::BatchBuilder end;  // a batch without operations ends the snapshot
      end.AppendFrame(seq_, 0, out);
    }
    return true;
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  leveldb::DB* db_;
  const leveldb::Snapshot* snap_ = nullptr;
  std::unique_ptr<leveldb::Iterator> it_;
  leveldb::ReadOptions ro_;
  std::vector<uint32_t> nsmap_;
  uint64_t seq_ = 0;
  bool sent_namespaces_ = false;
  bool done_ = false;
  // The collection whose elements are being sent (elements_ non-null).
  std::unique_ptr<leveldb::Iterator> elements_;
  std::string prefix_, key_;
  int db_of_collection_ = 0;
  ValueType type_ = ValueType::kHash;
  int64_t expire_ = kNoExpire;
  bool first_element_ = false;

  // Adds the current collection's elements up to about max_bytes; when they
  // are all sent, its expiry, and moves on to the next key.
  size_t NextElements(size_t max_bytes, wal::BatchBuilder* b) {
    size_t bytes = 0;
    leveldb::Slice p(prefix_);
    for (; elements_->Valid() && elements_->key().starts_with(p) && bytes < max_bytes;
         elements_->Next()) {
      leveldb::Slice k = elements_->key(), v = elements_->value();
      uint8_t flags = wal::kFlagNewElement | (first_element_ ? wal::kFlagCreated : 0);
      b->ElementSet(
          type_, db_of_collection_, key_,
          std::string_view(k.data() + prefix_.size(), k.size() - prefix_.size()),
          std::string_view(v.data(), v.size()), flags);
      first_element_ = false;
      bytes += k.size() + v.size();
    }
    if (elements_->Valid() && elements_->key().starts_with(p)) return bytes;
    if (!first_element_ && expire_ != kNoExpire) {
      b->Expire(db_of_collection_, key_, expire_, wal::kFlagHasExpire);
    }
    elements_.reset();  // it_ is already past the collection's record
    return bytes;
  }
};

}  // namespace

std::unique_ptr<DiskTier::Snapshot> DiskTier::NewSnapshot() {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return nullptr;
  // Apply holds apply_mu_ across all the chunks of a group: a snapshot between
  // two of them would hold key writes newer than its applied sequence.
  MutexLock l(&apply_mu_);
  return std::make_unique<SnapshotImpl>(db_.get(), std::move(dl));
}

Status DiskTier::Reopen() {
  // LevelDB's Open writes a new log and manifest: with the disk still full it
  // would fail and leave no database to read from. Until there is room, the
  // failed instance stays open: its reads still work.
  struct statvfs vfs;
  if (::statvfs(options_.path.c_str(), &vfs) == 0 &&
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < kReopenRoomBytes) {
    return Status::IOError("no space left to reopen LevelDB");
  }
  std::unique_lock<std::shared_mutex> dl(db_mu_);
  db_.reset();
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options_for_open_, options_.path, &db);
  if (!s.ok()) return FromLevelDb(s);
  db_.reset(db);
  Status m = LoadMeta();
  return m.ok() ? SyncDbDir(options_.path, false) : m;
}

Status DiskTier::EndRecovery() {
  size_t recovery = options_for_open_.write_buffer_size;
  if (recovery == options_.write_buffer_bytes) return Status::Ok();
  options_for_open_.write_buffer_size = options_.write_buffer_bytes;
  Status s = Reopen();
  if (s.ok()) return s;
  Log(LogLevel::kWarning, "LevelDB keeps its recovery write buffer: {}", s.message());
  options_for_open_.write_buffer_size = recovery;
  bool open;
  {
    std::shared_lock<std::shared_mutex> dl(db_mu_);
    open = db_ != nullptr;
  }
  return open ? Status::Ok() : Reopen();  // closed by the failed reopen
}

DiskTier::~DiskTier() { db_.reset(); }

Status DiskTier::LoadMeta() {
  std::string v;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), kAppliedKey, &v);
  if (s.ok() && v.size() == 8) applied_seq_ = wal::GetFixed64(v.data());
  MutexLock l(&mu_);
  nsmap_.clear();
  counts_.clear();
  garbage_.clear();
  s = db_->Get(leveldb::ReadOptions(), kNsMapKey, &v);
  if (s.ok() && v.size() >= 4) {
    size_t n = v.size() / 4 - 1;
    for (size_t i = 0; i < n; ++i) nsmap_.push_back(wal::GetFixed32(v.data() + 4 * i));
    next_ns_ = wal::GetFixed32(v.data() + 4 * n);
  }
  // More databases than before (or a new store): new ones get fresh
  // namespaces, recorded at once so that snapshots see them.
  if (nsmap_.size() < static_cast<size_t>(options_.databases)) {
    while (nsmap_.size() < static_cast<size_t>(options_.databases)) {
      nsmap_.push_back(next_ns_++);
    }
    std::string m;
    for (uint32_t ns : nsmap_) wal::PutFixed32(&m, ns);
    wal::PutFixed32(&m, next_ns_);
    leveldb::Status ws = db_->Put(leveldb::WriteOptions(), kNsMapKey, m);
    if (!ws.ok()) return FromLevelDb(ws);
  }
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("c"); it->Valid() && it->key()[0] == 'c'; it->Next()) {
    if (it->key().size() != 5 || it->value().size() != 16) continue;
    KeyspaceCounts c;
    c.keys = wal::GetFixed64(it->value().data());
    c.expires = wal::GetFixed64(it->value().data() + 8);
    counts_[GetBE32(it->key().data() + 1)] = c;
  }
  for (it->Seek("g"); it->Valid() && it->key()[0] == 'g'; it->Next()) {
    if (it->key().size() == 5) garbage_.push_back(GetBE32(it->key().data() + 1));
  }
  if (db_->Get(leveldb::ReadOptions(), kVersionKey, &v).ok() && v.size() == 8) {
    next_version_ = wal::GetFixed64(v.data());
  }
  had_collections_.store(next_version_ > 1, std::memory_order_release);
  collections_garbage_ = true;
  return FromLevelDb(it->status());
}

// Layout version 1 had no type byte in 'd' values: each gets one (a string),
// a write buffer at a time, with the last key converted recorded in the same
// write so that a crash in the middle resumes after it.
Status DiskTier::ConvertFormat() {
  std::string v;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), kFormatKey, &v);
  // No version: layout 1 (or a new, empty LevelDB).
  const uint8_t from = s.ok() && v.size() == 1 ? static_cast<uint8_t>(v[0]) : 1;
  if (from > disk::kFormatVersion) {
    return Status::Corruption("LevelDB was written by a newer edgekv (layout " +
                              std::to_string(from) + ")");
  }
  if (from == disk::kFormatVersion) return Status::Ok();
  // Each 'd' record is converted once, in batches; kConvertAtKey names the
  // last one converted, to resume a conversion a crash cut short.
  std::string at;
  bool resumed = db_->Get(leveldb::ReadOptions(), kConvertAtKey, &at).ok();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  if (resumed) {
    it->Seek(at);
    if (it->Valid() && it->key() == leveldb::Slice(at)) it->Next();
  } else {
    it->Seek("d");
  }
  leveldb::WriteBatch wb;
  size_t converted = 0;
  std::string value, skey;
  // The last 'd' record converted whole (a resumption starts after it).
  std::string done = resumed ? at : std::string();
  auto write = [&]() -> Status {
    if (!done.empty()) wb.Put(kConvertAtKey, done);
    leveldb::Status ws = db_->Write(leveldb::WriteOptions(), &wb);
    wb.Clear();
    return FromLevelDb(ws);
  };
  for (; it->Valid() && it->key()[0] == 'd'; it->Next()) {
    leveldb::Slice k = it->key(), old = it->value();
    if (from == 1) {
      // Strings without their type byte.
      if (old.size() < 8) continue;
      value.clear();
      disk::EncodeString(&value, static_cast<int64_t>(wal::GetFixed64(old.data())),
                         std::string_view(old.data() + 8, old.size() - 8));
      wb.Put(k, value);
    } else {
      // Sorted sets get their score index.
      disk::Record r;
      if (!disk::DecodeRecord(std::string_view(old.data(), old.size()), &r) ||
          r.type != ValueType::kZSet || k.size() < 5) {
        continue;
      }
      const uint32_t ns = GetBE32(k.data() + 1);
      const std::string_view key(k.data() + 5, k.size() - 5);
      std::string prefix;
      disk::PutVersionKey(&prefix, 'e', ns, key, r.version);
      std::unique_ptr<leveldb::Iterator> e(db_->NewIterator(leveldb::ReadOptions()));
      for (e->Seek(prefix); e->Valid() && e->key().starts_with(prefix); e->Next()) {
        leveldb::Slice ek = e->key(), score = e->value();
        skey.clear();
        disk::PutScoreKey(
            &skey, ns, key, r.version,
            ZSetValue::DecodeScore(std::string_view(score.data(), score.size())),
            std::string_view(ek.data() + prefix.size(), ek.size() - prefix.size()));
        wb.Put(skey, score);
        // A big set's index in parts: after a crash it is written again
        // from its first member, which only rewrites the same records.
        if (wb.ApproximateSize() >= (4u << 20)) {
          Status ws = write();
          if (!ws.ok()) return ws;
        }
      }
      if (!e->status().ok()) return FromLevelDb(e->status());
    }
    ++converted;
    done.assign(k.data(), k.size());
    if (wb.ApproximateSize() >= (4u << 20)) {
      Status ws = write();
      if (!ws.ok()) return ws;
    }
  }
  if (!it->status().ok()) return FromLevelDb(it->status());
  wb.Delete(kConvertAtKey);
  wb.Put(kFormatKey, std::string(1, static_cast<char>(disk::kFormatVersion)));
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status ws = db_->Write(wo, &wb);
  if (!ws.ok()) return FromLevelDb(ws);
  if (converted > 0) {
    Log(LogLevel::kNotice, "LevelDB layout converted from version {} to {}: {} keys",
        from, disk::kFormatVersion, converted);
  }
  return Status::Ok();
}

Status DiskTier::Get(uint32_t ns, std::string_view key, DiskValue* out,
                     const EncodingLimits* load) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  std::string v;
  // A cold key moves into edgekv's own table on read: caching its block too
  // would only churn the small block cache (kept for index/filter blocks).
  leveldb::ReadOptions ro;
  ro.fill_cache = false;
  leveldb::Status s = db_->Get(ro, DiskKey(ns, key), &v);
  if (!s.ok()) return FromLevelDb(s);
  disk::Record r;
  if (!disk::DecodeRecord(v, &r))
    return Status::Corruption("bad value for a key on disk");
  out->type = r.type;
  out->expire_ms = r.expire_ms;
  out->size = r.size;
  out->version = r.version;
  if (r.type == ValueType::kString) {
    out->value.assign(r.value);
    return Status::Ok();
  }
  out->value.clear();
  if (load == nullptr) return Status::Ok();
  std::unique_ptr<Collection> c = NewCollection(r.type);
  if (c == nullptr) return Status::Corruption("unknown type on disk");
  Status st = VisitElementsHeld(ro, ns, key, r.version, nullptr,
                                [&](std::string_view elem, std::string_view value) {
                                  c->LoadElement(elem, value, *load);
                                  return true;
                                });
  if (!st.ok()) return st;
  out->collection = std::move(c);
  return Status::Ok();
}

Status DiskTier::VisitElements(uint32_t ns, std::string_view key, uint64_t version,
                               const std::string* after, bool fill_cache,
                               const ElementUntil& fn) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  leveldb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  return VisitElementsHeld(ro, ns, key, version, after, fn);
}

Status DiskTier::VisitElementsHeld(const leveldb::ReadOptions& ro, uint32_t ns,
                                   std::string_view key, uint64_t version,
                                   const std::string* after,
                                   const ElementUntil& fn) const {
  std::string prefix;
  disk::PutVersionKey(&prefix, 'e', ns, key, version);
  const leveldb::Slice p(prefix);
  std::string at = prefix;
  if (after != nullptr) {
    at.append(*after);
    at.push_back('\0');  // the first element after *after
  }
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(at); it->Valid() && it->key().starts_with(p); it->Next()) {
    leveldb::Slice k = it->key(), v = it->value();
    if (!fn(std::string_view(k.data() + prefix.size(), k.size() - prefix.size()),
            std::string_view(v.data(), v.size()))) {
      break;
    }
  }
  return FromLevelDb(it->status());
}

Status DiskTier::GetElement(uint32_t ns, std::string_view key, uint64_t version,
                            std::string_view elem, std::string* value) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  std::string k;
  disk::PutVersionKey(&k, 'e', ns, key, version);
  k.append(elem);
  // The collection stays on disk: its blocks may well be read again.
  return FromLevelDb(db_->Get(leveldb::ReadOptions(), k, value));
}

Status DiskTier::VisitScores(uint32_t ns, std::string_view key, uint64_t version,
                             bool reverse, const ScoreVisitor& fn,
                             const double* from) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  std::string prefix;
  disk::PutVersionKey(&prefix, 's', ns, key, version);
  const leveldb::Slice p(prefix);
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  std::string at = prefix;
  if (reverse) {
    // Past the scores up to *from: the next score's bytes; past every
    // score's (+inf is 0xfff0...) without one.
    const uint64_t bits = from != nullptr ? disk::OrderedScore(*from) : ~uint64_t{0};
    if (bits == ~uint64_t{0}) {
      at.append(9, '\xff');
    } else {
      disk::PutBE64(&at, bits + 1);
    }
    it->Seek(at);
    if (it->Valid()) {
      it->Prev();
    } else {
      it->SeekToLast();
    }
  } else {
    if (from != nullptr) disk::PutOrderedScore(&at, *from);
    it->Seek(at);
  }
  const size_t member_at = prefix.size() + 8;
  for (; it->Valid() && it->key().starts_with(p); reverse ? it->Prev() : it->Next()) {
    leveldb::Slice k = it->key(), v = it->value();
    if (k.size() < member_at) continue;
    if (!fn(std::string_view(k.data() + member_at, k.size() - member_at),
            ZSetValue::DecodeScore(std::string_view(v.data(), v.size())))) {
      break;
    }
  }
  return FromLevelDb(it->status());
}

// Apply's buffers are megabytes per group. Fresh ones cost a page fault per
// 4 KB as they fill, so they are kept (cleared) from one group to the next
// while groups follow each other, and released when the applier goes idle
// (ReleaseApplyBuffers).
// A collection as a group being applied leaves it.
struct CollectionState {
  ValueType type;
  int64_t expire_ms;
  uint64_t version;
  uint64_t size;
  bool exists;
  // Its 'd' record is in the group's writes (once: a string write of the
  // key after it ends the collection, and a new one has a state of its own).
  bool written = false;
  // Made by this group: LevelDB holds no element of its version.
  bool fresh = false;
};

struct DiskTier::ApplyScratch {
  std::vector<KeyWrite> writes;
  std::vector<CollectionState> colls;
  // 'd' key -> its latest state in colls (loaded from LevelDB when a group
  // first touches a collection).
  std::unordered_map<std::string, uint32_t> coll_index;
  // A sorted-set member (version, member) -> its score as of the operations
  // read so far (raw 8 bytes; nullopt: absent), to find its 's' record. The
  // views are into the group's payloads, or into old_scores for a score
  // read from LevelDB.
  struct MemberOf {
    uint64_t version;
    std::string_view member;
    bool operator==(const MemberOf&) const = default;
  };
  struct MemberHash {
    size_t operator()(const MemberOf& m) const {
      return std::hash<std::string_view>()(m.member) ^
             (m.version * 0x9e3779b97f4a7c15ULL);
    }
  };
  std::unordered_map<MemberOf, std::optional<std::string_view>, MemberHash> scores;
  std::deque<std::string> old_scores;
  std::string ekey, skey;
  std::vector<uint64_t> slots;
  std::vector<LastWrite> last;
  leveldb::WriteBatch wb, meta;
  std::string dkey, dvalue;
};

Status DiskTier::ChangeScore(ApplyScratch& sc, bool fresh, uint32_t ns,
                             std::string_view key, uint64_t version,
                             std::string_view member,
                             std::optional<std::string_view> score,
                             leveldb::WriteBatch* out) const {
  auto [it, first] = sc.scores.try_emplace({version, member});
  std::optional<std::string_view>& now = it->second;
  if (first && !fresh) {
    std::string v;
    leveldb::ReadOptions ro;
    ro.fill_cache = false;
    leveldb::Status st = db_->Get(ro, sc.ekey, &v);
    if (st.ok()) {
      now = sc.old_scores.emplace_back(std::move(v));
    } else if (!st.IsNotFound()) {
      // Not knowing the old score would leave its index record behind.
      sc.scores.erase(it);
      return FromLevelDb(st);
    }
  }
  if (now.has_value()) {
    sc.skey.clear();
    disk::PutScoreKey(&sc.skey, ns, key, version, ZSetValue::DecodeScore(*now), member);
    out->Delete(sc.skey);
  }
  if (score.has_value()) {
    sc.skey.clear();
    disk::PutScoreKey(&sc.skey, ns, key, version, ZSetValue::DecodeScore(*score), member);
    out->Put(sc.skey, leveldb::Slice(score->data(), score->size()));
    out->Put(sc.ekey, leveldb::Slice(score->data(), score->size()));
  } else {
    out->Delete(sc.ekey);
  }
  now = score;
  return Status::Ok();
}

void DiskTier::ReleaseApplyBuffers() {
  MutexLock l(&apply_mu_);
  MutexLock r(&released_mu_);
  if (released_scratch_ == nullptr) released_scratch_ = std::move(scratch_);
}

void DiskTier::FreeReleasedApplyBuffers() {
  std::unique_ptr<ApplyScratch> scratch;
  {
    MutexLock r(&released_mu_);
    scratch = std::move(released_scratch_);
  }
}  // freed here, on the caller's thread

DiskTier::DiskTier() = default;

Status DiskTier::Apply(const std::vector<std::string_view>& payloads, uint64_t wipes) {
  if (payloads.empty()) return Status::Ok();
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  auto wiped = [&] { return wipes != kAnyWipes && wipes_.load() != wipes; };
  if (wiped()) return Status::Aborted("LevelDB was wiped");
  MutexLock l(&apply_mu_);
  if (scratch_ == nullptr) {  // set aside when idle: taken back if not freed yet
    MutexLock r(&released_mu_);
    scratch_ = released_scratch_ != nullptr ? std::move(released_scratch_)
                                            : std::make_unique<ApplyScratch>();
  }
  ApplyScratch& sc = *scratch_;
  // Key writes go to LevelDB in chunks of about a write buffer: one batch
  // of a whole group would land in one memtable, which then stays that large
  // (tens of megabytes) until the next write. The meta keys (namespaces,
  // counts, the applied sequence) go in the last chunk: until it is written,
  // a restart replays the whole group, and rewriting the same final values
  // is harmless.
  leveldb::WriteBatch& wb = sc.wb;
  leveldb::WriteBatch& meta = sc.meta;
  wb.Clear();
  meta.Clear();
  const size_t chunk_bytes = std::max<size_t>(options_.write_buffer_bytes, 1 << 20);
  uint64_t last = 0;
  bool nsmap_changed = false;
  bool has_garbage = false;
  std::set<uint32_t> touched;
  // Work on copies: the in-memory meta changes only if LevelDB took the write
  // (a failed write is retried, and must not be counted twice). Only Apply
  // changes them once LevelDB is open (and CollectGarbage, which waits for
  // apply_mu_), so the copies stay current.
  std::vector<uint32_t> nsmap;
  uint32_t next_ns;
  std::map<uint32_t, KeyspaceCounts> counts;
  std::vector<uint32_t> garbage;
  {
    MutexLock m(&mu_);
    nsmap = nsmap_;
    next_ns = next_ns_;
    counts = counts_;
    garbage = garbage_;
  }
  // Key writes are gathered and written below, the last of each key in key
  // order (LastWrites); meta keys go to `meta` in log order.
  std::vector<KeyWrite>& writes = sc.writes;
  writes.clear();
  std::vector<CollectionState>& colls = sc.colls;
  colls.clear();
  sc.coll_index.clear();
  sc.scores.clear();
  sc.old_scores.clear();
  uint64_t next_version;
  {
    MutexLock m(&mu_);
    next_version = next_version_;
  }
  std::string& ekey = sc.ekey;
  // The collection key holds now (as of the operations read so far), or -1.
  auto collection_of = [&](uint32_t ns, std::string_view key) -> int32_t {
    std::string dk = DiskKey(ns, key);
    auto it = sc.coll_index.find(dk);
    if (it != sc.coll_index.end()) {
      return colls[it->second].exists ? static_cast<int32_t>(it->second) : -1;
    }
    // Not touched yet by this group: LevelDB has it as it was before.
    CollectionState st{ValueType::kString, kNoExpire, 0, 0, false, false};
    std::string v;
    leveldb::ReadOptions ro;
    ro.fill_cache = false;
    disk::Record r;
    if (db_->Get(ro, dk, &v).ok() && disk::DecodeRecord(v, &r) &&
        r.type != ValueType::kString) {
      st = {r.type, r.expire_ms, r.version, r.size, true, false};
    }
    colls.push_back(st);
    sc.coll_index[std::move(dk)] = static_cast<uint32_t>(colls.size() - 1);
    return st.exists ? static_cast<int32_t>(colls.size() - 1) : -1;
  };
  // The key's collection ends (DEL, or a SET over it): its elements become
  // garbage, removed in the background.
  auto end_collection = [&](uint32_t ns, std::string_view key, bool was_collection) {
    int32_t i = -1;
    if (was_collection) {
      i = collection_of(ns, key);
    } else if (!sc.coll_index.empty()) {
      // Only a collection this group made can be here unannounced.
      auto it = sc.coll_index.find(DiskKey(ns, key));
      if (it != sc.coll_index.end() && colls[it->second].exists) {
        i = static_cast<int32_t>(it->second);
      }
    }
    if (i < 0) return;
    ekey.clear();
    disk::PutVersionKey(&ekey, 'v', ns, key, colls[static_cast<size_t>(i)].version);
    meta.Put(ekey, "");
    colls[static_cast<size_t>(i)].exists = false;
    has_garbage = true;
  };
  // The counts of the namespace written last (most writes go to one).
  uint32_t counts_ns = 0;
  KeyspaceCounts* ns_counts = nullptr;
  auto counts_of = [&](uint32_t ns) -> KeyspaceCounts& {
    if (ns_counts == nullptr || counts_ns != ns) {
      ns_counts = &counts[ns];
      counts_ns = ns;
      touched.insert(ns);
    }
    return *ns_counts;
  };
  // Library changes in log order: after a flush, only what follows counts.
  bool libraries_flushed = false;
  std::map<std::string, std::optional<std::string>, std::less<>> libraries;
  for (std::string_view payload : payloads) {
    wal::BatchHeader h;
    Status failed;  // of a read the group's records depend on
    Status s = wal::DecodeBatch(payload, &h, [&](const wal::OpView& op) {
      switch (op.op) {
        case wal::Op::kLibraryPut:
          libraries[std::string(op.key)] = std::string(op.value);
          return;
        case wal::Op::kLibraryDelete:
          libraries[std::string(op.key)] = std::nullopt;
          return;
        case wal::Op::kLibraryFlush:
          libraries_flushed = true;
          libraries.clear();
          return;
        default:
          break;
      }
      if (op.db < 0 || static_cast<size_t>(op.db) >= nsmap.size()) return;
      switch (op.op) {
        case wal::Op::kPut: {
          uint32_t ns = nsmap[static_cast<size_t>(op.db)];
          end_collection(ns, op.key, op.flags & wal::kFlagWasCollection);
          writes.push_back({ns, op.key, op.value, op.expire_ms, true});
          KeyspaceCounts& c = counts_of(ns);
          if (op.flags & wal::kFlagCreated) ++c.keys;
          bool had = op.flags & wal::kFlagHadExpire, has = op.flags & wal::kFlagHasExpire;
          if (has && !had) ++c.expires;
          if (had && !has && c.expires > 0) --c.expires;
          break;
        }
        case wal::Op::kErase: {
          uint32_t ns = nsmap[static_cast<size_t>(op.db)];
          end_collection(ns, op.key, op.flags & wal::kFlagWasCollection);
          writes.push_back({ns, op.key, {}, 0, false});
          KeyspaceCounts& c = counts_of(ns);
          if (c.keys > 0) --c.keys;
          if ((op.flags & wal::kFlagHadExpire) && c.expires > 0) --c.expires;
          break;
        }
        case wal::Op::kFlushDb: {
          uint32_t old = nsmap[static_cast<size_t>(op.db)];
          nsmap[static_cast<size_t>(op.db)] = op.ns;
          // The old namespace is garbage unless another db still uses it (a
          // replica's fresh numbering can overlap the coordinator's).
          bool still_used = std::find(nsmap.begin(), nsmap.end(), old) != nsmap.end();
          if (!still_used) {
            garbage.push_back(old);
            meta.Put(Prefix('g', old), "");
            meta.Delete(Prefix('c', old));
            counts.erase(old);
            touched.erase(old);
            ns_counts = nullptr;  // may point into the erased entry
          }
          // A live namespace is never garbage.
          garbage.erase(std::remove(garbage.begin(), garbage.end(), op.ns),
                        garbage.end());
          meta.Delete(Prefix('g', op.ns));
          next_ns = std::max(next_ns, op.ns + 1);
          nsmap_changed = true;
          break;
        }
        case wal::Op::kHashSet:
        case wal::Op::kHashDel:
        case wal::Op::kSetAdd:
        case wal::Op::kSetRem:
        case wal::Op::kZAdd:
        case wal::Op::kZRem:
        case wal::Op::kExpire: {
          uint32_t ns = nsmap[static_cast<size_t>(op.db)];
          if (op.flags & wal::kFlagCreated) {
            // A collection the key held (on a replica, one it kept past its
            // expiry and dropped unlogged) is garbage now.
            end_collection(ns, op.key, true);
            colls.push_back({op.ctype, kNoExpire, next_version++, 0, true, false, true});
            sc.coll_index[DiskKey(ns, op.key)] = static_cast<uint32_t>(colls.size() - 1);
            ++counts_of(ns).keys;
          }
          int32_t i = collection_of(ns, op.key);
          if (i < 0) break;  // not a collection: nothing to change
          CollectionState& c = colls[static_cast<size_t>(i)];
          if (op.op == wal::Op::kExpire) {
            KeyspaceCounts& kc = counts_of(ns);
            bool had = c.expire_ms != kNoExpire, has = op.expire_ms != kNoExpire;
            if (has && !had) ++kc.expires;
            if (had && !has && kc.expires > 0) --kc.expires;
            c.expire_ms = op.expire_ms;
          } else {
            ekey.clear();
            disk::PutVersionKey(&ekey, 'e', ns, op.key, c.version);
            ekey.append(op.field);
            if (c.type == ValueType::kZSet) {
              Status cs = ChangeScore(
                  sc, c.fresh, ns, op.key, c.version, op.field,
                  wal::IsElementSet(op.op) ? std::optional(op.value) : std::nullopt,
                  c.fresh ? &wb : &meta);
              if (!cs.ok() && failed.ok()) failed = cs;
              if (wal::IsElementSet(op.op)) {
                if (op.flags & wal::kFlagNewElement) ++c.size;
              } else if (c.size > 0) {
                --c.size;
              }
            } else if (wal::IsElementSet(op.op)) {
              wb.Put(ekey, leveldb::Slice(op.value.data(), op.value.size()));
              if (op.flags & wal::kFlagNewElement) ++c.size;
            } else {
              wb.Delete(ekey);
              if (c.size > 0) --c.size;
            }
          }
          if (!c.written) {
            c.written = true;
            writes.push_back({ns, op.key, {}, 0, true, i});
          }
          break;
        }
        case wal::Op::kSwapDb:
          if (static_cast<size_t>(op.db2) < nsmap.size()) {
            std::swap(nsmap[static_cast<size_t>(op.db)],
                      nsmap[static_cast<size_t>(op.db2)]);
            nsmap_changed = true;
          }
          break;
        default:
          break;
      }
    });
    if (!failed.ok()) return failed;
    if (!s.ok()) return s;
    last = h.seq;
  }
  std::string& dkey = sc.dkey;
  std::string& dvalue = sc.dvalue;
  LastWrites(writes, &sc.slots, &sc.last);
  const std::vector<LastWrite>& sorted = sc.last;
  for (size_t i = 0; i < sorted.size(); ++i) {
    // The writes are read in key order, scattered over memory: prefetch
    // each write, then its key and value, some entries ahead.
    if (i + 16 < sorted.size()) __builtin_prefetch(&writes[sorted[i + 16].index]);
    if (i + 8 < sorted.size()) {
      const KeyWrite& ahead = writes[sorted[i + 8].index];
      __builtin_prefetch(ahead.key.data());
      __builtin_prefetch(ahead.value.data());
    }
    const KeyWrite* w = &writes[sorted[i].index];
    dkey.clear();
    PutDiskKey(&dkey, w->ns, w->key);
    // A key this group's collection operations touched is written with the
    // meta keys, in the group's last write: until then LevelDB holds its
    // record as before the group, which a replay of the group reads again
    // (collection_of) to give the same versions, sizes and garbage.
    leveldb::WriteBatch& out =
        (w->meta >= 0 || (!sc.coll_index.empty() && sc.coll_index.count(dkey) > 0)) ? meta
                                                                                    : wb;
    if (w->put) {
      dvalue.clear();
      if (w->meta >= 0) {
        const CollectionState& c = colls[static_cast<size_t>(w->meta)];
        disk::EncodeCollection(&dvalue, c.type, c.expire_ms, c.version, c.size);
      } else {
        disk::EncodeString(&dvalue, w->expire_ms, w->value);
      }
      out.Put(dkey, dvalue);
    } else {
      out.Delete(dkey);
    }
    if (wb.ApproximateSize() >= chunk_bytes) {
      if (wiped()) return Status::Aborted("LevelDB was wiped");
      leveldb::Status s = db_->Write(leveldb::WriteOptions(), &wb);
      if (!s.ok()) return FromLevelDb(s);
      wb.Clear();
    }
  }
  wb.Append(meta);
  if (libraries_flushed) {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek("f"); it->Valid() && it->key()[0] == 'f'; it->Next()) {
      wb.Delete(it->key());
    }
  }
  for (const auto& [name, code] : libraries) {
    if (code.has_value()) {
      wb.Put("f" + name, *code);
    } else {
      wb.Delete("f" + name);
    }
  }
  for (uint32_t ns : touched) wb.Put(Prefix('c', ns), EncodeCounts(counts[ns]));
  if (nsmap_changed) {
    std::string v;
    for (uint32_t ns : nsmap) wal::PutFixed32(&v, ns);
    wal::PutFixed32(&v, next_ns);
    wb.Put(kNsMapKey, v);
  }
  std::string seq;
  wal::PutFixed64(&seq, last);
  wb.Put(kAppliedKey, seq);
  std::string version;
  wal::PutFixed64(&version, next_version);
  wb.Put(kVersionKey, version);
  if (wiped()) return Status::Aborted("LevelDB was wiped");
  leveldb::Status s = db_->Write(leveldb::WriteOptions(), &wb);
  if (!s.ok()) return FromLevelDb(s);
  MutexLock m(&mu_);
  nsmap_ = std::move(nsmap);
  next_ns_ = next_ns;
  counts_ = std::move(counts);
  garbage_ = std::move(garbage);
  next_version_ = next_version;
  if (next_version > 1) had_collections_.store(true, std::memory_order_release);
  if (has_garbage) collections_garbage_ = true;
  applied_seq_.store(last, std::memory_order_release);
  return Status::Ok();
}

std::vector<uint32_t> DiskTier::namespaces() const {
  MutexLock l(&mu_);
  return nsmap_;
}

uint32_t DiskTier::next_namespace() const {
  MutexLock l(&mu_);
  return next_ns_;
}

KeyspaceCounts DiskTier::counts(uint32_t ns) const {
  MutexLock l(&mu_);
  auto it = counts_.find(ns);
  return it == counts_.end() ? KeyspaceCounts{} : it->second;
}

void DiskTier::Scan(uint32_t ns, std::string_view from,
                    const std::function<bool(std::string_view, std::string_view, int64_t,
                                             ValueType)>& fn) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return;
  std::string prefix = Prefix('d', ns);
  // Walks (the disk's expire cycle, SCAN, KEYS) leave the block cache to
  // point reads: the expire cycle alone would fill it with every block.
  leveldb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  std::string start = prefix;
  start.append(from);
  for (it->Seek(start); it->Valid(); it->Next()) {
    leveldb::Slice k = it->key();
    if (k.size() < 5 || std::memcmp(k.data(), prefix.data(), 5) != 0) break;
    leveldb::Slice v = it->value();
    disk::Record r;
    if (!disk::DecodeRecord(std::string_view(v.data(), v.size()), &r)) continue;
    if (!fn(std::string_view(k.data() + 5, k.size() - 5), r.value, r.expire_ms, r.type)) {
      break;
    }
  }
}

namespace {
std::string CursorKey(uint64_t id) {
  std::string k(1, 'x');
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
  return k;
}
}  // namespace

Status DiskTier::SaveCursor(uint64_t id, std::string_view last_key, int64_t now_ms) {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  std::string v;
  wal::PutFixed64(&v, static_cast<uint64_t>(now_ms));
  v.append(last_key);
  return FromLevelDb(db_->Put(leveldb::WriteOptions(), CursorKey(id), v));
}

bool DiskTier::LoadCursor(uint64_t id, std::string* last_key) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return false;
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), CursorKey(id), &v).ok() || v.size() < 8) {
    return false;
  }
  last_key->assign(v.data() + 8, v.size() - 8);
  return true;
}

size_t DiskTier::ExpireCursors(int64_t now_ms, int64_t max_age_ms) {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return 0;
  leveldb::WriteBatch wb;
  size_t n = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("x"); it->Valid() && it->key()[0] == 'x' && n < 10000; it->Next()) {
    if (it->value().size() < 8) continue;
    int64_t t = static_cast<int64_t>(wal::GetFixed64(it->value().data()));
    if (now_ms - t > max_age_ms) {
      wb.Delete(it->key());
      ++n;
    }
  }
  if (n > 0) (void)db_->Write(leveldb::WriteOptions(), &wb);
  return n;
}

size_t DiskTier::CollectGarbage(size_t budget) {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return 0;
  // Not while a group is applied (it may give a garbage namespace a new
  // life), and without waiting for it: the upkeep thread calls this.
  if (!apply_mu_.TryLock()) return 0;
  MutexLock a(&apply_mu_, std::adopt_lock);
  uint32_t ns;
  bool collections;
  {
    MutexLock l(&mu_);
    if (garbage_.empty() && !collections_garbage_) return 0;
    ns = garbage_.empty() ? 0 : garbage_.front();
    collections = garbage_.empty();
  }
  leveldb::WriteBatch wb;
  size_t n = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  // Deletes what starts with prefix, within the budget; true when all gone.
  auto drop = [&](std::string_view prefix) {
    for (it->Seek(leveldb::Slice(prefix.data(), prefix.size())); it->Valid();
         it->Next()) {
      if (!it->key().starts_with(leveldb::Slice(prefix.data(), prefix.size()))) break;
      if (n >= budget) return false;
      wb.Delete(it->key());
      ++n;
    }
    return true;
  };
  if (collections) {
    // The elements of deleted collections: each 'v' record names a prefix.
    bool done = true;
    std::unique_ptr<leveldb::Iterator> v(db_->NewIterator(leveldb::ReadOptions()));
    for (v->Seek("v"); v->Valid() && v->key()[0] == 'v'; v->Next()) {
      std::string elements = v->key().ToString(), scores = elements;
      elements[0] = 'e';
      scores[0] = 's';
      if (!drop(elements) || !drop(scores)) {
        done = false;
        break;
      }
      wb.Delete(v->key());
    }
    if (db_->Write(leveldb::WriteOptions(), &wb).ok() && done) {
      MutexLock l(&mu_);
      collections_garbage_ = false;
    }
    return n;
  }
  bool done = drop(Prefix('d', ns)) && drop(Prefix('e', ns)) && drop(Prefix('s', ns)) &&
              drop(Prefix('v', ns));
  if (done) wb.Delete(Prefix('g', ns));
  if (db_->Write(leveldb::WriteOptions(), &wb).ok() && done) {
    MutexLock l(&mu_);
    garbage_.erase(garbage_.begin());
  }
  return n;
}

Status DiskTier::Sync() {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return Closed();
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::WriteBatch wb;
  std::string seq;
  // Not during an Apply: its applied sequence must not be written back to an
  // older one.
  MutexLock l(&apply_mu_);
  // Everything written before is durable first (SyncLevelDbLogs), then the
  // applied sequence that counts it in, then the names of the files that
  // hold it (SyncDbDir): the log may be purged up to that sequence.
  Status s = SyncLevelDbLogs(options_.path);
  if (!s.ok()) return s;
  wal::PutFixed64(&seq, applied_seq());
  wb.Put(kAppliedKey, seq);
  s = FromLevelDb(db_->Write(wo, &wb));
  return s.ok() ? SyncDbDir(options_.path, false) : s;
}

uint64_t DiskTier::ApproximateBytes() const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return 0;
  leveldb::Range r("a", "z");
  uint64_t size = 0;
  db_->GetApproximateSizes(&r, 1, &size);
  return size;
}

uint64_t DiskTier::MemtableBytes() const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return 0;
  std::string v;
  if (!db_->GetProperty("leveldb.approximate-memory-usage", &v)) return 0;
  // The figure counts the block cache too.
  const uint64_t all = std::strtoull(v.c_str(), nullptr, 10);
  const uint64_t cache = cache_->TotalCharge();
  return all > cache ? all - cache : 0;
}

DiskTier::MemtableFlush DiskTier::FlushMemtable(uint64_t min_bytes) {
  const uint64_t before = MemtableBytes();
  if (before < min_bytes) return MemtableFlush::kNotNeeded;
  {
    std::shared_lock<std::shared_mutex> dl(db_mu_);
    if (!db_) return MemtableFlush::kNotNeeded;
    // Not while level 0 has a compaction due (4 tables, LevelDB's
    // trigger): the flush would wait for it, and hold up the next group.
    std::string l0;
    if (!db_->GetProperty("leveldb.num-files-at-level0", &l0) ||
        std::strtoull(l0.c_str(), nullptr, 10) >= 4) {
      return MemtableFlush::kLater;
    }
    // LevelDB has no flush call: CompactRange writes out the memtable
    // first, then compacts the tables that overlap the range, and none
    // overlaps a range past every key (tags 'd' to 'v': disk_format.h).
    const leveldb::Slice begin("\xff\xfe"), end("\xff\xff");
    db_->CompactRange(&begin, &end);
  }
  if (MemtableBytes() >= before) return MemtableFlush::kNotNeeded;  // a LevelDB error
  memtable_flushes_.fetch_add(1);
  return MemtableFlush::kFlushed;
}

std::string DiskTier::Property(const std::string& name) const {
  std::shared_lock<std::shared_mutex> dl(db_mu_);
  if (!db_) return {};
  std::string v;
  db_->GetProperty(name, &v);
  return v;
}

}  // namespace edgekv
