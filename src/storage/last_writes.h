// The last write of each key in a group of log records, in key order: what
// the LevelDB applier writes (disk_tier.cc). Pure: views and indexes only.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace edgekv {

// One key write of a group being applied (views into the log frames).
struct KeyWrite {
  uint32_t ns;
  std::string_view key;
  std::string_view value;
  int64_t expire_ms;
  bool put;
  // A collection's 'd' record: the index of its state in the group (the
  // value is encoded from it once the group is read); -1 for a string.
  int32_t meta = -1;
};

// A distinct key of a group, with what its sort compares kept inline.
struct LastWrite {
  uint32_t ns;
  uint32_t size;    // of the key
  uint64_t w0, w1;  // key bytes 0-7 and 8-15, big-endian, zero-padded
  uint32_t index;   // of its last write in `writes`
};

// The last write of each key in `writes` (log order), sorted by namespace and
// key, into `last`. Duplicates go first, through a hash table (a rewritten key
// is common: counters, sessions, flags), so only distinct keys are sorted;
// sorted inserts then walk LevelDB's memtable skip list through cache-warm
// nodes. Both steps keep what they compare inline (hash bits in the slots, the
// size and first 16 bytes of the key in the sort entries), and the hash slots
// are prefetched a few writes ahead: the keys are scattered over the log
// frames and the tables are megabytes, so waiting for memory would otherwise
// be most of the applier's time. `slots` is scratch space.
void LastWrites(const std::vector<KeyWrite>& writes, std::vector<uint64_t>* slots,
                std::vector<LastWrite>* last);

}  // namespace edgekv
