#include "util/rate_sampler.h"

namespace edgekv {

void RateSampler::Sample(int64_t now_ms, uint64_t reading) {
  MutexLock l(&mu_);
  if (last_ms_ == 0) {  // the first reading only starts the count
    last_ms_ = now_ms;
    last_reading_ = reading;
    return;
  }
  const int64_t elapsed = now_ms - last_ms_;
  if (elapsed < kPeriodMs) return;
  if (reading < last_reading_) {  // the counter was reset (CONFIG RESETSTAT)
    last_ms_ = now_ms;
    last_reading_ = reading;
    return;
  }
  const auto delta = static_cast<int64_t>(reading - last_reading_);
  samples_[static_cast<size_t>(next_)] = delta * 1000 / elapsed;
  next_ = (next_ + 1) % kSamples;
  last_ms_ = now_ms;
  last_reading_ = reading;
}

void RateSampler::Reset() {
  MutexLock l(&mu_);
  last_ms_ = 0;
  last_reading_ = 0;
  samples_.fill(0);
  next_ = 0;
}

int64_t RateSampler::PerSecond() const {
  MutexLock l(&mu_);
  int64_t sum = 0;
  for (int64_t s : samples_) sum += s;
  return sum / kSamples;
}

}  // namespace edgekv
