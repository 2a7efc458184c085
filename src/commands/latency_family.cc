// LATENCY: the latency monitor's events (LATEST, HISTORY, RESET, GRAPH,
// DOCTOR; see util/latency_monitor.h) and the commands' latency histograms
// (HISTOGRAM; see util/latency_histogram.h), with Redis 7's replies.
//
// Events edgekv records: "command" and "fast-command" (a command's own run,
// as SLOWLOG times it), "aof-write", "aof-write-alone",
// "aof-write-pending-fsync" and "aof-fsync-always" (the write-ahead log),
// "expire-cycle" and "eviction-cycle" (entries moved out of memory above
// maxmemory: to disk, not lost).
#include <ctime>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "server_context.h"
#include "util/latency_histogram.h"
#include "util/latency_monitor.h"

namespace edgekv {
namespace {

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

void LatencyLatest(CommandContext& ctx) {
  std::vector<LatencyMonitor::Event> events = ctx.server->latency().Events();
  std::erase_if(events, [](const auto& e) { return e.samples.empty(); });
  ctx.reply->ArrayHeader(events.size());
  for (const auto& e : events) {
    const LatencyMonitor::Sample& last = e.samples.back();
    ctx.reply->ArrayHeader(4);
    ctx.reply->Bulk(e.name);
    ctx.reply->Integer(last.time_s);
    ctx.reply->Integer(last.ms);
    ctx.reply->Integer(e.max_ms);
  }
}

void LatencyHistory(CommandContext& ctx) {
  auto event = ctx.server->latency().Find(ctx.arg(2));
  if (!event) {
    ctx.reply->ArrayHeader(0);
    return;
  }
  ctx.reply->ArrayHeader(event->samples.size());
  for (const auto& s : event->samples) {
    ctx.reply->ArrayHeader(2);
    ctx.reply->Integer(s.time_s);
    ctx.reply->Integer(s.ms);
  }
}

void LatencyReset(CommandContext& ctx) {
  size_t n = ctx.server->latency().Reset(ctx.args.subspan(2));
  ctx.reply->Integer(static_cast<int64_t>(n));
}

void LatencyGraph(CommandContext& ctx) {
  auto event = ctx.server->latency().Find(ctx.arg(2));
  if (!event) {
    ctx.reply->Error("ERR No samples available for event '" + std::string(ctx.arg(2)) +
                     "'");
    return;
  }
  ctx.reply->Verbatim(RenderLatencyGraph(*event, NowSeconds()));
}

// LATENCY DOCTOR: each event's figures, then advice for what the events
// point at. The figures are Redis's (latency.c); the advice is edgekv's.
std::string DoctorReport(ServerContext& server) {
  LatencyMonitor& monitor = server.latency();
  std::vector<LatencyMonitor::Event> events = monitor.Events();
  const int64_t threshold = monitor.threshold_ms();
  if (events.empty() && threshold == 0) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this "
           "Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
           "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
           "mission I'd suggest to take a look at "
           "https://redis.io/topics/latency-monitor.\n";
  }
  if (events.empty()) {
    return "Dave, no latency spike was observed during the lifetime of this Redis "
           "instance, not in the slightest bit. I honestly think you ought to sit down "
           "calmly, take a stress pill, and think things over.\n";
  }
  bool slowlog_off = false, slowlog_tuning = false, slowlog_inspect = false;
  bool large_values = false, host_load = false, disk = false, fsync_always = false;
  bool expiry = false, eviction = false;
  const int64_t slower_than = server.config().Int(Cfg::kSlowlogLogSlowerThan);
  std::string r =
      "Dave, I have observed latency spikes in this Redis instance. You don't mind "
      "talking about it, do you Dave?\n\n";
  const int64_t now = NowSeconds();
  int n = 0;
  for (const auto& e : events) {
    LatencyEventStats st = AnalyzeLatencyEvent(e, now);
    char period[32];
    std::snprintf(period, sizeof(period), "%.2f",
                  static_cast<double>(st.period_s) / st.samples);
    r += std::to_string(++n) + ". " + e.name + ": " + std::to_string(st.samples) +
         " latency spikes (average " + std::to_string(st.avg_ms) + "ms, mean deviation " +
         std::to_string(st.mad_ms) + "ms, period " + period +
         " sec). Worst all time event " + std::to_string(e.max_ms) + "ms.\n";
    if (e.name == "command") {
      if (slower_than < 0) {
        slowlog_off = true;
      } else if (slower_than / 1000 > threshold) {
        slowlog_tuning = true;
      }
      slowlog_inspect = large_values = true;
    } else if (e.name == "fast-command") {
      host_load = true;
    } else if (e.name.starts_with("aof-write")) {
      disk = true;
    } else if (e.name == "aof-fsync-always") {
      fsync_always = true;
    } else if (e.name == "expire-cycle") {
      expiry = large_values = true;
    } else if (e.name == "eviction-cycle") {
      eviction = true;
    }
  }
  std::string advice;
  const std::string suggested = std::to_string(threshold * 1000);
  if (slowlog_off) {
    advice +=
        "- Some commands were slow, and the Slow Log is off. Turn it on with 'CONFIG SET "
        "slowlog-log-slower-than " +
        suggested + "' to see which commands they are.\n";
  }
  if (slowlog_tuning) {
    advice +=
        "- Your current Slow Log configuration only logs events that are slower than "
        "your configured latency monitor threshold. Please use 'CONFIG SET "
        "slowlog-log-slower-than " +
        suggested + "'.\n";
  }
  if (slowlog_inspect) {
    advice +=
        "- SLOWLOG GET shows the slow commands and their arguments. Commands that walk "
        "many keys (KEYS, SCAN with a large COUNT, FLUSHALL, DBSIZE after a restart) or "
        "read keys that are only on disk take longer than the rest.\n";
  }
  if (large_values) {
    advice +=
        "- Writing, deleting or expiring large values copies them through the "
        "write-ahead log: split very large values into several smaller keys.\n";
  }
  if (host_load) {
    advice +=
        "- Fast commands were slow: the server did not get the CPU when it needed it. "
        "Lower the load on this host, or give edgekv a host (or CPUs) of its own.\n";
  }
  if (disk) {
    advice +=
        "- Writes to the write-ahead log were slow: keep 'dir' on a local disk (an SSD "
        "if you can) that other programs do not keep busy.\n";
  }
  if (fsync_always) {
    advice +=
        "- With 'appendfsync always' every write waits for the disk. 'appendfsync "
        "everysec' loses at most about a second of writes in a machine crash, and none "
        "in a crash of the process.\n";
  }
  if (expiry) {
    advice +=
        "- The active expiry cycle was slow: many keys with TTLs expire at the same "
        "time. Spreading their TTLs out spreads the work.\n";
  }
  if (eviction) {
    advice +=
        "- Moving entries out of memory (above maxmemory) was slow: give maxmemory more "
        "room, or keep less written data waiting for the disk.\n";
  }
  if (advice.empty()) {
    r += "\nWhile there are latency events logged, I'm not able to suggest any easy fix. "
         "Please use the Redis community to get some help, providing this report in your "
         "help request.\n";
  } else {
    r += "\nI have a few advices for you:\n\n" + advice;
  }
  return r;
}

void LatencyDoctor(CommandContext& ctx) {
  ctx.reply->Verbatim(DoctorReport(*ctx.server));
}

void ReplyCdf(ReplyBuilder* reply, const CommandSpec& spec,
              const std::vector<uint64_t>& h) {
  std::vector<latency::CdfPoint> cdf = latency::Cdf(h);
  reply->Bulk(spec.name);
  reply->MapHeader(2);
  reply->Bulk("calls");
  reply->Integer(static_cast<int64_t>(latency::Total(h)));
  reply->Bulk("histogram_usec");
  reply->MapHeader(cdf.size());
  for (const auto& p : cdf) {
    reply->Integer(p.usec);
    reply->Integer(static_cast<int64_t>(p.cumulative));
  }
}

void LatencyHistogram(CommandContext& ctx) {
  const auto histograms = ctx.server->command_stats().Histograms();
  std::vector<std::pair<const CommandSpec*, const std::vector<uint64_t>*>> out;
  auto add = [&](const CommandSpec& spec) {
    auto it = histograms.find(spec.id);
    if (it != histograms.end()) out.emplace_back(&spec, &it->second);
  };
  auto add_with_subcommands = [&](const CommandSpec& spec) {
    add(spec);
    for (const CommandSpec& sub : spec.subcommands) add(sub);
  };
  const CommandTable& table = ctx.server->commands();
  if (ctx.argc() == 2) {
    for (const auto& spec : table.all()) add_with_subcommands(*spec);
  } else {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      // "config|get" names a subcommand, "config" the command and its
      // subcommands.
      std::string_view name = ctx.arg(i);
      size_t bar = name.find('|');
      const CommandSpec* spec = table.Find(name.substr(0, bar));
      if (spec != nullptr && bar != std::string_view::npos) {
        spec = table.FindSub(*spec, name.substr(bar + 1));
        if (spec != nullptr) add(*spec);
      } else if (spec != nullptr) {
        add_with_subcommands(*spec);
      }
    }
  }
  ctx.reply->MapHeader(out.size());
  for (const auto& [spec, h] : out) ReplyCdf(ctx.reply, *spec, *h);
}

void LatencyHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "DOCTOR",
      "    Return a human readable latency analysis report.",
      "GRAPH <event>",
      "    Return an ASCII latency graph for the <event> class.",
      "HISTORY <event>",
      "    Return time-latency samples for the <event> class.",
      "LATEST",
      "    Return the latest latency samples for all events.",
      "RESET [<event> ...]",
      "    Reset latency data of one or more <event> classes.",
      "    (default: reset all data for all event classes)",
      "HISTOGRAM [COMMAND ...]",
      // clang-format off
      "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",  // NOLINT
      // clang-format on
      "    If no commands are specified then all histograms are replied.",
  };
  ReplyHelp(ctx.reply, "LATENCY", kLines);
}

}  // namespace

void RegisterLatencyFamily(CommandTable* t) {
  const uint32_t adm = kAdmin | kNoScript | kLoading | kStale;
  const uint32_t any = kLoading | kStale;
  // clang-format off
  t->Add({"latency", -2, 0, 0, 0, 0, nullptr, "server", "Latency monitor", nullptr, {
      {"doctor", 2, adm, 0, 0, 0, LatencyDoctor, "server", "Latency analysis report"},
      {"graph", 3, adm, 0, 0, 0, LatencyGraph, "server", "An event's samples as a graph"},
      {"histogram", -2, adm, 0, 0, 0, LatencyHistogram, "server", "Command latency histograms"},
      {"history", 3, adm, 0, 0, 0, LatencyHistory, "server", "An event's samples"},
      {"latest", 2, adm, 0, 0, 0, LatencyLatest, "server", "Each event's latest sample"},
      {"reset", -2, adm, 0, 0, 0, LatencyReset, "server", "Forget events"},
      {"help", 2, any, 0, 0, 0, LatencyHelp, "server", "Show help"},
  }});
  // clang-format on
}

}  // namespace edgekv
