// INFO commandstats and errorstats: calls, time, failures and rejections of
// each command (and subcommand), and error replies by code, as Redis counts
// them. Also each command's latency histogram (latency-tracking: INFO
// latencystats, LATENCY HISTOGRAM; see util/latency_histogram.h), made the
// first time a thread counts that command with tracking on.
//
// Threading: every I/O thread counts into its own block of counters (only
// that thread writes it; plain loads and stores, no locked instructions on
// the command path); INFO adds the blocks up. CONFIG RESETSTAT does not write
// the blocks: it records a baseline that later sums subtract. The block list
// and the error table are guarded by mutexes, taken when a thread counts its
// first command, on an error reply, and by INFO.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/reply.h"
#include "edgekv/thread_annotations.h"

namespace edgekv {

class CommandStats {
 public:
  // Counters for command ids 0 .. commands-1 (CommandSpec::id).
  explicit CommandStats(size_t commands);
  ~CommandStats();
  CommandStats(const CommandStats&) = delete;
  CommandStats& operator=(const CommandStats&) = delete;

  // The command ran (for usec microseconds); `failed`: it replied an error;
  // `track`: count it in its latency histogram too.
  void Ran(size_t id, uint64_t usec, bool failed, bool track);
  // It was refused before it ran (arity, NOAUTH, OOM, READONLY, ...).
  void Rejected(size_t id);

  struct Totals {
    uint64_t calls = 0, usec = 0, failed = 0, rejected = 0;
  };
  // Since the last Reset, indexed by id.
  std::vector<Totals> Sum() const EXCLUDES(mu_);
  // Latency histograms since the last Reset: command id -> counts
  // (latency::kSlots), for the commands that have any.
  std::map<size_t, std::vector<uint64_t>> Histograms() const EXCLUDES(mu_);
  void Reset() EXCLUDES(mu_);

 private:
  struct Block;
  Block* Mine() EXCLUDES(mu_);
  std::vector<Totals> RawLocked() const REQUIRES(mu_);
  std::map<size_t, std::vector<uint64_t>> RawHistogramsLocked() const REQUIRES(mu_);

  const size_t commands_;
  const uint64_t serial_;  // tells this instance from one later at its address
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Block>> blocks_ GUARDED_BY(mu_);
  std::vector<Totals> baseline_ GUARDED_BY(mu_);
  std::map<size_t, std::vector<uint64_t>> histogram_baseline_ GUARDED_BY(mu_);
};

// Error replies by code, and their total (INFO stats total_error_replies).
// At most kMaxCodes codes are told apart, as in Redis; past them the total
// still counts.
class ErrorStats : public ErrorSink {
 public:
  static constexpr size_t kMaxCodes = 128;
  void OnError(std::string_view code) override EXCLUDES(mu_);
  void OnErrorTakenBack(std::string_view code) override EXCLUDES(mu_);
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  std::map<std::string, uint64_t> ByCode() const EXCLUDES(mu_);
  void Reset() EXCLUDES(mu_);

 private:
  std::atomic<uint64_t> total_{0};
  mutable Mutex mu_;
  std::map<std::string, uint64_t, std::less<>> codes_ GUARDED_BY(mu_);
};

}  // namespace edgekv
