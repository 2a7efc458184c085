// Store's internals, shared by its files (store.cc: entries and loading;
// store_scan.cc, store_expire.cc, store_evict.cc, store_watch.cc): entry
// allocation, the clocks, the per-stripe hash table and the stripe itself.
// Not for use outside src/storage.
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <unordered_map>

#include "edgekv/store.h"
#include "edgekv/thread_annotations.h"
#include "storage/lazy_free.h"
#include "util/clock.h"

namespace edgekv {
namespace store_internal {
// What glibc malloc really hands out for a request of n bytes.
inline int64_t AllocSize(size_t n) {
  return static_cast<int64_t>(std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}));
}

// The LRU clock: seconds, 16 bits (wraps every ~18 hours; idle times are
// computed modulo the wrap, as Redis does with its 24-bit clock). Read on
// every key access, so from the coarse clock (the kernel's tick: a few ns
// instead of tens); a second's resolution needs no more.
inline uint16_t LruClock() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint16_t>(ts.tv_sec & 0xffff);
}

inline uint16_t IdleSeconds(const Entry* e, uint16_t now) {
  return static_cast<uint16_t>(now - e->lru());
}

inline Entry* NewEntry(std::string_view key, std::string_view value, int64_t expire_ms,
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

// An entry holding a collection (its value bytes are the pointer; the entry
// owns the collection from now on).
inline Entry* NewCollectionEntry(std::string_view key, std::unique_ptr<Collection> c,
                                 int64_t expire_ms, uint64_t seq) {
  Collection* raw = c.release();
  Entry* e =
      NewEntry(key, std::string_view(reinterpret_cast<const char*>(&raw), sizeof(raw)),
               expire_ms, false, seq);
  e->val_len |= Entry::kCollectionBit;
  return e;
}

// The entry's allocation and its collection's.
inline int64_t EntryBytes(const Entry* e) {
  int64_t b = AllocSize(e->size());
  if (const Collection* c = e->collection()) b += static_cast<int64_t>(c->bytes());
  return b;
}

// A big collection is freed by the lazy-free thread (lazy_free.h).
inline void FreeEntry(Entry* e) {
  lazy_free::Free(e->collection());
  ::operator delete(e);
}

// Frees the entry but not its collection (moved to a new entry).
inline void FreeEntryKeepingCollection(Entry* e) { ::operator delete(e); }

inline uint64_t Rev(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

// Redis's reverse-binary cursor step: covers every bucket of the table once
// even if the table grows or shrinks between calls.
inline uint64_t NextCursor(uint64_t v, uint64_t mask) {
  v |= ~mask;
  v = Rev(v);
  ++v;
  return Rev(v);
}

// Memory-only SCAN cursors: bucket cursor << 10 | stripe, kept under 2^53 so
// that clients parsing cursors as doubles (node-redis 4) are exact.
constexpr int kCursorStripeBits = 10;

inline thread_local std::mt19937_64 tl_rng{std::random_device{}()};

}  // namespace store_internal

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
        freed += store_internal::EntryBytes(e);
        store_internal::FreeEntry(e);
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

}  // namespace edgekv
