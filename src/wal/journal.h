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

  // Replicas: the changes made on this thread until the next Commit() are
  // the coordinator's record `frame` with sequence `seq`; Commit() appends
  // that frame as it is instead of building a new one, so the replica's log
  // mirrors the coordinator's, sequence numbers included.
  static void BeginReplicated(std::string_view frame, uint64_t seq);

 private:
  WalWriter* wal_;
  Store* store_;
};

}  // namespace edgekv::wal
