#include "edgekv/store.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <random>
#include <unordered_map>

namespace edgekv {
namespace {

// What glibc malloc really hands out for a request of n bytes.
int64_t AllocSize(size_t n) {
  return static_cast<int64_t>(std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}));
}

Entry* NewEntry(std::string_view key, std::string_view value,
                int64_t expire_ms) {
  void* mem = ::operator new(sizeof(Entry) + key.size() + value.size());
  Entry* e = static_cast<Entry*>(mem);
  e->next = nullptr;
  e->expire_ms = expire_ms;
  e->key_len = static_cast<uint32_t>(key.size());
  e->val_len = static_cast<uint32_t>(value.size());
  if (!key.empty()) std::memcpy(e->data(), key.data(), key.size());
  if (!value.empty()) {
    std::memcpy(e->data() + key.size(), value.data(), value.size());
  }
  return e;
}

int64_t EntryBytes(const Entry* e) {
  return AllocSize(sizeof(Entry) + e->key_len + e->val_len);
}

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

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int kCursorStripeShift = 48;
constexpr uint64_t kCursorBucketMask = (uint64_t{1} << kCursorStripeShift) - 1;

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
    uint64_t a = size_.load(std::memory_order_relaxed);
    uint64_t b = o.size_.load(std::memory_order_relaxed);
    size_.store(b, std::memory_order_relaxed);
    o.size_.store(a, std::memory_order_relaxed);
    a = expires_.load(std::memory_order_relaxed);
    b = o.expires_.load(std::memory_order_relaxed);
    expires_.store(b, std::memory_order_relaxed);
    o.expires_.store(a, std::memory_order_relaxed);
    std::swap(expire_cursor_, o.expire_cursor_);
  }

  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  uint64_t expires() const { return expires_.load(std::memory_order_relaxed); }
  size_t nbuckets() const { return nbuckets_; }
  Entry* bucket(size_t i) const { return buckets_[i]; }
  uint64_t& expire_cursor() { return expire_cursor_; }

  // The link that points at key's entry, or at the null ending its chain.
  Entry** Link(std::string_view key, uint64_t hash) const {
    if (nbuckets_ == 0) return nullptr;
    Entry** link = &buckets_[hash & (nbuckets_ - 1)];
    while (*link != nullptr) {
      Entry* e = *link;
      if (e->key_len == key.size() &&
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
    if (size() + 1 > nbuckets_) grown = Resize(nbuckets_ ? nbuckets_ * 2 : 4, rehash);
    Entry** head = &buckets_[hash & (nbuckets_ - 1)];
    e->next = *head;
    *head = e;
    size_.store(size() + 1, std::memory_order_relaxed);
    if (e->has_expire()) AddExpires(1);
    return grown;
  }

  void Unlinked(const Entry* e) {
    size_.store(size() - 1, std::memory_order_relaxed);
    if (e->has_expire()) AddExpires(-1);
  }

  void AddExpires(int64_t d) {
    expires_.store(expires() + d, std::memory_order_relaxed);
  }

  // Shrinks a sparse table; returns the (negative) change in bytes.
  template <typename HashFn>
  int64_t MaybeShrink(HashFn&& rehash) {
    if (nbuckets_ > 4 && size() * 8 < nbuckets_) {
      size_t n = 4;
      while (n < size()) n *= 2;
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
    freed += static_cast<int64_t>(nbuckets_ * sizeof(Entry*));
    delete[] buckets_;
    buckets_ = nullptr;
    nbuckets_ = 0;
    size_.store(0, std::memory_order_relaxed);
    expires_.store(0, std::memory_order_relaxed);
    return freed;
  }

  int64_t BucketBytes() const {
    return static_cast<int64_t>(nbuckets_ * sizeof(Entry*));
  }

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
  std::atomic<uint64_t> size_{0};     // written under the stripe lock
  std::atomic<uint64_t> expires_{0};  // written under the stripe lock
  uint64_t expire_cursor_ = 0;
};

struct alignas(64) Store::Stripe {
  explicit Stripe(int dbs) : dbs(new Dict[static_cast<size_t>(dbs)]) {}
  Mutex mu;
  std::unique_ptr<Dict[]> dbs PT_GUARDED_BY(mu);
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
}  // namespace

Store::Store(StoreOptions options) : options_(options) {
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
    stripes_.push_back(std::make_unique<Stripe>(options_.databases));
  }
}

Store::~Store() = default;

uint64_t Store::Hash(std::string_view key) const {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed_);
}

size_t Store::StripeOf(std::string_view key) const {
  if (stripe_shift_ == 64) return 0;
  return static_cast<size_t>(Hash(key) >> stripe_shift_);
}

Store::Stripe& Store::StripeFor(uint64_t hash) {
  return *stripes_[stripe_shift_ == 64 ? 0 : hash >> stripe_shift_];
}

void Store::LockStripes(std::vector<size_t>* stripes) NO_THREAD_SAFETY_ANALYSIS {
  std::sort(stripes->begin(), stripes->end());
  stripes->erase(std::unique(stripes->begin(), stripes->end()), stripes->end());
  for (size_t s : *stripes) stripes_[s]->mu.Lock();
}

void Store::UnlockStripes(const std::vector<size_t>& stripes)
    NO_THREAD_SAFETY_ANALYSIS {
  for (auto it = stripes.rbegin(); it != stripes.rend(); ++it) {
    stripes_[*it]->mu.Unlock();
  }
}

void Store::LockAll() NO_THREAD_SAFETY_ANALYSIS {
  for (auto& s : stripes_) s->mu.Lock();
}

void Store::UnlockAll() NO_THREAD_SAFETY_ANALYSIS {
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) {
    (*it)->mu.Unlock();
  }
}

template <typename Fn>
void Store::WithStripe(size_t i, bool all_locked,
                       Fn&& fn) NO_THREAD_SAFETY_ANALYSIS {
  Stripe& s = *stripes_[i];
  if (all_locked) {
    fn(s);
  } else {
    MutexLock l(&s.mu);
    fn(s);
  }
}

void Store::TouchWatchers(Stripe& s, int db, std::string_view key)
    NO_THREAD_SAFETY_ANALYSIS {
  if (watchers_.load(std::memory_order_relaxed) == 0 || s.watchers.empty()) {
    return;
  }
  auto range = s.watchers.equal_range(WatchKey(db, key));
  for (auto it = range.first; it != range.second; ++it) {
    it->second->dirty.store(true, std::memory_order_relaxed);
  }
}

void Store::TouchAllWatchers(Stripe& s, int db) NO_THREAD_SAFETY_ANALYSIS {
  if (watchers_.load(std::memory_order_relaxed) == 0) return;
  for (auto& [k, flag] : s.watchers) {
    int kdb = static_cast<unsigned char>(k[0]) |
              (static_cast<unsigned char>(k[1]) << 8);
    if (db < 0 || kdb == db) flag->dirty.store(true, std::memory_order_relaxed);
  }
}

void Store::RemoveEntry(Stripe& s, int db, Dict& d, std::string_view key,
                        uint64_t hash) {
  Entry** link = d.Link(key, hash);
  Entry* e = *link;
  *link = e->next;
  d.Unlinked(e);
  int64_t delta = -EntryBytes(e);
  FreeEntry(e);
  delta += d.MaybeShrink([this](std::string_view k) { return Hash(k); });
  s.bytes.fetch_add(delta, std::memory_order_relaxed);
  (void)db;
}

Entry* Store::Find(int db, std::string_view key,
                   int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  if (link == nullptr || *link == nullptr) return nullptr;
  Entry* e = *link;
  if (!e->ExpiredAt(now_ms)) return e;
  if (options_.delete_expired) {
    TouchWatchers(s, db, key);
    if (listener_ != nullptr) listener_->OnErase(db, key);
    RemoveEntry(s, db, d, key, h);
    expired_keys_.fetch_add(1, std::memory_order_relaxed);
  }
  return nullptr;
}

void Store::Put(int db, std::string_view key, std::string_view value,
                int64_t expire_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  TouchWatchers(s, db, key);
  if (listener_ != nullptr) listener_->OnPut(db, key, value, expire_ms);
  Entry** link = d.Link(key, h);
  if (link != nullptr && *link != nullptr) {
    Entry* old = *link;
    if (old->has_expire() != (expire_ms != kNoExpire)) {
      d.AddExpires(expire_ms != kNoExpire ? 1 : -1);
    }
    if (old->val_len == value.size()) {  // same size: overwrite in place
      if (!value.empty()) std::memcpy(old->data() + old->key_len, value.data(), value.size());
      old->expire_ms = expire_ms;
      return;
    }
    Entry* e = NewEntry(key, value, expire_ms);
    e->next = old->next;
    *link = e;
    s.bytes.fetch_add(EntryBytes(e) - EntryBytes(old), std::memory_order_relaxed);
    FreeEntry(old);
    return;
  }
  Entry* e = NewEntry(key, value, expire_ms);
  int64_t grown = d.Insert(e, h, [this](std::string_view k) { return Hash(k); });
  s.bytes.fetch_add(EntryBytes(e) + grown, std::memory_order_relaxed);
}

bool Store::Erase(int db, std::string_view key,
                  int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  if (link == nullptr || *link == nullptr) return false;
  bool live = !(*link)->ExpiredAt(now_ms);
  if (!live && !options_.delete_expired) return false;
  TouchWatchers(s, db, key);
  if (listener_ != nullptr) listener_->OnErase(db, key);
  RemoveEntry(s, db, d, key, h);
  if (!live) expired_keys_.fetch_add(1, std::memory_order_relaxed);
  return live;
}

bool Store::SetExpire(int db, std::string_view key, int64_t expire_ms,
                      int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  Entry* e = Find(db, key, now_ms);
  if (e == nullptr) return false;
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  TouchWatchers(s, db, key);
  if (listener_ != nullptr) listener_->OnExpire(db, key, expire_ms);
  if (e->has_expire() != (expire_ms != kNoExpire)) {
    d.AddExpires(expire_ms != kNoExpire ? 1 : -1);
  }
  e->expire_ms = expire_ms;
  return true;
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

void Store::FlushDb(int db, bool all_locked) {
  // All stripes are locked so that the flush is one point in every key's
  // history (the WAL records it once, between writes); entries are freed
  // after the locks are released.
  std::vector<std::unique_ptr<Dict>> garbage;
  {
    if (!all_locked) LockAll();
    if (listener_ != nullptr) listener_->OnFlush(db);
    for (auto& sp : stripes_) {
      Stripe& s = *sp;
      int first = db < 0 ? 0 : db;
      int last = db < 0 ? options_.databases - 1 : db;
      for (int i = first; i <= last; ++i) {
        Dict& d = s.dbs[static_cast<size_t>(i)];
        if (d.size() == 0 && d.nbuckets() == 0) continue;
        auto g = std::make_unique<Dict>();
        g->Swap(d);
        garbage.push_back(std::move(g));
      }
      TouchAllWatchers(s, db);
    }
    if (!all_locked) UnlockAll();
  }
  // Byte accounting per stripe is approximate here: recompute from scratch.
  for (auto& g : garbage) g->Clear();
  for (auto& sp : stripes_) {
    Stripe& s = *sp;
    WithStripe(static_cast<size_t>(&sp - &stripes_[0]), all_locked,
               [&](Stripe& st) NO_THREAD_SAFETY_ANALYSIS {
                 int64_t b = 0;
                 for (int i = 0; i < options_.databases; ++i) {
                   Dict& d = st.dbs[static_cast<size_t>(i)];
                   b += d.BucketBytes();
                   for (size_t j = 0; j < d.nbuckets(); ++j) {
                     for (Entry* e = d.bucket(j); e; e = e->next) b += EntryBytes(e);
                   }
                 }
                 s.bytes.store(b, std::memory_order_relaxed);
               });
  }
}

void Store::FlushAll(bool all_locked) { FlushDb(-1, all_locked); }

void Store::SwapDb(int a, int b, bool all_locked) NO_THREAD_SAFETY_ANALYSIS {
  if (!all_locked) LockAll();
  if (listener_ != nullptr) listener_->OnSwap(a, b);
  for (auto& sp : stripes_) {
    sp->dbs[static_cast<size_t>(a)].Swap(sp->dbs[static_cast<size_t>(b)]);
    TouchAllWatchers(*sp, a);
    TouchAllWatchers(*sp, b);
  }
  if (!all_locked) UnlockAll();
}

uint64_t Store::DbSize(int db) const { return Counts(db).keys; }

KeyspaceCounts Store::Counts(int db) const NO_THREAD_SAFETY_ANALYSIS {
  KeyspaceCounts c;
  for (auto& sp : stripes_) {
    const Dict& d = sp->dbs[static_cast<size_t>(db)];
    c.keys += d.size();
    c.expires += d.expires();
  }
  return c;
}

uint64_t Store::Scan(int db, uint64_t cursor, size_t count, int64_t now_ms,
                     bool all_locked,
                     const std::function<void(const Entry&)>& visit) {
  size_t stripe = static_cast<size_t>(cursor >> kCursorStripeShift);
  uint64_t v = cursor & kCursorBucketMask;
  if (count == 0) count = 1;
  size_t seen = 0;
  size_t steps = 0;
  const size_t max_steps = std::max<size_t>(count * 10, 64);
  while (stripe < stripes_.size() && seen < count && steps < max_steps) {
    // Empty stripes are skipped without locking (the size is an atomic); a
    // key inserted meanwhile was not present for the whole scan.
    if (v == 0 && stripes_[stripe]->dbs[static_cast<size_t>(db)].size() == 0) {
      ++stripe;
      continue;
    }
    WithStripe(stripe, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      if (d.size() == 0) {
        v = 0;
        ++steps;
        return;
      }
      uint64_t mask = d.nbuckets() - 1;
      do {
        for (Entry* e = d.bucket(v & mask); e != nullptr; e = e->next) {
          if (e->ExpiredAt(now_ms)) continue;
          ++seen;
          visit(*e);
        }
        v = NextCursor(v, mask);
        ++steps;
      } while (v != 0 && seen < count && steps < max_steps);
    });
    if (v == 0) ++stripe;
  }
  if (stripe >= stripes_.size()) return 0;
  return (static_cast<uint64_t>(stripe) << kCursorStripeShift) | v;
}

void Store::ForEach(int db, int64_t now_ms, bool all_locked,
                    const std::function<void(const Entry&)>& visit) {
  for (size_t i = 0; i < stripes_.size(); ++i) {
    WithStripe(i, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      for (size_t j = 0; j < d.nbuckets(); ++j) {
        for (Entry* e = d.bucket(j); e != nullptr; e = e->next) {
          if (!e->ExpiredAt(now_ms)) visit(*e);
        }
      }
    });
  }
}

std::optional<std::string> Store::RandomKey(int db, int64_t now_ms,
                                            bool all_locked) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (DbSize(db) == 0) return std::nullopt;
    size_t si = rng() % stripes_.size();
    std::optional<std::string> found;
    WithStripe(si, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      if (d.size() == 0) return;
      for (int tries = 0; tries < 32 && !found; ++tries) {
        Entry* e = d.bucket(rng() & (d.nbuckets() - 1));
        size_t len = 0;
        for (Entry* x = e; x; x = x->next) ++len;
        if (len == 0) continue;
        size_t pick = rng() % len;
        while (pick--) e = e->next;
        if (!e->ExpiredAt(now_ms)) found = std::string(e->key());
      }
    });
    if (found) return found;
  }
  // Sparse or mostly expired: fall back to the first live key.
  std::optional<std::string> first;
  for (size_t i = 0; i < stripes_.size() && !first; ++i) {
    WithStripe(i, all_locked, [&](Stripe& s) NO_THREAD_SAFETY_ANALYSIS {
      Dict& d = s.dbs[static_cast<size_t>(db)];
      for (size_t j = 0; j < d.nbuckets() && !first; ++j) {
        for (Entry* e = d.bucket(j); e && !first; e = e->next) {
          if (!e->ExpiredAt(now_ms)) first = std::string(e->key());
        }
      }
    });
  }
  return first;
}

size_t Store::ActiveExpireCycle(int64_t now_ms, int64_t budget_us) {
  if (!options_.delete_expired) return 0;
  constexpr size_t kKeysPerLoop = 20;  // ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
  const int64_t deadline = NowUs() + budget_us;
  size_t reaped = 0;
  const size_t n = stripes_.size();
  size_t start = expire_cursor_.load(std::memory_order_relaxed);
  size_t visited = 0;
  for (; visited < n; ++visited) {
    size_t si = (start + visited) % n;
    Stripe& s = *stripes_[si];
    {
      MutexLock l(&s.mu);
      for (int db = 0; db < options_.databases; ++db) {
        Dict& d = s.dbs[static_cast<size_t>(db)];
        // Like Redis: sample about 20 keys with a TTL, reap the expired ones,
        // and go on while more than a quarter of the sample had expired.
        for (int round = 0; round < 16 && d.expires() > 0; ++round) {
          size_t sampled = 0, expired = 0, buckets = 0;
          uint64_t& v = d.expire_cursor();
          while (sampled < kKeysPerLoop && buckets < kKeysPerLoop * 4 &&
                 d.nbuckets() > 0) {
            uint64_t mask = d.nbuckets() - 1;
            Entry* e = d.bucket(v & mask);
            std::vector<std::string> dead;
            for (; e != nullptr; e = e->next) {
              if (!e->has_expire()) continue;
              ++sampled;
              if (e->ExpiredAt(now_ms)) dead.emplace_back(e->key());
            }
            for (auto& k : dead) {
              uint64_t h = Hash(k);
              TouchWatchers(s, db, k);
              if (listener_ != nullptr) listener_->OnErase(db, k);
              RemoveEntry(s, db, d, k, h);
              ++expired;
            }
            ++buckets;
            if (d.nbuckets() == 0) break;
            v = NextCursor(v, d.nbuckets() - 1);
          }
          reaped += expired;
          if (sampled == 0 || expired * 4 <= sampled) break;
        }
      }
    }
    if ((visited & 15) == 15 && NowUs() > deadline) break;
  }
  expire_cursor_.store((start + visited + 1) % n, std::memory_order_relaxed);
  expired_keys_.fetch_add(reaped, std::memory_order_relaxed);
  return reaped;
}

int64_t Store::used_bytes() const {
  int64_t b = 0;
  for (auto& s : stripes_) b += s->bytes.load(std::memory_order_relaxed);
  return b;
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
