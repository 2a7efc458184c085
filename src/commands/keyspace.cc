#include "keyspace.h"

#include <string>

#include "args.h"
#include "dispatcher.h"

namespace edgekv {

Entry* LookupRead(CommandContext& ctx, std::string_view key) {
  Entry* e = StoreOf(ctx).Find(DbOf(ctx), key, ctx.now_ms);
  CountLookup(ctx, e != nullptr);
  return e;
}

void CountLookup(CommandContext& ctx, bool hit) {
  auto& stats = ctx.server->stats();
  (hit ? stats.keyspace_hits : stats.keyspace_misses)
      .fetch_add(1, std::memory_order_relaxed);
}

Entry* LookupWrite(CommandContext& ctx, std::string_view key) {
  return StoreOf(ctx).Find(DbOf(ctx), key, ctx.now_ms);
}

Entry* LookupNoTouch(CommandContext& ctx, std::string_view key) {
  Entry* e = StoreOf(ctx).Find(DbOf(ctx), key, ctx.now_ms, /*touch=*/false);
  CountLookup(ctx, e != nullptr);
  return e;
}

bool ParseExpire(CommandContext& ctx, std::string_view arg, ExpireUnit unit,
                 bool relative, bool allow_nonpositive, int64_t* abs_ms) {
  int64_t v;
  if (!ParseInt64(arg, &v)) {
    ctx.reply->Error(errors::kNotInteger);
    return false;
  }
  std::string name(ctx.arg(0));
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  const std::string invalid = "ERR invalid expire time in '" + name + "' command";
  if (!allow_nonpositive && v <= 0) {
    ctx.reply->Error(invalid);
    return false;
  }
  int64_t ms = v;
  if (unit == ExpireUnit::kSeconds) {
    if (__builtin_mul_overflow(v, int64_t{1000}, &ms)) {
      ctx.reply->Error(invalid);
      return false;
    }
  }
  if (relative && __builtin_add_overflow(ms, ctx.now_ms, &ms)) {
    ctx.reply->Error(invalid);
    return false;
  }
  *abs_ms = ms;
  return true;
}

}  // namespace edgekv
