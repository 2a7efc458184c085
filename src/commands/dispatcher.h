// The one path every request takes: lookup, arity, authentication, MULTI
// queueing, maxmemory, key locking, the handler, and the write hook.
#pragma once

#include <span>
#include <string_view>

#include "command.h"
#include "edgekv/resp_parser.h"
#include "server_context.h"

namespace edgekv {

class Dispatcher {
 public:
  explicit Dispatcher(ServerContext* server) : server_(server) {}

  // Executes one request from `client`, appending its reply to `reply`.
  void Execute(ClientState& client, std::span<const std::string_view> args,
               ReplyBuilder& reply);

  // CLIENT PAUSE holds this request back (the connection runs it once the
  // pause ends): during a pause of everything, any command; of writes, a
  // write command or an EXEC of a transaction holding one. Never a
  // replica's, nor a request that is refused anyway (unknown, arity, AUTH).
  bool Postponed(const ClientState& client, std::span<const std::string_view> args) const;

  // Brings the keys of requests waiting in client's pipeline into the cache
  // (Store::PrefetchKeys) while the ones before them run: a key is the
  // first argument, or a script's first declared key.
  void PrefetchAhead(const ClientState& client, std::span<const PeekedRequest> ahead);

  // Drops a client's MULTI state and WATCHes (disconnect, RESET, DISCARD).
  static void ClearTransaction(ServerContext& server, ClientState& client);
  // Forgets the client's WATCHed keys; `all_locked` inside EXEC.
  static void Unwatch(ServerContext& server, ClientState& client, bool all_locked);
  // Ends MONITOR for the client (disconnect, RESET).
  static void StopMonitor(ServerContext& server, ClientState& client);

 private:
  // Discards client's transaction and replies EXECABORT with `error` (an
  // error line without its '-'), as Redis does when it refuses EXEC itself.
  void AbortExec(ClientState& client, std::string_view error, ReplyBuilder& reply);
  ServerContext* server_;
};

// Resolves the spec that will run for args (a subcommand for containers), or
// writes the error Redis gives and returns nullptr.
// `refused`, if given, is set to the spec whose arity the request failed.
const CommandSpec* ResolveCommand(const CommandTable& table,
                                  std::span<const std::string_view> args,
                                  ReplyBuilder& reply,
                                  const CommandSpec** refused = nullptr);

// replica-write-forward: sends args to the coordinator, whose reply becomes
// the client's (the client waits for it, as for WAIT).
void ForwardWrite(ServerContext& server, ClientState& client,
                  std::span<const std::string_view> args);

// Appends the effects pending on this thread to the log as one batch (none:
// nothing) and lets `client` WAIT for it. EXEC's commands leave it to EXEC.
void CommitWrites(Store& store, ClientState& client);

// Runs a resolved command: locks its keys' stripes (unless all are held),
// calls the handler, and counts it.
void RunCommand(const CommandSpec& spec, CommandContext& ctx);

// The one admission decision for writes, Redis's order: OOM (a kDenyOom
// command above maxmemory without a disk tier to spill to, when
// `check_oom`), MISCONF (the log cannot be written), NOREPLICAS
// (min-replicas-to-write). The error to refuse with, or "" to run. Single
// commands, queued ones, EXEC of a transaction holding writes, scripts and
// the commands scripts call all ask here.
std::string RefuseWrite(ServerContext& server, uint32_t flags, bool check_oom = true);

// BUSY as Redis words it for the script running now (EVAL's or a function).
std::string_view BusyError(ServerContext& server);

// Common error texts, as Redis words them.
namespace errors {
inline constexpr std::string_view kBusy =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
    "NOSAVE.";
inline constexpr std::string_view kBusyFunction =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN "
    "NOSAVE.";
inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kNotInteger =
    "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kOom =
    "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kDbIndex = "ERR DB index is out of range";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
}  // namespace errors

std::string WrongArity(std::string_view name);

}  // namespace edgekv
