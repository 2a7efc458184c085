// Bitmaps, which in Redis are strings read and written bit by bit: GETBIT,
// SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, with Redis 7.0's
// replies and errors (its bitops.c). Bit 0 is the most significant bit of the
// first byte. A write stores the whole new value, as SETRANGE does.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "keyspace.h"

namespace edgekv {
namespace {

constexpr std::string_view kBadOffset =
    "ERR bit offset is not an integer or out of range";
constexpr std::string_view kBadBitType =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
    "supported but i64 is.";

// A bit offset: an integer, or for BITFIELD "#n" (the n-th field of `bits`
// bits). Its byte must be within proto-max-bulk-len.
bool ParseBitOffset(CommandContext& ctx, std::string_view arg, bool field, int bits,
                    uint64_t* offset) {
  bool by_field = field && arg.size() > 1 && arg[0] == '#';
  int64_t n;
  if (!ParseInt64(by_field ? arg.substr(1) : arg, &n) ||
      (by_field && __builtin_mul_overflow(n, bits, &n)) || n < 0 ||
      (n >> 3) >= ctx.server->config().Int(Cfg::kProtoMaxBulkLen)) {
    ctx.reply->Error(kBadOffset);
    return false;
  }
  *offset = static_cast<uint64_t>(n);
  return true;
}

int BitAt(std::string_view s, uint64_t bit) {
  return (static_cast<unsigned char>(s[bit >> 3]) >> (7 - (bit & 7))) & 1;
}

// A string reads as followed by 0 bits.
int BitOrZero(std::string_view s, uint64_t bit) {
  return (bit >> 3) < s.size() ? BitAt(s, bit) : 0;
}

void SetBitAt(std::string& s, uint64_t bit, bool on) {
  const unsigned char mask = static_cast<unsigned char>(1u << (7 - (bit & 7)));
  char& c = s[bit >> 3];
  c = static_cast<char>(on ? (c | mask) : (c & ~mask));
}

// The value of key grown (zero-filled) to hold bit `max_bit`; `grew` says
// whether it was created or grown.
std::string GrownValue(const Entry* e, uint64_t max_bit, bool* grew) {
  std::string v = e == nullptr ? std::string() : std::string(e->value());
  const size_t need = static_cast<size_t>(max_bit >> 3) + 1;
  *grew = e == nullptr || v.size() < need;
  if (v.size() < need) v.resize(need, '\0');
  return v;
}

void StoreValue(CommandContext& ctx, const Entry* e, const std::string& v) {
  StoreOf(ctx).Put(DbOf(ctx), ctx.arg(1), v, e == nullptr ? kNoExpire : e->expire_ms());
}

void GetBit(CommandContext& ctx) {
  uint64_t bit;
  if (!ParseBitOffset(ctx, ctx.arg(2), false, 0, &bit)) return;
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupRead(ctx, ctx.arg(1));
  ctx.reply->Integer(e == nullptr ? 0 : BitOrZero(e->value(), bit));
}

void SetBit(CommandContext& ctx) {
  uint64_t bit;
  if (!ParseBitOffset(ctx, ctx.arg(2), false, 0, &bit)) return;
  int64_t on;
  if (!ParseInt64(ctx.arg(3), &on) || (on & ~int64_t{1}) != 0) {
    ctx.reply->Error("ERR bit is not an integer or out of range");
    return;
  }
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupWrite(ctx, ctx.arg(1));
  const std::string_view cur = e == nullptr ? std::string_view() : e->value();
  const int old = BitOrZero(cur, bit);
  // Copied and written only when the key is created, grows or the bit changes.
  if (e == nullptr || (bit >> 3) >= cur.size() || old != on) {
    bool grew;
    std::string v = GrownValue(e, bit, &grew);
    SetBitAt(v, bit, on != 0);
    StoreValue(ctx, e, v);
  }
  ctx.reply->Integer(old);
}

// BITCOUNT's and BITPOS's [start end [BYTE|BIT]] over a string of len bytes,
// as a range of bits [*first, *last] (empty when first > last).
struct BitRange {
  int64_t first = 0;
  int64_t last = -1;
};

// Redis's rules: negative indexes count from the end, the range is clamped to
// the string, and byte indexes cover whole bytes.
BitRange ClampRange(int64_t start, int64_t end, bool in_bits, int64_t len) {
  int64_t total = in_bits ? len * 8 : len;
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  start = std::max<int64_t>(start, 0);
  end = std::max<int64_t>(end, 0);
  end = std::min(end, total - 1);
  if (start > end) return {};
  return in_bits ? BitRange{start, end} : BitRange{start * 8, end * 8 + 7};
}

// BYTE or BIT (any case): false after a syntax error reply.
bool ParseUnit(CommandContext& ctx, std::string_view arg, bool* in_bits) {
  if (EqualsIgnoreCase(arg, "bit")) {
    *in_bits = true;
  } else if (EqualsIgnoreCase(arg, "byte")) {
    *in_bits = false;
  } else {
    ctx.reply->Error(errors::kSyntax);
    return false;
  }
  return true;
}

int64_t CountBits(std::string_view s, BitRange r) {
  if (r.first > r.last) return 0;
  int64_t count = 0;
  int64_t b = r.first;
  for (; b <= r.last && (b & 7) != 0; ++b) count += BitAt(s, static_cast<uint64_t>(b));
  int64_t byte = b >> 3;
  for (; b + 63 <= r.last; b += 64, byte += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + byte, 8);
    count += std::popcount(w);
  }
  for (; b + 7 <= r.last; b += 8, ++byte) {
    count += std::popcount(static_cast<unsigned char>(s[static_cast<size_t>(byte)]));
  }
  for (; b <= r.last; ++b) count += BitAt(s, static_cast<uint64_t>(b));
  return count;
}

void BitCount(CommandContext& ctx) {
  // Redis 7.0 looks the key up before it reads the range.
  Entry* e = LookupRead(ctx, ctx.arg(1));
  if (e == nullptr) {
    ctx.reply->Integer(0);
    return;
  }
  std::string_view s = e->value();
  const int64_t len = static_cast<int64_t>(s.size());
  BitRange range{0, len * 8 - 1};
  if (ctx.argc() == 4 || ctx.argc() == 5) {
    int64_t start, end;
    if (!ParseInt64(ctx.arg(2), &start) || !ParseInt64(ctx.arg(3), &end)) {
      ctx.reply->Error(errors::kNotInteger);
      return;
    }
    if (start < 0 && end < 0 && start > end) {
      ctx.reply->Integer(0);
      return;
    }
    bool in_bits = false;
    if (ctx.argc() == 5 && !ParseUnit(ctx, ctx.arg(4), &in_bits)) return;
    range = ClampRange(start, end, in_bits, len);
  } else if (ctx.argc() != 2) {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  ctx.reply->Integer(CountBits(s, range));
}

// The first bit equal to `want` in r, or -1.
int64_t FindBit(std::string_view s, BitRange r, int want) {
  const unsigned char skip = want ? 0x00 : 0xff;
  const uint64_t skip_word = want ? 0 : ~uint64_t{0};
  for (int64_t b = r.first; b <= r.last;) {
    uint64_t w;
    if ((b & 7) == 0 && b + 63 <= r.last &&
        (std::memcpy(&w, s.data() + (b >> 3), 8), w == skip_word)) {
      b += 64;
      continue;
    }
    if ((b & 7) == 0 && b + 7 <= r.last &&
        static_cast<unsigned char>(s[static_cast<size_t>(b >> 3)]) == skip) {
      b += 8;
      continue;
    }
    if (BitAt(s, static_cast<uint64_t>(b)) == want) return b;
    ++b;
  }
  return -1;
}

void BitPos(CommandContext& ctx) {
  int64_t want;
  if (!ParseInt64(ctx.arg(2), &want)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  if (want != 0 && want != 1) {
    ctx.reply->Error("ERR The bit argument must be 1 or 0.");
    return;
  }
  // A missing key is an endless run of 0 bits.
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = LookupRead(ctx, ctx.arg(1));
  if (e == nullptr) {
    ctx.reply->Integer(want ? -1 : 0);
    return;
  }
  std::string_view s = e->value();
  const int64_t len = static_cast<int64_t>(s.size());
  BitRange range{0, len * 8 - 1};
  bool end_given = false;
  if (ctx.argc() >= 4 && ctx.argc() <= 6) {
    int64_t start, end = -1;
    if (!ParseInt64(ctx.arg(3), &start)) {
      ctx.reply->Error(errors::kNotInteger);
      return;
    }
    bool in_bits = false;
    if (ctx.argc() == 6 && !ParseUnit(ctx, ctx.arg(5), &in_bits)) return;
    if (ctx.argc() >= 5) {
      if (!ParseInt64(ctx.arg(4), &end)) {
        ctx.reply->Error(errors::kNotInteger);
        return;
      }
      end_given = true;
    }
    range = ClampRange(start, end, in_bits, len);
  } else if (ctx.argc() != 3) {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  if (range.first > range.last) {  // an empty range has neither 0 nor 1
    ctx.reply->Integer(-1);
    return;
  }
  int64_t pos = FindBit(s, range, static_cast<int>(want));
  // Looking for a 0 without an explicit end, the string counts as followed by
  // 0 bits: the first bit after it.
  if (pos < 0 && want == 0 && !end_given) pos = range.last + 1;
  ctx.reply->Integer(pos);
}

void BitOp(CommandContext& ctx) {
  std::string_view op = ctx.arg(1);
  enum { kAnd, kOr, kXor, kNot } kind;
  if (EqualsIgnoreCase(op, "and")) {
    kind = kAnd;
  } else if (EqualsIgnoreCase(op, "or")) {
    kind = kOr;
  } else if (EqualsIgnoreCase(op, "xor")) {
    kind = kXor;
  } else if (EqualsIgnoreCase(op, "not")) {
    kind = kNot;
  } else {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  if (kind == kNot && ctx.argc() != 4) {
    ctx.reply->Error("ERR BITOP NOT must be called with a single source key.");
    return;
  }
  // Views of the sources, not copies (a key may be named many times): their
  // entries stay while the command holds their stripes, and the destination,
  // which may be one of them, is written only after the result is built.
  std::vector<std::string_view> src;
  size_t maxlen = 0;
  // The destination may hold any type (it is replaced); the sources must
  // be strings.
  if (!KeysOfType(ctx, ctx.args.subspan(3), ValueType::kString)) return;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    Entry* e = LookupRead(ctx, ctx.arg(i));
    src.emplace_back(e == nullptr ? std::string_view() : e->value());
    maxlen = std::max(maxlen, src.back().size());
  }
  std::string out(maxlen, '\0');
  for (size_t j = 0; j < maxlen; ++j) {
    auto byte = [&](size_t i) -> unsigned char {
      return j < src[i].size() ? static_cast<unsigned char>(src[i][j]) : 0;
    };
    unsigned char v = byte(0);
    if (kind == kNot) v = static_cast<unsigned char>(~v);
    for (size_t i = 1; i < src.size(); ++i) {
      if (kind == kAnd) v &= byte(i);
      if (kind == kOr) v |= byte(i);
      if (kind == kXor) v ^= byte(i);
    }
    out[j] = static_cast<char>(v);
  }
  // The result replaces the destination (and its TTL); empty, it deletes it.
  if (maxlen > 0) {
    StoreOf(ctx).Put(DbOf(ctx), ctx.arg(2), out, kNoExpire);
  } else {
    StoreOf(ctx).Erase(DbOf(ctx), ctx.arg(2), ctx.now_ms);
  }
  ctx.reply->Integer(static_cast<int64_t>(maxlen));
}

// ---- BITFIELD ------------------------------------------------------------------------

enum class Overflow { kWrap, kSat, kFail };

struct FieldOp {
  enum { kGet, kSet, kIncrBy } code;
  bool is_signed;
  int bits;
  uint64_t offset;
  int64_t arg;
  Overflow overflow;
};

uint64_t GetField(std::string_view s, uint64_t offset, int bits) {
  uint64_t v = 0;
  for (int j = 0; j < bits; ++j, ++offset) {
    v = (v << 1) | static_cast<uint64_t>(BitOrZero(s, offset));
  }
  return v;
}

int64_t GetSignedField(std::string_view s, uint64_t offset, int bits) {
  uint64_t u = GetField(s, offset, bits);
  if (bits < 64 && (u & (uint64_t{1} << (bits - 1)))) u |= ~uint64_t{0} << bits;
  return static_cast<int64_t>(u);
}

void SetField(std::string& s, uint64_t offset, int bits, uint64_t v) {
  for (int j = 0; j < bits; ++j, ++offset) SetBitAt(s, offset, (v >> (bits - 1 - j)) & 1);
}

// value + incr in an unsigned field of `bits`: true on overflow, with what
// WRAP or SAT make of it in *result (Redis's checkUnsignedBitfieldOverflow).
bool UnsignedOverflow(uint64_t value, int64_t incr, int bits, Overflow ow,
                      uint64_t* result) {
  const uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  const int64_t max_incr = static_cast<int64_t>(max - value);
  const int64_t min_incr = static_cast<int64_t>(0 - value);
  bool up = value > max || (incr > 0 && incr > max_incr);
  bool down = !up && incr < 0 && incr < min_incr;
  if (!up && !down) return false;
  if (ow == Overflow::kWrap) {
    *result = (value + static_cast<uint64_t>(incr)) & ~(~uint64_t{0} << bits);
  } else if (ow == Overflow::kSat) {
    *result = up ? max : 0;
  }
  return true;
}

// The same for a signed field (checkSignedBitfieldOverflow).
bool SignedOverflow(int64_t value, int64_t incr, int bits, Overflow ow, int64_t* result) {
  const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  const int64_t min = -max - 1;
  // Computed unsigned: they may wrap, but are used only once `value` is known
  // to be in range, when they do not.
  const int64_t max_incr =
      static_cast<int64_t>(static_cast<uint64_t>(max) - static_cast<uint64_t>(value));
  const int64_t min_incr =
      static_cast<int64_t>(static_cast<uint64_t>(min) - static_cast<uint64_t>(value));
  bool up = value > max || (bits != 64 && incr > max_incr) ||
            (value >= 0 && incr > 0 && incr > max_incr);
  bool down = !up && (value < min || (bits != 64 && incr < min_incr) ||
                      (value < 0 && incr < 0 && incr < min_incr));
  if (!up && !down) return false;
  if (ow == Overflow::kWrap) {
    uint64_t c = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
    if (bits < 64) {
      const uint64_t mask = ~uint64_t{0} << bits;
      c = (c & (uint64_t{1} << (bits - 1))) ? (c | mask) : (c & ~mask);
    }
    *result = static_cast<int64_t>(c);
  } else if (ow == Overflow::kSat) {
    *result = up ? max : min;
  }
  return true;
}

// "i1".."i64" or "u1".."u63".
bool ParseFieldType(CommandContext& ctx, std::string_view arg, bool* is_signed,
                    int* bits) {
  int64_t n;
  if (arg.empty() || (arg[0] != 'i' && arg[0] != 'u') || !ParseInt64(arg.substr(1), &n) ||
      n < 1 || n > (arg[0] == 'i' ? 64 : 63)) {
    ctx.reply->Error(kBadBitType);
    return false;
  }
  *is_signed = arg[0] == 'i';
  *bits = static_cast<int>(n);
  return true;
}

void BitFieldGeneric(CommandContext& ctx, bool read_only) {
  std::vector<FieldOp> ops;
  Overflow overflow = Overflow::kWrap;
  bool writes = false;
  uint64_t max_bit = 0;
  for (size_t j = 2; j < ctx.argc(); ++j) {
    const size_t left = ctx.argc() - j - 1;
    std::string_view sub = ctx.arg(j);
    FieldOp op{};
    if (EqualsIgnoreCase(sub, "get") && left >= 2) {
      op.code = FieldOp::kGet;
    } else if (EqualsIgnoreCase(sub, "set") && left >= 3) {
      op.code = FieldOp::kSet;
    } else if (EqualsIgnoreCase(sub, "incrby") && left >= 3) {
      op.code = FieldOp::kIncrBy;
    } else if (EqualsIgnoreCase(sub, "overflow") && left >= 1) {
      std::string_view how = ctx.arg(++j);
      if (EqualsIgnoreCase(how, "wrap")) {
        overflow = Overflow::kWrap;
      } else if (EqualsIgnoreCase(how, "sat")) {
        overflow = Overflow::kSat;
      } else if (EqualsIgnoreCase(how, "fail")) {
        overflow = Overflow::kFail;
      } else {
        ctx.reply->Error("ERR Invalid OVERFLOW type specified");
        return;
      }
      continue;
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
    if (!ParseFieldType(ctx, ctx.arg(j + 1), &op.is_signed, &op.bits)) return;
    if (!ParseBitOffset(ctx, ctx.arg(j + 2), true, op.bits, &op.offset)) return;
    if (op.code != FieldOp::kGet) {
      writes = true;
      max_bit = std::max(max_bit, op.offset + static_cast<uint64_t>(op.bits) - 1);
      if (!ParseInt64(ctx.arg(j + 3), &op.arg)) {
        ctx.reply->Error(errors::kNotInteger);
        return;
      }
    }
    op.overflow = overflow;
    ops.push_back(op);
    j += op.code == FieldOp::kGet ? 2 : 3;
  }
  if (writes && read_only) {
    ctx.reply->Error("ERR BITFIELD_RO only supports the GET subcommand");
    return;
  }
  // Its arguments were parsed first: now the type, as Redis.
  if (!StringAt(ctx, ctx.arg(1))) return;
  Entry* e = writes ? LookupWrite(ctx, ctx.arg(1)) : LookupRead(ctx, ctx.arg(1));
  // Written: a copy to change. Only read: the value itself (the command
  // holds its key's stripe).
  bool changed = false;  // created, grown or a field changed (Redis 7.0)
  std::string v;
  std::string_view view;
  if (writes) {
    v = GrownValue(e, max_bit, &changed);
    view = v;
  } else if (e != nullptr) {
    view = e->value();
  }
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(ops.size());
  for (const FieldOp& op : ops) {
    if (op.code == FieldOp::kGet) {
      if (op.is_signed) {
        r.Integer(GetSignedField(view, op.offset, op.bits));
      } else {
        r.Integer(static_cast<int64_t>(GetField(view, op.offset, op.bits)));
      }
      continue;
    }
    bool failed;
    if (op.is_signed) {
      int64_t old = GetSignedField(view, op.offset, op.bits), next, wrapped = 0;
      bool over;
      if (op.code == FieldOp::kIncrBy) {
        over = SignedOverflow(old, op.arg, op.bits, op.overflow, &wrapped);
        next = over ? wrapped
                    : static_cast<int64_t>(static_cast<uint64_t>(old) +
                                           static_cast<uint64_t>(op.arg));
      } else {
        over = SignedOverflow(op.arg, 0, op.bits, op.overflow, &wrapped);
        next = over ? wrapped : op.arg;
      }
      failed = over && op.overflow == Overflow::kFail;
      if (!failed) {
        r.Integer(op.code == FieldOp::kIncrBy ? next : old);
        SetField(v, op.offset, op.bits, static_cast<uint64_t>(next));
        changed |= next != old;
      }
    } else {
      uint64_t old = GetField(view, op.offset, op.bits), next, wrapped = 0;
      bool over;
      if (op.code == FieldOp::kIncrBy) {
        over = UnsignedOverflow(old, op.arg, op.bits, op.overflow, &wrapped);
        next = over ? wrapped : old + static_cast<uint64_t>(op.arg);
      } else {
        over = UnsignedOverflow(static_cast<uint64_t>(op.arg), 0, op.bits, op.overflow,
                                &wrapped);
        next = over ? wrapped : static_cast<uint64_t>(op.arg);
      }
      failed = over && op.overflow == Overflow::kFail;
      if (!failed) {
        r.Integer(static_cast<int64_t>(op.code == FieldOp::kIncrBy ? next : old));
        SetField(v, op.offset, op.bits, next);
        changed |= next != old;
      }
    }
    if (failed) r.Null();
  }
  // A write of the same bits changes nothing (no log record; WATCH holds).
  if (changed) StoreValue(ctx, e, v);
}

void BitField(CommandContext& ctx) { BitFieldGeneric(ctx, false); }
void BitFieldRo(CommandContext& ctx) { BitFieldGeneric(ctx, true); }

}  // namespace

void RegisterBitFamily(CommandTable* t) {
  const uint32_t rd = kReadOnly;
  const uint32_t wr = kWrite | kDenyOom;
  // clang-format off
  t->Add({"getbit", 3, rd | kFast | kAnyKeyType, 1, 1, 1, GetBit, "bitmap", "Bit value at offset", "bitmap"});
  t->Add({"setbit", 4, wr | kAnyKeyType, 1, 1, 1, SetBit, "bitmap", "Set or clear the bit at offset", "bitmap"});
  t->Add({"bitcount", -2, rd, 1, 1, 1, BitCount, "bitmap", "Count set bits", "bitmap"});
  t->Add({"bitpos", -3, rd | kAnyKeyType, 1, 1, 1, BitPos, "bitmap", "First bit set or clear", "bitmap"});
  t->Add({"bitop", -4, wr | kAnyKeyType, 2, -1, 1, BitOp, "bitmap", "Bitwise operation between strings", "bitmap"});
  t->Add({"bitfield", -2, wr | kAnyKeyType, 1, 1, 1, BitField, "bitmap", "Integer fields of a bitmap", "bitmap"});
  t->Add({"bitfield_ro", -2, rd | kFast | kAnyKeyType, 1, 1, 1, BitFieldRo, "bitmap", "Read integer fields", "bitmap"});
  // clang-format on
}

}  // namespace edgekv
