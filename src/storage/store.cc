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

#include "edgekv/log.h"
#include "edgekv/wal_format.h"
#include "storage/disk_tier.h"
#include "storage/store_internal.h"
#include "types/cold_collection.h"

namespace edgekv {

using store_internal::AllocSize;
using store_internal::EntryBytes;
using store_internal::FreeEntry;
using store_internal::IdleSeconds;
using store_internal::LruClock;
using store_internal::NewEntry;

namespace {
uint8_t KeyFlags(const Entry* before, int64_t expire_after) {
  uint8_t f = 0;
  bool existed = before != nullptr && !before->tombstone();
  if (!existed) f |= wal::kFlagCreated;
  if (existed && before->has_expire()) f |= wal::kFlagHadExpire;
  if (existed && before->is_collection()) f |= wal::kFlagWasCollection;
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

bool Store::may_hold_collections() const {
  return may_hold_collections_.load(std::memory_order_relaxed) ||
         (disk_ != nullptr && disk_->ever_had_collections());
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

Entry* Store::Load(Stripe& s, int db, uint64_t h, std::string_view key,
                   DiskValue* cold) NO_THREAD_SAFETY_ANALYSIS {
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  if (link != nullptr && *link != nullptr) {
    (*link)->set_lru(LruClock());
    return *link;
  }
  if (!MayBeOnDisk(db)) return nullptr;
  DiskValue dv;
  EncodingLimits limits = encoding_limits();
  // With `cold`, the record first: a collection's elements only if asked for.
  Status st = disk_->Get(NamespaceOf(db), key, &dv, cold != nullptr ? nullptr : &limits);
  if (st.ok() && cold != nullptr && dv.type != ValueType::kString) {
    *cold = std::move(dv);
    return nullptr;
  }
  Entry* e;
  if (st.ok()) {
    cold_reads_.fetch_add(1, std::memory_order_relaxed);
    e = dv.collection != nullptr ? store_internal::NewCollectionEntry(
                                       key, std::move(dv.collection), dv.expire_ms, 0)
                                 : NewEntry(key, dv.value, dv.expire_ms, false, 0);
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
  uint8_t flags = (e->has_expire() ? wal::kFlagHadExpire : 0) |
                  (e->is_collection() ? wal::kFlagWasCollection : 0);
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
    if (const Collection* c = e->collection()) {
      out->type = c->type();
      out->encoding.assign(c->encoding());
      value = {};
    }
  } else {
    if (!MayBeOnDisk(db)) return false;
    EncodingLimits limits = encoding_limits();
    Status st = disk_->Get(NamespaceOf(db), key, &dv, &limits);
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
    if (const Collection* c = dv.collection.get()) {
      out->type = c->type();
      out->encoding.assign(c->encoding());
      out->memory_bytes = AllocSize(Entry::SizeFor(key.size(), sizeof(void*),
                                                   dv.expire_ms != kNoExpire)) +
                          static_cast<int64_t>(c->bytes());
    }
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
  Entry** link = s.dbs[static_cast<size_t>(db)].Link(key, h);
  return FindFrom(s, db, h, key, (link != nullptr) ? *link : nullptr, now_ms, touch);
}

Entry* Store::FindFrom(Stripe& s, int db, uint64_t h, std::string_view key, Entry* e,
                       int64_t now_ms, bool touch) NO_THREAD_SAFETY_ANALYSIS {
  if (e != nullptr) {
    hot_reads_.fetch_add(1, std::memory_order_relaxed);
    if (touch) e->set_lru(LruClock());
  } else {
    e = Load(s, db, h, key);
    // Idle for the most the clock holds: now - lru wraps to 65535.
    if (e != nullptr && !touch) e->set_lru(static_cast<uint16_t>(LruClock() + 1));
  }
  if (e == nullptr || e->tombstone()) return nullptr;
  if (!e->ExpiredAt(now_ms)) {
    // A command that finds a key may use all of it (nullptr, the key left
    // as it was, when the disk cannot be read).
    if (e->is_collection() && e->collection()->on_disk())
      e = CompleteCollection(s, db, h, e);
    return e;
  }
  if (delete_expired()) {
    EraseLoaded(s, db, h, e);
    expired_keys_.fetch_add(1, std::memory_order_relaxed);
  }
  return nullptr;
}

std::optional<Store::KeyMeta> Store::Meta(int db, std::string_view key, int64_t now_ms,
                                          bool touch) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Entry** link = s.dbs[static_cast<size_t>(db)].Link(key, h);
  Entry* e = (link != nullptr && *link != nullptr) ? *link : nullptr;
  if (e != nullptr) {
    hot_reads_.fetch_add(1, std::memory_order_relaxed);
    if (touch) e->set_lru(LruClock());
  } else {
    DiskValue cold;
    e = Load(s, db, h, key, &cold);
    if (e == nullptr) {  // a collection only on disk, or no disk
      if (cold.type == ValueType::kString) return std::nullopt;
      if (cold.expire_ms != kNoExpire && cold.expire_ms <= now_ms) return std::nullopt;
      return KeyMeta{cold.type, cold.expire_ms, true};
    }
    // As Find: brought from disk without a touch, it counts as idle.
    if (!touch) e->set_lru(static_cast<uint16_t>(LruClock() + 1));
  }
  if (e->tombstone()) return std::nullopt;
  if (e->ExpiredAt(now_ms)) {
    Find(db, key, now_ms, false);  // deletes it, as any lookup does
    return std::nullopt;
  }
  return KeyMeta{e->type(), e->has_expire() ? e->expire_ms() : kNoExpire,
                 e->is_collection() && e->collection()->on_disk()};
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
    flags = st.ok() ? static_cast<uint8_t>(
                          (dv.expire_ms != kNoExpire ? wal::kFlagHadExpire : 0) |
                          (expire_ms != kNoExpire ? wal::kFlagHasExpire : 0) |
                          (dv.type != ValueType::kString ? wal::kFlagWasCollection : 0))
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
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  if ((link == nullptr || *link == nullptr) && MayBeOnDisk(db)) {
    // Only on disk: deleting it needs its record, not its value (a
    // collection's elements stay where they are, garbage from now on).
    int erased = EraseOnDisk(s, db, h, key, now_ms);
    if (erased == 0) expired_keys_.fetch_add(1, std::memory_order_relaxed);
    return erased == 1;
  }
  Entry* e = Load(s, db, h, key);
  if (e == nullptr || e->tombstone()) return false;
  bool live = !e->ExpiredAt(now_ms);
  if (!live && !delete_expired()) return false;
  EraseLoaded(s, db, h, e);
  if (!live) expired_keys_.fetch_add(1, std::memory_order_relaxed);
  return live;
}

int Store::EraseOnDisk(Stripe& s, int db, uint64_t h, std::string_view key,
                       int64_t now_ms, bool only_expired) NO_THREAD_SAFETY_ANALYSIS {
  Dict& d = s.dbs[static_cast<size_t>(db)];
  DiskValue dv;
  Status st = disk_->Get(NamespaceOf(db), key, &dv);  // without its elements
  if (!st.ok()) {
    if (st.code() != Status::Code::kNotFound) {
      Log(LogLevel::kWarning, "disk read failed: {}", st.message());
    }
    return -1;
  }
  const bool live = dv.expire_ms == kNoExpire || dv.expire_ms > now_ms;
  if ((!live && !delete_expired()) || (live && only_expired)) return -1;
  TouchWatchers(s, db, key);
  const bool had_expire = dv.expire_ms != kNoExpire;
  const uint8_t flags =
      static_cast<uint8_t>((had_expire ? wal::kFlagHadExpire : 0) |
                           (dv.type != ValueType::kString ? wal::kFlagWasCollection : 0));
  if (MutationListener* l = listener()) l->OnErase(db, key, flags);
  d.keys().fetch_sub(1, std::memory_order_relaxed);
  if (had_expire) d.expires().fetch_sub(1, std::memory_order_relaxed);
  // The tombstone hides the record until the deletion is on disk.
  Entry* e = NewEntry(key, {}, kNoExpire, true, Entry::kPendingSeq);
  int64_t grown = d.Insert(e, h, [this](std::string_view k) { return Hash(k); });
  s.bytes.fetch_add(EntryBytes(e) + grown, std::memory_order_relaxed);
  return live ? 1 : 0;
}

bool Store::SetExpire(int db, std::string_view key, int64_t expire_ms,
                      int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  // A big collection only on disk stays there: the expiry is its own record.
  Entry* e = FindForChange(StripeFor(h), db, h, key, now_ms);
  if (e == nullptr) return false;
  if (e->is_collection()) {
    SetCollectionExpire(db, e, expire_ms);
    return true;
  }
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
