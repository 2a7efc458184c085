// OBJECT and MEMORY: how a key is kept, and how the server uses memory, in
// Redis's replies (GUIs, redis-cli --memkeys and exporters call them).
//
// edgekv keeps every value the same way (one allocation with its key, see
// Entry), so OBJECT ENCODING names the encoding Redis gives the same value
// when a SET stores it: "int" for a canonical 64-bit decimal, "embstr" up to
// 44 bytes, "raw" above. Redis also says "raw" for a short value that APPEND,
// SETRANGE, SETBIT or BITFIELD built, and "embstr" for an integer that
// INCRBYFLOAT wrote; edgekv does not keep how a value was made.
#include <malloc.h>

#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "db/engine.h"
#include "dispatcher.h"
#include "info.h"
#include "keyspace.h"

namespace edgekv {
namespace {

// Redis shares the integers 0..9999 between keys (OBJ_SHARED_INTEGERS) and
// reports their reference count as INT_MAX.
constexpr int64_t kSharedIntegers = 10000;
constexpr int64_t kSharedRefcount = 2147483647;
constexpr size_t kEmbstrMaxBytes = 44;  // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
constexpr size_t kIntMaxChars = 20;     // "-9223372036854775808"

// The value as an integer Redis would keep as one (its string2l), if it is.
bool AsIntEncoded(const Store::KeyInfo& info, int64_t* out) {
  static_assert(Store::kInfoHeadBytes > kIntMaxChars);
  return info.value_len <= kIntMaxChars && ParseInt64(info.value_head, out);
}

// The key as OBJECT and MEMORY USAGE see it (Store::Inspect: not an
// access). OBJECT counts a keyspace hit or miss (Redis's
// lookupKeyReadWithFlags does); MEMORY USAGE does not. Replies null for a
// key that does not exist.
std::optional<Store::KeyInfo> Inspect(CommandContext& ctx, std::string_view key,
                                      bool count) {
  Store::KeyInfo info;
  bool found = StoreOf(ctx).Inspect(DbOf(ctx), key, ctx.now_ms, &info);
  if (count) CountLookup(ctx, found);
  if (!found) {
    ctx.reply->Null();
    return std::nullopt;
  }
  return info;
}

std::string_view StringEncoding(const Store::KeyInfo& info) {
  if (!info.encoding.empty()) return info.encoding;  // a collection's
  int64_t n;
  if (AsIntEncoded(info, &n)) return "int";
  return info.value_len <= kEmbstrMaxBytes ? "embstr" : "raw";
}

void ObjectEncoding(CommandContext& ctx) {
  if (auto info = Inspect(ctx, ctx.arg(2), true)) ctx.reply->Bulk(StringEncoding(*info));
}

void ObjectRefcount(CommandContext& ctx) {
  auto info = Inspect(ctx, ctx.arg(2), true);
  if (!info) return;
  int64_t n;
  bool shared = info->type == ValueType::kString && AsIntEncoded(*info, &n) && n >= 0 &&
                n < kSharedIntegers;
  ctx.reply->Integer(shared ? kSharedRefcount : 1);
}

void ObjectIdletime(CommandContext& ctx) {
  if (auto info = Inspect(ctx, ctx.arg(2), true)) ctx.reply->Integer(info->idle_s);
}

void ObjectFreq(CommandContext& ctx) {
  if (!Inspect(ctx, ctx.arg(2), true)) return;
  // Entries leave memory least recently used first; access frequency is not
  // kept (Redis keeps it only under an LFU maxmemory-policy).
  ctx.reply->Error(
      "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
      "Please note that when switching between policies at runtime LRU and LFU data "
      "will take some time to adjust.");
}

void ObjectHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
  };
  ReplyHelp(ctx.reply, "OBJECT", kLines);
}

// MEMORY USAGE key [SAMPLES count]: a string has nothing to sample, but the
// option is checked as Redis checks it.
void MemoryUsage(CommandContext& ctx) {
  for (size_t i = 3; i < ctx.argc(); i += 2) {
    int64_t samples;
    if (!EqualsIgnoreCase(ctx.arg(i), "SAMPLES") || i + 1 >= ctx.argc()) {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
    if (!ParseInt64(ctx.arg(i + 1), &samples)) {
      ctx.reply->Error(errors::kNotInteger);
      return;
    }
    if (samples < 0) {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  if (auto info = Inspect(ctx, ctx.arg(2), false)) ctx.reply->Integer(info->memory_bytes);
}

// Redis's MEMORY DOCTOR, with the checks that apply to edgekv: too little
// memory in use to judge, a peak far above what is used now, a resident set
// far above what is allocated, and clients' output buffers.
void MemoryDoctor(CommandContext& ctx) {
  MemoryFigures m = ReadMemoryFigures();
  size_t clients = 0;
  int64_t client_buffers = 0;
  ctx.server->clients().ForEach([&](ClientState& c) {
    ++clients;
    client_buffers += static_cast<int64_t>(c.output_buffer_bytes.load());
  });
  if (m.used < (5 << 20)) {
    ctx.reply->Verbatim(
        "Hi Sam, this instance is empty or is using very little memory, my issues "
        "detector can't be used in these conditions. Please, leave for your mission on "
        "Earth and fill it with some data. The new Sam and I will be back to our "
        "programming as soon as I finished rebooting.\n");
    return;
  }
  const bool big_peak = static_cast<double>(m.peak) / static_cast<double>(m.used) > 1.5;
  const bool high_frag = static_cast<double>(m.rss) / static_cast<double>(m.used) > 1.4 &&
                         m.rss - m.used > (10 << 20);
  const bool big_client_buf =
      clients > 0 && client_buffers / static_cast<int64_t>(clients) > 200 * 1024;
  if (!big_peak && !high_frag && !big_client_buf) {
    ctx.reply->Verbatim(
        "Hi Sam, I can't find any memory issue in your instance. I can only account for "
        "what occurs on this base.\n");
    return;
  }
  std::string s =
      "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
  if (big_peak) {
    s += " * Peak memory: In the past this instance used more than 150% the memory that "
         "is currently using. The allocator is normally not able to release memory "
         "after a peak, so you can expect to see a big fragmentation ratio, however "
         "this is actually harmless and is only due to the memory peak, and if the "
         "Redis instance Resident Set Size (RSS) is currently bigger than expected, "
         "the memory will be used as soon as you fill the Redis instance with more "
         "data. If the memory peak was only occasional and you want to try to reclaim "
         "memory, please try the MEMORY PURGE command, otherwise the only other option "
         "is to shutdown and restart the instance.\n\n";
  }
  if (high_frag) {
    s += " * High total RSS: This instance has a memory fragmentation and RSS overhead "
         "greater than 1.4 (this means that the Resident Set Size of the Redis process "
         "is much larger than the sum of the logical allocations Redis performed). "
         "This problem is usually due either to a large peak memory (check if there is "
         "a peak memory entry above in the report) or may result from a workload that "
         "causes the allocator to fragment memory a lot. If the problem is a large "
         "peak memory, then there is no issue. Otherwise, make sure you are using the "
         "Jemalloc allocator and not the default libc malloc. Note: The currently used "
         "allocator is \"libc\".\n\n";
  }
  if (big_client_buf) {
    s += " * Big client buffers: The clients output buffers in this instance are "
         "greater than 200K per client (on average). This may result from different "
         "causes, like Pub/Sub clients subscribed to channels bot not receiving data "
         "fast enough, so that data piles on the Redis instance output buffer, or "
         "clients sending commands with large replies or very large sequences of "
         "commands in the same pipeline. Please use the CLIENT LIST command in order "
         "to investigate the issue if it causes problems in your instance, or to "
         "understand better why certain clients are using a big amount of memory.\n\n";
  }
  s += "I'm here to keep you safe, Sam. I want to help you.\n";
  ctx.reply->Verbatim(s);
}

// Redis's MEMORY STATS fields. What edgekv does not have is 0: no
// replication backlog in memory (replicas read the log on disk), no cluster
// links, no Lua or functions. A db's overhead is its bucket arrays and entry
// headers (it has no separate table of expiries). glibc's figures stand in
// for jemalloc's: allocator.allocated is what malloc has handed out,
// allocator.active what it holds from the system, allocator.resident the
// process's resident set.
void MemoryStats(CommandContext& ctx) {
  ServerContext& server = *ctx.server;
  const MemoryFigures m = ReadMemoryFigures();
  int64_t replicas = 0, normal = 0;
  server.clients().ForEach([&](ClientState& c) {
    int64_t bytes =
        static_cast<int64_t>(c.query_buffer_bytes.load() + c.output_buffer_bytes.load());
    (c.is_replica.load(std::memory_order_relaxed) ? replicas : normal) += bytes;
  });
  const int64_t log_buffer =
      server.engine() != nullptr
          ? static_cast<int64_t>(server.engine()->wal().pending_bytes())
          : 0;
  Store& store = server.store();
  struct DbOverhead {
    int db;
    int64_t bytes;
  };
  std::vector<DbOverhead> dbs;
  int64_t keys = 0, overhead = m.startup + replicas + normal + log_buffer;
  for (int db = 0; db < store.databases(); ++db) {
    uint64_t n = store.DbSize(db);
    if (n == 0) continue;
    keys += static_cast<int64_t>(n);
    dbs.push_back({db, store.OverheadBytes(db, ctx.all_locked)});
    overhead += dbs.back().bytes;
  }
  const int64_t net = m.used > m.startup ? m.used - m.startup : 1;
  const int64_t dataset = m.used - overhead;
  auto ratio = [](int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  ReplyBuilder& r = *ctx.reply;
  auto num = [&r](std::string_view name, int64_t v) {
    r.Bulk(name);
    r.Integer(v);
  };
  auto dbl = [&r](std::string_view name, double v) {
    r.Bulk(name);
    r.Double(v);
  };
  r.MapHeader(27 + dbs.size());
  num("peak.allocated", m.peak);
  num("total.allocated", m.used);
  num("startup.allocated", m.startup);
  num("replication.backlog", 0);
  num("clients.slaves", replicas);
  num("clients.normal", normal);
  num("cluster.links", 0);
  num("aof.buffer", log_buffer);
  num("lua.caches", 0);
  num("functions.caches", 0);
  for (const DbOverhead& d : dbs) {
    r.Bulk("db." + std::to_string(d.db));
    r.MapHeader(3);
    num("overhead.hashtable.main", d.bytes);
    num("overhead.hashtable.expires", 0);
    num("overhead.hashtable.slot-to-keys", 0);
  }
  num("overhead.total", overhead);
  num("keys.count", keys);
  num("keys.bytes-per-key", keys > 0 ? net / keys : 0);
  num("dataset.bytes", dataset);
  dbl("dataset.percentage", ratio(dataset * 100, net));
  dbl("peak.percentage", ratio(m.used * 100, m.peak));
  num("allocator.allocated", m.used);
  num("allocator.active", m.heap);
  num("allocator.resident", m.rss);
  dbl("allocator-fragmentation.ratio", ratio(m.heap, m.used));
  num("allocator-fragmentation.bytes", m.heap - m.used);
  dbl("allocator-rss.ratio", ratio(m.rss, m.heap));
  num("allocator-rss.bytes", m.rss - m.heap);
  dbl("rss-overhead.ratio", 1.0);
  num("rss-overhead.bytes", 0);
  dbl("fragmentation", ratio(m.rss, m.used));
  num("fragmentation.bytes", m.rss - m.used);
}

// glibc's allocator: what Redis answers when it is not built with jemalloc.
void MemoryMallocStats(CommandContext& ctx) {
  ctx.reply->Bulk("Stats not supported for the current allocator");
}

// Gives the allocator's free memory back to the system (Redis purges
// jemalloc's dirty pages).
void MemoryPurge(CommandContext& ctx) {
  ::malloc_trim(0);
  ctx.reply->Ok();
}

void MemoryHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "DOCTOR",
      "    Return memory problems reports.",
      "MALLOC-STATS",
      "    Return internal statistics report from the memory allocator.",
      "PURGE",
      "    Attempt to purge dirty pages for reclamation by the allocator.",
      "STATS",
      "    Return information about the memory usage of the server.",
      "USAGE <key> [SAMPLES <count>]",
      "    Return memory in bytes used by <key> and its value. Nested values are",
      "    sampled up to <count> times (default: 5, 0 means sample all).",
  };
  ReplyHelp(ctx.reply, "MEMORY", kLines);
}

}  // namespace

void RegisterIntrospectionFamily(CommandTable* t) {
  const uint32_t any = kLoading | kStale;
  // clang-format off
  t->Add({"object", -2, 0, 0, 0, 0, nullptr, "generic", "Inspect a key's value", nullptr, {
      {"encoding", 3, kReadOnly, 2, 2, 1, ObjectEncoding, "generic", "Internal encoding of the value"},
      {"freq", 3, kReadOnly, 2, 2, 1, ObjectFreq, "generic", "Access frequency (LFU only)"},
      {"idletime", 3, kReadOnly, 2, 2, 1, ObjectIdletime, "generic", "Seconds since last access"},
      {"refcount", 3, kReadOnly, 2, 2, 1, ObjectRefcount, "generic", "References to the value"},
      {"help", 2, any, 0, 0, 0, ObjectHelp, "generic", "Show help"},
  }});
  t->Add({"memory", -2, 0, 0, 0, 0, nullptr, "server", "Memory introspection", nullptr, {
      {"usage", -3, kReadOnly, 2, 2, 1, MemoryUsage, "server", "Bytes a key takes"},
      {"doctor", 2, 0, 0, 0, 0, MemoryDoctor, "server", "Memory problems report"},
      {"malloc-stats", 2, 0, 0, 0, 0, MemoryMallocStats, "server", "Allocator statistics"},
      {"purge", 2, 0, 0, 0, 0, MemoryPurge, "server", "Return free memory to the system"},
      {"stats", 2, 0, 0, 0, 0, MemoryStats, "server", "Memory use by purpose"},
      {"help", 2, any, 0, 0, 0, MemoryHelp, "server", "Show help"},
  }});
  // clang-format on
}

}  // namespace edgekv
