#include "util/latency_histogram.h"

#include <algorithm>

namespace edgekv::latency {
namespace {

// HdrHistogram with 2 significant digits over 1 .. 1e9: 256 sub-buckets per
// bucket, the lower half of each bucket past the first shared with the one
// before (so a bucket adds 128 counts), the unit 1 ns.
constexpr int kHalfCountMagnitude = 7;
constexpr uint64_t kHalfCount = 128;
constexpr uint64_t kMaxNs = 1'000'000'000;
// HdrHistogram's index of 1 ns (a 0 µs duration, clamped up as Redis does)
// and of 1000 ns (1 µs): the slots are index 1, then 506 onwards.
constexpr size_t kIndexOfZero = 1;
constexpr size_t kIndexOfOneUs = 506;
constexpr size_t kSlotOffset = kIndexOfOneUs - 1;
// The last index of a histogram tracking up to 1e9 (23 buckets).
constexpr size_t kLastIndex = 3071;

int BucketOf(uint64_t v) { return (64 - __builtin_clzll(v | 255)) - 8; }

size_t IndexOf(uint64_t v) {
  int b = BucketOf(v);
  return (static_cast<size_t>(b + 1) << kHalfCountMagnitude) + (v >> b) - kHalfCount;
}

uint64_t ValueAtIndex(size_t index) {
  int b = static_cast<int>(index >> kHalfCountMagnitude) - 1;
  uint64_t sub = (index & (kHalfCount - 1)) + kHalfCount;
  if (b < 0) {
    sub -= kHalfCount;
    b = 0;
  }
  return sub << b;
}

uint64_t Lowest(uint64_t v) {
  int b = BucketOf(v);
  return (v >> b) << b;
}

uint64_t Highest(uint64_t v) { return Lowest(v) + (uint64_t{1} << BucketOf(v)) - 1; }

size_t IndexOfSlot(size_t slot) { return slot == 0 ? kIndexOfZero : slot + kSlotOffset; }

}  // namespace

size_t SlotOf(uint64_t usec) {
  if (usec == 0) return 0;
  uint64_t ns = usec >= kMaxNs / 1000 ? kMaxNs : usec * 1000;
  return IndexOf(ns) - kSlotOffset;
}

uint64_t Total(std::span<const uint64_t> counts) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

std::vector<CdfPoint> Cdf(std::span<const uint64_t> counts) {
  std::vector<CdfPoint> out;
  const uint64_t total = Total(counts);
  if (total == 0) return out;
  uint64_t cumulative = 0;
  size_t slot = 0;  // the next slot to add
  // Levels 1024 ns, 2048 ns, ... while they are within the histogram's range;
  // each counts every duration up to its own sub-bucket.
  for (uint64_t level = 1024; level < kMaxNs; level *= 2) {
    const size_t index = IndexOf(level);
    for (; slot < counts.size() && IndexOfSlot(slot) <= index; ++slot) {
      cumulative += counts[slot];
    }
    if (cumulative > (out.empty() ? 0 : out.back().cumulative)) {
      out.push_back({static_cast<int64_t>(Highest(level) / 1000), cumulative});
    }
    if (cumulative == total) return out;
  }
  // Durations past the last level: HdrHistogram's walk ends at its last
  // sub-bucket, and reports that one's highest value.
  out.push_back({static_cast<int64_t>(Highest(ValueAtIndex(kLastIndex)) / 1000), total});
  return out;
}

uint64_t ValueAtPercentile(std::span<const uint64_t> counts, double percentile) {
  const uint64_t total = Total(counts);
  const double p = std::min(percentile, 100.0);
  auto wanted = static_cast<uint64_t>(p / 100 * static_cast<double>(total) + 0.5);
  wanted = std::max<uint64_t>(wanted, 1);
  uint64_t seen = 0;
  for (size_t slot = 0; slot < counts.size(); ++slot) {
    seen += counts[slot];
    if (seen >= wanted) {
      uint64_t v = ValueAtIndex(IndexOfSlot(slot));
      return percentile == 0.0 ? Lowest(v) : Highest(v);
    }
  }
  return 0;
}

}  // namespace edgekv::latency
