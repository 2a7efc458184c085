// One Lua 5.1 state per I/O thread, for EVAL and its family: Redis's
// sandbox (read-only globals and libraries, no os/io/require/loadfile, no
// bytecode), Redis's libraries (cjson, cmsgpack, bit, struct) and the
// `redis` table (call, pcall, error_reply, status_reply, sha1hex, log,
// setresp, set_repl, replicate_commands, acl_check_cmd, REDIS_VERSION).
// The caller runs a script alone among commands (scripting_family.cc); the
// commands it calls lock their keys and are logged as one batch, as EXEC's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command.h"
#include "script_cache.h"

struct lua_State;

namespace edgekv {

struct FunctionDef;
struct Library;
class FunctionRegistry;

// One EVAL or FCALL: what the script sees and may do.
struct ScriptRun {
  const Script* script = nullptr;         // EVAL's
  const FunctionDef* function = nullptr;  // FCALL's
  std::string_view name;                  // in error texts: the SHA1 or the function
  uint32_t flags = 0;                     // ScriptFlag bits
  CommandContext* ctx = nullptr;          // the EVAL's own
  ScriptCache* cache = nullptr;           // SCRIPT KILL's flags
  std::span<const std::string_view> keys;
  std::span<const std::string_view> args;
  bool read_only = false;  // EVAL_RO/EVALSHA_RO, or the no-writes flag
  bool wrote = false;      // a write command ran
  bool aborted = false;    // ended by the server stopping: its writes are not logged
  bool killed = false;     // ended by SCRIPT KILL / FUNCTION KILL
  // On a replica with replica-write-forward: a write ends the script here
  // (nothing was written: a replica's scripts cannot write) and `forward`
  // says to run it on the coordinator instead.
  bool forward_writes = false;
  bool forward = false;
  int resp = 2;  // redis.setresp
  // The time its commands see: when it began to run (set by the runner; as
  // Redis's script time snapshot, a key cannot expire halfway through).
  int64_t now_ms = 0;

  // Keyed mode (commands/script_runner.h): the script runs beside other
  // commands holding the stripes of its keys, those of KEYS taken first and
  // any other one only if free. When that cannot go on (a stripe another
  // thread holds, a command that needs more than its keys, the time budget)
  // `escalate` stops the script, its changes are undone from `saved`, and
  // it runs again alone.
  std::atomic<uint32_t>* strikes = nullptr;  // the script's (Script::strikes)
  bool keyed = false;
  bool escalate = false;
  bool escalate_always = false;  // the reason holds for every run of this script
  bool overran = false;          // past the time budget (this run, maybe not the next)
  std::vector<size_t> held;      // stripes held
  struct Saved {
    int db;
    std::string key;
    bool existed;
    std::string value;
    int64_t expire_ms;
    std::unique_ptr<Collection> collection;  // a copy, when the key held one
  };
  std::vector<Saved> saved;  // each key's state before the script's first change of it
  size_t saved_bytes = 0;
  int64_t keyed_deadline_us = 0;
  // Out of keyed mode (the buffers keep their capacity).
  void EndKeyed() {
    keyed = escalate = escalate_always = overran = false;
    held.clear();
    saved.clear();
    saved_bytes = 0;
    keyed_deadline_us = 0;
  }

  // redis.call's working space (kept here: Lua errors unwind with longjmp,
  // past the destructors of the C function's locals).
  std::vector<std::string_view> argv;
  std::vector<std::string> numbers;
  std::string scratch;
  std::string error;
};

// Keyed mode's time budget: past it a script runs again alone, where
// busy-reply-threshold, BUSY and SCRIPT KILL apply.
inline constexpr int64_t kKeyedBudgetUs = 2000;
// A script that overran the budget this many times, or once met a command
// that needs more than its keys, runs alone at once from then on.
inline constexpr uint32_t kAloneStrikes = 16;

// The calling thread's ScriptRun, as new for the next script (its buffers
// keep their capacity: no allocation per script). One script runs on a
// thread at a time (EVAL and FCALL are not allowed inside scripts).
ScriptRun& NewScriptRun();

class LuaVm {
 public:
  // The calling thread's state, rebuilt when SCRIPT FLUSH has run since.
  static LuaVm& ForThread(const ScriptCache& cache);
  // The calling thread's state for functions (as Redis, not EVAL's: no
  // KEYS or ARGV; a library's code runs with only redis.register_function,
  // redis.log and the version at hand).
  static LuaVm& ForFunctions();
  ~LuaVm();
  LuaVm(const LuaVm&) = delete;
  LuaVm& operator=(const LuaVm&) = delete;

  // Compiles the script in this state unless it is already (first forgetting
  // compiled scripts the cache no longer has, once they pile up); false with
  // Redis's "ERR Error compiling script ..." in *error.
  bool Compile(const Script& script, const ScriptCache& cache, std::string* error);
  // Runs a compiled script and writes its reply to run.ctx->reply. It stays
  // compiled until the next Compile (a keyed attempt's rerun finds it).
  void Run(ScriptRun& run);

  // Functions' states: runs a library's code, which registers its functions
  // (kept in this state for the library's id); *functions gets what it
  // registered, sorted by name. False with Redis's error in *error.
  bool LoadLibrary(const Library& library, std::vector<FunctionDef>* functions,
                   std::string* error);
  // Loads the library here unless it is already (another thread loaded it).
  bool EnsureLibrary(const Library& library, std::string* error);
  // Runs one of a loaded library's functions and writes its reply.
  void RunFunction(ScriptRun& run, const Library& library);
  // Forgets libraries the registry no longer has.
  void SweepLibraries(const FunctionRegistry& registry);
  // Forgets a library LoadLibrary loaded that the registry then refused.
  void ForgetLibrary(uint64_t id);

  int64_t used_bytes() const { return used_bytes_; }
  // What every thread's state holds (INFO used_memory_lua), as each last
  // published it (after it was made and after each script).
  static int64_t AllStatesBytes();

  // What one state may allocate: past it the script fails with Lua's "not
  // enough memory" and the state gives the memory back.
  static constexpr int64_t kMaxBytes = int64_t{512} << 20;

 private:
  LuaVm(uint64_t generation, bool functions);
  void SetUpFunctions();
  // Runs the function on the stack (under the handler, below it) with
  // `nargs` arguments above it, and writes the reply or the error.
  void CallAndReply(ScriptRun& run, int nargs);
  static void* Alloc(void* ud, void* ptr, size_t osize, size_t nsize);
  void Sandbox();
  // Forgets compiled scripts the cache no longer has (EVAL's evicted ones).
  void Sweep(const ScriptCache& cache);

  lua_State* L_ = nullptr;
  uint64_t generation_;
  int64_t used_bytes_ = 0;
  std::atomic<int64_t> published_bytes_{0};
  size_t compiled_ = 0;
  int globals_ref_ = 0;    // the real globals table (KEYS and ARGV go there)
  int functions_ref_ = 0;  // sha -> compiled function
  // The functions of recently compiled scripts, each in a registry slot,
  // found by SHA1 without making a Lua string of it; current_ref_ is the
  // slot of the one Compile last saw, which Run calls.
  struct RecentScript {
    std::string sha;
    int ref = 0;
  };
  static size_t RecentIndex(std::string_view sha) {
    return sha.size() < 2
               ? 0
               : (static_cast<size_t>(sha[0]) * 31 + static_cast<size_t>(sha[1])) % 16;
  }
  RecentScript recent_[16];
  int current_ref_ = 0;
  int handler_ref_ = 0;  // the error handler
  int result_ref_ = 0;   // a script's result while it is written out
  int names_ref_ = 0;    // field names the reply writer reads
  // EVAL's KEYS and ARGV tables, refilled for each script (FillArgs), and
  // how many items each was last given.
  int eval_keys_ref_ = 0;
  int eval_args_ref_ = 0;
  size_t eval_keys_n_ = SIZE_MAX;
  size_t eval_args_n_ = SIZE_MAX;
  // The C functions run protected for each script (ProtectedCall).
  int set_args_ref_ = 0;
  int set_function_args_ref_ = 0;
  int write_result_ref_ = 0;
  // Functions' states only.
  bool functions_mode_ = false;
  int libraries_ref_ = 0;  // library id -> {function name -> callback}
  int env_meta_ref_ = 0;   // the globals' metatable: __index switches for loads
  int load_api_ref_ = 0;   // what a library's code sees while it loads
  int run_api_ref_ = 0;    // what functions see when they run
  int keys_ref_ = 0;       // a function's two arguments while it runs
  int args_ref_ = 0;
  uint64_t libraries_generation_ = 0;
};

}  // namespace edgekv
