// Store: SCAN (memory cursors and the disk-merged scan), KEYS's walk and
// RANDOMKEY.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "edgekv/log.h"
#include "edgekv/store.h"
#include "storage/disk_tier.h"
#include "storage/store_internal.h"

namespace edgekv {

using store_internal::kCursorStripeBits;
using store_internal::NextCursor;
using store_internal::tl_rng;

uint64_t Store::MemoryScan(int db, uint64_t cursor, size_t count, int64_t now_ms,
                           bool all_locked,
                           const std::function<void(std::string_view)>& visit,
                           std::optional<ValueType> type) {
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
          if (!type || e->type() == *type) visit(e->key());
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
                     std::string_view prefix, std::optional<ValueType> type) {
  if (count == 0) count = 1;
  if (disk_ == nullptr) {
    return MemoryScan(db, cursor, count, now_ms, all_locked, visit, type);
  }
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
              [&](std::string_view key, std::string_view, int64_t expire, ValueType t) {
                if (key.substr(0, prefix.size()) != prefix) return false;
                if (seen >= count) {
                  more = true;
                  return false;
                }
                ++seen;
                last_returned.assign(key);
                if ((expire == kNoExpire || expire > now_ms) && (!type || *type == t)) {
                  visit(key);
                }
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
                [&](std::string_view key, std::string_view, int64_t exp, ValueType) {
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
      auto pick = [&](std::string_view key, std::string_view, int64_t exp, ValueType) {
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

}  // namespace edgekv
