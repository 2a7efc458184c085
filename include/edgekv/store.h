// The memory table: a lock-striped hash table of binary-safe string values,
// each with an optional absolute expiry in unix milliseconds, in `databases`
// separate namespaces (SELECT 0..15).
//
// A key hashes to one of stripe_count() stripes; a stripe has one mutex and
// holds that key in every database, so a command that touches keys in two
// databases (MOVE, COPY ... DB) still locks one stripe per key.
//
// Locking contract. Key operations (Find/Put/Erase/SetExpire/Watch) require
// the caller to hold the key's stripe: lock it with LockStripes() (sorted, so
// multi-key commands never deadlock) or LockAll() (MULTI/EXEC). Whole-database
// operations (FlushDb, Scan, Keys, RandomKey, ...) lock stripes one at a time
// themselves unless told `all_locked`, and must not be called while holding
// only some stripes. Every mutation is reported, under the stripe lock, to
// the MutationListener (the write-ahead log's hook) and marks WATCHers dirty.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/thread_annotations.h"

namespace edgekv {

inline constexpr int64_t kNoExpire = -1;

// One allocation per key: this header, then the key bytes, then the value.
struct Entry {
  Entry* next;
  int64_t expire_ms;  // absolute unix ms, or kNoExpire
  uint32_t key_len;
  uint32_t val_len;

  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }
  std::string_view key() const { return {data(), key_len}; }
  std::string_view value() const { return {data() + key_len, val_len}; }
  bool has_expire() const { return expire_ms != kNoExpire; }
  bool ExpiredAt(int64_t now_ms) const {
    return expire_ms != kNoExpire && expire_ms <= now_ms;
  }
};

// Receives every change to the table, with the key's stripe locked, in the
// order the changes happen for that key. The write-ahead log implements it.
class MutationListener {
 public:
  virtual ~MutationListener() = default;
  virtual void OnPut(int db, std::string_view key, std::string_view value,
                     int64_t expire_ms) = 0;
  virtual void OnErase(int db, std::string_view key) = 0;
  virtual void OnExpire(int db, std::string_view key, int64_t expire_ms) = 0;
  virtual void OnFlush(int db) = 0;  // db == -1: every database
  virtual void OnSwap(int a, int b) = 0;
};

// Set by the store when a WATCHed key changes; owned by the client.
struct WatchFlag {
  std::atomic<bool> dirty{false};
};

struct StoreOptions {
  int databases = 16;
  // A power of two. More stripes mean less contention and shorter pauses when
  // one stripe's table grows; each costs ~ (64 + 32 * databases) bytes.
  size_t stripes = 1024;
  // Replicas keep logically expired keys until the coordinator deletes them.
  bool delete_expired = true;
};

struct KeyspaceCounts {
  uint64_t keys = 0;
  uint64_t expires = 0;
};

class Store {
 public:
  explicit Store(StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int databases() const { return options_.databases; }
  size_t stripe_count() const { return stripes_.size(); }
  size_t StripeOf(std::string_view key) const;
  void set_listener(MutationListener* l) { listener_ = l; }

  // --- Locking ---------------------------------------------------------------
  // Locks the given stripes in ascending order; `stripes` is sorted and
  // de-duplicated in place.
  void LockStripes(std::vector<size_t>* stripes);
  void UnlockStripes(const std::vector<size_t>& stripes);
  void LockAll();
  void UnlockAll();

  // --- Key operations: the key's stripe must be held -------------------------
  // The live entry for key, or nullptr. An expired entry is never returned
  // (and is deleted, reported as an erase, when delete_expired is set).
  Entry* Find(int db, std::string_view key, int64_t now_ms);
  // Inserts or replaces the value and expiry.
  void Put(int db, std::string_view key, std::string_view value,
           int64_t expire_ms);
  // Removes a live or expired key; true if a live key was removed.
  bool Erase(int db, std::string_view key, int64_t now_ms);
  // Changes the expiry of an existing live key.
  bool SetExpire(int db, std::string_view key, int64_t expire_ms,
                 int64_t now_ms);
  void Watch(int db, std::string_view key, WatchFlag* flag);
  void Unwatch(int db, std::string_view key, WatchFlag* flag);

  // --- Whole-database operations ---------------------------------------------
  void FlushDb(int db, bool all_locked);
  void FlushAll(bool all_locked);
  void SwapDb(int a, int b, bool all_locked);
  uint64_t DbSize(int db) const;  // lock-free; counts not-yet-reaped keys
  KeyspaceCounts Counts(int db) const;
  // Visits keys per Redis SCAN rules: returns the next cursor (0 when done);
  // every key present for the whole scan is visited at least once.
  uint64_t Scan(int db, uint64_t cursor, size_t count, int64_t now_ms,
                bool all_locked,
                const std::function<void(const Entry&)>& visit);
  void ForEach(int db, int64_t now_ms, bool all_locked,
               const std::function<void(const Entry&)>& visit);
  std::optional<std::string> RandomKey(int db, int64_t now_ms, bool all_locked);

  // One bounded round of active expiry over a slice of the stripes; returns
  // the number of keys reaped. Holds one stripe lock at a time, briefly.
  size_t ActiveExpireCycle(int64_t now_ms, int64_t budget_us);

  // Bytes held by entries and bucket arrays (an allocator-level estimate).
  int64_t used_bytes() const;
  uint64_t expired_keys() const {
    return expired_keys_.load(std::memory_order_relaxed);
  }

 private:
  struct Stripe;
  class Dict;
  uint64_t Hash(std::string_view key) const;
  Stripe& StripeFor(uint64_t hash);
  void TouchWatchers(Stripe& s, int db, std::string_view key);
  void TouchAllWatchers(Stripe& s, int db);
  void RemoveEntry(Stripe& s, int db, Dict& d, std::string_view key,
                   uint64_t hash);
  template <typename Fn>
  void WithStripe(size_t i, bool all_locked, Fn&& fn);

  StoreOptions options_;
  uint64_t seed_;
  int stripe_shift_;
  std::vector<std::unique_ptr<Stripe>> stripes_;
  MutationListener* listener_ = nullptr;
  std::atomic<size_t> expire_cursor_{0};
  std::atomic<uint64_t> expired_keys_{0};
  std::atomic<int64_t> watchers_{0};
};

// Acquires the stripes of a set of keys (or all stripes) for one command and
// releases them at scope exit.
class StripeGuard {
 public:
  StripeGuard(Store* store, std::vector<size_t> stripes);
  StripeGuard(Store* store, bool all);
  ~StripeGuard();
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;

 private:
  Store* store_;
  bool all_;
  std::vector<size_t> stripes_;
};

}  // namespace edgekv
