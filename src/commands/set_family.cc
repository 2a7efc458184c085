// Set commands: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER
// SPOP SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE
// SSCAN. The members live in types/set_value.h; changes go through the store
// (Store::SetAdd, SetRem, PutCollection), which logs them member by member.
// WRONGTYPE is the dispatcher's, except for the commands that look at their
// keys after parsing (kAnyKeyType), which call SetsAt.
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "edgekv/glob.h"
#include "keyspace.h"
#include "types/set_value.h"

namespace edgekv {
namespace {

thread_local std::mt19937_64 tl_rng{std::random_device{}()};

bool SetsAt(CommandContext& ctx, std::span<const std::string_view> keys) {
  return KeysOfType(ctx, keys, ValueType::kSet);
}

bool SetAt(CommandContext& ctx, std::string_view key) {
  return SetsAt(ctx, std::span<const std::string_view>(&key, 1));
}

const SetValue* AsSet(const Entry* e) {
  if (e == nullptr || e->type() != ValueType::kSet) return nullptr;
  return static_cast<const SetValue*>(e->collection());
}

const SetValue* ReadSet(CommandContext& ctx, std::string_view key) {
  return AsSet(LookupRead(ctx, key));
}

std::span<const std::string_view> ArgsFrom(CommandContext& ctx, size_t from,
                                           size_t n = SIZE_MAX) {
  std::span<const std::string_view> all(ctx.args);
  all = all.subspan(from);
  return n < all.size() ? all.first(n) : all;
}

void SAdd(CommandContext& ctx) {
  int64_t added = 0;
  const size_t hint = ctx.argc() - 2;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    if (StoreOf(ctx).SetAdd(DbOf(ctx), ctx.arg(1), ctx.arg(i), ctx.now_ms, hint)) ++added;
  }
  ctx.reply->Integer(added);
}

void SRem(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    if (StoreOf(ctx).SetRem(DbOf(ctx), ctx.arg(1), ctx.arg(i), ctx.now_ms)) ++n;
  }
  ctx.reply->Integer(n);
}

// Membership of each member from args[first] on, from memory or (a set only
// on disk) from LevelDB; the set's size, or -1 when there is none.
int64_t ReadMembers(CommandContext& ctx, size_t first,
                    const std::function<void(bool)>& fn) {
  return ReadElements(
      ctx, ctx.arg(1), ValueType::kSet, ctx.args.subspan(first),
      [&](size_t, std::optional<std::string_view> v) { fn(v.has_value()); });
}

void SCard(CommandContext& ctx) {
  ctx.reply->Integer(std::max<int64_t>(ReadMembers(ctx, ctx.argc(), {}), 0));
}

void SIsMember(CommandContext& ctx) {
  bool found = false;
  ReadMembers(ctx, 2, [&](bool in) { found = in; });
  ctx.reply->Integer(found ? 1 : 0);
}

void SMIsMember(CommandContext& ctx) {
  ctx.reply->ArrayHeader(ctx.argc() - 2);
  if (ReadMembers(ctx, 2, [&](bool in) { ctx.reply->Integer(in ? 1 : 0); }) >= 0) return;
  for (size_t i = 2; i < ctx.argc(); ++i) ctx.reply->Integer(0);
}

void ReplyMembers(CommandContext& ctx, const std::vector<std::string>& members) {
  ctx.reply->SetHeader(members.size());
  for (const std::string& m : members) ctx.reply->Bulk(m);
}

void SMembers(CommandContext& ctx) {
  ReplyBuilder& r = *ctx.reply;
  bool hot = false;
  std::vector<std::string> cold;  // a big set on disk's
  StatusOr<bool> read = ReadWhole(
      ctx, ctx.arg(1), ValueType::kSet,
      [&](const Collection& c) {
        hot = true;
        const auto& s = static_cast<const SetValue&>(c);
        r.SetHeader(s.size());
        s.ForEach([&](std::string_view m) { r.Bulk(m); });
      },
      [&](std::string_view m, std::string_view) { cold.emplace_back(m); });
  if (!read.ok()) return r.Error("ERR " + read.status().message());
  if (hot) return;
  r.SetHeader(cold.size());
  for (const std::string& m : cold) r.Bulk(m);
}

// --- SINTER, SUNION, SDIFF and their STORE and CARD forms -----------------

enum class Algebra { kInter, kUnion, kDiff };

// The result of combining the sets at keys (a missing key is an empty set);
// stops at `limit` members when it is not 0 (SINTERCARD).
std::vector<std::string> Combine(CommandContext& ctx,
                                 std::span<const std::string_view> keys, Algebra op,
                                 size_t limit = 0) {
  std::vector<const SetValue*> sets;
  sets.reserve(keys.size());
  for (std::string_view k : keys) sets.push_back(ReadSet(ctx, k));
  std::vector<std::string> out;
  if (op == Algebra::kInter) {
    if (std::find(sets.begin(), sets.end(), nullptr) != sets.end()) return out;
    // The smallest set's members that every other set holds.
    std::sort(sets.begin(), sets.end(),
              [](const SetValue* a, const SetValue* b) { return a->size() < b->size(); });
    sets[0]->ForEach([&](std::string_view m) {
      if (limit != 0 && out.size() >= limit) return;
      for (size_t i = 1; i < sets.size(); ++i) {
        if (!sets[i]->Contains(m)) return;
      }
      out.emplace_back(m);
    });
    return out;
  }
  std::unordered_set<std::string> seen;
  if (op == Algebra::kUnion) {
    for (const SetValue* s : sets) {
      if (s == nullptr) continue;
      s->ForEach([&](std::string_view m) {
        if (seen.emplace(m).second) out.emplace_back(m);
      });
    }
    return out;
  }
  if (sets[0] == nullptr) return out;
  sets[0]->ForEach([&](std::string_view m) {
    for (size_t i = 1; i < sets.size(); ++i) {
      if (sets[i] != nullptr && sets[i]->Contains(m)) return;
    }
    out.emplace_back(m);
  });
  return out;
}

void Inter(CommandContext& ctx) {
  ReplyMembers(ctx, Combine(ctx, ArgsFrom(ctx, 1), Algebra::kInter));
}
void Union(CommandContext& ctx) {
  ReplyMembers(ctx, Combine(ctx, ArgsFrom(ctx, 1), Algebra::kUnion));
}
void Diff(CommandContext& ctx) {
  ReplyMembers(ctx, Combine(ctx, ArgsFrom(ctx, 1), Algebra::kDiff));
}

// Replaces the key with a set of `members` (or deletes it when there are
// none), whatever it held, as Redis's *STORE commands do.
void StoreSet(CommandContext& ctx, std::string_view key,
              const std::vector<std::string>& members) {
  Store& store = StoreOf(ctx);
  if (members.empty()) {
    store.Erase(DbOf(ctx), key, ctx.now_ms);
    return;
  }
  SetValue set;
  const EncodingLimits limits = store.encoding_limits();
  for (const std::string& m : members) set.Add(m, limits);
  store.PutCollection(DbOf(ctx), key, set, kNoExpire, ctx.now_ms);
}

void CombineStore(CommandContext& ctx, Algebra op) {
  // The destination may hold anything (it is replaced); the sources are sets.
  if (!SetsAt(ctx, ArgsFrom(ctx, 2))) return;
  std::vector<std::string> members = Combine(ctx, ArgsFrom(ctx, 2), op);
  StoreSet(ctx, ctx.arg(1), members);
  ctx.reply->Integer(static_cast<int64_t>(members.size()));
}

void InterStore(CommandContext& ctx) { CombineStore(ctx, Algebra::kInter); }
void UnionStore(CommandContext& ctx) { CombineStore(ctx, Algebra::kUnion); }
void DiffStore(CommandContext& ctx) { CombineStore(ctx, Algebra::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void InterCard(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.arg(1), &numkeys) || numkeys < 1) {
    return ctx.reply->Error("ERR numkeys should be greater than 0");
  }
  if (static_cast<uint64_t>(numkeys) > ctx.argc() - 2) {
    return ctx.reply->Error("ERR Number of keys can't be greater than number of args");
  }
  int64_t limit = 0;
  for (size_t i = 2 + static_cast<size_t>(numkeys); i < ctx.argc(); ++i) {
    if (EqualsIgnoreCase(ctx.arg(i), "LIMIT") && i + 1 < ctx.argc()) {
      ++i;
      if (!ParseInt64(ctx.arg(i), &limit) || limit < 0) {
        return ctx.reply->Error("ERR LIMIT can't be negative");
      }
    } else {
      return ctx.reply->Error(errors::kSyntax);
    }
  }
  auto keys = ArgsFrom(ctx, 2, static_cast<size_t>(numkeys));
  if (!SetsAt(ctx, keys)) return;
  ctx.reply->Integer(static_cast<int64_t>(
      Combine(ctx, keys, Algebra::kInter, static_cast<size_t>(limit)).size()));
}

// SMOVE source destination member
void SMove(CommandContext& ctx) {
  std::string_view src = ctx.arg(1), dst = ctx.arg(2), member = ctx.arg(3);
  Store& store = StoreOf(ctx);
  // As Redis: a missing source answers 0 before any type is looked at.
  Entry* from = LookupWrite(ctx, src);
  if (from == nullptr) return ctx.reply->Integer(0);
  std::string_view both[] = {src, dst};
  if (!SetsAt(ctx, both)) return;
  if (src == dst) return ctx.reply->Integer(AsSet(from)->Contains(member) ? 1 : 0);
  if (!store.SetRem(DbOf(ctx), src, member, ctx.now_ms)) return ctx.reply->Integer(0);
  store.SetAdd(DbOf(ctx), dst, member, ctx.now_ms);
  ctx.reply->Integer(1);
}

// SPOP key [count]
void SPop(CommandContext& ctx) {
  Store& store = StoreOf(ctx);
  if (ctx.argc() > 3) return ctx.reply->Error(errors::kSyntax);
  int64_t count = 1;
  const bool with_count = ctx.argc() == 3;
  if (with_count) {
    if (!ParseInt64(ctx.arg(2), &count) || count < 0) {
      return ctx.reply->Error("ERR value is out of range, must be positive");
    }
  }
  if (!SetAt(ctx, ctx.arg(1))) return;
  const SetValue* s = AsSet(LookupWrite(ctx, ctx.arg(1)));
  if (!with_count) {
    if (s == nullptr) return ctx.reply->Null();
    std::string m = s->Random(tl_rng);
    store.SetRem(DbOf(ctx), ctx.arg(1), m, ctx.now_ms);
    return ctx.reply->Bulk(m);
  }
  if (s == nullptr || count == 0) return ctx.reply->SetHeader(0);
  std::vector<std::string> popped;
  if (static_cast<uint64_t>(count) >= s->size()) {  // the whole set
    popped.reserve(s->size());
    s->ForEach([&](std::string_view m) { popped.emplace_back(m); });
  } else {
    const auto n = static_cast<size_t>(count);
    popped.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      // s stays valid: it keeps at least one member.
      popped.push_back(s->Random(tl_rng));
      store.SetRem(DbOf(ctx), ctx.arg(1), popped.back(), ctx.now_ms);
    }
    return ReplyMembers(ctx, popped);
  }
  for (const std::string& m : popped) store.SetRem(DbOf(ctx), ctx.arg(1), m, ctx.now_ms);
  ReplyMembers(ctx, popped);
}

// SRANDMEMBER key [count]
void SRandMember(CommandContext& ctx) {
  if (ctx.argc() > 3) return ctx.reply->Error(errors::kSyntax);
  if (ctx.argc() == 2) {
    if (!SetAt(ctx, ctx.arg(1))) return;
    const SetValue* s = ReadSet(ctx, ctx.arg(1));
    if (s == nullptr) return ctx.reply->Null();
    return ctx.reply->Bulk(s->Random(tl_rng));
  }
  int64_t count;
  if (std::string_view e = ParseRandomCount(ctx.arg(2), &count); !e.empty()) {
    return ctx.reply->Error(e);
  }
  if (!SetAt(ctx, ctx.arg(1))) return;
  const SetValue* s = ReadSet(ctx, ctx.arg(1));
  ReplyBuilder& r = *ctx.reply;
  if (s == nullptr || count == 0) return r.ArrayHeader(0);
  if (count < 0) {  // repeats allowed
    const auto n = static_cast<size_t>(-count);
    r.ArrayHeader(n);
    for (size_t i = 0; i < n && !r.over_limit(); ++i) r.Bulk(s->Random(tl_rng));
    return;
  }
  const size_t size = s->size();
  const auto n = static_cast<size_t>(count);
  if (n >= size) {  // the whole set
    r.ArrayHeader(size);
    s->ForEach([&](std::string_view m) { r.Bulk(m); });
    return;
  }
  std::vector<std::string> picked;
  picked.reserve(n);
  if (n * 3 < size) {  // few of many: random picks until n distinct
    std::unordered_set<std::string> seen;
    while (picked.size() < n) {
      std::string m = s->Random(tl_rng);
      if (seen.insert(m).second) picked.push_back(std::move(m));
    }
  } else {  // most of them: a partial shuffle of all
    std::vector<std::string> all;
    all.reserve(size);
    s->ForEach([&](std::string_view m) { all.emplace_back(m); });
    for (size_t i = 0; i < n; ++i) {
      std::swap(all[i], all[std::uniform_int_distribution<size_t>(i, size - 1)(tl_rng)]);
      picked.push_back(std::move(all[i]));
    }
  }
  r.ArrayHeader(n);
  for (const std::string& m : picked) r.Bulk(m);
}

// SSCAN key cursor [MATCH pattern] [COUNT count]
void SScan(CommandContext& ctx) {
  uint64_t cursor;
  ScanOptions opt;
  if (!StartElementScan(ctx, ValueType::kSet, &cursor, &opt)) return;
  std::vector<std::string> found;
  auto keep = [&](std::string_view m) {
    if (!opt.has_pattern || GlobMatch(opt.pattern, m)) found.emplace_back(m);
  };
  StatusOr<std::optional<uint64_t>> next = StoreOf(ctx).ScanElements(
      DbOf(ctx), ctx.arg(1), ValueType::kSet, ctx.now_ms, cursor, opt.count,
      [&](const Collection& c, uint64_t from) {
        return static_cast<const SetValue&>(c).Scan(from, opt.count, keep);
      },
      [&](std::string_view m, std::string_view) { keep(m); });
  if (!next.ok()) return ctx.reply->Error("ERR " + next.status().message());
  if (!next->has_value()) return ReplyEmptyScan(ctx);
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(2);
  r.Bulk(std::to_string(**next));
  r.ArrayHeader(found.size());
  for (const std::string& m : found) r.Bulk(m);
}

}  // namespace

void RegisterSetFamily(CommandTable* t) {
  const uint32_t rd = kReadOnly | kFast;
  const uint32_t wr = kWrite | kDenyOom | kFast;
  // These look at their keys after their arguments, or not at every key.
  const uint32_t later = kAnyKeyType;
  // name, arity, flags, first key, last key, step, handler, group, summary
  t->Add({"sadd", -3, wr, 1, 1, 1, SAdd, "set", "Add members to a set"});
  t->Add({"srem", -3, kWrite | kFast, 1, 1, 1, SRem, "set", "Remove members"});
  t->Add({"scard", 2, rd, 1, 1, 1, SCard, "set", "Number of members"});
  t->Add({"sismember", 3, rd, 1, 1, 1, SIsMember, "set", "Is it a member"});
  t->Add({"smismember", -3, rd, 1, 1, 1, SMIsMember, "set", "Are they members"});
  t->Add({"smembers", 2, kReadOnly, 1, 1, 1, SMembers, "set", "Every member"});
  t->Add({"srandmember", -2, kReadOnly | later, 1, 1, 1, SRandMember, "set",
          "Random members"});
  t->Add({"spop", -2, kWrite | kFast | later, 1, 1, 1, SPop, "set",
          "Remove and return random members"});
  t->Add({"smove", 4, kWrite | kFast | later, 1, 2, 1, SMove, "set",
          "Move a member to another set"});
  t->Add({"sinter", -2, kReadOnly, 1, -1, 1, Inter, "set", "Intersection of sets"});
  CommandSpec inter_card{"sintercard",
                         -3,
                         kReadOnly | later,
                         0,
                         0,
                         0,
                         InterCard,
                         "set",
                         "Size of the intersection of sets"};
  inter_card.numkeys_at = 1;
  t->Add(std::move(inter_card));
  t->Add({"sinterstore", -3, kWrite | kDenyOom | later, 1, -1, 1, InterStore, "set",
          "Store the intersection of sets"});
  t->Add({"sunion", -2, kReadOnly, 1, -1, 1, Union, "set", "Union of sets"});
  t->Add({"sunionstore", -3, kWrite | kDenyOom | later, 1, -1, 1, UnionStore, "set",
          "Store the union of sets"});
  t->Add({"sdiff", -2, kReadOnly, 1, -1, 1, Diff, "set", "Difference of sets"});
  t->Add({"sdiffstore", -3, kWrite | kDenyOom | later, 1, -1, 1, DiffStore, "set",
          "Store the difference of sets"});
  t->Add({"sscan", -3, kReadOnly | later, 1, 1, 1, SScan, "set", "Iterate over members"});
}

}  // namespace edgekv
