// Store: the lock-striped memory table (without a disk tier attached).
//
// Single-threaded tests use a fixed clock (kNow) so expiry is deterministic;
// the concurrency tests use the real clock and several threads.
#include "edgekv/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "edgekv/wal_format.h"

namespace edgekv {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;  // a fixed "current" unix ms

int64_t RealNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Key operations with the key's stripe held, as the locking contract asks.
std::vector<size_t> StripesOf(Store& s, std::initializer_list<std::string_view> keys) {
  std::vector<size_t> v;
  for (auto k : keys) v.push_back(s.StripeOf(k));
  return v;
}

void Put(Store& s, int db, std::string_view key, std::string_view value,
         int64_t expire_ms = kNoExpire) {
  StripeGuard g(&s, StripesOf(s, {key}));
  s.Put(db, key, value, expire_ms);
}

std::optional<std::string> Get(Store& s, int db, std::string_view key,
                               int64_t now = kNow) {
  StripeGuard g(&s, StripesOf(s, {key}));
  Entry* e = s.Find(db, key, now);
  if (e == nullptr) return std::nullopt;
  return std::string(e->value());
}

std::optional<int64_t> ExpireOf(Store& s, int db, std::string_view key,
                                int64_t now = kNow) {
  StripeGuard g(&s, StripesOf(s, {key}));
  Entry* e = s.Find(db, key, now);
  if (e == nullptr) return std::nullopt;
  return e->expire_ms();
}

bool Erase(Store& s, int db, std::string_view key, int64_t now = kNow) {
  StripeGuard g(&s, StripesOf(s, {key}));
  return s.Erase(db, key, now);
}

bool SetExpire(Store& s, int db, std::string_view key, int64_t expire_ms,
               int64_t now = kNow) {
  StripeGuard g(&s, StripesOf(s, {key}));
  return s.SetExpire(db, key, expire_ms, now);
}

// One full SCAN iteration; `between` runs after every call (it may change the
// table, as other clients would between a client's SCAN calls).
std::multiset<std::string> ScanAll(Store& s, int db, size_t count, int64_t now,
                                   const std::function<void()>& between = {},
                                   int* calls_out = nullptr,
                                   size_t* max_batch = nullptr) {
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    size_t batch = 0;
    cursor = s.Scan(db, cursor, count, now, false, [&](std::string_view k) {
      seen.emplace(k);
      ++batch;
    });
    if (max_batch != nullptr) *max_batch = std::max(*max_batch, batch);
    ++calls;
    if (between) between();
    if (calls > 10'000'000) break;
  } while (cursor != 0);
  if (calls_out != nullptr) *calls_out = calls;
  return seen;
}

// ---- Basic key operations ------------------------------------------------------

TEST(Store, PutFindErase) {
  Store s;
  EXPECT_EQ(Get(s, 0, "k"), std::nullopt);
  Put(s, 0, "k", "v1");
  EXPECT_EQ(Get(s, 0, "k"), "v1");
  Put(s, 0, "k", "v2");  // same size: overwritten in place
  EXPECT_EQ(Get(s, 0, "k"), "v2");
  Put(s, 0, "k", "a much longer value than before");
  EXPECT_EQ(Get(s, 0, "k"), "a much longer value than before");
  Put(s, 0, "k", "");
  EXPECT_EQ(Get(s, 0, "k"), "");
  EXPECT_TRUE(Erase(s, 0, "k"));
  EXPECT_EQ(Get(s, 0, "k"), std::nullopt);
  EXPECT_FALSE(Erase(s, 0, "k"));
}

TEST(Store, KeysAndValuesAreBinarySafe) {
  Store s;
  std::string key("a\0b\r\n", 5), key2("a\0c\r\n", 5), value("\0\xff\0", 3);
  Put(s, 0, key, value);
  Put(s, 0, key2, "other");
  EXPECT_EQ(Get(s, 0, key), value);
  EXPECT_EQ(Get(s, 0, key2), "other");
  EXPECT_EQ(Get(s, 0, std::string_view("a", 1)), std::nullopt);
  Put(s, 0, "", "empty key");
  EXPECT_EQ(Get(s, 0, ""), "empty key");
}

TEST(Store, ManyKeysSurviveTableGrowthAndShrinking) {
  for (size_t stripes : {size_t{1}, size_t{1024}}) {
    SCOPED_TRACE(stripes);
    StoreOptions o;
    o.stripes = stripes;
    Store s(o);
    for (int i = 0; i < 20000; ++i)
      Put(s, 0, "key:" + std::to_string(i), std::to_string(i));
    EXPECT_EQ(s.DbSize(0), 20000u);
    for (int i = 0; i < 20000; i += 2)
      ASSERT_TRUE(Erase(s, 0, "key:" + std::to_string(i)));
    for (int i = 0; i < 19990; ++i) {
      auto v = Get(s, 0, "key:" + std::to_string(i));
      if (i % 2) {
        ASSERT_EQ(v, std::to_string(i));
      } else {
        ASSERT_EQ(v, std::nullopt);
      }
    }
    EXPECT_EQ(s.DbSize(0), 10000u);
  }
}

TEST(Store, ExpiredKeyIsInvisible) {
  Store s;
  Put(s, 0, "k", "v", kNow + 1000);
  EXPECT_EQ(Get(s, 0, "k", kNow), "v");
  EXPECT_EQ(Get(s, 0, "k", kNow + 999), "v");
  EXPECT_EQ(ExpireOf(s, 0, "k", kNow), kNow + 1000);
  // Expiry is inclusive: at the expire time the key is gone.
  EXPECT_EQ(Get(s, 0, "k", kNow + 1000), std::nullopt);
  // ...and it was deleted, so an earlier clock does not bring it back.
  EXPECT_EQ(Get(s, 0, "k", kNow), std::nullopt);
  EXPECT_EQ(s.expired_keys(), 1u);
  EXPECT_EQ(s.DbSize(0), 0u);
}

TEST(Store, EraseOfAnExpiredKeyReportsNoLiveKey) {
  Store s;
  Put(s, 0, "k", "v", kNow - 1);
  EXPECT_FALSE(Erase(s, 0, "k"));
  EXPECT_EQ(s.DbSize(0), 0u);
  EXPECT_EQ(s.expired_keys(), 1u);
}

TEST(Store, SetExpireChangesOnlyLiveKeys) {
  Store s;
  EXPECT_FALSE(SetExpire(s, 0, "missing", kNow + 10));
  Put(s, 0, "k", "v");
  EXPECT_TRUE(SetExpire(s, 0, "k", kNow + 10));
  EXPECT_EQ(ExpireOf(s, 0, "k"), kNow + 10);
  EXPECT_EQ(Get(s, 0, "k"), "v");
  EXPECT_TRUE(SetExpire(s, 0, "k", kNoExpire));
  EXPECT_EQ(ExpireOf(s, 0, "k"), kNoExpire);
  EXPECT_EQ(Get(s, 0, "k", kNow + 1'000'000), "v");
  Put(s, 0, "old", "v", kNow - 5);
  EXPECT_FALSE(SetExpire(s, 0, "old", kNow + 100));
  EXPECT_EQ(Get(s, 0, "old", kNow - 10), std::nullopt);
}

// A key without a TTL has no expiry slot; gaining one reallocates the entry,
// and a same-size overwrite keeps the value, key and expiry apart.
TEST(Store, KeysGainAndLoseExpiriesWithSameSizeValues) {
  Store s;
  Put(s, 0, "k", "value-1");
  int64_t plain = s.used_bytes();
  Put(s, 0, "k", "value-2", kNow + 100);  // needs a slot
  EXPECT_EQ(Get(s, 0, "k"), "value-2");
  EXPECT_EQ(ExpireOf(s, 0, "k"), kNow + 100);
  Put(s, 0, "k", "value-3");  // in place: the slot now holds "none"
  EXPECT_EQ(Get(s, 0, "k"), "value-3");
  EXPECT_EQ(ExpireOf(s, 0, "k"), kNoExpire);
  EXPECT_EQ(Get(s, 0, "k", kNow + 1'000'000), "value-3");
  EXPECT_EQ(s.Counts(0).expires, 0u);
  Put(s, 0, "k", "value-4", kNow + 200);  // in place, into the kept slot
  EXPECT_EQ(ExpireOf(s, 0, "k"), kNow + 200);
  EXPECT_EQ(s.Counts(0).expires, 1u);
  EXPECT_EQ(Get(s, 0, "k", kNow + 200), std::nullopt);
  // A fresh entry without a TTL costs what the first one did.
  Put(s, 0, "k", "value-5");
  EXPECT_EQ(s.used_bytes(), plain);
  EXPECT_TRUE(Erase(s, 0, "k"));
  EXPECT_LT(s.used_bytes(), plain);
}
TEST(Store, DatabasesAreSeparateNamespaces) {
  Store s;
  Put(s, 0, "k", "zero");
  Put(s, 1, "k", "one");
  Put(s, 15, "k", "fifteen");
  EXPECT_EQ(Get(s, 0, "k"), "zero");
  EXPECT_EQ(Get(s, 1, "k"), "one");
  EXPECT_EQ(Get(s, 15, "k"), "fifteen");
  EXPECT_EQ(Get(s, 2, "k"), std::nullopt);
  EXPECT_TRUE(Erase(s, 1, "k"));
  EXPECT_EQ(Get(s, 0, "k"), "zero");
  EXPECT_EQ(Get(s, 1, "k"), std::nullopt);
  EXPECT_EQ(s.DbSize(0), 1u);
  EXPECT_EQ(s.DbSize(1), 0u);
  EXPECT_EQ(s.DbSize(15), 1u);
}

TEST(Store, CountsTrackKeysAndExpires) {
  Store s;
  Put(s, 0, "a", "1");
  Put(s, 0, "b", "2", kNow + 100);
  Put(s, 0, "c", "3", kNow + 200);
  KeyspaceCounts c = s.Counts(0);
  EXPECT_EQ(c.keys, 3u);
  EXPECT_EQ(c.expires, 2u);
  Put(s, 0, "b", "2");  // overwrite drops the TTL
  EXPECT_EQ(s.Counts(0).expires, 1u);
  EXPECT_TRUE(SetExpire(s, 0, "a", kNow + 50));
  EXPECT_EQ(s.Counts(0).expires, 2u);
  EXPECT_TRUE(SetExpire(s, 0, "a", kNoExpire));
  EXPECT_EQ(s.Counts(0).expires, 1u);
  EXPECT_TRUE(Erase(s, 0, "c"));
  c = s.Counts(0);
  EXPECT_EQ(c.keys, 2u);
  EXPECT_EQ(c.expires, 0u);
  EXPECT_EQ(s.DbSize(0), 2u);
  EXPECT_EQ(s.Counts(1).keys, 0u);
}

TEST(Store, DbSizeCountsExpiredKeysUntilTheyAreReaped) {
  Store s;
  Put(s, 0, "k", "v", kNow + 10);
  EXPECT_EQ(s.DbSize(0), 1u);
  EXPECT_EQ(Get(s, 0, "k", kNow + 20), std::nullopt);  // lazily deleted
  EXPECT_EQ(s.DbSize(0), 0u);
  EXPECT_EQ(s.Counts(0).expires, 0u);
}

TEST(Store, UsedBytesGrowsWithDataAndShrinksOnFlush) {
  Store s;
  int64_t empty = s.used_bytes();
  for (int i = 0; i < 1000; ++i)
    Put(s, 0, "key:" + std::to_string(i), std::string(100, 'x'));
  int64_t full = s.used_bytes();
  EXPECT_GT(full, empty + 1000 * 100);
  s.FlushAll(false);
  EXPECT_LT(s.used_bytes(), full - 1000 * 100);
}

// ---- Whole-database operations ---------------------------------------------------

TEST(Store, FlushDbEmptiesOneDatabase) {
  Store s;
  for (int i = 0; i < 100; ++i) {
    Put(s, 0, "a" + std::to_string(i), "v");
    Put(s, 1, "b" + std::to_string(i), "v", kNow + 1000);
  }
  s.FlushDb(1, false);
  EXPECT_EQ(s.DbSize(1), 0u);
  EXPECT_EQ(s.Counts(1).expires, 0u);
  EXPECT_EQ(Get(s, 1, "b0"), std::nullopt);
  EXPECT_EQ(s.DbSize(0), 100u);
  EXPECT_EQ(Get(s, 0, "a0"), "v");
  // The flushed database is usable again.
  Put(s, 1, "b0", "again");
  EXPECT_EQ(Get(s, 1, "b0"), "again");
  EXPECT_EQ(s.DbSize(1), 1u);
}

TEST(Store, FlushAllEmptiesEveryDatabase) {
  Store s;
  for (int db = 0; db < s.databases(); ++db) Put(s, db, "k", "v");
  s.FlushAll(false);
  for (int db = 0; db < s.databases(); ++db) {
    EXPECT_EQ(s.DbSize(db), 0u) << db;
    EXPECT_EQ(Get(s, db, "k"), std::nullopt) << db;
  }
}

TEST(Store, FlushWithAllStripesHeldByTheCaller) {
  Store s;
  Put(s, 3, "k", "v");
  {
    StripeGuard all(&s, true);
    s.FlushDb(3, /*all_locked=*/true);
  }
  EXPECT_EQ(s.DbSize(3), 0u);
}

TEST(Store, SwapDbExchangesContentsAndCounts) {
  Store s;
  Put(s, 0, "a", "from0");
  Put(s, 0, "b", "from0", kNow + 100);
  Put(s, 2, "c", "from2");
  s.SwapDb(0, 2, false);
  EXPECT_EQ(Get(s, 0, "c"), "from2");
  EXPECT_EQ(Get(s, 0, "a"), std::nullopt);
  EXPECT_EQ(Get(s, 2, "a"), "from0");
  EXPECT_EQ(Get(s, 2, "b"), "from0");
  EXPECT_EQ(s.Counts(0).keys, 1u);
  EXPECT_EQ(s.Counts(0).expires, 0u);
  EXPECT_EQ(s.Counts(2).keys, 2u);
  EXPECT_EQ(s.Counts(2).expires, 1u);
  s.SwapDb(0, 2, false);
  EXPECT_EQ(Get(s, 0, "a"), "from0");
  EXPECT_EQ(Get(s, 2, "c"), "from2");
}

TEST(Store, RandomKeyReturnsLiveKeysOnly) {
  Store s;
  EXPECT_EQ(s.RandomKey(0, kNow, false), std::nullopt);
  Put(s, 0, "dead1", "v", kNow - 1);
  Put(s, 0, "dead2", "v", kNow - 1);
  EXPECT_EQ(s.RandomKey(0, kNow, false), std::nullopt);
  Put(s, 0, "a", "v");
  Put(s, 0, "b", "v");
  Put(s, 0, "c", "v");
  Put(s, 1, "other-db", "v");
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) {
    auto k = s.RandomKey(0, kNow, false);
    ASSERT_TRUE(k.has_value());
    seen.insert(*k);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
}

TEST(Store, RandomKeyIsRoughlyUniformInASparseDatabase) {
  Store s;  // 1024 stripes, 3 keys: most stripes are empty
  Put(s, 0, "a", "v");
  Put(s, 0, "b", "v");
  Put(s, 0, "c", "v");
  std::map<std::string, int> picks;
  for (int i = 0; i < 3000; ++i) ++picks[*s.RandomKey(0, kNow, false)];
  ASSERT_EQ(picks.size(), 3u);
  for (const auto& [k, n] : picks) {
    EXPECT_GT(n, 600) << k;  // uniform would be ~1000 each
  }
}

TEST(Store, ForEachVisitsLiveKeysOfOneDatabase) {
  Store s;
  Put(s, 0, "user:1", "v");
  Put(s, 0, "user:2", "v");
  Put(s, 0, "item:1", "v");
  Put(s, 0, "user:dead", "v", kNow - 1);
  Put(s, 1, "user:other-db", "v");
  std::set<std::string> all, users;
  s.ForEach(0, kNow, false, [&](std::string_view k) { all.emplace(k); });
  s.ForEach(
      0, kNow, false, [&](std::string_view k) { users.emplace(k); }, "user:");
  EXPECT_EQ(all, (std::set<std::string>{"user:1", "user:2", "item:1"}));
  EXPECT_EQ(users, (std::set<std::string>{"user:1", "user:2"}));
}

// ---- SCAN ---------------------------------------------------------------------

TEST(Store, ScanReturnsEveryKeyOfTheDatabase) {
  for (size_t stripes : {size_t{1}, size_t{16}, size_t{1024}}) {
    SCOPED_TRACE(stripes);
    StoreOptions o;
    o.stripes = stripes;
    Store s(o);
    std::set<std::string> want;
    for (int i = 0; i < 10000; ++i) {
      std::string k = "key:" + std::to_string(i);
      Put(s, 0, k, "v");
      want.insert(k);
    }
    Put(s, 1, "not-in-db0", "v");
    Put(s, 0, "expired", "v", kNow - 1);
    auto seen = ScanAll(s, 0, 10, kNow);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
    EXPECT_EQ(seen.size(), want.size());  // a stable table yields no duplicates
  }
}

TEST(Store, ScanOfAnEmptyDatabaseEndsAtOnce) {
  Store s;
  int calls = 0;
  EXPECT_TRUE(ScanAll(s, 0, 10, kNow, {}, &calls).empty());
  EXPECT_EQ(calls, 1);
}

TEST(Store, ScanCountBoundsTheBatch) {
  Store s;
  for (int i = 0; i < 10000; ++i) Put(s, 0, "key:" + std::to_string(i), "v");
  for (size_t count : {size_t{1}, size_t{10}, size_t{100}}) {
    SCOPED_TRACE(count);
    int calls = 0;
    size_t max_batch = 0;
    auto seen = ScanAll(s, 0, count, kNow, {}, &calls, &max_batch);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10000u);
    // A batch may overshoot by the rest of one bucket chain, no more.
    EXPECT_LE(max_batch, count + 8);
    EXPECT_GE(static_cast<size_t>(calls), 10000 / (count + 8));
  }
  int calls = 0;
  auto seen = ScanAll(s, 0, 100000, kNow, {}, &calls);
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_LE(calls, 2);
}

// Keys present for the whole iteration must all be returned even when other
// keys are added and removed between calls (tables grow and shrink).
TEST(Store, ScanSeesEveryStableKeyWhileTheTableChanges) {
  for (size_t stripes : {size_t{1}, size_t{8}, size_t{1024}}) {
    SCOPED_TRACE(stripes);
    StoreOptions o;
    o.stripes = stripes;
    Store s(o);
    std::set<std::string> stable;
    for (int i = 0; i < 10000; ++i) {
      std::string k = "stable:" + std::to_string(i);
      Put(s, 0, k, "v");
      stable.insert(k);
    }
    for (int i = 0; i < 5000; ++i) Put(s, 0, "vol:" + std::to_string(i), "v");
    int next_new = 0, next_removed = 0;
    std::mt19937 rng(7);
    auto churn = [&] {
      for (int i = 0; i < 60; ++i) Put(s, 0, "new:" + std::to_string(next_new++), "v");
      for (int i = 0; i < 40 && next_removed < 5000; ++i) {
        Erase(s, 0, "vol:" + std::to_string(next_removed++));
      }
      if (next_new > 100 && rng() % 2)
        Erase(s, 0, "new:" + std::to_string(rng() % next_new));
    };
    auto seen = ScanAll(s, 0, 25, kNow, churn);
    size_t missing = 0;
    for (const auto& k : stable) missing += seen.count(k) == 0;
    EXPECT_EQ(missing, 0u);
    for (const auto& k : seen) {
      ASSERT_TRUE(k.rfind("stable:", 0) == 0 || k.rfind("vol:", 0) == 0 ||
                  k.rfind("new:", 0) == 0)
          << k;
    }
  }
}

TEST(Store, ScanSeesEveryStableKeyWhileTheTableShrinks) {
  StoreOptions o;
  o.stripes = 1;  // one table, so removals shrink it several times mid-scan
  Store s(o);
  std::set<std::string> stable;
  for (int i = 0; i < 300; ++i) {
    std::string k = "stable:" + std::to_string(i);
    Put(s, 0, k, "v");
    stable.insert(k);
  }
  const int kVolatile = 30000;
  for (int i = 0; i < kVolatile; ++i) Put(s, 0, "vol:" + std::to_string(i), "v");
  int removed = 0;
  auto shrink = [&] {
    for (int i = 0; i < 400 && removed < kVolatile; ++i) {
      Erase(s, 0, "vol:" + std::to_string(removed++));
    }
  };
  auto seen = ScanAll(s, 0, 50, kNow, shrink);
  size_t missing = 0;
  for (const auto& k : stable) missing += seen.count(k) == 0;
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(removed, kVolatile);  // the scan outlived the shrinking
}

TEST(Store, ScanSeesEveryStableKeyWhileAnotherThreadWrites) {
  StoreOptions o;
  o.stripes = 16;
  Store s(o);
  std::set<std::string> stable;
  for (int i = 0; i < 10000; ++i) {
    std::string k = "stable:" + std::to_string(i);
    Put(s, 0, k, "v");
    stable.insert(k);
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int i = 0;
    while (!stop.load()) {
      Put(s, 0, "churn:" + std::to_string(i % 20000), "v");
      if (i >= 5000) Erase(s, 0, "churn:" + std::to_string((i - 5000) % 20000));
      ++i;
    }
  });
  std::multiset<std::string> seen;
  for (int round = 0; round < 3; ++round) {
    seen = ScanAll(s, 0, 20, RealNowMs());
    size_t missing = 0;
    for (const auto& k : stable) missing += seen.count(k) == 0;
    EXPECT_EQ(missing, 0u) << "round " << round;
  }
  stop = true;
  writer.join();
}

// ---- Active expiry ----------------------------------------------------------------

TEST(Store, ActiveExpireCycleReapsExpiredKeys) {
  StoreOptions o;
  o.stripes = 16;
  Store s(o);
  for (int i = 0; i < 2000; ++i) Put(s, 0, "ttl:" + std::to_string(i), "v", kNow + 10);
  for (int i = 0; i < 500; ++i) Put(s, 3, "ttl:" + std::to_string(i), "v", kNow + 10);
  for (int i = 0; i < 1000; ++i) Put(s, 0, "keep:" + std::to_string(i), "v");
  for (int i = 0; i < 100; ++i)
    Put(s, 0, "later:" + std::to_string(i), "v", kNow + 1'000'000);

  // Nothing is due yet.
  EXPECT_EQ(s.ActiveExpireCycle(kNow, 1'000'000), 0u);
  EXPECT_EQ(s.DbSize(0), 3100u);

  size_t reaped = 0;
  for (int round = 0; round < 2000 && reaped < 2500; ++round) {
    reaped += s.ActiveExpireCycle(kNow + 10, 1'000'000);
  }
  EXPECT_EQ(reaped, 2500u);
  EXPECT_EQ(s.expired_keys(), 2500u);
  EXPECT_EQ(s.DbSize(0), 1100u);
  EXPECT_EQ(s.Counts(0).expires, 100u);
  EXPECT_EQ(s.DbSize(3), 0u);
  EXPECT_EQ(Get(s, 0, "keep:7", kNow + 10), "v");
  EXPECT_EQ(Get(s, 0, "later:7", kNow + 10), "v");
  // Another cycle at the same time finds nothing more.
  EXPECT_EQ(s.ActiveExpireCycle(kNow + 10, 1'000'000), 0u);
}

TEST(Store, ActiveExpireCycleFindsOneExpiredKeyAmongManyWithoutTtl) {
  StoreOptions o;
  o.stripes = 64;
  Store s(o);
  for (int i = 0; i < 5000; ++i) Put(s, 0, "keep:" + std::to_string(i), "v");
  Put(s, 0, "ttl", "v", kNow + 10);
  size_t reaped = 0;
  for (int round = 0; round < 100 && reaped == 0; ++round)
    reaped = s.ActiveExpireCycle(kNow + 10, 1'000'000);
  EXPECT_EQ(reaped, 1u);
  EXPECT_EQ(s.DbSize(0), 5000u);
  // A key given a TTL after its stripe was swept clean is found again.
  Put(s, 0, "keep:7", "v", kNow + 20);
  reaped = 0;
  for (int round = 0; round < 100 && reaped == 0; ++round)
    reaped = s.ActiveExpireCycle(kNow + 20, 1'000'000);
  EXPECT_EQ(reaped, 1u);
  EXPECT_EQ(Get(s, 0, "keep:7", kNow + 20), std::nullopt);
}

TEST(Store, ActiveExpireCycleDoesNotStarveLaterDbs) {
  StoreOptions o;
  o.stripes = 16;
  Store s(o);
  for (int i = 0; i < 20000; ++i) Put(s, 0, "ttl:" + std::to_string(i), "v", kNow + 10);
  Put(s, 5, "ttl", "v", kNow + 10);
  // No budget: each cycle stops after its first 16 loops, which db 0 alone
  // could fill for many cycles.
  for (int round = 0; round < 3; ++round) s.ActiveExpireCycle(kNow + 10, 0);
  EXPECT_EQ(s.DbSize(5), 0u);
  EXPECT_GT(s.DbSize(0), 0u);
}

TEST(Store, ActiveExpireCycleFollowsKeysAcrossSwapDb) {
  StoreOptions o;
  o.stripes = 16;
  Store s(o);
  for (int i = 0; i < 100; ++i) Put(s, 1, "ttl:" + std::to_string(i), "v", kNow + 10);
  EXPECT_EQ(s.ActiveExpireCycle(kNow, 1'000'000), 0u);
  s.SwapDb(0, 1, false);
  size_t reaped = 0;
  for (int round = 0; round < 100 && reaped < 100; ++round)
    reaped += s.ActiveExpireCycle(kNow + 10, 1'000'000);
  EXPECT_EQ(reaped, 100u);
  EXPECT_EQ(s.DbSize(0), 0u);
}

TEST(Store, ActiveExpireCycleDoesNothingWhenExpiredKeysAreKept) {
  StoreOptions o;
  o.delete_expired = false;  // a replica: the coordinator deletes
  Store s(o);
  Put(s, 0, "k", "v", kNow - 1);
  EXPECT_EQ(s.ActiveExpireCycle(kNow, 1'000'000), 0u);
  EXPECT_EQ(s.DbSize(0), 1u);
  EXPECT_EQ(Get(s, 0, "k"), std::nullopt);  // still invisible to readers
  EXPECT_EQ(s.DbSize(0), 1u);
}

// ---- WATCH -------------------------------------------------------------------

class WatchTest : public ::testing::Test {
 protected:
  void Watch(int db, std::string_view key, WatchFlag* f) {
    StripeGuard g(&s_, StripesOf(s_, {key}));
    s_.Watch(db, key, f);
  }
  void Unwatch(int db, std::string_view key, WatchFlag* f) {
    StripeGuard g(&s_, StripesOf(s_, {key}));
    s_.Unwatch(db, key, f);
  }
  bool TakeDirty(WatchFlag& f) { return f.dirty.exchange(false); }

  Store s_;
  WatchFlag flag_;
};

TEST_F(WatchTest, PutOnTheWatchedKeyMarksTheWatcherDirty) {
  Put(s_, 0, "k", "v");
  Watch(0, "k", &flag_);
  EXPECT_FALSE(flag_.dirty.load());
  Put(s_, 0, "other", "v");
  Put(s_, 1, "k", "v");  // same key, other database
  EXPECT_FALSE(flag_.dirty.load());
  Put(s_, 0, "k", "v");  // even the same value
  EXPECT_TRUE(TakeDirty(flag_));
}

TEST_F(WatchTest, EraseAndSetExpireMarkTheWatcherDirty) {
  Put(s_, 0, "k", "v");
  Watch(0, "k", &flag_);
  EXPECT_FALSE(Erase(s_, 0, "missing"));
  EXPECT_FALSE(flag_.dirty.load());
  EXPECT_TRUE(SetExpire(s_, 0, "k", kNow + 100));
  EXPECT_TRUE(TakeDirty(flag_));
  EXPECT_TRUE(Erase(s_, 0, "k"));
  EXPECT_TRUE(TakeDirty(flag_));
  EXPECT_FALSE(Erase(s_, 0, "k"));  // nothing left to change
  EXPECT_FALSE(flag_.dirty.load());
}

TEST_F(WatchTest, ExpiryMarksTheWatcherDirty) {
  Put(s_, 0, "lazy", "v", kNow + 10);
  Put(s_, 0, "active", "v", kNow + 10);
  WatchFlag active;
  Watch(0, "lazy", &flag_);
  Watch(0, "active", &active);
  EXPECT_EQ(Get(s_, 0, "lazy", kNow + 20), std::nullopt);
  EXPECT_TRUE(TakeDirty(flag_));
  size_t reaped = 0;
  for (int i = 0; i < 100 && reaped == 0; ++i)
    reaped = s_.ActiveExpireCycle(kNow + 20, 1'000'000);
  EXPECT_EQ(reaped, 1u);
  EXPECT_TRUE(TakeDirty(active));
}

// As in Redis 7, a flush or a swap changes a watched key only if the key
// exists (in either database, for a swap).
TEST_F(WatchTest, FlushAndSwapMarkWatchersOfTheKeysTheyChange) {
  WatchFlag db1;
  Put(s_, 0, "k", "v");
  Put(s_, 1, "k", "v");
  Watch(0, "k", &flag_);
  Watch(1, "k", &db1);
  s_.FlushDb(2, false);
  EXPECT_FALSE(flag_.dirty.load());
  EXPECT_FALSE(db1.dirty.load());
  s_.FlushDb(1, false);
  EXPECT_FALSE(flag_.dirty.load());
  EXPECT_TRUE(TakeDirty(db1));
  s_.SwapDb(0, 3, false);  // k leaves db 0
  EXPECT_TRUE(TakeDirty(flag_));
  EXPECT_FALSE(db1.dirty.load());
  s_.SwapDb(3, 0, false);  // and comes back
  EXPECT_TRUE(TakeDirty(flag_));
  s_.FlushAll(false);
  EXPECT_TRUE(TakeDirty(flag_));
  EXPECT_FALSE(db1.dirty.load());  // db 1 was empty
  s_.FlushAll(false);
  s_.SwapDb(0, 1, false);
  EXPECT_FALSE(flag_.dirty.load());  // nothing left to change
}

TEST_F(WatchTest, EveryWatcherOfAKeyIsMarkedAndUnwatchStopsIt) {
  WatchFlag second;
  Watch(0, "k", &flag_);
  Watch(0, "k", &second);
  Put(s_, 0, "k", "v");
  EXPECT_TRUE(TakeDirty(flag_));
  EXPECT_TRUE(TakeDirty(second));
  Unwatch(0, "k", &flag_);
  Put(s_, 0, "k", "v2");
  EXPECT_FALSE(flag_.dirty.load());
  EXPECT_TRUE(TakeDirty(second));
  Unwatch(0, "k", &second);
  Put(s_, 0, "k", "v3");
  EXPECT_FALSE(second.dirty.load());
}

// ---- MutationListener ------------------------------------------------------------

class Recorder : public MutationListener {
 public:
  void OnPut(int db, std::string_view key, std::string_view value, int64_t expire_ms,
             uint8_t flags) override {
    events.push_back("put " + std::to_string(db) + " " + std::string(key) + "=" +
                     std::string(value) + " exp=" + std::to_string(expire_ms) +
                     Flags(flags));
  }
  void OnErase(int db, std::string_view key, uint8_t flags) override {
    events.push_back("erase " + std::to_string(db) + " " + std::string(key) +
                     Flags(flags));
  }
  void OnFlush(int db, uint32_t new_namespace) override {
    events.push_back("flush " + std::to_string(db));
    namespaces.push_back(new_namespace);
  }
  void OnSwap(int a, int b) override {
    events.push_back("swap " + std::to_string(a) + " " + std::to_string(b));
  }
  uint64_t Commit() override {
    ++commits;
    events.push_back("commit");
    return 0;
  }

  std::vector<std::string> Changes() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e != "commit") out.push_back(e);
    }
    return out;
  }

  static std::string Flags(uint8_t f) {
    std::string s;
    if (f & wal::kFlagCreated) s += " created";
    if (f & wal::kFlagHadExpire) s += " had-ttl";
    if (f & wal::kFlagHasExpire) s += " has-ttl";
    return s;
  }

  std::vector<std::string> events;
  std::vector<uint32_t> namespaces;
  int commits = 0;
};

TEST(Store, ListenerReceivesEveryChangeInOrder) {
  Store s;
  Recorder r;
  s.set_listener(&r);
  EXPECT_EQ(s.listener(), &r);
  Put(s, 0, "k", "v1");
  Put(s, 0, "k", "v2", 5000);
  EXPECT_TRUE(SetExpire(s, 0, "k", kNoExpire, 1000));
  EXPECT_TRUE(Erase(s, 0, "k", 1000));
  EXPECT_FALSE(Erase(s, 0, "k", 1000));  // no change, no record
  Put(s, 1, "x", "y", 2000);
  EXPECT_EQ(Get(s, 1, "x", 3000), std::nullopt);  // lazy expiry is a change too
  s.FlushDb(1, false);
  s.SwapDb(0, 2, false);
  EXPECT_EQ(r.Changes(), (std::vector<std::string>{
                             "put 0 k=v1 exp=-1 created",
                             "put 0 k=v2 exp=5000 has-ttl",
                             "put 0 k=v2 exp=-1 had-ttl",
                             "erase 0 k",
                             "put 1 x=y exp=2000 created has-ttl",
                             "erase 1 x had-ttl",
                             "flush 1",
                             "swap 0 2",
                         }));
  s.set_listener(nullptr);
}

TEST(Store, ListenerSeesFlushAllAsOneFlushPerDatabaseWithFreshNamespaces) {
  StoreOptions o;
  o.databases = 4;
  Store s(o);
  Recorder r;
  s.set_listener(&r);
  s.FlushAll(false);
  EXPECT_EQ(r.Changes(),
            (std::vector<std::string>{"flush 0", "flush 1", "flush 2", "flush 3"}));
  std::set<uint32_t> distinct(r.namespaces.begin(), r.namespaces.end());
  EXPECT_EQ(distinct.size(), 4u);
  s.FlushDb(0, false);
  // A flushed database never reuses a namespace.
  EXPECT_EQ(distinct.count(r.namespaces.back()), 0u);
  s.set_listener(nullptr);
}

TEST(Store, ActiveExpiryIsReportedAndCommitted) {
  StoreOptions o;
  o.stripes = 4;
  Store s(o);
  Recorder r;
  Put(s, 0, "a", "v", kNow + 1);
  s.set_listener(&r);
  size_t reaped = 0;
  for (int i = 0; i < 100 && reaped == 0; ++i)
    reaped = s.ActiveExpireCycle(kNow + 5, 1'000'000);
  ASSERT_EQ(reaped, 1u);
  ASSERT_EQ(r.Changes(), (std::vector<std::string>{"erase 0 a had-ttl"}));
  // The erase is followed by a commit that closes its group.
  auto it = std::find(r.events.begin(), r.events.end(), "erase 0 a had-ttl");
  ASSERT_NE(it, r.events.end());
  EXPECT_NE(std::find(it, r.events.end(), "commit"), r.events.end());
  s.set_listener(nullptr);
}

// ---- Concurrency -----------------------------------------------------------------

int64_t ParseCount(const Entry* e) {
  return e == nullptr ? 0 : std::stoll(std::string(e->value()));
}

TEST(StoreConcurrency, ReadModifyWriteUnderStripeGuardLosesNoUpdates) {
  StoreOptions o;
  o.stripes = 8;  // few stripes: keys share them, threads collide
  Store s(o);
  const std::vector<std::string> keys = {"a", "b", "c", "counter:with:a:longer:name"};
  constexpr int kThreads = 4, kOps = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        const std::string& k = keys[static_cast<size_t>(i + t) % keys.size()];
        StripeGuard g(&s, std::vector<size_t>{s.StripeOf(k)});
        int64_t v = ParseCount(s.Find(0, k, RealNowMs()));
        s.Put(0, k, std::to_string(v + 1), kNoExpire);
      }
    });
  }
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (const auto& k : keys) {
    auto v = Get(s, 0, k, RealNowMs());
    ASSERT_TRUE(v.has_value()) << k;
    EXPECT_EQ(std::stoll(*v), kThreads * kOps / static_cast<int64_t>(keys.size())) << k;
    total += std::stoll(*v);
  }
  EXPECT_EQ(total, kThreads * kOps);
}

TEST(StoreConcurrency, MultiKeyTransfersKeepTheirSumUnderSortedLocking) {
  StoreOptions o;
  o.stripes = 8;
  Store s(o);
  constexpr int kAccounts = 12, kInitial = 1000;
  auto name = [](int i) { return "acct:" + std::to_string(i); };
  for (int i = 0; i < kAccounts; ++i) Put(s, 0, name(i), std::to_string(kInitial));
  std::atomic<bool> stop{false};
  std::atomic<int> bad_sums{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 20000; ++i) {
        int a = static_cast<int>(rng() % kAccounts),
            b = static_cast<int>(rng() % kAccounts);
        std::string ka = name(a), kb = name(b);
        // Keys may share a stripe (or be equal): the guard sorts and dedupes.
        StripeGuard g(&s, std::vector<size_t>{s.StripeOf(kb), s.StripeOf(ka)});
        int64_t va = ParseCount(s.Find(0, ka, kNow));
        s.Put(0, ka, std::to_string(va - 1), kNoExpire);
        int64_t vb = ParseCount(s.Find(0, kb, kNow));
        s.Put(0, kb, std::to_string(vb + 1), kNoExpire);
      }
    });
  }
  // An EXEC-like auditor holds every stripe and checks the invariant.
  std::thread auditor([&] {
    while (!stop.load()) {
      StripeGuard all(&s, true);
      int64_t sum = 0;
      for (int i = 0; i < kAccounts; ++i) sum += ParseCount(s.Find(0, name(i), kNow));
      if (sum != kAccounts * kInitial) ++bad_sums;
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  auditor.join();
  EXPECT_EQ(bad_sums.load(), 0);
  int64_t sum = 0;
  for (int i = 0; i < kAccounts; ++i) sum += std::stoll(*Get(s, 0, name(i)));
  EXPECT_EQ(sum, kAccounts * kInitial);
}

// Writers set keys with short TTLs (each value names its own expiry) while a
// background thread runs the active expire cycle and readers read. A reader
// must never get an expired entry or a value that does not match its expiry.
TEST(StoreConcurrency, ExpiryRacesWithWritersAndReaders) {
  StoreOptions o;
  o.stripes = 32;
  Store s(o);
  constexpr int kKeys = 500;
  auto name = [](int i) { return "k" + std::to_string(i); };
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<int64_t> reads_found{0};
  std::atomic<size_t> reaped{0};

  std::thread expirer([&] {
    while (!stop.load()) {
      reaped += s.ActiveExpireCycle(RealNowMs(), 2000);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(100 + t));
      auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
      while (std::chrono::steady_clock::now() < end) {
        int i = static_cast<int>(rng() % kKeys);
        std::string k = name(i);
        StripeGuard g(&s, std::vector<size_t>{s.StripeOf(k)});
        if (i % 10 == 0) {
          s.Put(0, k, "forever", kNoExpire);
        } else {
          int64_t exp = RealNowMs() + static_cast<int64_t>(rng() % 20);
          s.Put(0, k, std::to_string(exp), exp);
        }
      }
    });
  }
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(200 + t));
      while (!stop.load()) {
        std::string k = name(static_cast<int>(rng() % kKeys));
        StripeGuard g(&s, std::vector<size_t>{s.StripeOf(k)});
        int64_t now = RealNowMs();
        Entry* e = s.Find(0, k, now);
        if (e == nullptr) continue;
        ++reads_found;
        if (e->ExpiredAt(now)) ++violations;
        std::string v(e->value());
        if (v == "forever" ? e->has_expire() : std::to_string(e->expire_ms()) != v)
          ++violations;
      }
    });
  }
  for (auto& w : writers) w.join();
  // Let the last TTLs run out while the expirer keeps going.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  expirer.join();
  for (auto& r : readers) r.join();

  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(reads_found.load(), 0);
  EXPECT_GT(reaped.load(), 0u);
  // Finish the reaping: every key with a TTL is gone, the others remain.
  int64_t later = RealNowMs() + 1000;
  for (int round = 0; round < 1000 && s.Counts(0).expires > 0; ++round) {
    s.ActiveExpireCycle(later, 1'000'000);
  }
  EXPECT_EQ(s.Counts(0).expires, 0u);
  uint64_t forever = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto v = Get(s, 0, name(i), later);
    if (v.has_value()) {
      EXPECT_EQ(*v, "forever") << name(i);
      ++forever;
    }
  }
  EXPECT_EQ(s.DbSize(0), forever);
}

}  // namespace
}  // namespace edgekv
