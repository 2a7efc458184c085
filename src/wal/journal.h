// The write-ahead log's hook into the store: collects the effects of the
// running command (or EXEC, or expiry round) on this thread and appends them
// as one batch on Commit(), while the changed keys' stripes are still held.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "edgekv/store.h"
#include "format/batch.h"

namespace edgekv::wal {

class WalWriter;

// A record holds at most kMaxPayload (2 GiB) of operations. A batch that
// would grow past kMaxSplitBytes is appended as it is and goes on in a new
// record; one operation is at most a 512 MB key and a 1 GiB value
// (proto-max-bulk-len), so every record fits. Only a command or transaction
// with more than 1 GiB of effects is split: after a crash between its
// records, a part of it may survive without the rest.
inline constexpr size_t kMaxSplitBytes = size_t{1} << 30;

class Journal : public MutationListener {
 public:
  Journal(WalWriter* wal, Store* store, size_t split_bytes = kMaxSplitBytes)
      : wal_(wal), store_(store), split_bytes_(split_bytes) {}

  void OnPut(int db, std::string_view key, std::string_view value, int64_t expire_ms,
             uint8_t flags) override;
  void OnErase(int db, std::string_view key, uint8_t flags) override;
  void OnElementSet(int db, std::string_view key, ValueType t, std::string_view elem,
                    std::string_view value, uint8_t flags) override;
  void OnElementDel(int db, std::string_view key, ValueType t, std::string_view elem,
                    uint8_t flags) override;
  void OnExpire(int db, std::string_view key, int64_t expire_ms, uint8_t flags) override;
  void OnFlush(int db, uint32_t new_namespace) override;
  void OnSwap(int a, int b) override;
  void OnLibraryPut(std::string_view name, std::string_view code) override;
  void OnLibraryDelete(std::string_view name) override;
  void OnLibraryFlush() override;
  uint64_t Commit() override;
  void Discard() override;

  // Replicas: the changes made on this thread until the next Commit() are
  // the coordinator's record `frame` with sequence `seq`; Commit() appends
  // that frame as it is instead of building a new one, so the replica's log
  // mirrors the coordinator's, sequence numbers included.
  static void BeginReplicated(std::string_view frame, uint64_t seq);

 private:
  // Appends this thread's batch so far if `next_op_bytes` more would make
  // its record too large (see kMaxSplitBytes).
  void SplitIfFull(size_t next_op_bytes);
  WalWriter* wal_;
  Store* store_;
  size_t split_bytes_;
};

}  // namespace edgekv::wal
