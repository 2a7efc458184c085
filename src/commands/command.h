// What a command is: one handler plus one registry entry (name, arity, flags,
// key positions). The dispatcher uses the flags and key positions for
// authentication, MULTI queueing, locking, OOM checks and the write hook, so
// handlers contain only the command's own logic.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/collection.h"
#include "edgekv/reply.h"

namespace edgekv {

struct ClientState;
class ServerContext;

// Redis's command flags (COMMAND INFO lists them by Redis's names, in
// Redis's order: FlagNames), and edgekv's own (no name).
enum CommandFlag : uint32_t {
  kWrite = 1u << 0,             // changes data: journaled, refused on read-only replicas
  kReadOnly = 1u << 1,          // reads data only
  kDenyOom = 1u << 2,           // may grow memory: refused above maxmemory
  kAdmin = 1u << 3,             // server administration; not shown to MONITOR
  kNoAuth = 1u << 4,            // allowed before AUTH (AUTH, HELLO, QUIT, RESET)
  kNoMulti = 1u << 5,           // refused inside MULTI (SAVE, SHUTDOWN, PSYNC)
  kFast = 1u << 6,              // O(1)/O(log N)
  kLoading = 1u << 7,           // allowed while loading
  kStale = 1u << 8,             // allowed on a stale replica
  kNoScript = 1u << 9,          // not allowed in scripts
  kAllowBusy = 1u << 10,        // allowed while a script runs past its time
  kNoAsyncLoading = 1u << 11,   // not while loading asynchronously
  kSkipSlowlog = 1u << 12,      // not logged in SLOWLOG (EXEC: its commands are)
  kSkipMonitor = 1u << 13,      // not shown to MONITOR
  kBlocking = 1u << 14,         // may block the client
  kNoMandatoryKeys = 1u << 15,  // may take no keys although it has key specs
  kProtected = 1u << 16,        // refused, even inside MULTI, unless enable-debug-command
  // edgekv's own, for the type check: the command's keys may hold any type
  // although its group has one (SET, MSET, MGET overwrite or skip them).
  kAnyKeyType = 1u << 17,
  // edgekv's own:
  // Runs at once inside MULTI (MULTI EXEC DISCARD WATCH QUIT RESET).
  kTxControl = 1u << 24,
  kAllKeys = 1u << 25,  // touches whole databases (FLUSHDB, SWAPDB, KEYS...)
  kConnection = 1u << 26,
  kDiskWalk = 1u << 27,  // walks LevelDB (SCAN, KEYS, RANDOMKEY): waits for the applier
  // Allowed while a replica's data is LOADING from a full sync (not while
  // the log is replayed at start): REPLICAOF, to promote a replica whose
  // coordinator went away in the middle of one, or point it elsewhere.
  kWhileSyncing = 1u << 28,
  // May write without being a write command (EVAL, EVALSHA: Redis's
  // may_replicate): held by CLIENT PAUSE WRITE and paced as a write.
  kMayReplicate = 1u << 29,
};

struct CommandContext {
  std::span<const std::string_view> args;  // args[0] is the command name
  ReplyBuilder* reply;
  ClientState* client;
  ServerContext* server;
  int64_t now_ms;
  bool all_locked;       // every stripe is held (EXEC, FLUSHDB, SWAPDB)
  bool in_exec = false;  // inside EXEC: effects are committed once, at the end
  // Bit i: args[i] is a secret (a password), shown as "(redacted)" in SLOWLOG.
  uint64_t redacted = 0;

  std::string_view arg(size_t i) const { return args[i]; }
  size_t argc() const { return args.size(); }
};

using CommandHandler = void (*)(CommandContext& ctx);

struct CommandSpec {
  std::string name;  // lower case; "client|list" for subcommands
  int arity;         // Redis convention: -N means at least N
  uint32_t flags;
  int first_key;  // 0: no keys
  int last_key;   // negative: counted from the end
  int key_step;
  CommandHandler handler;
  const char* group = "generic";
  const char* summary = "";
  // ACL categories (space-separated, without '@') in place of the one the
  // group implies (generic: keyspace; string, connection; transactions:
  // transaction); those the flags imply (read, write, admin and dangerous,
  // fast or else slow) come anyway. COMMAND INFO lists them as Redis 7 does.
  const char* acl = nullptr;
  std::vector<CommandSpec> subcommands;
  size_t id = 0;  // set by the table: 0 .. CommandTable::ids()-1 (commandstats)
  // The type every key must hold (from the group: "string" and "bitmap" are
  // strings, "hash" hashes), or -1: set by the table. The dispatcher answers
  // WRONGTYPE for a key of another type before the handler runs.
  int key_type = -1;
  // For a command whose keys follow a count (SINTERCARD numkeys key ...): the
  // count's argument; its keys come after it, besides first_key..last_key.
  // 0 for none.
  int numkeys_at = 0;
};

// The command names keys (a range, or keys after a count).
inline bool HasKeys(const CommandSpec& spec) {
  return spec.first_key > 0 || spec.numkeys_at > 0;
}

// argc (the command's name included) fits spec.arity.
bool ArityOk(const CommandSpec& spec, size_t argc);
// Key positions of a request per its spec.
std::vector<std::string_view> CommandKeys(const CommandSpec& spec,
                                          std::span<const std::string_view> args);

}  // namespace edgekv
