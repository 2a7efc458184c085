// Reads the write-ahead log back: recovery at start-up, the dump tool, and
// (later) replication catch-up. See docs/wal_format.md for the rules on torn
// and corrupt frames.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "edgekv/status.h"

namespace edgekv::wal {

struct ReplayOptions {
  uint64_t after_seq = 0;  // deliver batches with a greater sequence
  bool repair = false;     // truncate at a corrupt frame instead of failing
  bool truncate_torn_tail = true;  // false: read-only (the dump tool)
};

struct ReplayResult {
  uint64_t last_seq = 0;   // last valid sequence found (0: none)
  uint64_t batches = 0;    // batches delivered
  std::string note;        // what was truncated, if anything
};

// Calls fn(seq, payload) for each valid batch after options.after_seq, in order.
Status Replay(const std::string& wal_dir, const ReplayOptions& options,
              const std::function<Status(uint64_t seq, std::string_view payload)>& fn,
              ReplayResult* result);

}  // namespace edgekv::wal
