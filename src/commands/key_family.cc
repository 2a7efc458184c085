// Generic key commands: DEL UNLINK EXISTS TYPE EXPIRE* TTL PTTL EXPIRETIME
// PEXPIRETIME PERSIST KEYS SCAN RANDOMKEY RENAME RENAMENX COPY MOVE DBSIZE
// FLUSHDB FLUSHALL SWAPDB.
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "edgekv/glob.h"
#include "keyspace.h"

namespace edgekv {
namespace {

void Del(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (StoreOf(ctx).Erase(DbOf(ctx), ctx.arg(i), ctx.now_ms)) ++n;
  }
  ctx.reply->Integer(n);
}

void Exists(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (LookupNoTouch(ctx, ctx.arg(i)).has_value()) ++n;
  }
  ctx.reply->Integer(n);
}

// TOUCH key...: the keys that exist, each read as GET reads it (its access
// time updated, a key on disk brought back to memory; hits and misses
// counted), as Redis's TOUCH does.
void Touch(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (LookupRead(ctx, ctx.arg(i)) != nullptr) ++n;
  }
  ctx.reply->Integer(n);
}

void Type(CommandContext& ctx) {
  std::optional<Store::KeyMeta> m = LookupNoTouch(ctx, ctx.arg(1));
  ctx.reply->SimpleString(m.has_value() ? TypeName(m->type) : "none");
}

// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT]
void ExpireGeneric(CommandContext& ctx, ExpireUnit unit, bool relative) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view a = ctx.arg(i);
    if (EqualsIgnoreCase(a, "NX"))
      nx = true;
    else if (EqualsIgnoreCase(a, "XX"))
      xx = true;
    else if (EqualsIgnoreCase(a, "GT"))
      gt = true;
    else if (EqualsIgnoreCase(a, "LT"))
      lt = true;
    else {
      ctx.reply->Error("ERR Unsupported option " + std::string(a));
      return;
    }
  }
  if (nx && (xx || gt || lt)) {
    ctx.reply->Error(
        "ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    ctx.reply->Error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t when;
  if (!ParseExpire(ctx, ctx.arg(2), unit, relative, true, &when)) return;
  // Its type and expiry: a big collection on disk stays there (Store::SetExpire).
  std::optional<Store::KeyMeta> m =
      StoreOf(ctx).Meta(DbOf(ctx), ctx.arg(1), ctx.now_ms, /*touch=*/true);
  if (!m.has_value()) return ctx.reply->Integer(0);
  const bool has = m->expire_ms != kNoExpire;
  if (nx && has) return ctx.reply->Integer(0);
  if (xx && !has) return ctx.reply->Integer(0);
  // A key without a TTL counts as an infinite TTL for GT and LT.
  if (gt && (!has || when <= m->expire_ms)) return ctx.reply->Integer(0);
  if (lt && has && when >= m->expire_ms) return ctx.reply->Integer(0);
  if (when <= ctx.now_ms) {
    StoreOf(ctx).Erase(DbOf(ctx), ctx.arg(1), ctx.now_ms);
  } else {
    StoreOf(ctx).SetExpire(DbOf(ctx), ctx.arg(1), when, ctx.now_ms);
  }
  ctx.reply->Integer(1);
}

void Expire(CommandContext& ctx) { ExpireGeneric(ctx, ExpireUnit::kSeconds, true); }
void PExpire(CommandContext& ctx) { ExpireGeneric(ctx, ExpireUnit::kMilliseconds, true); }
void ExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, ExpireUnit::kSeconds, false); }
void PExpireAt(CommandContext& ctx) {
  ExpireGeneric(ctx, ExpireUnit::kMilliseconds, false);
}

enum class TtlMode { kTtl, kPttl, kExpireTime, kPExpireTime };

void TtlGeneric(CommandContext& ctx, TtlMode mode) {
  std::optional<Store::KeyMeta> m = LookupNoTouch(ctx, ctx.arg(1));
  if (!m.has_value()) return ctx.reply->Integer(-2);
  if (m->expire_ms == kNoExpire) return ctx.reply->Integer(-1);
  const int64_t expire_ms = m->expire_ms;
  int64_t left = std::max<int64_t>(0, expire_ms - ctx.now_ms);
  switch (mode) {
    case TtlMode::kTtl:
      return ctx.reply->Integer((left + 500) / 1000);
    case TtlMode::kPttl:
      return ctx.reply->Integer(left);
    // Rounds, as Redis does, without overflowing near INT64_MAX.
    case TtlMode::kExpireTime:
      return ctx.reply->Integer(expire_ms / 1000 + (expire_ms % 1000 + 500) / 1000);
    case TtlMode::kPExpireTime:
      return ctx.reply->Integer(expire_ms);
  }
}

void Ttl(CommandContext& ctx) { TtlGeneric(ctx, TtlMode::kTtl); }
void PTtl(CommandContext& ctx) { TtlGeneric(ctx, TtlMode::kPttl); }
void ExpireTime(CommandContext& ctx) { TtlGeneric(ctx, TtlMode::kExpireTime); }
void PExpireTime(CommandContext& ctx) { TtlGeneric(ctx, TtlMode::kPExpireTime); }

void Persist(CommandContext& ctx) {
  std::optional<Store::KeyMeta> m =
      StoreOf(ctx).Meta(DbOf(ctx), ctx.arg(1), ctx.now_ms, /*touch=*/true);
  if (!m.has_value() || m->expire_ms == kNoExpire) return ctx.reply->Integer(0);
  StoreOf(ctx).SetExpire(DbOf(ctx), ctx.arg(1), kNoExpire, ctx.now_ms);
  ctx.reply->Integer(1);
}

void Keys(CommandContext& ctx) {
  std::string_view pattern = ctx.arg(1);
  bool all = pattern == "*";
  ReplyBuilder& r = *ctx.reply;
  size_t mark = r.BeginDeferred();
  size_t n = 0;
  // A literal prefix ("session:*") lets the disk tier seek instead of walk.
  StoreOf(ctx).ForEach(
      DbOf(ctx), ctx.now_ms, ctx.all_locked,
      [&](std::string_view key) {
        if (all || GlobMatch(pattern, key)) {
          r.Bulk(key);
          ++n;
        }
      },
      GlobLiteralPrefix(pattern));
  r.FinishDeferredArray(mark, n);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
void Scan(CommandContext& ctx) {
  uint64_t cursor = 0;
  if (!ParseScanCursor(ctx, ctx.arg(1), &cursor)) return;
  std::string_view pattern;
  bool has_pattern = false;
  int64_t count = 10;
  std::string_view type;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    std::string_view a = ctx.arg(i);
    if (i + 1 >= ctx.argc()) {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
    if (EqualsIgnoreCase(a, "MATCH")) {
      pattern = ctx.arg(i + 1);
      has_pattern = pattern != "*";
    } else if (EqualsIgnoreCase(a, "COUNT")) {
      if (!ParseInt64(ctx.arg(i + 1), &count)) {
        ctx.reply->Error(errors::kNotInteger);
        return;
      }
      if (count < 1) {
        ctx.reply->Error(errors::kSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(a, "TYPE")) {
      type = ctx.arg(i + 1);
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  // An unknown TYPE matches nothing (Redis 7.0 takes it without an error).
  std::optional<ValueType> type_filter;
  bool type_ok = true;
  if (!type.empty()) {
    ValueType t;
    type_ok = TypeFromName(type, &t);
    if (type_ok) type_filter = t;
  }
  std::vector<std::string> keys;
  uint64_t next = StoreOf(ctx).Scan(
      DbOf(ctx), cursor, static_cast<size_t>(std::min<int64_t>(count, 1 << 20)),
      ctx.now_ms, ctx.all_locked,
      [&](std::string_view key) {
        if (!type_ok) return;
        if (has_pattern && !GlobMatch(pattern, key)) return;
        keys.emplace_back(key);
      },
      has_pattern ? GlobLiteralPrefix(pattern) : std::string_view(), type_filter);
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(2);
  r.Bulk(std::to_string(next));
  r.ArrayHeader(keys.size());
  for (auto& k : keys) r.Bulk(k);
}

void RandomKey(CommandContext& ctx) {
  auto k = StoreOf(ctx).RandomKey(DbOf(ctx), ctx.now_ms, ctx.all_locked);
  if (k) {
    ctx.reply->Bulk(*k);
  } else {
    ctx.reply->Null();
  }
}

// Returns false (with the reply written) when src is missing.
bool RenameGeneric(CommandContext& ctx, bool nx) {
  std::string_view src = ctx.arg(1), dst = ctx.arg(2);
  Entry* e = LookupWrite(ctx, src);
  if (e == nullptr) {
    ctx.reply->Error(errors::kNoSuchKey);
    return false;
  }
  if (src == dst) {
    if (nx) {
      ctx.reply->Integer(0);
    } else {
      ctx.reply->Ok();
    }
    return true;
  }
  if (nx && LookupWrite(ctx, dst) != nullptr) {
    ctx.reply->Integer(0);
    return true;
  }
  ValueCopy copy = CopyOf(e);
  StoreOf(ctx).Erase(DbOf(ctx), src, ctx.now_ms);
  PutCopy(ctx, DbOf(ctx), dst, copy);
  if (nx) {
    ctx.reply->Integer(1);
  } else {
    ctx.reply->Ok();
  }
  return true;
}

void Rename(CommandContext& ctx) { RenameGeneric(ctx, false); }
void RenameNx(CommandContext& ctx) { RenameGeneric(ctx, true); }

bool ParseDbIndex(CommandContext& ctx, std::string_view arg, int* db) {
  if (std::string_view err = ParseInt32(arg, db); !err.empty()) {
    ctx.reply->Error(err);
    return false;
  }
  if (*db < 0 || *db >= StoreOf(ctx).databases()) {
    ctx.reply->Error(errors::kDbIndex);
    return false;
  }
  return true;
}

// COPY source destination [DB destination-db] [REPLACE]
void Copy(CommandContext& ctx) {
  int dst_db = DbOf(ctx);
  bool replace = false;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    if (EqualsIgnoreCase(ctx.arg(i), "REPLACE")) {
      replace = true;
    } else if (EqualsIgnoreCase(ctx.arg(i), "DB") && i + 1 < ctx.argc()) {
      if (!ParseDbIndex(ctx, ctx.arg(++i), &dst_db)) return;
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  std::string_view src = ctx.arg(1), dst = ctx.arg(2);
  if (src == dst && dst_db == DbOf(ctx)) {
    ctx.reply->Error("ERR source and destination objects are the same");
    return;
  }
  Entry* e = LookupWrite(ctx, src);
  if (e == nullptr) return ctx.reply->Integer(0);
  Store& store = StoreOf(ctx);
  if (store.Find(dst_db, dst, ctx.now_ms) != nullptr && !replace) {
    return ctx.reply->Integer(0);
  }
  PutCopy(ctx, dst_db, dst, CopyOf(e));
  ctx.reply->Integer(1);
}

void Move(CommandContext& ctx) {
  int dst_db;
  if (!ParseDbIndex(ctx, ctx.arg(2), &dst_db)) return;
  if (dst_db == DbOf(ctx)) {
    ctx.reply->Error("ERR source and destination objects are the same");
    return;
  }
  std::string_view key = ctx.arg(1);
  Entry* e = LookupWrite(ctx, key);
  Store& store = StoreOf(ctx);
  if (e == nullptr || store.Find(dst_db, key, ctx.now_ms) != nullptr) {
    return ctx.reply->Integer(0);
  }
  PutCopy(ctx, dst_db, key, CopyOf(e));
  store.Erase(DbOf(ctx), key, ctx.now_ms);
  ctx.reply->Integer(1);
}

void DbSize(CommandContext& ctx) {
  ctx.reply->Integer(static_cast<int64_t>(StoreOf(ctx).DbSize(DbOf(ctx))));
}

bool ParseFlushMode(CommandContext& ctx) {
  if (ctx.argc() > 2) {
    ctx.reply->Error(errors::kSyntax);
    return false;
  }
  if (ctx.argc() == 2 && !EqualsIgnoreCase(ctx.arg(1), "ASYNC") &&
      !EqualsIgnoreCase(ctx.arg(1), "SYNC")) {
    ctx.reply->Error(errors::kSyntax);
    return false;
  }
  return true;
}

void FlushDb(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  StoreOf(ctx).FlushDb(DbOf(ctx), ctx.all_locked);
  ctx.reply->Ok();
}

void FlushAll(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  StoreOf(ctx).FlushAll(ctx.all_locked);
  ctx.reply->Ok();
}

void SwapDb(CommandContext& ctx) {
  int a, b;
  std::string_view err = ParseInt32(ctx.arg(1), &a, "ERR invalid first DB index");
  if (err.empty()) err = ParseInt32(ctx.arg(2), &b, "ERR invalid second DB index");
  if (!err.empty()) {
    ctx.reply->Error(err);
    return;
  }
  int n = StoreOf(ctx).databases();
  if (a < 0 || a >= n || b < 0 || b >= n) {
    ctx.reply->Error(errors::kDbIndex);
    return;
  }
  if (a != b) StoreOf(ctx).SwapDb(a, b, ctx.all_locked);
  ctx.reply->Ok();
}

}  // namespace

void RegisterKeyFamily(CommandTable* t) {
  const uint32_t rd = kReadOnly | kFast;
  const uint32_t wr = kWrite | kFast;
  const uint32_t walk = kReadOnly | kAllKeys | kDiskWalk;  // walks LevelDB
  // name, arity, flags, first key, last key, step, handler, group, summary
  t->Add({"del", -2, kWrite, 1, -1, 1, Del, "generic", "Delete keys"});
  t->Add({"unlink", -2, wr, 1, -1, 1, Del, "generic", "Delete keys"});
  t->Add({"exists", -2, rd, 1, -1, 1, Exists, "generic", "Count existing keys"});
  t->Add({"touch", -2, rd, 1, -1, 1, Touch, "generic", "Update keys' access time"});
  t->Add({"type", 2, rd, 1, 1, 1, Type, "generic", "Type of a key"});
  t->Add({"expire", -3, wr, 1, 1, 1, Expire, "generic", "Set a TTL in seconds"});
  t->Add({"pexpire", -3, wr, 1, 1, 1, PExpire, "generic", "Set a TTL in ms"});
  t->Add({"expireat", -3, wr, 1, 1, 1, ExpireAt, "generic", "Expire at a time"});
  t->Add({"pexpireat", -3, wr, 1, 1, 1, PExpireAt, "generic", "Expire at ms"});
  t->Add({"ttl", 2, rd, 1, 1, 1, Ttl, "generic", "TTL in seconds"});
  t->Add({"pttl", 2, rd, 1, 1, 1, PTtl, "generic", "TTL in milliseconds"});
  t->Add({"expiretime", 2, rd, 1, 1, 1, ExpireTime, "generic", "Expiry (s)"});
  t->Add({"pexpiretime", 2, rd, 1, 1, 1, PExpireTime, "generic", "Expiry (ms)"});
  t->Add({"persist", 2, wr, 1, 1, 1, Persist, "generic", "Remove the TTL"});
  t->Add({"keys", 2, walk, 0, 0, 0, Keys, "generic", "Find keys", "keyspace dangerous"});
  t->Add({"scan", -2, walk, 0, 0, 0, Scan, "generic", "Iterate"});
  t->Add({"randomkey", 1, walk, 0, 0, 0, RandomKey, "generic", "A random key"});
  t->Add({"rename", 3, kWrite, 1, 2, 1, Rename, "generic", "Rename a key"});
  t->Add({"renamenx", 3, wr, 1, 2, 1, RenameNx, "generic", "Rename if free"});
  t->Add({"copy", -3, kWrite | kDenyOom, 1, 2, 1, Copy, "generic", "Copy a key"});
  t->Add({"move", 3, wr, 1, 1, 1, Move, "generic", "Move to another db"});
  t->Add(
      {"dbsize", 1, rd | kAllKeys, 0, 0, 0, DbSize, "server", "Key count", "keyspace"});
  t->Add({"flushdb", -1, kWrite | kAllKeys, 0, 0, 0, FlushDb, "server",
          "Remove every key of the database", "keyspace dangerous"});
  t->Add({"flushall", -1, kWrite | kAllKeys, 0, 0, 0, FlushAll, "server",
          "Remove every key", "keyspace dangerous"});
  t->Add({"swapdb", 3, kWrite | kFast | kAllKeys, 0, 0, 0, SwapDb, "server",
          "Swap two databases", "keyspace dangerous"});
}

}  // namespace edgekv
