#include "edgekv/store.h"

#include <time.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <new>
#include <random>
#include <unordered_map>

#include "disk_tier.h"
#include "edgekv/log.h"
#include "edgekv/wal_format.h"

namespace edgekv {
namespace {

// What glibc malloc really hands out for a request of n bytes.
int64_t AllocSize(size_t n) {
  return static_cast<int64_t>(std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}));
}

// The LRU clock: seconds, 16 bits (wraps every ~18 hours; idle times are
// computed modulo the wrap, as Redis does with its 24-bit clock). Read on
// every key access, so from the coarse clock (the kernel's tick: a few ns
// instead of tens); a second's resolution needs no more.
uint16_t LruClock() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint16_t>(ts.tv_sec & 0xffff);
}

uint16_t IdleSeconds(const Entry* e, uint16_t now) {
  return static_cast<uint16_t>(now - e->lru());
}

Entry* NewEntry(std::string_view key, std::string_view value, int64_t expire_ms,
                bool tombstone, uint64_t seq) {
  bool expires = expire_ms != kNoExpire;
  void* mem = ::operator new(Entry::SizeFor(key.size(), value.size(), expires));
  Entry* e = static_cast<Entry*>(mem);
  e->next = nullptr;
  e->seq_lru = 0;
  e->set_seq(seq);
  e->set_lru(LruClock());
  e->key_len = static_cast<uint32_t>(key.size()) |
               (tombstone ? Entry::kTombstoneBit : 0) | (expires ? Entry::kExpireBit : 0);
  e->val_len = static_cast<uint32_t>(value.size());
  e->set_expire_ms(expire_ms);
  if (!key.empty()) std::memcpy(e->data(), key.data(), key.size());
  if (!value.empty()) std::memcpy(e->data() + key.size(), value.data(), value.size());
  return e;
}

int64_t EntryBytes(const Entry* e) { return AllocSize(e->size()); }

void FreeEntry(Entry* e) { ::operator delete(e); }

uint64_t Rev(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

// Redis's reverse-binary cursor step: covers every bucket of the table once
// even if the table grows or shrinks between calls.
uint64_t NextCursor(uint64_t v, uint64_t mask) {
  v |= ~mask;
  v = Rev(v);
  ++v;
  return Rev(v);
}

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Memory-only SCAN cursors: bucket cursor << 10 | stripe, kept under 2^53 so
// that clients parsing cursors as doubles (node-redis 4) are exact.
constexpr int kCursorStripeBits = 10;

thread_local std::mt19937_64 tl_rng{std::random_device{}()};

}  // namespace

// A chained hash table with power-of-two buckets, resized all at once (a
// stripe holds a small share of the keys, so a resize is short).
class Store::Dict {
 public:
  Dict() = default;
  ~Dict() { Clear(); }
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;

  void Swap(Dict& o) {
    std::swap(buckets_, o.buckets_);
    std::swap(nbuckets_, o.nbuckets_);
    std::swap(entries_, o.entries_);
    std::swap(expire_cursor_, o.expire_cursor_);
    std::swap(ttl_seen_, o.ttl_seen_);
    int64_t a = keys_.load(), b = o.keys_.load();
    keys_.store(b);
    o.keys_.store(a);
    a = expires_.load();
    b = o.expires_.load();
    expires_.store(b);
    o.expires_.store(a);
  }

  size_t entries() const { return entries_; }
  size_t nbuckets() const { return nbuckets_; }
  Entry* bucket(size_t i) const { return buckets_[i]; }
  uint64_t& expire_cursor() { return expire_cursor_; }
  // Has the active expiry's current sweep of this table (its cursor from 0
  // back to 0) met an entry with a TTL, or has one gone in since it began?
  bool& ttl_seen() { return ttl_seen_; }
  // Live-key deltas against the database's base count (atomics: read
  // without the stripe lock by DBSIZE).
  std::atomic<int64_t>& keys() { return keys_; }
  std::atomic<int64_t>& expires() { return expires_; }
  const std::atomic<int64_t>& keys() const { return keys_; }
  const std::atomic<int64_t>& expires() const { return expires_; }

  void Prefetch(uint64_t hash, bool first_entry) const {
    if (nbuckets_ == 0) return;
    Entry* const* slot = &buckets_[hash & (nbuckets_ - 1)];
    if (!first_entry) {
      __builtin_prefetch(slot);
    } else if (const Entry* e = *slot) {
      __builtin_prefetch(e);
    }
  }

  // The link that points at key's entry, or at the null ending its chain.
  Entry** Link(std::string_view key, uint64_t hash) const {
    if (nbuckets_ == 0) return nullptr;
    Entry** link = &buckets_[hash & (nbuckets_ - 1)];
    while (*link != nullptr) {
      Entry* e = *link;
      if (e->klen() == key.size() &&
          std::memcmp(e->data(), key.data(), key.size()) == 0) {
        return link;
      }
      link = &e->next;
    }
    return link;
  }

  // Returns the bytes the bucket array grew by.
  template <typename HashFn>
  int64_t Insert(Entry* e, uint64_t hash, HashFn&& rehash) {
    int64_t grown = 0;
    if (entries_ + 1 > nbuckets_) grown = Resize(nbuckets_ ? nbuckets_ * 2 : 4, rehash);
    Entry** head = &buckets_[hash & (nbuckets_ - 1)];
    e->next = *head;
    *head = e;
    ++entries_;
    return grown;
  }

  void Unlinked() { --entries_; }

  // Shrinks a sparse table; returns the (negative) change in bytes.
  template <typename HashFn>
  int64_t MaybeShrink(HashFn&& rehash) {
    if (nbuckets_ > 4 && entries_ * 8 < nbuckets_) {
      size_t n = 4;
      while (n < entries_) n *= 2;
      return Resize(n, rehash);
    }
    return 0;
  }

  // Frees every entry; returns the bytes released.
  int64_t Clear() {
    int64_t freed = 0;
    for (size_t i = 0; i < nbuckets_; ++i) {
      Entry* e = buckets_[i];
      while (e != nullptr) {
        Entry* next = e->next;
        freed += EntryBytes(e);
        FreeEntry(e);
        e = next;
      }
    }
    freed += BucketBytes();
    delete[] buckets_;
    buckets_ = nullptr;
    nbuckets_ = 0;
    entries_ = 0;
    keys_.store(0);
    expires_.store(0);
    return freed;
  }

  int64_t BucketBytes() const { return static_cast<int64_t>(nbuckets_ * sizeof(Entry*)); }

 private:
  template <typename HashFn>
  int64_t Resize(size_t n, HashFn&& rehash) {
    int64_t before = BucketBytes();
    Entry** nb = new Entry*[n]();
    for (size_t i = 0; i < nbuckets_; ++i) {
      Entry* e = buckets_[i];
      while (e != nullptr) {
        Entry* next = e->next;
        Entry** head = &nb[rehash(e->key()) & (n - 1)];
        e->next = *head;
        *head = e;
        e = next;
      }
    }
    delete[] buckets_;
    buckets_ = nb;
    nbuckets_ = n;
    return BucketBytes() - before;
  }

  Entry** buckets_ = nullptr;
  size_t nbuckets_ = 0;
  size_t entries_ = 0;  // including tombstones
  uint64_t expire_cursor_ = 0;
  bool ttl_seen_ = false;
  std::atomic<int64_t> keys_{0};
  std::atomic<int64_t> expires_{0};
};

struct alignas(64) Store::Stripe {
  Stripe(size_t index, int dbs) : index(index), dbs(new Dict[static_cast<size_t>(dbs)]) {}
  const size_t index;
  Mutex mu;
  // The Dicts are guarded by mu (clang's analysis cannot say so of a
  // unique_ptr).
  std::unique_ptr<Dict[]> dbs;
  std::atomic<int64_t> bytes{0};
  // WATCHed keys of this stripe: (db, key) -> flags of the watching clients.
  std::unordered_multimap<std::string, WatchFlag*> watchers GUARDED_BY(mu);
};

namespace {
std::string WatchKey(int db, std::string_view key) {
  std::string k;
  k.reserve(key.size() + 2);
  k.push_back(static_cast<char>(db & 0xff));
  k.push_back(static_cast<char>((db >> 8) & 0xff));
  k.append(key);
  return k;
}

uint8_t KeyFlags(const Entry* before, int64_t expire_after) {
  uint8_t f = 0;
  bool existed = before != nullptr && !before->tombstone();
  if (!existed) f |= wal::kFlagCreated;
  if (existed && before->has_expire()) f |= wal::kFlagHadExpire;
  if (expire_after != kNoExpire) f |= wal::kFlagHasExpire;
  return f;
}
}  // namespace

Store::Store(StoreOptions options) : options_(options) {
  delete_expired_ = options_.delete_expired;
  size_t n = 1;
  while (n < options_.stripes) n *= 2;
  options_.stripes = n;
  int bits = 0;
  while ((size_t{1} << bits) < n) ++bits;
  stripe_shift_ = 64 - bits;
  std::random_device rd;
  seed_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  stripes_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    stripes_.push_back(std::make_unique<Stripe>(i, options_.databases));
  }
  size_t dbs = static_cast<size_t>(options_.databases);
  ttl_words_ = (n + 63) / 64;
  ttl_stripes_.reset(new std::atomic<uint64_t>[dbs * ttl_words_]);
  for (size_t i = 0; i < dbs * ttl_words_; ++i) ttl_stripes_[i] = 0;
  expire_stripe_.assign(dbs, 0);
  base_keys_.reset(new std::atomic<int64_t>[dbs]);
  base_expires_.reset(new std::atomic<int64_t>[dbs]);
  cold_keys_.reset(new std::atomic<bool>[dbs]);
  for (size_t i = 0; i < dbs; ++i) {
    cold_keys_[i] = false;
    base_keys_[i] = 0;
    base_expires_[i] = 0;
    namespaces_.push_back(static_cast<uint32_t>(i));
  }
  next_namespace_ = static_cast<uint32_t>(dbs);
}

Store::~Store() = default;

void Store::AttachDisk(DiskTier* disk, std::function<uint64_t()> current_seq,
                       std::function<void(uint64_t)> wait_applied) {
  disk_ = disk;
  current_seq_ = std::move(current_seq);
  wait_applied_ = std::move(wait_applied);
  namespaces_ = disk->namespaces();
  next_namespace_ = disk->next_namespace();
  for (int db = 0; db < options_.databases; ++db) {
    KeyspaceCounts c = disk->counts(namespaces_[static_cast<size_t>(db)]);
    base_keys_[static_cast<size_t>(db)] = static_cast<int64_t>(c.keys);
    base_expires_[static_cast<size_t>(db)] = static_cast<int64_t>(c.expires);
    cold_keys_[static_cast<size_t>(db)] = c.keys > 0;
  }
}

uint64_t Store::Hash(std::string_view key) const {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed_);
}

size_t Store::StripeOf(std::string_view key) const { return StripeOfHash(Hash(key)); }

size_t Store::StripeOfHash(uint64_t hash) const {
  if (stripe_shift_ == 64) return 0;
  return static_cast<size_t>(hash >> stripe_shift_);
}

Store::Stripe& Store::StripeFor(uint64_t hash) {
  return *stripes_[stripe_shift_ == 64 ? 0 : hash >> stripe_shift_];
}

uint32_t Store::NamespaceOf(int db) const { return namespaces_[static_cast<size_t>(db)]; }

void Store::LockStripes(std::vector<size_t>* stripes) NO_THREAD_SAFETY_ANALYSIS {
  std::sort(stripes->begin(), stripes->end());
  stripes->erase(std::unique(stripes->begin(), stripes->end()), stripes->end());
  for (size_t s : *stripes) stripes_[s]->mu.Lock();
}

void Store::UnlockStripes(const std::vector<size_t>& stripes) NO_THREAD_SAFETY_ANALYSIS {
  for (auto it = stripes.rbegin(); it != stripes.rend(); ++it) stripes_[*it]->mu.Unlock();
}

bool Store::TryLockStripe(size_t stripe) NO_THREAD_SAFETY_ANALYSIS {
  return stripes_[stripe]->mu.TryLock();
}

void Store::LockAll() NO_THREAD_SAFETY_ANALYSIS {
  for (auto& s : stripes_) s->mu.Lock();
}

void Store::UnlockAll() NO_THREAD_SAFETY_ANALYSIS {
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) (*it)->mu.Unlock();
}

template <typename Fn>
void Store::WithStripe(size_t i, bool all_locked, Fn&& fn) NO_THREAD_SAFETY_ANALYSIS {
  Stripe& s = *stripes_[i];
  if (all_locked) {
    fn(s);
  } else {
    MutexLock l(&s.mu);
    fn(s);
  }
}

void Store::TouchWatchers(Stripe& s, int db,
                          std::string_view key) NO_THREAD_SAFETY_ANALYSIS {
  if (watchers_.load(std::memory_order_relaxed) == 0 || s.watchers.empty()) return;
  auto range = s.watchers.equal_range(WatchKey(db, key));
  for (auto it = range.first; it != range.second; ++it) {
    it->second->dirty.store(true, std::memory_order_relaxed);
  }
}

void Store::TouchAllWatchers(Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
  if (watchers_.load(std::memory_order_relaxed) == 0) return;
  for (auto& [k, flag] : s.watchers) flag->dirty.store(true, std::memory_order_relaxed);
}

bool Store::LiveIn(Stripe& s, int db, std::string_view key,
                   int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  Entry** link = s.dbs[static_cast<size_t>(db)].Link(key, Hash(key));
  if (link != nullptr && *link != nullptr) {
    return !(*link)->tombstone() && !(*link)->ExpiredAt(now_ms);
  }
  if (!MayBeOnDisk(db)) return false;
  DiskValue dv;  // read, not loaded: the key is about to go
  Status st = disk_->Get(NamespaceOf(db), key, &dv);
  if (st.code() == Status::Code::kNotFound) return false;
  return !st.ok() || dv.expire_ms == kNoExpire || dv.expire_ms > now_ms;
}

void Store::TouchLiveWatchers(int a, int b) NO_THREAD_SAFETY_ANALYSIS {
  if (watchers_.load(std::memory_order_relaxed) == 0) return;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (auto& sp : stripes_) {
    for (auto& [k, flag] : sp->watchers) {
      int kdb =
          static_cast<unsigned char>(k[0]) | (static_cast<unsigned char>(k[1]) << 8);
      if (a >= 0 && kdb != a && kdb != b) continue;
      std::string_view key = std::string_view(k).substr(2);
      // The swapped key lands in the other db: it changes if either has it.
      int other = kdb == a ? b : a;
      if (LiveIn(*sp, kdb, key, now_ms) ||
          (a >= 0 && other >= 0 && LiveIn(*sp, other, key, now_ms))) {
        flag->dirty.store(true, std::memory_order_relaxed);
      }
    }
  }
}

bool Store::Evictable(const Entry* e) const {
  if (disk_ == nullptr) return false;
  uint64_t seq = e->seq();
  return seq != Entry::kPendingSeq && seq <= disk_->applied_seq();
}

void Store::RemoveEntry(Stripe& s, Dict& d, std::string_view key, uint64_t hash) {
  Entry** link = d.Link(key, hash);
  Entry* e = *link;
  *link = e->next;
  d.Unlinked();
  int64_t delta = -EntryBytes(e);
  FreeEntry(e);
  delta += d.MaybeShrink([this](std::string_view k) { return Hash(k); });
  s.bytes.fetch_add(delta, std::memory_order_relaxed);
}

void Store::ReplaceEntry(Stripe& s, Dict& d, Entry** link, Entry* e) {
  Entry* old = *link;
  e->next = old->next;
  *link = e;
  s.bytes.fetch_add(EntryBytes(e) - EntryBytes(old), std::memory_order_relaxed);
  FreeEntry(old);
  (void)d;
}

Entry* Store::Load(Stripe& s, int db, uint64_t h,
                   std::string_view key) NO_THREAD_SAFETY_ANALYSIS {
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  if (link != nullptr && *link != nullptr) {
    (*link)->set_lru(LruClock());
    return *link;
  }
  if (!MayBeOnDisk(db)) return nullptr;
  DiskValue dv;
  Status st = disk_->Get(NamespaceOf(db), key, &dv);
  Entry* e;
  if (st.ok()) {
    cold_reads_.fetch_add(1, std::memory_order_relaxed);
    e = NewEntry(key, dv.value, dv.expire_ms, false, 0);
    if (dv.expire_ms != kNoExpire) NoteTtl(s, db);
  } else {
    if (st.code() != Status::Code::kNotFound) {
      Log(LogLevel::kWarning, "disk read failed: {}", st.message());
    }
    disk_misses_.fetch_add(1, std::memory_order_relaxed);
    e = NewEntry(key, {}, kNoExpire, true, 0);
  }
  int64_t grown = d.Insert(e, h, [this](std::string_view k) { return Hash(k); });
  s.bytes.fetch_add(EntryBytes(e) + grown, std::memory_order_relaxed);
  return e;
}

// Deletes a loaded, non-tombstone entry: a tombstone stays while a disk may
// still hold the key.
void Store::EraseLoaded(Stripe& s, int db, uint64_t h,
                        Entry* e) NO_THREAD_SAFETY_ANALYSIS {
  Dict& d = s.dbs[static_cast<size_t>(db)];
  std::string_view key = e->key();
  TouchWatchers(s, db, key);
  uint8_t flags = e->has_expire() ? wal::kFlagHadExpire : 0;
  if (MutationListener* l = listener()) l->OnErase(db, key, flags);
  d.keys().fetch_sub(1, std::memory_order_relaxed);
  if (e->has_expire()) d.expires().fetch_sub(1, std::memory_order_relaxed);
  if (disk_ != nullptr) {
    Entry** link = d.Link(key, h);
    ReplaceEntry(s, d, link, NewEntry(key, {}, kNoExpire, true, Entry::kPendingSeq));
  } else {
    std::string k(key);
    RemoveEntry(s, d, k, h);
  }
}

bool Store::Inspect(int db, std::string_view key, int64_t now_ms,
                    KeyInfo* out) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  Entry* e = (link != nullptr && *link != nullptr) ? *link : nullptr;
  std::string_view value;
  DiskValue dv;
  if (e != nullptr) {
    if (e->tombstone()) return false;
    if (e->ExpiredAt(now_ms)) {
      Find(db, key, now_ms);  // deletes it, as any lookup does
      return false;
    }
    value = e->value();
    out->idle_s = IdleSeconds(e, LruClock());
    out->memory_bytes = EntryBytes(e);
  } else {
    if (!MayBeOnDisk(db)) return false;
    Status st = disk_->Get(NamespaceOf(db), key, &dv);
    if (!st.ok()) {
      if (st.code() != Status::Code::kNotFound) {
        Log(LogLevel::kWarning, "disk read failed: {}", st.message());
      }
      return false;
    }
    if (dv.expire_ms != kNoExpire && dv.expire_ms <= now_ms) return false;
    value = dv.value;
    out->idle_s = kMaxIdleSeconds;
    out->memory_bytes =
        AllocSize(Entry::SizeFor(key.size(), value.size(), dv.expire_ms != kNoExpire));
  }
  out->memory_bytes += static_cast<int64_t>(sizeof(Entry*));
  out->value_len = value.size();
  out->value_head.assign(value.substr(0, kInfoHeadBytes));
  return true;
}

Entry* Store::Find(int db, std::string_view key, int64_t now_ms,
                   bool touch) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  Entry* e = (link != nullptr && *link != nullptr) ? *link : nullptr;
  if (e != nullptr) {
    hot_reads_.fetch_add(1, std::memory_order_relaxed);
    if (touch) e->set_lru(LruClock());
  } else {
    e = Load(s, db, h, key);
    // Idle for the most the clock holds: now - lru wraps to 65535.
    if (e != nullptr && !touch) e->set_lru(static_cast<uint16_t>(LruClock() + 1));
  }
  if (e == nullptr || e->tombstone()) return nullptr;
  if (!e->ExpiredAt(now_ms)) return e;
  if (delete_expired()) {
    EraseLoaded(s, db, h, e);
    expired_keys_.fetch_add(1, std::memory_order_relaxed);
  }
  return nullptr;
}

void Store::Put(int db, std::string_view key, std::string_view value,
                int64_t expire_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  Entry* old = (link != nullptr && *link != nullptr) ? *link : nullptr;
  uint8_t flags;
  if (old == nullptr && MayBeOnDisk(db)) {
    // Not in memory: ask the disk whether the key exists (the bloom filter
    // answers for new keys) without caching the answer, which is replaced now.
    DiskValue dv;
    Status st = disk_->Get(NamespaceOf(db), key, &dv);
    flags =
        st.ok()
            ? static_cast<uint8_t>((dv.expire_ms != kNoExpire ? wal::kFlagHadExpire : 0) |
                                   (expire_ms != kNoExpire ? wal::kFlagHasExpire : 0))
            : KeyFlags(nullptr, expire_ms);
  } else {
    flags = KeyFlags(old, expire_ms);
  }
  TouchWatchers(s, db, key);
  MutationListener* journal = listener();
  if (journal != nullptr) journal->OnPut(db, key, value, expire_ms, flags);
  if (flags & wal::kFlagCreated) d.keys().fetch_add(1, std::memory_order_relaxed);
  bool had = flags & wal::kFlagHadExpire, has = flags & wal::kFlagHasExpire;
  if (has && !had) d.expires().fetch_add(1, std::memory_order_relaxed);
  if (had && !has) d.expires().fetch_sub(1, std::memory_order_relaxed);
  if (expire_ms != kNoExpire) NoteTtl(s, db);
  uint64_t seq = journal != nullptr ? Entry::kPendingSeq : 0;
  if (old != nullptr) {
    // Overwrite in place when the value's size is the same and the entry has
    // an expiry slot if one is needed (a slot may stay, holding kNoExpire).
    if (!old->tombstone() && old->val_len == value.size() &&
        (old->has_slot() || expire_ms == kNoExpire)) {
      if (!value.empty())
        std::memcpy(old->data() + old->klen(), value.data(), value.size());
      old->set_expire_ms(expire_ms);
      old->set_seq(seq);
      old->set_lru(LruClock());
      return;
    }
    ReplaceEntry(s, d, link, NewEntry(key, value, expire_ms, false, seq));
    return;
  }
  Entry* e = NewEntry(key, value, expire_ms, false, seq);
  int64_t grown = d.Insert(e, h, [this](std::string_view k) { return Hash(k); });
  s.bytes.fetch_add(EntryBytes(e) + grown, std::memory_order_relaxed);
}

bool Store::Erase(int db, std::string_view key,
                  int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Entry* e = Load(s, db, h, key);
  if (e == nullptr || e->tombstone()) return false;
  bool live = !e->ExpiredAt(now_ms);
  if (!live && !delete_expired()) return false;
  EraseLoaded(s, db, h, e);
  if (!live) expired_keys_.fetch_add(1, std::memory_order_relaxed);
  return live;
}

bool Store::SetExpire(int db, std::string_view key, int64_t expire_ms, int64_t now_ms) {
  Entry* e = Find(db, key, now_ms);
  if (e == nullptr) return false;
  // Logged as a PUT of the whole value: every record is self-contained.
  std::string value(e->value());
  Put(db, key, value, expire_ms);
  return true;
}

void Store::SetEntrySeq(int db, std::string_view key,
                        uint64_t seq) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Entry** link = s.dbs[static_cast<size_t>(db)].Link(key, h);
  if (link != nullptr && *link != nullptr && (*link)->seq() == Entry::kPendingSeq) {
    (*link)->set_seq(seq);
  }
}

void Store::Prefetch(int db, uint64_t hash,
                     bool first_entry) const NO_THREAD_SAFETY_ANALYSIS {
  const Stripe& s = *stripes_[StripeOfHash(hash)];
  s.dbs[static_cast<size_t>(db)].Prefetch(hash, first_entry);
}

void Store::PrefetchKeys(int db, std::span<const std::string_view> keys)
    NO_THREAD_SAFETY_ANALYSIS {
  constexpr size_t kMax = 32;
  uint64_t hashes[kMax];
  const size_t n = std::min(keys.size(), kMax);
  // Each pass asks for what the one before brought: the stripe (its lock
  // and its tables' address), the key's db table, its bucket slot, the
  // entry the slot points at.
  for (size_t i = 0; i < n; ++i) {
    hashes[i] = Hash(keys[i]);
    __builtin_prefetch(stripes_[StripeOfHash(hashes[i])].get());
  }
  for (size_t i = 0; i < n; ++i) {
    // dbs is set once, at construction: read without the lock.
    __builtin_prefetch(&stripes_[StripeOfHash(hashes[i])]->dbs[static_cast<size_t>(db)]);
  }
  for (bool first_entry : {false, true}) {
    for (size_t i = 0; i < n; ++i) {
      Stripe& s = *stripes_[StripeOfHash(hashes[i])];
      if (!s.mu.TryLock()) continue;
      s.dbs[static_cast<size_t>(db)].Prefetch(hashes[i], first_entry);
      s.mu.Unlock();
    }
  }
}

void Store::Watch(int db, std::string_view key,
                  WatchFlag* flag) NO_THREAD_SAFETY_ANALYSIS {
  Stripe& s = StripeFor(Hash(key));
  s.watchers.emplace(WatchKey(db, key), flag);
  watchers_.fetch_add(1, std::memory_order_relaxed);
}

void Store::Unwatch(int db, std::string_view key,
                    WatchFlag* flag) NO_THREAD_SAFETY_ANALYSIS {
  Stripe& s = StripeFor(Hash(key));
  auto range = s.watchers.equal_range(WatchKey(db, key));
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == flag) {
      s.watchers.erase(it);
      watchers_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
}

void Store::FlushDb(int db, bool all_locked) { FlushInternal(db, nullptr, all_locked); }

void Store::ApplyFlush(int db, uint32_t ns, bool all_locked) {
  FlushInternal(db, &ns, all_locked);
}

void Store::DropMemory() NO_THREAD_SAFETY_ANALYSIS {
  std::vector<std::unique_ptr<Dict>> garbage;
  LockAll();
  for (auto& sp : stripes_) {
    for (int i = 0; i < options_.databases; ++i) {
      auto g = std::make_unique<Dict>();
      g->Swap(sp->dbs[static_cast<size_t>(i)]);
      garbage.push_back(std::move(g));
    }
    sp->bytes.store(0);
    TouchAllWatchers(*sp);
  }
  for (int i = 0; i < options_.databases; ++i) {
    base_keys_[static_cast<size_t>(i)] = 0;
    base_expires_[static_cast<size_t>(i)] = 0;
    cold_keys_[static_cast<size_t>(i)] = true;  // until ReloadFromDisk() knows
  }
  UnlockAll();
}

void Store::ReloadFromDisk() NO_THREAD_SAFETY_ANALYSIS {
  LockAll();
  namespaces_ = disk_->namespaces();
  next_namespace_ = disk_->next_namespace();
  for (int db = 0; db < options_.databases; ++db) {
    KeyspaceCounts c = disk_->counts(namespaces_[static_cast<size_t>(db)]);
    base_keys_[static_cast<size_t>(db)] = static_cast<int64_t>(c.keys);
    base_expires_[static_cast<size_t>(db)] = static_cast<int64_t>(c.expires);
    cold_keys_[static_cast<size_t>(db)] = c.keys > 0;
  }
  UnlockAll();
}

void Store::FlushInternal(int db, const uint32_t* given_ns,
                          bool all_locked) NO_THREAD_SAFETY_ANALYSIS {
  // Every stripe is held so that the flush is one point in every key's
  // history (the WAL records it once, between writes). Entries are freed after
  // the locks are released.
  std::vector<std::unique_ptr<Dict>> garbage;
  if (!all_locked) LockAll();
  TouchLiveWatchers(db, -1);
  int first = db < 0 ? 0 : db;
  int last = db < 0 ? options_.databases - 1 : db;
  for (int i = first; i <= last; ++i) {
    // The database moves to a fresh, empty namespace on disk.
    uint32_t ns = given_ns != nullptr ? *given_ns : next_namespace_++;
    if (given_ns != nullptr && ns >= next_namespace_) next_namespace_ = ns + 1;
    namespaces_[static_cast<size_t>(i)] = ns;
    if (MutationListener* l = listener()) l->OnFlush(i, ns);
    base_keys_[static_cast<size_t>(i)] = 0;
    base_expires_[static_cast<size_t>(i)] = 0;
    cold_keys_[static_cast<size_t>(i)] = false;  // a fresh namespace is empty
  }
  for (auto& sp : stripes_) {
    Stripe& s = *sp;
    int64_t freed = 0;
    for (int i = first; i <= last; ++i) {
      Dict& d = s.dbs[static_cast<size_t>(i)];
      if (d.entries() == 0 && d.nbuckets() == 0) {
        d.keys().store(0);
        d.expires().store(0);
        continue;
      }
      auto g = std::make_unique<Dict>();
      g->Swap(d);
      g->keys().store(0);
      freed += g->BucketBytes();
      for (size_t j = 0; j < g->nbuckets(); ++j) {
        for (Entry* e = g->bucket(j); e; e = e->next) freed += EntryBytes(e);
      }
      garbage.push_back(std::move(g));
    }
    s.bytes.fetch_sub(freed, std::memory_order_relaxed);
  }
  if (!all_locked) UnlockAll();
  garbage.clear();
}

void Store::FlushAll(bool all_locked) { FlushDb(-1, all_locked); }

void Store::SwapDb(int a, int b, bool all_locked) NO_THREAD_SAFETY_ANALYSIS {
  if (!all_locked) LockAll();
  if (a != b) TouchLiveWatchers(a, b);
  if (MutationListener* l = listener()) l->OnSwap(a, b);
  std::swap(namespaces_[static_cast<size_t>(a)], namespaces_[static_cast<size_t>(b)]);
  int64_t ka = base_keys_[static_cast<size_t>(a)].load(),
          kb = base_keys_[static_cast<size_t>(b)].load();
  base_keys_[static_cast<size_t>(a)] = kb;
  base_keys_[static_cast<size_t>(b)] = ka;
  ka = base_expires_[static_cast<size_t>(a)].load();
  kb = base_expires_[static_cast<size_t>(b)].load();
  base_expires_[static_cast<size_t>(a)] = kb;
  base_expires_[static_cast<size_t>(b)] = ka;
  bool ca = cold_keys_[static_cast<size_t>(a)].load(),
       cb = cold_keys_[static_cast<size_t>(b)].load();
  cold_keys_[static_cast<size_t>(a)] = cb;
  cold_keys_[static_cast<size_t>(b)] = ca;
  for (auto& sp : stripes_) {
    sp->dbs[static_cast<size_t>(a)].Swap(sp->dbs[static_cast<size_t>(b)]);
  }
  for (size_t w = 0; w < ttl_words_; ++w) {
    std::atomic<uint64_t>& wa = ttl_stripes_[static_cast<size_t>(a) * ttl_words_ + w];
    std::atomic<uint64_t>& wb = ttl_stripes_[static_cast<size_t>(b) * ttl_words_ + w];
    uint64_t va = wa.load();
    wa.store(wb.load());
    wb.store(va);
  }
  if (!all_locked) UnlockAll();
}

uint64_t Store::DbSize(int db) const { return Counts(db).keys; }

int64_t Store::OverheadBytes(int db, bool all_locked) const NO_THREAD_SAFETY_ANALYSIS {
  int64_t bytes = 0;
  for (auto& sp : stripes_) {
    if (!all_locked) sp->mu.Lock();
    const Dict& d = sp->dbs[static_cast<size_t>(db)];
    bytes += d.BucketBytes() + static_cast<int64_t>(d.entries() * sizeof(Entry));
    if (!all_locked) sp->mu.Unlock();
  }
  return bytes;
}

KeyspaceCounts Store::Counts(int db) const NO_THREAD_SAFETY_ANALYSIS {
  int64_t keys = base_keys_[static_cast<size_t>(db)].load(std::memory_order_relaxed);
  int64_t expires =
      base_expires_[static_cast<size_t>(db)].load(std::memory_order_relaxed);
  for (auto& sp : stripes_) {
    const Dict& d = sp->dbs[static_cast<size_t>(db)];
    keys += d.keys().load(std::memory_order_relaxed);
    expires += d.expires().load(std::memory_order_relaxed);
  }
  KeyspaceCounts c;
  c.keys = static_cast<uint64_t>(std::max<int64_t>(0, keys));
  c.expires = static_cast<uint64_t>(std::max<int64_t>(0, expires));
  return c;
}

namespace {
thread_local uint64_t tl_barrier_reached = 0;  // see Store::BarrierReached
}  // namespace

Store::BarrierReached::BarrierReached(uint64_t seq) : prev_(tl_barrier_reached) {
  tl_barrier_reached = seq;
}

Store::BarrierReached::~BarrierReached() { tl_barrier_reached = prev_; }

void Store::DiskBarrier() {
  if (disk_ == nullptr || !current_seq_ || !wait_applied_) return;
  uint64_t seq = current_seq_();
  if (tl_barrier_reached != 0) seq = std::min(seq, tl_barrier_reached);
  wait_applied_(seq);
}

uint64_t Store::MemoryScan(int db, uint64_t cursor, size_t count, int64_t now_ms,
                           bool all_locked,
                           const std::function<void(std::string_view)>& visit) {
  size_t stripe = static_cast<size_t>(cursor & ((1u << kCursorStripeBits) - 1));
  uint64_t v = cursor >> kCursorStripeBits;
  if (stripes_.size() > (size_t{1} << kCursorStripeBits)) return 0;  // not supported
  size_t seen = 0, steps = 0;
  const size_t max_steps = std::max<size_t>(count * 10, 64);
  while (stripe < stripes_.size() && seen < count && steps < max_steps) {
    // Skip empty stripes without locking: the key count is an atomic (without
    // a disk it counts every entry), while entries() may only be read locked.
    if (v == 0 && stripes_[stripe]->dbs[static_cast<size_t>(db)].keys().load(
                      std::memory_order_relaxed) == 0) {
      ++stripe;
      continue;
    }
    WithStripe(stripe, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      if (d.entries() == 0) {
        v = 0;
        ++steps;
        return;
      }
      uint64_t mask = d.nbuckets() - 1;
      do {
        for (Entry* e = d.bucket(v & mask); e != nullptr; e = e->next) {
          if (e->tombstone() || e->ExpiredAt(now_ms)) continue;
          ++seen;
          visit(e->key());
        }
        v = NextCursor(v, mask);
        ++steps;
      } while (v != 0 && seen < count && steps < max_steps);
    });
    if (v == 0) ++stripe;
  }
  if (stripe >= stripes_.size()) return 0;
  return (v << kCursorStripeBits) | stripe;
}

uint64_t Store::Scan(int db, uint64_t cursor, size_t count, int64_t now_ms,
                     bool all_locked, const std::function<void(std::string_view)>& visit,
                     std::string_view prefix) {
  if (count == 0) count = 1;
  if (disk_ == nullptr) return MemoryScan(db, cursor, count, now_ms, all_locked, visit);
  // With a disk, every committed key is on disk once the applier caught up,
  // so SCAN walks LevelDB in key order. The cursor names the last key
  // returned; it is kept on disk, so it survives evictions and restarts.
  DiskBarrier();
  std::string start(prefix);
  std::string last;
  if (cursor != 0 && disk_->LoadCursor(cursor, &last) && last >= start) {
    start = last;
    start.push_back('\0');  // the first key after `last`
  }
  size_t seen = 0;
  bool more = false;
  std::string last_returned;
  disk_->Scan(NamespaceOf(db), start,
              [&](std::string_view key, std::string_view, int64_t expire) {
                if (key.substr(0, prefix.size()) != prefix) return false;
                if (seen >= count) {
                  more = true;
                  return false;
                }
                ++seen;
                last_returned.assign(key);
                if (expire == kNoExpire || expire > now_ms) visit(key);
                return true;
              });
  if (!more) return 0;
  uint64_t id = (tl_rng() & ((uint64_t{1} << 52) - 1)) | 1;
  Status s = disk_->SaveCursor(id, last_returned, now_ms);
  if (!s.ok()) Log(LogLevel::kWarning, "SCAN: can't save cursor: {}", s.message());
  return id;
}

void Store::ForEach(int db, int64_t now_ms, bool all_locked,
                    const std::function<void(std::string_view)>& visit,
                    std::string_view prefix) {
  if (disk_ != nullptr) {
    DiskBarrier();
    disk_->Scan(NamespaceOf(db), prefix,
                [&](std::string_view key, std::string_view, int64_t exp) {
                  if (key.substr(0, prefix.size()) != prefix) return false;
                  if (exp == kNoExpire || exp > now_ms) visit(key);
                  return true;
                });
    return;
  }
  for (size_t i = 0; i < stripes_.size(); ++i) {
    WithStripe(i, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      for (size_t j = 0; j < d.nbuckets(); ++j) {
        for (Entry* e = d.bucket(j); e != nullptr; e = e->next) {
          if (!e->tombstone() && !e->ExpiredAt(now_ms) &&
              e->key().substr(0, prefix.size()) == prefix) {
            visit(e->key());
          }
        }
      }
    });
  }
}

std::optional<std::string> Store::RandomKey(int db, int64_t now_ms, bool all_locked) {
  if (DbSize(db) == 0) return std::nullopt;
  if (disk_ != nullptr) {
    DiskBarrier();
    for (int attempt = 0; attempt < 16; ++attempt) {
      std::string probe;
      for (int i = 0; i < 8; ++i) probe.push_back(static_cast<char>(tl_rng() & 0xff));
      std::optional<std::string> found;
      auto pick = [&](std::string_view key, std::string_view, int64_t exp) {
        if (exp != kNoExpire && exp <= now_ms) return true;  // keep looking
        found = std::string(key);
        return false;
      };
      disk_->Scan(NamespaceOf(db), probe, pick);
      if (!found) disk_->Scan(NamespaceOf(db), "", pick);
      if (found) return found;
    }
    return std::nullopt;
  }
  for (int attempt = 0; attempt < 64; ++attempt) {
    size_t si = tl_rng() % stripes_.size();
    std::optional<std::string> found;
    WithStripe(si, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      if (d.entries() == 0) return;
      for (int tries = 0; tries < 32 && !found; ++tries) {
        Entry* e = d.bucket(tl_rng() & (d.nbuckets() - 1));
        size_t len = 0;
        for (Entry* x = e; x; x = x->next) ++len;
        if (len == 0) continue;
        size_t pick = tl_rng() % len;
        while (pick--) e = e->next;
        if (!e->tombstone() && !e->ExpiredAt(now_ms)) found = std::string(e->key());
      }
    });
    if (found) return found;
  }
  // Sparse or mostly expired: pick uniformly among the live keys (reservoir
  // sampling; returning the first one would favour it heavily).
  std::optional<std::string> pick;
  uint64_t live = 0;
  ForEach(db, now_ms, all_locked, [&](std::string_view k) {
    if (tl_rng() % ++live == 0) pick = std::string(k);
  });
  return pick;
}

void Store::NoteTtl(Stripe& s, int db) NO_THREAD_SAFETY_ANALYSIS {
  s.dbs[static_cast<size_t>(db)].ttl_seen() = true;
  std::atomic<uint64_t>& w =
      ttl_stripes_[static_cast<size_t>(db) * ttl_words_ + s.index / 64];
  const uint64_t bit = uint64_t{1} << (s.index % 64);
  // Read first: the word stays shared between cores while its bit is set.
  if ((w.load(std::memory_order_relaxed) & bit) == 0) w.fetch_or(bit);
}

size_t Store::TtlStripes(int db) const {
  size_t n = 0;
  for (size_t i = 0; i < ttl_words_; ++i) {
    n += static_cast<size_t>(
        std::popcount(ttl_stripes_[static_cast<size_t>(db) * ttl_words_ + i].load(
            std::memory_order_relaxed)));
  }
  return n;
}

// The next stripe at or after `from` (wrapping) whose bit is set for db, or
// n when there is none.
size_t Store::NextTtlStripe(int db, size_t from) const {
  const size_t n = stripes_.size();
  const std::atomic<uint64_t>* words =
      &ttl_stripes_[static_cast<size_t>(db) * ttl_words_];
  for (size_t step = 0; step <= ttl_words_; ++step) {
    size_t i = (from / 64 + step) % ttl_words_;
    uint64_t w = words[i].load(std::memory_order_relaxed);
    if (step == 0) w &= ~uint64_t{0} << (from % 64);
    if (step == ttl_words_) w &= (from % 64 == 0) ? 0 : ~(~uint64_t{0} << (from % 64));
    if (w != 0) return i * 64 + static_cast<size_t>(std::countr_zero(w));
  }
  return n;
}

size_t Store::ActiveExpireCycle(int64_t now_ms,
                                int64_t budget_us) NO_THREAD_SAFETY_ANALYSIS {
  if (!delete_expired()) return 0;
  // As Redis's slow cycle: loops of about 20 keys with a TTL per db, going on
  // while more than a tenth of a loop's sample had expired, the clock looked
  // at every 16 loops. A loop walks the db's stripes that may hold TTLs,
  // each with its own cursor, so consecutive cycles sweep the whole db.
  constexpr size_t kKeysPerLoop = 20;                // ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
  constexpr size_t kMaxBuckets = kKeysPerLoop * 20;  // buckets looked at per loop
  constexpr size_t kAcceptableStalePercent = 10;
  MutexLock cycle(&expire_mu_);
  const int64_t deadline = SteadyUs() + budget_us;
  size_t reaped = 0;
  size_t loops = 0;
  bool stop = false;
  std::vector<std::string> dead;
  // Each cycle starts where the last one stopped (Redis's current_db): a db
  // that takes the whole budget does not starve the ones after it.
  for (int n = 0; n < options_.databases && !stop; ++n) {
    const int db = expire_db_;
    expire_db_ = (expire_db_ + 1) % options_.databases;
    size_t& cursor = expire_stripe_[static_cast<size_t>(db)];
    for (;;) {
      const size_t live = TtlStripes(db);
      if (live == 0) break;
      // A loop sweeps each of those stripes at most once, so a small db is
      // not sampled twice over in one loop.
      size_t sampled = 0, expired = 0, buckets = 0, swept_stripes = 0;
      while (sampled < kKeysPerLoop && buckets < kMaxBuckets && swept_stripes < live) {
        // Looked at again for every stripe: CLIENT PAUSE turns deletion off
        // and waits for this cycle, which then stops.
        if (!delete_expired()) {
          stop = true;
          break;
        }
        size_t si = NextTtlStripe(db, cursor);
        if (si == stripes_.size()) break;
        cursor = si;
        Stripe& s = *stripes_[si];
        MutexLock l(&s.mu);
        Dict& d = s.dbs[static_cast<size_t>(db)];
        uint64_t& v = d.expire_cursor();
        bool swept = d.nbuckets() == 0;
        const size_t expired_before = expired;
        while (!swept && sampled < kKeysPerLoop && buckets < kMaxBuckets) {
          dead.clear();
          for (Entry* e = d.bucket(v & (d.nbuckets() - 1)); e != nullptr; e = e->next) {
            if (e->tombstone() || !e->has_expire()) continue;
            d.ttl_seen() = true;
            ++sampled;
            if (e->ExpiredAt(now_ms)) dead.emplace_back(e->key());
          }
          for (auto& k : dead) {
            uint64_t h = Hash(k);
            EraseLoaded(s, db, h, *d.Link(k, h));
            ++expired;
          }
          ++buckets;
          v = d.nbuckets() == 0 ? 0 : NextCursor(v, d.nbuckets() - 1);
          swept = v == 0;
        }
        if (swept) {
          // A whole sweep met no TTL: the stripe leaves the db's bitmap
          // until a TTL goes in again (NoteTtl, under this same lock).
          if (!d.ttl_seen()) {
            ttl_stripes_[static_cast<size_t>(db) * ttl_words_ + si / 64].fetch_and(
                ~(uint64_t{1} << (si % 64)));
          }
          d.ttl_seen() = false;
          cursor = (si + 1) % stripes_.size();
          ++swept_stripes;
        }
        if (expired > expired_before) {
          if (MutationListener* ml = listener()) ml->Commit();
        }
      }
      reaped += expired;
      if (stop) break;
      if ((++loops & 15) == 0 && SteadyUs() > deadline) {
        stop = true;
        break;
      }
      if (sampled > 0 && expired * 100 / sampled <= kAcceptableStalePercent) break;
      // Every stripe marked swept and no TTL met: the bits cleared or set
      // again by new TTLs, which the next cycle finds.
      if (sampled == 0 && swept_stripes >= live) break;
    }
  }
  expired_keys_.fetch_add(reaped, std::memory_order_relaxed);
  return reaped;
}

size_t Store::DiskExpireCycle(int64_t now_ms, size_t budget) NO_THREAD_SAFETY_ANALYSIS {
  if (disk_ == nullptr || !delete_expired()) return 0;
  std::vector<std::pair<int, std::string>> dead;
  {
    MutexLock l(&disk_expire_mu_);
    int db = disk_expire_db_;
    // Reading the namespace without a stripe lock: a concurrent flush or swap
    // only makes this round look at the wrong keys, which Find() re-checks.
    uint32_t ns = namespaces_[static_cast<size_t>(db)];
    std::string from = disk_expire_key_;
    if (!from.empty()) from.push_back('\0');
    size_t examined = 0;
    bool end = true;
    std::string last = disk_expire_key_;
    disk_->Scan(ns, from, [&](std::string_view key, std::string_view, int64_t exp) {
      if (examined++ >= budget) {
        end = false;
        return false;
      }
      last.assign(key);
      if (exp != kNoExpire && exp <= now_ms) dead.emplace_back(db, std::string(key));
      return true;
    });
    disk_expire_key_ = std::move(last);
    if (end) {
      disk_expire_key_.clear();
      disk_expire_db_ = (db + 1) % options_.databases;
    }
  }
  size_t reaped = 0;
  for (auto& [db, key] : dead) {
    std::vector<size_t> st{StripeOf(key)};
    StripeGuard g(this, std::move(st));
    uint64_t h = Hash(key);
    Stripe& s = StripeFor(h);
    Entry* e = Load(s, db, h, key);
    if (e != nullptr && !e->tombstone() && e->ExpiredAt(now_ms)) {
      EraseLoaded(s, db, h, e);
      ++reaped;
    }
    if (MutationListener* l = listener()) l->Commit();
  }
  expired_keys_.fetch_add(reaped, std::memory_order_relaxed);
  return reaped;
}

int64_t Store::Evict(int64_t target_bytes) NO_THREAD_SAFETY_ANALYSIS {
  if (disk_ == nullptr) return 0;
  // A scan that found nothing safe on disk is not repeated until the disk
  // has taken more writes (writers call this while they wait for it).
  uint64_t applied = disk_->applied_seq();
  if (evict_fruitless_at_.load(std::memory_order_relaxed) == applied + 1) return 0;
  int64_t freed = 0;
  const size_t n = stripes_.size();
  const uint16_t now = LruClock();
  size_t fruitless = 0;
  // Approximate LRU like Redis: sample a few entries of one stripe at a time
  // and drop the idlest of those already safe on disk.
  while (used_bytes() > target_bytes && fruitless < n) {
    size_t si = evict_cursor_.fetch_add(1, std::memory_order_relaxed) % n;
    Stripe& s = *stripes_[si];
    MutexLock l(&s.mu);
    struct Candidate {
      int db;
      Entry* e;
      uint16_t idle;
    };
    std::vector<Candidate> cands;
    for (int db = 0; db < options_.databases; ++db) {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      if (d.entries() == 0) continue;
      for (int i = 0; i < 8; ++i) {
        Entry* e = d.bucket(tl_rng() & (d.nbuckets() - 1));
        for (; e != nullptr; e = e->next) {
          if (Evictable(e)) cands.push_back({db, e, IdleSeconds(e, now)});
        }
      }
    }
    if (cands.empty()) {
      ++fruitless;
      continue;
    }
    fruitless = 0;
    // The same bucket may be sampled twice: de-duplicate, then idlest first.
    std::sort(cands.begin(), cands.end(),
              [](const Candidate& a, const Candidate& b) { return a.e < b.e; });
    cands.erase(
        std::unique(cands.begin(), cands.end(),
                    [](const Candidate& a, const Candidate& b) { return a.e == b.e; }),
        cands.end());
    std::sort(cands.begin(), cands.end(),
              [](const Candidate& a, const Candidate& b) { return a.idle > b.idle; });
    size_t take = std::max<size_t>(1, cands.size() / 2);
    for (size_t i = 0; i < take; ++i) {
      int64_t before = s.bytes.load(std::memory_order_relaxed);
      std::string key(cands[i].e->key());
      if (!cands[i].e->tombstone()) cold_keys_[static_cast<size_t>(cands[i].db)] = true;
      RemoveEntry(s, s.dbs[static_cast<size_t>(cands[i].db)], key, Hash(key));
      freed += before - s.bytes.load(std::memory_order_relaxed);
      evicted_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (freed == 0 && used_bytes() > target_bytes) {
    evict_fruitless_at_.store(applied + 1, std::memory_order_relaxed);
  }
  return freed;
}

size_t Store::CleanTombstones(size_t max_stripes) NO_THREAD_SAFETY_ANALYSIS {
  if (disk_ == nullptr) return 0;
  size_t removed = 0;
  const uint16_t now = LruClock();
  for (size_t k = 0; k < max_stripes; ++k) {
    size_t si = clean_cursor_.fetch_add(1, std::memory_order_relaxed) % stripes_.size();
    Stripe& s = *stripes_[si];
    MutexLock l(&s.mu);
    for (int db = 0; db < options_.databases; ++db) {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      std::vector<std::string> drop;
      for (size_t j = 0; j < d.nbuckets(); ++j) {
        for (Entry* e = d.bucket(j); e; e = e->next) {
          if (e->tombstone() && Evictable(e) && IdleSeconds(e, now) >= 10) {
            drop.emplace_back(e->key());
          }
        }
      }
      for (auto& key : drop) RemoveEntry(s, d, key, Hash(key));
      removed += drop.size();
    }
  }
  return removed;
}

int64_t Store::used_bytes() const {
  int64_t b = 0;
  for (auto& s : stripes_) b += s->bytes.load(std::memory_order_relaxed);
  return b;
}

TierStats Store::tier_stats() const {
  TierStats t;
  t.hot_reads = hot_reads_.load();
  t.cold_reads = cold_reads_.load();
  t.disk_misses = disk_misses_.load();
  t.evicted = evicted_.load();
  return t;
}

StripeGuard::StripeGuard(Store* store, std::vector<size_t> stripes)
    : store_(store), all_(false), stripes_(std::move(stripes)) {
  store_->LockStripes(&stripes_);
}

StripeGuard::StripeGuard(Store* store, bool all) : store_(store), all_(all) {
  if (all_) store_->LockAll();
}

StripeGuard::~StripeGuard() {
  if (all_) {
    store_->UnlockAll();
  } else {
    store_->UnlockStripes(stripes_);
  }
}

}  // namespace edgekv
