// The Lua 5.1 libraries Redis loads into its scripting environment besides
// Lua's own: cmsgpack (MessagePack) and struct (binary packing).
//
// Each luaopen_* function is a lua_CFunction in Lua 5.1's convention: it
// creates the library's table, sets it as the global of the library's name
// (and in package.loaded), and returns the table. Call it through Lua, e.g.
// lua_pushcfunction(L, luaopen_struct); lua_call(L, 0, 0);
#pragma once

struct lua_State;

extern "C" {

// cmsgpack.pack(v, ...), cmsgpack.unpack(s), cmsgpack.unpack_one(s, [offset])
// and cmsgpack.unpack_limit(s, limit, [offset]), as Redis's lua-cmsgpack
// 0.4.0 behaves (see lua_cmsgpack.cc).
int luaopen_cmsgpack(lua_State* L);

// struct.pack(fmt, ...), struct.unpack(fmt, s, [i]) and struct.size(fmt), as
// Redis's copy of Roberto Ierusalimschy's struct 0.2 behaves (see
// lua_struct.cc).
int luaopen_struct(lua_State* L);

}  // extern "C"
