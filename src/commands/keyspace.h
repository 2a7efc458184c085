// Helpers that commands share for reaching the store: lookups that count
// keyspace hits/misses, and Redis's rules for turning EX/PX/EXAT/PXAT
// arguments into an absolute expiry.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "command.h"
#include "server_context.h"

namespace edgekv {

inline Store& StoreOf(CommandContext& ctx) { return ctx.server->store(); }
inline int DbOf(CommandContext& ctx) {
  return ctx.client->db.load(std::memory_order_relaxed);
}

// A read lookup: counts a keyspace hit or miss.
Entry* LookupRead(CommandContext& ctx, std::string_view key);
// Counts a keyspace hit or miss (INFO keyspace_hits/keyspace_misses).
void CountLookup(CommandContext& ctx, bool hit);
// Point reads of a collection's elements (HGET, SISMEMBER, ZSCORE, ...),
// counted as a hit or miss: Store::ReadElements, which reads a collection
// only on disk element by element without bringing it into memory. The
// collection's size, or -1 when there is none.
int64_t ReadElements(CommandContext& ctx, std::string_view key, ValueType type,
                     std::span<const std::string_view> elems, const Store::ElementFn& fn);
// A lookup for a command that will write (not counted).
Entry* LookupWrite(CommandContext& ctx, std::string_view key);
// A read lookup of a key's type and expiry that leaves its idle time as it
// was (TYPE, TTL, EXISTS, as Redis's LOOKUP_NOTOUCH) and a collection only
// on disk there; counts a hit or miss.
std::optional<Store::KeyMeta> LookupNoTouch(CommandContext& ctx, std::string_view key);

inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

// Redis's checkType: true when no key of `keys` holds a value of another
// type than `type`; else replies WRONGTYPE. The dispatcher calls it for every
// command whose group has a type (CommandSpec::key_type); handlers only for
// the keys their spec leaves out (SET ... GET, BITOP's sources).
bool KeysOfType(CommandContext& ctx, std::span<const std::string_view> keys,
                ValueType type);

// A key's value (a string or a copy of its collection) and expiry, to put
// under another name or in another database (RENAME, COPY, MOVE).
struct ValueCopy {
  std::string str;
  std::unique_ptr<Collection> collection;
  int64_t expire_ms = -1;
};
ValueCopy CopyOf(const Entry* e);
// Replaces what key held in db with the copy.
void PutCopy(CommandContext& ctx, int db, std::string_view key, const ValueCopy& v);

// A SCAN/HSCAN cursor as Redis parses it (strtoul: an optional sign, "-1"
// wraps; no leading space, nothing after the digits; "" is 0); replies
// "ERR invalid cursor" and returns false otherwise.
bool ParseScanCursor(CommandContext& ctx, std::string_view arg, uint64_t* cursor);

// HSCAN/SSCAN's options from argument `from` on: [MATCH pattern] [COUNT n].
// Replies Redis's error and returns false for a bad one.
struct ScanOptions {
  std::string_view pattern;
  bool has_pattern = false;  // a pattern other than "*"
  size_t count = 10;
};
bool ParseScanOptions(CommandContext& ctx, size_t from, ScanOptions* out);
// Replies an empty scan: cursor "0" and no elements.
void ReplyEmptyScan(CommandContext& ctx);
// Every element of the collection at key (type t), counted as a hit or a
// miss; false when there is none. One in memory (or small enough to come
// into memory whole) is given to in_memory; a big one on disk is read there
// and stays there: on_disk(elem, value as the log keeps it) for each, in
// element order (Store::ScanElements). An error when the disk cannot be
// read (nothing was given to in_memory then).
StatusOr<bool> ReadWhole(CommandContext& ctx, std::string_view key, ValueType t,
                         const std::function<void(const Collection&)>& in_memory,
                         const Collection::ElementVisitor& on_disk);
// The checks HSCAN, SSCAN and ZSCAN make, in Redis's order: the cursor, the
// key (a missing one is an empty scan whatever the options), its type, the
// options. False once it replied.
bool StartElementScan(CommandContext& ctx, ValueType type, uint64_t* cursor,
                      ScanOptions* opt);

// KeysOfType for one key that must hold a string: for the string commands
// that parse their arguments before they look at the key, as Redis's do
// (their spec says kAnyKeyType so that the dispatcher does not look first).
inline bool StringAt(CommandContext& ctx, std::string_view key) {
  return KeysOfType(ctx, std::span<const std::string_view>(&key, 1), ValueType::kString);
}

enum class ExpireUnit { kSeconds, kMilliseconds };

// Turns an expire argument into absolute unix ms. `relative`: EX/PX (added to
// now), else EXAT/PXAT. Writes "ERR invalid expire time in '<cmd>' command" or
// the not-an-integer error and returns false when the value is unusable.
bool ParseExpire(CommandContext& ctx, std::string_view arg, ExpireUnit unit,
                 bool relative, bool allow_nonpositive, int64_t* abs_ms);

}  // namespace edgekv
