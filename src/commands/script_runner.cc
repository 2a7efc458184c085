#include "script_runner.h"

#include <string>

#include "args.h"
#include "dispatcher.h"
#include "keyspace.h"
#include "monitor.h"
#include "server_context.h"

namespace edgekv {

bool ParseNumKeys(CommandContext& ctx, std::string_view not_integer, int64_t* numkeys) {
  if (!ParseInt64(ctx.arg(2), numkeys)) {
    ctx.reply->Error(not_integer);
    return false;
  }
  if (*numkeys > static_cast<int64_t>(ctx.argc()) - 3) {
    ctx.reply->Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  if (*numkeys < 0) {
    ctx.reply->Error("ERR Number of keys can't be negative");
    return false;
  }
  return true;
}

Admission AdmitScript(CommandContext& ctx, uint32_t flags, bool ro_command) {
  if (!(flags & kScriptHasShebang) || (flags & kScriptNoWrites)) return Admission::kRun;
  ServerContext& server = *ctx.server;
  if (ro_command) {
    ctx.reply->Error("ERR Can not execute a script with write flag using *_ro command.");
    return Admission::kRefused;
  }
  if (server.replication().is_replica()) {
    if (ForwardsScriptWrites(ctx, false)) return Admission::kForward;
    ctx.reply->Error("READONLY You can't write against a read only replica.");
    return Admission::kRefused;
  }
  std::string refusal = RefuseWrite(
      server, (flags & kScriptAllowOom) ? uint32_t{kWrite} : uint32_t{kWrite | kDenyOom});
  if (!refusal.empty()) {
    ctx.reply->Error(refusal);
    return Admission::kRefused;
  }
  return Admission::kRun;
}

uint32_t AdmissionFlags(ServerContext& server, const CommandSpec& spec,
                        std::span<const std::string_view> args) {
  if (args.size() < 2) return spec.flags;
  const std::string& name = spec.name;
  uint32_t script = 0;
  if (name == "fcall" || name == "fcall_ro") {
    FunctionRegistry::Found found = server.functions().Find(args[1]);
    if (found.function == nullptr) return spec.flags;
    script = found.function->flags;
  } else if (name == "evalsha" || name == "evalsha_ro") {
    const Script* cached = server.scripts().FindForThread(args[1]);
    if (cached == nullptr) return spec.flags;
    script = cached->flags;
  } else if (name == "eval" || name == "eval_ro") {
    std::string code, error;
    if (!ParseShebang(args[1], &script, &code, &error)) return spec.flags;
  } else {
    return spec.flags;
  }
  if (!(script & kScriptHasShebang)) return spec.flags;
  uint32_t flags = spec.flags & ~(kStale | kDenyOom | kWrite | kMayReplicate);
  if (!(script & (kScriptAllowOom | kScriptNoWrites))) flags |= kDenyOom;
  if (!(script & kScriptNoWrites)) flags |= kWrite;
  if (script & kScriptAllowStale) flags |= kStale;
  return flags;
}

bool ForwardsScriptWrites(const CommandContext& ctx, bool read_only) {
  ServerContext& server = *ctx.server;
  return !read_only && !ctx.in_exec && server.forwarder != nullptr &&
         server.replication().is_replica() &&
         server.config().Bool(Cfg::kReplicaWriteForward);
}

namespace {

// Puts back what a keyed run changed (the saved states, newest first): the
// undo is logged with the changes, in one batch, so the log's net effect of
// the attempt is nothing.
void Undo(Store& store, const ScriptRun& run) {
  const int64_t now = WallMs();
  for (auto it = run.saved.rbegin(); it != run.saved.rend(); ++it) {
    if (it->existed && it->collection != nullptr) {
      store.PutCollection(it->db, it->key, *it->collection, it->expire_ms, now);
    } else if (it->existed) {
      store.Put(it->db, it->key, it->value, it->expire_ms);
    } else {
      store.Erase(it->db, it->key, now);
    }
  }
}

// Commits the script's writes as one batch (inside EXEC, EXEC does); none
// of a script the server stopped in the middle.
void Commit(CommandContext& ctx, const ScriptRun& run) {
  Store& store = StoreOf(ctx);
  if (run.aborted) {
    if (MutationListener* journal = store.listener()) journal->Discard();
  } else if (!ctx.in_exec) {
    CommitWrites(store, *ctx.client);
  }
}

// Drops what the script replied since `mark` (not the answer: it runs again,
// or on the coordinator), uncounting an error.
void TakeBackReply(ReplyBuilder& reply, size_t mark) {
  if (reply.buffer()->size() > mark && (*reply.buffer())[mark] == '-') {
    reply.TakeBackError(mark);
  } else {
    reply.buffer()->resize(mark);
  }
}

// Keyed mode: the script runs beside other commands, holding the stripes of
// its KEYS (taken up front, in order, as any multi-key command takes them)
// and those of other keys it reaches while they are free (never waiting
// while holding). Nothing else can see or change those keys until its
// writes are logged. False when it must run alone after all: what it
// changed is undone (and that is logged), its reply taken back.
bool RunKeyed(CommandContext& ctx, ScriptRun& run, ScriptCall call) {
  Store& store = StoreOf(ctx);
  run.held.clear();
  for (std::string_view key : run.keys) run.held.push_back(store.StripeOf(key));
  store.LockStripes(&run.held);
  run.keyed = true;
  const int64_t now_us = WallUs();
  run.keyed_deadline_us = now_us + kKeyedBudgetUs;
  run.now_ms = now_us / 1000;
  const size_t mark = ctx.reply->buffer()->size();
  call();
  const bool done = !run.escalate;
  if (!done) {
    TakeBackReply(*ctx.reply, mark);
    Undo(store, run);
    if (run.strikes != nullptr && (run.escalate_always || run.overran)) {
      run.strikes->fetch_add(run.escalate_always ? kAloneStrikes : 1,
                             std::memory_order_relaxed);
    }
  }
  // Stopped by SHUTDOWN: nothing of it is logged, and nothing of it shows
  // meanwhile either.
  if (run.aborted) Undo(store, run);
  Commit(ctx, run);
  store.UnlockStripes(run.held);
  if (!done) {
    // As new, for the run alone.
    run.EndKeyed();
    run.wrote = false;
  }
  return done;
}

}  // namespace

bool RunScriptAlone(CommandContext& ctx, ScriptRun& run, ScriptCall call) {
  ServerContext& server = *ctx.server;
  ScriptCache& cache = server.scripts();
  if (server.monitors().active()) {
    // Before the commands it runs, as Redis shows a script.
    server.monitors().Feed(MonitorLine(WallUs(),
                                       ctx.client->db.load(std::memory_order_relaxed),
                                       ctx.client->addr, ctx.args, ctx.redacted));
  }
  // A script that declares its keys tries keyed mode first (not inside
  // EXEC, which holds every stripe, nor on a replica, nor while MONITOR
  // would see its commands twice).
  const bool keyed = !ctx.all_locked && !ctx.in_exec && !run.keys.empty() &&
                     (run.strikes == nullptr ||
                      run.strikes->load(std::memory_order_relaxed) < kAloneStrikes) &&
                     !server.replication().is_replica() && !server.monitors().active() &&
                     !cache.aborting();
  if (keyed) {
    if (RunKeyed(ctx, run, call)) {
      server.stats().scripts_keyed.fetch_add(1, std::memory_order_relaxed);
      // Strikes count overruns in a row: a loaded machine's pauses do not
      // add up to sending a short script alone for good.
      if (run.strikes != nullptr) {
        const uint32_t strikes = run.strikes->load(std::memory_order_relaxed);
        if (strikes != 0 && strikes < kAloneStrikes) {
          run.strikes->store(0, std::memory_order_relaxed);
        }
      }
      return run.forward;
    }
    server.stats().scripts_rerun_alone.fetch_add(1, std::memory_order_relaxed);
  }
  server.stats().scripts_alone.fetch_add(1, std::memory_order_relaxed);
  const size_t mark = ctx.reply->buffer()->size();
  auto execute = [&] {
    run.now_ms = WallMs();
    if (run.function != nullptr) {
      cache.BeginRun(run.now_ms, run.name, ctx.args);
    } else {
      cache.BeginRun(run.now_ms);
    }
    call();
    cache.EndRun();
    if (run.forward) {
      TakeBackReply(*ctx.reply, mark);
      return;
    }
    Commit(ctx, run);
  };
  if (ctx.all_locked) {
    execute();  // inside EXEC, which holds every stripe
  } else {
    // Alone among commands; the script's own commands lock their keys.
    server.BeginScriptExclusive();
    execute();
    server.EndScriptExclusive();
  }
  return run.forward;
}

void KillRunningScript(CommandContext& ctx, bool is_eval) {
  ScriptCache& cache = ctx.server->scripts();
  if (!cache.running()) {
    ctx.reply->Error("NOTBUSY No scripts in execution right now.");
  } else if (cache.running_wrote()) {
    ctx.reply->Error(
        "UNKILLABLE Sorry the script already executed write commands against the "
        "dataset. You can either wait the script termination or kill the server in a "
        "hard "
        "way using the SHUTDOWN NOSAVE command.");
  } else if (is_eval == cache.running_function()) {
    ctx.reply->Error(BusyError(*ctx.server));
  } else {
    cache.RequestKill();
    ctx.reply->Ok();
  }
}

}  // namespace edgekv
