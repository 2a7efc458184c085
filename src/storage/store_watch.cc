// Store: WATCH (the watched keys of each stripe, and marking their clients
// dirty).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "edgekv/store.h"
#include "storage/disk_tier.h"
#include "storage/store_internal.h"

namespace edgekv {

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

}  // namespace edgekv
