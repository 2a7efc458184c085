// Sorted-set commands: ZADD ZINCRBY ZREM ZCARD ZCOUNT ZLEXCOUNT ZSCORE
// ZMSCORE ZRANK ZREVRANK, the ZRANGE family (ZRANGE ZRANGESTORE ZREVRANGE
// ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX), ZREMRANGEBY*,
// ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER, ZUNION ZINTER ZDIFF and their STORE
// forms, ZINTERCARD, ZSCAN. The elements live in types/zset_value.h; changes
// go through the store (Store::ZSetAdd, RemoveElement, PutCollection), which
// logs them member by member. Most of these parse their arguments before
// they look at the key, as Redis's do: they check its type themselves.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "edgekv/glob.h"
#include "keyspace.h"
#include "types/set_value.h"
#include "types/sorted_view.h"
#include "types/zset_value.h"

namespace edgekv {
namespace {

thread_local std::mt19937_64 tl_rng{std::random_device{}()};

constexpr std::string_view kNotFloat = "ERR value is not a valid float";
constexpr std::string_view kNotPositive = "ERR value is out of range, must be positive";
constexpr std::string_view kRangeNotFloat = "ERR min or max is not a float";
constexpr std::string_view kRangeNotLex = "ERR min or max not valid string range item";

using Element = std::pair<std::string, double>;

bool ZSetAt(CommandContext& ctx, std::string_view key) {
  return KeysOfType(ctx, std::span<const std::string_view>(&key, 1), ValueType::kZSet);
}

const ZSetValue* AsZSet(const Entry* e) {
  if (e == nullptr || e->type() != ValueType::kZSet) return nullptr;
  return static_cast<const ZSetValue*>(e->collection());
}

const ZSetValue* ReadZSet(CommandContext& ctx, std::string_view key) {
  return AsZSet(LookupRead(ctx, key));
}

// Redis's getDoubleFromObject: strtod over the whole text, no leading
// space, no NaN, no overflow or underflow.
bool ParseScore(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || std::isnan(v)) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) return false;
  *out = v;
  return true;
}

// --- Ranges: by score or by member (lex) ----------------------------------

// The elements between a minimum and a maximum, as Redis's zrangespec and
// zlexrangespec: GteMin and LteMax hold for the elements in the range.
struct Range {
  bool lex = false;
  double min = 0, max = 0;
  std::string lmin, lmax;
  bool minex = false, maxex = false;
  // Lex: '-' (below everything) or '+' (above everything), or 0 for lmin/lmax.
  char min_inf = 0, max_inf = 0;

  bool GteMin(double score, std::string_view m) const {
    if (!lex) return minex ? score > min : score >= min;
    if (min_inf == '-') return true;
    if (min_inf == '+') return false;
    return minex ? m > lmin : m >= lmin;
  }
  bool LteMax(double score, std::string_view m) const {
    if (!lex) return maxex ? score < max : score <= max;
    if (max_inf == '+') return true;
    if (max_inf == '-') return false;
    return maxex ? m < lmax : m <= lmax;
  }
  bool Empty() const {
    if (!lex) return min > max || (min == max && (minex || maxex));
    // As Redis's sdscmplex: '-' is below and '+' above every string.
    auto rank = [](char inf) { return inf == '-' ? -1 : inf == '+' ? 1 : 0; };
    int cmp;
    if (min_inf != 0 || max_inf != 0) {
      if (min_inf == max_inf) return true;  // "-" to "-" or "+" to "+"
      cmp = rank(min_inf) - rank(max_inf);
    } else {
      cmp = lmin.compare(lmax);
    }
    return cmp > 0 || (cmp == 0 && (minex || maxex));
  }
};

// One end of a score range: "(1" (exclusive), "1", "-inf", "+inf" ...
bool ParseScoreBound(std::string_view s, double* v, bool* ex) {
  *ex = !s.empty() && s[0] == '(';
  std::string text(s.substr(*ex ? 1 : 0));
  char* end = nullptr;
  *v = std::strtod(text.c_str(), &end);
  return *end == '\0' && !std::isnan(*v);
}

bool ParseScoreRange(std::string_view min, std::string_view max, Range* r) {
  return ParseScoreBound(min, &r->min, &r->minex) &&
         ParseScoreBound(max, &r->max, &r->maxex);
}

bool ParseLexBound(std::string_view s, std::string* v, bool* ex, char* inf) {
  if (s.empty()) return false;
  switch (s[0]) {
    case '+':
    case '-':
      if (s.size() != 1) return false;
      *ex = true;
      *inf = s[0];
      return true;
    case '(':
    case '[':
      *ex = s[0] == '(';
      *inf = 0;
      v->assign(s.substr(1));
      return true;
    default:
      return false;
  }
}

bool ParseLexRange(std::string_view min, std::string_view max, Range* r) {
  r->lex = true;
  return ParseLexBound(min, &r->lmin, &r->minex, &r->min_inf) &&
         ParseLexBound(max, &r->lmax, &r->maxex, &r->max_inf);
}

// The elements of a score range in order (descending when `reverse`), past
// the first `skip`, until fn returns false, for a set that seeks by score
// (one on disk), where counting ranks would walk from its lowest score.
// False for one that does not: its range is read by ranks.
bool VisitScoreRange(const SortedView& z, const Range& r, bool reverse, size_t skip,
                     const SortedView::Until& fn) {
  if (r.Empty()) return true;
  auto in_range = [&](std::string_view m, double s) {
    if (!(reverse ? r.LteMax(s, m) : r.GteMin(s, m))) return true;  // an excluded end
    if (!(reverse ? r.GteMin(s, m) : r.LteMax(s, m))) return false;
    if (skip > 0) {
      --skip;
      return true;
    }
    return fn(m, s);
  };
  return z.VisitFromScore(reverse ? r.max : r.min, reverse, in_range);
}

// The ranks [first, last) of the range's elements.
std::pair<size_t, size_t> RanksOf(const SortedView& z, const Range& r) {
  if (r.Empty()) return {0, 0};
  size_t lo =
      z.CountBefore([&](double s, std::string_view m) { return !r.GteMin(s, m); });
  size_t hi = z.CountBefore([&](double s, std::string_view m) { return r.LteMax(s, m); });
  return {lo, std::max(lo, hi)};
}

// --- Replies ---------------------------------------------------------------

void ReplyScore(CommandContext& ctx, std::optional<double> score) {
  if (score.has_value()) {
    ctx.reply->Double(*score);
  } else {
    ctx.reply->Null();
  }
}

// Members, with their scores when asked: a flat array in RESP2, pairs in RESP3.
void ReplyElements(CommandContext& ctx, const std::vector<Element>& els,
                   bool withscores) {
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(withscores && r.resp() == 2 ? els.size() * 2 : els.size());
  for (const Element& e : els) {
    if (withscores && r.resp() >= 3) r.ArrayHeader(2);
    r.Bulk(e.first);
    if (withscores) r.Double(e.second);
  }
}

// Replaces key with a sorted set of `els` (deletes it when there are none),
// and replies their number. As Redis builds it: ZUNIONSTORE and the like
// (no `start_size`) in the smallest encoding that holds the result;
// ZRANGESTORE as a set made for `start_size` members that `els` are added to
// in order, converting on the way (a listpack's -0 becomes 0 until then).
void StoreElements(CommandContext& ctx, std::string_view key,
                   const std::vector<Element>& els,
                   std::optional<size_t> start_size = std::nullopt) {
  Store& store = StoreOf(ctx);
  if (els.empty()) {
    store.Erase(DbOf(ctx), key, ctx.now_ms);
  } else {
    const EncodingLimits limits = store.encoding_limits();
    size_t longest = 0;
    for (const Element& e : els) longest = std::max(longest, e.first.size());
    ZSetValue z;
    if (start_size.has_value()) {
      z.Prepare(*start_size, 0, limits);
    } else {
      z.Prepare(els.size(), longest, limits);
    }
    for (const Element& e : els) z.Set(e.first, e.second, limits);
    store.PutCollection(DbOf(ctx), key, z, kNoExpire, ctx.now_ms);
  }
  ctx.reply->Integer(static_cast<int64_t>(els.size()));
}

std::vector<Element> Collect(const SortedView& z, size_t first, size_t last,
                             bool reverse) {
  std::vector<Element> out;
  if (first > last || last >= z.size()) return out;
  out.reserve(last - first + 1);
  z.Walk(first, last, reverse,
         [&](std::string_view m, double s) { out.emplace_back(std::string(m), s); });
  return out;
}

// --- ZADD, ZINCRBY, ZREM ----------------------------------------------------

struct AddFlags {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
};

void AddGeneric(CommandContext& ctx, AddFlags f, size_t score_at) {
  for (; score_at < ctx.argc(); ++score_at) {
    std::string_view a = ctx.arg(score_at);
    if (EqualsIgnoreCase(a, "nx")) {
      f.nx = true;
    } else if (EqualsIgnoreCase(a, "xx")) {
      f.xx = true;
    } else if (EqualsIgnoreCase(a, "ch")) {
      f.ch = true;
    } else if (EqualsIgnoreCase(a, "incr")) {
      f.incr = true;
    } else if (EqualsIgnoreCase(a, "gt")) {
      f.gt = true;
    } else if (EqualsIgnoreCase(a, "lt")) {
      f.lt = true;
    } else {
      break;
    }
  }
  const size_t rest = ctx.argc() - score_at;
  if (rest == 0 || rest % 2 != 0) return ctx.reply->Error(errors::kSyntax);
  const size_t n = rest / 2;
  if (f.nx && f.xx) {
    return ctx.reply->Error("ERR XX and NX options at the same time are not compatible");
  }
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) {
    return ctx.reply->Error(
        "ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (f.incr && n > 1) {
    return ctx.reply->Error("ERR INCR option supports a single increment-element pair");
  }
  std::vector<double> scores(n);
  for (size_t i = 0; i < n; ++i) {
    if (!ParseScore(ctx.arg(score_at + 2 * i), &scores[i])) {
      return ctx.reply->Error(kNotFloat);
    }
  }
  std::string_view key = ctx.arg(1);
  if (!ZSetAt(ctx, key)) return;
  Store& store = StoreOf(ctx);
  const Store::ZAddOptions o{f.nx, f.xx, f.gt, f.lt, f.incr};
  int64_t added = 0, updated = 0, processed = 0;
  double last = 0;
  for (size_t i = 0; i < n; ++i) {
    double score;
    // As Redis 7.0: the first member's length picks a new set's encoding.
    switch (store.ZSetAdd(DbOf(ctx), key, ctx.arg(score_at + 2 * i + 1), scores[i],
                          ctx.now_ms, o, &score)) {
      case Store::ZAddResult::kNop:
        continue;
      case Store::ZAddResult::kNaN:
        return ctx.reply->Error("ERR resulting score is not a number (NaN)");
      case Store::ZAddResult::kAdded:
        ++added;
        break;
      case Store::ZAddResult::kUpdated:
        ++updated;
        break;
      case Store::ZAddResult::kUnchanged:
        break;
    }
    ++processed;
    last = score;
  }
  if (f.incr) {
    if (processed > 0) return ctx.reply->Double(last);
    return ctx.reply->Null();
  }
  ctx.reply->Integer(f.ch ? added + updated : added);
}

void ZAdd(CommandContext& ctx) { AddGeneric(ctx, {}, 2); }

void ZIncrBy(CommandContext& ctx) {
  AddFlags f;
  f.incr = true;
  AddGeneric(ctx, f, 2);
}

void ZRem(CommandContext& ctx) {
  int64_t n = 0;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    if (StoreOf(ctx).RemoveElement(DbOf(ctx), ctx.arg(1), ValueType::kZSet, ctx.arg(i),
                                   ctx.now_ms)) {
      ++n;
    }
  }
  ctx.reply->Integer(n);
}

// --- Reads of one member or the size -----------------------------------------

// The score of each member from args[first] on, from memory or (a sorted set
// only on disk) from LevelDB; the set's size, or -1 when there is none.
int64_t ReadScores(CommandContext& ctx, size_t first,
                   const std::function<void(std::optional<double>)>& fn) {
  return ReadElements(ctx, ctx.arg(1), ValueType::kZSet, ctx.args.subspan(first),
                      [&](size_t, std::optional<std::string_view> v) {
                        fn(v.has_value()
                               ? std::optional<double>(ZSetValue::DecodeScore(*v))
                               : std::nullopt);
                      });
}

void ZCard(CommandContext& ctx) {
  ctx.reply->Integer(std::max<int64_t>(ReadScores(ctx, ctx.argc(), {}), 0));
}

void ZScore(CommandContext& ctx) {
  std::optional<double> score;
  ReadScores(ctx, 2, [&](std::optional<double> s) { score = s; });
  ReplyScore(ctx, score);
}

void ZMScore(CommandContext& ctx) {
  ctx.reply->ArrayHeader(ctx.argc() - 2);
  if (ReadScores(ctx, 2, [&](std::optional<double> s) { ReplyScore(ctx, s); }) >= 0)
    return;
  for (size_t i = 2; i < ctx.argc(); ++i) ctx.reply->Null();
}

// A range read of the sorted set at key, in memory or on disk
// (Store::ReadSorted): fn(view); false when there is none. `write`: for a
// command that changes it (not counted as a keyspace hit or miss, as Redis's
// lookupKeyWrite).
bool ReadSorted(CommandContext& ctx, std::string_view key,
                const std::function<void(const SortedView&)>& fn, bool write = false) {
  bool found = StoreOf(ctx).ReadSorted(DbOf(ctx), key, ctx.now_ms, fn);
  if (!write) CountLookup(ctx, found);
  return found;
}

void RankGeneric(CommandContext& ctx, bool reverse) {
  std::optional<int64_t> rank;
  ReadSorted(ctx, ctx.arg(1), [&](const SortedView& z) {
    std::optional<size_t> r = z.Rank(ctx.arg(2));
    if (r.has_value()) rank = static_cast<int64_t>(reverse ? z.size() - 1 - *r : *r);
  });
  if (!rank.has_value()) return ctx.reply->Null();
  ctx.reply->Integer(*rank);
}

void ZRank(CommandContext& ctx) { RankGeneric(ctx, false); }
void ZRevRank(CommandContext& ctx) { RankGeneric(ctx, true); }

void CountGeneric(CommandContext& ctx, bool lex) {
  Range r;
  if (lex ? !ParseLexRange(ctx.arg(2), ctx.arg(3), &r)
          : !ParseScoreRange(ctx.arg(2), ctx.arg(3), &r)) {
    return ctx.reply->Error(lex ? kRangeNotLex : kRangeNotFloat);
  }
  if (!ZSetAt(ctx, ctx.arg(1))) return;
  size_t n = 0;
  ReadSorted(ctx, ctx.arg(1), [&](const SortedView& z) {
    if (!lex && VisitScoreRange(z, r, false, 0, [&](std::string_view, double) {
          ++n;
          return true;
        })) {
      return;
    }
    auto [lo, hi] = RanksOf(z, r);
    n = hi - lo;
  });
  ctx.reply->Integer(static_cast<int64_t>(n));
}

void ZCount(CommandContext& ctx) { CountGeneric(ctx, false); }
void ZLexCount(CommandContext& ctx) { CountGeneric(ctx, true); }

// --- The ZRANGE family -------------------------------------------------------

enum class By { kAuto, kRank, kScore, kLex };
enum class Dir { kAuto, kForward, kReverse };

// Redis's zrangeGenericCommand: the source key at `at`, then min and max,
// then options; `store`: ZRANGESTORE (the destination at 1).
void RangeGeneric(CommandContext& ctx, size_t at, bool store, By by, Dir dir) {
  bool withscores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = at + 3; j < ctx.argc(); ++j) {
    std::string_view a = ctx.arg(j);
    const size_t left = ctx.argc() - j - 1;
    if (!store && EqualsIgnoreCase(a, "withscores")) {
      withscores = true;
    } else if (EqualsIgnoreCase(a, "limit") && left >= 2) {
      if (!ParseInt64(ctx.arg(j + 1), &offset) || !ParseInt64(ctx.arg(j + 2), &limit)) {
        return ctx.reply->Error(errors::kNotInteger);
      }
      j += 2;
    } else if (dir == Dir::kAuto && EqualsIgnoreCase(a, "rev")) {
      dir = Dir::kReverse;
    } else if (by == By::kAuto && EqualsIgnoreCase(a, "bylex")) {
      by = By::kLex;
    } else if (by == By::kAuto && EqualsIgnoreCase(a, "byscore")) {
      by = By::kScore;
    } else {
      return ctx.reply->Error(errors::kSyntax);
    }
  }
  if (dir == Dir::kAuto) dir = Dir::kForward;
  if (by == By::kAuto) by = By::kRank;
  const bool reverse = dir == Dir::kReverse;
  if (limit != -1 && by == By::kRank) {
    return ctx.reply->Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
        "BYLEX");
  }
  if (withscores && by == By::kLex) {
    return ctx.reply->Error(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  std::string_view min = ctx.arg(at + 1), max = ctx.arg(at + 2);
  if (reverse && by != By::kRank) std::swap(min, max);  // given as max, min
  int64_t start = 0, end = 0;
  Range r;
  if (by == By::kRank) {
    if (!ParseInt64(min, &start) || !ParseInt64(max, &end)) {
      return ctx.reply->Error(errors::kNotInteger);
    }
  } else if (by == By::kScore) {
    if (!ParseScoreRange(min, max, &r)) return ctx.reply->Error(kRangeNotFloat);
  } else if (!ParseLexRange(min, max, &r)) {
    return ctx.reply->Error(kRangeNotLex);
  }
  std::string_view key = ctx.arg(at);
  if (!ZSetAt(ctx, key)) return;
  std::vector<Element> out;
  ReadSorted(ctx, key, [&](const SortedView& z) {
    if (by == By::kRank) {
      const auto len = static_cast<int64_t>(z.size());
      if (start < 0) start += len;
      if (end < 0) end += len;
      if (start < 0) start = 0;
      if (start <= end && start < len) {
        if (end >= len) end = len - 1;
        const auto s = static_cast<size_t>(start), e = static_cast<size_t>(end);
        const size_t n = static_cast<size_t>(len);
        out = reverse ? Collect(z, n - 1 - e, n - 1 - s, true) : Collect(z, s, e, false);
      }
    } else if (offset < 0 || (offset > 0 && static_cast<uint64_t>(offset) >= z.size()) ||
               limit == 0) {
      // Nothing (Redis's check).
    } else if (by == By::kScore &&
               VisitScoreRange(z, r, reverse, static_cast<size_t>(offset),
                               [&](std::string_view m, double s) {
                                 out.emplace_back(std::string(m), s);
                                 return limit < 0 ||
                                        out.size() < static_cast<uint64_t>(limit);
                               })) {
      // Read from where the range starts.
    } else {
      auto [lo, hi] = RanksOf(z, r);
      size_t n = hi - lo;
      const auto skip = static_cast<size_t>(offset);
      if (skip < n) {
        n -= skip;
        if (limit >= 0) n = std::min(n, static_cast<size_t>(limit));
        if (n > 0) {
          out = reverse ? Collect(z, hi - skip - n, hi - skip - 1, true)
                        : Collect(z, lo + skip, lo + skip + n - 1, false);
        }
      }
    }
  });
  // By rank the result's size is known before it is built, else not (1).
  if (store) return StoreElements(ctx, ctx.arg(1), out, by == By::kRank ? out.size() : 1);
  ReplyElements(ctx, out, withscores);
}

void ZRange(CommandContext& ctx) { RangeGeneric(ctx, 1, false, By::kAuto, Dir::kAuto); }
void ZRangeStore(CommandContext& ctx) {
  RangeGeneric(ctx, 2, true, By::kAuto, Dir::kAuto);
}
void ZRevRange(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, By::kRank, Dir::kReverse);
}
void ZRangeByScore(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, By::kScore, Dir::kForward);
}
void ZRevRangeByScore(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, By::kScore, Dir::kReverse);
}
void ZRangeByLex(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, By::kLex, Dir::kForward);
}
void ZRevRangeByLex(CommandContext& ctx) {
  RangeGeneric(ctx, 1, false, By::kLex, Dir::kReverse);
}

// ZREMRANGEBYRANK / BYSCORE / BYLEX key min max
void RemRangeGeneric(CommandContext& ctx, By by) {
  int64_t start = 0, end = 0;
  Range r;
  if (by == By::kRank) {
    if (!ParseInt64(ctx.arg(2), &start) || !ParseInt64(ctx.arg(3), &end)) {
      return ctx.reply->Error(errors::kNotInteger);
    }
  } else if (by == By::kScore) {
    if (!ParseScoreRange(ctx.arg(2), ctx.arg(3), &r))
      return ctx.reply->Error(kRangeNotFloat);
  } else if (!ParseLexRange(ctx.arg(2), ctx.arg(3), &r)) {
    return ctx.reply->Error(kRangeNotLex);
  }
  std::string_view key = ctx.arg(1);
  if (!ZSetAt(ctx, key)) return;
  std::vector<Element> doomed;
  ReadSorted(
      ctx, key,
      [&](const SortedView& z) {
        if (by == By::kRank) {
          const auto len = static_cast<int64_t>(z.size());
          if (start < 0) start += len;
          if (end < 0) end += len;
          if (start < 0) start = 0;
          if (start > end || start >= len) return;
          if (end >= len) end = len - 1;
          doomed =
              Collect(z, static_cast<size_t>(start), static_cast<size_t>(end), false);
        } else if (by == By::kScore &&
                   VisitScoreRange(z, r, false, 0, [&](std::string_view m, double s) {
                     doomed.emplace_back(std::string(m), s);
                     return true;
                   })) {
          // Read from where the range starts.
        } else {
          auto [lo, hi] = RanksOf(z, r);
          if (hi > lo) doomed = Collect(z, lo, hi - 1, false);
        }
      },
      /*write=*/true);
  for (const Element& e : doomed) {
    StoreOf(ctx).RemoveElement(DbOf(ctx), key, ValueType::kZSet, e.first, ctx.now_ms);
  }
  ctx.reply->Integer(static_cast<int64_t>(doomed.size()));
}

void ZRemRangeByRank(CommandContext& ctx) { RemRangeGeneric(ctx, By::kRank); }
void ZRemRangeByScore(CommandContext& ctx) { RemRangeGeneric(ctx, By::kScore); }
void ZRemRangeByLex(CommandContext& ctx) { RemRangeGeneric(ctx, By::kLex); }

// --- Pops ----------------------------------------------------------------

// Redis's genericZpopCommand: pops up to `count` (-1: one, flat) from the
// first non-empty sorted set of `keys`. `emitkey` (ZMPOP): the key comes
// first and the elements as pairs; nil when none.
void PopGeneric(CommandContext& ctx, std::span<const std::string_view> keys, bool max,
                bool emitkey, int64_t count) {
  ReplyBuilder& r = *ctx.reply;
  const bool nested = emitkey || (r.resp() >= 3 && count != -1);
  if (count == 0 && !emitkey) {  // pops nothing, after the type check
    if (!ZSetAt(ctx, keys[0])) return;
    return r.ArrayHeader(0);
  }
  if (count == -1) count = 1;
  std::vector<Element> popped;
  std::string_view key;
  bool found = false;
  for (std::string_view k : keys) {
    if (!ZSetAt(ctx, k)) return;
    auto pick = [&](const SortedView& z) {
      const size_t size = z.size(), n = std::min(static_cast<size_t>(count), size);
      if (n > 0) {
        popped = max ? Collect(z, size - n, size - 1, true) : Collect(z, 0, n - 1, false);
      }
    };
    if (ReadSorted(ctx, k, pick, /*write=*/true)) {
      key = k;
      found = true;
      break;
    }
  }
  if (!found) {
    if (emitkey) return r.NullArray();
    return r.ArrayHeader(0);
  }
  const size_t n = popped.size();
  if (emitkey) {
    r.ArrayHeader(2);
    r.Bulk(key);
    r.ArrayHeader(n);
  } else {
    r.ArrayHeader(nested ? n : n * 2);
  }
  for (const Element& e : popped) {
    if (nested) r.ArrayHeader(2);
    r.Bulk(e.first);
    r.Double(e.second);
    StoreOf(ctx).RemoveElement(DbOf(ctx), key, ValueType::kZSet, e.first, ctx.now_ms);
  }
}

void PopMinMax(CommandContext& ctx, bool max) {
  if (ctx.argc() > 3) return ctx.reply->Error(errors::kSyntax);
  int64_t count = -1;
  if (ctx.argc() == 3 && (!ParseInt64(ctx.arg(2), &count) || count < 0)) {
    return ctx.reply->Error(kNotPositive);
  }
  std::string_view key = ctx.arg(1);
  PopGeneric(ctx, std::span<const std::string_view>(&key, 1), max, false, count);
}

void ZPopMin(CommandContext& ctx) { PopMinMax(ctx, false); }
void ZPopMax(CommandContext& ctx) { PopMinMax(ctx, true); }

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
void ZMPop(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.arg(1), &numkeys) || numkeys < 1) {
    return ctx.reply->Error("ERR numkeys should be greater than 0");
  }
  if (static_cast<uint64_t>(numkeys) >= ctx.argc() - 2)
    return ctx.reply->Error(errors::kSyntax);
  const size_t where = 2 + static_cast<size_t>(numkeys);
  bool max;
  if (EqualsIgnoreCase(ctx.arg(where), "MIN")) {
    max = false;
  } else if (EqualsIgnoreCase(ctx.arg(where), "MAX")) {
    max = true;
  } else {
    return ctx.reply->Error(errors::kSyntax);
  }
  int64_t count = -1;
  for (size_t j = where + 1; j < ctx.argc(); ++j) {
    if (count == -1 && EqualsIgnoreCase(ctx.arg(j), "COUNT") && j + 1 < ctx.argc()) {
      ++j;
      if (!ParseInt64(ctx.arg(j), &count) || count < 1) {
        return ctx.reply->Error("ERR count should be greater than 0");
      }
    } else {
      return ctx.reply->Error(errors::kSyntax);
    }
  }
  if (count == -1) count = 1;
  PopGeneric(ctx, ctx.args.subspan(2, static_cast<size_t>(numkeys)), max, true, count);
}

// ZRANDMEMBER key [count [WITHSCORES]]
void ZRandMember(CommandContext& ctx) {
  ReplyBuilder& r = *ctx.reply;
  if (ctx.argc() == 2) {
    if (!ZSetAt(ctx, ctx.arg(1))) return;
    const ZSetValue* z = ReadZSet(ctx, ctx.arg(1));
    if (z == nullptr) return r.Null();
    return r.Bulk(z->Random(tl_rng).first);
  }
  int64_t count;
  if (std::string_view e = ParseRandomCount(ctx.arg(2), &count); !e.empty()) {
    return r.Error(e);
  }
  bool withscores = false;
  if (ctx.argc() > 4 ||
      (ctx.argc() == 4 && !EqualsIgnoreCase(ctx.arg(3), "withscores"))) {
    return r.Error(errors::kSyntax);
  }
  if (ctx.argc() == 4) {
    withscores = true;
    if (count < -INT64_MAX / 2 || count > INT64_MAX / 2) {
      return r.Error("ERR value is out of range");
    }
  }
  if (!ZSetAt(ctx, ctx.arg(1))) return;
  const ZSetValue* z = ReadZSet(ctx, ctx.arg(1));
  if (z == nullptr || count == 0) return r.ArrayHeader(0);
  auto emit = [&](std::string_view m, double s) {
    if (withscores && r.resp() >= 3) r.ArrayHeader(2);
    r.Bulk(m);
    if (withscores) r.Double(s);
  };
  auto header = [&](size_t n) { r.ArrayHeader(withscores && r.resp() == 2 ? n * 2 : n); };
  const size_t size = z->size();
  if (count < 0) {  // repeats allowed
    const auto n = static_cast<size_t>(-count);
    header(n);
    for (size_t i = 0; i < n && !r.over_limit(); ++i) {
      auto [m, s] = z->Random(tl_rng);
      emit(m, s);
    }
    return;
  }
  const auto n = static_cast<size_t>(count);
  if (n >= size) {
    header(size);
    z->Walk(0, size - 1, false, emit);
    return;
  }
  std::vector<size_t> ranks(size);
  for (size_t i = 0; i < size; ++i) ranks[i] = i;
  for (size_t i = 0; i < n; ++i) {
    std::swap(ranks[i],
              ranks[std::uniform_int_distribution<size_t>(i, size - 1)(tl_rng)]);
  }
  header(n);
  for (size_t i = 0; i < n; ++i) z->Walk(ranks[i], ranks[i], false, emit);
}

// --- ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD ----------------

enum class Op { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// A source: a sorted set, or a set (every member scores 1), or nothing.
struct Source {
  const ZSetValue* zset = nullptr;
  const SetValue* set = nullptr;
  double weight = 1;
  size_t size() const { return zset ? zset->size() : set ? set->size() : 0; }
  std::optional<double> Score(std::string_view m) const {
    if (zset != nullptr) return zset->Score(m);
    if (set != nullptr && set->Contains(m)) return 1.0;
    return std::nullopt;
  }
  void ForEach(const std::function<void(std::string_view, double)>& fn) const {
    if (zset != nullptr && zset->size() > 0) zset->Walk(0, zset->size() - 1, false, fn);
    if (set != nullptr) set->ForEach([&](std::string_view m) { fn(m, 1.0); });
  }
};

void Combine(double* target, double v, Aggregate agg) {
  if (agg == Aggregate::kSum) {
    *target += v;
    if (std::isnan(*target)) *target = 0;  // inf + -inf, as Redis
  } else if (agg == Aggregate::kMin) {
    *target = std::min(*target, v);
  } else {
    *target = std::max(*target, v);
  }
}

double Weighted(double score, double weight) {
  double v = score * weight;
  return std::isnan(v) ? 0 : v;
}

// Redis's zunionInterDiffGenericCommand. `dst` (the STORE forms) at 1 and
// numkeys at 2, else numkeys at 1; `card`: ZINTERCARD.
void SetOpGeneric(CommandContext& ctx, bool store, Op op, bool card = false) {
  const size_t numkeys_at = store ? 2 : 1;
  int64_t setnum;
  if (!ParseInt64(ctx.arg(numkeys_at), &setnum))
    return ctx.reply->Error(errors::kNotInteger);
  if (setnum < 1) {
    std::string name(ctx.arg(0));
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ctx.reply->Error("ERR at least 1 input key is needed for '" + name +
                            "' command");
  }
  if (static_cast<uint64_t>(setnum) > ctx.argc() - (numkeys_at + 1)) {
    return ctx.reply->Error(errors::kSyntax);
  }
  const auto n = static_cast<size_t>(setnum);
  std::vector<Source> src(n);
  for (size_t i = 0; i < n; ++i) {
    const Entry* e = LookupRead(ctx, ctx.arg(numkeys_at + 1 + i));
    if (e == nullptr) continue;
    if (e->type() == ValueType::kZSet) {
      src[i].zset = static_cast<const ZSetValue*>(e->collection());
    } else if (e->type() == ValueType::kSet) {
      src[i].set = static_cast<const SetValue*>(e->collection());
    } else {
      return ctx.reply->Error(kWrongType);
    }
  }
  Aggregate agg = Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;
  for (size_t j = numkeys_at + 1 + n; j < ctx.argc();) {
    const size_t remaining = ctx.argc() - j;
    std::string_view a = ctx.arg(j);
    if (op != Op::kDiff && !card && remaining >= n + 1 &&
        EqualsIgnoreCase(a, "weights")) {
      ++j;
      for (size_t i = 0; i < n; ++i, ++j) {
        if (!ParseScore(ctx.arg(j), &src[i].weight)) {
          return ctx.reply->Error("ERR weight value is not a float");
        }
      }
    } else if (op != Op::kDiff && !card && remaining >= 2 &&
               EqualsIgnoreCase(a, "aggregate")) {
      std::string_view v = ctx.arg(j + 1);
      if (EqualsIgnoreCase(v, "sum")) {
        agg = Aggregate::kSum;
      } else if (EqualsIgnoreCase(v, "min")) {
        agg = Aggregate::kMin;
      } else if (EqualsIgnoreCase(v, "max")) {
        agg = Aggregate::kMax;
      } else {
        return ctx.reply->Error(errors::kSyntax);
      }
      j += 2;
    } else if (!store && !card && EqualsIgnoreCase(a, "withscores")) {
      withscores = true;
      ++j;
    } else if (card && remaining >= 2 && EqualsIgnoreCase(a, "limit")) {
      if (!ParseInt64(ctx.arg(j + 1), &limit) || limit < 0) {
        return ctx.reply->Error("ERR LIMIT can't be negative");
      }
      j += 2;
    } else {
      return ctx.reply->Error(errors::kSyntax);
    }
  }
  std::vector<Element> out;
  if (op == Op::kDiff) {
    src[0].ForEach([&](std::string_view m, double s) {
      for (size_t i = 1; i < n; ++i) {
        if (src[i].Score(m).has_value()) return;
      }
      out.emplace_back(std::string(m), s);
    });
  } else {
    // Smallest first, as Redis (which also adds the scores in that order).
    std::stable_sort(src.begin(), src.end(), [](const Source& a, const Source& b) {
      return a.size() < b.size();
    });
    if (op == Op::kInter) {
      if (src[0].size() > 0) {
        src[0].ForEach([&](std::string_view m, double s) {
          if (card && limit > 0 && out.size() >= static_cast<size_t>(limit)) return;
          double score = Weighted(s, src[0].weight);
          for (size_t i = 1; i < n; ++i) {
            std::optional<double> other = src[i].Score(m);
            if (!other.has_value()) return;
            Combine(&score, Weighted(*other, src[i].weight), agg);
          }
          out.emplace_back(std::string(m), score);
        });
      }
    } else {
      std::unordered_map<std::string, size_t> at;
      for (const Source& s : src) {
        s.ForEach([&](std::string_view m, double score) {
          double v = Weighted(score, s.weight);
          auto [it, fresh] = at.try_emplace(std::string(m), out.size());
          if (fresh) {
            out.emplace_back(std::string(m), v);
          } else {
            Combine(&out[it->second].second, v, agg);
          }
        });
      }
    }
  }
  if (card) return ctx.reply->Integer(static_cast<int64_t>(out.size()));
  std::sort(out.begin(), out.end(), [](const Element& a, const Element& b) {
    return a.second < b.second || (a.second == b.second && a.first < b.first);
  });
  if (store) return StoreElements(ctx, ctx.arg(1), out);
  ReplyElements(ctx, out, withscores);
}

void ZUnion(CommandContext& ctx) { SetOpGeneric(ctx, false, Op::kUnion); }
void ZInter(CommandContext& ctx) { SetOpGeneric(ctx, false, Op::kInter); }
void ZDiff(CommandContext& ctx) { SetOpGeneric(ctx, false, Op::kDiff); }
void ZUnionStore(CommandContext& ctx) { SetOpGeneric(ctx, true, Op::kUnion); }
void ZInterStore(CommandContext& ctx) { SetOpGeneric(ctx, true, Op::kInter); }
void ZDiffStore(CommandContext& ctx) { SetOpGeneric(ctx, true, Op::kDiff); }
void ZInterCard(CommandContext& ctx) { SetOpGeneric(ctx, false, Op::kInter, true); }

// ZSCAN key cursor [MATCH pattern] [COUNT count]
void ZScan(CommandContext& ctx) {
  uint64_t cursor;
  ScanOptions opt;
  if (!StartElementScan(ctx, ValueType::kZSet, &cursor, &opt)) return;
  std::vector<Element> found;
  auto keep = [&](std::string_view m, double s) {
    if (!opt.has_pattern || GlobMatch(opt.pattern, m))
      found.emplace_back(std::string(m), s);
  };
  // A listpack holds a whole score within +-2^62 as an integer, which ZSCAN
  // prints as one (1e17 as 100000000000000000), as Redis's does. One on
  // disk is not a listpack (it is bigger).
  bool pack = false;
  StatusOr<std::optional<uint64_t>> next = StoreOf(ctx).ScanElements(
      DbOf(ctx), ctx.arg(1), ValueType::kZSet, ctx.now_ms, cursor, opt.count,
      [&](const Collection& c, uint64_t from) {
        pack = c.encoding() == "listpack";
        return static_cast<const ZSetValue&>(c).Scan(from, opt.count, keep);
      },
      [&](std::string_view m, std::string_view score) {
        keep(m, ZSetValue::DecodeScore(score));
      });
  if (!next.ok()) return ctx.reply->Error("ERR " + next.status().message());
  if (!next->has_value()) return ReplyEmptyScan(ctx);
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(2);
  r.Bulk(std::to_string(**next));
  r.ArrayHeader(found.size() * 2);
  constexpr double kIntLimit = 4611686018427387904.0;  // 2^62
  for (const Element& el : found) {
    r.Bulk(el.first);
    const double s = el.second;
    if (pack && s >= -kIntLimit && s <= kIntLimit && s == std::trunc(s)) {
      r.Bulk(std::to_string(static_cast<long long>(s)));
    } else {
      r.Bulk(FormatDouble(s));
    }
  }
}

// A command whose keys follow a count at `numkeys_at` (and, for the STORE
// forms, a destination at 1).
void AddCounted(CommandTable* t, CommandSpec spec, int numkeys_at) {
  spec.numkeys_at = numkeys_at;
  t->Add(std::move(spec));
}

}  // namespace

void RegisterZSetFamily(CommandTable* t) {
  const uint32_t rd = kReadOnly | kFast;
  const uint32_t wr = kWrite | kDenyOom | kFast;
  // These look at their keys after their arguments, as Redis's do.
  const uint32_t later = kAnyKeyType;
  const char* g = "sorted-set";
  // name, arity, flags, first key, last key, step, handler, group, summary
  t->Add(
      {"zadd", -4, wr | later, 1, 1, 1, ZAdd, g, "Add members or update their scores"});
  t->Add({"zincrby", 4, wr | later, 1, 1, 1, ZIncrBy, g, "Add to a member's score"});
  t->Add({"zrem", -3, kWrite | kFast, 1, 1, 1, ZRem, g, "Remove members"});
  t->Add({"zcard", 2, rd, 1, 1, 1, ZCard, g, "Number of members"});
  t->Add({"zcount", 4, rd | later, 1, 1, 1, ZCount, g, "Members within scores"});
  t->Add(
      {"zlexcount", 4, rd | later, 1, 1, 1, ZLexCount, g, "Members within a lex range"});
  t->Add({"zscore", 3, rd, 1, 1, 1, ZScore, g, "A member's score"});
  t->Add({"zmscore", -3, rd, 1, 1, 1, ZMScore, g, "Members' scores"});
  t->Add({"zrank", 3, rd, 1, 1, 1, ZRank, g, "A member's rank"});
  t->Add({"zrevrank", 3, rd, 1, 1, 1, ZRevRank, g, "A member's rank, highest first"});
  t->Add({"zrange", -4, kReadOnly | later, 1, 1, 1, ZRange, g, "Members in a range"});
  t->Add({"zrangestore", -5, kWrite | kDenyOom | later, 1, 2, 1, ZRangeStore, g,
          "Store members in a range"});
  t->Add({"zrevrange", -4, kReadOnly | later, 1, 1, 1, ZRevRange, g,
          "Members by rank, highest first"});
  t->Add({"zrangebyscore", -4, kReadOnly | later, 1, 1, 1, ZRangeByScore, g,
          "Members within scores"});
  t->Add({"zrevrangebyscore", -4, kReadOnly | later, 1, 1, 1, ZRevRangeByScore, g,
          "Members within scores, highest first"});
  t->Add({"zrangebylex", -4, kReadOnly | later, 1, 1, 1, ZRangeByLex, g,
          "Members within a lex range"});
  t->Add({"zrevrangebylex", -4, kReadOnly | later, 1, 1, 1, ZRevRangeByLex, g,
          "Members within a lex range, highest first"});
  t->Add({"zremrangebyrank", 4, kWrite | later, 1, 1, 1, ZRemRangeByRank, g,
          "Remove members by rank"});
  t->Add({"zremrangebyscore", 4, kWrite | later, 1, 1, 1, ZRemRangeByScore, g,
          "Remove members within scores"});
  t->Add({"zremrangebylex", 4, kWrite | later, 1, 1, 1, ZRemRangeByLex, g,
          "Remove members within a lex range"});
  t->Add({"zpopmin", -2, kWrite | kFast | later, 1, 1, 1, ZPopMin, g,
          "Remove and return the lowest"});
  t->Add({"zpopmax", -2, kWrite | kFast | later, 1, 1, 1, ZPopMax, g,
          "Remove and return the highest"});
  AddCounted(
      t, {"zmpop", -4, kWrite | later, 0, 0, 0, ZMPop, g, "Pop from the first non-empty"},
      1);
  t->Add(
      {"zrandmember", -2, kReadOnly | later, 1, 1, 1, ZRandMember, g, "Random members"});
  AddCounted(t, {"zunion", -3, kReadOnly | later, 0, 0, 0, ZUnion, g, "Union"}, 1);
  AddCounted(t, {"zinter", -3, kReadOnly | later, 0, 0, 0, ZInter, g, "Intersection"}, 1);
  AddCounted(t, {"zdiff", -3, kReadOnly | later, 0, 0, 0, ZDiff, g, "Difference"}, 1);
  AddCounted(t,
             {"zunionstore", -4, kWrite | kDenyOom | later, 1, 1, 1, ZUnionStore, g,
              "Store a union"},
             2);
  AddCounted(t,
             {"zinterstore", -4, kWrite | kDenyOom | later, 1, 1, 1, ZInterStore, g,
              "Store an intersection"},
             2);
  AddCounted(t,
             {"zdiffstore", -4, kWrite | kDenyOom | later, 1, 1, 1, ZDiffStore, g,
              "Store a difference"},
             2);
  AddCounted(t,
             {"zintercard", -3, kReadOnly | later, 0, 0, 0, ZInterCard, g,
              "Size of an intersection"},
             1);
  t->Add({"zscan", -3, kReadOnly | later, 1, 1, 1, ZScan, g, "Iterate over members"});
}

}  // namespace edgekv
