// How many of the I/O threads serve clients, and which connections move.
//
// `io-threads` threads are started, but a load that one thread keeps up with
// is served by one: every thread in use costs wake-ups (an epoll_wait that
// returns one event, a context switch, an inter-processor interrupt charged
// to whoever woke it), and on a small machine those threads compete with
// everything else for the same cores. Redis leaves its I/O threads idle the
// same way until the load needs them. So:
//   - a new connection goes to one of the threads in use (round robin);
//   - a thread is *saturated* when it is busy (on a CPU or waiting for one)
//     at least kHot of the time and almost never runs out of work: under
//     kSaturatedSleeps sleeps in epoll_wait per request. A thread that is
//     busy but sleeps between most requests is waiting for its clients (the
//     clients, not the server, are the limit): another thread would only add
//     wake-ups;
//   - when every thread in use has been saturated for kHotTicks cron ticks in
//     a row, and the machine had a CPU for one more (at least kIdleCpus of
//     its CPUs idle, averaged over each of those ticks), one more is used,
//     and connections are rebalanced onto it. Without an idle CPU another
//     thread would only take turns with the busy ones, and with whatever else
//     runs on the machine (a client process beside the server): on a 2-core
//     host under a pipeline-1 load that costs more in wake-ups, context
//     switches and connection moves than it gains;
//   - when none has been for kCoolTicks ticks in a row, the last one hands
//     its connections to the others.
// A connection moves between two of its requests (Connection::Migrate), so a
// request never runs on two threads. `io-threads-adaptive no` uses every
// thread.
//
// Thread-safety: Report/SetConnections/Moves are called by each I/O thread's
// cron for itself, Tick by thread 0's cron only (the tick counters are its
// own); the shared figures are atomics, read by any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace edgekv {

class IoBalancer {
 public:
  static constexpr double kHot = 0.90;
  static constexpr double kSaturatedSleeps = 0.01;
  static constexpr int kHotTicks = 5;
  static constexpr int kCoolTicks = 20;
  static constexpr double kIdleCpus = 0.5;

  // One I/O thread over one cron interval.
  struct Sample {
    double busy = 0;        // (CPU time + run-queue wait) / wall time
    uint64_t requests = 0;  // commands it ran
    uint64_t sleeps = 0;    // voluntary context switches
  };
  static bool Saturated(const Sample& s) {
    return s.busy >= kHot && s.requests > 0 &&
           static_cast<double>(s.sleeps) <
               kSaturatedSleeps * static_cast<double>(s.requests);
  }

  // `threads`: io-threads; `started`: the threads there are, when more
  // (a standby thread that never serves clients for long: see NetServer).
  explicit IoBalancer(int threads, int started = 0);

  // Threads that take connections now: 1 .. `threads`.
  int in_use() const { return in_use_.load(std::memory_order_relaxed); }

  // Thread `t`'s last cron interval.
  void Report(int t, const Sample& s);
  // Connections on thread `t` now.
  void SetConnections(int t, size_t n);

  // Thread 0, once per cron tick. `forced` > 0 holds in_use() at that count
  // (DEBUG SET-IO-THREADS); `adaptive` false uses every thread. `idle_cpus`:
  // how many of the machine's CPUs were idle over the tick, on average
  // (negative: unknown, taken as enough).
  void Tick(bool adaptive, int forced, double idle_cpus = -1);

  // The thread for a new connection.
  int PlaceNew();

  // For thread `t` holding `n` connections: how many of them should move to
  // which thread (empty: none). A thread past in_use() hands over all of
  // them; a thread in use hands its surplus over an even share to the
  // threads in use that hold fewer.
  std::vector<std::pair<int, size_t>> Moves(int t, size_t n) const;

 private:
  int threads_;
  int started_;
  std::atomic<int> in_use_;
  std::unique_ptr<std::atomic<bool>[]> saturated_;
  std::unique_ptr<std::atomic<size_t>[]> conns_;
  std::atomic<unsigned> next_{0};
  int hot_ticks_ = 0;   // thread 0 only
  int cool_ticks_ = 0;  // thread 0 only
};

}  // namespace edgekv
