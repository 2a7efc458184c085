// INFO's instantaneous_* figures: Redis's mean of 16 samples, 100 ms apart.
#include "util/rate_sampler.h"

#include <gtest/gtest.h>

namespace edgekv {
namespace {

TEST(RateSampler, IsTheMeanRateOfTheLast16Samples) {
  RateSampler r;
  r.Sample(1000, 0);  // starts the count
  EXPECT_EQ(r.PerSecond(), 0);
  uint64_t count = 0;
  for (int i = 1; i <= 8; ++i) {
    count += 100;  // 1000 a second
    r.Sample(1000 + i * 100, count);
  }
  EXPECT_EQ(r.PerSecond(), 500);  // 8 of 16 samples at 1000/s
  for (int i = 9; i <= 16; ++i) {
    count += 100;
    r.Sample(1000 + i * 100, count);
  }
  EXPECT_EQ(r.PerSecond(), 1000);
  for (int i = 17; i <= 32; ++i) r.Sample(1000 + i * 100, count);  // idle
  EXPECT_EQ(r.PerSecond(), 0);
}

TEST(RateSampler, WaitsAPeriodAndSurvivesAReset) {
  RateSampler r;
  r.Sample(0 + 1, 0);
  r.Sample(50, 1000);  // too soon: no sample
  EXPECT_EQ(r.PerSecond(), 0);
  r.Sample(201, 400);  // 400 in 200 ms: 2000/s
  EXPECT_EQ(r.PerSecond(), 2000 / 16);
  r.Sample(301, 10);  // the counter went back (CONFIG RESETSTAT): restart
  EXPECT_EQ(r.PerSecond(), 2000 / 16);
  r.Sample(401, 110);  // 100 in 100 ms
  EXPECT_EQ(r.PerSecond(), (2000 + 1000) / 16);
}

}  // namespace
}  // namespace edgekv

namespace edgekv {
namespace {

TEST(RateSampler, ResetForgetsTheSamples) {
  RateSampler r;
  r.Sample(1000, 0);
  r.Sample(1100, 1000);
  EXPECT_GT(r.PerSecond(), 0);
  r.Reset();
  EXPECT_EQ(r.PerSecond(), 0);
  r.Sample(5000, 7);  // starts the count again
  EXPECT_EQ(r.PerSecond(), 0);
}

}  // namespace
}  // namespace edgekv
