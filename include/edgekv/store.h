// The memory table: a lock-striped hash table of binary-safe string values,
// each with an optional absolute expiry in unix milliseconds, in `databases`
// separate namespaces (SELECT 0..15).
//
// A key hashes to one of stripe_count() stripes; a stripe has one mutex and
// holds that key in every database, so a command that touches keys in two
// databases (MOVE, COPY ... DB) still locks one stripe per key.
//
// Locking contract. Key operations (Find/Put/Erase/SetExpire/Watch) require
// the caller to hold the key's stripe: lock it with LockStripes() (sorted, so
// multi-key commands never deadlock) or LockAll() (MULTI/EXEC). Whole-database
// operations (FlushDb, Scan, Keys, RandomKey, ...) lock stripes one at a time
// themselves unless told `all_locked`, and must not be called while holding
// only some stripes. Every mutation is reported, under the stripe lock, to
// the MutationListener (the write-ahead log's hook) and marks WATCHers dirty.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/collection.h"
#include "edgekv/sharded_counter.h"
#include "edgekv/status.h"
#include "edgekv/thread_annotations.h"

namespace edgekv {

inline constexpr int64_t kNoExpire = -1;
// The longest key (Redis's documented limit); longer ones are refused before
// a command runs (an entry keeps 30 bits of key length).
inline constexpr size_t kMaxKeyBytes = size_t{512} << 20;

// One allocation per key: this header, then the expiry (only for a key that
// has one), then the key bytes, then the value. A tombstone (deleted, or known
// absent on disk) has no value; it hides what LevelDB may still hold until the
// deletion is applied there, and caches "absent" so that a missing key does
// not cost a disk read each time.
//
// The header is 24 bytes so that the usual key (tens of bytes) with a 64-byte
// value fits a 112-byte malloc chunk instead of a 128-byte one: keys without a
// TTL (most of them) do not pay for an expiry slot.
struct Entry {
  Entry* next;
  // Sequence number of the WAL batch that last changed this entry (high 48
  // bits; kPendingSeq while its command is running; 0 when loaded from disk)
  // and a 16-bit LRU clock in seconds.
  uint64_t seq_lru;
  uint32_t key_len;  // top bit: tombstone; next bit: has an expiry slot
  // The value's length; top bit: the value is a collection (a hash, set,
  // ...), whose 8 value bytes hold its Collection*, owned by the entry.
  uint32_t val_len;

  static constexpr uint32_t kTombstoneBit = 0x80000000u;
  static constexpr uint32_t kExpireBit = 0x40000000u;
  static constexpr uint32_t kLenMask = ~(kTombstoneBit | kExpireBit);
  static constexpr uint32_t kCollectionBit = 0x80000000u;  // in val_len
  static constexpr uint64_t kPendingSeq = (uint64_t{1} << 48) - 1;
  static_assert(kMaxKeyBytes <= kLenMask);

  // Bytes to allocate for an entry with these sizes.
  static size_t SizeFor(size_t klen, size_t vlen, bool expires) {
    return sizeof(Entry) + (expires ? sizeof(int64_t) : 0) + klen + vlen;
  }
  size_t size() const { return SizeFor(klen(), vlen(), has_slot()); }
  uint32_t vlen() const { return val_len & ~kCollectionBit; }

  bool has_slot() const { return key_len & kExpireBit; }
  const char* data() const {
    return reinterpret_cast<const char*>(this + 1) + (has_slot() ? sizeof(int64_t) : 0);
  }
  char* data() {
    return reinterpret_cast<char*>(this + 1) + (has_slot() ? sizeof(int64_t) : 0);
  }
  uint32_t klen() const { return key_len & kLenMask; }
  bool tombstone() const { return key_len & kTombstoneBit; }
  std::string_view key() const { return {data(), klen()}; }
  // A string's value (a collection's is its pointer: see collection()).
  std::string_view value() const { return {data() + klen(), vlen()}; }
  bool is_collection() const { return val_len & kCollectionBit; }
  ValueType type() const;
  // The collection a non-string entry holds; nullptr for a string.
  Collection* collection() const {
    if (!is_collection()) return nullptr;
    Collection* c;
    std::memcpy(&c, data() + klen(), sizeof(c));
    return c;
  }
  // Absolute unix ms, or kNoExpire.
  int64_t expire_ms() const {
    return has_slot() ? *reinterpret_cast<const int64_t*>(this + 1) : kNoExpire;
  }
  // Only for an entry allocated with a slot (or to clear an expiry).
  void set_expire_ms(int64_t ms) {
    if (has_slot()) *reinterpret_cast<int64_t*>(this + 1) = ms;
  }
  bool has_expire() const { return expire_ms() != kNoExpire; }
  bool ExpiredAt(int64_t now_ms) const {
    int64_t at = expire_ms();
    return at != kNoExpire && at <= now_ms;
  }
  uint64_t seq() const { return seq_lru >> 16; }
  uint16_t lru() const { return static_cast<uint16_t>(seq_lru & 0xffff); }
  void set_seq(uint64_t s) { seq_lru = (s << 16) | (seq_lru & 0xffff); }
  void set_lru(uint16_t c) { seq_lru = (seq_lru & ~uint64_t{0xffff}) | c; }
};
static_assert(sizeof(Entry) == 24);

inline ValueType Entry::type() const {
  return is_collection() ? collection()->type() : ValueType::kString;
}

// Receives every change to the table, with the key's stripe locked, before
// the change is made. The write-ahead log (Journal) implements it. `flags`
// are wal::kFlag* (created, had expire, has expire).
class MutationListener {
 public:
  virtual ~MutationListener() = default;
  virtual void OnPut(int db, std::string_view key, std::string_view value,
                     int64_t expire_ms, uint8_t flags) = 0;
  virtual void OnErase(int db, std::string_view key, uint8_t flags) = 0;
  // One element of a collection of type t (wal::Op::kHashSet, kSetAdd, ...;
  // `value` is a hash field's value, "" for a set's member).
  virtual void OnElementSet(int /*db*/, std::string_view /*key*/, ValueType /*t*/,
                            std::string_view /*elem*/, std::string_view /*value*/,
                            uint8_t /*flags*/) {}
  virtual void OnElementDel(int /*db*/, std::string_view /*key*/, ValueType /*t*/,
                            std::string_view /*elem*/, uint8_t /*flags*/) {}
  // A collection's expiry alone.
  virtual void OnExpire(int /*db*/, std::string_view /*key*/, int64_t /*expire_ms*/,
                        uint8_t /*flags*/) {}
  virtual void OnFlush(int db, uint32_t new_namespace) = 0;
  virtual void OnSwap(int a, int b) = 0;
  // Function libraries (server-wide, not in the store): FUNCTION LOAD,
  // DELETE, FLUSH and RESTORE log what they changed with the group.
  virtual void OnLibraryPut(std::string_view /*name*/, std::string_view /*code*/) {}
  virtual void OnLibraryDelete(std::string_view /*name*/) {}
  virtual void OnLibraryFlush() {}
  // Ends the current group of changes (one command, one EXEC, one expiry
  // round); returns its sequence number, 0 if there was nothing to log. The
  // stripes of the changed keys must still be held.
  virtual uint64_t Commit() = 0;
  // Drops the current group unlogged: a script the server stopped in the
  // middle (its effects stay in memory, which is about to go away).
  virtual void Discard() {}
};

// Set by the store when a WATCHed key changes; owned by the client.
struct WatchFlag {
  std::atomic<bool> dirty{false};
};

struct StoreOptions {
  int databases = 16;
  // A power of two. More stripes mean less contention and shorter pauses when
  // one stripe's table grows; each costs ~ (64 + 48 * databases) bytes.
  size_t stripes = 1024;
  // Replicas keep logically expired keys until the coordinator deletes them.
  bool delete_expired = true;
};

struct KeyspaceCounts {
  uint64_t keys = 0;
  uint64_t expires = 0;
};

struct TierStats {
  uint64_t hot_reads = 0;    // lookups answered from memory
  uint64_t cold_reads = 0;   // lookups that read LevelDB and found the key
  uint64_t disk_misses = 0;  // lookups that read LevelDB and found nothing
  // Elements read from LevelDB one by one, their collection left on disk
  // (Store::ReadElements).
  uint64_t cold_element_reads = 0;
  uint64_t evicted = 0;  // entries moved out of memory (safe on disk)
};

class ColdCollection;
class DiskTier;
class SortedView;
struct DiskValue;

class Store {
 public:
  explicit Store(StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int databases() const { return options_.databases; }
  size_t stripe_count() const { return stripes_.size(); }
  size_t StripeOf(std::string_view key) const;
  size_t StripeOfHash(uint64_t hash) const;  // hash: KeyHash(key)
  // Set once recovery is done (on its thread) while commands may already run
  // (INFO, PING, refused writes while loading).
  void set_listener(MutationListener* l) {
    listener_.store(l, std::memory_order_release);
  }
  MutationListener* listener() const { return listener_.load(std::memory_order_acquire); }

  // Puts LevelDB under the table (before serving; not thread-safe). From then
  // on a key missing from memory is read from disk, deletions leave
  // tombstones, and entries already applied to disk may be evicted.
  // `current_seq` returns the last WAL sequence assigned and `wait_applied`
  // blocks until the disk holds that sequence (SCAN/KEYS barrier).
  void AttachDisk(DiskTier* disk, std::function<uint64_t()> current_seq,
                  std::function<void(uint64_t)> wait_applied);
  bool has_disk() const { return disk_ != nullptr; }

  // While one is alive on a thread, the SCAN/KEYS barrier there waits only
  // until the disk holds `seq`: the dispatcher already made the client wait
  // for that without holding up its thread. Writes after `seq` came after
  // the command, so it need not see them.
  class BarrierReached {
   public:
    explicit BarrierReached(uint64_t seq);
    ~BarrierReached();
    BarrierReached(const BarrierReached&) = delete;
    BarrierReached& operator=(const BarrierReached&) = delete;

   private:
    uint64_t prev_;
  };

  // --- Locking ---------------------------------------------------------------
  // Locks the given stripes in ascending order; `stripes` is sorted and
  // de-duplicated in place.
  void LockStripes(std::vector<size_t>* stripes);
  void UnlockStripes(const std::vector<size_t>& stripes);
  // One more stripe without waiting (a script that holds others: waiting
  // while holding could deadlock); false when another thread holds it.
  bool TryLockStripe(size_t stripe);
  void LockAll();
  void UnlockAll();

  // --- Key operations: the key's stripe must be held -------------------------
  // The live entry for key, or nullptr. An expired entry is never returned
  // (and is deleted, reported as an erase, when delete_expired is set). A key
  // not in memory is read from disk and kept in memory. With touch false
  // (TYPE, TTL, EXISTS: Redis's LOOKUP_NOTOUCH) the key's idle time stays
  // as it was; one brought from disk counts as idle since it left memory
  // (kMaxIdleSeconds), as Inspect reports it.
  Entry* Find(int db, std::string_view key, int64_t now_ms, bool touch = true);
  // What OBJECT and MEMORY USAGE see of a live key, without counting as an
  // access: a key in memory keeps its idle time, and a key only on disk is
  // read without being brought into memory (describing every key, as
  // redis-cli --memkeys does, must not push the hot ones out). False when
  // the key does not exist (an expired key is deleted, as Find does).
  struct KeyInfo {
    size_t value_len = 0;
    std::string value_head;  // the value's first kInfoHeadBytes bytes
    // Seconds since the last read or write (a 16-bit clock: an entry idle
    // for longer than about 18 hours reads modulo that). A key only on
    // disk left memory for being idle: it reads kMaxIdleSeconds.
    int64_t idle_s = 0;
    // Its allocation and bucket slot in memory (what it would take there,
    // for a key only on disk).
    int64_t memory_bytes = 0;
    ValueType type = ValueType::kString;
    std::string encoding;  // a collection's (OBJECT ENCODING)
  };
  static constexpr size_t kInfoHeadBytes = 32;
  static constexpr int64_t kMaxIdleSeconds = 65535;
  bool Inspect(int db, std::string_view key, int64_t now_ms, KeyInfo* out);
  // The type and expiry of a live key, or nullopt; like Find (`touch` as
  // Find's), except that a collection only on disk stays there: its record
  // is read, not its elements (TYPE, EXISTS, TTL and the type check every
  // command makes).
  struct KeyMeta {
    ValueType type;
    int64_t expire_ms;  // kNoExpire without one
    // A collection whose elements are on disk (Find would load them).
    bool on_disk = false;
  };
  std::optional<KeyMeta> Meta(int db, std::string_view key, int64_t now_ms, bool touch);
  // Point reads of a collection's elements: fn(i, value) for each elems[i],
  // value as the log keeps it (a hash field's value, "" for a set member, a
  // sorted-set member's 8-byte score; nullopt when absent). A collection in
  // memory answers from there. One only on disk is read element by element
  // and stays on disk: the read policy is that a cold collection comes into
  // memory only for a command that needs all of it (Find), never for point
  // reads, so one larger than memory can be read. Returns the collection's
  // size, or -1 when the key holds no live collection of type t.
  using ElementFn = std::function<void(size_t i, std::optional<std::string_view> value)>;
  int64_t ReadElements(int db, std::string_view key, ValueType t, int64_t now_ms,
                       std::span<const std::string_view> elems, const ElementFn& fn);
  // The sorted set at key in (score, member) order for a range read (ZRANK,
  // ZCOUNT, the ZRANGE family, and what pops and ZREMRANGE remove): fn(view)
  // and true, or false when key holds no live sorted set. One on disk is
  // read through its score index, with the changes memory holds of it over
  // it, and stays on disk, as ReadElements leaves one.
  bool ReadSorted(int db, std::string_view key, int64_t now_ms,
                  const std::function<void(const SortedView&)>& fn);
  // HSCAN, SSCAN and ZSCAN of the collection at key (type t) from `cursor`,
  // about `count` elements; the next cursor (0 when done), or nullopt when
  // key holds no live collection of type t. One in memory, or only on disk
  // but small enough for its type's listpack (or intset) limit, which Find
  // brings into memory whole, is scanned there: in_memory(collection,
  // cursor) with its own cursors. A bigger one on disk stays there:
  // on_disk(elem, value as the log keeps it) for the elements in element
  // order after the last one the cursor names, the changes memory holds
  // merged in. Such a cursor has bit kDiskScanCursor set and names a record
  // kept on disk (as SCAN's). A cursor of the other kind, after the
  // collection moved between memory and disk, starts the scan over: it
  // may return elements twice, and misses none present throughout. An
  // error when the disk cannot be read (nothing is given then).
  static constexpr uint64_t kDiskScanCursor = uint64_t{1} << 52;
  StatusOr<std::optional<uint64_t>> ScanElements(
      int db, std::string_view key, ValueType t, int64_t now_ms, uint64_t cursor,
      size_t count,
      const std::function<uint64_t(const Collection&, uint64_t cursor)>& in_memory,
      const std::function<void(std::string_view elem, std::string_view value)>& on_disk);
  // Inserts or replaces the value and expiry.
  void Put(int db, std::string_view key, std::string_view value, int64_t expire_ms);
  // Removes a live or expired key; true if a live key was removed.
  bool Erase(int db, std::string_view key, int64_t now_ms);
  // Changes the expiry of an existing live key (a collection's is logged
  // alone, a string's with its value).
  bool SetExpire(int db, std::string_view key, int64_t expire_ms, int64_t now_ms);
  // --- Collections: the key's stripe must be held ----------------------------
  // False while no key has held a collection, in memory or on disk: then a
  // command that needs strings need not look at its keys' types first.
  // Becomes true (for good) with the first collection, under that key's
  // stripe lock, so a caller holding a key's stripe sees it in time.
  bool may_hold_collections() const;
  // The encodings' size thresholds (CONFIG SET may change them any time).
  EncodingLimits encoding_limits() const;
  void set_encoding_limits(const EncodingLimits& limits);
  // Sets a field of the hash at key, creating the hash when the key does not
  // exist (the key must not hold another type: the dispatcher answered
  // WRONGTYPE before). True when the field is new. `longest`: the longest
  // string of the whole command, which converts a listpack as one that long
  // would (HSET's arguments count together).
  bool HashSet(int db, std::string_view key, std::string_view field,
               std::string_view value, int64_t now_ms, size_t longest = 0);
  // Removes a field of the hash at key; the key goes with its last field.
  // True when the field was there.
  bool HashDel(int db, std::string_view key, std::string_view field, int64_t now_ms) {
    return RemoveElement(db, key, ValueType::kHash, field, now_ms);
  }
  // Adds a member to the set at key, creating the set when the key does not
  // exist, in the encoding Redis would give a set made with `size_hint`
  // members (SADD's count). True when the member is new.
  bool SetAdd(int db, std::string_view key, std::string_view member, int64_t now_ms,
              size_t size_hint = 1);
  // Removes a member; the key goes with its last member. True when it was there.
  bool SetRem(int db, std::string_view key, std::string_view member, int64_t now_ms) {
    return RemoveElement(db, key, ValueType::kSet, member, now_ms);
  }
  // Sets member's score in the sorted set at key as ZADD does with options
  // `o` (Redis's zsetAdd): creating the set when the key does not exist and
  // XX is not given, in the encoding Redis gives one made for `size_hint`
  // members of at most `longest` bytes. *new_score gets the member's score
  // unless the result is kNop or kNaN (INCR's sum not a number).
  struct ZAddOptions {
    bool nx = false, xx = false, gt = false, lt = false, incr = false;
  };
  enum class ZAddResult { kNop, kNaN, kUnchanged, kUpdated, kAdded };
  ZAddResult ZSetAdd(int db, std::string_view key, std::string_view member, double score,
                     int64_t now_ms, const ZAddOptions& o, double* new_score,
                     size_t size_hint = 1, size_t longest = 0);
  // Removes an element of the hash, set or sorted set at key (HashDel,
  // SetRem, ZREM).
  bool RemoveElement(int db, std::string_view key, ValueType t, std::string_view elem,
                     int64_t now_ms);
  // Puts a copy of a whole collection at key, replacing what was there
  // (RENAME, COPY, MOVE), logged element by element.
  void PutCollection(int db, std::string_view key, const Collection& c, int64_t expire_ms,
                     int64_t now_ms);

  // Records the WAL sequence of a committed change (Journal).
  void SetEntrySeq(int db, std::string_view key, uint64_t seq);
  // Starts loading the key's hash bucket (first_entry = false) or the first
  // entry of its chain (true) into the cache, for an operation on it a few
  // operations later: a batch of writes to random keys otherwise waits for
  // memory at every step. `hash` is KeyHash(key).
  void Prefetch(int db, uint64_t hash, bool first_entry) const;
  // The same for keys of requests still waiting in a client's pipeline:
  // their stripes and tables, then the bucket slots of all of them, then
  // their first entries, each read under its stripe's lock, taken for that
  // moment if free at once (else skipped).
  void PrefetchKeys(int db, std::span<const std::string_view> keys);
  uint64_t KeyHash(std::string_view key) const { return Hash(key); }
  void Watch(int db, std::string_view key, WatchFlag* flag);
  void Unwatch(int db, std::string_view key, WatchFlag* flag);

  // --- Whole-database operations ---------------------------------------------
  // Flush and swap need every stripe: callers pass all_locked = true after
  // LockAll() (the dispatcher does this for them), or false to let the store
  // lock everything itself.
  void FlushDb(int db, bool all_locked);
  // A replica applying the coordinator's FLUSHDB: the namespace is given.
  void ApplyFlush(int db, uint32_t ns, bool all_locked);
  // A replica's full sync: drops every entry from memory (no log record) and,
  // after the disk was refilled, reloads namespaces and counts from it.
  void DropMemory();
  void ReloadFromDisk();
  // Replicas keep logically expired keys until the coordinator deletes them.
  void set_delete_expired(bool v) { delete_expired_.store(v); }
  bool delete_expired() const { return delete_expired_.load(std::memory_order_relaxed); }
  void FlushAll(bool all_locked);
  void SwapDb(int a, int b, bool all_locked);
  uint64_t DbSize(int db) const;  // lock-free; counts not-yet-reaped keys
  // What the db's table spends in memory besides keys and values: bucket
  // arrays and entry headers (MEMORY STATS). Locks each stripe in turn
  // unless told `all_locked` (inside EXEC).
  int64_t OverheadBytes(int db, bool all_locked) const;
  KeyspaceCounts Counts(int db) const;
  // Visits keys per Redis SCAN rules: returns the next cursor (0 when done);
  // every key present for the whole scan is visited at least once, across
  // evictions and restarts.
  uint64_t Scan(int db, uint64_t cursor, size_t count, int64_t now_ms, bool all_locked,
                const std::function<void(std::string_view key)>& visit,
                std::string_view prefix = {}, std::optional<ValueType> type = {});
  void ForEach(int db, int64_t now_ms, bool all_locked,
               const std::function<void(std::string_view key)>& visit,
               std::string_view prefix = {});
  std::optional<std::string> RandomKey(int db, int64_t now_ms, bool all_locked);

  // One bounded round of active expiry over a slice of the stripes; returns
  // the number of keys reaped. Holds one stripe lock at a time, briefly.
  size_t ActiveExpireCycle(int64_t now_ms, int64_t budget_us);
  // Reaps expired keys that are only on disk, up to `budget` keys examined.
  size_t DiskExpireCycle(int64_t now_ms, size_t budget);
  // Moves least recently used entries already safe on disk out of memory
  // until used_bytes() <= target or nothing more can go; returns bytes freed.
  int64_t Evict(int64_t target_bytes);
  // Drops tombstones already applied to disk and idle for a while.
  size_t CleanTombstones(size_t max_stripes);

  // Bytes held by entries and bucket arrays (an allocator-level estimate).
  int64_t used_bytes() const;
  uint64_t expired_keys() const { return expired_keys_.load(std::memory_order_relaxed); }
  TierStats tier_stats() const;

 private:
  struct Stripe;
  class Dict;
  uint64_t Hash(std::string_view key) const;
  Stripe& StripeFor(uint64_t hash);
  void TouchWatchers(Stripe& s, int db, std::string_view key);
  void TouchAllWatchers(Stripe& s);
  // FLUSHDB, FLUSHALL and SWAPDB change a watched key only if it exists, as
  // in Redis 7: touches the watchers of keys live in db a or db b (b may be
  // -1; a -1 is every db). Every stripe is held; before the change.
  void TouchLiveWatchers(int a, int b);
  bool LiveIn(Stripe& s, int db, std::string_view key, int64_t now_ms);
  // The entry for key in memory, loading it from disk when absent (a
  // tombstone when the disk has nothing). nullptr only without a disk, or
  // when `cold` is given and the key is a collection only on disk: then
  // *cold gets its record and it stays there.
  Entry* Load(Stripe& s, int db, uint64_t hash, std::string_view key,
              DiskValue* cold = nullptr);
  void RemoveEntry(Stripe& s, Dict& d, std::string_view key, uint64_t hash);
  void ReplaceEntry(Stripe& s, Dict& d, Entry** link, Entry* e);
  void EraseLoaded(Stripe& s, int db, uint64_t hash, Entry* e);
  bool Evictable(const Entry* e) const;
  // A TTL went into stripe s's table for db (s held): active expiry visits it.
  void NoteTtl(Stripe& s, int db);
  size_t NextTtlStripe(int db, size_t from) const;
  size_t TtlStripes(int db) const;  // stripes whose bit is set for db
  uint32_t NamespaceOf(int db) const;
  void DiskBarrier();
  template <typename Fn>
  void WithStripe(size_t i, bool all_locked, Fn&& fn);
  uint64_t MemoryScan(int db, uint64_t cursor, size_t count, int64_t now_ms,
                      bool all_locked, const std::function<void(std::string_view)>& visit,
                      std::optional<ValueType> type);

  StoreOptions options_;
  uint64_t seed_;
  int stripe_shift_;
  std::vector<std::unique_ptr<Stripe>> stripes_;
  std::atomic<MutationListener*> listener_{nullptr};
  DiskTier* disk_ = nullptr;
  std::function<uint64_t()> current_seq_;
  std::function<void(uint64_t)> wait_applied_;
  // Logical namespace of each db on disk; changed only with every stripe
  // held, so holding any stripe is enough to read it.
  std::vector<uint32_t> namespaces_;
  uint32_t next_namespace_ = 0;
  // Key counts: base per db (from disk at start) plus per-stripe deltas.
  std::unique_ptr<std::atomic<int64_t>[]> base_keys_;
  std::unique_ptr<std::atomic<int64_t>[]> base_expires_;
  // Per db: may LevelDB hold keys that memory does not? Not while every key
  // written since start is still in memory and the db's namespace was empty
  // on disk at start (or since FLUSHDB): then a key missing from memory does
  // not exist, and writes of new keys skip the disk lookup. Set by the first
  // eviction; changed with the stripes of the evicted key (or all) held.
  std::unique_ptr<std::atomic<bool>[]> cold_keys_;
  bool MayBeOnDisk(int db) const {
    return disk_ != nullptr &&
           cold_keys_[static_cast<size_t>(db)].load(std::memory_order_relaxed);
  }
  // Per db, a bit per stripe whose table may hold entries with a TTL: set by
  // NoteTtl, cleared by the expire cycle after a sweep of the table that met
  // none (both under the stripe's lock). databases * ttl_words_ words.
  std::unique_ptr<std::atomic<uint64_t>[]> ttl_stripes_;
  size_t ttl_words_ = 0;
  Mutex expire_mu_;  // one expire cycle at a time
  std::vector<size_t> expire_stripe_ GUARDED_BY(expire_mu_);  // per db: next stripe
  int expire_db_ GUARDED_BY(expire_mu_) = 0;                  // the next cycle's first db
  std::atomic<size_t> evict_cursor_{0};
  std::atomic<uint64_t> evict_fruitless_at_{0};  // applied seq + 1 of a fruitless Evict
  std::atomic<size_t> clean_cursor_{0};
  // Bumped by every I/O thread (hits on every read): one slot per thread.
  ShardedCounter expired_keys_;
  std::atomic<int64_t> watchers_{0};
  ShardedCounter hot_reads_, cold_reads_, disk_misses_, cold_element_reads_;
  std::atomic<uint64_t> evicted_{0};
  std::atomic<bool> delete_expired_{true};
  std::atomic<bool> may_hold_collections_{false};
  std::atomic<size_t> hash_max_listpack_entries_{512};
  std::atomic<size_t> hash_max_listpack_value_{64};
  std::atomic<size_t> set_max_intset_entries_{512};
  std::atomic<size_t> set_max_listpack_entries_{128};
  std::atomic<size_t> set_max_listpack_value_{64};
  std::atomic<size_t> zset_max_listpack_entries_{128};
  std::atomic<size_t> zset_max_listpack_value_{64};
  void SetCollectionExpire(int db, Entry* e, int64_t expire_ms);
  // Erase of a key only on disk, from its record alone: 1 a live key was
  // erased, 0 an expired one, -1 none (absent; expired and kept; or live
  // and only_expired, the expiry cycle's).
  int EraseOnDisk(Stripe& s, int db, uint64_t hash, std::string_view key, int64_t now_ms,
                  bool only_expired = false);
  // Inserts a collection entry at key over a tombstone or nothing.
  Entry* InsertCollection(Stripe& s, int db, uint64_t hash, std::string_view key,
                          std::unique_ptr<Collection> c, int64_t expire_ms, uint64_t seq);
  // One element's change (HashSet, SetAdd, ZSetAdd). In a collection in
  // memory, `change(collection, limits, &logged)` makes it (in the live
  // collection of type t at key, created empty when the key is missing and
  // `create`; nothing for another type, which the caller has checked) and
  // says how it went. In one kept on disk (ColdCollection), `decide(current
  // value or nullopt, &logged)` says what happens to the element, which then
  // joins its changes in memory. An element added or changed is logged with
  // the value `logged`.
  enum class ElementChange { kNone, kChanged, kAdded };
  template <typename Change, typename Decide>
  ElementChange ChangeElement(int db, std::string_view key, ValueType t,
                              std::string_view elem, int64_t now_ms, bool create,
                              const Change& change, const Decide& decide);
  // Find, from the entry for key in memory that the caller looked up
  // (nullptr when there is none).
  Entry* FindFrom(Stripe& s, int db, uint64_t hash, std::string_view key, Entry* e,
                  int64_t now_ms, bool touch);
  // The write policy: a collection only on disk with more elements than
  // this type's compact encodings hold stays there when an element of it
  // changes (or its expiry does); a smaller one is loaded whole.
  bool KeepOnDisk(ValueType t, uint64_t size) const;
  // The live entry for key for a change of an element or of the expiry: as
  // Find, except that a collection KeepOnDisk keeps there comes as (or
  // becomes) a ColdCollection, its elements left on disk.
  Entry* FindForChange(Stripe& s, int db, uint64_t hash, std::string_view key,
                       int64_t now_ms);
  // Replaces e, a ColdCollection's entry, with one holding the whole
  // collection: the disk's elements with its changes over them (Find).
  // nullptr, e unchanged, when the disk cannot be read.
  Entry* CompleteCollection(Stripe& s, int db, uint64_t hash, Entry* e);
  // elem's value in a ColdCollection: its change, else the disk's.
  std::optional<std::string> CurrentElement(int db, std::string_view key,
                                            const ColdCollection& c,
                                            std::string_view elem);
  // Drops a ColdCollection's changes once its entry is clean (all on disk).
  void ForgetAppliedChanges(Stripe& s, Entry* e);
  // Where the live collection of type t at key is, for a read that leaves a
  // cold one on disk: its entry in memory (a ColdCollection's when on disk),
  // or none when it is only on disk; nullopt when key holds no live
  // collection of type t. version: a collection on disk's.
  struct ReadLocation {
    Entry* entry;
    uint64_t hash;
    uint64_t version;
    uint64_t size;
  };
  std::optional<ReadLocation> LocateForRead(int db, std::string_view key, ValueType t,
                                            int64_t now_ms);
  // One element of a collection from disk (counted in cold_element_reads).
  bool ReadColdElement(int db, std::string_view key, uint64_t version,
                       std::string_view elem, std::string* value);
  // After a change to e's collection: its sequence, LRU clock and the
  // stripe's byte count (the collection had bytes_before).
  void ElementChanged(Stripe& s, Entry* e, int64_t bytes_before, uint64_t seq);
  void FlushInternal(int db, const uint32_t* ns, bool all_locked);
  // Disk expiry scan position: db and last key examined.
  Mutex disk_expire_mu_;
  int disk_expire_db_ GUARDED_BY(disk_expire_mu_) = 0;
  std::string disk_expire_key_ GUARDED_BY(disk_expire_mu_);
};

// Acquires the stripes of a set of keys (or all stripes) for one command and
// releases them at scope exit.
class StripeGuard {
 public:
  StripeGuard(Store* store, std::vector<size_t> stripes);
  StripeGuard(Store* store, bool all);
  ~StripeGuard();
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;

 private:
  Store* store_;
  bool all_;
  std::vector<size_t> stripes_;
};

}  // namespace edgekv
