// Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HDEL HEXISTS HLEN
// HSTRLEN HKEYS HVALS HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN. The fields live
// in types/hash_value.h; changes go through the store (Store::HashSet,
// HashDel), which logs them field by field. WRONGTYPE is the dispatcher's.
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "edgekv/glob.h"
#include "keyspace.h"
#include "types/hash_value.h"

namespace edgekv {
namespace {

// For the commands that check the key's type after their arguments (their
// spec says kAnyKeyType): false, with WRONGTYPE sent, for a key of another type.
bool HashAt(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  return KeysOfType(ctx, std::span<const std::string_view>(&key, 1), ValueType::kHash);
}

// The hash at key for reading (counted as a hit or miss), or nullptr.
const HashValue* AsHash(const Entry* e) {
  // The type was checked before (the dispatcher or HashAt): a key of
  // another type is not taken for a hash even so.
  if (e == nullptr || e->type() != ValueType::kHash) return nullptr;
  return static_cast<const HashValue*>(e->collection());
}

const HashValue* ReadHash(CommandContext& ctx, std::string_view key) {
  return AsHash(LookupRead(ctx, key));
}

// The value of field in the hash at args[1], for a command that will set it
// (not counted as a hit or miss); a hash only on disk is read there.
std::optional<std::string> FieldToChange(CommandContext& ctx, std::string_view field) {
  std::optional<std::string> out;
  StoreOf(ctx).ReadElements(DbOf(ctx), ctx.arg(1), ValueType::kHash, ctx.now_ms,
                            std::span<const std::string_view>(&field, 1),
                            [&](size_t, std::optional<std::string_view> v) {
                              if (v.has_value()) out.emplace(*v);
                            });
  return out;
}

void SetFields(CommandContext& ctx, bool count_reply) {
  if (ctx.argc() % 2 != 0) {
    ctx.reply->Error(WrongArity(ctx.arg(0)));
    return;
  }
  if (!HashAt(ctx)) return;
  // As Redis: any long argument converts the hash before the first field
  // goes in, even one whose field is then set again to something short.
  size_t longest = 0;
  for (size_t i = 2; i < ctx.argc(); ++i) longest = std::max(longest, ctx.arg(i).size());
  int64_t added = 0;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    if (StoreOf(ctx).HashSet(DbOf(ctx), ctx.arg(1), ctx.arg(i), ctx.arg(i + 1),
                             ctx.now_ms, longest)) {
      ++added;
    }
  }
  if (count_reply) {
    ctx.reply->Integer(added);
  } else {
    ctx.reply->Ok();
  }
}

void HSet(CommandContext& ctx) { SetFields(ctx, true); }
void HMSet(CommandContext& ctx) { SetFields(ctx, false); }

void HSetNx(CommandContext& ctx) {
  if (FieldToChange(ctx, ctx.arg(2)).has_value()) return ctx.reply->Integer(0);
  StoreOf(ctx).HashSet(DbOf(ctx), ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.now_ms);
  ctx.reply->Integer(1);
}

// The value of each field asked for, from memory or (point reads of a hash
// only on disk) from LevelDB. The hash's size, or -1 when there is none.
int64_t ReadFields(CommandContext& ctx, size_t first,
                   const std::function<void(std::optional<std::string_view>)>& fn) {
  return ReadElements(ctx, ctx.arg(1), ValueType::kHash, ctx.args.subspan(first),
                      [&](size_t, std::optional<std::string_view> v) { fn(v); });
}

void ReplyValue(CommandContext& ctx, std::optional<std::string_view> v) {
  if (v.has_value()) {
    ctx.reply->Bulk(*v);
  } else {
    ctx.reply->Null();
  }
}

void HGet(CommandContext& ctx) {
  if (ReadFields(ctx, 2, [&](auto v) { ReplyValue(ctx, v); }) < 0) ctx.reply->Null();
}

void HMGet(CommandContext& ctx) {
  ctx.reply->ArrayHeader(ctx.argc() - 2);
  if (ReadFields(ctx, 2, [&](auto v) { ReplyValue(ctx, v); }) >= 0) return;
  for (size_t i = 2; i < ctx.argc(); ++i) ctx.reply->Null();
}

void HDel(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    if (StoreOf(ctx).HashDel(DbOf(ctx), ctx.arg(1), ctx.arg(i), ctx.now_ms)) ++n;
  }
  ctx.reply->Integer(n);
}

void HExists(CommandContext& ctx) {
  bool found = false;
  ReadFields(ctx, 2, [&](auto v) { found = v.has_value(); });
  ctx.reply->Integer(found ? 1 : 0);
}

void HLen(CommandContext& ctx) {
  ctx.reply->Integer(std::max<int64_t>(ReadFields(ctx, ctx.argc(), {}), 0));
}

void HStrLen(CommandContext& ctx) {
  size_t len = 0;
  ReadFields(ctx, 2, [&](auto v) { len = v.has_value() ? v->size() : 0; });
  ctx.reply->Integer(static_cast<int64_t>(len));
}

enum class Part { kFields, kValues, kBoth };

void ReplyAll(CommandContext& ctx, Part part) {
  ReplyBuilder& r = *ctx.reply;
  auto header = [&](size_t n) {
    part == Part::kBoth ? r.MapHeader(n) : r.ArrayHeader(n);
  };
  auto reply = [&](std::string_view f, std::string_view v) {
    if (part != Part::kValues) r.Bulk(f);
    if (part != Part::kFields) r.Bulk(v);
  };
  bool hot = false;
  std::vector<std::pair<std::string, std::string>> cold;  // a big hash on disk's
  StatusOr<bool> read = ReadWhole(
      ctx, ctx.arg(1), ValueType::kHash,
      [&](const Collection& h) {
        hot = true;
        header(h.size());
        h.ForEachElement(reply);
      },
      [&](std::string_view f, std::string_view v) { cold.emplace_back(f, v); });
  if (!read.ok()) return r.Error("ERR " + read.status().message());
  if (hot) return;
  header(cold.size());
  for (const auto& [f, v] : cold) reply(f, v);
}

void HGetAll(CommandContext& ctx) { ReplyAll(ctx, Part::kBoth); }
void HKeys(CommandContext& ctx) { ReplyAll(ctx, Part::kFields); }
void HVals(CommandContext& ctx) { ReplyAll(ctx, Part::kValues); }

void HIncrBy(CommandContext& ctx) {
  int64_t incr;
  if (!ParseInt64(ctx.arg(3), &incr)) return ctx.reply->Error(errors::kNotInteger);
  if (!HashAt(ctx)) return;
  int64_t cur = 0;
  if (std::optional<std::string> v = FieldToChange(ctx, ctx.arg(2)); v.has_value()) {
    if (!ParseInt64(*v, &cur))
      return ctx.reply->Error("ERR hash value is not an integer");
  }
  int64_t next;
  if (__builtin_add_overflow(cur, incr, &next))
    return ctx.reply->Error(errors::kOverflow);
  StoreOf(ctx).HashSet(DbOf(ctx), ctx.arg(1), ctx.arg(2), std::to_string(next),
                       ctx.now_ms);
  ctx.reply->Integer(next);
}

void HIncrByFloat(CommandContext& ctx) {
  long double incr;
  if (!ParseLongDouble(ctx.arg(3), &incr)) return ctx.reply->Error(errors::kNotFloat);
  if (std::isnan(incr) || std::isinf(incr)) {
    return ctx.reply->Error("ERR value is NaN or Infinity");
  }
  if (!HashAt(ctx)) return;
  long double cur = 0;
  if (std::optional<std::string> v = FieldToChange(ctx, ctx.arg(2)); v.has_value()) {
    if (!ParseLongDouble(*v, &cur))
      return ctx.reply->Error("ERR hash value is not a float");
  }
  long double next = cur + incr;
  if (std::isnan(next) || std::isinf(next)) {
    return ctx.reply->Error("ERR increment would produce NaN or Infinity");
  }
  std::string s = FormatLongDouble(next);
  StoreOf(ctx).HashSet(DbOf(ctx), ctx.arg(1), ctx.arg(2), s, ctx.now_ms);
  ctx.reply->Bulk(s);
}

thread_local std::mt19937_64 tl_rng{std::random_device{}()};

// HRANDFIELD key [count [WITHVALUES]]
void HRandField(CommandContext& ctx) {
  if (ctx.argc() == 2) {
    if (!HashAt(ctx)) return;
    const HashValue* h = ReadHash(ctx, ctx.arg(1));
    if (h == nullptr) return ctx.reply->Null();
    ctx.reply->Bulk(h->Random(tl_rng).first);
    return;
  }
  int64_t count;
  if (std::string_view e = ParseRandomCount(ctx.arg(2), &count); !e.empty()) {
    return ctx.reply->Error(e);
  }
  bool with_values = false;
  if (ctx.argc() == 4 && EqualsIgnoreCase(ctx.arg(3), "WITHVALUES")) {
    with_values = true;
  } else if (ctx.argc() > 3) {
    return ctx.reply->Error(errors::kSyntax);
  }
  if (with_values && (count < -INT64_MAX / 2 || count > INT64_MAX / 2)) {
    return ctx.reply->Error("ERR value is out of range");
  }
  if (!HashAt(ctx)) return;
  const HashValue* h = ReadHash(ctx, ctx.arg(1));
  if (h == nullptr || count == 0) return ctx.reply->ArrayHeader(0);
  ReplyBuilder& r = *ctx.reply;
  auto pair = [&](std::string_view f, std::string_view v) {
    if (with_values && r.resp() == 3) r.ArrayHeader(2);
    r.Bulk(f);
    if (with_values) r.Bulk(v);
  };
  const size_t size = h->size();
  auto header = [&](size_t n) {
    r.ArrayHeader(with_values && r.resp() == 2 ? n * 2 : n);
  };
  if (count < 0) {  // repeats allowed
    const auto n = static_cast<size_t>(-count);
    header(n);
    for (size_t i = 0; i < n && !r.over_limit(); ++i) {
      auto [f, v] = h->Random(tl_rng);
      pair(f, v);
    }
    return;
  }
  if (static_cast<uint64_t>(count) >= size) {  // the whole hash
    header(size);
    h->ForEach(pair);
    return;
  }
  // Distinct fields: a random sample of `count` positions.
  std::vector<std::pair<std::string_view, std::string_view>> all;
  all.reserve(size);
  h->ForEach([&](std::string_view f, std::string_view v) { all.emplace_back(f, v); });
  const auto n = static_cast<size_t>(count);
  for (size_t i = 0; i < n; ++i) {
    size_t j = std::uniform_int_distribution<size_t>(i, size - 1)(tl_rng);
    std::swap(all[i], all[j]);
  }
  header(n);
  for (size_t i = 0; i < n; ++i) pair(all[i].first, all[i].second);
}

// HSCAN key cursor [MATCH pattern] [COUNT count]
void HScan(CommandContext& ctx) {
  uint64_t cursor;
  ScanOptions opt;
  if (!StartElementScan(ctx, ValueType::kHash, &cursor, &opt)) return;
  std::vector<std::pair<std::string, std::string>> found;
  auto keep = [&](std::string_view f, std::string_view v) {
    if (!opt.has_pattern || GlobMatch(opt.pattern, f)) found.emplace_back(f, v);
  };
  StatusOr<std::optional<uint64_t>> next = StoreOf(ctx).ScanElements(
      DbOf(ctx), ctx.arg(1), ValueType::kHash, ctx.now_ms, cursor, opt.count,
      [&](const Collection& c, uint64_t from) {
        return static_cast<const HashValue&>(c).Scan(from, opt.count, keep);
      },
      keep);
  if (!next.ok()) return ctx.reply->Error("ERR " + next.status().message());
  if (!next->has_value()) return ReplyEmptyScan(ctx);
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(2);
  r.Bulk(std::to_string(**next));
  r.ArrayHeader(found.size() * 2);
  for (auto& [f, v] : found) {
    r.Bulk(f);
    r.Bulk(v);
  }
}

}  // namespace

void RegisterHashFamily(CommandTable* t) {
  const uint32_t rd = kReadOnly | kFast;
  const uint32_t wr = kWrite | kDenyOom | kFast;
  // name, arity, flags, first key, last key, step, handler, group, summary
  // These check their arguments before they look at the key (HashAt), as Redis.
  const uint32_t later = kAnyKeyType;
  t->Add({"hset", -4, wr | later, 1, 1, 1, HSet, "hash", "Set fields of a hash"});
  t->Add({"hsetnx", 4, wr, 1, 1, 1, HSetNx, "hash", "Set a field if it does not exist"});
  t->Add({"hmset", -4, wr | later, 1, 1, 1, HMSet, "hash",
          "Set fields of a hash (old form)"});
  t->Add({"hget", 3, rd, 1, 1, 1, HGet, "hash", "Value of a field"});
  t->Add({"hmget", -3, rd, 1, 1, 1, HMGet, "hash", "Values of fields"});
  t->Add({"hgetall", 2, kReadOnly, 1, 1, 1, HGetAll, "hash", "Every field and value"});
  t->Add({"hdel", -3, kWrite | kFast, 1, 1, 1, HDel, "hash", "Delete fields"});
  t->Add({"hexists", 3, rd, 1, 1, 1, HExists, "hash", "Does a field exist"});
  t->Add({"hlen", 2, rd, 1, 1, 1, HLen, "hash", "Number of fields"});
  t->Add({"hstrlen", 3, rd, 1, 1, 1, HStrLen, "hash", "Length of a field's value"});
  t->Add({"hkeys", 2, kReadOnly, 1, 1, 1, HKeys, "hash", "Every field"});
  t->Add({"hvals", 2, kReadOnly, 1, 1, 1, HVals, "hash", "Every value"});
  t->Add(
      {"hincrby", 4, wr | later, 1, 1, 1, HIncrBy, "hash", "Add to a field's integer"});
  t->Add({"hincrbyfloat", 4, wr | later, 1, 1, 1, HIncrByFloat, "hash",
          "Add to a field's float"});
  t->Add({"hrandfield", -2, kReadOnly | later, 1, 1, 1, HRandField, "hash",
          "Random fields"});
  t->Add({"hscan", -3, kReadOnly | later, 1, 1, 1, HScan, "hash", "Iterate over fields"});
}

}  // namespace edgekv
