// EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT. A script runs on the calling
// client's I/O thread, in that thread's Lua state (scripting/lua_vm.h),
// alone among commands (ServerContext::BeginScriptExclusive): no other
// client sees a state between two of its commands, whichever keys it
// reaches (declared in KEYS or not), and its writes are one batch in the
// write-ahead log, as EXEC's are.
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "keyspace.h"
#include "script_runner.h"
#include "scripting/lua_vm.h"
#include "scripting/script_cache.h"

namespace edgekv {
namespace {

// The cached script for this body, compiled in `vm`; null after replying
// the error.
std::shared_ptr<const Script> ScriptFor(CommandContext& ctx, LuaVm& vm,
                                        std::string_view body, bool loaded) {
  ScriptCache& cache = ctx.server->scripts();
  std::string sha = Sha1Hex(body);
  std::string error;
  std::shared_ptr<const Script> script = cache.Find(sha);
  if (script == nullptr) {
    std::shared_ptr<Script> fresh = ScriptCache::Prepare(body, std::move(sha), &error);
    if (fresh == nullptr || !vm.Compile(*fresh, cache, &error)) {
      ctx.reply->Error(error);
      return nullptr;
    }
    return cache.Insert(std::move(fresh), loaded);
  }
  if (loaded) script = cache.Insert(script, true);
  if (!vm.Compile(*script, cache, &error)) {
    ctx.reply->Error(error);
    return nullptr;
  }
  return script;
}

void EvalGeneric(CommandContext& ctx, bool by_sha, bool ro_command) {
  int64_t numkeys = 0;
  if (!ParseNumKeys(ctx, errors::kNotInteger, &numkeys)) return;
  ServerContext& server = *ctx.server;
  ScriptCache& cache = server.scripts();
  LuaVm& vm = LuaVm::ForThread(cache);
  std::shared_ptr<const Script> compiled;  // EVAL's
  const Script* script = nullptr;
  if (by_sha) {
    script = cache.FindForThread(ctx.arg(1));
    std::string error;
    if (script == nullptr) {
      ctx.reply->Error("NOSCRIPT No matching script. Please use EVAL.");
      return;
    }
    if (!vm.Compile(*script, cache, &error)) {
      ctx.reply->Error(error);
      return;
    }
  } else {
    compiled = ScriptFor(ctx, vm, ctx.arg(1), false);
    script = compiled.get();
    if (script == nullptr) return;
  }
  const Admission admission = AdmitScript(ctx, script->flags, ro_command);
  if (admission == Admission::kRefused) return;
  bool forward = admission == Admission::kForward;
  if (!forward) {
    ScriptRun& run = NewScriptRun();
    run.script = script;
    run.name = script->sha;
    run.flags = script->flags;
    run.strikes = &script->strikes;
    run.ctx = &ctx;
    run.cache = &cache;
    run.keys = ctx.args.subspan(3, static_cast<size_t>(numkeys));
    run.args = ctx.args.subspan(3 + static_cast<size_t>(numkeys));
    run.read_only = ro_command || (script->flags & kScriptNoWrites);
    // A replica runs a script itself until it writes; with
    // replica-write-forward the coordinator then runs all of it, sent as EVAL
    // with its body (the coordinator need not have it cached).
    run.forward_writes = ForwardsScriptWrites(ctx, run.read_only);
    forward = RunScriptAlone(ctx, run, [&] { vm.Run(run); });
  }
  if (forward) {
    std::vector<std::string_view> eval(ctx.args.begin(), ctx.args.end());
    eval[0] = "EVAL";
    eval[1] = script->body;
    ForwardWrite(*ctx.server, *ctx.client, eval);
  }
}

void Eval(CommandContext& ctx) { EvalGeneric(ctx, false, false); }
void EvalSha(CommandContext& ctx) { EvalGeneric(ctx, true, false); }
void EvalRo(CommandContext& ctx) { EvalGeneric(ctx, false, true); }
void EvalShaRo(CommandContext& ctx) { EvalGeneric(ctx, true, true); }

void ScriptLoad(CommandContext& ctx) {
  LuaVm& vm = LuaVm::ForThread(ctx.server->scripts());
  std::shared_ptr<const Script> script = ScriptFor(ctx, vm, ctx.arg(2), true);
  if (script != nullptr) ctx.reply->Bulk(script->sha);
}

void ScriptExists(CommandContext& ctx) {
  ScriptCache& cache = ctx.server->scripts();
  ctx.reply->ArrayHeader(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); ++i)
    ctx.reply->Integer(cache.Exists(ctx.arg(i)) ? 1 : 0);
}

void ScriptFlush(CommandContext& ctx) {
  if (ctx.argc() > 3 || (ctx.argc() == 3 && !EqualsIgnoreCase(ctx.arg(2), "sync") &&
                         !EqualsIgnoreCase(ctx.arg(2), "async"))) {
    ctx.reply->Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    return;
  }
  ctx.server->scripts().Flush();
  ctx.reply->Ok();
}

void ScriptKill(CommandContext& ctx) { KillRunningScript(ctx, true); }

void ScriptHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "EXISTS <sha1> [<sha1> ...]",
      "    Return information about the existence of the scripts in the script cache.",
      "FLUSH [ASYNC|SYNC]",
      "    Flush the Lua scripts cache. Very dangerous on replicas.",
      "    When called without the optional mode argument, the behavior is determined by "
      "the",
      "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
      "    * ASYNC: Asynchronously flush the scripts cache.",
      "    * SYNC: Synchronously flush the scripts cache.",
      "KILL",
      "    Kill the currently executing Lua script.",
      "LOAD <script>",
      "    Load a script into the scripts cache without executing it.",
  };
  ReplyHelp(ctx.reply, "SCRIPT", kLines);
}

}  // namespace

void RegisterScriptingFamily(CommandTable* t) {
  const uint32_t eval = kNoScript | kStale | kSkipMonitor | kNoMandatoryKeys;
  // clang-format off
  t->Add({"eval", -3, eval | kMayReplicate, 0, 0, 0, Eval, "scripting", "Run a Lua script", "scripting", {}});
  t->Add({"evalsha", -3, eval | kMayReplicate, 0, 0, 0, EvalSha, "scripting", "Run a cached Lua script", "scripting", {}});
  t->Add({"eval_ro", -3, eval | kReadOnly, 0, 0, 0, EvalRo, "scripting",
          "Run a read-only Lua script", "scripting", {}});
  t->Add({"evalsha_ro", -3, eval | kReadOnly, 0, 0, 0, EvalShaRo, "scripting",
          "Run a cached read-only Lua script", "scripting", {}});
  t->Add({"script", -2, 0, 0, 0, 0, nullptr, "scripting", "Script cache", nullptr, {
      {"exists", -3, kNoScript, 0, 0, 0, ScriptExists, "scripting", "Are scripts cached", "scripting", {}},
      {"flush", -2, kNoScript, 0, 0, 0, ScriptFlush, "scripting", "Forget every script", "scripting", {}},
      {"help", 2, kLoading | kStale, 0, 0, 0, ScriptHelp, "scripting", "Show help", "scripting", {}},
      {"kill", 2, kNoScript | kAllowBusy, 0, 0, 0, ScriptKill, "scripting",
       "End the running script", "scripting", {}},
      {"load", 3, kNoScript | kStale, 0, 0, 0, ScriptLoad, "scripting", "Cache a script", "scripting", {}},
  }});
  // clang-format on
}

}  // namespace edgekv
