// Server commands: INFO CLIENT COMMAND CONFIG TIME DEBUG SHUTDOWN.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "args.h"
#include "client_control.h"
#include "command_table.h"
#include "db/engine.h"
#include "dispatcher.h"
#include "info.h"
#include "keyspace.h"
#include "version.h"

namespace edgekv {
namespace {

void Info(CommandContext& ctx) {
  std::vector<std::string> sections;
  for (size_t i = 1; i < ctx.argc(); ++i) sections.emplace_back(ctx.arg(i));
  ctx.reply->Verbatim(BuildInfo(*ctx.server, sections));
}

// ---- CLIENT ------------------------------------------------------------------

bool ValidClientName(std::string_view s) {
  for (char c : s) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void ClientId(CommandContext& ctx) {
  ctx.reply->Integer(static_cast<int64_t>(ctx.client->id));
}

void ClientSetName(CommandContext& ctx) {
  if (!ValidClientName(ctx.arg(2))) {
    ctx.reply->Error(
        "ERR Client names cannot contain spaces, newlines or special characters.");
    return;
  }
  MutexLock l(&ctx.client->mu);
  ctx.client->name = std::string(ctx.arg(2));
  ctx.reply->Ok();
}

void ClientGetName(CommandContext& ctx) {
  std::string name;
  {
    MutexLock l(&ctx.client->mu);
    name = ctx.client->name;
  }
  if (name.empty()) {
    ctx.reply->Null();
  } else {
    ctx.reply->Bulk(name);
  }
}

void ClientSetInfo(CommandContext& ctx) {
  std::string_view attr = ctx.arg(2), value = ctx.arg(3);
  bool is_name = EqualsIgnoreCase(attr, "LIB-NAME");
  if (!is_name && !EqualsIgnoreCase(attr, "LIB-VER")) {
    ctx.reply->Error("ERR Unrecognized option '" + std::string(attr) + "'");
    return;
  }
  if (!ValidClientName(value)) {
    ctx.reply->Error("ERR " + std::string(is_name ? "lib-name" : "lib-ver") +
                     " cannot contain spaces, newlines or special characters.");
    return;
  }
  MutexLock l(&ctx.client->mu);
  (is_name ? ctx.client->lib_name : ctx.client->lib_ver) = std::string(value);
  ctx.reply->Ok();
}

// The command's arguments' bytes (CLIENT LIST's argv-mem of the caller).
size_t ArgvBytes(const CommandContext& ctx) {
  size_t n = 0;
  for (std::string_view a : ctx.args) n += a.size();
  return n;
}

void ClientList(CommandContext& ctx) {
  std::set<uint64_t> ids;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    if (EqualsIgnoreCase(ctx.arg(i), "TYPE") && i + 1 < ctx.argc()) {
      std::string_view t = ctx.arg(++i);
      if (!EqualsIgnoreCase(t, "normal") && !EqualsIgnoreCase(t, "master") &&
          !EqualsIgnoreCase(t, "replica") && !EqualsIgnoreCase(t, "pubsub")) {
        ctx.reply->Error("ERR Unknown client type '" + std::string(t) + "'");
        return;
      }
      if (!EqualsIgnoreCase(t, "normal")) {
        ctx.reply->Verbatim("");
        return;
      }
    } else if (EqualsIgnoreCase(ctx.arg(i), "ID") && i + 1 < ctx.argc()) {
      while (i + 1 < ctx.argc()) {
        int64_t id;
        if (!ParseInt64(ctx.arg(++i), &id) || id <= 0) {
          ctx.reply->Error("ERR Invalid client ID");
          return;
        }
        ids.insert(static_cast<uint64_t>(id));
      }
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  std::string out;
  ctx.server->clients().ForEach([&](ClientState& c) {
    if (!ids.empty() && !ids.count(c.id)) return;
    out += DescribeClient(*ctx.server, c, ctx.now_ms, ctx.client, ArgvBytes(ctx));
    out += '\n';
  });
  ctx.reply->Verbatim(out);
}

void ClientInfo(CommandContext& ctx) {
  ctx.reply->Verbatim(
      DescribeClient(*ctx.server, *ctx.client, ctx.now_ms, ctx.client, ArgvBytes(ctx)) +
      "\n");
}

void ClientKill(CommandContext& ctx) {
  // Old form: CLIENT KILL addr:port -> OK or an error.
  if (ctx.argc() == 3) {
    std::string_view addr = ctx.arg(2);
    ClientState* victim = nullptr;
    ctx.server->clients().ForEach([&](ClientState& c) {
      if (c.addr == addr) victim = &c;
    });
    if (victim == nullptr) {
      ctx.reply->Error("ERR No such client");
      return;
    }
    ctx.server->clients().ForEach([&](ClientState& c) {
      if (&c == victim) {
        c.kill_requested = true;
        if (&c == ctx.client) {
          c.close_after_reply = true;
        } else if (c.request_close) {
          c.request_close();
        }
      }
    });
    ctx.reply->Ok();
    return;
  }
  int64_t id = 0;
  std::string addr, laddr;
  bool skipme = true, type_normal = true;
  if ((ctx.argc() - 2) % 2 != 0) {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  for (size_t i = 2; i + 1 < ctx.argc(); i += 2) {
    std::string_view k = ctx.arg(i), v = ctx.arg(i + 1);
    if (EqualsIgnoreCase(k, "ID")) {
      if (!ParseInt64(v, &id) || id <= 0) {
        ctx.reply->Error("ERR client-id should be greater than 0");
        return;
      }
    } else if (EqualsIgnoreCase(k, "ADDR")) {
      addr = std::string(v);
    } else if (EqualsIgnoreCase(k, "LADDR")) {
      laddr = std::string(v);
    } else if (EqualsIgnoreCase(k, "SKIPME")) {
      if (EqualsIgnoreCase(v, "yes")) {
        skipme = true;
      } else if (EqualsIgnoreCase(v, "no")) {
        skipme = false;
      } else {
        ctx.reply->Error(errors::kSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(k, "TYPE")) {
      if (EqualsIgnoreCase(v, "normal")) {
        type_normal = true;
      } else if (EqualsIgnoreCase(v, "master") || EqualsIgnoreCase(v, "replica") ||
                 EqualsIgnoreCase(v, "slave") || EqualsIgnoreCase(v, "pubsub")) {
        type_normal = false;
      } else {
        ctx.reply->Error("ERR Unknown client type '" + std::string(v) + "'");
        return;
      }
    } else if (EqualsIgnoreCase(k, "USER")) {
      if (v != "default") {
        ctx.reply->Error("ERR No such user '" + std::string(v) + "'");
        return;
      }
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  int64_t killed = 0;
  if (type_normal) {
    ctx.server->clients().ForEach([&](ClientState& c) {
      if (id && c.id != static_cast<uint64_t>(id)) return;
      if (!addr.empty() && c.addr != addr) return;
      if (!laddr.empty() && c.laddr != laddr) return;
      if (skipme && &c == ctx.client) return;
      c.kill_requested = true;
      if (&c == ctx.client) {
        c.close_after_reply = true;
      } else if (c.request_close) {
        c.request_close();
      }
      ++killed;
    });
  }
  ctx.reply->Integer(killed);
}

// ---- CONFIG ----------------------------------------------------------------

void ConfigGet(CommandContext& ctx) {
  // (name as replied, directive, value): like Redis, a name without glob
  // characters is echoed as the client spelled it ("MAXMEMORY").
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  std::set<std::string> seen;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    std::string_view pattern = ctx.arg(i);
    bool exact = pattern.find_first_of("*?[") == std::string_view::npos;
    for (auto& [name, value] : ctx.server->config().Match(pattern)) {
      if (seen.insert(name).second) {
        out.emplace_back(exact ? std::string(pattern) : name, name, value);
      }
    }
  }
  ctx.reply->MapHeader(out.size());
  for (auto& [shown, k, v] : out) {
    ctx.reply->Bulk(shown);
    if (k == "io-threads") {
      ctx.reply->Bulk(std::to_string(ctx.server->io_threads()));
    } else {
      ctx.reply->Bulk(v);
    }
  }
}

void ConfigSet(CommandContext& ctx) {
  if (ctx.argc() % 2 != 0) {  // a name without a value (arity already >= 4)
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  Config& cfg = ctx.server->config();
  // Passwords are not shown in SLOWLOG.
  for (size_t i = 2; i + 1 < ctx.argc() && i + 1 < 64; i += 2) {
    if (Config::IsSensitive(ctx.arg(i))) ctx.redacted |= uint64_t{1} << (i + 1);
  }
  // Validate every pair first so a bad one changes nothing (Redis 7).
  std::vector<std::pair<std::string, std::string>> old;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    std::string name(ctx.arg(i));
    auto matches = cfg.Match(name);
    std::string current = matches.size() == 1 ? matches[0].second : "";
    bool duplicate = false;
    for (size_t j = 2; j < i; j += 2) duplicate |= EqualsIgnoreCase(ctx.arg(j), name);
    Status s = duplicate ? Status::InvalidArgument("duplicate parameter")
                         : cfg.Set(name, ctx.arg(i + 1), true);
    if (!s.ok()) {
      for (auto it = old.rbegin(); it != old.rend(); ++it) {
        (void)cfg.Set(it->first, it->second, true);
      }
      if (s.code() == Status::Code::kNotFound) {
        ctx.reply->Error(
            "ERR Unknown option or number of arguments for CONFIG "
            "SET - '" +
            name + "'");
      } else {
        ctx.reply->Error("ERR CONFIG SET failed (possibly related to argument '" + name +
                         "') - " + s.message());
      }
      return;
    }
    old.emplace_back(name, current);
  }
  ctx.reply->Ok();
}

void ConfigResetStat(CommandContext& ctx) {
  ctx.server->stats().Reset();
  ctx.server->command_stats().Reset();
  ctx.server->error_stats().Reset();
  ctx.server->ResetRates();
  ctx.reply->Ok();
}

// ---- misc -------------------------------------------------------------------

void Time(CommandContext& ctx) {
  int64_t us = WallUs();
  ctx.reply->ArrayHeader(2);
  ctx.reply->Bulk(std::to_string(us / 1000000));
  ctx.reply->Bulk(std::to_string(us % 1000000));
}

void DebugSleep(CommandContext& ctx) {
  long double secs;
  if (!ParseLongDouble(ctx.arg(2), &secs) || secs < 0 || secs > 3600) {
    ctx.reply->Error(errors::kNotFloat);
    return;
  }
  std::this_thread::sleep_for(
      std::chrono::microseconds(static_cast<int64_t>(secs * 1e6L)));
  ctx.reply->Ok();
}

// DEBUG SET-DISK-APPLY 0|1: stops (0) or restarts (1) the LevelDB applier, as
// Redis's DEBUG SET-ACTIVE-EXPIRE does active expiry; for tests that need
// writes to stay in the log only. The log still bounds it: past the backlog
// bound, writers wait.
void DebugSetDiskApply(CommandContext& ctx) {
  Engine* engine = ctx.server->engine();
  if (engine == nullptr) {
    ctx.reply->Error("ERR no LevelDB tier");
    return;
  }
  std::string_view v = ctx.arg(2);
  if (v != "0" && v != "1") {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  engine->applier().SetPaused(v == "0");
  ctx.reply->Ok();
}

// DEBUG SET-IO-THREADS n: holds the I/O threads in use at n (1 .. io-threads;
// connections move to match within a cron tick or two, each at its next
// request); 0 gives the choice back to the balancer (io-threads-adaptive).
void DebugSetIoThreads(CommandContext& ctx) {
  int64_t n;
  if (!ParseInt64(ctx.arg(2), &n) || n < 0 || n > ctx.server->io_threads()) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  ctx.server->io_threads_forced.store(static_cast<int>(n), std::memory_order_relaxed);
  ctx.reply->Ok();
}

// MONITOR: from now on this client receives a line for every command the
// server runs (see monitor.h). Pending lines are bounded by the normal
// clients' output hard limit, or 64 MB without one.
void Monitor(CommandContext& ctx) {
  ClientState& c = *ctx.client;
  if (ctx.in_exec) {
    ctx.reply->Error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    return;
  }
  if (c.monitor) return;  // already monitoring: no reply, as in Redis
  int64_t hard = ctx.server->config().NormalOutputLimit().hard_bytes;
  size_t limit = hard > 0 ? static_cast<size_t>(hard) : size_t{64} << 20;
  c.monitor = std::make_shared<MonitorSink>(c.request_monitor_drain, limit);
  c.is_monitor.store(true, std::memory_order_relaxed);
  ctx.server->monitors().Add(c.monitor);
  ctx.reply->Ok();
}

void Shutdown(CommandContext& ctx) {
  bool nosave = false;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    std::string_view a = ctx.arg(i);
    if (!EqualsIgnoreCase(a, "NOSAVE") && !EqualsIgnoreCase(a, "SAVE") &&
        !EqualsIgnoreCase(a, "NOW") && !EqualsIgnoreCase(a, "FORCE")) {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
    nosave = nosave || EqualsIgnoreCase(a, "NOSAVE");
  }
  // Past busy-reply-threshold, only SHUTDOWN NOSAVE (which ends the script,
  // its writes unlogged) may stop the server, as in Redis.
  if (!nosave && ctx.server->ScriptBusy(WallMs())) {
    ctx.reply->Error(BusyError(*ctx.server));
    return;
  }
  // No reply on success: the server goes away, as Redis's does.
  ctx.client->close_after_reply = true;
  if (ctx.server->shutdown) ctx.server->shutdown();
}

}  // namespace

void RegisterServerFamily(CommandTable* t) {
  // Inside MULTI, Redis queues CONFIG, CLIENT and DEBUG like any command;
  // only SHUTDOWN is looked at at once (and refused).
  const uint32_t adm = kAdmin | kNoScript | kLoading | kStale;
  const uint32_t any = kLoading | kStale;
  const uint32_t conn = kNoScript | kLoading | kStale;  // CLIENT's own
  // clang-format off
  t->Add({"info", -1, any, 0, 0, 0, Info, "server", "Server information", "dangerous"});
  t->Add({"time", 1, any | kFast, 0, 0, 0, Time, "server", "Server time"});
  t->Add({"monitor", 1, adm, 0, 0, 0, Monitor, "server", "Stream every command the server runs"});
  t->Add({"shutdown", -1, adm | kNoMulti | kAllowBusy, 0, 0, 0, Shutdown, "server", "Stop the server"});
  t->Add({"debug", -2, adm | kProtected, 0, 0, 0, nullptr, "server", "Debugging commands", "admin dangerous", {
      {"sleep", 3, adm | kProtected, 0, 0, 0, DebugSleep, "server", "Sleep (seconds)"},
      {"set-disk-apply", 3, adm | kProtected, 0, 0, 0, DebugSetDiskApply, "server", "Stop (0) or restart (1) the LevelDB applier"},
      {"set-io-threads", 3, adm | kProtected, 0, 0, 0, DebugSetIoThreads, "server", "Hold the I/O threads in use at n (0: adaptive)"},
  }});
  t->Add({"client", -2, kConnection | any, 0, 0, 0, nullptr, "connection", "Client connection commands", nullptr, {
      {"id", 2, conn, 0, 0, 0, ClientId, "connection", "Client id"},
      {"setname", 3, conn, 0, 0, 0, ClientSetName, "connection", "Set the connection name"},
      {"getname", 2, conn, 0, 0, 0, ClientGetName, "connection", "Get the connection name"},
      {"setinfo", 4, conn, 0, 0, 0, ClientSetInfo, "connection", "Set client library info"},
      {"list", -2, adm, 0, 0, 0, ClientList, "connection", "List clients"},
      {"info", 2, conn, 0, 0, 0, ClientInfo, "connection", "This connection's info"},
      {"kill", -3, adm, 0, 0, 0, ClientKill, "connection", "Kill clients"},
      {"pause", -3, adm, 0, 0, 0, ClientPause, "connection", "Hold clients' commands"},
      {"unpause", 2, adm, 0, 0, 0, ClientUnpause, "connection", "End a pause"},
      {"reply", 3, conn, 0, 0, 0, ClientReply, "connection", "Turn replies on or off"},
      {"unblock", -3, adm, 0, 0, 0, ClientUnblock, "connection", "End a blocked command"},
      {"no-evict", 3, adm, 0, 0, 0, ClientNoEvict, "connection", "Protect from eviction"},
      {"help", 2, any, 0, 0, 0, ClientHelp, "connection", "Show help"},
  }});
  t->Add({"config", -2, adm, 0, 0, 0, nullptr, "server", "Configuration", nullptr, {
      {"get", -3, adm, 0, 0, 0, ConfigGet, "server", "Read directives"},
      {"set", -4, adm, 0, 0, 0, ConfigSet, "server", "Change directives"},
      {"resetstat", 2, adm, 0, 0, 0, ConfigResetStat, "server", "Reset counters"},
  }});
  t->Add({"slowlog", -2, any, 0, 0, 0, nullptr, "server", "Slow commands log", nullptr, {
      {"get", -2, kAdmin | any, 0, 0, 0, SlowlogGet, "server", "The newest entries"},
      {"len", 2, kAdmin | any, 0, 0, 0, SlowlogLen, "server", "Number of entries"},
      {"reset", 2, kAdmin | any, 0, 0, 0, SlowlogReset, "server", "Remove every entry"},
      {"help", 2, any, 0, 0, 0, SlowlogHelp, "server", "Show help"},
  }});
  // clang-format on
}

}  // namespace edgekv
