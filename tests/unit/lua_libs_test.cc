// The cmsgpack and struct Lua libraries answer as Redis 7.0's do. In the
// ExpectAll tables, each expected value is what redis-server 7.0.15 answered
// to EVAL "<the helpers of kHelpers> return <expression>" 0.
#include "scripting/lua_libs.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

namespace edgekv {
namespace {

// show(f, ...) calls f(...) in pcall and describes what it returned:
// "<count>: <value> ..." (strings as "x" and their bytes in hex, numbers as
// %.17g, tables as {key=value,...} sorted by tostring(key)) or
// "error: <message>". hex(s) is the string that the hex digits s spell.
constexpr char kHelpers[] = R"lua(
function d(v)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k, _ in pairs(v) do keys[#keys+1] = k end
    table.sort(keys, function(a,b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts+1] = d(k) .. "=" .. d(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "string" then return "x" .. (v:gsub(".", function(c) return string.format("%02x", c:byte()) end))
  elseif t == "number" then return string.format("%.17g", v)
  else return tostring(v) end
end
function show(...)
  local r = {pcall(...)}
  if not r[1] then return "error: " .. tostring(r[2]) end
  local out = {}
  for i = 2, select("#", unpack(r)) do out[#out+1] = d(r[i]) end
  return select("#", unpack(r)) - 1 .. ": " .. table.concat(out, " ")
end
function hex(s) return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end)) end
)lua";

struct Case {
  const char* expression;
  const char* want;
};

class LuaLibsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L_ = luaL_newstate();
    luaL_openlibs(L_);
    lua_pushcfunction(L_, luaopen_cmsgpack);
    lua_call(L_, 0, 0);
    lua_pushcfunction(L_, luaopen_struct);
    lua_call(L_, 0, 0);
    ASSERT_EQ(luaL_dostring(L_, kHelpers), 0) << lua_tostring(L_, -1);
  }

  void TearDown() override { lua_close(L_); }

  // The string that `return <expression>` returns, run as Redis runs a
  // script (chunk name "user_script"); "ERR <message>" when it raises.
  std::string Eval(std::string_view expression) {
    const std::string script = "return " + std::string(expression);
    lua_settop(L_, 0);
    if (luaL_loadbuffer(L_, script.data(), script.size(), "=user_script") != 0 ||
        lua_pcall(L_, 0, 1, 0) != 0) {
      return "ERR " + std::string(lua_tostring(L_, -1));
    }
    size_t len;
    const char* s = lua_tolstring(L_, -1, &len);
    return s == nullptr ? "<not a string>" : std::string(s, len);
  }

  void ExpectAll(std::initializer_list<Case> cases) {
    for (const Case& c : cases) EXPECT_EQ(Eval(c.expression), c.want) << c.expression;
  }

  lua_State* L_ = nullptr;
};

TEST_F(LuaLibsTest, OpensAsGlobalsWithRedisFields) {
  EXPECT_EQ(Eval("type(cmsgpack.pack) .. type(cmsgpack.unpack) .. "
                 "type(cmsgpack.unpack_one) .. type(cmsgpack.unpack_limit)"),
            "functionfunctionfunctionfunction");
  EXPECT_EQ(Eval("cmsgpack._NAME .. ' ' .. cmsgpack._VERSION"),
            "cmsgpack lua-cmsgpack 0.4.0");
  EXPECT_EQ(Eval("type(struct.pack) .. type(struct.unpack) .. type(struct.size)"),
            "functionfunctionfunction");
  EXPECT_EQ(Eval("tostring(package.loaded.struct == struct and "
                 "package.loaded.cmsgpack == cmsgpack)"),
            "true");
}

TEST_F(LuaLibsTest, UnpackOfPackGivesTheValuesBack) {
  EXPECT_EQ(Eval(R"lua((function()
    local function same(a, b)
      if type(a) ~= type(b) then return false end
      if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
      for k, v in pairs(a) do if not same(v, b[k]) then return false end end
      for k in pairs(b) do if a[k] == nil then return false end end
      return true
    end
    local big = {}
    for i = 1, 70000 do big[i] = i * 3 - 100000 end
    local values = {
      0, -1, 2^53, -2^63, 0.1, -1.5, 1/0, 0/0, "", string.rep("z", 70000), true, false,
      {1, {2, {3, {a = "b", [7] = {}}}}, [-3] = 0.25, x = {y = {z = "deep"}}}, big,
    }
    for i, v in ipairs(values) do
      local s = cmsgpack.pack(v)
      local back = {cmsgpack.unpack(s)}
      if #back ~= 1 or not same(v, back[1]) then return "value " .. i end
      -- (a map's entries may come back in another order: the table with x)
      local map = type(v) == "table" and v.x
      if cmsgpack.pack(back[1]) ~= s and not map then return "bytes " .. i end
    end
    local all = {cmsgpack.unpack(cmsgpack.pack(unpack(values, 1, #values)))}
    for i, v in ipairs(values) do
      if not same(v, all[i]) then return "together " .. i end
    end
    return "ok"
  end)())lua"),
            "ok");
}

// A finalizer may run during any allocation pack makes, and may call pack
// itself: each call's encoding is its own.
TEST_F(LuaLibsTest, PackRunByAFinalizerDuringPackChangesNothing) {
  EXPECT_EQ(Eval(R"lua((function()
    local value = {}
    for i = 1, 300 do value[i] = {string.rep("v", i), i * 1.5, {k = i}} end
    collectgarbage("stop")
    local want = cmsgpack.pack(value, string.rep("w", 5000), value)
    local inner = 0
    local function arm()
      local p = newproxy(true)
      getmetatable(p).__gc = function()
        inner = inner + 1
        cmsgpack.pack(string.rep("x", 3000), {1, 2, {3}})
        arm()
      end
    end
    arm()
    collectgarbage("restart")
    collectgarbage("setpause", 0)
    collectgarbage("setstepmul", 1000)
    for round = 1, 30 do
      if cmsgpack.pack(value, string.rep("w", 5000), value) ~= want then
        return "round " .. round
      end
    end
    collectgarbage("setpause", 200)
    collectgarbage("setstepmul", 200)
    return inner > 0 and "ok" or "no finalizer ran"
  end)())lua"),
            "ok");
}

TEST_F(LuaLibsTest, UnpackOneWalksAStream) {
  EXPECT_EQ(Eval(R"lua((function()
    local s = cmsgpack.pack(1, "two", {3}, nil, false)
    local out, offset = {}, 0
    while offset ~= -1 do
      local next_offset, v = cmsgpack.unpack_one(s, offset)
      out[#out + 1] = d(v)
      offset = next_offset
    end
    return table.concat(out, " ")
  end)())lua"),
            "1 x74776f {1=3} nil false");
}

TEST_F(LuaLibsTest, PackIntegersInTheSmallestForm) {
  ExpectAll({
      {R"lua(show(cmsgpack.pack, 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296))lua",
       R"lua(1: x00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000)lua"},
      {R"lua(show(cmsgpack.pack, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649))lua",
       R"lua(1: xffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff)lua"},
      {R"lua(show(cmsgpack.pack, 2^63 - 1024, -2^63, -0.0, 3.0))lua",
       R"lua(1: xcf7ffffffffffffc00d380000000000000000003)lua"},
  });
}

TEST_F(LuaLibsTest, PackOtherNumbersAsFloat32WhenExact) {
  ExpectAll({
      {R"lua(show(cmsgpack.pack, 1.5, 0.1, 2^63, 2^64, -2^64, 1/0, -1/0, 0/0))lua",
       R"lua(1: xca3fc00000cb3fb999999999999aca5f000000ca5f800000cadf800000ca7f800000caff800000cbfff8000000000000)lua"},
      {R"lua(show(cmsgpack.pack, 1e300, 3.4028234663852886e38, 3.4028235677973362e38, 3.4028235677973366e38, 2^-149, 2^-150))lua",
       R"lua(1: xcb7e37e43c8800759cca7f7fffffcb47efffffefffffffcb47effffff0000000ca00000001cb3690000000000000)lua"},
  });
}

TEST_F(LuaLibsTest, PackStringsAsStrNeverBin) {
  ExpectAll({
      {R"lua(show(cmsgpack.pack, "", "a\0b", string.rep("a", 31)))lua",
       R"lua(1: xa0a3610062bf61616161616161616161616161616161616161616161616161616161616161)lua"},
      {R"lua(show(function() return cmsgpack.pack(string.rep("a", 32)):sub(1, 3), #cmsgpack.pack(string.rep("a", 255)) end))lua",
       R"lua(2: xd92061 257)lua"},
      {R"lua(show(function() return cmsgpack.pack(string.rep("a", 256)):sub(1, 4), #cmsgpack.pack(string.rep("a", 65535)) end))lua",
       R"lua(2: xda010061 65538)lua"},
      {R"lua(show(function() return cmsgpack.pack(string.rep("a", 65536)):sub(1, 6) end))lua",
       R"lua(1: xdb0001000061)lua"},
  });
}

TEST_F(LuaLibsTest, PackTablesAsArraysOrMaps) {
  ExpectAll({
      {R"lua(show(cmsgpack.pack, nil, true, false, {}, {1, 2}, {a = 1}, {1, nil, 3}, {[0] = 1}, {[1.5] = 1}))lua",
       R"lua(1: xc0c3c29092010281a16101820101030381000181ca3fc0000001)lua"},
      {R"lua(show(cmsgpack.pack, {1, 2, x = 3}, {[-1] = 5}, {[2^31 - 1] = 1}, {[2^31] = 1}, {[1] = 1, [2] = 2, [3.0] = 3}))lua",
       R"lua(1: x8301010202a1780381ff0581ce7fffffff0181ce800000000193010203)lua"},
      {R"lua(show(cmsgpack.pack, string.len, coroutine.create(function() end), {[true] = {}}))lua",
       R"lua(1: xc0c081c390)lua"},
      {R"lua(show(cmsgpack.pack, {n = {1, {2, {3}}}}, {[{1, 2}] = {3, 4}}))lua",
       R"lua(1: x81a16e92019202910381920102920304)lua"},
      {R"lua(show(function() local t = {} for i = 1, 16 do t[i] = i end return cmsgpack.pack(t) end))lua",
       R"lua(1: xdc00100102030405060708090a0b0c0d0e0f10)lua"},
      {R"lua(show(function() local t = {} for i = 1, 65536 do t[i] = true end local s = cmsgpack.pack(t) return #s, s:sub(1, 6) end))lua",
       R"lua(2: 65541 xdd00010000c3)lua"},
      {R"lua(show(function() local t = {} for i = 1, 16 do t["k" .. i] = i end local s = cmsgpack.pack(t) return #s, s:sub(1, 3) end))lua",
       R"lua(2: 74 xde0010)lua"},
      {R"lua(show(function() local t = {} for i = 1, 65536 do t[i] = i end t.x = 1 local s = cmsgpack.pack(t) return #s, s:sub(1, 5) end))lua",
       R"lua(2: 392464 xdf00010001)lua"},
  });
}

TEST_F(LuaLibsTest, PackNestingStopsAtSixteenLevels) {
  ExpectAll({
      {R"lua(show(function() local t = {} local c = t for i = 1, 15 do c[1] = {} c = c[1] end return cmsgpack.pack(t) end))lua",
       R"lua(1: x91919191919191919191919191919190)lua"},
      {R"lua(show(function() local t = {} local c = t for i = 1, 16 do c[1] = {} c = c[1] end return cmsgpack.pack(t) end))lua",
       R"lua(1: x91919191919191919191919191919191c0)lua"},
      {R"lua(show(function() local t = {} t[1] = t return cmsgpack.pack(t) end))lua",
       R"lua(1: x91919191919191919191919191919191c0)lua"},
      {R"lua(show(function() local t = {} t.a = t return cmsgpack.pack(1, t) end))lua",
       R"lua(1: x0181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a161c0)lua"},
      {R"lua(show(function() local t = {} local c = t for i = 1, 20 do c[{}] = {} c = next(c) end return cmsgpack.pack(t) end))lua",
       R"lua(1: x81818181818181818181818181818181c0c0909090909090909090909090909090)lua"},
  });
}

TEST_F(LuaLibsTest, PackErrorsAndStackLimits) {
  ExpectAll({
      {R"lua(show(cmsgpack.pack))lua",
       R"lua(error: bad argument #0 to '?' (MessagePack pack needs input.))lua"},
      {R"lua(show(function() local t = {} for i = 1, 4000 do t[i] = 1 end return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(1: 4000)lua"},
      {R"lua(show(function() local t = {} for i = 1, 4001 do t[i] = 1 end return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(error: user_script:1: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.))lua"},
      {R"lua(show(function() local t = {} for i = 1, 3996 do t[i] = 1 end t[#t + 1] = {{{{1}}}} return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(1: 4001)lua"},
      {R"lua(show(function() local t = {} for i = 1, 3997 do t[i] = 1 end t[#t + 1] = {{{{1}}}} return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(error: user_script:1: stack overflow (in function table_is_an_array))lua"},
      {R"lua(show(function() local t = {} for i = 1, 3994 do t[i] = 1 end t[#t + 1] = {a = {b = {c = {d = 1}}}} return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(1: 4007)lua"},
      {R"lua(show(function() local t = {} for i = 1, 3995 do t[i] = 1 end t[#t + 1] = {a = {b = {c = {d = 1}}}} return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(error: user_script:1: stack overflow (in function mp_encode_lua_table_as_map))lua"},
      {R"lua(show(function() local t = {} for i = 1, 3996 do t[i] = 1 end t[#t + 1] = {{{{1}}}} t[#t + 1] = 1 return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(1: 4002)lua"},
      {R"lua(show(function() local t = {} for i = 1, 3997 do t[i] = 1 end t[#t + 1] = {{{{1}}}} t[#t + 1] = 1 return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(error: user_script:1: stack overflow (in function table_is_an_array))lua"},
      {R"lua(show(function() local t = {} for i = 1, 3994 do t[i] = 1 end t[#t + 1] = {a = {b = {c = {d = 1}}}} t[#t + 1] = 1 return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(1: 4008)lua"},
      {R"lua(show(function() local t = {} for i = 1, 3995 do t[i] = 1 end t[#t + 1] = {a = {b = {c = {d = 1}}}} t[#t + 1] = 1 return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(error: user_script:1: stack overflow (in function table_is_an_array))lua"},
      {R"lua(show(function() local t = {} for i = 1, 3995 do t[i] = 1 end t[#t + 1] = {[{[{1}] = 1}] = 1} return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(1: 4001)lua"},
      {R"lua(show(function() local t = {} for i = 1, 3996 do t[i] = 1 end t[#t + 1] = {[{[{1}] = 1}] = 1} return #cmsgpack.pack(unpack(t)) end))lua",
       R"lua(error: user_script:1: stack overflow (in function table_is_an_array))lua"},
  });
}

TEST_F(LuaLibsTest, UnpackEveryType) {
  ExpectAll({
      {R"lua(show(cmsgpack.unpack, hex("c0c2c3007fe0ff")))lua",
       R"lua(7: nil false true 0 127 -32 -1)lua"},
      {R"lua(show(cmsgpack.unpack, hex("cc80cd0100ce80000000cf7fffffffffffffffcf8000000000000000cfffffffffffffffff")))lua",
       R"lua(6: 128 256 2147483648 9.2233720368547758e+18 -9.2233720368547758e+18 -1)lua"},
      {R"lua(show(cmsgpack.unpack, hex("d080d1ff7fd2ffffff7fd38000000000000000d3ffffffffffffffff")))lua",
       R"lua(5: -128 -129 -129 -9.2233720368547758e+18 -1)lua"},
      {R"lua(show(cmsgpack.unpack, hex("ca3fc00000cb3ff8000000000000cb7ff0000000000000")))lua",
       R"lua(3: 1.5 1.5 inf)lua"},
      {R"lua(show(cmsgpack.unpack, hex("a0a161d90141da000142db0000000143")))lua",
       R"lua(5: x x61 x41 x42 x43)lua"},
      {R"lua(show(cmsgpack.unpack, hex("90920102dc000101dd0000000101")))lua",
       R"lua(4: {} {1=1,2=2} {1=1} {1=1})lua"},
      {R"lua(show(cmsgpack.unpack, hex("80810102de00010102df000000010102")))lua",
       R"lua(4: {} {1=2} {1=2} {1=2})lua"},
      {R"lua(show(cmsgpack.unpack, hex("81a161c0820101c202")))lua",
       R"lua(2: {} {1=1,false=2})lua"},
      {R"lua(show(cmsgpack.unpack, cmsgpack.pack({1, 2, 3, {a = {b = 2.5, c = "x"}}, "s", true, false})))lua",
       R"lua(1: {1=1,2=2,3=3,4={x61={x62=2.5,x63=x78}},5=x73,6=true,7=false})lua"},
      {R"lua(show(cmsgpack.unpack, 5))lua", R"lua(1: 53)lua"},
      {R"lua(show(cmsgpack.unpack, ""))lua", R"lua(0: )lua"},
  });
}

TEST_F(LuaLibsTest, UnpackRejectsBadInput) {
  ExpectAll({
      {R"lua(show(cmsgpack.unpack, hex("c1")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("c40161")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("c5000161")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("c600000001")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("c70101aa")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("d401aa")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("d8")))lua",
       R"lua(error: Bad data format in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("81c001")))lua",
       R"lua(error: table index is nil)lua"},
      {R"lua(show(cmsgpack.unpack, hex("81cbfff800000000000001")))lua",
       R"lua(error: table index is NaN)lua"},
      {R"lua(show(cmsgpack.unpack, hex("81c0")))lua",
       R"lua(error: Missing bytes in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("ddffffffff01")))lua",
       R"lua(error: Missing bytes in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("dfffffffff")))lua",
       R"lua(error: Missing bytes in input.)lua"},
      {R"lua(show(cmsgpack.unpack, hex("db7fffffff41")))lua",
       R"lua(error: Missing bytes in input.)lua"},
      {R"lua(show(cmsgpack.unpack))lua",
       R"lua(error: bad argument #1 to '?' (string expected, got no value))lua"},
      {R"lua(show(cmsgpack.unpack, {}))lua",
       R"lua(error: bad argument #1 to '?' (string expected, got table))lua"},
  });
}

TEST_F(LuaLibsTest, UnpackTruncatedInputIsMissingBytes) {
  ExpectAll({
      {R"lua(show(function() local s = cmsgpack.pack({1, "abc", {x = 2.5}, true, 2^40, -2^40, string.rep("y", 40), 0.1, {[3] = 3}}) local missing = 0 for i = 0, #s - 1 do local ok, err = pcall(cmsgpack.unpack, s:sub(1, i)) if err == "Missing bytes in input." then missing = missing + 1 end end return #s, missing end))lua",
       R"lua(2: 87 86)lua"},
      {R"lua(show(function() local n, missing = 0, 0 for _, h in ipairs({"cc", "cd01", "ce000000", "cf00000000000000", "d0", "d100", "d2000000", "d300000000000000", "ca000000", "cb00000000000000", "d9", "d902", "d90261", "da00", "da0002", "db000000", "db00000002", "dc00", "dc0001", "dd000000", "dd00000001", "de00", "de0001", "df000000", "df00000001", "a1", "91", "81", "8101"}) do local ok, err = pcall(cmsgpack.unpack, hex(h)) n = n + 1 if err == "Missing bytes in input." then missing = missing + 1 end end return n, missing end))lua",
       R"lua(2: 29 29)lua"},
  });
}

TEST_F(LuaLibsTest, UnpackOneAndUnpackLimitReturnTheNextOffset) {
  ExpectAll({
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3"))lua", R"lua(2: 1 1)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", 2))lua", R"lua(2: -1 3)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", 3))lua", R"lua(1: -1)lua"},
      {R"lua(show(cmsgpack.unpack_one, ""))lua", R"lua(1: -1)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", "1"))lua", R"lua(2: 2 2)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 2))lua", R"lua(3: 2 1 2)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 5, 1))lua", R"lua(3: -1 2 3)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 0))lua", R"lua(3: 1 2 3)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 0, 1))lua", R"lua(1: 1)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 1.9))lua", R"lua(2: 1 1)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 2^32))lua", R"lua(4: -1 1 2 3)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", 4))lua",
       R"lua(error: Start offset 4 greater than input length 3.)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", -1))lua",
       R"lua(error: Invalid request to unpack with offset of -1 and limit of 3.)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", 2^31))lua",
       R"lua(error: Start offset -2147483648 greater than input length 3.)lua"},
      {R"lua(show(cmsgpack.unpack_one, "\1\2\3", 2^32))lua",
       R"lua(error: Start offset 0 greater than input length 3.)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", -1))lua",
       R"lua(error: Invalid request to unpack with offset of 0 and limit of 3.)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1\2\3", 2^63))lua",
       R"lua(error: Invalid request to unpack with offset of 0 and limit of 3.)lua"},
      {R"lua(show(cmsgpack.unpack_limit, "\1"))lua",
       R"lua(error: bad argument #2 to '?' (number expected, got no value))lua"},
      {R"lua(show(cmsgpack.unpack_one, nil, "x"))lua",
       R"lua(error: bad argument #2 to '?' (number expected, got string))lua"},
      {R"lua(show(cmsgpack.unpack_one))lua",
       R"lua(error: bad argument #1 to '?' (string expected, got no value))lua"},
  });
}

TEST_F(LuaLibsTest, UnpackStackLimits) {
  ExpectAll({
      {R"lua(show(function() return select("#", cmsgpack.unpack(string.rep("\1", 7999))) end))lua",
       R"lua(1: 7999)lua"},
      {R"lua(show(function() return select("#", cmsgpack.unpack(string.rep("\1", 8000))) end))lua",
       R"lua(error: user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.))lua"},
      {R"lua(show(function() return select("#", cmsgpack.unpack(string.rep("\1", 7996), 1, 2, 3)) end))lua",
       R"lua(1: 7996)lua"},
      {R"lua(show(function() return select("#", cmsgpack.unpack(string.rep("\1", 7997), 1, 2, 3)) end))lua",
       R"lua(error: user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.))lua"},
      {R"lua(show(function() return select("#", cmsgpack.unpack_limit(string.rep("\1", 7998), 100000)) end))lua",
       R"lua(1: 7999)lua"},
      {R"lua(show(function() return select("#", cmsgpack.unpack_limit(string.rep("\1", 7999), 100000)) end))lua",
       R"lua(error: user_script:1: stack overflow (in function mp_unpack_full))lua"},
      {R"lua(show(function() return type(cmsgpack.unpack(string.rep("\145", 3999) .. "\1")) end))lua",
       R"lua(1: x7461626c65)lua"},
      {R"lua(show(function() return type(cmsgpack.unpack(string.rep("\145", 4000) .. "\1")) end))lua",
       R"lua(error: user_script:1: stack overflow (in function mp_decode_to_lua_array))lua"},
      {R"lua(show(function() return type(cmsgpack.unpack(string.rep("\145", 100000))) end))lua",
       R"lua(error: user_script:1: stack overflow (in function mp_decode_to_lua_array))lua"},
      {R"lua(show(function() return type(cmsgpack.unpack(string.rep("\129\1", 3999) .. "\1")) end))lua",
       R"lua(1: x7461626c65)lua"},
      {R"lua(show(function() return type(cmsgpack.unpack(string.rep("\129\1", 4000) .. "\1")) end))lua",
       R"lua(error: user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.))lua"},
      {R"lua(show(cmsgpack.unpack, string.rep("\145", 3999), 1))lua",
       R"lua(error: Missing bytes in input.)lua"},
      {R"lua(show(cmsgpack.unpack, string.rep("\145", 3999) .. "\193", 1))lua",
       R"lua(error: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.))lua"},
  });
}

TEST_F(LuaLibsTest, StructPacksEachLetter) {
  ExpectAll({
      {R"lua(show(struct.pack, ">bBhHlLTiI", -1, 255, -2, 65535, -3, 4, 5, -6, 7))lua",
       R"lua(1: xfffffffefffffffffffffffffffd00000000000000040000000000000005fffffffa00000007)lua"},
      {R"lua(show(struct.pack, "<bBhHlLTiI", -1, 255, -2, 65535, -3, 4, 5, -6, 7))lua",
       R"lua(1: xfffffefffffffdffffffffffffff04000000000000000500000000000000faffffff07000000)lua"},
      {R"lua(show(struct.pack, ">i3I5i1i10", -1, 2, 3, -1))lua",
       R"lua(1: xffffff0000000002030000ffffffffffffffff)lua"},
      {R"lua(show(struct.pack, "<i10i0", -1, 5))lua",
       R"lua(1: xffffffffffffffff0000)lua"},
      {R"lua(show(struct.pack, "<bB", 256 + 7, -129))lua", R"lua(1: x077f)lua"},
      {R"lua(show(struct.pack, ">fd", 1.5, 0.1))lua",
       R"lua(1: x3fc000003fb999999999999a)lua"},
      {R"lua(show(struct.pack, "<fd", 1.5, 0.1))lua",
       R"lua(1: x0000c03f9a9999999999b93f)lua"},
      {R"lua(show(struct.pack, "xc2c0s c", "abcd", "ef", "g\0h", "ij"))lua",
       R"lua(1: x00616265666700680069)lua"},
      {R"lua(show(struct.pack, "b", "12"))lua", R"lua(1: x0c)lua"},
      {R"lua(show(struct.pack, " > < "))lua", R"lua(1: x)lua"},
  });
}

TEST_F(LuaLibsTest, StructAligns) {
  ExpectAll({
      {R"lua(show(struct.pack, "bhi", 1, 2, 3))lua", R"lua(1: x01020003000000)lua"},
      {R"lua(show(struct.pack, "!bhi", 1, 2, 3))lua", R"lua(1: x0100020003000000)lua"},
      {R"lua(show(struct.pack, "!2bhid", 1, 2, 3, 4))lua",
       R"lua(1: x01000200030000000000000000001040)lua"},
      {R"lua(show(struct.pack, "!bxd", 1, 4))lua",
       R"lua(1: x01000000000000000000000000001040)lua"},
      {R"lua(show(struct.pack, "!8bi3i3", 1, 2, 3))lua",
       R"lua(1: x010000020000030000)lua"},
      {R"lua(show(struct.pack, "!4bc3i", 1, "abc", 2))lua",
       R"lua(1: x0161626302000000)lua"},
      {R"lua(show(struct.size, "!bhid"))lua", R"lua(1: 16)lua"},
      {R"lua(show(struct.size, "!8bi5"))lua", R"lua(1: 10)lua"},
      {R"lua(show(struct.size, "!8bi7b"))lua", R"lua(1: 15)lua"},
  });
}

TEST_F(LuaLibsTest, StructConvertsNumbersAsRedisBuildDoes) {
  ExpectAll({
      {R"lua(show(struct.pack, "<I8I8I8I8", 0/0, 1/0, -1/0, 2^64))lua",
       R"lua(1: x0000000000000080000000000000000000000000000000800000000000000000)lua"},
      {R"lua(show(struct.pack, "<I8I8I8I8", 1e30, -1e30, 2^63, -2^63))lua",
       R"lua(1: x0000000000000000000000000000008000000000000000800000000000000080)lua"},
      {R"lua(show(struct.pack, "<i8i8i8", 1.5, -1.5, 2^63 + 2^12))lua",
       R"lua(1: x0100000000000000ffffffffffffffff0010000000000080)lua"},
      {R"lua(show(struct.pack, "<ffff", 1e300, -1e300, 3.4028235677973366e38, 3.4028235677973362e38))lua",
       R"lua(1: x0000807f000080ff0000807fffff7f7f)lua"},
      {R"lua(show(struct.pack, "<ff", 0/0, 1e-50))lua", R"lua(1: x0000c0ff00000000)lua"},
  });
}

TEST_F(LuaLibsTest, StructUnpacks) {
  ExpectAll({
      {R"lua(show(struct.unpack, ">bBhHlLTiI", struct.pack(">bBhHlLTiI", -1, 255, -2, 65535, -3, 4, 5, -6, 7)))lua",
       R"lua(10: -1 255 -2 65535 -3 4 5 -6 7 39)lua"},
      {R"lua(show(struct.unpack, "<i3I5i1", "\255\255\255\1\0\0\0\128\200"))lua",
       R"lua(4: -1 549755813889 -56 10)lua"},
      {R"lua(show(struct.unpack, "<i8I8", "\255\255\255\255\255\255\255\127\255\255\255\255\255\255\255\255"))lua",
       R"lua(3: 9.2233720368547758e+18 1.8446744073709552e+19 17)lua"},
      {R"lua(show(struct.unpack, ">fd", struct.pack(">fd", 1.5, 0.1)))lua",
       R"lua(3: 1.5 0.10000000000000001 13)lua"},
      {R"lua(show(struct.unpack, "!i", "abcdefgh", 2))lua", R"lua(2: 1751606885 9)lua"},
      {R"lua(show(struct.unpack, "sc2", "ab\0cd"))lua", R"lua(3: x6162 x6364 6)lua"},
      {R"lua(show(struct.unpack, "bc0", "\2abc"))lua", R"lua(2: x6162 4)lua"},
      {R"lua(show(struct.unpack, "c1c0", "3abc"))lua", R"lua(2: x616263 5)lua"},
      {R"lua(show(struct.unpack, "bxc0", "\1\0abc"))lua", R"lua(2: x61 4)lua"},
      {R"lua(show(struct.unpack, "dc0", struct.pack("d", 2^64) .. "abc"))lua",
       R"lua(2: x 9)lua"},
      {R"lua(show(struct.unpack, "", "abc", 5))lua", R"lua(1: 5)lua"},
      {R"lua(show(struct.unpack, "", "abc", -1))lua", R"lua(1: -1)lua"},
      {R"lua(show(struct.unpack, "!i", "abcd", -1))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "b", "abc", 1.9))lua", R"lua(2: 97 2)lua"},
  });
}

TEST_F(LuaLibsTest, StructUnpacksWideIntegersAsRedisBuildDoes) {
  ExpectAll({
      {R"lua(show(struct.unpack, ">i9", "\0\0\0\0\0\0\0\128\0"))lua",
       R"lua(2: -128 10)lua"},
      {R"lua(show(struct.unpack, ">i9", "\128\0\0\0\0\0\0\0\0"))lua", R"lua(2: 0 10)lua"},
      {R"lua(show(struct.unpack, "<i10", "\0\128\0\0\0\0\0\0\0\0"))lua",
       R"lua(2: -32768 11)lua"},
      {R"lua(show(struct.unpack, "<i12", "\0\0\0\0\0\8\0\0\0\0\0\0"))lua",
       R"lua(2: -2147483648 13)lua"},
      {R"lua(show(struct.unpack, "<i16I16", "\0\0\0\0\0\0\0\128\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\128\0\0\0\0\0\0\0\0"))lua",
       R"lua(3: -9.2233720368547758e+18 9.2233720368547758e+18 33)lua"},
      {R"lua(show(struct.unpack, "<i32", string.rep("\255", 32)))lua",
       R"lua(2: -1 33)lua"},
      {R"lua(show(struct.unpack, "<i0", ""))lua", R"lua(2: 0 1)lua"},
  });
}

TEST_F(LuaLibsTest, StructErrors) {
  ExpectAll({
      {R"lua(show(struct.pack))lua",
       R"lua(error: bad argument #1 to '?' (string expected, got no value))lua"},
      {R"lua(show(struct.pack, 12))lua",
       R"lua(error: bad argument #1 to '?' (invalid format option '1'))lua"},
      {R"lua(show(struct.pack, "z", 1))lua",
       R"lua(error: bad argument #1 to '?' (invalid format option 'z'))lua"},
      {R"lua(show(struct.pack, "i33", 1))lua",
       R"lua(error: integral size 33 is larger than limit of 32)lua"},
      {R"lua(show(struct.pack, "i99999999999", 1))lua",
       R"lua(error: integral size overflow)lua"},
      {R"lua(show(struct.pack, "!3", 1))lua",
       R"lua(error: alignment 3 is not a power of 2)lua"},
      {R"lua(show(struct.pack, "!0", 1))lua",
       R"lua(error: alignment 0 is not a power of 2)lua"},
      {R"lua(show(struct.pack, "c5", "ab"))lua",
       R"lua(error: bad argument #3 to '?' (string too short))lua"},
      {R"lua(show(struct.pack, "bbb", 1))lua",
       R"lua(error: bad argument #3 to '?' (number expected, got nil))lua"},
      {R"lua(show(struct.pack, "b", "x"))lua",
       R"lua(error: bad argument #2 to '?' (number expected, got string))lua"},
      {R"lua(show(struct.unpack, "i", "abc"))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "i", "abcd", 2))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "b", "abc", 0))lua",
       R"lua(error: bad argument #3 to '?' (offset must be 1 or greater))lua"},
      {R"lua(show(struct.unpack, "b", "abc", 4))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "ss", "ab\0cd"))lua",
       R"lua(error: unfinished string in data)lua"},
      {R"lua(show(struct.unpack, "c0", "abc"))lua",
       R"lua(error: format 'c0' needs a previous size)lua"},
      {R"lua(show(struct.unpack, "c1c0", "xabc"))lua",
       R"lua(error: format 'c0' needs a previous size)lua"},
      {R"lua(show(struct.unpack, "bc0", "\255abc"))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "fc0", struct.pack("f", 0/0) .. "abc"))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "z", "abc"))lua",
       R"lua(error: bad argument #1 to '?' (invalid format option 'z'))lua"},
      {R"lua(show(struct.unpack, " ", "abc", 5))lua",
       R"lua(error: bad argument #2 to '?' (data string too short))lua"},
      {R"lua(show(struct.unpack, "b"))lua",
       R"lua(error: bad argument #2 to '?' (string expected, got no value))lua"},
      {R"lua(show(function() return select("#", struct.unpack(string.rep("b", 7997), string.rep("a", 8000))) end))lua",
       R"lua(1: 7998)lua"},
      {R"lua(show(function() return select("#", struct.unpack(string.rep("b", 7998), string.rep("a", 8000))) end))lua",
       R"lua(error: user_script:1: stack overflow (too many results))lua"},
  });
}

TEST_F(LuaLibsTest, StructSize) {
  ExpectAll({
      {R"lua(show(struct.size, "bhid"))lua", R"lua(1: 15)lua"},
      {R"lua(show(struct.size, "c"))lua", R"lua(1: 1)lua"},
      {R"lua(show(struct.size, "c10"))lua", R"lua(1: 10)lua"},
      {R"lua(show(struct.size, "Z9"))lua", R"lua(1: 0)lua"},
      {R"lua(show(struct.size, "c2147483647c2147483647"))lua", R"lua(1: 4294967294)lua"},
      {R"lua(show(struct.size, "s"))lua",
       R"lua(error: bad argument #1 to '?' (option 's' has no fixed size))lua"},
      {R"lua(show(struct.size, "c0"))lua",
       R"lua(error: bad argument #1 to '?' (option 'c0' has no fixed size))lua"},
      {R"lua(show(struct.size, "%"))lua",
       R"lua(error: bad argument #1 to '?' (invalid format option '%'))lua"},
      {R"lua(show(struct.size, "i40"))lua",
       R"lua(error: integral size 40 is larger than limit of 32)lua"},
      {R"lua(show(struct.size, "c2147483648"))lua",
       R"lua(error: integral size overflow)lua"},
  });
}

TEST_F(LuaLibsTest, StructTruncatedDataIsAnError) {
  ExpectAll({
      {R"lua(show(function() local fmt = "!4 b h i3 l I9 f d c3 s x" local s = struct.pack(fmt, 1, 2, 3, 4, 5, 6.5, 7.5, "abc", "zz") local short, unfinished = 0, 0 for i = 0, #s - 1 do local ok, err = pcall(struct.unpack, fmt, s:sub(1, i)) if err == "bad argument #2 to '?' (data string too short)" then short = short + 1 elseif err == "unfinished string in data" then unfinished = unfinished + 1 end end return #s, short, unfinished, struct.unpack(fmt, s) end))lua",
       R"lua(13: 51 48 3 1 2 3 4 5 6.5 7.5 x616263 x7a7a 52)lua"},
  });
}

}  // namespace
}  // namespace edgekv
