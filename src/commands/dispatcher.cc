#include "dispatcher.h"

#include <algorithm>
#include <chrono>
#include <span>
#include <string>

#include "args.h"
#include "command_table.h"
#include "db/engine.h"
#include "keyspace.h"
#include "script_runner.h"

namespace edgekv {

std::string WrongArity(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return "ERR wrong number of arguments for '" + lower + "' command";
}

namespace {

std::string UnknownCommand(std::span<const std::string_view> args) {
  std::string a;
  for (size_t i = 1; i < args.size() && a.size() < 128; ++i) {
    size_t room = 128 - a.size();
    a += "'";
    a.append(args[i].substr(0, room));
    a += "' ";
  }
  std::string name(args[0].substr(0, 128));
  return "ERR unknown command '" + name + "', with args beginning with: " + a;
}

}  // namespace

// replica-write-forward: the coordinator runs the write; the reply comes
// back through the blocked-call mechanism (the client's next commands wait).
void ForwardWrite(ServerContext& server, ClientState& client,
                  std::span<const std::string_view> args) {
  auto call = server.forwarder->Forward(client.db.load(), args);
  ClientState* c = &client;
  client.blocked_deadline_ms = WallMs() + server.config().Int(Cfg::kReplTimeout) * 1000;
  client.blocked = [call, c](ReplyBuilder& reply, bool timed_out) {
    if (!call->done.load(std::memory_order_acquire)) {
      if (!timed_out) return false;
      reply.Error(
          "ERR replica-write-forward: no answer from the coordinator in repl-timeout");
      return true;
    }
    reply.buffer()->append(call->reply);
    if (call->coord_seq > c->forwarded_seq) c->forwarded_seq = call->coord_seq;
    return true;
  };
}

const CommandSpec* ResolveCommand(const CommandTable& table,
                                  std::span<const std::string_view> args,
                                  ReplyBuilder& reply, const CommandSpec** refused) {
  const CommandSpec* spec = table.Find(args[0]);
  if (spec == nullptr) {
    reply.Error(UnknownCommand(args));
    return nullptr;
  }
  if (!spec->subcommands.empty() && !(args.size() < 2 && spec->handler)) {
    if (args.size() < 2) {
      reply.Error(WrongArity(spec->name));
      if (refused != nullptr) *refused = spec;
      return nullptr;
    }
    const CommandSpec* sub = table.FindSub(*spec, args[1]);
    if (sub == nullptr) {
      std::string upper(spec->name);
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      reply.Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) +
                  "'. Try " + upper + " HELP.");
      return nullptr;
    }
    spec = sub;
  }
  if (!ArityOk(*spec, args.size())) {
    reply.Error(WrongArity(spec->name));
    if (refused != nullptr) *refused = spec;
    return nullptr;
  }
  if (HasKeys(*spec) && std::any_of(args.begin(), args.end(), [](std::string_view a) {
        return a.size() > kMaxKeyBytes;
      })) {
    for (std::string_view key : CommandKeys(*spec, args)) {
      if (key.size() > kMaxKeyBytes) {
        reply.Error("ERR key is longer than 512 MB");
        return nullptr;
      }
    }
  }
  return spec;
}

std::string RefuseWrite(ServerContext& server, uint32_t flags, bool check_oom) {
  if (check_oom && (flags & kDenyOom)) {
    const int64_t maxmemory = server.config().Int(Cfg::kMaxmemory);
    if (maxmemory > 0 && !server.store().has_disk() &&
        server.store().used_bytes() > maxmemory) {
      return std::string(errors::kOom);
    }
  }
  if (!(flags & kWrite)) return {};
  if (Engine* engine = server.engine()) {
    std::string err = engine->PersistenceError();
    if (!err.empty()) return "MISCONF " + err;
  }
  const int64_t min_replicas = server.config().Int(Cfg::kMinReplicasToWrite);
  if (min_replicas > 0 &&
      server.replication().CountGood(
          WallMs(), server.config().Int(Cfg::kMinReplicasMaxLag)) < min_replicas) {
    return "NOREPLICAS Not enough good replicas to write.";
  }
  return {};
}

// enable-debug-command (no/yes/local) allows this client's DEBUG; "local"
// is a client from 127.0.0.1 or ::1, as Redis has it.
static bool ProtectedAllowed(ServerContext& server, const ClientState& client) {
  int64_t mode = server.config().Int(Cfg::kEnableDebugCommand);  // no/yes/local
  std::string_view host(client.addr);
  host = host.substr(0, host.rfind(':'));
  bool local = host == "127.0.0.1" || host == "[::1]" || host == "::1";
  return mode == 1 || (mode == 2 && local);
}

void CommitWrites(Store& store, ClientState& client) {
  MutationListener* journal = store.listener();
  if (journal == nullptr) return;
  const uint64_t seq = journal->Commit();
  if (seq > client.wait_seq) client.wait_seq = seq;
  if (seq > client.last_write_seq) client.last_write_seq = seq;
}

std::string_view BusyError(ServerContext& server) {
  return server.scripts().running_function() ? errors::kBusyFunction : errors::kBusy;
}

// The handler, after Redis's type check of the command's keys (once here,
// not in each handler).
void RunHandler(const CommandSpec& spec, CommandContext& ctx) {
  if (spec.key_type > 0 ||
      (spec.key_type == 0 && ctx.server->store().may_hold_collections())) {
    const auto type = static_cast<ValueType>(spec.key_type);
    if (spec.first_key == spec.last_key) {  // one key (most commands)
      std::string_view key = ctx.args[static_cast<size_t>(spec.first_key)];
      if (!KeysOfType(ctx, std::span<const std::string_view>(&key, 1), type)) return;
    } else if (!KeysOfType(ctx, CommandKeys(spec, ctx.args), type)) {
      return;
    }
  }
  spec.handler(ctx);
}

void RunCommand(const CommandSpec& spec, CommandContext& ctx) {
  ServerContext& server = *ctx.server;
  const auto started = std::chrono::steady_clock::now();
  // The errors this command replies are those after the mark (for EXEC:
  // after the mark its last command left, as Redis counts).
  ctx.reply->set_error_mark(ctx.reply->errors());
  Store& store = server.store();
  // The one place every command's changes are committed to the write-ahead
  // log: after the handler, while the keys' stripes are still held, so the
  // log's order is the memory's order for every key.
  // MONITOR's line goes out there too, so that monitors see the commands on
  // a key in the order they took effect. Administrative commands are not
  // shown, as in Redis.
  auto commit = [&] {
    if (server.monitors().active() && !(spec.flags & (kAdmin | kSkipMonitor))) {
      server.monitors().Feed(MonitorLine(WallUs(),
                                         ctx.client->db.load(std::memory_order_relaxed),
                                         ctx.client->addr, ctx.args, ctx.redacted));
    }
    if (!ctx.in_exec) CommitWrites(store, *ctx.client);
  };
  // A script running alone holds every other command back (not those
  // allowed while it is busy, nor its own, nor EXEC's queued ones); past
  // busy-reply-threshold the wait ends in BUSY.
  if (!ctx.in_exec && !(spec.flags & kAllowBusy) &&
      !server.WaitForScript([&server] { return server.ScriptBusy(WallMs()); })) {
    ctx.reply->Error(BusyError(server));
    server.command_stats().Rejected(spec.id);
    return;
  }
  if (!ctx.all_locked && (spec.flags & kWrite) && (spec.flags & kAllKeys)) {
    // FLUSHDB, FLUSHALL, SWAPDB: one point in every key's history.
    StripeGuard all(&store, true);
    ctx.all_locked = true;
    RunHandler(spec, ctx);
    commit();
    ctx.all_locked = false;
  } else if (ctx.all_locked || !HasKeys(spec)) {
    RunHandler(spec, ctx);
    commit();
  } else {
    std::vector<std::string_view> keys = CommandKeys(spec, ctx.args);
    std::vector<size_t> stripes;
    stripes.reserve(keys.size());
    for (auto k : keys) stripes.push_back(store.StripeOf(k));
    StripeGuard guard(&store, std::move(stripes));
    RunHandler(spec, ctx);
    commit();
  }
  server.stats().commands_processed.fetch_add(1, std::memory_order_relaxed);
  const int64_t usec = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  server.command_stats().Ran(spec.id, static_cast<uint64_t>(usec),
                             ctx.reply->errors() > ctx.reply->error_mark(),
                             server.config().Bool(Cfg::kLatencyTracking));
  ctx.reply->set_error_mark(ctx.reply->errors());
  MaybeLogSlow(spec, ctx, usec);
  server.latency().Add((spec.flags & kFast) ? "fast-command" : "command", usec / 1000);
}

namespace {

// Above maxmemory: move entries that are safe on disk out of memory. When
// recent writes are not on disk yet, wait briefly for the applier (this
// slows writers down to the disk's pace instead of growing memory).
// Returns true when memory is within bounds (after evicting what is safe
// on disk), or when the disk holds every write and what eviction leaves is
// what memory cannot do without (the table itself, with a maxmemory smaller
// than that): waiting would not shrink it. False when recent writes must
// reach the disk first.
bool MakeRoom(ServerContext& server, int64_t maxmemory) {
  Store& store = server.store();
  if (store.used_bytes() <= maxmemory) return true;
  auto evict = [&] {
    LatencyScope timed(&server.latency(), "eviction-cycle");
    store.Evict(maxmemory - maxmemory / 20);
  };
  evict();
  if (store.used_bytes() <= maxmemory) return true;
  Engine* engine = server.engine();
  if (engine == nullptr) return true;
  // Recent writes must reach the disk before they may leave memory: let the
  // applier know (it then applies at once instead of gathering more).
  if (!engine->applier().WaitApplied(engine->wal().last_seq(), 0)) {
    return store.used_bytes() <= maxmemory + maxmemory / 4;
  }
  evict();
  return true;
}

// False while LevelDB is more than the applier's bound behind the log: the
// log on disk is the applier's queue, and this bounds it (and the replay
// after a crash).
bool DiskKeepsUp(ServerContext& server) {
  Engine* engine = server.engine();
  return engine == nullptr || !engine->applier().Overloaded();
}

// Before that, past half the bound, writes are paced to LevelDB's rate
// (Applier::AdmitWrite); `bytes` estimates what the write adds to the log.
bool PaceWrite(ServerContext& server, size_t bytes) {
  Engine* engine = server.engine();
  return engine == nullptr || engine->applier().AdmitWrite(bytes);
}

// A command that walks LevelDB (kDiskWalk) sees every write made before it
// once LevelDB holds `seq` (the last one then); until then its client waits
// and the applier is asked to hurry. (The walk itself would otherwise wait
// for it, holding up every client of the thread for up to a group's apply.)
// A failing applier is not waited for: the walk answers from what LevelDB has.
bool DiskHolds(ServerContext& server, uint64_t seq) {
  Engine* engine = server.engine();
  return engine == nullptr || !engine->applier().healthy() ||
         engine->applier().WaitApplied(seq, 0);
}

}  // namespace

void Dispatcher::ClearTransaction(ServerContext& server, ClientState& c) {
  c.in_multi = false;
  c.multi_error = false;
  c.queued.clear();
  c.multi_mem_bytes.store(0, std::memory_order_relaxed);
  Unwatch(server, c, false);
}

void Dispatcher::StopMonitor(ServerContext& server, ClientState& c) {
  if (!c.monitor) return;
  server.monitors().Remove(c.monitor.get());
  c.monitor.reset();
  c.is_monitor.store(false, std::memory_order_relaxed);
}

void Dispatcher::Unwatch(ServerContext& server, ClientState& c, bool all_locked) {
  Store& store = server.store();
  for (auto& [db, key] : c.watched) {
    if (all_locked) {
      store.Unwatch(db, key, &c.watch_flag);
    } else {
      StripeGuard g(&store, std::vector<size_t>{store.StripeOf(key)});
      store.Unwatch(db, key, &c.watch_flag);
    }
  }
  c.watched.clear();
  c.watch_flag.dirty.store(false, std::memory_order_relaxed);
}

void Dispatcher::AbortExec(ClientState& client, std::string_view error,
                           ReplyBuilder& reply) {
  ClearTransaction(*server_, client);
  if (error.substr(0, 4) == "ERR ") error.remove_prefix(4);
  reply.Error("EXECABORT Transaction discarded because of: " + std::string(error));
}

bool Dispatcher::Postponed(const ClientState& client,
                           std::span<const std::string_view> args) const {
  if (!server_->MaybePaused() || client.is_replica.load(std::memory_order_relaxed)) {
    return false;
  }
  const ServerContext::PauseMode mode = server_->Paused(WallMs());
  if (mode == ServerContext::PauseMode::kNone) return false;
  std::string scratch;
  ReplyBuilder quiet(&scratch);
  const CommandTable& table = server_->commands();
  const CommandSpec* spec = ResolveCommand(table, args, quiet);
  if (spec == nullptr || (!client.authenticated && !(spec->flags & kNoAuth)))
    return false;
  if (mode == ServerContext::PauseMode::kAll) return true;
  if (spec->flags & (kWrite | kMayReplicate)) return true;
  if (spec->name != "exec" || !client.in_multi) return false;
  for (const auto& queued : client.queued) {
    std::vector<std::string_view> q(queued.begin(), queued.end());
    const CommandSpec* s = ResolveCommand(table, q, quiet);
    if (s != nullptr && (s->flags & kWrite)) return true;
  }
  return false;
}

void Dispatcher::PrefetchAhead(const ClientState& client,
                               std::span<const PeekedRequest> ahead) {
  static constexpr std::string_view kScripts[] = {"eval",       "evalsha", "eval_ro",
                                                  "evalsha_ro", "fcall",   "fcall_ro"};
  std::string_view keys[32];
  size_t n = 0;
  for (const PeekedRequest& r : ahead) {
    if (r.argc < 2 || n == std::size(keys)) continue;
    std::string_view name = r.head[0];
    bool script = false;
    const char first = name.empty() ? '\0' : static_cast<char>(name[0] | 0x20);
    if (first == 'e' || first == 'f') {  // most requests are told by their first letter
      for (std::string_view s : kScripts) script = script || EqualsIgnoreCase(name, s);
    }
    if (!script) {
      keys[n++] = r.head[1];
    } else if (r.argc >= 4 && r.head[2] != "0" && !r.head[2].empty() &&
               r.head[2][0] != '-') {
      keys[n++] = r.head[3];
    }
  }
  if (n > 1)
    server_->store().PrefetchKeys(client.db.load(std::memory_order_relaxed), {keys, n});
}

void Dispatcher::Execute(ClientState& client, std::span<const std::string_view> args,
                         ReplyBuilder& reply) {
  // When EXEC itself is refused (its arity, NOAUTH), Redis discards the
  // transaction and says why in an EXECABORT error (AbortExec).
  const size_t mark = reply.buffer()->size();
  const CommandSpec* refused = nullptr;
  const CommandSpec* spec = ResolveCommand(server_->commands(), args, reply, &refused);
  if (spec == nullptr) {
    if (refused != nullptr) server_->command_stats().Rejected(refused->id);
    if (EqualsIgnoreCase(args[0], "exec")) {
      // The error just written ("-ERR ...\r\n") goes into the EXECABORT
      // instead (and only the EXECABORT counts as an error reply).
      AbortExec(client, reply.TakeBackError(mark), reply);
    } else if (client.in_multi) {
      client.multi_error = true;
    }
    return;
  }
  client.last_command.store(spec, std::memory_order_relaxed);

  // Refused before it runs (below): counted as INFO commandstats'
  // rejected_calls, as Redis counts them.
  struct CountRefusal {
    ServerContext* server;
    const CommandSpec* spec;
    ReplyBuilder& reply;
    uint64_t errors;
    bool armed = true;
    ~CountRefusal() {
      if (armed && reply.errors() > errors) server->command_stats().Rejected(spec->id);
    }
  } count_refusal{server_, spec, reply, reply.errors()};

  if (!client.authenticated && !(spec->flags & kNoAuth)) {
    if (spec->name == "exec") {
      AbortExec(client, errors::kNoAuth, reply);
      return;
    }
    if (client.in_multi) client.multi_error = true;
    reply.Error(errors::kNoAuth);
    return;
  }

  if (client.in_multi && (spec->flags & kNoMulti)) {
    client.multi_error = true;
    reply.Error("ERR Command not allowed inside a transaction");
    return;
  }

  // A replica's connection, or a monitor's, may not read or write keys, as
  // in Redis.
  if ((client.monitor || client.feeder) && (spec->flags & (kWrite | kReadOnly))) {
    if (client.in_multi) client.multi_error = true;
    reply.Error("ERR Replica can't interact with the keyspace");
    return;
  }

  if ((spec->flags & kProtected) && !ProtectedAllowed(*server_, client)) {
    if (client.in_multi) client.multi_error = true;
    reply.Error(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set "
        "to \"local\", you can run it from a local connection, otherwise you need "
        "to set this option in the configuration file, and then restart the "
        "server.");
    return;
  }

  if (!(spec->flags & kAllowBusy) && server_->scripts().running() &&
      server_->ScriptBusy(WallMs())) {
    if (client.in_multi) client.multi_error = true;
    reply.Error(BusyError(*server_));
    return;
  }

  if (server_->loading.load(std::memory_order_acquire) && !(spec->flags & kLoading) &&
      !((spec->flags & kWhileSyncing) && server_->engine() != nullptr)) {
    if (client.in_multi) client.multi_error = true;
    reply.Error("LOADING edgekv is loading the dataset in memory");
    return;
  }

  // A transaction is admitted as its writes would be: queued ones one by
  // one (a refusal discards the transaction at EXEC), and EXEC again.
  uint32_t effective =
      client.in_multi ? AdmissionFlags(*server_, *spec, args) : spec->flags;
  const bool is_exec = spec->name == "exec";
  if (is_exec && client.in_multi && !client.multi_error) {
    std::string scratch;
    ReplyBuilder quiet(&scratch);
    for (const auto& queued : client.queued) {
      std::vector<std::string_view> q(queued.begin(), queued.end());
      if (const CommandSpec* s = ResolveCommand(server_->commands(), q, quiet))
        effective |= AdmissionFlags(*server_, *s, q) & (kWrite | kDenyOom);
    }
  }
  if (effective & (kWrite | kDenyOom)) {
    std::string refusal = RefuseWrite(*server_, effective);
    if (!refusal.empty()) {
      if (is_exec && client.in_multi) {
        AbortExec(client, refusal, reply);
        return;
      }
      if (client.in_multi) client.multi_error = true;
      reply.Error(refusal);
      return;
    }
  }

  if ((spec->flags & kWrite) && server_->replication().is_replica()) {
    if (server_->config().Bool(Cfg::kReplicaWriteForward) && !client.in_multi &&
        server_->forwarder) {
      ForwardWrite(*server_, client, args);
      return;
    }
    if (client.in_multi) client.multi_error = true;
    reply.Error("READONLY You can't write against a read only replica.");
    return;
  }

  if (client.in_multi && !(spec->flags & kTxControl)) {
    client.queued.emplace_back(args.begin(), args.end());
    size_t bytes = sizeof(std::vector<std::string>);
    for (std::string_view a : args) bytes += sizeof(std::string) + a.size();
    client.multi_mem_bytes.fetch_add(bytes, std::memory_order_relaxed);
    reply.Queued();
    return;
  }

  const int64_t maxmemory = server_->config().Int(Cfg::kMaxmemory);
  count_refusal.armed = false;  // what follows runs it (now or once it may)
  // Writes outpace the disk (memory over maxmemory holds writes not yet in
  // LevelDB, or LevelDB is far behind the log): this client waits (its later
  // commands too) until they may run, at most repl-timeout. The thread goes on
  // serving the others.
  // EXEC of writes and a script that may write are paced as writes.
  const uint32_t paced =
      effective | ((spec->flags & kMayReplicate) ? kWrite | kDenyOom : 0);
  size_t log_bytes = 32;  // about what the write adds to the log
  if (paced & kWrite) {
    for (std::string_view a : args) log_bytes += a.size() + 8;
  }
  uint64_t walk_seq = 0;
  if ((spec->flags & kDiskWalk) && server_->engine() != nullptr) {
    walk_seq = server_->engine()->wal().last_seq();
  }
  auto may_run = [server = server_, paced, maxmemory, log_bytes, walk_seq] {
    if (walk_seq != 0 && !DiskHolds(*server, walk_seq)) return false;
    if ((paced & kWrite) && !DiskKeepsUp(*server)) return false;
    if ((paced & kDenyOom) && maxmemory > 0 && server->store().has_disk() &&
        !MakeRoom(*server, maxmemory)) {
      return false;
    }
    // Last: it takes its share of the pace only if it runs now.
    if ((paced & kWrite) && !PaceWrite(*server, log_bytes)) return false;
    return true;
  };
  if (!may_run()) {
    std::vector<std::string> saved(args.begin(), args.end());
    ClientState* c = &client;
    client.blocked_deadline_ms =
        WallMs() + server_->config().Int(Cfg::kReplTimeout) * 1000;
    client.blocked = [this, saved = std::move(saved), spec, c, may_run, walk_seq](
                         ReplyBuilder& rb, bool timed_out) {
      if (!timed_out && !may_run()) return false;
      std::vector<std::string_view> views(saved.begin(), saved.end());
      CommandContext ctx{views, &rb, c, server_, WallMs(), false};
      Store::BarrierReached barrier(walk_seq);
      RunCommand(*spec, ctx);
      return true;
    };
    return;
  }

  CommandContext ctx{args, &reply, &client, server_, WallMs(), false};
  Store::BarrierReached barrier(walk_seq);
  RunCommand(*spec, ctx);
}

}  // namespace edgekv
