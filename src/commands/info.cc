#include "info.h"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "command.h"
#include "command_table.h"
#include "db/engine.h"
#include "scripting/lua_vm.h"
#include "storage/lazy_free.h"
#include "util/latency_histogram.h"
#include "util/latency_percentiles.h"
#include "util/system_memory.h"
#include "version.h"

namespace edgekv {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, rss = 0;
  in >> size >> rss;
  return rss * sysconf(_SC_PAGESIZE);
}

// What malloc has handed out, and what it holds from the system (arenas
// and mmapped chunks). One mallinfo2: it walks every arena under its lock.
void MallocBytes(int64_t* allocated, int64_t* heap) {
  struct mallinfo2 mi = mallinfo2();
  *allocated = static_cast<int64_t>(mi.uordblks + mi.hblkhd);
  *heap = static_cast<int64_t>(mi.arena + mi.hblkhd);
}

// The binary's absolute path (INFO server's executable).
std::string Executable() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

std::atomic<int64_t> g_peak_memory{0};
std::atomic<int64_t> g_startup_memory{0};

}  // namespace

MemoryFigures ReadMemoryFigures() {
  MemoryFigures m;
  MallocBytes(&m.used, &m.heap);
  // The peak is what INFO and MEMORY DOCTOR have seen (as Redis's, sampled).
  m.peak = std::max(g_peak_memory.load(), m.used);
  g_peak_memory.store(m.peak);
  m.rss = RssBytes();
  m.startup = g_startup_memory.load();
  return m;
}

void RecordStartupMemory() {
  int64_t allocated, heap;
  MallocBytes(&allocated, &heap);
  g_startup_memory.store(allocated);
}

std::string BytesToHuman(int64_t n) {
  char buf[64];
  double d = static_cast<double>(n);
  if (n < 1024) {
    std::snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(n));
  } else if (n < 1024LL * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fK", d / 1024);
  } else if (n < 1024LL * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fM", d / (1024 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fG", d / (1024.0 * 1024 * 1024));
  }
  return buf;
}

std::string BuildInfo(ServerContext& server, const std::vector<std::string>& args) {
  static const char* kDefault[] = {"server", "clients",     "memory", "persistence",
                                   "stats",  "replication", "cpu",    "keyspace"};
  std::vector<std::string> want;
  bool all = false;
  for (auto& a : args) {
    std::string s = Lower(a);
    if (s == "all" || s == "everything") {
      all = true;
    } else if (s == "default") {
      for (auto* d : kDefault) want.emplace_back(d);
    } else {
      want.push_back(s);
    }
  }
  if (args.empty() || all) {
    for (auto* d : kDefault) want.emplace_back(d);
  }
  if (all) {
    want.emplace_back("commandstats");
    want.emplace_back("errorstats");
    want.emplace_back("latencystats");
  }
  auto wants = [&](const char* s) {
    return std::find(want.begin(), want.end(), s) != want.end();
  };
  std::string out;
  auto section = [&](const char* title) {
    if (!out.empty()) out += "\r\n";
    out += "# ";
    out += title;
    out += "\r\n";
  };
  auto field = [&](const std::string& k, const std::string& v) {
    out += k;
    out += ':';
    out += v;
    out += "\r\n";
  };
  auto num = [&](const std::string& k, int64_t v) { field(k, std::to_string(v)); };
  Config& cfg = server.config();
  int64_t now_ms = WallMs();

  if (wants("server")) {
    section("Server");
    struct utsname u;
    uname(&u);
    field("redis_version", kRedisCompatVersion);
    field("redis_git_sha1", "00000000");
    field("redis_git_dirty", "0");
    field("edgekv_version", kEdgekvVersion);
    field("redis_mode", "standalone");
    field("os", std::string(u.sysname) + " " + u.release + " " + u.machine);
    field("arch_bits", "64");
    field("monotonic_clock", "POSIX clock_gettime");
    field("multiplexing_api", "epoll");
    field("atomicvar_api", "c11-builtin");
    field("gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) +
                             "." + std::to_string(__GNUC_PATCHLEVEL__));
    num("process_id", getpid());
    field("process_supervised", "no");
    field("run_id", server.run_id());
    num("tcp_port", server.tcp_port());
    num("server_time_usec", WallUs());
    num("uptime_in_seconds", (now_ms - server.start_ms()) / 1000);
    num("uptime_in_days", (now_ms - server.start_ms()) / 86400000);
    num("hz", cfg.Int(Cfg::kHz));
    num("configured_hz", cfg.Int(Cfg::kHz));
    // Redis's LRU clock: seconds, 24 bits (edgekv's own is 16 bits).
    num("lru_clock", (now_ms / 1000) & ((1 << 24) - 1));
    field("executable", Executable());
    int in_use = server.io_threads_in_use.load(std::memory_order_relaxed);
    num("io_threads_active", in_use > 1 ? 1 : 0);
    num("io_threads", server.io_threads());
    num("io_threads_in_use", in_use);
    field("config_file", cfg.config_file());
  }
  if (wants("clients")) {
    section("Clients");
    num("connected_clients", static_cast<int64_t>(server.clients().size()));
    int64_t max_in = 0, max_out = 0, blocked = 0;
    server.clients().ForEach([&](ClientState& c) {
      max_in = std::max(max_in, static_cast<int64_t>(c.query_buffer_bytes.load()));
      max_out = std::max(max_out, static_cast<int64_t>(c.output_buffer_bytes.load()));
      if (c.blocked_now.load(std::memory_order_relaxed) ||
          c.postponed_now.load(std::memory_order_relaxed)) {
        ++blocked;
      }
    });
    num("maxclients", cfg.Int(Cfg::kMaxclients));
    // Redis's are the peaks of the last few seconds; edgekv's the largest now.
    num("client_recent_max_input_buffer", max_in);
    num("client_recent_max_output_buffer", max_out);
    num("blocked_clients", blocked);
    num("tracking_clients", 0);
  }
  if (wants("memory")) {
    section("Memory");
    const MemoryFigures m = ReadMemoryFigures();
    const int64_t used = m.used, peak = m.peak, rss = m.rss;
    int64_t maxmem = cfg.Int(Cfg::kMaxmemory);
    num("used_memory", used);
    field("used_memory_human", BytesToHuman(used));
    num("used_memory_rss", rss);
    field("used_memory_rss_human", BytesToHuman(rss));
    num("used_memory_peak", peak);
    field("used_memory_peak_human", BytesToHuman(peak));
    char peak_perc[32];
    std::snprintf(
        peak_perc, sizeof(peak_perc), "%.2f%%",
        peak > 0 ? 100.0 * static_cast<double>(used) / static_cast<double>(peak) : 0.0);
    field("used_memory_peak_perc", peak_perc);
    num("used_memory_startup", m.startup);
    num("used_memory_dataset", server.store().used_bytes());
    const int64_t lua = LuaVm::AllStatesBytes();
    num("used_memory_lua", lua);
    num("used_memory_vm_eval", lua);
    field("used_memory_lua_human", BytesToHuman(lua));
    num("used_memory_scripts_eval", static_cast<int64_t>(server.scripts().body_bytes()));
    num("number_of_cached_scripts", static_cast<int64_t>(server.scripts().size()));
    const int64_t system_memory = PhysicalMemoryBytes();
    num("total_system_memory", system_memory);
    field("total_system_memory_human", BytesToHuman(system_memory));
    num("maxmemory", maxmem);
    field("maxmemory_human", BytesToHuman(maxmem));
    field("maxmemory_policy", server.store().has_disk() ? "spill-to-disk" : "noeviction");
    char ratio[32];
    std::snprintf(ratio, sizeof(ratio), "%.2f",
                  used > 0 ? static_cast<double>(rss) / static_cast<double>(used) : 0.0);
    field("mem_fragmentation_ratio", ratio);
    num("mem_fragmentation_bytes", rss - used);
    field("mem_allocator", "libc");
    num("lazyfree_pending_objects", static_cast<int64_t>(lazy_free::Pending()));
  }
  if (wants("persistence")) {
    section("Persistence");
    num("loading", server.loading.load() ? 1 : 0);
    num("async_loading", 0);
    num("rdb_changes_since_last_save", 0);
    Engine* engine = server.engine();
    num("rdb_bgsave_in_progress",
        engine != nullptr && engine->background_checkpoint_running() ? 1 : 0);
    if (engine != nullptr) {
      out += engine->InfoPersistence();
    } else {
      num("aof_enabled", 1);
      num("aof_rewrite_in_progress", 0);
    }
  }
  if (wants("stats")) {
    section("Stats");
    Stats& st = server.stats();
    auto ld = [](const auto& a) {
      return static_cast<int64_t>(a.load(std::memory_order_relaxed));
    };
    num("total_connections_received", ld(st.connections_received));
    num("io_thread_migrations", ld(st.io_thread_migrations));
    num("total_commands_processed", ld(st.commands_processed));
    num("instantaneous_ops_per_sec", server.ops_rate().PerSecond());
    num("total_net_input_bytes", ld(st.net_input_bytes));
    num("total_net_output_bytes", ld(st.net_output_bytes));
    auto kbps = [&](const char* name, const RateSampler& rate) {
      char v[32];
      std::snprintf(v, sizeof(v), "%.2f", static_cast<double>(rate.PerSecond()) / 1024);
      field(name, v);
    };
    kbps("instantaneous_input_kbps", server.input_rate());
    kbps("instantaneous_output_kbps", server.output_rate());
    num("rejected_connections", ld(st.rejected_connections));
    num("expired_keys", static_cast<int64_t>(server.store().expired_keys()));
    // edgekv never loses keys to maxmemory: entries leave memory only once
    // they are safe on disk, so evicted_keys stays 0.
    num("evicted_keys", 0);
    num("lazyfreed_objects", static_cast<int64_t>(lazy_free::Freed()));
    TierStats tiers = server.store().tier_stats();
    num("hot_reads", static_cast<int64_t>(tiers.hot_reads));
    num("cold_reads", static_cast<int64_t>(tiers.cold_reads));
    num("cold_misses", static_cast<int64_t>(tiers.disk_misses));
    num("cold_element_reads", static_cast<int64_t>(tiers.cold_element_reads));
    num("keys_moved_to_disk", static_cast<int64_t>(tiers.evicted));
    num("keyspace_hits", ld(st.keyspace_hits));
    num("keyspace_misses", ld(st.keyspace_misses));
    num("scripts_keyed", ld(st.scripts_keyed));
    num("scripts_alone", ld(st.scripts_alone));
    num("scripts_rerun_alone", ld(st.scripts_rerun_alone));
    num("total_error_replies", static_cast<int64_t>(server.error_stats().total()));
    uint64_t full = 0, ok = 0, err = 0;
    server.replication().SyncCounts(&full, &ok, &err);
    num("sync_full", static_cast<int64_t>(full));
    num("sync_partial_ok", static_cast<int64_t>(ok));
    num("sync_partial_err", static_cast<int64_t>(err));
    num("client_query_buffer_limit_disconnections",
        ld(st.client_query_buffer_limit_disconnections));
    num("client_output_buffer_limit_disconnections",
        ld(st.client_output_limit_disconnections));
  }
  if (wants("replication")) {
    section("Replication");
    Replication& repl = server.replication();
    Engine* engine = server.engine();
    uint64_t last = engine != nullptr ? engine->wal().last_seq() : 0;
    auto replicas = repl.replicas();
    if (repl.is_replica()) {
      UpstreamInfo up = repl.upstream();
      field("role", "slave");
      field("master_host", up.host);
      num("master_port", up.port);
      field("master_link_status", up.state == LinkState::kConnected ? "up" : "down");
      num("master_last_io_seconds_ago",
          up.last_io_ms > 0 ? (WallMs() - up.last_io_ms) / 1000 : -1);
      num("master_sync_in_progress", up.sync_in_progress ? 1 : 0);
      if (up.state == LinkState::kRefused) field("master_link_refused", up.refused);
      num("slave_read_repl_offset", static_cast<int64_t>(last));
      num("slave_repl_offset", static_cast<int64_t>(last));
      if (up.sync_in_progress) {
        // A snapshot's size is not known before its end: total and left are
        // -1, as Redis reports a diskless transfer's.
        num("master_sync_total_bytes", -1);
        num("master_sync_read_bytes", up.sync_read_bytes);
        num("master_sync_left_bytes", -1);
        field("master_sync_perc", "0.00");
        num("master_sync_last_io_seconds_ago",
            up.sync_last_io_ms > 0 ? (WallMs() - up.sync_last_io_ms) / 1000 : -1);
      }
      num("slave_priority", 100);
      num("slave_read_only", 1);
      num("replica_announced", 1);
    } else {
      field("role", "master");
    }
    num("connected_slaves", static_cast<int64_t>(replicas.size()));
    num("replicas_refused_for_log_format",
        static_cast<int64_t>(repl.refused_replicas.load(std::memory_order_relaxed)));
    int i = 0;
    int64_t now = WallMs();
    for (auto& r : replicas) {
      // Redis's fields, then edgekv's lag in records and in milliseconds, and
      // how many of those records the coordinator has not sent yet.
      int64_t lag_s = r.ack_ms > 0 ? (now - r.ack_ms) / 1000 : -1;
      int64_t lag_records = last > r.ack_seq ? static_cast<int64_t>(last - r.ack_seq) : 0;
      int64_t unsent = last > r.sent_seq ? static_cast<int64_t>(last - r.sent_seq) : 0;
      field("slave" + std::to_string(i++),
            "ip=" + r.ip + ",port=" + std::to_string(r.port) + ",state=" + r.state +
                ",offset=" + std::to_string(r.ack_seq) + ",lag=" + std::to_string(lag_s) +
                ",lag_records=" + std::to_string(lag_records) + ",lag_ms=" +
                std::to_string(
                    lag_records > 0 && r.ack_record_ms > 0 ? now - r.ack_record_ms : 0) +
                ",unsent_records=" + std::to_string(unsent));
    }
    if (!repl.is_replica()) {
      num("min_slaves_good_slaves",
          repl.CountGood(now, server.config().Int(Cfg::kMinReplicasMaxLag)));
    }
    field("master_replid", repl.replid());
    field("master_replid2",
          repl.replid2().empty() ? std::string(40, '0') : repl.replid2());
    num("master_repl_offset", static_cast<int64_t>(last));
    num("second_repl_offset",
        repl.replid2().empty() ? -1 : static_cast<int64_t>(repl.second_offset()));
    num("repl_backlog_active", 1);
    num("repl_backlog_size", server.config().Int(Cfg::kReplBacklogSize));
    if (engine != nullptr) {
      num("repl_backlog_histlen", static_cast<int64_t>(engine->wal().stats().bytes));
    }
  }
  if (wants("cpu")) {
    section("CPU");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(ru.ru_stime.tv_sec),
                  static_cast<long>(ru.ru_stime.tv_usec));
    field("used_cpu_sys", buf);
    std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(ru.ru_utime.tv_sec),
                  static_cast<long>(ru.ru_utime.tv_usec));
    field("used_cpu_user", buf);
    // edgekv never forks.
    field("used_cpu_sys_children", "0.000000");
    field("used_cpu_user_children", "0.000000");
  }
  if (wants("commandstats")) {
    section("Commandstats");
    std::vector<CommandStats::Totals> totals = server.command_stats().Sum();
    auto line = [&](const CommandSpec& s) {
      const CommandStats::Totals& t = totals[s.id];
      if (t.calls == 0 && t.failed == 0 && t.rejected == 0) return;
      char per_call[32];
      std::snprintf(per_call, sizeof(per_call), "%.2f",
                    t.calls == 0
                        ? 0.0
                        : static_cast<double>(t.usec) / static_cast<double>(t.calls));
      field("cmdstat_" + s.name,
            "calls=" + std::to_string(t.calls) + ",usec=" + std::to_string(t.usec) +
                ",usec_per_call=" + per_call + ",rejected_calls=" +
                std::to_string(t.rejected) + ",failed_calls=" + std::to_string(t.failed));
    };
    for (const auto& spec : server.commands().all()) {
      line(*spec);
      for (const CommandSpec& sub : spec->subcommands) line(sub);
    }
  }
  if (wants("errorstats")) {
    section("Errorstats");
    for (const auto& [code, count] : server.error_stats().ByCode()) {
      field("errorstat_" + code, "count=" + std::to_string(count));
    }
  }
  if (wants("latencystats")) {
    section("Latencystats");
    // As Redis: nothing while latency-tracking is off; each command's
    // percentiles per latency-tracking-info-percentiles.
    std::vector<double> percentiles;
    latency::ParsePercentiles(
        server.config().String(Cfg::kLatencyTrackingInfoPercentiles), &percentiles);
    const auto histograms = server.config().Bool(Cfg::kLatencyTracking)
                                ? server.command_stats().Histograms()
                                : std::map<size_t, std::vector<uint64_t>>{};
    auto line = [&](const CommandSpec& s) {
      auto it = histograms.find(s.id);
      if (it == histograms.end()) return;
      std::string v;
      for (double p : percentiles) {
        char value[48];
        std::snprintf(
            value, sizeof(value), "%.3f",
            static_cast<double>(latency::ValueAtPercentile(it->second, p)) / 1000.0);
        if (!v.empty()) v += ',';
        v += "p" + latency::FormatPercentile(p) + "=" + value;
      }
      field("latency_percentiles_usec_" + s.name, v);
    };
    for (const auto& spec : server.commands().all()) {
      line(*spec);
      for (const CommandSpec& sub : spec->subcommands) line(sub);
    }
  }
  if (wants("keyspace")) {
    section("Keyspace");
    for (int db = 0; db < server.store().databases(); ++db) {
      KeyspaceCounts c = server.store().Counts(db);
      if (c.keys == 0) continue;
      field("db" + std::to_string(db), "keys=" + std::to_string(c.keys) + ",expires=" +
                                           std::to_string(c.expires) + ",avg_ttl=0");
    }
  }
  return out;
}

std::string DescribeClient(ServerContext& server, ClientState& c, int64_t now_ms,
                           const ClientState* self, size_t self_argv_bytes) {
  const bool mine = &c == self;
  (void)server;
  std::string name, lib_name, lib_ver;
  {
    MutexLock l(&c.mu);
    name = c.name;
    lib_name = c.lib_name;
    lib_ver = c.lib_ver;
  }
  const CommandSpec* cmd = c.last_command.load(std::memory_order_relaxed);
  std::string cmd_name = cmd ? cmd->name : "NULL";
  int64_t age = (now_ms - c.created_ms) / 1000;
  int64_t idle = (now_ms - c.last_interaction_ms.load()) / 1000;
  // Redis's flags, in its order: O monitor or S replica, x in MULTI (known only to the
  // client's own thread), b blocked (or held by CLIENT PAUSE), e no-evict;
  // N none.
  std::string flags;
  if (c.is_monitor.load(std::memory_order_relaxed)) {
    flags += 'O';
  } else if (c.is_replica.load(std::memory_order_relaxed)) {
    flags += 'S';
  }
  if (mine && c.in_multi) flags += 'x';
  if (c.blocked_now.load(std::memory_order_relaxed) ||
      c.postponed_now.load(std::memory_order_relaxed)) {
    flags += 'b';
  }
  if (c.no_evict.load(std::memory_order_relaxed)) flags += 'e';
  if (flags.empty()) flags = "N";
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const size_t argv_mem = mine ? self_argv_bytes : 0;
  const size_t multi_mem = c.multi_mem_bytes.load(kRelaxed);
  const size_t omem = c.output_buffer_bytes.load(kRelaxed);
  return fmt::format(
      "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 "
      "ssub=0 multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} "
      "obl=0 oll=0 omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={} "
      "lib-name={} lib-ver={}",
      c.id, c.addr, c.laddr, c.fd, name, age, idle, flags, c.db.load(),
      mine && c.in_multi ? static_cast<int>(c.queued.size()) : -1,
      c.query_buffer_bytes.load(kRelaxed), c.query_buffer_free.load(kRelaxed), argv_mem,
      multi_mem, c.read_buffer_size.load(kRelaxed), c.read_buffer_peak.load(kRelaxed),
      omem, c.memory_bytes.load(kRelaxed) + argv_mem + multi_mem, omem > 0 ? "rw" : "r",
      cmd_name, c.resp.load(), lib_name, lib_ver);
}

}  // namespace edgekv
