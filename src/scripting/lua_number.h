// Conversions of Lua 5.1 numbers (doubles) to integers for the cmsgpack and
// struct libraries, as Redis's x86-64 build converts them: C casts that
// compile to cvttsd2si, where a value out of range (or NaN) gives the lowest
// int64 instead of being undefined. Defined here for every input, so that
// edgekv answers as Redis does for the numbers C leaves undefined.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace edgekv::lua {

// (int64_t)d: truncation toward zero; NaN and values out of range give
// INT64_MIN.
inline int64_t TruncToInt64(double d) {
  if (d >= -0x1p63 && d < 0x1p63) return static_cast<int64_t>(d);
  return std::numeric_limits<int64_t>::min();
}

// (uint64_t)d as GCC compiles it for x86-64: values from 2^63 convert
// through d - 2^63; NaN gives 2^63, values of 2^64 and more give 0,
// negative values wrap as int64.
inline uint64_t TruncToUint64(double d) {
  constexpr uint64_t kHighBit = uint64_t{1} << 63;
  if (d >= 0x1p63) return static_cast<uint64_t>(TruncToInt64(d - 0x1p63)) ^ kHighBit;
  return static_cast<uint64_t>(TruncToInt64(d));
}

// (float)d with IEEE round-to-nearest: values beyond the float range round
// to +-FLT_MAX or +-infinity.
inline float ToFloat(double d) {
  constexpr double kMax = std::numeric_limits<float>::max();
  constexpr double kRoundsToInfinity = 0x1.ffffffp127;  // kMax + half an ulp
  if (std::fabs(d) >= kRoundsToInfinity) {
    constexpr float kInfinity = std::numeric_limits<float>::infinity();
    return d > 0 ? kInfinity : -kInfinity;
  }
  if (std::fabs(d) > kMax) return static_cast<float>(std::copysign(kMax, d));
  return static_cast<float>(d);
}

// luaL_checkinteger: the argument as a number (the same "number expected"
// error otherwise), truncated as lua_tointeger truncates.
inline int64_t CheckInteger(lua_State* L, int arg) {
  return TruncToInt64(luaL_checknumber(L, arg));
}

// luaL_optinteger: `def` when the argument is none or nil.
inline int64_t OptInteger(lua_State* L, int arg, int64_t def) {
  return lua_isnoneornil(L, arg) ? def : CheckInteger(L, arg);
}

}  // namespace edgekv::lua
