// Replies between Redis and Lua, as Redis converts them: a command's RESP
// reply into Lua values for redis.call, and a script's result into the
// client's reply (RESP2 or RESP3).
#pragma once

#include <cstddef>

struct lua_State;

namespace edgekv {

class ReplyBuilder;

// Pushes {err = "CODE msg"} for an error text given as Redis's
// luaPushErrorBuff takes it: "-CODE msg" keeps its code, a text without '-'
// gets ERR; CR and LF are trimmed from both ends of the message.
void PushErrorTable(lua_State* L, const char* s, size_t len);

// Pushes one reply (well-formed RESP2 or RESP3, as the server writes them)
// as a Lua value: integer -> number, bulk -> string, null bulk or array ->
// false, status -> {ok=}, error -> {err=}, array -> table; RESP3 maps, sets,
// doubles, booleans, big numbers and verbatim strings as Redis's tables.
// Returns true when the reply was an error.
bool PushRespAsLua(lua_State* L, const char* data, size_t len);

// Writes the value on top of the stack as the reply: number -> integer
// (truncated), string -> bulk, true -> 1 and false -> null (booleans when
// the script chose RESP3 with redis.setresp), nil -> null,
// {err=} -> error, {ok=} -> status, {double=}, {big_number=}, {map=},
// {set=}, {verbatim_string=} and arrays (cut at the first nil). May raise a
// Lua error (a table nested too deep): run it in protected mode.
void WriteLuaAsReply(lua_State* L, ReplyBuilder& reply, int script_resp);

}  // namespace edgekv
