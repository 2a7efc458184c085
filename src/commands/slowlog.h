// SLOWLOG: the commands whose execution took at least
// slowlog-log-slower-than microseconds, newest first, at most slowlog-max-len
// of them, as Redis keeps them (its slowlog.c).
//
// What is timed is the command's own run (RunCommand: its stripe locks and
// its handler), not reading the request or sending the reply, and not the
// time a command waited to be allowed to run. EXEC is not logged itself
// (kSkipSlowlog); the commands it runs are, one by one.
//
// Threading: one log for all I/O threads. Its mutex is taken only to log a
// command that was slow enough, and by SLOWLOG itself.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "edgekv/thread_annotations.h"

namespace edgekv {

struct SlowLogEntry {
  uint64_t id;
  int64_t time_s;  // unix seconds when it was logged
  int64_t duration_us;
  std::vector<std::string> args;
  std::string peer;  // "ip:port"
  std::string name;  // CLIENT SETNAME
};

class SlowLog {
 public:
  // Bounds of one entry, as Redis's: at most kMaxArgs arguments (the last
  // of them then says how many more there were), each cut at kMaxArgBytes
  // (with how many bytes more). An argument whose bit is set in `redacted`
  // (a password) is logged as "(redacted)".
  static constexpr size_t kMaxArgs = 32;
  static constexpr size_t kMaxArgBytes = 128;

  // Logs a command, then drops the oldest entries past max_len.
  void Push(std::span<const std::string_view> args, uint64_t redacted,
            int64_t duration_us, int64_t time_s, std::string peer, std::string name,
            size_t max_len) EXCLUDES(mu_);
  // The newest `count` entries, newest first.
  std::vector<SlowLogEntry> Newest(size_t count) const EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);
  // Empties the log; ids go on from where they were.
  void Reset() EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::deque<SlowLogEntry> entries_ GUARDED_BY(mu_);  // newest first
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
};

// After a command ran for duration_us: logs it if slowlog-log-slower-than
// (microseconds; negative: never) says so and its spec allows.
void MaybeLogSlow(const CommandSpec& spec, const CommandContext& ctx,
                  int64_t duration_us);

// SLOWLOG's subcommands.
void SlowlogGet(CommandContext& ctx);
void SlowlogLen(CommandContext& ctx);
void SlowlogReset(CommandContext& ctx);
void SlowlogHelp(CommandContext& ctx);

}  // namespace edgekv
