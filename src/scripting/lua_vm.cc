#include "lua_vm.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "commands/client_state.h"
#include "commands/command_table.h"
#include "commands/dispatcher.h"
#include "commands/server_context.h"
#include "commands/version.h"
#include "edgekv/log.h"
#include "edgekv/reply.h"
#include "function_registry.h"
#include "lua_libs.h"
#include "lua_reply.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

// Lua reports errors with longjmp: no function below calls into Lua in a way
// that may raise (lua_error, an allocation) while a C++ object with a
// destructor is alive in its frame. What must outlive such calls lives in
// ScriptRun or LuaVm.

namespace edgekv {
namespace {

thread_local ScriptRun* tl_run = nullptr;

// Every thread's state, for INFO.
struct StateRegistry {
  Mutex mu;
  std::set<const LuaVm*> states GUARDED_BY(mu);
};
StateRegistry& States() {
  static auto* registry = new StateRegistry();
  return *registry;
}

// The client a script's commands run as (Redis's "lua" client): its own
// database (SELECT in a script does not change the caller's) and RESP
// version (redis.setresp).
ClientState& LuaClient() {
  thread_local ClientState client;
  if (!client.authenticated) {
    client.addr = "lua";
    client.authenticated = true;
  }
  return client;
}

// Raises {err = msg} (a Redis error, as redis.call raises one).
int RaiseError(lua_State* L, const char* msg) {
  lua_createtable(L, 0, 1);
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "err");
  return lua_error(L);
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Keyed mode (ScriptRun::keyed): whether the command may run with the
// stripes the script holds, taking free ones its keys need, and, for a
// write, the keys' states saved to undo it. False: the script must run
// alone (escalate_always when that holds for any run of it).
constexpr size_t kMaxSavedBytes = size_t{4} << 20;
bool KeyedAdmit(ScriptRun& run, const CommandSpec& spec,
                std::span<const std::string_view> argv, int db) {
  static constexpr std::string_view kKeyless[] = {"ping", "echo", "time", "select"};
  if (WallUs() > run.keyed_deadline_us) {
    run.overran = true;
    return false;
  }
  if ((spec.flags & (kAllKeys | kDiskWalk)) || spec.name == "move" ||
      spec.name == "copy") {
    run.escalate_always = true;
    return false;
  }
  if (!HasKeys(spec)) {
    for (std::string_view name : kKeyless) {
      if (spec.name == name) return true;
    }
    run.escalate_always = true;
    return false;
  }
  Store& store = run.ctx->server->store();
  std::vector<std::string_view> keys = CommandKeys(spec, argv);
  for (std::string_view key : keys) {
    const size_t stripe = store.StripeOf(key);
    if (std::find(run.held.begin(), run.held.end(), stripe) != run.held.end()) continue;
    // A stripe is held for moments (a command, a pipeline's prefetch): try
    // a little before giving up; busy past that, maybe not next time.
    bool locked = false;
    for (int i = 0; i < 64 && !(locked = store.TryLockStripe(stripe)); ++i) CpuRelax();
    if (!locked) return false;
    run.held.push_back(stripe);
  }
  if (!(spec.flags & kWrite)) return true;
  const int64_t now = run.now_ms;
  for (std::string_view key : keys) {
    bool have = false;
    for (const ScriptRun::Saved& s : run.saved)
      have = have || (s.db == db && s.key == key);
    if (have) continue;
    ScriptRun::Saved saved{db, std::string(key), false, {}, kNoExpire, nullptr};
    // A collection on disk is not loaded to be copied: the script runs alone
    // instead, where its changes leave it on disk.
    if (std::optional<Store::KeyMeta> m = store.Meta(db, key, now, false);
        m.has_value() && m->on_disk) {
      return false;
    }
    if (const Entry* e = store.Find(db, key, now, false)) {
      saved.existed = true;
      saved.expire_ms = e->expire_ms();
      if (const Collection* c = e->collection()) {
        // A large collection is not copied: the script runs alone instead.
        if (run.saved_bytes + c->bytes() > kMaxSavedBytes) {
          run.escalate_always = true;
          return false;
        }
        saved.collection = c->Clone();
        run.saved_bytes += c->bytes();
      } else {
        saved.value.assign(e->value());
      }
    }
    run.saved_bytes += saved.key.size() + saved.value.size();
    run.saved.push_back(std::move(saved));
    if (run.saved_bytes > kMaxSavedBytes) {
      run.escalate_always = true;
      return false;
    }
  }
  return true;
}

// What redis.call decided before touching Lua again.
enum class CallOutcome { kReply, kError };

// Resolves and runs one command for the script (no Lua calls here). The
// reply is in run.scratch, or the error text in run.error.
CallOutcome RunForScript(ScriptRun& run) {
  ServerContext& server = *run.ctx->server;
  std::span<const std::string_view> argv(run.argv);
  run.scratch.clear();
  ReplyBuilder quiet(&run.scratch);
  const CommandSpec* refused = nullptr;
  const CommandSpec* spec = ResolveCommand(server.commands(), argv, quiet, &refused);
  run.scratch.clear();
  if (spec == nullptr) {
    run.error = refused != nullptr
                    ? "ERR Wrong number of args calling Redis command from script"
                    : "ERR Unknown Redis command called from script";
    return CallOutcome::kError;
  }
  if (spec->flags & kNoScript) {
    run.error = "ERR This Redis command is not allowed from script";
    return CallOutcome::kError;
  }
  if (spec->flags & kWrite) {
    if (run.read_only) {
      run.error = "ERR Write commands are not allowed from read-only scripts.";
      return CallOutcome::kError;
    }
    if (server.replication().is_replica()) {
      run.forward = run.forward_writes;
      run.error = "READONLY You can't write against a read only replica.";
      return CallOutcome::kError;
    }
  }
  // As Redis: out of memory only refuses a script's first write (a script
  // is not left half done for it); the flags' allow-oom skips it.
  if (spec->flags & (kWrite | kDenyOom)) {
    const bool check_oom = !run.wrote && !(run.flags & kScriptAllowOom);
    run.error = RefuseWrite(server, spec->flags, check_oom);
    if (!run.error.empty()) return CallOutcome::kError;
  }
  ClientState& client = LuaClient();
  // Inside EXEC every stripe is held already; alone among commands, each
  // command locks its keys; in keyed mode the script holds them.
  bool locked = run.ctx->all_locked;
  if (run.keyed) {
    if (!KeyedAdmit(run, *spec, argv, client.db.load(std::memory_order_relaxed))) {
      run.escalate = true;
      run.error = "ERR the script runs again alone";
      return CallOutcome::kError;
    }
    locked = HasKeys(*spec);
  }
  ReplyBuilder reply(&run.scratch);
  reply.set_resp(run.resp);
  client.resp.store(run.resp, std::memory_order_relaxed);
  // As Redis: the script's commands see the time it began (a key cannot
  // expire halfway through a script).
  CommandContext sub{argv, &reply, &client, &server, run.now_ms, locked, true};
  RunCommand(*spec, sub);
  if (spec->flags & kWrite) {
    run.wrote = true;
    if (run.cache != nullptr && !run.keyed) run.cache->MarkWrote();
  }
  return CallOutcome::kReply;
}

// redis.call (raise = true) and redis.pcall.
int GenericCall(lua_State* L, bool raise) {
  ScriptRun* run = tl_run;
  const int argc = lua_gettop(L);
  if (run == nullptr)
    return RaiseError(L, "ERR redis.call is only available in a script");
  if (run->escalate) return RaiseError(L, "ERR the script runs again alone");
  if (argc == 0) {
    PushErrorTable(L, "Please specify at least one argument for this redis lib call", 60);
    return raise ? lua_error(L) : 1;
  }
  run->argv.clear();
  run->numbers.clear();
  run->numbers.reserve(static_cast<size_t>(argc));
  for (int i = 1; i <= argc; ++i) {
    int type = lua_type(L, i);
    if (type == LUA_TNUMBER) {
      // %.17g, as Redis: Lua's own conversion loses precision.
      char buf[64];
      int n = std::snprintf(buf, sizeof(buf), "%.17g", lua_tonumber(L, i));
      run->numbers.emplace_back(buf, static_cast<size_t>(n));
      run->argv.push_back(run->numbers.back());
    } else if (type == LUA_TSTRING) {
      size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);
      run->argv.emplace_back(s, len);
    } else {
      run->argv.clear();
      run->numbers.clear();
      static constexpr char kMsg[] =
          "Lua redis lib command arguments must be strings or integers";
      PushErrorTable(L, kMsg, sizeof(kMsg) - 1);
      return raise ? lua_error(L) : 1;
    }
  }
  CallOutcome outcome = RunForScript(*run);
  run->argv.clear();
  run->numbers.clear();
  if (outcome == CallOutcome::kError) {
    run->error.insert(0, 1, '-');  // no local string: lua_error skips destructors
    PushErrorTable(L, run->error.data(), run->error.size());
    // A script to forward or to run again alone stops here, even under
    // redis.pcall.
    return raise || run->forward || run->escalate ? lua_error(L) : 1;
  }
  bool is_error = PushRespAsLua(L, run->scratch.data(), run->scratch.size());
  if (is_error && raise) return lua_error(L);
  return 1;
}

// A library's code running for FUNCTION LOAD (or a thread's first use).
struct LoadContext {
  std::vector<FunctionDef>* functions;
  int callbacks_ref;  // registry slot of the table of the library's callbacks
  std::chrono::steady_clock::time_point deadline;
};
thread_local LoadContext* tl_load = nullptr;
// As Redis: a library's code has half a second to register its functions.
constexpr auto kLoadTimeout = std::chrono::milliseconds(500);

// redis.register_function(name, callback) or ({function_name=, callback=,
// flags=, description=}). Raises before anything with a destructor exists.
int RegisterFunction(lua_State* L) {
  LoadContext* load = tl_load;
  if (load == nullptr)
    return RaiseError(
        L, "ERR redis.register_function can only be called on FUNCTION LOAD command");
  const int argc = lua_gettop(L);
  int name_index = 0, callback_index = 0, description_index = 0;
  uint32_t flags = kScriptHasShebang;
  if (argc == 1) {
    if (!lua_istable(L, 1)) {
      return RaiseError(
          L,
          "ERR calling redis.register_function with a single argument is only "
          "applicable to Lua table (representing named arguments).");
    }
    // Four fixed slots (2..5) keep the values found; the loop's stack stays
    // the key and its value, however many keys the table has.
    lua_settop(L, 5);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
      // key at -2, value at -1.
      if (!lua_isstring(L, -2)) {
        return RaiseError(
            L, "ERR named argument key given to redis.register_function is not a string");
      }
      // A number key is only unknown (lua_tostring would change it in place).
      const char* key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      const int value = lua_gettop(L);
      if (strcasecmp(key, "function_name") == 0) {
        if (!lua_isstring(L, value)) {
          return RaiseError(L,
                            "ERR function_name argument given to redis.register_function "
                            "must be a string");
        }
        name_index = 2;
      } else if (strcasecmp(key, "description") == 0) {
        if (!lua_isstring(L, value)) {
          return RaiseError(L,
                            "ERR description argument given to redis.register_function "
                            "must be a string");
        }
        description_index = 3;
      } else if (strcasecmp(key, "callback") == 0) {
        if (!lua_isfunction(L, value)) {
          return RaiseError(L,
                            "ERR callback argument given to redis.register_function must "
                            "be a function");
        }
        callback_index = 4;
      } else if (strcasecmp(key, "flags") == 0) {
        if (!lua_istable(L, value)) {
          return RaiseError(
              L,
              "ERR flags argument to redis.register_function must be a table "
              "representing function flags");
        }
        for (int i = 1;; ++i) {
          lua_rawgeti(L, value, i);
          if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
          }
          const char* flag = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
          uint32_t bit = 0;
          if (strcasecmp(flag, "no-writes") == 0) {
            bit = kScriptNoWrites;
          } else if (strcasecmp(flag, "allow-oom") == 0) {
            bit = kScriptAllowOom;
          } else if (strcasecmp(flag, "allow-stale") == 0) {
            bit = kScriptAllowStale;
          } else if (strcasecmp(flag, "no-cluster") == 0) {
            bit = kScriptNoCluster;
          } else if (strcasecmp(flag, "allow-cross-slot-keys") == 0) {
            bit = kScriptAllowCrossSlot;
          }
          if (bit == 0) return RaiseError(L, "ERR unknown flag given");
          flags |= bit;
          lua_pop(L, 1);
        }
      } else {
        return RaiseError(L, "ERR unknown argument given to redis.register_function");
      }
      if (strcasecmp(key, "function_name") == 0) {
        lua_replace(L, 2);
      } else if (strcasecmp(key, "description") == 0) {
        lua_replace(L, 3);
      } else if (strcasecmp(key, "callback") == 0) {
        lua_replace(L, 4);
      } else {
        lua_pop(L, 1);  // flags: read already
      }
    }
    if (name_index == 0)
      return RaiseError(L,
                        "ERR redis.register_function must get a function name argument");
    if (callback_index == 0)
      return RaiseError(L, "ERR redis.register_function must get a callback argument");
  } else if (argc == 2) {
    if (!lua_isstring(L, 1)) {
      return RaiseError(L,
                        "ERR first argument to redis.register_function must be a string");
    }
    if (!lua_isfunction(L, 2)) {
      return RaiseError(
          L, "ERR second argument to redis.register_function must be a function");
    }
    name_index = 1;
    callback_index = 2;
  } else {
    return RaiseError(L, "ERR wrong number of arguments to redis.register_function");
  }
  size_t name_len = 0;
  const char* name = lua_tolstring(L, name_index, &name_len);
  if (!ValidFunctionName(std::string_view(name, name_len))) {
    // Redis 7.0 says "Library" here too.
    return RaiseError(L,
                      "ERR Library names can only contain letters, numbers, or "
                      "underscores(_) and must be at least one character long");
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, load->callbacks_ref);
  const int callbacks = lua_gettop(L);
  lua_pushvalue(L, name_index);
  lua_rawget(L, callbacks);
  const bool taken = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (taken) return RaiseError(L, "ERR Function already exists in the library");
  lua_pushvalue(L, name_index);
  lua_pushvalue(L, callback_index);
  lua_rawset(L, callbacks);
  size_t description_len = 0;
  const char* description = description_index != 0
                                ? lua_tolstring(L, description_index, &description_len)
                                : nullptr;
  FunctionDef& def = load->functions->emplace_back();
  def.name.assign(name, name_len);
  if (description != nullptr) {
    def.description.assign(description, description_len);
    def.has_description = true;
  }
  def.flags = flags;
  return 0;
}

// Every kHookInstructions instructions: SCRIPT KILL ends a script that has
// not written.
constexpr int kHookInstructions = 100000;
void Hook(lua_State* L, lua_Debug*) {
  if (tl_load != nullptr && std::chrono::steady_clock::now() > tl_load->deadline) {
    RaiseError(L, "ERR FUNCTION LOAD timeout");
  }
  ScriptRun* run = tl_run;
  if (run == nullptr || run->cache == nullptr) return;
  // A script being stopped is stopped at every instruction from then on
  // (CallAndReply restores the count): a pcall in a loop cannot outlast it.
  if (run->cache->aborting()) {
    run->aborted = true;
    lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
    RaiseError(L, "ERR Script killed by user with SHUTDOWN NOSAVE...");
  }
  if (run->keyed && !run->escalate && WallUs() > run->keyed_deadline_us) {
    run->escalate = true;
    run->overran = true;
  }
  if (run->escalate) {
    lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
    RaiseError(L, "ERR the script runs again alone");
  }
  if (run->killed || (!run->keyed && !run->wrote && run->cache->TakeKill())) {
    run->killed = true;
    lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
    RaiseError(L, "ERR Script killed by user with SCRIPT KILL...");
  }
  // Running alone past busy-reply-threshold: this thread's other clients
  // are to be answered BUSY elsewhere rather than wait for it.
  if (!run->keyed && !run->cache->busy_noticed() && run->ctx != nullptr &&
      run->ctx->server->ScriptBusy(WallMs())) {
    run->cache->NoticeBusy();
  }
}

int RedisCall(lua_State* L) { return GenericCall(L, true); }
int RedisPcall(lua_State* L) { return GenericCall(L, false); }

int RedisSha1Hex(lua_State* L) {
  if (lua_gettop(L) != 1) return RaiseError(L, "ERR wrong number of arguments");
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  if (s == nullptr) {
    s = "";
    len = 0;
  }
  char hex[41];
  {
    std::string h = Sha1Hex(std::string_view(s, len));
    std::memcpy(hex, h.data(), 40);
  }
  hex[40] = '\0';
  lua_pushlstring(L, hex, 40);
  return 1;
}

// A wrong call returns the error (it is not raised), as Redis's does.
int ReturnArgumentError(lua_State* L) {
  static constexpr char kMsg[] = "-ERR wrong number or type of arguments";
  PushErrorTable(L, kMsg, sizeof(kMsg) - 1);
  return 1;
}

int RedisErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) return ReturnArgumentError(L);
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  if (len == 0 || s[0] != '-') {
    // "-" is added first, as Redis does: the first word is then the code.
    lua_pushliteral(L, "-");
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    s = lua_tolstring(L, -1, &len);
  }
  PushErrorTable(L, s, len);
  return 1;
}

int RedisStatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) return ReturnArgumentError(L);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "ok");
  return 1;
}

int RedisLog(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return RaiseError(L, "ERR redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1))
    return RaiseError(L, "ERR First argument must be a number (log level).");
  const lua_Number level = lua_tonumber(L, 1);
  if (level < 0 || level > 3) return RaiseError(L, "ERR Invalid debug level.");
  if (!lua_checkstack(L, 2 * argc))
    return RaiseError(L, "ERR too many arguments to redis.log");
  for (int i = 2; i <= argc; ++i) {
    if (i > 2) lua_pushliteral(L, " ");
    lua_pushvalue(L, i);
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 1);
      lua_pushliteral(L, "");
    }
  }
  lua_concat(L, 2 * (argc - 1) - 1);
  size_t len = 0;
  const char* msg = lua_tolstring(L, -1, &len);
  LogLevel lv = static_cast<LogLevel>(static_cast<int>(level));
  if (LogEnabled(lv)) LogWrite(lv, std::string_view(msg, len));
  return 0;
}

int RedisSetResp(lua_State* L) {
  if (lua_gettop(L) != 1)
    return RaiseError(L, "ERR redis.setresp() requires one argument.");
  lua_Number v = lua_tonumber(L, 1);
  if (v != 2 && v != 3) return RaiseError(L, "ERR RESP version must be 2 or 3.");
  if (tl_run != nullptr) tl_run->resp = static_cast<int>(v);
  return 0;
}

// Scripts' effects are what edgekv replicates, always: accepted, no effect.
int RedisSetRepl(lua_State* L) {
  if (lua_gettop(L) != 1)
    return RaiseError(L, "ERR redis.set_repl() requires one argument.");
  lua_Number v = lua_tonumber(L, 1);
  if (v < 0 || v > 3 || v != static_cast<int>(v)) {
    return RaiseError(L,
                      "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                      "REPL_ALL or REPL_NONE.");
  }
  return 0;
}

int RedisReplicateCommands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

// Every user may run every command until edgekv has ACL users.
int RedisAclCheckCmd(lua_State* L) {
  ScriptRun* run = tl_run;
  const int argc = lua_gettop(L);
  if (argc == 0)
    return RaiseError(L,
                      "ERR Please specify at least one argument for this redis lib call");
  size_t len = 0;
  const char* name = lua_tolstring(L, 1, &len);
  bool known = false;
  if (name != nullptr && run != nullptr) {
    known = run->ctx->server->commands().Find(std::string_view(name, len)) != nullptr;
  }
  if (!known) return RaiseError(L, "ERR Invalid command passed to redis.acl_check_cmd()");
  lua_pushboolean(L, 1);
  return 1;
}

int RedisBreakpoint(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}

int RedisDebug(lua_State*) { return 0; }

// Lua's pcall, as Redis replaces it: an error raised as a Redis error
// table ({err = ...}) is caught as its message, as scripts written for
// Redis before 7.0 expect.
int Pcall(lua_State* L) {
  const int argc = lua_gettop(L);
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
    // Stopping the script is not an error it may catch.
    if (const ScriptRun* run = tl_run;
        run != nullptr && (run->escalate || run->aborted || run->killed)) {
      return lua_error(L);
    }
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) {
        lua_replace(L, -2);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

constexpr char kTostringKey[] = "edgekv.tostring";

// The error handler every script runs under (Redis's
// __redis__err__handler): a string error becomes {err = "ERR " .. msg}; the
// table gets the source and line of the script where it was raised.
int ErrorHandler(lua_State* L) {
  // As Redis: the function that raised it, or its caller when that is a C
  // function. The sandbox's own functions (its read-only guards) stand for
  // C functions there.
  lua_Debug ar;
  int level = 1;
  bool have = false;
  bool skipped_c = false;
  while (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar)) {
    ++level;
    if (std::strcmp(ar.source, "=sandbox") == 0) continue;
    if (std::strcmp(ar.what, "C") == 0 && !skipped_c) {
      skipped_c = true;
      continue;
    }
    have = true;
    break;
  }
  if (!lua_istable(L, 1)) {
    // Lua's own tostring, whatever the globals show now (a function
    // library's code runs with almost none).
    lua_getfield(L, LUA_REGISTRYINDEX, kTostringKey);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_pushliteral(L, "ERR ");
    lua_insert(L, -2);
    lua_concat(L, 2);
    lua_createtable(L, 0, 3);
    lua_insert(L, -2);
    lua_setfield(L, -2, "err");
    lua_replace(L, 1);
  }
  if (have) {
    lua_pushliteral(L, "source");
    lua_pushstring(L, ar.source);
    lua_rawset(L, 1);
    lua_pushliteral(L, "line");
    lua_pushinteger(L, ar.currentline);
    lua_rawset(L, 1);
  }
  lua_settop(L, 1);
  return 1;
}

// Run with the real globals once, when the state is made: makes every
// global and library read-only (a proxy whose reads pass through), hides
// what Redis does not offer, refuses bytecode, and returns the proxy of the
// globals, which becomes the globals of every script.
constexpr char kSandbox[] = R"lua(
local G = _G
local real_rawset, real_rawget, real_next, real_pairs = rawset, rawget, next, pairs
local setmetatable, getmetatable, error, tostring, type = setmetatable, getmetatable, error, tostring, type
local real_loadstring, concat = loadstring, table.concat
local proxies = {}  -- proxy -> the table it guards
local guarded = {}  -- the tables proxies guard
local function readonly() error("Attempt to modify a readonly table", 2) end
local function protect(t)
  local p = {}
  proxies[p] = t
  guarded[t] = true
  setmetatable(p, {__index = t, __newindex = readonly, __metatable = false})
  return p
end
for _, name in ipairs({"dofile", "loadfile", "print", "require", "module", "getfenv",
                       "setfenv", "newproxy", "package", "os", "io", "debug", "_VERSION"}) do
  G[name] = nil
end
G._VERSION = "Lua 5.1"
local function binary(s) return type(s) == "string" and s:byte(1) == 27 end
G.loadstring = function(s, name)
  if binary(s) then return nil, "attempt to load a binary chunk" end
  return real_loadstring(s, name)
end
G.load = function(f, name)
  if type(f) ~= "function" then return real_loadstring(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  local s = concat(parts)
  if binary(s) then return nil, "attempt to load a binary chunk" end
  return real_loadstring(s, name or "=(load)")
end
G.rawset = function(t, k, v)
  if proxies[t] or guarded[t] then error("Attempt to modify a readonly table", 0) end
  return real_rawset(t, k, v)
end
G.rawget = function(t, k) return real_rawget(proxies[t] or t, k) end
local guarded_next = function(t, k) return real_next(proxies[t] or t, k) end
G.next = guarded_next
-- pairs of a proxy iterates through it: the table it guards never reaches
-- the script.
G.pairs = function(t)
  if proxies[t] then return guarded_next, t, nil end
  return real_pairs(t)
end
for _, name in ipairs({"string", "table", "math", "coroutine", "cjson", "bit", "struct",
                       "cmsgpack", "redis"}) do
  if G[name] ~= nil then G[name] = protect(G[name]) end
end
local smt = getmetatable("")
smt.__index = G.string
smt.__metatable = protect(smt)
setmetatable(G, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = readonly,
  __metatable = false})
local env = protect(G)
real_rawset(G, "_G", env)
return env
)lua";

// Functions' states, after the sandbox: the globals become an empty table
// whose reads go to what a library's code may see while it loads (only a
// `redis` with register_function, log and the version, as Redis) or, when
// functions run, to the sandbox's globals. Returns the globals, their
// metatable (whose __index switches) and the load-time view.
constexpr char kFunctionEnv[] = R"lua(
local env, register = ...
local redis = env.redis
local error, tostring, setmetatable = error, tostring, setmetatable
local function readonly() error("Attempt to modify a readonly table", 2) end
local function api(t)
  return setmetatable({}, {
    __index = function(_, k)
      local v = t[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly,
    __metatable = false})
end
local load_redis = api({register_function = register, log = redis.log,
  LOG_DEBUG = redis.LOG_DEBUG, LOG_VERBOSE = redis.LOG_VERBOSE, LOG_NOTICE = redis.LOG_NOTICE,
  LOG_WARNING = redis.LOG_WARNING, REDIS_VERSION = redis.REDIS_VERSION,
  REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM})
local load_api = api({redis = load_redis})
local meta = {__index = env, __newindex = readonly, __metatable = false}
return setmetatable({}, meta), meta, load_api
)lua";

void OpenLib(lua_State* L, const char* name, lua_CFunction open) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  if (lua_istable(L, -1)) {
    lua_setglobal(L, name);
  } else {
    lua_pop(L, 1);
  }
}

// Runs the C function in the registry slot `fn_ref` with `job` (a light
// userdata) as its argument, protected: lua_cpcall without the closure it
// makes on every call. Nonzero with the error on the stack.
int ProtectedCall(lua_State* L, int fn_ref, void* job) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  lua_pushlightuserdata(L, job);
  return lua_pcall(L, 1, 0, 0);
}

// Writes a script's result (the registry slot `ref`) as the reply; run
// protected so that a Lua error cannot escape.
struct WriteJob {
  int ref;
  ReplyBuilder* reply;
  int script_resp;
};
int WriteResult(lua_State* L) {
  auto* job = static_cast<WriteJob*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, job->ref);
  WriteLuaAsReply(L, *job->reply, job->script_resp);
  return 0;
}

void PushArray(lua_State* L, std::span<const std::string_view> items) {
  lua_createtable(L, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    lua_pushlstring(L, items[i].data(), items[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
}

// Whether the table on top of the stack holds nothing but keys 1..n and has
// no metatable: what an array of n items the last script was given looks
// like once that script is done with it, unless the script changed it.
bool PlainArrayUpTo(lua_State* L, size_t n) {
  if (lua_getmetatable(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    const lua_Number k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (!(k >= 1 && k <= static_cast<lua_Number>(n) &&
          k == static_cast<lua_Number>(static_cast<int64_t>(k)))) {
      lua_pop(L, 1);
      return false;
    }
  }
  return true;
}

// EVAL's KEYS or ARGV: the table in the registry slot `ref` again, refilled,
// when the last script left it a plain array of at most kReusedItems items
// (*n says how many it was given; SIZE_MAX when unknown), else a new table
// stored there. Scripts cannot keep a table past their run (globals and
// libraries are read-only and a script's chunk has no upvalues), so a script
// cannot tell the difference; the two tables and the garbage they would be
// are saved on every call.
constexpr size_t kReusedItems = 64;
void FillArgs(lua_State* L, int ref, std::span<const std::string_view> items, size_t* n) {
  const size_t before = *n;
  *n = SIZE_MAX;  // until refilled: a Lua error may cut this short
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  const bool reuse = lua_istable(L, -1) && before <= kReusedItems &&
                     items.size() <= kReusedItems && PlainArrayUpTo(L, before);
  if (!reuse) {
    lua_pop(L, 1);
    PushArray(L, items);
    lua_rawseti(L, LUA_REGISTRYINDEX, ref);
    *n = items.size();
    return;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    lua_pushlstring(L, items[i].data(), items[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  for (size_t i = items.size() + 1; i <= before; ++i) {
    lua_pushnil(L);
    lua_rawseti(L, -2, static_cast<int>(i));
  }
  lua_pop(L, 1);
  *n = items.size();
}

// Sets KEYS and ARGV in the real globals.
struct ArgsJob {
  int globals_ref;
  int keys_ref;
  int args_ref;
  size_t* keys_n;
  size_t* args_n;
  ScriptRun* run;
};
int SetArgs(lua_State* L) {
  auto* job = static_cast<ArgsJob*>(lua_touserdata(L, 1));
  FillArgs(L, job->keys_ref, job->run->keys, job->keys_n);
  FillArgs(L, job->args_ref, job->run->args, job->args_n);
  lua_rawgeti(L, LUA_REGISTRYINDEX, job->globals_ref);
  lua_pushliteral(L, "KEYS");
  lua_rawgeti(L, LUA_REGISTRYINDEX, job->keys_ref);
  lua_rawset(L, -3);
  lua_pushliteral(L, "ARGV");
  lua_rawgeti(L, LUA_REGISTRYINDEX, job->args_ref);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 0;
}

// A function's two arguments (KEYS and ARGV as tables), kept in the
// registry slots `keys_ref` and `args_ref`.
struct FunctionArgsJob {
  int keys_ref;
  int args_ref;
  ScriptRun* run;
};
int SetFunctionArgs(lua_State* L) {
  auto* job = static_cast<FunctionArgsJob*>(lua_touserdata(L, 1));
  PushArray(L, job->run->keys);
  lua_rawseti(L, LUA_REGISTRYINDEX, job->keys_ref);
  PushArray(L, job->run->args);
  lua_rawseti(L, LUA_REGISTRYINDEX, job->args_ref);
  return 0;
}

}  // namespace

void* LuaVm::Alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* vm = static_cast<LuaVm*>(ud);
  if (nsize == 0) {
    vm->used_bytes_ -= static_cast<int64_t>(osize);
    std::free(ptr);
    return nullptr;
  }
  const int64_t grow = static_cast<int64_t>(nsize) - static_cast<int64_t>(osize);
  if (grow > 0 && vm->used_bytes_ + grow > kMaxBytes && vm->L_ != nullptr) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p != nullptr) vm->used_bytes_ += grow;
  return p;
}

LuaVm::LuaVm(uint64_t generation, bool function_state)
    : generation_(generation), functions_mode_(function_state) {
  L_ = lua_newstate(Alloc, this);
  lua_State* L = L_;
  const std::pair<const char*, lua_CFunction> libs[] = {{"", luaopen_base},
                                                        {LUA_TABLIBNAME, luaopen_table},
                                                        {LUA_STRLIBNAME, luaopen_string},
                                                        {LUA_MATHLIBNAME, luaopen_math}};
  for (const auto& [name, open] : libs) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
  }
  OpenLib(L, "cjson", luaopen_cjson);
  OpenLib(L, "bit", luaopen_bit);
  OpenLib(L, "struct", luaopen_struct);
  OpenLib(L, "cmsgpack", luaopen_cmsgpack);

  lua_newtable(L);
  const std::pair<const char*, lua_CFunction> functions[] = {
      {"call", RedisCall},
      {"pcall", RedisPcall},
      {"sha1hex", RedisSha1Hex},
      {"error_reply", RedisErrorReply},
      {"status_reply", RedisStatusReply},
      {"log", RedisLog},
      {"setresp", RedisSetResp},
      {"set_repl", RedisSetRepl},
      {"replicate_commands", RedisReplicateCommands},
      {"acl_check_cmd", RedisAclCheckCmd},
      {"breakpoint", RedisBreakpoint},
      {"debug", RedisDebug}};
  for (const auto& [name, fn] : functions) {
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
  }
  const std::pair<const char*, int> constants[] = {
      {"LOG_DEBUG", 0},   {"LOG_VERBOSE", 1},  {"LOG_NOTICE", 2},
      {"LOG_WARNING", 3}, {"REPL_NONE", 0},    {"REPL_AOF", 1},
      {"REPL_SLAVE", 2},  {"REPL_REPLICA", 2}, {"REPL_ALL", 3}};
  for (const auto& [name, v] : constants) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
  }
  lua_pushstring(L, kRedisCompatVersion);
  lua_setfield(L, -2, "REDIS_VERSION");
  {
    int major = 0, minor = 0, patch = 0;
    std::sscanf(kRedisCompatVersion, "%d.%d.%d", &major, &minor, &patch);
    lua_pushinteger(L, (major << 16) | (minor << 8) | patch);
  }
  lua_setfield(L, -2, "REDIS_VERSION_NUM");
  lua_setglobal(L, "redis");
  lua_pushcfunction(L, Pcall);
  lua_setglobal(L, "pcall");
  lua_pushcfunction(L, ErrorHandler);
  lua_setglobal(L, "__redis__err__handler");

  lua_getglobal(L, "tostring");
  lua_setfield(L, LUA_REGISTRYINDEX, kTostringKey);
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  globals_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  functions_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  for (RecentScript& recent : recent_) {
    lua_pushboolean(L, 0);
    recent.ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_pushcfunction(L, ErrorHandler);
  handler_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  result_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  eval_keys_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  eval_args_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, SetArgs);
  set_args_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, SetFunctionArgs);
  set_function_args_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, WriteResult);
  write_result_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  // Interned for good: the reply writer's field names never allocate.
  lua_newtable(L);
  for (const char* name : {"err", "ok", "double", "big_number", "map", "set",
                           "verbatim_string", "format", "string"}) {
    lua_pushstring(L, name);
    lua_rawseti(L, -2, static_cast<int>(lua_objlen(L, -2) + 1));
  }
  names_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);

  if (luaL_loadbuffer(L, kSandbox, sizeof(kSandbox) - 1, "=sandbox") != 0 ||
      lua_pcall(L, 0, 1, 0) != 0) {
    Log(LogLevel::kWarning, "Lua sandbox setup failed: {}", lua_tostring(L, -1));
    std::abort();
  }
  lua_replace(L, LUA_GLOBALSINDEX);
  if (functions_mode_) SetUpFunctions();
  lua_gc(L, LUA_GCCOLLECT, 0);
  lua_sethook(L, Hook, LUA_MASKCOUNT, kHookInstructions);
  published_bytes_.store(used_bytes_, std::memory_order_relaxed);
  StateRegistry& registry = States();
  MutexLock lock(&registry.mu);
  registry.states.insert(this);
}

void LuaVm::SetUpFunctions() {
  lua_State* L = L_;
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  run_api_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  if (luaL_loadbuffer(L, kFunctionEnv, sizeof(kFunctionEnv) - 1, "=sandbox") != 0) {
    Log(LogLevel::kWarning, "Lua function setup failed: {}", lua_tostring(L, -1));
    std::abort();
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, run_api_ref_);
  lua_pushcfunction(L, RegisterFunction);
  if (lua_pcall(L, 2, 3, 0) != 0) {
    Log(LogLevel::kWarning, "Lua function setup failed: {}", lua_tostring(L, -1));
    std::abort();
  }
  load_api_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  env_meta_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_newtable(L);
  libraries_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  keys_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0);
  args_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
}

LuaVm::~LuaVm() {
  {
    StateRegistry& registry = States();
    MutexLock lock(&registry.mu);
    registry.states.erase(this);
  }
  lua_close(L_);
}

int64_t LuaVm::AllStatesBytes() {
  StateRegistry& registry = States();
  MutexLock lock(&registry.mu);
  int64_t total = 0;
  for (const LuaVm* vm : registry.states) {
    total += vm->published_bytes_.load(std::memory_order_relaxed);
  }
  return total;
}

LuaVm& LuaVm::ForThread(const ScriptCache& cache) {
  thread_local std::unique_ptr<LuaVm> vm;
  const uint64_t gen = cache.generation();
  if (vm == nullptr || vm->generation_ != gen) {
    vm.reset();
    vm.reset(new LuaVm(gen, false));
  }
  return *vm;
}

ScriptRun& NewScriptRun() {
  thread_local ScriptRun run;
  run.script = nullptr;
  run.function = nullptr;
  run.name = {};
  run.flags = 0;
  run.ctx = nullptr;
  run.cache = nullptr;
  run.keys = {};
  run.args = {};
  run.read_only = run.wrote = run.aborted = false;
  run.forward_writes = run.forward = false;
  run.resp = 2;
  run.now_ms = 0;
  run.argv.clear();
  run.numbers.clear();
  run.scratch.clear();
  run.error.clear();
  run.strikes = nullptr;
  run.killed = false;
  run.EndKeyed();
  return run;
}

LuaVm& LuaVm::ForFunctions() {
  thread_local std::unique_ptr<LuaVm> vm(new LuaVm(0, true));
  return *vm;
}

namespace {
// Points the function state's globals at `api_ref`'s table.
void SwitchGlobals(lua_State* L, int meta_ref, int api_ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, meta_ref);
  lua_pushliteral(L, "__index");
  lua_rawgeti(L, LUA_REGISTRYINDEX, api_ref);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}
}  // namespace

bool LuaVm::LoadLibrary(const Library& library, std::vector<FunctionDef>* functions,
                        std::string* error) {
  lua_State* L = L_;
  functions->clear();
  if (!lua_checkstack(L, 8)) {
    *error = "ERR Error registering functions: not enough memory";
    return false;
  }
  lua_newtable(L);  // the callbacks
  const int callbacks = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, handler_ref_);
  if (luaL_loadbuffer(L, library.body.data(), library.body.size(), "@user_function") !=
      0) {
    const char* msg = lua_tostring(L, -1);
    *error = std::string("ERR Error compiling function: ") + (msg != nullptr ? msg : "?");
    lua_settop(L, callbacks - 1);
    return false;
  }
  SwitchGlobals(L, env_meta_ref_, load_api_ref_);
  lua_pushvalue(L, callbacks);
  LoadContext load{functions, luaL_ref(L, LUA_REGISTRYINDEX),
                   std::chrono::steady_clock::now() + kLoadTimeout};
  tl_load = &load;
  const int status = lua_pcall(L, 0, 0, callbacks + 1);
  tl_load = nullptr;
  luaL_unref(L, LUA_REGISTRYINDEX, load.callbacks_ref);
  SwitchGlobals(L, env_meta_ref_, run_api_ref_);
  if (status != 0) {
    std::string msg;
    if (lua_istable(L, -1)) {
      lua_pushliteral(L, "err");
      lua_rawget(L, -2);
      if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
      lua_pop(L, 1);
    } else if (const char* m = lua_tostring(L, -1)) {
      msg = m;
    }
    *error = "ERR Error registering functions: " + msg;
    lua_settop(L, callbacks - 1);
    functions->clear();
    return false;
  }
  if (functions->empty()) {
    *error = "ERR No functions registered";
    lua_settop(L, callbacks - 1);
    return false;
  }
  std::sort(functions->begin(), functions->end(),
            [](const FunctionDef& a, const FunctionDef& b) { return a.name < b.name; });
  lua_rawgeti(L, LUA_REGISTRYINDEX, libraries_ref_);
  lua_pushnumber(L, static_cast<lua_Number>(library.id));
  lua_pushvalue(L, callbacks);
  lua_rawset(L, -3);
  lua_settop(L, callbacks - 1);
  published_bytes_.store(used_bytes_, std::memory_order_relaxed);
  return true;
}

bool LuaVm::EnsureLibrary(const Library& library, std::string* error) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, libraries_ref_);
  lua_pushnumber(L, static_cast<lua_Number>(library.id));
  lua_rawget(L, -2);
  const bool have = !lua_isnil(L, -1);
  lua_pop(L, 2);
  if (have) return true;
  std::vector<FunctionDef> functions;
  return LoadLibrary(library, &functions, error);
}

void LuaVm::ForgetLibrary(uint64_t id) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, libraries_ref_);
  lua_pushnumber(L, static_cast<lua_Number>(id));
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

void LuaVm::SweepLibraries(const FunctionRegistry& registry) {
  const uint64_t generation = registry.generation();
  if (generation == libraries_generation_) return;
  libraries_generation_ = generation;
  std::set<uint64_t> live;
  for (const auto& lib : registry.All()) live.insert(lib->id);
  lua_State* L = L_;
  std::vector<lua_Number> gone;
  lua_rawgeti(L, LUA_REGISTRYINDEX, libraries_ref_);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    lua_Number id = lua_tonumber(L, -1);
    if (live.count(static_cast<uint64_t>(id)) == 0) gone.push_back(id);
  }
  for (lua_Number id : gone) {
    lua_pushnumber(L, id);
    lua_pushnil(L);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
}

void LuaVm::RunFunction(ScriptRun& run, const Library& library) {
  lua_State* L = L_;
  ClientState& lua_client = LuaClient();
  lua_client.db.store(run.ctx->client->db.load(std::memory_order_relaxed),
                      std::memory_order_relaxed);
  run.resp = 2;
  FunctionArgsJob args{keys_ref_, args_ref_, &run};
  if (ProtectedCall(L, set_function_args_ref_, &args) != 0) {
    lua_pop(L, 1);
    run.ctx->reply->Error("ERR not enough memory for the function's keys and arguments");
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, handler_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, libraries_ref_);
  lua_pushnumber(L, static_cast<lua_Number>(library.id));
  lua_rawget(L, -2);
  lua_remove(L, -2);
  lua_pushlstring(L, run.function->name.data(), run.function->name.size());
  lua_rawget(L, -2);
  lua_remove(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, keys_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, args_ref_);
  CallAndReply(run, 2);
  lua_pushboolean(L, 0);
  lua_rawseti(L, LUA_REGISTRYINDEX, keys_ref_);
  lua_pushboolean(L, 0);
  lua_rawseti(L, LUA_REGISTRYINDEX, args_ref_);
  if (used_bytes_ > (int64_t{64} << 20)) lua_gc(L, LUA_GCCOLLECT, 0);
  published_bytes_.store(used_bytes_, std::memory_order_relaxed);
}

bool LuaVm::Compile(const Script& script, const ScriptCache& cache, std::string* error) {
  lua_State* L = L_;
  // A SHA1 names one body, so an entry whose SHA1 matches holds its function.
  RecentScript& recent = recent_[RecentIndex(script.sha)];
  if (recent.sha == script.sha) {
    current_ref_ = recent.ref;
    return true;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, functions_ref_);
  lua_getfield(L, -1, script.sha.c_str());
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 2);
    if (compiled_ > cache.size() + 64) Sweep(cache);
    lua_rawgeti(L, LUA_REGISTRYINDEX, functions_ref_);
    if (luaL_loadbuffer(L, script.code.data(), script.code.size(), "@user_script") != 0) {
      const char* msg = lua_tostring(L, -1);
      *error = std::string("ERR Error compiling script (new function): ") +
               (msg != nullptr ? msg : "?");
      lua_pop(L, 2);
      return false;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, script.sha.c_str());
    ++compiled_;
  }
  // The function is on top, its table below.
  lua_rawseti(L, LUA_REGISTRYINDEX, recent.ref);
  lua_pop(L, 1);
  recent.sha = script.sha;
  current_ref_ = recent.ref;
  return true;
}

void LuaVm::Sweep(const ScriptCache& cache) {
  lua_State* L = L_;
  std::vector<std::string> gone;
  lua_rawgeti(L, LUA_REGISTRYINDEX, functions_ref_);
  lua_pushnil(L);
  size_t n = 0;
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    ++n;
    size_t len = 0;
    const char* sha = lua_tolstring(L, -1, &len);
    if (!cache.Exists(std::string_view(sha, len))) gone.emplace_back(sha, len);
  }
  for (const std::string& sha : gone) {
    lua_pushnil(L);
    lua_setfield(L, -2, sha.c_str());
    RecentScript& recent = recent_[RecentIndex(sha)];
    if (recent.sha == sha) {
      recent.sha.clear();
      lua_pushboolean(L, 0);
      lua_rawseti(L, LUA_REGISTRYINDEX, recent.ref);
    }
  }
  lua_pop(L, 1);
  compiled_ = n - gone.size();
}

void LuaVm::Run(ScriptRun& run) {
  lua_State* L = L_;
  ReplyBuilder& reply = *run.ctx->reply;
  ClientState& lua_client = LuaClient();
  lua_client.db.store(run.ctx->client->db.load(std::memory_order_relaxed),
                      std::memory_order_relaxed);
  run.resp = 2;
  ArgsJob args{globals_ref_,  eval_keys_ref_, eval_args_ref_,
               &eval_keys_n_, &eval_args_n_,  &run};
  if (ProtectedCall(L, set_args_ref_, &args) != 0) {
    lua_pop(L, 1);
    reply.Error("ERR not enough memory for the script's KEYS and ARGV");
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, handler_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, current_ref_);
  CallAndReply(run, 0);
  if (used_bytes_ > (int64_t{64} << 20)) lua_gc(L, LUA_GCCOLLECT, 0);
  published_bytes_.store(used_bytes_, std::memory_order_relaxed);
}

void LuaVm::CallAndReply(ScriptRun& run, int nargs) {
  lua_State* L = L_;
  ReplyBuilder& reply = *run.ctx->reply;
  ScriptRun* outer = tl_run;
  tl_run = &run;
  const int status = lua_pcall(L, nargs, 1, -(nargs + 2));
  tl_run = outer;
  lua_sethook(L, Hook, LUA_MASKCOUNT, kHookInstructions);
  if (status == 0) {
    lua_rawseti(L, LUA_REGISTRYINDEX, result_ref_);
    lua_pop(L, 1);  // the handler
    const size_t mark = reply.buffer()->size();
    WriteJob job{result_ref_, &reply, run.resp};
    if (ProtectedCall(L, write_result_ref_, &job) != 0) {
      lua_pop(L, 1);
      reply.buffer()->resize(mark);
      reply.Error("ERR reached lua stack limit");
    }
    lua_pushboolean(L, 0);
    lua_rawseti(L, LUA_REGISTRYINDEX, result_ref_);
  } else {
    // {err, source, line} from the handler, or Lua's own message when the
    // handler could not run (out of memory).
    std::string msg;
    std::string where;
    if (lua_istable(L, -1)) {
      // Raw reads: the table may be the script's own, with a metatable.
      lua_pushliteral(L, "err");
      lua_rawget(L, -2);
      if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
      lua_pop(L, 1);
      lua_pushliteral(L, "source");
      lua_rawget(L, -2);
      lua_pushliteral(L, "line");
      lua_rawget(L, -3);
      if (lua_type(L, -2) == LUA_TSTRING && lua_isnumber(L, -1)) {
        where = std::string(lua_tostring(L, -2)) + ":" +
                std::to_string(static_cast<int64_t>(lua_tonumber(L, -1)));
      }
      lua_pop(L, 2);
    } else if (const char* s = lua_tostring(L, -1)) {
      msg = std::string("ERR ") + s;
    }
    lua_pop(L, 2);  // the error and the handler
    if (msg.empty()) msg = "ERR unknown error";
    msg += " script: ";
    msg += run.name;
    if (!where.empty()) msg += ", on " + where + ".";
    reply.ErrorVerbatim(msg);
  }
}

}  // namespace edgekv
