// The disk tier: LevelDB under `dir`, holding every key (key -> expiry +
// value), fed from the write-ahead log in batches by the applier.
//
// Layout of LevelDB keys:
//   'd' ns(4, big endian) user-key  -> type(1) expire_ms(8, little endian) body
//   'e', 'v'                         -> a collection's elements, and those of
//                                       deleted collections (disk_format.h)
//   'm' "applied"                    -> last WAL sequence applied (8)
//   'm' "nsmap"                      -> namespace of each db (4 each), next ns (4)
//   'm' "format", "version"          -> the layout's version; the next collection's
//   'c' ns(4)                        -> keys(8) expires(8) of that namespace
//   'g' ns(4)                        -> a flushed namespace still being deleted
//   'f' library name                 -> a function library's code (FUNCTION LOAD)
// A database's keys live under a namespace number: FLUSHDB moves the database
// to a fresh namespace (O(1)), SWAPDB swaps two numbers; dead namespaces are
// deleted in the background.
//
// Thread-safety: Get/Scan may be called from any thread concurrently with
// Apply, which is called from one thread (the applier) at a time.
#pragma once

#include <leveldb/options.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edgekv/status.h"
#include "edgekv/store.h"
#include "edgekv/thread_annotations.h"

namespace leveldb {
class DB;
class WriteBatch;
}  // namespace leveldb

namespace edgekv {

struct DiskOptions {
  std::string path;
  int databases = 16;
  size_t block_cache_bytes = 8 << 20;
  size_t write_buffer_bytes = 4 << 20;
  // Until EndRecovery(), LevelDB runs with this write buffer if it is
  // larger: the replay of the log after a crash writes up to the applier's
  // backlog bound at once, and with a small memtable it waits on LevelDB's
  // compactions (10 s instead of 2 for 128 MB).
  size_t recovery_write_buffer_bytes = 64 << 20;
};

struct DiskValue {
  ValueType type = ValueType::kString;
  std::string value;  // a string's
  int64_t expire_ms = kNoExpire;
  uint64_t size = 0;     // a collection's elements
  uint64_t version = 0;  // a collection's (disk_format.h)
  // A collection's elements, when Get was asked for them.
  std::unique_ptr<Collection> collection;
};

class DiskTier {
 public:
  static StatusOr<std::unique_ptr<DiskTier>> Open(const DiskOptions& options);
  ~DiskTier();

  // Point read in a namespace; NotFound when absent. A collection comes
  // with its elements (built with `load` limits) only when `load` is given.
  Status Get(uint32_t ns, std::string_view key, DiskValue* out,
             const EncodingLimits* load = nullptr) const;

  // One element of the collection at key with that version (DiskValue's):
  // its value as the log keeps it; NotFound when absent.
  Status GetElement(uint32_t ns, std::string_view key, uint64_t version,
                    std::string_view elem, std::string* value) const;

  // The sorted set at key with that version in (score, member) order, from
  // its score index: fn(member, score) for each element from the first on
  // (from the last down when `reverse`), until fn returns false. With
  // `from`, from the first element whose score is at least *from (the last
  // whose score is at most *from when `reverse`).
  using ScoreVisitor = std::function<bool(std::string_view member, double score)>;
  Status VisitScores(uint32_t ns, std::string_view key, uint64_t version, bool reverse,
                     const ScoreVisitor& fn, const double* from = nullptr) const;

  // The elements of the collection at key with that version in element
  // (byte) order: fn(elem, value as the log keeps it) for each from the
  // first (the first after *after, with `after`), until fn returns false.
  // `fill_cache`: keep the blocks read in LevelDB's block cache.
  using ElementUntil = std::function<bool(std::string_view elem, std::string_view value)>;
  Status VisitElements(uint32_t ns, std::string_view key, uint64_t version,
                       const std::string* after, bool fill_cache,
                       const ElementUntil& fn) const;

  // Applies WAL batch payloads (in sequence order): the last write of each
  // key, in write-buffer-sized LevelDB writes, the applied sequence last.
  // With `wipes` (a value of wipes() read before the payloads were), the
  // group is given up (Aborted) if a Wipe began since: its records belong
  // to the data the wipe replaces.
  static constexpr uint64_t kAnyWipes = ~uint64_t{0};
  Status Apply(const std::vector<std::string_view>& payloads, uint64_t wipes = kAnyWipes)
      EXCLUDES(apply_mu_, mu_);
  // How many Wipes have begun.
  uint64_t wipes() const { return wipes_.load(std::memory_order_acquire); }
  // Sets aside the buffers Apply keeps from one group to the next, for
  // FreeReleasedApplyBuffers to free (or the next Apply to take back); see
  // Applier::ReleaseBuffers for why the applier does not free them itself.
  void ReleaseApplyBuffers() EXCLUDES(apply_mu_, released_mu_);
  void FreeReleasedApplyBuffers() EXCLUDES(released_mu_);

  uint64_t applied_seq() const { return applied_seq_.load(std::memory_order_acquire); }
  // Has a collection ever been created here (as of the latest Apply)?
  bool ever_had_collections() const {
    return had_collections_.load(std::memory_order_acquire);
  }
  std::vector<uint32_t> namespaces() const EXCLUDES(mu_);
  uint32_t next_namespace() const EXCLUDES(mu_);
  KeyspaceCounts counts(uint32_t ns) const EXCLUDES(mu_);

  // Visits keys of a namespace in key order starting at `from` (inclusive);
  // fn returns false to stop. Sees the state as of the latest Apply.
  // A collection's value is empty. The blocks read stay out of the cache.
  void Scan(uint32_t ns, std::string_view from,
            const std::function<bool(std::string_view key, std::string_view value,
                                     int64_t expire_ms, ValueType type)>& fn) const;

  // SCAN cursors: an id names the last key a scan returned, kept on disk so
  // that cursors stay valid across restarts.
  Status SaveCursor(uint64_t id, std::string_view last_key, int64_t now_ms);
  bool LoadCursor(uint64_t id, std::string* last_key) const;
  // Drops cursors older than max_age_ms; returns how many.
  size_t ExpireCursors(int64_t now_ms, int64_t max_age_ms);

  // Deletes up to `budget` keys of dead (flushed) namespaces and elements of
  // deleted collections; returns how many.
  size_t CollectGarbage(size_t budget) EXCLUDES(apply_mu_, mu_);
  // The function libraries (name, code) as of the latest Apply, by name.
  std::vector<std::pair<std::string, std::string>> Libraries() const;

  // Small named values (replication ids); empty when absent.
  Status PutMeta(const std::string& name, std::string_view value);
  std::string GetMeta(const std::string& name) const;

  // Deletes everything (a replica's full sync) and starts empty. An Apply
  // in progress with an older wipes() stops at its next LevelDB write.
  Status Wipe();

  // A consistent view of every key, for a replica's full sync: frames of
  // batches with sequence seq() (the snapshot's applied sequence). The
  // first batch sets each database's namespace and the function libraries;
  // the rest are PUTs.
  class Snapshot {
   public:
    virtual ~Snapshot() = default;
    virtual uint64_t seq() const = 0;
    // Appends frames of about max_bytes; false when the snapshot is done.
    virtual bool Next(size_t max_bytes, std::string* out) = 0;
  };
  std::unique_ptr<Snapshot> NewSnapshot();

  // Recovery is over: LevelDB is reopened with its normal write buffer (its
  // open turns the large memtable's log into level-0 tables; compacting them
  // is left to LevelDB's background work, which may slow the first writes).
  // If that reopen fails, LevelDB stays open with the recovery buffer; an
  // error only if it could not be opened at all.
  Status EndRecovery();

  // Closes and reopens LevelDB after a write error (LevelDB refuses every
  // write after one until it is reopened, e.g. once a full disk has room).
  Status Reopen();
  // Makes everything written to LevelDB so far durable, with the applied
  // sequence (a power loss leaves no hole under it): the log may be purged up
  // to that sequence once this returns.
  Status Sync();
  uint64_t ApproximateBytes() const;
  std::string Property(const std::string& name) const;
  // Bytes LevelDB's memtables hold (its memory apart from the block cache).
  uint64_t MemtableBytes() const;
  // When the memtable holds at least min_bytes, writes it out to a table
  // now (what LevelDB does once it is full) and frees it: an idle server
  // gives its memory back. kLater while a compaction of level 0 is due
  // (the flush would wait for it).
  enum class MemtableFlush { kNotNeeded, kFlushed, kLater };
  MemtableFlush FlushMemtable(uint64_t min_bytes);
  uint64_t memtable_flushes() const { return memtable_flushes_.load(); }

 private:
  // VisitElements with db_mu_ held (shared) and db_ open.
  Status VisitElementsHeld(const leveldb::ReadOptions& ro, uint32_t ns,
                           std::string_view key, uint64_t version,
                           const std::string* after, const ElementUntil& fn) const;
  DiskTier();
  Status LoadMeta();
  struct ApplyScratch;
  // In Apply: a sorted-set member (its 'e' key in sc.ekey) gets the score
  // `score` (raw 8 bytes; nullopt: removed): its 'e' record and its place in
  // the score index are written to `out`. The old score is read from LevelDB
  // unless the set is `fresh` (made by this group): so a set that existed
  // before the group must have its records in the group's last write, with
  // the applied sequence, for a replay of the group to find the scores as
  // they were before it; a fresh one's replay reads nothing and writes the
  // same records again.
  // An error when the old score cannot be read (the group is then retried).
  Status ChangeScore(ApplyScratch& sc, bool fresh, uint32_t ns, std::string_view key,
                     uint64_t version, std::string_view member,
                     std::optional<std::string_view> score,
                     leveldb::WriteBatch* out) const;

  DiskOptions options_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  // Shared by readers and writers, exclusive for Reopen().
  mutable std::shared_mutex db_mu_;
  // Null only after a failed Reopen(): every entry point then answers with
  // an error (Closed()) or nothing, and the applier retries the reopen.
  std::unique_ptr<leveldb::DB> db_;
  leveldb::Options options_for_open_;
  std::atomic<uint64_t> applied_seq_{0};
  std::atomic<uint64_t> memtable_flushes_{0};
  std::atomic<uint64_t> wipes_{0};
  std::atomic<bool> had_collections_{false};

  // Held across a whole group's Apply (LevelDB writes included), and by
  // what must not see half of one: NewSnapshot, Sync, CollectGarbage (which
  // only tries it). Nothing a client or the upkeep thread waits for takes
  // it: Apply runs at a low priority and may take seconds under load.
  Mutex apply_mu_ ACQUIRED_BEFORE(mu_);
  // Apply's buffers, kept from one group to the next (see disk_tier.cc);
  // null from ReleaseApplyBuffers until the next Apply.
  std::unique_ptr<ApplyScratch> scratch_ GUARDED_BY(apply_mu_);
  Mutex released_mu_;  // after apply_mu_
  std::unique_ptr<ApplyScratch> released_scratch_ GUARDED_BY(released_mu_);
  // The meta state as of the last complete Apply; held for moments only.
  mutable Mutex mu_;
  std::vector<uint32_t> nsmap_ GUARDED_BY(mu_);
  uint32_t next_ns_ GUARDED_BY(mu_) = 0;
  std::map<uint32_t, KeyspaceCounts> counts_ GUARDED_BY(mu_);
  std::vector<uint32_t> garbage_ GUARDED_BY(mu_);
  uint64_t next_version_ GUARDED_BY(mu_) = 1;  // of the next collection created
  // There may be 'v' records (elements of deleted collections) to collect.
  bool collections_garbage_ GUARDED_BY(mu_) = true;
  Status ConvertFormat();
};

std::string DiskKey(uint32_t ns, std::string_view key);

}  // namespace edgekv
