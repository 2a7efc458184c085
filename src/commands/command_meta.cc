#include "command_meta.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>

namespace edgekv {

// clang-format off
const std::vector<CommandMeta>& AllCommandMeta() {
  static const std::vector<CommandMeta> kTable = {
    {"append", "", {{"RW insert", 1, 0, 1, 0}}},
    {"bitcount", "", {{"RO access", 1, 0, 1, 0}}},
    {"bitfield", "", {{"RW access update variable_flags", 1, 0, 1, 0, "This command allows both access and modification of the key"}}},
    {"bitfield_ro", "", {{"RO access", 1, 0, 1, 0}}},
    {"bitop", "", {{"OW update", 2, 0, 1, 0}, {"RO access", 3, -1, 1, 0}}},
    {"bitpos", "", {{"RO access", 1, 0, 1, 0}}},
    {"client|info", "nondeterministic_output", {}},
    {"client|list", "nondeterministic_output", {}},
    {"command", "nondeterministic_output_order", {}},
    {"command|docs", "nondeterministic_output_order", {}},
    {"command|info", "nondeterministic_output_order", {}},
    {"command|list", "nondeterministic_output_order", {}},
    {"config|set", "request_policy:all_nodes response_policy:all_succeeded", {}},
    {"copy", "", {{"RO access", 1, 0, 1, 0}, {"OW update", 2, 0, 1, 0}}},
    {"dbsize", "request_policy:all_shards response_policy:agg_sum", {}},
    {"decr", "", {{"RW access update", 1, 0, 1, 0}}},
    {"decrby", "", {{"RW access update", 1, 0, 1, 0}}},
    {"del", "request_policy:multi_shard response_policy:agg_sum", {{"RM delete", 1, -1, 1, 0}}},
    {"eval", "", {{"RW access update", 2, 0, 1, 0, "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", 0, 1}}},
    {"eval_ro", "", {{"RO access", 2, 0, 1, 0, "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS", 0, 1}}},
    {"evalsha", "", {{"RW access update", 2, 0, 1, 0, nullptr, 0, 1}}},
    {"evalsha_ro", "", {{"RO access", 2, 0, 1, 0, nullptr, 0, 1}}},
    {"exists", "request_policy:multi_shard response_policy:agg_sum", {{"RO", 1, -1, 1, 0}}},
    {"expire", "", {{"RW update", 1, 0, 1, 0}}},
    {"expireat", "", {{"RW update", 1, 0, 1, 0}}},
    {"expiretime", "", {{"RO access", 1, 0, 1, 0}}},
    {"fcall", "", {{"RW access update", 2, 0, 1, 0, "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", 0, 1}}},
    {"fcall_ro", "", {{"RO access", 2, 0, 1, 0, "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS", 0, 1}}},
    {"flushall", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"flushdb", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"function|delete", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"function|flush", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"function|kill", "request_policy:all_shards response_policy:one_succeeded", {}},
    {"function|list", "nondeterministic_output_order", {}},
    {"function|load", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"function|restore", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"function|stats", "nondeterministic_output request_policy:all_shards response_policy:special", {}},
    {"get", "", {{"RO access", 1, 0, 1, 0}}},
    {"getbit", "", {{"RO access", 1, 0, 1, 0}}},
    {"getdel", "", {{"RW access delete", 1, 0, 1, 0}}},
    {"getex", "", {{"RW access update", 1, 0, 1, 0, "RW and UPDATE because it changes the TTL"}}},
    {"getrange", "", {{"RO access", 1, 0, 1, 0}}},
    {"getset", "", {{"RW access update", 1, 0, 1, 0}}},
    {"hdel", "", {{"RW delete", 1, 0, 1, 0}}},
    {"hexists", "", {{"RO", 1, 0, 1, 0}}},
    {"hget", "", {{"RO access", 1, 0, 1, 0}}},
    {"hgetall", "nondeterministic_output_order", {{"RO access", 1, 0, 1, 0}}},
    {"hincrby", "", {{"RW access update", 1, 0, 1, 0}}},
    {"hincrbyfloat", "", {{"RW access update", 1, 0, 1, 0}}},
    {"hkeys", "nondeterministic_output_order", {{"RO access", 1, 0, 1, 0}}},
    {"hlen", "", {{"RO", 1, 0, 1, 0}}},
    {"hmget", "", {{"RO access", 1, 0, 1, 0}}},
    {"hmset", "", {{"RW update", 1, 0, 1, 0}}},
    {"hrandfield", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"hscan", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"hset", "", {{"RW update", 1, 0, 1, 0}}},
    {"hsetnx", "", {{"RW insert", 1, 0, 1, 0}}},
    {"hstrlen", "", {{"RO", 1, 0, 1, 0}}},
    {"hvals", "nondeterministic_output_order", {{"RO access", 1, 0, 1, 0}}},
    {"incr", "", {{"RW access update", 1, 0, 1, 0}}},
    {"incrby", "", {{"RW access update", 1, 0, 1, 0}}},
    {"incrbyfloat", "", {{"RW access update", 1, 0, 1, 0}}},
    {"info", "nondeterministic_output request_policy:all_shards response_policy:special", {}},
    {"keys", "request_policy:all_shards nondeterministic_output_order", {}},
    {"lastsave", "nondeterministic_output", {}},
    {"latency|doctor", "nondeterministic_output request_policy:all_nodes response_policy:special", {}},
    {"latency|graph", "nondeterministic_output request_policy:all_nodes response_policy:special", {}},
    {"latency|histogram", "nondeterministic_output request_policy:all_nodes response_policy:special", {}},
    {"latency|history", "nondeterministic_output request_policy:all_nodes response_policy:special", {}},
    {"latency|latest", "nondeterministic_output request_policy:all_nodes response_policy:special", {}},
    {"latency|reset", "request_policy:all_nodes response_policy:all_succeeded", {}},
    {"lcs", "", {{"RO access", 1, 1, 1, 0}}},
    {"memory|doctor", "nondeterministic_output request_policy:all_shards response_policy:special", {}},
    {"memory|malloc-stats", "nondeterministic_output request_policy:all_shards response_policy:special", {}},
    {"memory|purge", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"memory|stats", "nondeterministic_output request_policy:all_shards response_policy:special", {}},
    {"memory|usage", "", {{"RO", 2, 0, 1, 0}}},
    {"mget", "request_policy:multi_shard", {{"RO access", 1, -1, 1, 0}}},
    {"move", "", {{"RW access update", 1, 0, 1, 0}}},
    {"mset", "request_policy:multi_shard response_policy:all_succeeded", {{"OW update", 1, -1, 2, 0}}},
    {"msetnx", "request_policy:multi_shard response_policy:agg_min", {{"OW insert", 1, -1, 2, 0}}},
    {"object|encoding", "nondeterministic_output", {{"RO", 2, 0, 1, 0}}},
    {"object|freq", "nondeterministic_output", {{"RO", 2, 0, 1, 0}}},
    {"object|idletime", "nondeterministic_output", {{"RO", 2, 0, 1, 0}}},
    {"object|refcount", "nondeterministic_output", {{"RO", 2, 0, 1, 0}}},
    {"persist", "", {{"RW update", 1, 0, 1, 0}}},
    {"pexpire", "", {{"RW update", 1, 0, 1, 0}}},
    {"pexpireat", "", {{"RW update", 1, 0, 1, 0}}},
    {"pexpiretime", "", {{"RO access", 1, 0, 1, 0}}},
    {"ping", "request_policy:all_shards response_policy:all_succeeded", {}},
    {"psetex", "", {{"OW update", 1, 0, 1, 0}}},
    {"pttl", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"randomkey", "request_policy:all_shards nondeterministic_output", {}},
    {"rename", "", {{"RW access delete", 1, 0, 1, 0}, {"OW update", 2, 0, 1, 0}}},
    {"renamenx", "", {{"RW access delete", 1, 0, 1, 0}, {"OW insert", 2, 0, 1, 0}}},
    {"sadd", "", {{"RW insert", 1, 0, 1, 0}}},
    {"scan", "nondeterministic_output request_policy:special", {}},
    {"scard", "", {{"RO", 1, 0, 1, 0}}},
    {"script|exists", "request_policy:all_shards response_policy:agg_logical_and", {}},
    {"script|flush", "request_policy:all_nodes response_policy:all_succeeded", {}},
    {"script|kill", "request_policy:all_shards response_policy:one_succeeded", {}},
    {"script|load", "request_policy:all_nodes response_policy:all_succeeded", {}},
    {"sdiff", "nondeterministic_output_order", {{"RO access", 1, -1, 1, 0}}},
    {"sdiffstore", "", {{"OW update", 1, 0, 1, 0}, {"RO access", 2, -1, 1, 0}}},
    {"set", "", {{"RW access update variable_flags", 1, 0, 1, 0, "RW and ACCESS due to the optional `GET` argument"}}},
    {"setbit", "", {{"RW access update", 1, 0, 1, 0}}},
    {"setex", "", {{"OW update", 1, 0, 1, 0}}},
    {"setnx", "", {{"OW insert", 1, 0, 1, 0}}},
    {"setrange", "", {{"RW update", 1, 0, 1, 0}}},
    {"sinter", "nondeterministic_output_order", {{"RO access", 1, -1, 1, 0}}},
    {"sintercard", "", {{"RO access", 1, 0, 1, 0, nullptr, 0, 1}}},
    {"sinterstore", "", {{"RW update", 1, 0, 1, 0}, {"RO access", 2, -1, 1, 0}}},
    {"sismember", "", {{"RO", 1, 0, 1, 0}}},
    {"slowlog|get", "request_policy:all_nodes nondeterministic_output", {}},
    {"slowlog|len", "request_policy:all_nodes response_policy:agg_sum nondeterministic_output", {}},
    {"slowlog|reset", "request_policy:all_nodes response_policy:all_succeeded", {}},
    {"smembers", "nondeterministic_output_order", {{"RO access", 1, 0, 1, 0}}},
    {"smismember", "", {{"RO access", 1, 0, 1, 0}}},
    {"smove", "", {{"RW access delete", 1, 0, 1, 0}, {"RW insert", 2, 0, 1, 0}}},
    {"spop", "nondeterministic_output", {{"RW access delete", 1, 0, 1, 0}}},
    {"srandmember", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"srem", "", {{"RW delete", 1, 0, 1, 0}}},
    {"sscan", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"strlen", "", {{"RO", 1, 0, 1, 0}}},
    {"substr", "", {{"RO access", 1, 0, 1, 0}}},
    {"sunion", "nondeterministic_output_order", {{"RO access", 1, -1, 1, 0}}},
    {"sunionstore", "", {{"OW update", 1, 0, 1, 0}, {"RO access", 2, -1, 1, 0}}},
    {"time", "nondeterministic_output", {}},
    {"touch", "request_policy:multi_shard response_policy:agg_sum", {{"RO", 1, -1, 1, 0}}},
    {"ttl", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"type", "", {{"RO", 1, 0, 1, 0}}},
    {"unlink", "request_policy:multi_shard response_policy:agg_sum", {{"RM delete", 1, -1, 1, 0}}},
    {"wait", "request_policy:all_shards response_policy:agg_min", {}},
    {"watch", "", {{"RO", 1, -1, 1, 0}}},
    {"zadd", "", {{"RW update", 1, 0, 1, 0}}},
    {"zcard", "", {{"RO", 1, 0, 1, 0}}},
    {"zcount", "", {{"RO access", 1, 0, 1, 0}}},
    {"zdiff", "", {{"RO access", 1, 0, 1, 0, nullptr, 0, 1}}},
    {"zdiffstore", "", {{"OW update", 1, 0, 1, 0}, {"RO access", 2, 0, 1, 0, nullptr, 0, 1}}},
    {"zincrby", "", {{"RW access update", 1, 0, 1, 0}}},
    {"zinter", "", {{"RO access", 1, 0, 1, 0, nullptr, 0, 1}}},
    {"zintercard", "", {{"RO access", 1, 0, 1, 0, nullptr, 0, 1}}},
    {"zinterstore", "", {{"OW update", 1, 0, 1, 0}, {"RO access", 2, 0, 1, 0, nullptr, 0, 1}}},
    {"zlexcount", "", {{"RO access", 1, 0, 1, 0}}},
    {"zmpop", "", {{"RW access delete", 1, 0, 1, 0, nullptr, 0, 1}}},
    {"zmscore", "", {{"RO access", 1, 0, 1, 0}}},
    {"zpopmax", "", {{"RW access delete", 1, 0, 1, 0}}},
    {"zpopmin", "", {{"RW access delete", 1, 0, 1, 0}}},
    {"zrandmember", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"zrange", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrangebylex", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrangebyscore", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrangestore", "", {{"OW update", 1, 0, 1, 0}, {"RO access", 2, 0, 1, 0}}},
    {"zrank", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrem", "", {{"RW delete", 1, 0, 1, 0}}},
    {"zremrangebylex", "", {{"RW delete", 1, 0, 1, 0}}},
    {"zremrangebyrank", "", {{"RW delete", 1, 0, 1, 0}}},
    {"zremrangebyscore", "", {{"RW delete", 1, 0, 1, 0}}},
    {"zrevrange", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrevrangebylex", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrevrangebyscore", "", {{"RO access", 1, 0, 1, 0}}},
    {"zrevrank", "", {{"RO access", 1, 0, 1, 0}}},
    {"zscan", "nondeterministic_output", {{"RO access", 1, 0, 1, 0}}},
    {"zscore", "", {{"RO access", 1, 0, 1, 0}}},
    {"zunion", "", {{"RO access", 1, 0, 1, 0, nullptr, 0, 1}}},
    {"zunionstore", "", {{"OW update", 1, 0, 1, 0}, {"RO access", 2, 0, 1, 0, nullptr, 0, 1}}},
  };
  return kTable;
}
// clang-format on

namespace {

// The flags of a key spec marked variable_flags, for these arguments (as
// Redis's getkeys procedures of those commands decide them).
std::string_view VariableFlags(std::string_view command,
                               std::span<const std::string_view> args) {
  auto is = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return std::tolower(x) == std::tolower(y); });
  };
  if (command == "set") {
    for (size_t i = 3; i < args.size(); ++i) {
      if (is(args[i], "GET")) return "RW access update";
    }
    return "OW update";
  }
  if (command == "bitfield") {
    for (size_t i = 2; i < args.size(); ++i) {
      const size_t rest = args.size() - i - 1;
      if (is(args[i], "GET") && rest >= 2) {
        i += 2;
      } else if (is(args[i], "OVERFLOW") && rest >= 1) {
        i += 1;
      } else {
        return "RW access update";  // SET, INCRBY, or a syntax error
      }
    }
    return "RO access";
  }
  return "";
}

}  // namespace

const CommandMeta* FindCommandMeta(std::string_view name) {
  static const auto* by_name = [] {
    auto* m = new std::unordered_map<std::string_view, const CommandMeta*>();
    for (const CommandMeta& c : AllCommandMeta()) (*m)[c.name] = &c;
    return m;
  }();
  auto it = by_name->find(name);
  return it == by_name->end() ? nullptr : it->second;
}

bool HasMovableKeys(const CommandMeta& meta) {
  return std::any_of(meta.key_specs.begin(), meta.key_specs.end(),
                     [](const KeySpec& k) { return k.keynum(); });
}

bool KeysBySpec(const CommandMeta& meta, std::span<const std::string_view> args,
                std::vector<KeyRef>* out) {
  const int argc = static_cast<int>(args.size());
  for (const KeySpec& spec : meta.key_specs) {
    if (spec.keynum()) {
      const int at = spec.index + spec.keynumidx;
      if (at >= argc) return false;
      int64_t n = 0;
      std::string_view text = args[static_cast<size_t>(at)];
      if (text.empty() || text.size() > 18) return false;
      for (char c : text) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
      }
      const int64_t first = spec.index + spec.firstkey;
      const int64_t step = std::max(1, spec.keystep);
      if (first + (n - 1) * step >= argc) return false;
      for (int64_t i = 0; i < n; ++i) {
        out->push_back({args[static_cast<size_t>(first + i * step)], spec.flags});
      }
      continue;
    }
    if (spec.index >= argc) continue;  // an optional key not given
    int last = spec.lastkey >= 0 ? spec.index + spec.lastkey : argc + spec.lastkey;
    if (spec.limit > 1 && spec.lastkey < 0) {
      last = spec.index + (last - spec.index + 1) / spec.limit - 1;
    }
    if (last >= argc) return false;
    std::string_view flags = spec.flags;
    if (flags.find("variable_flags") != std::string_view::npos) {
      std::string_view decided = VariableFlags(meta.name, args);
      if (!decided.empty()) flags = decided;
    }
    for (int i = spec.index; i <= last; i += std::max(1, spec.keystep)) {
      out->push_back({args[static_cast<size_t>(i)], flags});
    }
  }
  return true;
}

}  // namespace edgekv
