// Store: the expiry cycles (memory stripes with keys that expire, and the
// disk tier's expired keys) and the cleaning of tombstones.
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
using store_internal::NextCursor;

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
    disk_->Scan(ns, from,
                [&](std::string_view key, std::string_view, int64_t exp, ValueType) {
                  if (examined++ >= budget) {
                    end = false;
                    return false;
                  }
                  last.assign(key);
                  if (exp != kNoExpire && exp <= now_ms)
                    dead.emplace_back(db, std::string(key));
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
    Entry** link = s.dbs[static_cast<size_t>(db)].Link(key, h);
    if (link == nullptr || *link == nullptr) {
      // Still only on disk: reaped from its record (a collection is not
      // read whole to be deleted).
      if (EraseOnDisk(s, db, h, key, now_ms, /*only_expired=*/true) == 0) ++reaped;
    } else if (Entry* e = *link; !e->tombstone() && e->ExpiredAt(now_ms)) {
      EraseLoaded(s, db, h, e);
      ++reaped;
    }
    if (MutationListener* l = listener()) l->Commit();
  }
  expired_keys_.fetch_add(reaped, std::memory_order_relaxed);
  return reaped;
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

}  // namespace edgekv
