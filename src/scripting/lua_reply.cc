#include "lua_reply.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "edgekv/reply.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace edgekv {
namespace {

// Replies nest this deep at most before a script's result is refused
// (a table that holds itself would otherwise never end).
constexpr int kMaxDepth = 1000;

// A reader over one well-formed reply.
struct RespReader {
  const char* p;
  const char* end;

  std::string_view Line() {
    const char* cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)));
    if (cr == nullptr) cr = end;
    std::string_view line(p, static_cast<size_t>(cr - p));
    p = cr + 2 <= end ? cr + 2 : end;
    return line;
  }
  int64_t Number() {
    std::string_view line = Line();
    char text[32] = {};
    std::memcpy(text, line.data(), std::min(line.size(), sizeof(text) - 1));
    return std::strtoll(text, nullptr, 10);
  }
};

void PushValue(lua_State* L, RespReader& r, bool* is_error, int depth);

void PushAggregateItems(lua_State* L, RespReader& r, int64_t n, int depth) {
  for (int64_t i = 1; i <= n; ++i) {
    bool err = false;
    PushValue(L, r, &err, depth + 1);
    lua_rawseti(L, -2, static_cast<int>(i));
  }
}

void PushValue(lua_State* L, RespReader& r, bool* is_error, int depth) {
  luaL_checkstack(L, 4, "reply nested too deep");
  if (r.p >= r.end) {
    lua_pushnil(L);
    return;
  }
  const char type = *r.p++;
  switch (type) {
    case '+': {
      std::string_view s = r.Line();
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, s.data(), s.size());
      lua_setfield(L, -2, "ok");
      return;
    }
    case '-': {
      const char* start = r.p - 1;
      std::string_view s = r.Line();
      PushErrorTable(L, start, s.size() + 1);
      *is_error = true;
      return;
    }
    case ':':
      lua_pushnumber(L, static_cast<lua_Number>(r.Number()));
      return;
    case '$': {
      int64_t n = r.Number();
      if (n < 0) {
        lua_pushboolean(L, 0);
        return;
      }
      lua_pushlstring(L, r.p, static_cast<size_t>(n));
      r.p += n + 2;
      return;
    }
    case '*': {
      int64_t n = r.Number();
      if (n < 0) {
        lua_pushboolean(L, 0);
        return;
      }
      lua_createtable(L, static_cast<int>(n), 0);
      PushAggregateItems(L, r, n, depth);
      return;
    }
    case '%':
    case '~': {
      int64_t n = r.Number();
      lua_createtable(L, 0, 1);
      lua_createtable(L, 0, static_cast<int>(n));
      for (int64_t i = 0; i < n; ++i) {
        bool err = false;
        PushValue(L, r, &err, depth + 1);
        if (type == '%') {
          PushValue(L, r, &err, depth + 1);
        } else {
          lua_pushboolean(L, 1);
        }
        lua_settable(L, -3);
      }
      lua_setfield(L, -2, type == '%' ? "map" : "set");
      return;
    }
    case '_':
      r.Line();
      lua_pushnil(L);
      return;
    case '#':
      lua_pushboolean(L, r.Line() == "t");
      return;
    case ',': {
      std::string_view line = r.Line();
      char text[128] = {};
      std::memcpy(text, line.data(), std::min(line.size(), sizeof(text) - 1));
      lua_createtable(L, 0, 1);
      lua_pushnumber(L, std::strtod(text, nullptr));
      lua_setfield(L, -2, "double");
      return;
    }
    case '(': {
      std::string_view s = r.Line();
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, s.data(), s.size());
      lua_setfield(L, -2, "big_number");
      return;
    }
    case '=': {
      int64_t n = r.Number();
      const char* s = r.p;
      r.p += n + 2;
      lua_createtable(L, 0, 1);
      lua_createtable(L, 0, 2);
      lua_pushlstring(L, s, n >= 3 ? 3 : 0);
      lua_setfield(L, -2, "format");
      lua_pushlstring(L, s + (n >= 4 ? 4 : 0), static_cast<size_t>(n >= 4 ? n - 4 : n));
      lua_setfield(L, -2, "string");
      lua_setfield(L, -2, "verbatim_string");
      return;
    }
    case '|': {
      // An attribute is not part of the reply: skip it, then read the value.
      int64_t n = r.Number();
      for (int64_t i = 0; i < 2 * n; ++i) {
        bool err = false;
        PushValue(L, r, &err, depth + 1);
        lua_pop(L, 1);
      }
      PushValue(L, r, is_error, depth);
      return;
    }
    default:
      r.Line();
      lua_pushnil(L);
  }
}

bool FieldIs(lua_State* L, int index, const char* name, int type) {
  lua_pushstring(L, name);
  lua_rawget(L, index < 0 ? index - 1 : index);
  if (lua_type(L, -1) == type) return true;
  lua_pop(L, 1);
  return false;
}

// Redis maps CR and LF in a status or a big number to spaces. (A buffer
// per thread: a Lua error unwinds this code without running destructors.)
std::string_view NoNewlines(lua_State* L, int index) {
  thread_local std::string tl_buf;
  std::string* buf = &tl_buf;
  size_t len = 0;
  const char* s = lua_tolstring(L, index, &len);
  buf->assign(s, len);
  for (char& c : *buf) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return *buf;
}

// The pairs of the table on top of the stack.
size_t CountPairs(lua_State* L) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    ++n;
  }
  return n;
}

void Write(lua_State* L, ReplyBuilder& reply, int resp, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "reached lua stack limit");
  luaL_checkstack(L, 4, "reached lua stack limit");
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      reply.Bulk(std::string_view(s, len));
      break;
    }
    case LUA_TBOOLEAN:
      if (resp == 2) {
        if (lua_toboolean(L, -1)) {
          reply.Integer(1);
        } else {
          reply.Null();
        }
      } else {
        reply.Bool(lua_toboolean(L, -1) != 0);
      }
      break;
    case LUA_TNUMBER: {
      // Truncated; out of range (and NaN) as x86's conversion gives it,
      // which is what Redis replies.
      const lua_Number n = lua_tonumber(L, -1);
      const bool fits = n > -9223372036854775808.0 && n < 9223372036854775808.0;
      reply.Integer(fits ? static_cast<int64_t>(n) : INT64_MIN);
      break;
    }
    case LUA_TTABLE: {
      if (FieldIs(L, -1, "err", LUA_TSTRING)) {
        size_t len = 0;
        const char* s = lua_tolstring(L, -1, &len);
        reply.ErrorVerbatim(std::string_view(s, len));
        lua_pop(L, 1);
        break;
      }
      if (FieldIs(L, -1, "ok", LUA_TSTRING)) {
        reply.SimpleString(NoNewlines(L, -1));
        lua_pop(L, 1);
        break;
      }
      if (FieldIs(L, -1, "double", LUA_TNUMBER)) {
        reply.Double(lua_tonumber(L, -1));
        lua_pop(L, 1);
        break;
      }
      if (FieldIs(L, -1, "big_number", LUA_TSTRING)) {
        reply.BigNumber(NoNewlines(L, -1));
        lua_pop(L, 1);
        break;
      }
      if (FieldIs(L, -1, "verbatim_string", LUA_TTABLE)) {
        bool written = false;
        if (FieldIs(L, -1, "format", LUA_TSTRING)) {
          if (FieldIs(L, -2, "string", LUA_TSTRING)) {
            size_t flen = 0, slen = 0;
            const char* f = lua_tolstring(L, -2, &flen);
            const char* s = lua_tolstring(L, -1, &slen);
            reply.Verbatim(std::string_view(s, slen), std::string_view(f, flen));
            written = true;
            lua_pop(L, 1);
          }
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (written) break;
      }
      if (FieldIs(L, -1, "map", LUA_TTABLE)) {
        reply.MapHeader(CountPairs(L));
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          lua_pushvalue(L, -2);
          Write(L, reply, resp, depth + 1);
          lua_pop(L, 1);
          Write(L, reply, resp, depth + 1);
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
        break;
      }
      if (FieldIs(L, -1, "set", LUA_TTABLE)) {
        reply.SetHeader(CountPairs(L));
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          Write(L, reply, resp, depth + 1);
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
        break;
      }
      size_t n = 0;
      while (true) {
        lua_rawgeti(L, -1, static_cast<int>(n + 1));
        const bool nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
        ++n;
      }
      reply.ArrayHeader(n);
      for (size_t i = 1; i <= n; ++i) {
        lua_rawgeti(L, -1, static_cast<int>(i));
        Write(L, reply, resp, depth + 1);
        lua_pop(L, 1);
      }
      break;
    }
    default:
      reply.Null();
  }
}

}  // namespace

void PushErrorTable(lua_State* L, const char* s, size_t len) {
  const char* code = "ERR";
  size_t code_len = 3;
  const char* msg = s;
  size_t msg_len = len;
  if (len > 0 && s[0] == '-') {
    const char* body = s + 1;
    const size_t body_len = len - 1;
    const void* space = std::memchr(body, ' ', body_len);
    if (space == nullptr) {
      msg = body;
      msg_len = body_len;
    } else {
      code = body;
      code_len = static_cast<size_t>(static_cast<const char*>(space) - body);
      msg = body + code_len + 1;
      msg_len = body_len - code_len - 1;
    }
  }
  while (msg_len > 0 && (msg[0] == '\r' || msg[0] == '\n')) {
    ++msg;
    --msg_len;
  }
  while (msg_len > 0 && (msg[msg_len - 1] == '\r' || msg[msg_len - 1] == '\n')) --msg_len;
  lua_createtable(L, 0, 1);
  lua_pushlstring(L, code, code_len);
  lua_pushliteral(L, " ");
  lua_pushlstring(L, msg, msg_len);
  lua_concat(L, 3);
  lua_setfield(L, -2, "err");
}

bool PushRespAsLua(lua_State* L, const char* data, size_t len) {
  RespReader r{data, data + len};
  bool is_error = false;
  PushValue(L, r, &is_error, 0);
  return is_error;
}

void WriteLuaAsReply(lua_State* L, ReplyBuilder& reply, int script_resp) {
  Write(L, reply, script_resp, 0);
}

}  // namespace edgekv
