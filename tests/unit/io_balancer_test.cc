// IoBalancer: how many I/O threads serve clients, and which connections move.
#include "net/io_balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace edgekv {
namespace {

using Moves = std::vector<std::pair<int, size_t>>;

// A thread that ran 10000 requests in the interval, busy `busy` of the time,
// sleeping 20 times (it never ran out of work) or 2000 times.
IoBalancer::Sample Busy(double busy, bool sleeps_often = false) {
  return {busy, 10000, sleeps_often ? 2000u : 20u};
}
const IoBalancer::Sample kIdle{0.01, 5, 5};

void TickWith(IoBalancer& b, std::vector<IoBalancer::Sample> samples, int times = 1) {
  for (int k = 0; k < times; ++k) {
    for (size_t i = 0; i < samples.size(); ++i) b.Report(static_cast<int>(i), samples[i]);
    b.Tick(/*adaptive=*/true, /*forced=*/0);
  }
}

TEST(IoBalancer, SaturatedMeansBusyAndNeverOutOfWork) {
  EXPECT_TRUE(IoBalancer::Saturated(Busy(0.95)));
  EXPECT_TRUE(IoBalancer::Saturated(Busy(0.90)));
  EXPECT_FALSE(IoBalancer::Saturated(Busy(0.85)));
  // Busy, but it sleeps between most requests: its clients are the limit.
  EXPECT_FALSE(IoBalancer::Saturated(Busy(0.98, /*sleeps_often=*/true)));
  // Busy without requests (one long command): nothing to spread.
  EXPECT_FALSE(IoBalancer::Saturated({1.0, 0, 0}));
  EXPECT_FALSE(IoBalancer::Saturated(kIdle));
}

TEST(IoBalancer, StartsWithOneThreadAndPlacesEveryConnectionThere) {
  IoBalancer b(4);
  EXPECT_EQ(b.in_use(), 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.PlaceNew(), 0);
}

TEST(IoBalancer, AddsAThreadOnlyAfterTheThreadsInUseStayBusy) {
  IoBalancer b(2);
  TickWith(b, {Busy(0.95), kIdle}, IoBalancer::kHotTicks - 1);
  EXPECT_EQ(b.in_use(), 1);
  TickWith(b, {Busy(0.80), kIdle});  // one quieter tick starts the count again
  TickWith(b, {Busy(0.95), kIdle}, IoBalancer::kHotTicks - 1);
  EXPECT_EQ(b.in_use(), 1);
  TickWith(b, {Busy(0.95), kIdle});
  EXPECT_EQ(b.in_use(), 2);
  // Never more than the threads started.
  TickWith(b, {Busy(1.0), Busy(1.0)}, 10 * IoBalancer::kHotTicks);
  EXPECT_EQ(b.in_use(), 2);
}

TEST(IoBalancer, AddsNoThreadWithoutAnIdleCpuForIt) {
  IoBalancer b(2);
  // Saturated, but the machine's CPUs are all busy (a client process beside
  // the server): another thread would only take turns with them.
  for (int k = 0; k < 10 * IoBalancer::kHotTicks; ++k) {
    b.Report(0, Busy(0.98));
    b.Report(1, kIdle);
    b.Tick(/*adaptive=*/true, /*forced=*/0, /*idle_cpus=*/0.1);
  }
  EXPECT_EQ(b.in_use(), 1);
  // A tick without room starts the count again.
  for (int k = 0; k < IoBalancer::kHotTicks - 1; ++k) {
    b.Report(0, Busy(0.98));
    b.Tick(true, 0, /*idle_cpus=*/1.0);
  }
  b.Tick(true, 0, /*idle_cpus=*/0.2);
  for (int k = 0; k < IoBalancer::kHotTicks - 1; ++k) b.Tick(true, 0, 0.9);
  EXPECT_EQ(b.in_use(), 1);
  b.Tick(true, 0, IoBalancer::kIdleCpus);
  EXPECT_EQ(b.in_use(), 2);
}

TEST(IoBalancer, NewConnectionsTakeTurnsOverTheThreadsInUse) {
  IoBalancer b(3);
  TickWith(b, {Busy(1.0), kIdle, kIdle}, IoBalancer::kHotTicks);
  ASSERT_EQ(b.in_use(), 2);
  std::vector<int> seen;
  for (int i = 0; i < 4; ++i) seen.push_back(b.PlaceNew());
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 0), 2);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 2);
}

TEST(IoBalancer, ABusyClientBoundThreadGetsNoHelp) {
  IoBalancer b(2);
  TickWith(b, {Busy(0.97, /*sleeps_often=*/true), kIdle}, 10 * IoBalancer::kHotTicks);
  EXPECT_EQ(b.in_use(), 1);
}

TEST(IoBalancer, GivesUpAThreadWhenNoneIsSaturated) {
  IoBalancer b(2);
  TickWith(b, {Busy(1.0), kIdle}, IoBalancer::kHotTicks);
  ASSERT_EQ(b.in_use(), 2);
  // One of them still saturated: both stay.
  TickWith(b, {Busy(0.95), Busy(0.6)}, 5 * IoBalancer::kCoolTicks);
  EXPECT_EQ(b.in_use(), 2);
  TickWith(b, {Busy(0.95, true), Busy(0.6)}, IoBalancer::kCoolTicks - 1);
  EXPECT_EQ(b.in_use(), 2);
  TickWith(b, {Busy(0.95), Busy(0.6)});  // starts the count again
  TickWith(b, {Busy(0.95, true), Busy(0.6)}, IoBalancer::kCoolTicks - 1);
  EXPECT_EQ(b.in_use(), 2);
  TickWith(b, {kIdle, kIdle});
  EXPECT_EQ(b.in_use(), 1);
}

TEST(IoBalancer, ForcedOrNotAdaptiveOverridesThePolicy) {
  IoBalancer b(4);
  b.Tick(/*adaptive=*/false, 0);
  EXPECT_EQ(b.in_use(), 4);
  b.Tick(true, 2);
  EXPECT_EQ(b.in_use(), 2);
  b.Tick(true, 9);  // at most the threads started
  EXPECT_EQ(b.in_use(), 4);
  b.Tick(true, 1);
  EXPECT_EQ(b.in_use(), 1);
  // Back to adaptive: it goes on from there.
  TickWith(b, {kIdle, kIdle, kIdle, kIdle}, IoBalancer::kCoolTicks);
  EXPECT_EQ(b.in_use(), 1);
}

TEST(IoBalancer, AThreadOutOfUseHandsAllItsConnectionsToTheOthers) {
  IoBalancer b(3);
  b.Tick(true, 2);
  b.SetConnections(0, 3);
  b.SetConnections(1, 5);
  // Thread 2 holds 4: thread 0 (fewest) gets 3 of them, thread 1 gets 1,
  // leaving 6 and 6.
  EXPECT_EQ(b.Moves(2, 4), (Moves{{0, 3}, {1, 1}}));
}

TEST(IoBalancer, AThreadInUseHandsOnlyItsSurplusOverAnEvenShare) {
  IoBalancer b(2);
  b.Tick(true, 2);
  b.SetConnections(1, 0);
  EXPECT_EQ(b.Moves(0, 50), (Moves{{1, 25}}));
  b.SetConnections(1, 24);
  EXPECT_EQ(b.Moves(0, 26), (Moves{{1, 1}}));
  b.SetConnections(1, 25);
  EXPECT_EQ(b.Moves(0, 26), Moves{});  // one apart: balanced enough
  EXPECT_EQ(b.Moves(0, 0), Moves{});
  // The thread with fewer never gives.
  b.SetConnections(0, 50);
  EXPECT_EQ(b.Moves(1, 10), Moves{});
}

TEST(IoBalancer, AStandbyThreadIsNeverUsedAndHandsBackWhatItHolds) {
  IoBalancer b(/*threads=*/1, /*started=*/2);  // io-threads 1
  b.Tick(/*adaptive=*/false, 0);
  EXPECT_EQ(b.in_use(), 1);
  b.Tick(true, 2);
  EXPECT_EQ(b.in_use(), 1);
  TickWith(b, {Busy(0.99), kIdle}, IoBalancer::kHotTicks * 2);
  EXPECT_EQ(b.in_use(), 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.PlaceNew(), 0);
  // The clients a script's thread handed it go back once it reports.
  b.SetConnections(1, 6);
  EXPECT_EQ(b.Moves(1, 6), (Moves{{0, 6}}));
}

TEST(IoBalancer, OneThreadInUseMovesNothingBetweenThreadsInUse) {
  IoBalancer b(2);
  EXPECT_EQ(b.Moves(0, 50), Moves{});
  b.SetConnections(0, 50);
  EXPECT_EQ(b.Moves(1, 7), (Moves{{0, 7}}));  // thread 1 is out of use
}

}  // namespace
}  // namespace edgekv
