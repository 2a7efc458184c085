#include "keyspace.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "args.h"
#include "dispatcher.h"

namespace edgekv {

Entry* LookupRead(CommandContext& ctx, std::string_view key) {
  Entry* e = StoreOf(ctx).Find(DbOf(ctx), key, ctx.now_ms);
  CountLookup(ctx, e != nullptr);
  return e;
}

int64_t ReadElements(CommandContext& ctx, std::string_view key, ValueType type,
                     std::span<const std::string_view> elems,
                     const Store::ElementFn& fn) {
  int64_t n = StoreOf(ctx).ReadElements(DbOf(ctx), key, type, ctx.now_ms, elems, fn);
  CountLookup(ctx, n >= 0);
  return n;
}

StatusOr<bool> ReadWhole(CommandContext& ctx, std::string_view key, ValueType t,
                         const std::function<void(const Collection&)>& in_memory,
                         const Collection::ElementVisitor& on_disk) {
  StatusOr<std::optional<uint64_t>> found = StoreOf(ctx).ScanElements(
      DbOf(ctx), key, t, ctx.now_ms, 0, SIZE_MAX,
      [&](const Collection& c, uint64_t) {
        in_memory(c);
        return uint64_t{0};
      },
      on_disk);
  if (!found.ok()) return found.status();
  CountLookup(ctx, found->has_value());
  return found->has_value();
}

void CountLookup(CommandContext& ctx, bool hit) {
  auto& stats = ctx.server->stats();
  (hit ? stats.keyspace_hits : stats.keyspace_misses)
      .fetch_add(1, std::memory_order_relaxed);
}

bool KeysOfType(CommandContext& ctx, std::span<const std::string_view> keys,
                ValueType type) {
  Store& store = StoreOf(ctx);
  // While no key has held a collection, every key is a string.
  if (type == ValueType::kString && !store.may_hold_collections()) return true;
  for (std::string_view key : keys) {
    // A collection only on disk stays there: the command may need only a
    // few of its elements (ReadElements).
    std::optional<Store::KeyMeta> m = store.Meta(DbOf(ctx), key, ctx.now_ms, true);
    if (m.has_value() && m->type != type) {
      ctx.reply->Error(kWrongType);
      return false;
    }
  }
  return true;
}

bool ParseScanCursor(CommandContext& ctx, std::string_view arg, uint64_t* cursor) {
  std::string c(arg);
  char* end = nullptr;
  errno = 0;
  *cursor = std::strtoull(c.c_str(), &end, 10);
  if ((!c.empty() && std::isspace(static_cast<unsigned char>(c[0]))) || *end != '\0' ||
      errno == ERANGE) {
    ctx.reply->Error("ERR invalid cursor");
    return false;
  }
  return true;
}

bool StartElementScan(CommandContext& ctx, ValueType type, uint64_t* cursor,
                      ScanOptions* opt) {
  if (!ParseScanCursor(ctx, ctx.arg(2), cursor)) return false;
  std::optional<Store::KeyMeta> m =
      StoreOf(ctx).Meta(DbOf(ctx), ctx.arg(1), ctx.now_ms, true);
  CountLookup(ctx, m.has_value());
  if (!m.has_value()) {
    ReplyEmptyScan(ctx);
    return false;
  }
  if (m->type != type) {
    ctx.reply->Error(kWrongType);
    return false;
  }
  return ParseScanOptions(ctx, 3, opt);
}

bool ParseScanOptions(CommandContext& ctx, size_t from, ScanOptions* out) {
  for (size_t i = from; i < ctx.argc(); i += 2) {
    std::string_view a = ctx.arg(i);
    if (i + 1 >= ctx.argc()) {
      ctx.reply->Error(errors::kSyntax);
      return false;
    }
    if (EqualsIgnoreCase(a, "MATCH")) {
      out->pattern = ctx.arg(i + 1);
      out->has_pattern = out->pattern != "*";
    } else if (EqualsIgnoreCase(a, "COUNT")) {
      int64_t count;
      if (!ParseInt64(ctx.arg(i + 1), &count)) {
        ctx.reply->Error(errors::kNotInteger);
        return false;
      }
      if (count < 1) {
        ctx.reply->Error(errors::kSyntax);
        return false;
      }
      out->count = static_cast<size_t>(count);
    } else {
      ctx.reply->Error(errors::kSyntax);
      return false;
    }
  }
  return true;
}

void ReplyEmptyScan(CommandContext& ctx) {
  ctx.reply->ArrayHeader(2);
  ctx.reply->Bulk("0");
  ctx.reply->ArrayHeader(0);
}

ValueCopy CopyOf(const Entry* e) {
  ValueCopy v;
  v.expire_ms = e->expire_ms();
  if (const Collection* c = e->collection()) {
    v.collection = c->Clone();
  } else {
    v.str.assign(e->value());
  }
  return v;
}

void PutCopy(CommandContext& ctx, int db, std::string_view key, const ValueCopy& v) {
  if (v.collection != nullptr) {
    StoreOf(ctx).PutCollection(db, key, *v.collection, v.expire_ms, ctx.now_ms);
  } else {
    StoreOf(ctx).Put(db, key, v.str, v.expire_ms);
  }
}

Entry* LookupWrite(CommandContext& ctx, std::string_view key) {
  return StoreOf(ctx).Find(DbOf(ctx), key, ctx.now_ms);
}

std::optional<Store::KeyMeta> LookupNoTouch(CommandContext& ctx, std::string_view key) {
  std::optional<Store::KeyMeta> m = StoreOf(ctx).Meta(DbOf(ctx), key, ctx.now_ms, false);
  CountLookup(ctx, m.has_value());
  return m;
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
