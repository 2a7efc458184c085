// INFO's instantaneous_* figures, as Redis computes them: a counter (commands,
// bytes read, bytes written) is sampled every 100 ms, each sample's rate per
// second kept in a ring of 16, and the figure is their mean (the last 1.6 s).
//
// Threading: the maintenance thread samples; INFO reads from any I/O thread.
// One mutex, held for a few additions.
#pragma once

#include <array>
#include <cstdint>

#include "edgekv/thread_annotations.h"

namespace edgekv {

class RateSampler {
 public:
  static constexpr int kSamples = 16;
  static constexpr int64_t kPeriodMs = 100;

  // Takes a sample if kPeriodMs passed since the last one (now_ms from a
  // steady clock).
  void Sample(int64_t now_ms, uint64_t reading) EXCLUDES(mu_);
  // Forgets every sample (CONFIG RESETSTAT, as Redis zeroes them).
  void Reset() EXCLUDES(mu_);
  // Per second, the mean of the last kSamples samples.
  int64_t PerSecond() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  int64_t last_ms_ GUARDED_BY(mu_) = 0;
  uint64_t last_reading_ GUARDED_BY(mu_) = 0;
  std::array<int64_t, kSamples> samples_ GUARDED_BY(mu_){};
  int next_ GUARDED_BY(mu_) = 0;
};

}  // namespace edgekv
