// Server configuration: every directive is declared once, in the table in
// src/config/directives.cc (name, type, bounds, default, whether CONFIG SET
// may change it). The config file, command-line flags, CONFIG GET and CONFIG
// SET all read and write that one table.
//
// Thread-safety: all methods are safe to call from any thread. Numeric values
// are atomics (hot paths read them per command); strings sit behind a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edgekv/status.h"
#include "edgekv/thread_annotations.h"

namespace edgekv {

enum class Cfg {
  kPort,
  kBind,
  kDir,
  kRequirepass,
  kMaxclients,
  kTimeout,
  kDatabases,
  kMaxmemory,
  kAppendfsync,
  kReplicaof,
  kIoThreads,
  kIoThreadsAdaptive,
  kLoglevel,
  kLogfile,
  kProtoMaxBulkLen,
  kClientQueryBufferLimit,
  kClientOutputBufferLimit,
  kProtectedMode,
  kEnableDebugCommand,
  kTcpBacklog,
  kTcpKeepalive,
  kHz,
  kSave,
  kAppendonly,
  kWalRepair,
  kWalSegmentSize,
  kMasterauth,
  kMasteruser,
  kReplBacklogSize,
  kWalRetentionSeconds,
  kReplTimeout,
  kMinReplicasToWrite,
  kMinReplicasMaxLag,
  kReplicaReadOnly,
  kReplicaWriteForward,
  kSlowlogLogSlowerThan,
  kSlowlogMaxLen,
  kLatencyMonitorThreshold,
  kLatencyTracking,
  kLatencyTrackingInfoPercentiles,
  kBusyReplyThreshold,
  kHashMaxListpackEntries,
  kHashMaxListpackValue,
  kSetMaxIntsetEntries,
  kSetMaxListpackEntries,
  kSetMaxListpackValue,
  kZsetMaxListpackEntries,
  kZsetMaxListpackValue,
  kCount  // not a directive
};

enum class DirectiveType { kBool, kInt, kMemory, kEnum, kString };

struct DirectiveSpec {
  Cfg id;
  const char* name;
  DirectiveType type;
  const char* default_value;
  int64_t min = 0;
  int64_t max = 0;
  bool mutable_at_runtime = true;
  const char* const* enum_values = nullptr;  // null-terminated
  // Optional extra validation of a string value (returns an error text).
  std::string (*validate)(std::string_view value) = nullptr;
  // A password: SLOWLOG shows CONFIG SET's value as "(redacted)".
  bool sensitive = false;
  // Optional: how CONFIG GET shows a valid string value, as Redis shows it
  // ("50.0 99" -> "50 99"); the value itself is kept as given.
  std::string (*normalize)(std::string_view value) = nullptr;
};

// The table; defined in directives.cc.
std::span<const DirectiveSpec> AllDirectives();
// A directive of Redis's that edgekv does not have and that Redis cannot
// change at run time (daemonize, pidfile, ...): CONFIG SET of it answers as
// Redis does, "can't set immutable config". `name` is lower case.
bool IsRedisImmutable(std::string_view name);

// Output buffer limits of one client class ("normal 0 0 0").
struct OutputLimit {
  int64_t hard_bytes = 0;
  int64_t soft_bytes = 0;
  int64_t soft_seconds = 0;
};

class Config {
 public:
  Config();

  // Start-up: the file (may be empty), then "--name value..." flags.
  Status LoadFile(const std::string& path);
  Status ApplyArgs(const std::vector<std::string>& args);
  // Sets one directive from its textual arguments; `runtime` refuses the
  // directives CONFIG SET may not change.
  Status Set(std::string_view name, std::string_view value, bool runtime);

  // Name/value pairs whose name matches the glob pattern, for CONFIG GET.
  std::vector<std::pair<std::string, std::string>> Match(std::string_view pattern) const;
  std::string GetText(Cfg id) const;
  // The directive (any case) holds a password (DirectiveSpec::sensitive).
  static bool IsSensitive(std::string_view name);

  int64_t Int(Cfg id) const {
    return ints_[static_cast<size_t>(id)].load(std::memory_order_relaxed);
  }
  bool Bool(Cfg id) const { return Int(id) != 0; }
  std::string String(Cfg id) const EXCLUDES(mu_);
  OutputLimit NormalOutputLimit() const EXCLUDES(mu_);

  std::string config_file() const EXCLUDES(mu_);

  // Called after a directive changed at runtime (CONFIG SET), so that the
  // parts that cache a value (the WAL's fsync policy, the log level) follow.
  void set_on_change(std::function<void(Cfg)> fn) { on_change_ = std::move(fn); }

 private:
  static const DirectiveSpec* Find(std::string_view name);

  Status SetSpec(const DirectiveSpec& spec, std::string_view value);

  std::atomic<int64_t> ints_[static_cast<size_t>(Cfg::kCount)];
  mutable Mutex mu_;
  std::string strings_[static_cast<size_t>(Cfg::kCount)] GUARDED_BY(mu_);
  std::string config_file_ GUARDED_BY(mu_);
  std::function<void(Cfg)> on_change_;
  // client-output-buffer-limit's "normal" class, parsed once per change
  // (read per connection event).
  std::atomic<int64_t> normal_hard_{0}, normal_soft_{0}, normal_soft_seconds_{0};
};

// "64mb" -> 67108864; plain numbers are bytes. Units as in redis.conf.
bool ParseMemory(std::string_view s, int64_t* out);

}  // namespace edgekv
