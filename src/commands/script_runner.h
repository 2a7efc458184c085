// What EVAL's family and FCALL's share: the admission of a script that
// declares its flags, and running one alone among commands with its writes
// logged as one batch (or, on a replica with replica-write-forward, handed
// to the coordinator).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <type_traits>

#include "command.h"
#include "scripting/lua_vm.h"

namespace edgekv {

enum class Admission { kRun, kRefused, kForward };

// EVAL's and FCALL's numkeys (args[2]), checked in Redis's order; false
// after replying the error (`not_integer` when it is not a number).
bool ParseNumKeys(CommandContext& ctx, std::string_view not_integer, int64_t* numkeys);

// Redis's scriptPrepareForRun for a script with declared flags (a shebang,
// or a function): a script that may write is refused up front where a write
// would be (the error is replied), or, on a replica that forwards writes,
// goes to the coordinator whole.
Admission AdmitScript(CommandContext& ctx, uint32_t flags, bool ro_command);

// A command's flags for admission, as Redis's getCommandFlags: EVAL's
// family and FCALL take those of the script or function they run when it
// declares its flags (write and deny-oom unless no-writes / allow-oom,
// stale with allow-stale); otherwise the command's own.
uint32_t AdmissionFlags(ServerContext& server, const CommandSpec& spec,
                        std::span<const std::string_view> args);

// Whether a replica runs this script itself until its first write and then
// forwards it (replica-write-forward).
bool ForwardsScriptWrites(const CommandContext& ctx, bool read_only);

// Runs `call` (which runs `run` in a Lua state) alone among commands
// (ServerContext::BeginScriptExclusive; inside EXEC, under EXEC's locks)
// and logs its writes as one batch. True when the script must run on the
// coordinator instead: what it replied here is taken back.
// What runs the script: a callable's address, no allocation (the callable
// outlives the call it is passed to).
class ScriptCall {
 public:
  template <typename F>
  ScriptCall(F&& f)  // NOLINT: implicit, from a lambda
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o) { (*static_cast<std::remove_reference_t<F>*>(o))(); }) {}
  void operator()() const { call_(obj_); }

 private:
  void* obj_;
  void (*call_)(void*);
};

bool RunScriptAlone(CommandContext& ctx, ScriptRun& run, ScriptCall call);

// SCRIPT KILL (is_eval) and FUNCTION KILL: each ends only its own kind.
void KillRunningScript(CommandContext& ctx, bool is_eval);

}  // namespace edgekv
