// struct: packing of Lua values into binary strings and back, answering as
// the struct 0.2 library (Roberto Ierusalimschy's) that Redis loads into its
// scripting environment does on x86-64.
//
// struct.pack(fmt, ...) returns a string, struct.unpack(fmt, s, [i]) the
// values read from byte i (1-based) of s followed by the position after
// them, struct.size(fmt) the length pack would make. Format letters:
//   >  <     big / little endian from here on (native, little, at first)
//   ![n]     largest alignment n (a power of 2; 8 when n is absent); at
//            first 1, i.e. no padding. A value of size k is then placed at
//            a multiple of min(k, n), zeros padding up to it
//   x        one zero byte
//   b B      signed / unsigned char; h H short; l L long; T size_t
//   i[n] I[n]  signed / unsigned integer of n bytes (int's size when absent,
//            at most 32; bytes beyond the 8 of the value are zeros on pack
//            and ignored on unpack)
//   f d      float, double
//   c[n]     n bytes of a string (1 when absent). c0 packs the whole
//            string; on unpack it takes its length from the previous value
//   s        a zero-terminated string
//   ' '      ignored
// Numbers convert to integers as C casts do on x86-64 (lua_number.h), and
// unpack's sign extension of an integer wider than 8 bytes keeps Redis's
// build's shift (its count taken modulo 64).
//
// A Lua error unwinds with longjmp, past the frames here: they hold only
// trivially destructible objects (luaL_Buffer among them).
#include <algorithm>
#include <bit>
#include <climits>
#include <cstddef>
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

// Largest size of an i/I integer.
constexpr int kMaxIntSize = 32;

// The alignment "!" sets without a number: the platform's largest, as the
// padding of a double after a char measures it.
struct CharThenDouble {
  char c;
  double d;
};
constexpr int kMaxAlign =
    static_cast<int>(std::max(offsetof(CharThenDouble, d), sizeof(int)));

constexpr bool kNativeLittle = std::endian::native == std::endian::little;

// The state the control letters set.
struct Options {
  bool little;  // endianness
  int align;    // largest alignment
};

constexpr Options kDefaultOptions{kNativeLittle, 1};

// ASCII classes (the C locale's, as Redis's isdigit/isalnum).
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The decimal number at *fmt, consumed; `absent` when there is none.
int ReadNumber(lua_State* L, const char** fmt, int absent) {
  if (!IsDigit(**fmt)) return absent;
  int n = 0;
  do {
    const int digit = **fmt - '0';
    if (n > INT_MAX / 10 || n * 10 > INT_MAX - digit) {
      luaL_error(L, "integral size overflow");
    }
    n = n * 10 + digit;
    ++*fmt;
  } while (IsDigit(**fmt));
  return n;
}

// The size of letter `opt`'s value, reading its number from *fmt; 0 for the
// letters without a fixed size (s) and the control letters.
size_t OptionSize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'B':
    case 'b':
      return sizeof(char);
    case 'H':
    case 'h':
      return sizeof(short);
    case 'L':
    case 'l':
      return sizeof(long);
    case 'T':
      return sizeof(size_t);
    case 'f':
      return sizeof(float);
    case 'd':
      return sizeof(double);
    case 'x':
      return 1;
    case 'c':
      return static_cast<size_t>(ReadNumber(L, fmt, 1));
    case 'i':
    case 'I': {
      const int size = ReadNumber(L, fmt, static_cast<int>(sizeof(int)));
      if (size > kMaxIntSize) {
        luaL_error(L, "integral size %d is larger than limit of %d", size, kMaxIntSize);
      }
      return static_cast<size_t>(size);
    }
    default:
      return 0;
  }
}

// The padding before a value of letter `opt` and `size` bytes at offset
// `pos`. Exactly the library's arithmetic, for sizes that are not powers of
// 2 too (i3, i5, ...); it wraps as size_t does.
size_t Padding(size_t pos, const Options& options, char opt, size_t size) {
  if (size == 0 || opt == 'c') return 0;
  size = std::min(size, static_cast<size_t>(options.align));
  return (size - (pos & (size - 1))) & (size - 1);
}

// Applies a control letter (space, <, >, !n); any other letter is an error.
void ControlOption(lua_State* L, char opt, const char** fmt, Options* options) {
  switch (opt) {
    case ' ':
      return;
    case '>':
      options->little = false;
      return;
    case '<':
      options->little = true;
      return;
    case '!': {
      const int align = ReadNumber(L, fmt, kMaxAlign);
      if (align <= 0 || (align & (align - 1)) != 0) {
        luaL_error(L, "alignment %d is not a power of 2", align);
      }
      options->align = align;
      return;
    }
    default:
      luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
  }
}

bool IsIntegerLetter(char opt) {
  switch (opt) {
    case 'b':
    case 'B':
    case 'h':
    case 'H':
    case 'l':
    case 'L':
    case 'T':
    case 'i':
    case 'I':
      return true;
    default:
      return false;
  }
}

// Appends the `size` bytes of the number `arg` as an integer.
void PutInteger(lua_State* L, luaL_Buffer* b, int arg, bool little, size_t size) {
  const double n = luaL_checknumber(L, arg);
  uint64_t v =
      n < 0 ? static_cast<uint64_t>(lua::TruncToInt64(n)) : lua::TruncToUint64(n);
  char bytes[kMaxIntSize];
  for (size_t i = 0; i < size; ++i, v >>= 8) {
    bytes[little ? i : size - 1 - i] = static_cast<char>(v & 0xff);
  }
  luaL_addlstring(b, bytes, size);
}

// Appends the native bytes of a float or double in the chosen order.
void PutBytes(luaL_Buffer* b, const void* value, size_t size, bool little) {
  char bytes[sizeof(double)];
  std::memcpy(bytes, value, size);
  if (little != kNativeLittle) std::reverse(bytes, bytes + size);
  luaL_addlstring(b, bytes, size);
}

// Reads `size` bytes in the chosen order into the native bytes of a float or
// double.
void GetBytes(const char* data, void* value, size_t size, bool little) {
  char bytes[sizeof(double)];
  std::memcpy(bytes, data, size);
  if (little != kNativeLittle) std::reverse(bytes, bytes + size);
  std::memcpy(value, bytes, size);
}

// The integer in the `size` bytes at `data`. Beyond 8 bytes, the 8 read
// last stay (the first 8 when little-endian, the last 8 when big-endian).
lua_Number GetInteger(const char* data, bool little, bool is_signed, size_t size) {
  uint64_t v = 0;
  for (size_t i = 0; i < size; ++i) {
    v = (v << 8) | static_cast<unsigned char>(data[little ? size - 1 - i : i]);
  }
  if (!is_signed) return static_cast<lua_Number>(v);
  const uint64_t sign_and_above = ~uint64_t{0} << ((size * 8 - 1) & 63);
  if ((v & sign_and_above) != 0) v |= sign_and_above;
  return static_cast<lua_Number>(static_cast<int64_t>(v));
}

// struct.pack(fmt, ...).
int Pack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Options options = kDefaultOptions;
  int arg = 2;
  size_t total = 0;
  lua_pushnil(L);  // after the arguments: a missing one reads as nil
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    const char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    size_t padding = Padding(total, options, opt, size);
    total += padding;
    for (; padding > 0; --padding) luaL_addchar(&b, '\0');
    if (IsIntegerLetter(opt)) {
      PutInteger(L, &b, arg++, options.little, size);
    } else {
      switch (opt) {
        case 'x':
          luaL_addchar(&b, '\0');
          break;
        case 'f': {
          const float f = lua::ToFloat(luaL_checknumber(L, arg++));
          PutBytes(&b, &f, sizeof(f), options.little);
          break;
        }
        case 'd': {
          const double d = luaL_checknumber(L, arg++);
          PutBytes(&b, &d, sizeof(d), options.little);
          break;
        }
        case 'c':
        case 's': {
          size_t len;
          const char* s = luaL_checklstring(L, arg++, &len);
          if (size == 0) size = len;
          // The library names the argument after the string's.
          luaL_argcheck(L, len >= size, arg, "string too short");
          luaL_addlstring(&b, s, size);
          if (opt == 's') {
            luaL_addchar(&b, '\0');
            ++size;
          }
          break;
        }
        default:
          ControlOption(L, opt, &fmt, &options);
      }
    }
    total += size;
  }
  luaL_pushresult(&b);
  return 1;
}

// struct.unpack(fmt, s, [i]).
int Unpack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  size_t len;
  const char* data = luaL_checklstring(L, 2, &len);
  // Positions wrap as size_t: i < 0 reads as a huge offset.
  const auto start = static_cast<uint64_t>(lua::OptInteger(L, 3, 1));
  luaL_argcheck(L, start != 0, 3, "offset must be 1 or greater");
  size_t pos = start - 1;
  Options options = kDefaultOptions;
  int results = 0;
  while (*fmt != '\0') {
    const char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    pos += Padding(pos, options, opt, size);
    luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");  // this value and the position
    if (IsIntegerLetter(opt)) {
      const bool is_signed = opt >= 'a';  // b, h, l, i
      lua_pushnumber(L, GetInteger(data + pos, options.little, is_signed, size));
      ++results;
    } else {
      switch (opt) {
        case 'x':
          break;
        case 'f': {
          float f;
          GetBytes(data + pos, &f, sizeof(f), options.little);
          lua_pushnumber(L, f);
          ++results;
          break;
        }
        case 'd': {
          double d;
          GetBytes(data + pos, &d, sizeof(d), options.little);
          lua_pushnumber(L, d);
          ++results;
          break;
        }
        case 'c': {
          if (size == 0) {  // the length is the previous result
            if (results == 0 || !lua_isnumber(L, -1)) {
              luaL_error(L, "format 'c0' needs a previous size");
            }
            size = lua::TruncToUint64(lua_tonumber(L, -1));
            lua_pop(L, 1);
            --results;
            luaL_argcheck(L, size <= len && pos <= len - size, 2,
                          "data string too short");
          }
          lua_pushlstring(L, data + pos, size);
          ++results;
          break;
        }
        case 's': {
          const void* end =
              len > pos ? std::memchr(data + pos, '\0', len - pos) : nullptr;
          if (end == nullptr) luaL_error(L, "unfinished string in data");
          size = static_cast<size_t>(static_cast<const char*>(end) - (data + pos));
          lua_pushlstring(L, data + pos, size);
          ++size;  // the terminating zero
          ++results;
          break;
        }
        default:
          ControlOption(L, opt, &fmt, &options);
      }
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return results + 1;
}

// struct.size(fmt). Letters and digits it does not know are skipped, as the
// library's size does; other characters are format errors.
int Size(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Options options = kDefaultOptions;
  size_t pos = 0;
  while (*fmt != '\0') {
    const char opt = *fmt++;
    const size_t size = OptionSize(L, opt, &fmt);
    pos += Padding(pos, options, opt, size);
    if (opt == 's') {
      luaL_argerror(L, 1, "option 's' has no fixed size");
    } else if (opt == 'c' && size == 0) {
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    }
    if (!IsAlnum(opt)) ControlOption(L, opt, &fmt, &options);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

constexpr luaL_Reg kFunctions[] = {
    {"pack", Pack},
    {"unpack", Unpack},
    {"size", Size},
    {nullptr, nullptr},
};

}  // namespace
}  // namespace edgekv

extern "C" int luaopen_struct(lua_State* L) {
  luaL_register(L, "struct", edgekv::kFunctions);
  return 1;
}
