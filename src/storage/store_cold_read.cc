// Store: reads that leave a cold collection on disk. The read policy: a
// collection only on disk comes into memory for a command that needs all of
// it (Find), never for a point read (ReadElements: one LevelDB record per
// element) or a range of a sorted set (ReadSorted: its score index), so that
// one larger than memory can be read; nor for HSCAN, SSCAN and ZSCAN of a
// big one (ScanElements). The changes a ColdCollection holds that the disk
// may not have yet are read over the disk's records.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgekv/log.h"
#include "edgekv/store.h"
#include "storage/disk_tier.h"
#include "storage/store_internal.h"
#include "types/cold_collection.h"
#include "types/sorted_view.h"

namespace edgekv {
namespace {

// A sorted set on disk read through its score index, with the changes a
// ColdCollection holds of it (cc; may be null) over it: a changed member's
// index record is skipped and its new score merged in order. What it reads
// from disk counts in cold_element_reads. A range read costs its rank and
// its length: the index is walked from one end, as Kvrocks walks its own
// (LevelDB keeps no counts to skip by).
class DiskSortedView final : public SortedView {
 public:
  DiskSortedView(const DiskTier& disk, uint32_t ns, std::string_view key,
                 uint64_t version, size_t size, const ColdCollection* cc,
                 ShardedCounter* reads)
      : disk_(disk),
        ns_(ns),
        key_(key),
        version_(version),
        size_(size),
        cc_(cc),
        reads_(reads) {
    if (cc_ == nullptr) return;
    cc_->ForEachChange([&](std::string_view m, const std::optional<std::string>& v) {
      if (v.has_value()) added_.emplace_back(ZSetValue::DecodeScore(*v), m);
    });
    std::sort(added_.begin(), added_.end(), Less);
  }

  size_t size() const override { return size_; }

  size_t CountBefore(const ZSetValue::Before& before) const override {
    size_t n = 0;
    Visit(false, [&](std::string_view m, double s) {
      if (!before(s, m)) return false;
      ++n;
      return true;
    });
    return n;
  }

  std::optional<size_t> Rank(std::string_view member) const override {
    const std::optional<std::string>* change =
        cc_ != nullptr ? cc_->Change(member) : nullptr;
    if (change != nullptr && !change->has_value()) return std::nullopt;
    std::string score;
    if (change == nullptr) {
      reads_->fetch_add(1);
      if (!disk_.GetElement(ns_, key_, version_, member, &score).ok())
        return std::nullopt;
    }
    size_t n = 0;
    bool found = false;
    Visit(false, [&](std::string_view m, double) {
      found = m == member;
      if (!found) ++n;
      return !found;
    });
    return found ? std::optional<size_t>(n) : std::nullopt;
  }

  bool VisitFromScore(double score, bool reverse, const Until& fn) const override {
    Visit(reverse, fn, &score);
    return true;
  }

  void Walk(size_t first, size_t last, bool reverse,
            const ZSetValue::Visitor& fn) const override {
    // From the nearer end; the other way round than asked, through a buffer.
    const bool from_end = size_ - 1 - last < first;
    std::vector<std::pair<std::string, double>> buffered;
    size_t step = 0;
    Visit(from_end, [&](std::string_view m, double s) {
      const size_t rank = from_end ? size_ - 1 - step : step;
      ++step;
      if (rank >= first && rank <= last) {
        if (from_end == reverse) {
          fn(m, s);
        } else {
          buffered.emplace_back(m, s);
        }
      }
      return from_end ? rank > first : rank < last;
    });
    for (auto it = buffered.rbegin(); it != buffered.rend(); ++it)
      fn(it->first, it->second);
  }

 private:
  using Added = std::pair<double, std::string_view>;
  // The sorted set's order: by score, then by member's bytes.
  static bool Less(const Added& a, const Added& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second < b.second;
  }

  // The elements in order (descending when reverse) until fn returns false;
  // with `from`, from a score on (DiskTier::VisitScores).
  void Visit(bool reverse, const DiskTier::ScoreVisitor& fn,
             const double* from = nullptr) const {
    size_t n = 0, next = 0;  // added_ elements sent, from the walk's end
    bool more = true;
    auto added = [&](size_t i) -> const Added& {
      return reverse ? added_[added_.size() - 1 - i] : added_[i];
    };
    // Those before `from` in the walk's order are not sent.
    while (from != nullptr && next < added_.size() &&
           (reverse ? added(next).first > *from : added(next).first < *from)) {
      ++next;
    }
    // Sends the changed members that come before (s, m) in the walk's order.
    auto send_added_before = [&](const Added* bound) {
      for (; more && next < added_.size(); ++next) {
        const Added& a = added(next);
        if (bound != nullptr && (reverse ? !Less(*bound, a) : !Less(a, *bound))) break;
        more = fn(a.second, a.first);
      }
    };
    Status st = disk_.VisitScores(
        ns_, key_, version_, reverse,
        [&](std::string_view m, double s) {
          ++n;
          if (cc_ != nullptr && cc_->Change(m) != nullptr) {
            return true;  // removed or moved
          }
          const Added here{s, m};
          send_added_before(&here);
          if (more) more = fn(m, s);
          return more;
        },
        from);
    send_added_before(nullptr);
    reads_->fetch_add(n);
    if (!st.ok()) Log(LogLevel::kWarning, "disk read failed: {}", st.message());
  }

  const DiskTier& disk_;
  const uint32_t ns_;
  const std::string_view key_;
  const uint64_t version_;
  const size_t size_;
  const ColdCollection* const cc_;
  std::vector<Added> added_;  // the changes' members with their scores, in order
  ShardedCounter* reads_;
};

}  // namespace

std::optional<Store::ReadLocation> Store::LocateForRead(
    int db, std::string_view key, ValueType t, int64_t now_ms) NO_THREAD_SAFETY_ANALYSIS {
  uint64_t h = Hash(key);
  DiskValue cold;
  Entry* e = Load(StripeFor(h), db, h, key, &cold);
  if (e == nullptr && cold.type != ValueType::kString) {
    // Only on disk: an expired one is left to the expiry cycle.
    if (cold.type != t || (cold.expire_ms != kNoExpire && cold.expire_ms <= now_ms))
      return std::nullopt;
    return ReadLocation{nullptr, h, cold.version, cold.size};
  }
  if (e != nullptr && !e->tombstone() && e->ExpiredAt(now_ms)) {
    e = Find(db, key, now_ms);  // deletes it, as any lookup does
  }
  if (e == nullptr || e->tombstone() || e->type() != t) return std::nullopt;
  hot_reads_.fetch_add(1, std::memory_order_relaxed);
  const Collection* c = e->collection();
  if (!c->on_disk()) return ReadLocation{e, h, 0, c->size()};
  const auto* cc = static_cast<const ColdCollection*>(c);
  return ReadLocation{e, h, cc->version(), cc->size()};
}

int64_t Store::ReadElements(int db, std::string_view key, ValueType t, int64_t now_ms,
                            std::span<const std::string_view> elems,
                            const ElementFn& fn) {
  std::optional<ReadLocation> at = LocateForRead(db, key, t, now_ms);
  if (!at.has_value()) return -1;
  const Collection* c = at->entry != nullptr ? at->entry->collection() : nullptr;
  std::string scratch;
  if (c != nullptr && !c->on_disk()) {
    for (size_t i = 0; i < elems.size(); ++i) fn(i, c->FindElement(elems[i], &scratch));
    return static_cast<int64_t>(at->size);
  }
  // What the changes in memory know of a ColdCollection's elements, the
  // rest from disk.
  const auto* cc = static_cast<const ColdCollection*>(c);
  for (size_t i = 0; i < elems.size(); ++i) {
    const std::optional<std::string>* change =
        cc != nullptr ? cc->Change(elems[i]) : nullptr;
    if (change == nullptr) {
      fn(i, ReadColdElement(db, key, at->version, elems[i], &scratch)
                ? std::optional<std::string_view>(scratch)
                : std::nullopt);
    } else {
      fn(i,
         change->has_value() ? std::optional<std::string_view>(**change) : std::nullopt);
    }
  }
  return static_cast<int64_t>(at->size);
}

bool Store::ReadSorted(int db, std::string_view key, int64_t now_ms,
                       const std::function<void(const SortedView&)>& fn)
    NO_THREAD_SAFETY_ANALYSIS {
  std::optional<ReadLocation> at = LocateForRead(db, key, ValueType::kZSet, now_ms);
  if (!at.has_value()) return false;
  const Collection* c = at->entry != nullptr ? at->entry->collection() : nullptr;
  if (c != nullptr && !c->on_disk()) {
    fn(MemorySortedView(*static_cast<const ZSetValue*>(c)));
    return true;
  }
  const ColdCollection* cc = nullptr;
  if (c != nullptr) {
    ForgetAppliedChanges(StripeFor(at->hash), at->entry);
    cc = static_cast<const ColdCollection*>(at->entry->collection());
    if (cc->changes() == 0) cc = nullptr;
  }
  fn(DiskSortedView(*disk_, NamespaceOf(db), key, at->version, at->size, cc,
                    &cold_element_reads_));
  return true;
}

StatusOr<std::optional<uint64_t>> Store::ScanElements(
    int db, std::string_view key, ValueType t, int64_t now_ms, uint64_t cursor,
    size_t count,
    const std::function<uint64_t(const Collection&, uint64_t cursor)>& in_memory,
    const std::function<void(std::string_view elem, std::string_view value)>& on_disk)
    NO_THREAD_SAFETY_ANALYSIS {
  using Next = std::optional<uint64_t>;
  std::optional<ReadLocation> at = LocateForRead(db, key, t, now_ms);
  if (!at.has_value()) return Next();
  const Collection* c = at->entry != nullptr ? at->entry->collection() : nullptr;
  const bool disk_cursor = (cursor & kDiskScanCursor) != 0;
  if ((c == nullptr || c->on_disk()) && !KeepOnDisk(t, at->size)) {
    Entry* e = Find(db, key, now_ms);
    if (e == nullptr || e->type() != t) return Next();
    c = e->collection();
  }
  if (c != nullptr && !c->on_disk()) return Next(in_memory(*c, disk_cursor ? 0 : cursor));

  const ColdCollection* cc = nullptr;
  if (c != nullptr) {
    ForgetAppliedChanges(StripeFor(at->hash), at->entry);
    cc = static_cast<const ColdCollection*>(at->entry->collection());
  }
  std::string after;
  const bool resume = disk_cursor && disk_->LoadCursor(cursor, &after);
  // The changes past the cursor, in element order (the disk's byte order).
  std::vector<std::pair<std::string_view, const std::optional<std::string>*>> changes;
  if (cc != nullptr) {
    cc->ForEachChange([&](std::string_view elem, const std::optional<std::string>& v) {
      if (!resume || elem > after) changes.emplace_back(elem, &v);
    });
  }
  size_t next = 0, seen = 0;
  bool more = false;
  std::string last;
  auto emit = [&](std::string_view elem, const std::string_view* value) {
    if (value == nullptr) return true;  // removed
    if (seen >= count) {
      more = true;
      return false;
    }
    ++seen;
    last.assign(elem);
    on_disk(elem, *value);
    return true;
  };
  auto change_value = [&](size_t i, std::string_view* held) -> const std::string_view* {
    const std::optional<std::string>* v = changes[i].second;
    if (!v->has_value()) return nullptr;
    *held = **v;
    return held;
  };
  // Sends the changes before `bound` (all of them without one).
  auto emit_changes_before = [&](const std::string_view* bound) {
    std::string_view held;
    for (; next < changes.size(); ++next) {
      if (bound != nullptr && changes[next].first >= *bound) break;
      if (!emit(changes[next].first, change_value(next, &held))) return false;
    }
    return true;
  };
  uint64_t read = 0;
  auto visit = [&](std::string_view elem, std::string_view value) {
    ++read;
    if (!emit_changes_before(&elem)) return false;
    if (next < changes.size() && changes[next].first == elem) {
      std::string_view held;
      if (!emit(elem, change_value(next, &held))) return false;
      ++next;
      return true;
    }
    return emit(elem, &value);
  };
  // A walk of all of it reads each block once: it is not kept in LevelDB's
  // small block cache (for index blocks), as Find's walk is not.
  const bool whole_walk = count == SIZE_MAX;
  Status st = disk_->VisitElements(NamespaceOf(db), key, at->version,
                                   resume ? &after : nullptr, !whole_walk, visit);
  cold_element_reads_.fetch_add(read);
  if (!st.ok()) {
    Log(LogLevel::kWarning, "disk read failed: {}", st.message());
    return st;
  }
  if (!more) emit_changes_before(nullptr);
  if (!more) return Next(0);
  const uint64_t id =
      kDiskScanCursor | (store_internal::tl_rng() & (kDiskScanCursor - 1)) | 1;
  st = disk_->SaveCursor(id, last, now_ms);
  if (!st.ok()) {
    Log(LogLevel::kWarning, "SCAN: can't save cursor: {}", st.message());
    return st;
  }
  return Next(id);
}

bool Store::ReadColdElement(int db, std::string_view key, uint64_t version,
                            std::string_view elem, std::string* value) {
  cold_element_reads_.fetch_add(1, std::memory_order_relaxed);
  Status st = disk_->GetElement(NamespaceOf(db), key, version, elem, value);
  if (!st.ok() && st.code() != Status::Code::kNotFound) {
    Log(LogLevel::kWarning, "disk read failed: {}", st.message());
  }
  return st.ok();
}

}  // namespace edgekv
