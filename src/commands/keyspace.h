// Helpers that commands share for reaching the store: lookups that count
// keyspace hits/misses, and Redis's rules for turning EX/PX/EXAT/PXAT
// arguments into an absolute expiry.
#pragma once

#include <cstdint>
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
// A lookup for a command that will write (not counted).
Entry* LookupWrite(CommandContext& ctx, std::string_view key);
// A read lookup that leaves the key's idle time as it was (TYPE, TTL,
// EXISTS, as Redis's LOOKUP_NOTOUCH); counts a hit or miss.
Entry* LookupNoTouch(CommandContext& ctx, std::string_view key);

enum class ExpireUnit { kSeconds, kMilliseconds };

// Turns an expire argument into absolute unix ms. `relative`: EX/PX (added to
// now), else EXAT/PXAT. Writes "ERR invalid expire time in '<cmd>' command" or
// the not-an-integer error and returns false when the value is unusable.
bool ParseExpire(CommandContext& ctx, std::string_view arg, ExpireUnit unit,
                 bool relative, bool allow_nonpositive, int64_t* abs_ms);

}  // namespace edgekv
