// Store: eviction to the disk tier (sampled LRU) and the memory and tier
// figures.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "edgekv/store.h"
#include "storage/disk_tier.h"
#include "storage/store_internal.h"

namespace edgekv {

using store_internal::IdleSeconds;
using store_internal::LruClock;
using store_internal::tl_rng;

bool Store::Evictable(const Entry* e) const {
  if (disk_ == nullptr) return false;
  uint64_t seq = e->seq();
  return seq != Entry::kPendingSeq && seq <= disk_->applied_seq();
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
  t.cold_element_reads = cold_element_reads_.load();
  t.evicted = evicted_.load();
  return t;
}

}  // namespace edgekv
