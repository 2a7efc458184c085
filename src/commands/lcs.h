// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
// common subsequence of two strings, computed and reported as Redis 7 does
// (the dynamic-programming table, then the walk back from its end that
// yields the matching ranges last to first).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"

namespace edgekv {

struct LcsRange {
  uint32_t a_start, a_end, b_start, b_end;  // inclusive, in each string
};

struct LcsResult {
  uint32_t len = 0;              // of the subsequence
  std::string subsequence;       // if asked for
  std::vector<LcsRange> ranges;  // if asked for: last to first, at least
                                 // min_range long (0: all)
};

// The table needs (|a| + 1) * (|b| + 1) 32-bit cells: the caller bounds it.
LcsResult ComputeLcs(std::string_view a, std::string_view b, bool want_subsequence,
                     bool want_ranges, int64_t min_range);

void LcsCommand(CommandContext& ctx);

}  // namespace edgekv
