// FUNCTION and FCALL/FCALL_RO. Libraries are server-wide
// (scripting/function_registry.h); every change to them is logged with the
// command (wal_format.h's library operations), so they survive restarts and
// reach replicas; see ChangeLibraries for their place in the log's order. A
// function runs as EVAL's scripts do (script_runner.h), in the thread's
// function state.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "edgekv/glob.h"
#include "keyspace.h"
#include "script_runner.h"
#include "scripting/function_dump.h"
#include "scripting/library_loader.h"
#include "scripting/lua_vm.h"

namespace edgekv {
namespace {

// A change to the libraries and its log record take one place in the log's
// order: `change` (which changes the registry and tells the journal, or
// replies an error and returns false) runs with every stripe held (inside
// EXEC they are), and the record is committed before they are released.
// The library's code ran before, without them.
template <typename Change>
bool ChangeLibraries(CommandContext& ctx, Change&& change) {
  Store& store = StoreOf(ctx);
  std::optional<StripeGuard> all;
  if (!ctx.all_locked) all.emplace(&store, true);
  if (!change(store.listener())) return false;
  if (!ctx.in_exec) CommitWrites(store, *ctx.client);
  return true;
}

void FcallGeneric(CommandContext& ctx, bool ro_command) {
  ServerContext& server = *ctx.server;
  FunctionRegistry& registry = server.functions();
  FunctionRegistry::Found found = registry.Find(ctx.arg(1));
  if (found.library == nullptr) {
    ctx.reply->Error("ERR Function not found");
    return;
  }
  int64_t numkeys = 0;
  if (!ParseNumKeys(ctx, "ERR Bad number of keys provided", &numkeys)) return;
  const FunctionDef& function = *found.function;
  LuaVm& vm = LuaVm::ForFunctions();
  vm.SweepLibraries(registry);
  std::string error;
  if (!vm.EnsureLibrary(*found.library, &error)) {
    ctx.reply->Error(error);
    return;
  }
  const Admission admission = AdmitScript(ctx, function.flags, ro_command);
  if (admission == Admission::kRefused) return;
  bool forward = admission == Admission::kForward;
  if (!forward) {
    ScriptRun& run = NewScriptRun();
    run.function = &function;
    run.name = function.name;
    run.flags = function.flags;
    run.strikes = function.strikes.get();
    run.ctx = &ctx;
    run.cache = &server.scripts();
    run.keys = ctx.args.subspan(3, static_cast<size_t>(numkeys));
    run.args = ctx.args.subspan(3 + static_cast<size_t>(numkeys));
    run.read_only = ro_command || (function.flags & kScriptNoWrites);
    run.forward_writes = ForwardsScriptWrites(ctx, run.read_only);
    forward = RunScriptAlone(ctx, run, [&] { vm.RunFunction(run, *found.library); });
  }
  // The coordinator has the same libraries (they are replicated).
  if (forward) ForwardWrite(server, *ctx.client, ctx.args);
}

void Fcall(CommandContext& ctx) { FcallGeneric(ctx, false); }
void FcallRo(CommandContext& ctx) { FcallGeneric(ctx, true); }

void FunctionLoad(CommandContext& ctx) {
  bool replace = false;
  for (size_t i = 2; i + 1 < ctx.argc(); ++i) {
    if (!EqualsIgnoreCase(ctx.arg(i), "replace")) {
      ctx.reply->Error("ERR Unknown option given: " + std::string(ctx.arg(i)));
      return;
    }
    replace = true;
  }
  const std::string_view code = ctx.arg(ctx.argc() - 1);
  FunctionRegistry& registry = ctx.server->functions();
  std::string error;
  std::unique_ptr<Library> lib = ParseLibrary(code, &error);
  if (lib == nullptr) {
    ctx.reply->Error("ERR " + error);
    return;
  }
  if (!replace && registry.FindLibrary(lib->name) != nullptr) {
    ctx.reply->Error("ERR Library '" + lib->name + "' already exists");
    return;
  }
  if (!LuaVm::ForFunctions().LoadLibrary(*lib, &lib->functions, &error)) {
    ctx.reply->Error(error);
    return;
  }
  const std::string name = lib->name;
  const uint64_t id = lib->id;
  LuaVm& vm = LuaVm::ForFunctions();
  std::shared_ptr<const Library> loaded = std::move(lib);
  const bool added = ChangeLibraries(ctx, [&](MutationListener* journal) {
    if (!registry.Add(loaded, replace, &error)) return false;
    if (journal != nullptr) journal->OnLibraryPut(name, code);
    return true;
  });
  if (!added) {
    vm.ForgetLibrary(id);
    ctx.reply->Error("ERR " + error);
    return;
  }
  vm.SweepLibraries(registry);
  ctx.reply->Bulk(name);
}

void FunctionDelete(CommandContext& ctx) {
  const bool deleted = ChangeLibraries(ctx, [&](MutationListener* journal) {
    if (!ctx.server->functions().Delete(ctx.arg(2))) return false;
    if (journal != nullptr) journal->OnLibraryDelete(ctx.arg(2));
    return true;
  });
  if (!deleted) {
    ctx.reply->Error("ERR Library not found");
    return;
  }
  ctx.reply->Ok();
}

// Redis's addReplySubcommandSyntaxError.
void SubcommandSyntaxError(CommandContext& ctx) {
  ctx.reply->Error("ERR unknown subcommand or wrong number of arguments for '" +
                   std::string(ctx.arg(1)) + "'. Try FUNCTION HELP.");
}

void FunctionFlush(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    SubcommandSyntaxError(ctx);
    return;
  }
  if ((ctx.argc() == 3 && !EqualsIgnoreCase(ctx.arg(2), "sync") &&
       !EqualsIgnoreCase(ctx.arg(2), "async"))) {
    ctx.reply->Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    return;
  }
  ChangeLibraries(ctx, [&](MutationListener* journal) {
    ctx.server->functions().Flush();
    if (journal != nullptr) journal->OnLibraryFlush();
    return true;
  });
  ctx.reply->Ok();
}

void ReplyFunctionFlags(ReplyBuilder* reply, uint32_t flags) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kScriptNoWrites, "no-writes"},
      {kScriptAllowOom, "allow-oom"},
      {kScriptAllowStale, "allow-stale"},
      {kScriptNoCluster, "no-cluster"},
      {kScriptAllowCrossSlot, "allow-cross-slot-keys"}};
  size_t n = 0;
  for (const auto& [bit, name] : kNames) n += (flags & bit) ? 1 : 0;
  reply->SetHeader(n);
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) reply->SimpleString(name);
  }
}

void FunctionList(CommandContext& ctx) {
  bool with_code = false;
  bool have_pattern = false;
  std::string_view pattern;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    std::string_view a = ctx.arg(i);
    if (!with_code && EqualsIgnoreCase(a, "withcode")) {
      with_code = true;
    } else if (!have_pattern && EqualsIgnoreCase(a, "libraryname")) {
      if (i + 1 >= ctx.argc()) {
        ctx.reply->Error("ERR library name argument was not given");
        return;
      }
      pattern = ctx.arg(++i);
      have_pattern = true;
    } else {
      ctx.reply->Error("ERR Unknown argument " + std::string(a));
      return;
    }
  }
  std::vector<std::shared_ptr<const Library>> libs = ctx.server->functions().All();
  if (have_pattern) {
    std::erase_if(libs,
                  [&](const auto& lib) { return !GlobMatch(pattern, lib->name, true); });
  }
  ReplyBuilder* reply = ctx.reply;
  reply->ArrayHeader(libs.size());
  for (const auto& lib : libs) {
    reply->MapHeader(with_code ? 4 : 3);
    reply->Bulk("library_name");
    reply->Bulk(lib->name);
    reply->Bulk("engine");
    reply->Bulk(lib->engine);
    reply->Bulk("functions");
    reply->ArrayHeader(lib->functions.size());
    for (const FunctionDef& f : lib->functions) {
      reply->MapHeader(3);
      reply->Bulk("name");
      reply->Bulk(f.name);
      reply->Bulk("description");
      if (f.has_description) {
        reply->Bulk(f.description);
      } else {
        reply->Null();
      }
      reply->Bulk("flags");
      ReplyFunctionFlags(reply, f.flags);
    }
    if (with_code) {
      reply->Bulk("library_code");
      reply->Bulk(lib->code);
    }
  }
}

void FunctionDump(CommandContext& ctx) {
  std::vector<std::shared_ptr<const Library>> libs = ctx.server->functions().All();
  std::vector<std::string_view> codes;
  codes.reserve(libs.size());
  for (const auto& lib : libs) codes.push_back(lib->code);
  ctx.reply->Bulk(EncodeFunctionDump(codes));
}

void FunctionRestore(CommandContext& ctx) {
  enum class Policy { kFlush, kAppend, kReplace } policy = Policy::kAppend;
  if (ctx.argc() > 4) {
    SubcommandSyntaxError(ctx);
    return;
  }
  if (ctx.argc() == 4) {
    std::string_view p = ctx.arg(3);
    if (EqualsIgnoreCase(p, "flush")) {
      policy = Policy::kFlush;
    } else if (EqualsIgnoreCase(p, "append")) {
      policy = Policy::kAppend;
    } else if (EqualsIgnoreCase(p, "replace")) {
      policy = Policy::kReplace;
    } else {
      ctx.reply->Error(
          "ERR Wrong restore policy given, value should be either FLUSH, APPEND or "
          "REPLACE.");
      return;
    }
  }
  std::vector<std::string> codes;
  std::string error;
  if (!DecodeFunctionDump(ctx.arg(2), &codes, &error)) {
    ctx.reply->Error("ERR " + error);
    return;
  }
  // The payload's libraries must stand together before they join the rest.
  std::vector<std::shared_ptr<const Library>> libs;
  FunctionRegistry staged;
  LuaVm& vm = LuaVm::ForFunctions();
  auto refuse = [&](const std::string& text) {
    for (const auto& lib : libs) vm.ForgetLibrary(lib->id);
    ctx.reply->Error(text);
  };
  for (const std::string& code : codes) {
    std::shared_ptr<const Library> lib = CompileLibrary(code, &error);
    if (lib == nullptr) {
      refuse(error);
      return;
    }
    libs.push_back(lib);
    if (!staged.Add(lib, false, &error)) {
      refuse("ERR " + error);
      return;
    }
  }
  FunctionRegistry& registry = ctx.server->functions();
  const bool restored = ChangeLibraries(ctx, [&](MutationListener* journal) {
    if (!registry.AddAll(libs, policy == Policy::kFlush, policy == Policy::kReplace,
                         &error)) {
      return false;
    }
    if (journal != nullptr) {
      if (policy == Policy::kFlush) journal->OnLibraryFlush();
      for (const auto& lib : libs) journal->OnLibraryPut(lib->name, lib->code);
    }
    return true;
  });
  if (!restored) {
    refuse("ERR " + error);
    return;
  }
  vm.SweepLibraries(registry);
  ctx.reply->Ok();
}

void FunctionStats(CommandContext& ctx) {
  ReplyBuilder* reply = ctx.reply;
  reply->MapHeader(2);
  reply->Bulk("running_script");
  std::string name;
  std::vector<std::string> command;
  int64_t since_ms = 0;
  if (ctx.server->scripts().RunningFunction(&name, &command, &since_ms)) {
    reply->MapHeader(3);
    reply->Bulk("name");
    reply->Bulk(name);
    reply->Bulk("command");
    reply->ArrayHeader(command.size());
    for (const std::string& a : command) reply->Bulk(a);
    reply->Bulk("duration_ms");
    reply->Integer(std::max<int64_t>(0, WallMs() - since_ms));
  } else {
    reply->Null();
  }
  FunctionRegistry& registry = ctx.server->functions();
  reply->Bulk("engines");
  reply->MapHeader(1);
  reply->Bulk("LUA");
  reply->MapHeader(2);
  reply->Bulk("libraries_count");
  reply->Integer(static_cast<int64_t>(registry.library_count()));
  reply->Bulk("functions_count");
  reply->Integer(static_cast<int64_t>(registry.function_count()));
}

void FunctionKill(CommandContext& ctx) { KillRunningScript(ctx, false); }

void FunctionHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "LOAD [REPLACE] <FUNCTION CODE>",
      "    Create a new library with the given library name and code.",
      "DELETE <LIBRARY NAME>",
      "    Delete the given library.",
      "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
      "    Return general information on all the libraries:",
      "    * Library name",
      "    * The engine used to run the Library",
      "    * Library description",
      "    * Functions list",
      "    * Library code (if WITHCODE is given)",
      "    It also possible to get only function that matches a pattern using "
      "LIBRARYNAME "
      "argument.",
      "STATS",
      "    Return information about the current function running:",
      "    * Function name",
      "    * Command used to run the function",
      "    * Duration in MS that the function is running",
      "    If no function is running, return nil",
      "    In addition, returns a list of available engines.",
      "KILL",
      "    Kill the current running function.",
      "FLUSH [ASYNC|SYNC]",
      "    Delete all the libraries.",
      "    When called without the optional mode argument, the behavior is determined by "
      "the",
      "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
      "    * ASYNC: Asynchronously flush the libraries.",
      "    * SYNC: Synchronously flush the libraries.",
      "DUMP",
      "    Return a serialized payload representing the current libraries, can be "
      "restored "
      "using FUNCTION RESTORE command",
      "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
      "    Restore the libraries represented by the given payload, it is possible to "
      "give a "
      "restore policy to",
      "    control how to handle existing libraries (default APPEND):",
      "    * FLUSH: delete all existing libraries.",
      "    * APPEND: appends the restored libraries to the existing libraries. On "
      "collision, "
      "abort.",
      "    * REPLACE: appends the restored libraries to the existing libraries, On "
      "collision, "
      "replace the old",
      "      libraries with the new libraries (notice that even on this option there is "
      "a "
      "chance of failure",
      "      in case of functions name collision with another library).",
  };
  ReplyHelp(ctx.reply, "FUNCTION", kLines);
}

}  // namespace

void RegisterFunctionFamily(CommandTable* t) {
  // The changing subcommands take every stripe themselves (ChangeLibraries).
  const uint32_t change = kWrite | kNoScript;
  const uint32_t fcall = kNoScript | kStale | kSkipMonitor | kNoMandatoryKeys;
  // clang-format off
  t->Add({"fcall", -3, fcall | kMayReplicate, 0, 0, 0, Fcall, "scripting", "Invoke a function", "scripting", {}});
  t->Add({"fcall_ro", -3, fcall | kReadOnly, 0, 0, 0, FcallRo, "scripting", "Invoke a read-only function", "scripting", {}});
  t->Add({"function", -2, 0, 0, 0, 0, nullptr, "scripting", "Function libraries", nullptr, {
      {"delete", 3, change, 0, 0, 0, FunctionDelete, "scripting", "Delete a library", "scripting", {}},
      {"dump", 2, kNoScript, 0, 0, 0, FunctionDump, "scripting", "Dump the libraries", "scripting", {}},
      {"flush", -2, change, 0, 0, 0, FunctionFlush, "scripting", "Delete every library", "scripting", {}},
      {"help", 2, kLoading | kStale, 0, 0, 0, FunctionHelp, "scripting", "Show help", "scripting", {}},
      {"kill", 2, kNoScript | kAllowBusy, 0, 0, 0, FunctionKill, "scripting", "End the running function", "scripting", {}},
      {"list", -2, kNoScript, 0, 0, 0, FunctionList, "scripting", "List the libraries", "scripting", {}},
      {"load", -3, change | kDenyOom, 0, 0, 0, FunctionLoad, "scripting", "Create a library", "scripting", {}},
      {"restore", -3, change | kDenyOom, 0, 0, 0, FunctionRestore, "scripting", "Restore libraries", "scripting", {}},
      {"stats", 2, kNoScript | kAllowBusy, 0, 0, 0, FunctionStats, "scripting", "The running function", "scripting", {}},
  }});
  // clang-format on
}

}  // namespace edgekv
