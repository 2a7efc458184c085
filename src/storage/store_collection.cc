// Store: the entries that hold collections. Each change to an element is
// reported to the log as that element's change (never the whole value), and
// the stripe's byte count follows the collection's size.
#include <algorithm>
#include <cmath>
#include <optional>

#include "edgekv/log.h"
#include "edgekv/store.h"
#include "edgekv/wal_format.h"
#include "storage/disk_tier.h"
#include "storage/store_internal.h"
#include "types/cold_collection.h"
#include "types/hash_value.h"
#include "types/set_value.h"
#include "types/zset_value.h"

namespace edgekv {

using store_internal::EntryBytes;
using store_internal::FreeEntryKeepingCollection;
using store_internal::LruClock;
using store_internal::NewCollectionEntry;

EncodingLimits Store::encoding_limits() const {
  EncodingLimits l;
  l.hash_max_listpack_entries =
      hash_max_listpack_entries_.load(std::memory_order_relaxed);
  l.hash_max_listpack_value = hash_max_listpack_value_.load(std::memory_order_relaxed);
  l.set_max_intset_entries = set_max_intset_entries_.load(std::memory_order_relaxed);
  l.set_max_listpack_entries = set_max_listpack_entries_.load(std::memory_order_relaxed);
  l.set_max_listpack_value = set_max_listpack_value_.load(std::memory_order_relaxed);
  l.zset_max_listpack_entries =
      zset_max_listpack_entries_.load(std::memory_order_relaxed);
  l.zset_max_listpack_value = zset_max_listpack_value_.load(std::memory_order_relaxed);
  return l;
}

void Store::set_encoding_limits(const EncodingLimits& l) {
  hash_max_listpack_entries_.store(l.hash_max_listpack_entries,
                                   std::memory_order_relaxed);
  hash_max_listpack_value_.store(l.hash_max_listpack_value, std::memory_order_relaxed);
  set_max_intset_entries_.store(l.set_max_intset_entries, std::memory_order_relaxed);
  set_max_listpack_entries_.store(l.set_max_listpack_entries, std::memory_order_relaxed);
  set_max_listpack_value_.store(l.set_max_listpack_value, std::memory_order_relaxed);
  zset_max_listpack_entries_.store(l.zset_max_listpack_entries,
                                   std::memory_order_relaxed);
  zset_max_listpack_value_.store(l.zset_max_listpack_value, std::memory_order_relaxed);
}

Entry* Store::InsertCollection(Stripe& s, int db, uint64_t h, std::string_view key,
                               std::unique_ptr<Collection> c, int64_t expire_ms,
                               uint64_t seq) NO_THREAD_SAFETY_ANALYSIS {
  Dict& d = s.dbs[static_cast<size_t>(db)];
  may_hold_collections_.store(true, std::memory_order_relaxed);
  Entry* e = NewCollectionEntry(key, std::move(c), expire_ms, seq);
  Entry** link = d.Link(key, h);
  if (link != nullptr && *link != nullptr) {
    ReplaceEntry(s, d, link, e);  // a tombstone, or a key being replaced
  } else {
    int64_t grown = d.Insert(e, h, [this](std::string_view k) { return Hash(k); });
    s.bytes.fetch_add(EntryBytes(e) + grown, std::memory_order_relaxed);
  }
  if (expire_ms != kNoExpire) NoteTtl(s, db);
  return e;
}

void Store::ElementChanged(Stripe& s, Entry* e, int64_t bytes_before,
                           uint64_t seq) NO_THREAD_SAFETY_ANALYSIS {
  e->set_seq(seq);
  e->set_lru(LruClock());
  s.bytes.fetch_add(static_cast<int64_t>(e->collection()->bytes()) - bytes_before,
                    std::memory_order_relaxed);
}

namespace {
// Removes elem from a collection in memory; false when it was not there.
bool DropElement(Collection* c, std::string_view elem) {
  switch (c->type()) {
    case ValueType::kHash:
      return static_cast<HashValue*>(c)->Del(elem);
    case ValueType::kSet:
      return static_cast<SetValue*>(c)->Remove(elem);
    case ValueType::kZSet:
      return static_cast<ZSetValue*>(c)->Remove(elem);
    default:
      return false;
  }
}
}  // namespace

bool Store::KeepOnDisk(ValueType t, uint64_t size) const {
  // Collections past the compact encodings' limits: what a change or a point
  // read of one costs no longer depends on its size.
  const EncodingLimits l = encoding_limits();
  switch (t) {
    case ValueType::kHash:
      return size > std::min(l.hash_max_listpack_entries, HashValue::kMaxPackFields);
    case ValueType::kSet:
      return size >
             std::max(l.set_max_intset_entries,
                      std::min(l.set_max_listpack_entries, HashValue::kMaxPackFields));
    case ValueType::kZSet:
      return size > l.zset_max_listpack_entries;
    default:
      return false;
  }
}

Entry* Store::FindForChange(Stripe& s, int db, uint64_t h, std::string_view key,
                            int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  Dict& d = s.dbs[static_cast<size_t>(db)];
  Entry** link = d.Link(key, h);
  Entry* e = (link != nullptr && *link != nullptr) ? *link : nullptr;
  if (e == nullptr && MayBeOnDisk(db)) {
    DiskValue cold;
    e = Load(s, db, h, key, &cold);
    if (e == nullptr && cold.type != ValueType::kString) {
      if (cold.expire_ms != kNoExpire && cold.expire_ms <= now_ms) {
        // Expired: deleted from its record, as Erase does, not loaded first.
        if (EraseOnDisk(s, db, h, key, now_ms, /*only_expired=*/true) == 0) {
          expired_keys_.fetch_add(1, std::memory_order_relaxed);
        }
        return nullptr;
      }
      if (KeepOnDisk(cold.type, cold.size)) {
        // In memory from now on as its metadata, its elements left on disk.
        const std::string_view encoding =
            cold.type == ValueType::kZSet ? "skiplist" : "hashtable";
        e = InsertCollection(s, db, h, key,
                             std::make_unique<ColdCollection>(cold.type, cold.version,
                                                              cold.size, encoding),
                             cold.expire_ms, /*seq=*/0);
        return e;
      }
    }
  }
  if (e != nullptr && e->is_collection() && e->collection()->on_disk() &&
      !e->ExpiredAt(now_ms)) {
    e->set_lru(LruClock());
    return e;
  }
  return FindFrom(s, db, h, key, e, now_ms, /*touch=*/true);
}

Entry* Store::CompleteCollection(Stripe& s, int db, uint64_t h,
                                 Entry* e) NO_THREAD_SAFETY_ANALYSIS {
  const auto* cc = static_cast<const ColdCollection*>(e->collection());
  std::string_view key = e->key();
  DiskValue dv;
  const EncodingLimits limits = encoding_limits();
  Status st = disk_->Get(NamespaceOf(db), key, &dv, &limits);
  if (!st.ok() || dv.collection == nullptr || dv.type != cc->type() ||
      dv.version != cc->version()) {
    // Nothing is made up: the key stays as it is, and this lookup fails.
    Log(LogLevel::kWarning, "reading the collection {} from disk failed: {}", key,
        st.ok() ? std::string("another version") : std::string(st.message()));
    return nullptr;
  }
  std::unique_ptr<Collection> whole = std::move(dv.collection);
  cold_reads_.fetch_add(1, std::memory_order_relaxed);
  // The disk may already hold some of the changes: they are the latest.
  cc->ForEachChange([&](std::string_view elem, const std::optional<std::string>& v) {
    if (v.has_value()) {
      whole->LoadElement(elem, *v, limits);
    } else {
      DropElement(whole.get(), elem);
    }
  });
  Entry* n = NewCollectionEntry(key, std::move(whole),
                                e->has_expire() ? e->expire_ms() : kNoExpire, e->seq());
  n->set_lru(e->lru());
  Dict& d = s.dbs[static_cast<size_t>(db)];
  ReplaceEntry(s, d, d.Link(n->key(), h), n);
  return n;
}

std::optional<std::string> Store::CurrentElement(int db, std::string_view key,
                                                 const ColdCollection& c,
                                                 std::string_view elem) {
  if (const std::optional<std::string>* change = c.Change(elem)) return *change;
  std::string value;
  if (!ReadColdElement(db, key, c.version(), elem, &value)) return std::nullopt;
  return value;
}

void Store::ForgetAppliedChanges(Stripe& s, Entry* e) NO_THREAD_SAFETY_ANALYSIS {
  auto* cc = static_cast<ColdCollection*>(e->collection());
  if (cc->changes() == 0 || listener() == nullptr || e->seq() == Entry::kPendingSeq ||
      e->seq() > disk_->applied_seq()) {
    return;
  }
  const auto before = static_cast<int64_t>(cc->bytes());
  cc->ClearChanges();
  ElementChanged(s, e, before, e->seq());
}

template <typename Change, typename Decide>
Store::ElementChange Store::ChangeElement(
    int db, std::string_view key, ValueType t, std::string_view elem, int64_t now_ms,
    bool create, const Change& change, const Decide& decide) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  MutationListener* journal = listener();
  const uint64_t seq = journal != nullptr ? Entry::kPendingSeq : 0;
  uint8_t flags = 0;
  Entry* e = FindForChange(s, db, h, key, now_ms);
  if (e != nullptr && e->type() == t && e->collection()->on_disk()) {
    // A collection kept on disk: its element's value from its changes or the
    // disk decides; the change joins the others in memory.
    ForgetAppliedChanges(s, e);
    auto* cc = static_cast<ColdCollection*>(e->collection());
    std::string logged;
    const ElementChange r = decide(CurrentElement(db, key, *cc, elem), &logged);
    if (r == ElementChange::kNone) return r;
    TouchWatchers(s, db, key);
    if (r == ElementChange::kAdded) flags |= wal::kFlagNewElement;
    if (journal != nullptr) journal->OnElementSet(db, key, t, elem, logged, flags);
    const auto before = static_cast<int64_t>(cc->bytes());
    cc->Set(elem, logged, r == ElementChange::kAdded);
    ElementChanged(s, e, before, seq);
    return r;
  }
  if (e == nullptr) {
    if (!create) return ElementChange::kNone;
    flags |= wal::kFlagCreated;
    e = InsertCollection(s, db, h, key, NewCollection(t), kNoExpire, seq);
    s.dbs[static_cast<size_t>(db)].keys().fetch_add(1, std::memory_order_relaxed);
  } else if (e->type() != t) {
    return ElementChange::kNone;  // the caller checks
  }
  Collection* c = e->collection();
  const auto before = static_cast<int64_t>(c->bytes());
  std::string_view logged;
  // A collection just created always takes its first element.
  const ElementChange r = change(c, encoding_limits(), &logged);
  if (r == ElementChange::kNone) return r;
  TouchWatchers(s, db, key);
  if (r == ElementChange::kAdded) flags |= wal::kFlagNewElement;
  if (journal != nullptr) journal->OnElementSet(db, key, t, elem, logged, flags);
  ElementChanged(s, e, before, seq);
  return r;
}

bool Store::HashSet(int db, std::string_view key, std::string_view field,
                    std::string_view value, int64_t now_ms, size_t longest) {
  auto change = [&](Collection* c, const EncodingLimits& limits,
                    std::string_view* logged) {
    auto* hash = static_cast<HashValue*>(c);
    if (longest > limits.hash_max_listpack_value) hash->Convert();
    *logged = value;
    return hash->Set(field, value, limits) ? ElementChange::kAdded
                                           : ElementChange::kChanged;
  };
  auto decide = [&](const std::optional<std::string>& cur, std::string* logged) {
    logged->assign(value);
    return cur.has_value() ? ElementChange::kChanged : ElementChange::kAdded;
  };
  return ChangeElement(db, key, ValueType::kHash, field, now_ms, true, change, decide) ==
         ElementChange::kAdded;
}

bool Store::SetAdd(int db, std::string_view key, std::string_view member, int64_t now_ms,
                   size_t size_hint) {
  auto change = [&](Collection* c, const EncodingLimits& limits, std::string_view*) {
    auto* set = static_cast<SetValue*>(c);
    if (size_hint > 1) set->Prepare(member, size_hint, limits);
    return set->Add(member, limits) ? ElementChange::kAdded : ElementChange::kNone;
  };
  auto decide = [&](const std::optional<std::string>& cur, std::string*) {
    return cur.has_value() ? ElementChange::kNone : ElementChange::kAdded;
  };
  return ChangeElement(db, key, ValueType::kSet, member, now_ms, true, change, decide) ==
         ElementChange::kAdded;
}

Store::ZAddResult Store::ZSetAdd(int db, std::string_view key, std::string_view member,
                                 double score, int64_t now_ms, const ZAddOptions& o,
                                 double* new_score, size_t size_hint, size_t longest) {
  // Redis's zsetAdd: what happens to a member with score `cur` (none: new).
  auto add = [&](std::optional<double> cur) {
    if (cur.has_value()) {
      if (o.nx) return ZAddResult::kNop;
      if (o.incr) {
        score += *cur;
        if (std::isnan(score)) return ZAddResult::kNaN;
      }
      if ((o.lt && score >= *cur) || (o.gt && score <= *cur)) return ZAddResult::kNop;
      *new_score = score;
      return score == *cur ? ZAddResult::kUnchanged : ZAddResult::kUpdated;
    }
    if (o.xx) return ZAddResult::kNop;
    *new_score = score;
    return ZAddResult::kAdded;
  };
  auto how = [](ZAddResult r) {
    if (r == ZAddResult::kAdded) return ElementChange::kAdded;
    return r == ZAddResult::kUpdated ? ElementChange::kChanged : ElementChange::kNone;
  };
  ZAddResult result = ZAddResult::kNop;
  std::string encoded;
  auto change = [&](Collection* c, const EncodingLimits& limits,
                    std::string_view* logged) {
    auto* zset = static_cast<ZSetValue*>(c);
    result = add(zset->Score(member));
    const ElementChange r = how(result);
    if (r == ElementChange::kNone) return r;
    zset->Prepare(size_hint, std::max(longest, member.size()), limits);
    zset->Set(member, score, limits);
    // What the set holds: a listpack keeps -0 as 0, and the disk must too
    // (a set read back from it keeps its scores as they are there).
    encoded = ZSetValue::EncodeScore(*zset->Score(member));
    *logged = encoded;
    return r;
  };
  auto decide = [&](const std::optional<std::string>& cur, std::string* logged) {
    result = add(cur.has_value() ? std::optional<double>(ZSetValue::DecodeScore(*cur))
                                 : std::nullopt);
    *logged = ZSetValue::EncodeScore(score);
    return how(result);
  };
  ChangeElement(db, key, ValueType::kZSet, member, now_ms, !o.xx, change, decide);
  return result;
}

bool Store::RemoveElement(int db, std::string_view key, ValueType t,
                          std::string_view elem,
                          int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Entry* e = FindForChange(s, db, h, key, now_ms);
  if (e == nullptr || e->type() != t) return false;
  Collection* c = e->collection();
  if (c->on_disk()) ForgetAppliedChanges(s, e);
  const auto before = static_cast<int64_t>(c->bytes());
  bool removed;
  if (c->on_disk()) {
    auto* cc = static_cast<ColdCollection*>(c);
    removed = CurrentElement(db, key, *cc, elem).has_value();
    if (removed) cc->Remove(elem);
  } else {
    removed = DropElement(c, elem);
  }
  if (!removed) return false;
  TouchWatchers(s, db, key);
  MutationListener* journal = listener();
  if (journal != nullptr) journal->OnElementDel(db, key, t, elem, 0);
  ElementChanged(s, e, before, journal != nullptr ? Entry::kPendingSeq : 0);
  if (c->size() == 0) EraseLoaded(s, db, h, e);  // logged as the key's deletion
  return true;
}

void Store::SetCollectionExpire(int db, Entry* e,
                                int64_t expire_ms) NO_THREAD_SAFETY_ANALYSIS {
  std::string_view key = e->key();
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  bool had = e->has_expire(), has = expire_ms != kNoExpire;
  uint8_t flags = static_cast<uint8_t>((had ? wal::kFlagHadExpire : 0) |
                                       (has ? wal::kFlagHasExpire : 0));
  TouchWatchers(s, db, key);
  MutationListener* journal = listener();
  if (journal != nullptr) journal->OnExpire(db, key, expire_ms, flags);
  if (has && !had) d.expires().fetch_add(1, std::memory_order_relaxed);
  if (had && !has) d.expires().fetch_sub(1, std::memory_order_relaxed);
  const uint64_t seq = journal != nullptr ? Entry::kPendingSeq : 0;
  if (has) NoteTtl(s, db);
  if (e->has_slot() || !has) {
    e->set_expire_ms(expire_ms);
    e->set_seq(seq);
    return;
  }
  // A new entry with an expiry slot takes over the collection.
  Entry** link = d.Link(key, h);
  Collection* c = e->collection();
  Entry* n = NewCollectionEntry(key, std::unique_ptr<Collection>(c), expire_ms, seq);
  n->next = e->next;
  *link = n;
  s.bytes.fetch_add(EntryBytes(n) - EntryBytes(e), std::memory_order_relaxed);
  FreeEntryKeepingCollection(e);
}

void Store::PutCollection(int db, std::string_view key, const Collection& c,
                          int64_t expire_ms, int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  Erase(db, key, now_ms);  // also an expired one only on disk, logged
  if (c.size() == 0) return;
  uint64_t h = Hash(key);
  Stripe& s = StripeFor(h);
  Dict& d = s.dbs[static_cast<size_t>(db)];
  MutationListener* journal = listener();
  // The copy keeps the original's encoding, as Redis's COPY and RENAME do.
  Entry* e = InsertCollection(s, db, h, key, c.Clone(), kNoExpire,
                              journal != nullptr ? Entry::kPendingSeq : 0);
  d.keys().fetch_add(1, std::memory_order_relaxed);
  TouchWatchers(s, db, key);
  if (journal != nullptr) {
    uint8_t flags = wal::kFlagCreated | wal::kFlagNewElement;
    c.ForEachElement([&](std::string_view elem, std::string_view value) {
      journal->OnElementSet(db, key, c.type(), elem, value, flags);
      flags = wal::kFlagNewElement;
    });
  }
  if (expire_ms != kNoExpire) SetCollectionExpire(db, e, expire_ms);
}

}  // namespace edgekv
