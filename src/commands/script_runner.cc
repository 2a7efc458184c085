#include "script_runner.h"

#include <string>

#include "dispatcher.h"
#include "keyspace.h"
#include "monitor.h"
#include "server_context.h"

namespace edgekv {

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
    std::shared_ptr<const Script> cached = server.scripts().Find(args[1]);
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

bool RunScriptAlone(CommandContext& ctx, ScriptRun& run,
                    const std::function<void()>& call) {
  ServerContext& server = *ctx.server;
  ScriptCache& cache = server.scripts();
  if (server.monitors().active()) {
    // Before the commands it runs, as Redis shows a script.
    server.monitors().Feed(MonitorLine(NowUs(),
                                       ctx.client->db.load(std::memory_order_relaxed),
                                       ctx.client->addr, ctx.args, ctx.redacted));
  }
  Store& store = StoreOf(ctx);
  const size_t mark = ctx.reply->buffer()->size();
  auto execute = [&] {
    if (run.function != nullptr) {
      cache.BeginRun(NowMs(), run.name, ctx.args);
    } else {
      cache.BeginRun(NowMs());
    }
    call();
    cache.EndRun();
    if (run.forward) {
      // What the script answered here is not the answer.
      if (ctx.reply->buffer()->size() > mark && (*ctx.reply->buffer())[mark] == '-') {
        ctx.reply->TakeBackError(mark);
      } else {
        ctx.reply->buffer()->resize(mark);
      }
      return;
    }
    // The script's writes are one batch in the log (inside EXEC, EXEC's);
    // none of a script the server stopped in the middle.
    MutationListener* journal = store.listener();
    if (run.aborted && journal != nullptr) {
      journal->Discard();
      return;
    }
    if (ctx.in_exec) return;
    if (journal != nullptr) {
      uint64_t seq = journal->Commit();
      if (seq > ctx.client->wait_seq) ctx.client->wait_seq = seq;
      if (seq > ctx.client->last_write_seq) ctx.client->last_write_seq = seq;
    }
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
