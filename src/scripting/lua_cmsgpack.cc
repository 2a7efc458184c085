// cmsgpack: MessagePack for Lua 5.1, answering as the lua-cmsgpack 0.4.0
// that Redis loads into its scripting environment does.
//
// cmsgpack.pack(v, ...) returns the concatenated encodings of its arguments:
//   - a number that is a whole value in the int64 range: the smallest of
//     positive/negative fixint, uint8/16/32/64 (for values >= 0) and
//     int8/16/32/64 (for values < 0); -0 is the integer 0;
//   - any other number: float32 when the float holds it exactly (infinities
//     too), else float64 (NaN among them);
//   - a string: fixstr, str8, str16 or str32 (never bin);
//   - a boolean: true/false; nil, functions, userdata, threads: nil;
//   - a table whose keys are exactly 1..n (each a whole number from 1 to
//     INT_MAX): an array of its values 1..n (fixarray, array16, array32);
//     any other table, {} excepted (the empty array): a map, in lua_next
//     order (fixmap, map16, map32);
//   - a table kMaxNesting levels deep (counting the argument as level 0,
//     which stops reference cycles too): nil.
// cmsgpack.unpack(s) returns every value s holds, in order; nil, booleans,
// integers and floats (uint64 read as int64), str8/16/32, arrays (tables
// 1..n) and maps. bin and ext types are "Bad data format in input.".
// cmsgpack.unpack_one(s, [offset]) and cmsgpack.unpack_limit(s, limit,
// [offset]) decode at most one/limit values from byte `offset` (0-based),
// and return first the offset of the next value, or -1 when s is used up.
//
// The errors are Redis's, and so are the points where a deep or long input
// overflows the Lua stack (LUAI_MAXCSTACK slots): the checks below reserve
// what Redis's reserve, with its messages, which name its C functions.
//
// A Lua error unwinds with longjmp, past the frames here: they hold only
// trivially destructible objects, and the encoder's buffer is a userdata.
// Calls share nothing.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

#include "scripting/lua_libs.h"
#include "scripting/lua_number.h"

namespace edgekv {
namespace {

// Tables at this depth (the argument of pack being depth 0) encode as nil.
constexpr int kMaxNesting = 16;

constexpr char kTooManyValues[] =
    "too many return values at once; use unpack_one or unpack_limit instead.";

// ---- Encoding ----

// The encoding pack makes, in a userdata at stack index `slot` (replaced by
// a larger one to grow): memory the garbage collector frees however pack
// ends, and that no other call shares (not even a pack that a finalizer
// runs during one of this pack's allocations).
//
// Redis's pack keeps each argument's encoding on the stack until it
// concatenates them; this one keeps the one buffer instead, so its stack top
// is Redis's minus `depth_offset`, which its depth checks add back.
struct Encoder {
  lua_State* L;
  int slot;
  unsigned char* data;
  size_t size;
  size_t capacity;
  int depth_offset;
};

constexpr size_t kInitialCapacity = 64;

// luaL_checkstack(L, n, message) as Redis's pack meets it.
void CheckDepth(Encoder* e, int n, const char* message) {
  if (lua_gettop(e->L) + e->depth_offset + n > LUAI_MAXCSTACK ||
      !lua_checkstack(e->L, n)) {
    luaL_error(e->L, "stack overflow (%s)", message);
  }
}

// Room for `n` more bytes.
unsigned char* Extend(Encoder* e, size_t n) {
  if (e->capacity - e->size < n) {
    if (n > SIZE_MAX / 2 - e->size) luaL_error(e->L, "not enough memory");
    const size_t capacity = std::max(e->capacity * 2, e->size + n);
    if (!lua_checkstack(e->L, 1)) luaL_error(e->L, "stack overflow");
    auto* data = static_cast<unsigned char*>(lua_newuserdata(e->L, capacity));
    std::memcpy(data, e->data, e->size);
    lua_replace(e->L, e->slot);
    e->data = data;
    e->capacity = capacity;
  }
  unsigned char* out = e->data + e->size;
  e->size += n;
  return out;
}

void PutByte(Encoder* e, unsigned char c) { *Extend(e, 1) = c; }

// `tag` then the low `n` bytes of `v`, big-endian.
void PutTagged(Encoder* e, unsigned char tag, uint64_t v, int n) {
  unsigned char* out = Extend(e, 1 + n);
  out[0] = tag;
  for (int i = n; i >= 1; --i, v >>= 8) out[i] = static_cast<unsigned char>(v & 0xff);
}

void EncodeInteger(Encoder* e, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  if (v >= 0) {
    if (v <= 0x7f) return PutByte(e, static_cast<unsigned char>(v));
    if (v <= 0xff) return PutTagged(e, 0xcc, u, 1);
    if (v <= 0xffff) return PutTagged(e, 0xcd, u, 2);
    if (v <= 0xffffffff) return PutTagged(e, 0xce, u, 4);
    return PutTagged(e, 0xcf, u, 8);
  }
  if (v >= -32) return PutByte(e, static_cast<unsigned char>(u & 0xff));
  if (v >= INT8_MIN) return PutTagged(e, 0xd0, u, 1);
  if (v >= INT16_MIN) return PutTagged(e, 0xd1, u, 2);
  if (v >= INT32_MIN) return PutTagged(e, 0xd2, u, 4);
  PutTagged(e, 0xd3, u, 8);
}

void EncodeNumber(Encoder* e, double d) {
  if (d >= -0x1p63 && d < 0x1p63 && std::trunc(d) == d) {
    return EncodeInteger(e, static_cast<int64_t>(d));
  }
  const float f = lua::ToFloat(d);
  if (static_cast<double>(f) == d) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    return PutTagged(e, 0xca, bits, 4);
  }
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  PutTagged(e, 0xcb, bits, 8);
}

void EncodeString(Encoder* e, const char* s, size_t len) {
  if (len < 32) {
    PutByte(e, static_cast<unsigned char>(0xa0 | len));
  } else if (len <= 0xff) {
    PutTagged(e, 0xd9, len, 1);
  } else if (len <= 0xffff) {
    PutTagged(e, 0xda, len, 2);
  } else if (len <= 0xffffffff) {
    PutTagged(e, 0xdb, len, 4);
  } else {
    luaL_error(e->L, "string too long for MessagePack");
  }
  std::memcpy(Extend(e, len), s, len);
}

// The header of an array (fix_tag 0x90, then 0xdc/0xdd) or a map (0x80,
// then 0xde/0xdf) of `n` entries.
void EncodeContainerHeader(Encoder* e, unsigned char fix_tag, unsigned char tag16,
                           size_t n) {
  if (n <= 15) return PutByte(e, static_cast<unsigned char>(fix_tag | n));
  if (n <= 0xffff) return PutTagged(e, tag16, n, 2);
  if (n > 0xffffffff) luaL_error(e->L, "table too large for MessagePack");
  PutTagged(e, static_cast<unsigned char>(tag16 + 1), n, 4);
}

// The length n of the table on top of the stack when its keys are exactly
// 1..n, each a whole number from 1 to INT_MAX; -1 otherwise.
int64_t ArrayLength(Encoder* e) {
  lua_State* L = e->L;
  CheckDepth(e, 2, "in function table_is_an_array");
  int64_t count = 0;
  double max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    const double key = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (!(key > 0 && key <= INT_MAX && std::trunc(key) == key)) {
      lua_pop(L, 1);
      return -1;
    }
    max = std::max(max, key);
    ++count;
  }
  return max == static_cast<double>(count) ? count : -1;
}

void Encode(Encoder* e, int level);

void EncodeTable(Encoder* e, int level) {
  lua_State* L = e->L;
  const int64_t length = ArrayLength(e);
  if (length >= 0) {
    CheckDepth(e, 1, "in function mp_encode_lua_table_as_array");
    EncodeContainerHeader(e, 0x90, 0xdc, static_cast<size_t>(length));
    for (int64_t i = 1; i <= length; ++i) {
      lua_rawgeti(L, -1, static_cast<int>(i));
      Encode(e, level + 1);
    }
    return;
  }
  CheckDepth(e, 3, "in function mp_encode_lua_table_as_map");
  size_t entries = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    ++entries;
  }
  EncodeContainerHeader(e, 0x80, 0xde, entries);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {  // table, key, value
    lua_pushvalue(L, -2);
    Encode(e, level + 1);  // the key's copy
    Encode(e, level + 1);  // the value
  }
}

// Appends the encoding of the value on top of the stack, and pops it.
void Encode(Encoder* e, int level) {
  lua_State* L = e->L;
  int type = lua_type(L, -1);
  if (type == LUA_TTABLE && level == kMaxNesting) type = LUA_TNIL;
  switch (type) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      EncodeString(e, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      PutByte(e, lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      break;
    case LUA_TNUMBER:
      EncodeNumber(e, lua_tonumber(L, -1));
      break;
    case LUA_TTABLE:
      EncodeTable(e, level);
      break;
    default:
      PutByte(e, 0xc0);
      break;
  }
  lua_pop(L, 1);
}

// cmsgpack.pack(v, ...): the concatenated encodings.
int Pack(lua_State* L) {
  const int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs)) {
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  }
  Encoder e{L, nargs + 1, nullptr, 0, kInitialCapacity, 0};
  e.data = static_cast<unsigned char*>(lua_newuserdata(L, kInitialCapacity));
  for (int i = 1; i <= nargs; ++i) {
    // Redis's stack holds the i - 1 encodings before this argument's where
    // this one's holds the buffer.
    e.depth_offset = i - 2;
    lua_pushvalue(L, i);
    Encode(&e, 0);
  }
  lua_pushlstring(L, reinterpret_cast<const char*>(e.data), e.size);
  return 1;
}

// ---- Decoding ----

struct Cursor {
  const unsigned char* p;
  size_t left;
};

// The next `n` bytes, consumed; a Lua error when fewer are left.
const unsigned char* Take(lua_State* L, Cursor* c, size_t n) {
  if (c->left < n) luaL_error(L, "Missing bytes in input.");
  const unsigned char* at = c->p;
  c->p += n;
  c->left -= n;
  return at;
}

// A big-endian unsigned integer of `n` bytes.
uint64_t TakeUint(lua_State* L, Cursor* c, int n) {
  const unsigned char* at = Take(L, c, n);
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | at[i];
  return v;
}

void Decode(lua_State* L, Cursor* c);

void DecodeString(lua_State* L, Cursor* c, size_t len) {
  const unsigned char* s = Take(L, c, len);
  lua_pushlstring(L, reinterpret_cast<const char*>(s), len);
}

void DecodeArray(lua_State* L, Cursor* c, uint64_t len) {
  lua_newtable(L);  // not presized: pairs() order is then Redis's
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  for (uint64_t i = 1; i <= len; ++i) {
    lua_pushnumber(L, static_cast<lua_Number>(i));
    Decode(L, c);
    lua_rawset(L, -3);
  }
}

void DecodeMap(lua_State* L, Cursor* c, uint64_t len) {
  lua_newtable(L);  // not presized: pairs() order is then Redis's
  for (uint64_t i = 0; i < len; ++i) {
    Decode(L, c);       // key
    Decode(L, c);       // value
    lua_rawset(L, -3);  // "table index is nil" / "is NaN" for such keys
  }
}

// Pushes the next value.
void Decode(lua_State* L, Cursor* c) {
  const unsigned char tag = *Take(L, c, 1);
  luaL_checkstack(L, 1, kTooManyValues);
  if (tag <= 0x7f) return lua_pushnumber(L, tag);
  if (tag >= 0xe0) return lua_pushnumber(L, static_cast<int8_t>(tag));
  if ((tag & 0xe0) == 0xa0) return DecodeString(L, c, tag & 0x1f);
  if ((tag & 0xf0) == 0x90) return DecodeArray(L, c, tag & 0x0f);
  if ((tag & 0xf0) == 0x80) return DecodeMap(L, c, tag & 0x0f);
  switch (tag) {
    case 0xc0:
      return lua_pushnil(L);
    case 0xc2:
      return lua_pushboolean(L, 0);
    case 0xc3:
      return lua_pushboolean(L, 1);
    case 0xca: {
      const auto bits = static_cast<uint32_t>(TakeUint(L, c, 4));
      float f;
      std::memcpy(&f, &bits, sizeof(f));
      return lua_pushnumber(L, f);
    }
    case 0xcb: {
      const uint64_t bits = TakeUint(L, c, 8);
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      return lua_pushnumber(L, d);
    }
    case 0xcc:
      return lua_pushnumber(L, static_cast<lua_Number>(TakeUint(L, c, 1)));
    case 0xcd:
      return lua_pushnumber(L, static_cast<lua_Number>(TakeUint(L, c, 2)));
    case 0xce:
      return lua_pushnumber(L, static_cast<lua_Number>(TakeUint(L, c, 4)));
    case 0xcf:  // read as int64, as Redis's does
      return lua_pushnumber(
          L, static_cast<lua_Number>(static_cast<int64_t>(TakeUint(L, c, 8))));
    case 0xd0:
      return lua_pushnumber(L, static_cast<int8_t>(TakeUint(L, c, 1)));
    case 0xd1:
      return lua_pushnumber(L, static_cast<int16_t>(TakeUint(L, c, 2)));
    case 0xd2:
      return lua_pushnumber(L, static_cast<int32_t>(TakeUint(L, c, 4)));
    case 0xd3:
      return lua_pushnumber(
          L, static_cast<lua_Number>(static_cast<int64_t>(TakeUint(L, c, 8))));
    case 0xd9:
      return DecodeString(L, c, TakeUint(L, c, 1));
    case 0xda:
      return DecodeString(L, c, TakeUint(L, c, 2));
    case 0xdb:
      return DecodeString(L, c, TakeUint(L, c, 4));
    case 0xdc:
      return DecodeArray(L, c, TakeUint(L, c, 2));
    case 0xdd:
      return DecodeArray(L, c, TakeUint(L, c, 4));
    case 0xde:
      return DecodeMap(L, c, TakeUint(L, c, 2));
    case 0xdf:
      return DecodeMap(L, c, TakeUint(L, c, 4));
    default:  // 0xc1, bin, ext
      luaL_error(L, "Bad data format in input.");
  }
}

// The low 32 bits, as Redis's error messages print offsets and lengths.
int Low32(uint64_t v) { return static_cast<int>(static_cast<uint32_t>(v)); }

// Decodes from byte `offset` of argument 1: every value when limit and
// offset are both 0, else at most `limit` values, preceded by the next
// offset (-1 at the end) in the results.
int UnpackFull(lua_State* L, int64_t limit, int64_t offset) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  const bool decode_all = limit == 0 && offset == 0;
  if (offset < 0 || limit < 0) {
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      Low32(offset), Low32(len));
  }
  if (static_cast<uint64_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", Low32(offset),
                      Low32(len));
  }
  if (decode_all) limit = INT64_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset,
           len - static_cast<size_t>(offset)};
  int count = 0;
  for (; c.left > 0 && count < limit; ++count) Decode(L, &c);
  if (!decode_all) {
    luaL_checkstack(L, 1, "in function mp_unpack_full");
    lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left));
    lua_insert(L, 2);
    ++count;
  }
  return count;
}

// cmsgpack.unpack(s): every value (further arguments stay on the stack).
int Unpack(lua_State* L) { return UnpackFull(L, 0, 0); }

// cmsgpack.unpack_one(s, [offset]).
int UnpackOne(lua_State* L) {
  const int64_t offset = lua::OptInteger(L, 2, 0);
  if (lua_gettop(L) > 1) lua_settop(L, 1);
  return UnpackFull(L, 1, offset);
}

// cmsgpack.unpack_limit(s, limit, [offset]).
int UnpackLimit(lua_State* L) {
  const int64_t limit = lua::CheckInteger(L, 2);
  const int64_t offset = lua::OptInteger(L, 3, 0);
  if (lua_gettop(L) > 1) lua_settop(L, 1);
  return UnpackFull(L, limit, offset);
}

constexpr luaL_Reg kFunctions[] = {
    {"pack", Pack},
    {"unpack", Unpack},
    {"unpack_one", UnpackOne},
    {"unpack_limit", UnpackLimit},
    {nullptr, nullptr},
};

}  // namespace
}  // namespace edgekv

extern "C" int luaopen_cmsgpack(lua_State* L) {
  luaL_register(L, "cmsgpack", edgekv::kFunctions);
  // The fields Redis's cmsgpack table has besides its functions.
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  return 1;
}
