// String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET
// MSETNX APPEND STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY
// INCRBYFLOAT LCS (lcs.cc).
#include <cmath>
#include <optional>
#include <string>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "keyspace.h"
#include "lcs.h"

namespace edgekv {
namespace {

constexpr std::string_view kTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

bool CheckSize(CommandContext& ctx, uint64_t size) {
  // Compared unsigned: SETRANGE's offset may be up to 2^63 - 1, and the sum
  // with the value's length must not wrap to a negative size.
  if (size > static_cast<uint64_t>(ctx.server->config().Int(Cfg::kProtoMaxBulkLen))) {
    ctx.reply->Error(kTooBig);
    return false;
  }
  return true;
}

// Stores value with an absolute expiry; an expiry already in the past deletes
// the key instead, as Redis does for SET ... EXAT <past>.
void PutWithExpire(CommandContext& ctx, std::string_view key, std::string_view value,
                   int64_t expire_ms) {
  if (expire_ms != kNoExpire && expire_ms <= ctx.now_ms) {
    StoreOf(ctx).Erase(DbOf(ctx), key, ctx.now_ms);
    return;
  }
  StoreOf(ctx).Put(DbOf(ctx), key, value, expire_ms);
}

// EX/PX/EXAT/PXAT -> 1..4; 0 for anything else.
int ExpireOption(std::string_view a) {
  if (EqualsIgnoreCase(a, "EX")) return 1;
  if (EqualsIgnoreCase(a, "PX")) return 2;
  if (EqualsIgnoreCase(a, "EXAT")) return 3;
  if (EqualsIgnoreCase(a, "PXAT")) return 4;
  return 0;
}

bool ParseExpireOption(CommandContext& ctx, int option, std::string_view arg,
                       int64_t* expire_ms) {
  return ParseExpire(
      ctx, arg,
      option == 1 || option == 3 ? ExpireUnit::kSeconds : ExpireUnit::kMilliseconds,
      option <= 2, false, expire_ms);
}

void Get(CommandContext& ctx) {
  Entry* e = LookupRead(ctx, ctx.arg(1));
  if (e == nullptr) {
    ctx.reply->Null();
  } else {
    ctx.reply->Bulk(e->value());
  }
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]
void Set(CommandContext& ctx) {
  enum { kNone, kNx, kXx } cond = kNone;
  bool get = false, keepttl = false;
  // Like Redis, the same expiry option may repeat (the last one counts) and
  // its value is validated only after all options parsed.
  int expire_option = 0;
  std::string_view expire_arg;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view a = ctx.arg(i);
    bool more = i + 1 < ctx.argc();
    int option = ExpireOption(a);
    if (EqualsIgnoreCase(a, "NX") && cond != kXx) {
      cond = kNx;
    } else if (EqualsIgnoreCase(a, "XX") && cond != kNx) {
      cond = kXx;
    } else if (EqualsIgnoreCase(a, "GET")) {
      get = true;
    } else if (EqualsIgnoreCase(a, "KEEPTTL") && expire_option == 0) {
      keepttl = true;
    } else if (more && !keepttl && option != 0 &&
               (expire_option == 0 || expire_option == option)) {
      expire_option = option;
      expire_arg = ctx.arg(++i);
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  int64_t expire_ms = kNoExpire;
  if (expire_option != 0 &&
      !ParseExpireOption(ctx, expire_option, expire_arg, &expire_ms)) {
    return;
  }
  std::string_view key = ctx.arg(1);
  // A plain SET needs no lookup (the store learns whether the key existed
  // itself, without caching a miss); NX/XX/GET/KEEPTTL do.
  const bool plain = cond == kNone && !get && !keepttl;
  Entry* old = plain ? nullptr : LookupWrite(ctx, key);
  if (get && old != nullptr && old->is_collection()) {
    ctx.reply->Error(kWrongType);  // SET ... GET reads the old value
    return;
  }
  std::optional<std::string> old_value;
  if (get && old != nullptr) old_value = std::string(old->value());
  bool do_set =
      plain || !((cond == kNx && old != nullptr) || (cond == kXx && old == nullptr));
  if (do_set) {
    if (keepttl && old != nullptr) expire_ms = old->expire_ms();
    PutWithExpire(ctx, key, ctx.arg(2), expire_ms);
  }
  if (get) {
    if (old_value) {
      ctx.reply->Bulk(*old_value);
    } else {
      ctx.reply->Null();
    }
  } else if (do_set) {
    ctx.reply->Ok();
  } else {
    ctx.reply->Null();
  }
}

void SetNx(CommandContext& ctx) {
  if (LookupWrite(ctx, ctx.arg(1)) != nullptr) {
    ctx.reply->Integer(0);
    return;
  }
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), ctx.arg(2), kNoExpire);
  ctx.reply->Integer(1);
}

void SetExGeneric(CommandContext& ctx, ExpireUnit unit) {
  int64_t expire_ms;
  if (!ParseExpire(ctx, ctx.arg(2), unit, true, false, &expire_ms)) return;
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), ctx.arg(3), expire_ms);
  ctx.reply->Ok();
}
void SetEx(CommandContext& ctx) { SetExGeneric(ctx, ExpireUnit::kSeconds); }
void PSetEx(CommandContext& ctx) { SetExGeneric(ctx, ExpireUnit::kMilliseconds); }

void GetSet(CommandContext& ctx) {
  Entry* old = LookupWrite(ctx, ctx.arg(1));
  if (old == nullptr) {
    ctx.reply->Null();
  } else {
    ctx.reply->Bulk(old->value());
  }
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), ctx.arg(2), kNoExpire);
}

void GetDel(CommandContext& ctx) {
  Entry* e = LookupRead(ctx, ctx.arg(1));
  if (e == nullptr) {
    ctx.reply->Null();
    return;
  }
  ctx.reply->Bulk(e->value());
  StoreOf(ctx).Erase(DbOf(ctx), ctx.arg(1), ctx.now_ms);
}

// GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST]
void GetEx(CommandContext& ctx) {
  bool persist = false;
  int expire_option = 0;
  std::string_view expire_arg;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    std::string_view a = ctx.arg(i);
    bool more = i + 1 < ctx.argc();
    int option = ExpireOption(a);
    if (EqualsIgnoreCase(a, "PERSIST") && expire_option == 0) {
      persist = true;
    } else if (more && !persist && option != 0 &&
               (expire_option == 0 || expire_option == option)) {
      expire_option = option;
      expire_arg = ctx.arg(++i);
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupRead(ctx, ctx.arg(1));
  if (e == nullptr) {
    ctx.reply->Null();
    return;
  }
  // Redis validates the expiry only once the key is known to exist.
  bool has_expire = expire_option != 0;
  int64_t expire_ms = kNoExpire;
  if (has_expire && !ParseExpireOption(ctx, expire_option, expire_arg, &expire_ms)) {
    return;
  }
  ctx.reply->Bulk(e->value());
  if (has_expire) {
    if (expire_ms <= ctx.now_ms) {
      StoreOf(ctx).Erase(DbOf(ctx), ctx.arg(1), ctx.now_ms);
    } else {
      StoreOf(ctx).SetExpire(DbOf(ctx), ctx.arg(1), expire_ms, ctx.now_ms);
    }
  } else if (persist && e->has_expire()) {
    StoreOf(ctx).SetExpire(DbOf(ctx), ctx.arg(1), kNoExpire, ctx.now_ms);
  }
}

void MGet(CommandContext& ctx) {
  ctx.reply->ArrayHeader(ctx.argc() - 1);
  // Past the client's reply bound its connection closes: the rest is not
  // read (nor brought in from disk).
  for (size_t i = 1; i < ctx.argc() && !ctx.reply->over_limit(); ++i) {
    Entry* e = LookupRead(ctx, ctx.arg(i));
    if (e == nullptr || e->is_collection()) {  // Redis: nil for another type
      ctx.reply->Null();
    } else {
      ctx.reply->Bulk(e->value());
    }
  }
}

void MSet(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) {
    ctx.reply->Error(WrongArity(ctx.arg(0)));
    return;
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) {
    StoreOf(ctx).Put(DbOf(ctx), ctx.arg(i), ctx.arg(i + 1), kNoExpire);
  }
  ctx.reply->Ok();
}

void MSetNx(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) {
    ctx.reply->Error(WrongArity(ctx.arg(0)));
    return;
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) {
    if (LookupWrite(ctx, ctx.arg(i)) != nullptr) {
      ctx.reply->Integer(0);
      return;
    }
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) {
    StoreOf(ctx).Put(DbOf(ctx), ctx.arg(i), ctx.arg(i + 1), kNoExpire);
  }
  ctx.reply->Integer(1);
}

void Append(CommandContext& ctx) {
  Entry* e = LookupWrite(ctx, ctx.arg(1));
  if (e == nullptr) {
    StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), ctx.arg(2), kNoExpire);
    ctx.reply->Integer(static_cast<int64_t>(ctx.arg(2).size()));
    return;
  }
  if (!CheckSize(ctx, uint64_t{e->val_len} + ctx.arg(2).size())) return;
  std::string v;
  v.reserve(e->val_len + ctx.arg(2).size());
  v.append(e->value());
  v.append(ctx.arg(2));
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), v, e->expire_ms());
  ctx.reply->Integer(static_cast<int64_t>(v.size()));
}

void StrLen(CommandContext& ctx) {
  Entry* e = LookupRead(ctx, ctx.arg(1));
  ctx.reply->Integer(e == nullptr ? 0 : e->val_len);
}

void GetRange(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseInt64(ctx.arg(2), &start) || !ParseInt64(ctx.arg(3), &end)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupRead(ctx, ctx.arg(1));
  if (e == nullptr) {
    ctx.reply->Bulk("");
    return;
  }
  int64_t len = e->val_len;
  if (start < 0 && end < 0 && start > end) {
    ctx.reply->Bulk("");
    return;
  }
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) {
    ctx.reply->Bulk("");
    return;
  }
  ctx.reply->Bulk(e->value().substr(static_cast<size_t>(start),
                                    static_cast<size_t>(end - start + 1)));
}

void SetRange(CommandContext& ctx) {
  int64_t offset;
  if (!ParseInt64(ctx.arg(2), &offset)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  if (offset < 0) {
    ctx.reply->Error("ERR offset is out of range");
    return;
  }
  std::string_view value = ctx.arg(3);
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupWrite(ctx, ctx.arg(1));
  if (value.empty()) {
    ctx.reply->Integer(e == nullptr ? 0 : e->val_len);
    return;
  }
  if (!CheckSize(ctx, static_cast<uint64_t>(offset) + value.size())) return;
  std::string v = e == nullptr ? std::string() : std::string(e->value());
  int64_t expire = e == nullptr ? kNoExpire : e->expire_ms();
  size_t need = static_cast<size_t>(offset) + value.size();
  if (v.size() < need) v.resize(need, '\0');
  v.replace(static_cast<size_t>(offset), value.size(), value);
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), v, expire);
  ctx.reply->Integer(static_cast<int64_t>(v.size()));
}

void IncrGeneric(CommandContext& ctx, int64_t delta) {
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupWrite(ctx, ctx.arg(1));
  int64_t cur = 0;
  if (e != nullptr && !ParseInt64(e->value(), &cur)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  int64_t next;
  if (__builtin_add_overflow(cur, delta, &next)) {
    ctx.reply->Error(errors::kOverflow);
    return;
  }
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), Int64ToString(next),
                   e == nullptr ? kNoExpire : e->expire_ms());
  ctx.reply->Integer(next);
}

void Incr(CommandContext& ctx) { IncrGeneric(ctx, 1); }
void Decr(CommandContext& ctx) { IncrGeneric(ctx, -1); }

void IncrBy(CommandContext& ctx) {
  int64_t d;
  if (!ParseInt64(ctx.arg(2), &d)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  IncrGeneric(ctx, d);
}

void DecrBy(CommandContext& ctx) {
  int64_t d;
  if (!ParseInt64(ctx.arg(2), &d)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  if (d == INT64_MIN) {
    ctx.reply->Error("ERR decrement would overflow");
    return;
  }
  IncrGeneric(ctx, -d);
}

void IncrByFloat(CommandContext& ctx) {
  long double incr;
  if (!ParseLongDouble(ctx.arg(2), &incr)) {
    ctx.reply->Error(errors::kNotFloat);
    return;
  }
  Entry* e = LookupWrite(ctx, ctx.arg(1));
  long double cur = 0;
  if (e != nullptr && !ParseLongDouble(e->value(), &cur)) {
    ctx.reply->Error(errors::kNotFloat);
    return;
  }
  long double next = cur + incr;
  if (std::isnan(next) || std::isinf(next)) {
    ctx.reply->Error("ERR increment would produce NaN or Infinity");
    return;
  }
  std::string s = FormatLongDouble(next);
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), s, e == nullptr ? kNoExpire : e->expire_ms());
  ctx.reply->Bulk(s);
}

}  // namespace

void RegisterStringFamily(CommandTable* t) {
  const uint32_t rd = kReadOnly | kFast;
  const uint32_t wr = kWrite | kDenyOom;
  // name, arity, flags, first key, last key, step, handler, group, summary
  t->Add({"get", 2, rd, 1, 1, 1, Get, "string", "Get the value of a key"});
  t->Add({"set", -3, wr | kAnyKeyType, 1, 1, 1, Set, "string",
          "Set the string value of a key"});
  t->Add({"setnx", 3, wr | kFast | kAnyKeyType, 1, 1, 1, SetNx, "string",
          "Set if not exists"});
  t->Add({"setex", 4, wr | kAnyKeyType, 1, 1, 1, SetEx, "string",
          "Set with expiry in seconds"});
  t->Add({"psetex", 4, wr | kAnyKeyType, 1, 1, 1, PSetEx, "string",
          "Set with expiry in ms"});
  t->Add({"getset", 3, wr | kFast, 1, 1, 1, GetSet, "string", "Set, return old"});
  t->Add({"getdel", 2, kWrite | kFast, 1, 1, 1, GetDel, "string", "Get and delete"});
  t->Add({"getex", -2, kWrite | kFast | kAnyKeyType, 1, 1, 1, GetEx, "string",
          "Get, set expiry"});
  t->Add({"mget", -2, rd | kAnyKeyType, 1, -1, 1, MGet, "string", "Get several keys"});
  t->Add({"mset", -3, wr | kAnyKeyType, 1, -1, 2, MSet, "string", "Set several keys"});
  t->Add({"msetnx", -3, wr | kAnyKeyType, 1, -1, 2, MSetNx, "string",
          "Set several if none exist"});
  t->Add({"append", 3, wr | kFast, 1, 1, 1, Append, "string", "Append to a value"});
  t->Add({"strlen", 2, rd, 1, 1, 1, StrLen, "string", "Length of a value"});
  t->Add(
      {"getrange", 4, kReadOnly | kAnyKeyType, 1, 1, 1, GetRange, "string", "Substring"});
  t->Add({"substr", 4, kReadOnly | kAnyKeyType, 1, 1, 1, GetRange, "string",
          "Substring (old name)"});
  t->Add({"lcs", -3, kReadOnly | kAnyKeyType, 1, 2, 1, LcsCommand, "string",
          "Longest common subsequence"});
  t->Add(
      {"setrange", 4, wr | kAnyKeyType, 1, 1, 1, SetRange, "string", "Overwrite part"});
  t->Add({"incr", 2, wr | kFast, 1, 1, 1, Incr, "string", "Increment by one"});
  t->Add({"decr", 2, wr | kFast, 1, 1, 1, Decr, "string", "Decrement by one"});
  t->Add({"incrby", 3, wr | kFast | kAnyKeyType, 1, 1, 1, IncrBy, "string", "Increment"});
  t->Add({"decrby", 3, wr | kFast | kAnyKeyType, 1, 1, 1, DecrBy, "string", "Decrement"});
  t->Add({"incrbyfloat", 3, wr | kFast, 1, 1, 1, IncrByFloat, "string",
          "Increment by a float"});
}

}  // namespace edgekv
