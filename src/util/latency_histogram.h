// Per-command latency histograms read as Redis 7 reads its own
// (latency-tracking): LATENCY HISTOGRAM's cumulative buckets and INFO
// latencystats' percentiles.
//
// Redis times a command in whole microseconds and records the duration, in
// nanoseconds (clamped to 1 ns .. 1 s), in an HdrHistogram with two
// significant digits: 256 sub-buckets per power of two, each value counted
// in the sub-bucket that holds it. A reading reports a sub-bucket by the
// highest value it holds: a 1 µs command is "1.003" µs. edgekv counts the
// same durations in the same sub-buckets (the slots below), so that its
// figures read as Redis's do for the same durations.
//
// A duration in whole microseconds lands in few of HdrHistogram's
// sub-buckets: 0 µs (1 ns) in one, and 1 µs (1000 ns) upwards in the rest;
// the slots keep only those. Pure functions, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgekv::latency {

// Slots of one histogram: 0 µs, then 1 µs .. 1 s in HdrHistogram's
// sub-buckets.
inline constexpr size_t kSlots = 2550;

// The slot counting a duration of `usec` microseconds.
size_t SlotOf(uint64_t usec);

// One point of LATENCY HISTOGRAM's histogram_usec: how many durations were
// at most `usec` (the highest value of the bucket, in whole µs).
struct CdfPoint {
  int64_t usec;
  uint64_t cumulative;
};

// Buckets doubling from 1024 ns, as Redis walks them (each labelled with its
// highest value in µs: 1, 2, 4, 8, 16, 33, 66, ...); only those that add
// durations to the one before. `counts` has kSlots entries.
std::vector<CdfPoint> Cdf(std::span<const uint64_t> counts);

// The duration, in nanoseconds, below which `percentile` (0..100) of the
// durations fall, as HdrHistogram's value_at_percentile reports it (the
// highest value of its sub-bucket; the lowest for percentile 0). 0 when
// there are none.
uint64_t ValueAtPercentile(std::span<const uint64_t> counts, double percentile);

// Sum of the counts.
uint64_t Total(std::span<const uint64_t> counts);

}  // namespace edgekv::latency
