// The write-ahead log's hook into the store: collects the effects of the
// running command (or EXEC, or expiry round) on this thread and appends them
// as one batch on Commit(), while the changed keys' stripes are still held.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "batch.h"
#include "edgekv/store.h"

namespace edgekv::wal {

class WalWriter;

class Journal : public MutationListener {
 public:
  Journal(WalWriter* wal, Store* store) : wal_(wal), store_(store) {}

  void OnPut(int db, std::string_view key, std::string_view value, int64_t expire_ms,
             uint8_t flags) override;
  void OnErase(int db, std::string_view key, uint8_t flags) override;
  void OnFlush(int db, uint32_t new_namespace) override;
  void OnSwap(int a, int b) override;
  uint64_t Commit() override;

 private:
  WalWriter* wal_;
  Store* store_;
};

}  // namespace edgekv::wal
