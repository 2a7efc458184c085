// The one table of directives. conf/edgekv.conf documents each of them.
#include <algorithm>
#include <charconv>
#include <iterator>
#include <vector>

#include "edgekv/config.h"
#include "util/latency_percentiles.h"

namespace edgekv {
namespace {

// In Redis's order (its CONFIG SET error lists them so).
const char* const kFsyncModes[] = {"everysec", "always", "no", nullptr};
const char* const kLogLevels[] = {"debug",   "verbose", "notice",
                                  "warning", "nothing", nullptr};
const char* const kDebugModes[] = {"no", "yes", "local", nullptr};

constexpr int64_t kIntMax = 2147483647;
constexpr int64_t kLongMax = INT64_MAX;

std::string ValidateOutputLimit(std::string_view v) {
  // "<class> <hard> <soft> <soft-seconds>" repeated; class normal|replica|pubsub.
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && v[i] == ' ') ++i;
    size_t j = i;
    while (j < v.size() && v[j] != ' ') ++j;
    if (j > i) words.push_back(v.substr(i, j - i));
    i = j;
  }
  if (words.empty() || words.size() % 4 != 0) return "Wrong number of arguments";
  for (size_t k = 0; k < words.size(); k += 4) {
    auto c = words[k];
    if (c != "normal" && c != "replica" && c != "slave" && c != "pubsub") {
      return "Invalid client class specified in buffer limit configuration.";
    }
    int64_t x;
    if (!ParseMemory(words[k + 1], &x) || !ParseMemory(words[k + 2], &x) ||
        !ParseMemory(words[k + 3], &x) || x < 0) {
      return "Error in hard, soft or soft_seconds setting in buffer limit "
             "configuration.";
    }
  }
  return {};
}

std::string ValidateReplicaof(std::string_view v) {
  if (v.empty()) return {};
  // "<host> <port>" (or "no one").
  size_t sp = v.find(' ');
  if (sp == std::string_view::npos) return "replicaof needs <host> <port>";
  std::string_view port = v.substr(sp + 1);
  if (port == "one" || port == "ONE") return {};
  int64_t p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p <= 0 || p > 65535) {
    return "Invalid master port";
  }
  return {};
}

std::string ValidateReplicaReadOnly(std::string_view v) {
  if (v == "no" || v == "NO") return "edgekv replicas are always read-only";
  return {};
}

std::string ValidateSave(std::string_view) { return {}; }

std::string ValidatePercentiles(std::string_view v) {
  std::vector<double> values;
  return latency::ParsePercentiles(v, &values);
}

std::string ValidateAppendonly(std::string_view v) {
  if (v.size() == 2 && (v[0] == 'n' || v[0] == 'N') && (v[1] == 'o' || v[1] == 'O')) {
    return "edgekv always keeps its write-ahead log (appendonly is always yes)";
  }
  return {};
}

const DirectiveSpec kDirectives[] = {
    // name, type, default, min, max, runtime-mutable, enum, validate
    {Cfg::kPort, "port", DirectiveType::kInt, "6379", 0, 65535, false},
    {Cfg::kBind, "bind", DirectiveType::kString, "127.0.0.1 -::1", 0, 0, false},
    {Cfg::kDir, "dir", DirectiveType::kString, ".", 0, 0, false},
    {Cfg::kRequirepass, "requirepass", DirectiveType::kString, "", 0, 0, true, nullptr,
     nullptr, true},
    {Cfg::kMaxclients, "maxclients", DirectiveType::kInt, "10000", 1, kIntMax, true},
    {Cfg::kTimeout, "timeout", DirectiveType::kInt, "0", 0, kIntMax, true},
    {Cfg::kDatabases, "databases", DirectiveType::kInt, "16", 1, 1024, false},
    {Cfg::kMaxmemory, "maxmemory", DirectiveType::kMemory, "0", 0, kLongMax, true},
    {Cfg::kAppendfsync, "appendfsync", DirectiveType::kEnum, "everysec", 0, 0, true,
     kFsyncModes},
    {Cfg::kReplicaof, "replicaof", DirectiveType::kString, "", 0, 0, false, nullptr,
     ValidateReplicaof},
    {Cfg::kIoThreads, "io-threads", DirectiveType::kInt, "0", 0, 128, false},
    {Cfg::kIoThreadsAdaptive, "io-threads-adaptive", DirectiveType::kBool, "yes", 0, 0,
     true},
    {Cfg::kLoglevel, "loglevel", DirectiveType::kEnum, "notice", 0, 0, true, kLogLevels},
    {Cfg::kLogfile, "logfile", DirectiveType::kString, "", 0, 0, false},
    // At most 1gb: one operation (a 512 MB key, a value) fits a log record.
    {Cfg::kProtoMaxBulkLen, "proto-max-bulk-len", DirectiveType::kMemory, "512mb",
     1024 * 1024, 1024 * 1024 * 1024, true},
    {Cfg::kClientQueryBufferLimit, "client-query-buffer-limit", DirectiveType::kMemory,
     "1gb", 1024 * 1024, kLongMax, true},
    {Cfg::kClientOutputBufferLimit, "client-output-buffer-limit", DirectiveType::kString,
     "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, true, nullptr,
     ValidateOutputLimit},
    {Cfg::kProtectedMode, "protected-mode", DirectiveType::kBool, "yes", 0, 0, true},
    {Cfg::kEnableDebugCommand, "enable-debug-command", DirectiveType::kEnum, "no", 0, 0,
     false, kDebugModes},
    {Cfg::kTcpBacklog, "tcp-backlog", DirectiveType::kInt, "511", 0, kIntMax, false},
    {Cfg::kTcpKeepalive, "tcp-keepalive", DirectiveType::kInt, "300", 0, kIntMax, true},
    {Cfg::kHz, "hz", DirectiveType::kInt, "10", 1, 500, true},
    {Cfg::kSave, "save", DirectiveType::kString, "", 0, 0, true, nullptr, ValidateSave},
    {Cfg::kAppendonly, "appendonly", DirectiveType::kBool, "yes", 0, 0, true, nullptr,
     ValidateAppendonly},
    {Cfg::kWalRepair, "wal-repair", DirectiveType::kBool, "no", 0, 0, false},
    {Cfg::kMasterauth, "masterauth", DirectiveType::kString, "", 0, 0, true, nullptr,
     nullptr, true},
    {Cfg::kMasteruser, "masteruser", DirectiveType::kString, "", 0, 0, true, nullptr,
     nullptr, true},
    {Cfg::kReplBacklogSize, "repl-backlog-size", DirectiveType::kMemory, "256mb", 0,
     1LL << 40, true},
    {Cfg::kWalRetentionSeconds, "wal-retention-seconds", DirectiveType::kInt, "3600", 0,
     kIntMax, true},
    {Cfg::kReplTimeout, "repl-timeout", DirectiveType::kInt, "60", 1, kIntMax, true},
    {Cfg::kMinReplicasToWrite, "min-replicas-to-write", DirectiveType::kInt, "0", 0,
     kIntMax, true},
    {Cfg::kMinReplicasMaxLag, "min-replicas-max-lag", DirectiveType::kInt, "10", 0,
     kIntMax, true},
    {Cfg::kReplicaWriteForward, "replica-write-forward", DirectiveType::kBool, "no", 0, 0,
     true},
    {Cfg::kReplicaReadOnly, "replica-read-only", DirectiveType::kBool, "yes", 0, 0, true,
     nullptr, ValidateReplicaReadOnly},
    {Cfg::kWalSegmentSize, "wal-segment-size", DirectiveType::kMemory, "64mb",
     1024 * 1024, 1LL << 40, false},
    {Cfg::kSlowlogLogSlowerThan, "slowlog-log-slower-than", DirectiveType::kInt, "10000",
     -1, kLongMax, true},
    {Cfg::kSlowlogMaxLen, "slowlog-max-len", DirectiveType::kInt, "128", 0, kLongMax,
     true},
    // How long a script runs before other clients are answered BUSY (Redis's
    // lua-time-limit, its old name, is accepted too).
    {Cfg::kBusyReplyThreshold, "busy-reply-threshold", DirectiveType::kInt, "5000", 0,
     kLongMax, true},
    // A hash converts from listpack to hashtable past these (Redis 7.0's
    // names; the ziplist ones before them are accepted too).
    {Cfg::kHashMaxListpackEntries, "hash-max-listpack-entries", DirectiveType::kInt,
     "512", 0, kLongMax, true},
    {Cfg::kHashMaxListpackValue, "hash-max-listpack-value", DirectiveType::kMemory, "64",
     0, kLongMax, true},
    // A set of integers is an intset up to set-max-intset-entries members;
    // other sets a listpack up to these (Redis 7.2's names; the ziplist ones
    // are accepted too), else a hashtable.
    {Cfg::kSetMaxIntsetEntries, "set-max-intset-entries", DirectiveType::kInt, "512", 0,
     kLongMax, true},
    {Cfg::kSetMaxListpackEntries, "set-max-listpack-entries", DirectiveType::kInt, "128",
     0, kLongMax, true},
    {Cfg::kSetMaxListpackValue, "set-max-listpack-value", DirectiveType::kMemory, "64", 0,
     kLongMax, true},
    // A sorted set is a listpack up to these, else a skiplist.
    {Cfg::kZsetMaxListpackEntries, "zset-max-listpack-entries", DirectiveType::kInt,
     "128", 0, kLongMax, true},
    {Cfg::kZsetMaxListpackValue, "zset-max-listpack-value", DirectiveType::kMemory, "64",
     0, kLongMax, true},
    {Cfg::kLatencyMonitorThreshold, "latency-monitor-threshold", DirectiveType::kInt, "0",
     0, kLongMax, true},
    {Cfg::kLatencyTracking, "latency-tracking", DirectiveType::kBool, "yes", 0, 0, true},
    {Cfg::kLatencyTrackingInfoPercentiles, "latency-tracking-info-percentiles",
     DirectiveType::kString, "50 99 99.9", 0, 0, true, nullptr, ValidatePercentiles,
     false, latency::NormalizePercentiles},
};

}  // namespace

std::span<const DirectiveSpec> AllDirectives() { return kDirectives; }

bool IsRedisImmutable(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "aclfile",
      "always-show-logo",
      "aof_rewrite_cpulist",
      "appenddirname",
      "appendfilename",
      "bgsave_cpulist",
      "bio_cpulist",
      "cluster-config-file",
      "cluster-enabled",
      "cluster-port",
      "daemonize",
      "disable-thp",
      "enable-module-command",
      "enable-protected-configs",
      "io-threads-do-reads",
      "pidfile",
      "rdbchecksum",
      "server_cpulist",
      "set-proc-title",
      "socket-mark-id",
      "supervised",
      "syslog-enabled",
      "syslog-facility",
      "syslog-ident",
      "unixsocket",
      "unixsocketperm",
  };
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

bool ParseMemory(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  size_t digits_end = i;
  while (digits_end < s.size() && s[digits_end] >= '0' && s[digits_end] <= '9') {
    ++digits_end;
  }
  if (digits_end == i) return false;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + i, s.data() + digits_end, v);
  if (ec != std::errc()) return false;
  std::string unit;
  for (char c : s.substr(digits_end)) {
    unit.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
  int64_t mul = 1;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "k")
    mul = 1000;
  else if (unit == "kb")
    mul = 1024;
  else if (unit == "m")
    mul = 1000 * 1000;
  else if (unit == "mb")
    mul = 1024 * 1024;
  else if (unit == "g")
    mul = 1000LL * 1000 * 1000;
  else if (unit == "gb")
    mul = 1024LL * 1024 * 1024;
  else
    return false;
  if (v > INT64_MAX / mul) return false;
  *out = (neg ? -v : v) * mul;
  return true;
}

}  // namespace edgekv
