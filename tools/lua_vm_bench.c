/* Which Lua 5.1 to embed: the cost of running the scripts edgekv's users run
 * (rate limiters, lock release, a JSON round trip, a loop) in PUC Lua 5.1 and
 * in LuaJIT, the way the server runs them: fresh KEYS and ARGV tables for each
 * call, every argument of redis.call read as a string, a count hook installed
 * (the server needs one to notice a script past busy-reply-threshold).
 * redis.call is a stub answering what the command would, so this measures
 * the virtual machine, not the store.
 *
 *   tools/lua_vm_bench.sh     builds this against both and prints the table
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef LUAJIT_VERSION
#include <luajit.h>
#endif

int luaopen_cjson(lua_State* L);

static long hook_calls;
static void Hook(lua_State* L, lua_Debug* ar) {
  (void)L;
  (void)ar;
  ++hook_calls;
}

/* redis.call(cmd, ...): reads every argument as the server does, answers an
 * integer for counters, a bulk string for GET/HGET, a table for HMGET. */
static int Call(lua_State* L) {
  int argc = lua_gettop(L);
  size_t total = 0;
  for (int i = 1; i <= argc; ++i) {
    size_t len = 0;
    const char* s = lua_tolstring(L, i, &len);
    if (s == NULL) return luaL_error(L, "bad argument");
    total += len;
  }
  const char* cmd = lua_tostring(L, 1);
  if (strcasecmp(cmd, "get") == 0) {
    lua_pushstring(L, "token-1234");
  } else if (strcasecmp(cmd, "hmget") == 0) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, "1700000000123");
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, "7");
    lua_rawseti(L, -2, 2);
  } else {
    lua_pushnumber(L, (lua_Number)(total & 1) + 1);
  }
  return 1;
}

static const char* kScripts[][2] = {
    {"incr+expire",
     "local n = redis.call('INCR', KEYS[1])\n"
     "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
     "return n"},
    {"gcra",
     "local rate_limit_key = KEYS[1]\n"
     "local burst = tonumber(ARGV[1])\n"
     "local rate = tonumber(ARGV[2])\n"
     "local period = tonumber(ARGV[3])\n"
     "local cost = tonumber(ARGV[4])\n"
     "local emission_interval = period / rate\n"
     "local increment = emission_interval * cost\n"
     "local burst_offset = emission_interval * burst\n"
     "local now = 1700000000.25\n"
     "local tat = redis.call('GET', rate_limit_key)\n"
     "if not tat then tat = now else tat = tonumber(tat) or now end\n"
     "tat = math.max(tat, now)\n"
     "local new_tat = tat + increment\n"
     "local allow_at = new_tat - burst_offset\n"
     "local diff = now - allow_at\n"
     "local remaining = diff / emission_interval\n"
     "if remaining < 0 then return {0, 0, tostring(-diff)} end\n"
     "local reset_after = new_tat - now\n"
     "redis.call('SET', rate_limit_key, new_tat, 'EX', math.ceil(reset_after))\n"
     "return {cost, math.floor(remaining), tostring(reset_after)}"},
    {"lock release",
     "if redis.call('get', KEYS[1]) == ARGV[1] then\n"
     "  return redis.call('del', KEYS[1])\nelse\n  return 0\nend"},
    {"token bucket",
     "local v = redis.call('HMGET', KEYS[1], 'ts', 'tokens')\n"
     "local now = tonumber(ARGV[1])\n"
     "local tokens = tonumber(v[2]) or tonumber(ARGV[2])\n"
     "local elapsed = math.max(0, now - (tonumber(v[1]) or now))\n"
     "tokens = math.min(tonumber(ARGV[2]), tokens + elapsed * tonumber(ARGV[3]) / 1000)\n"
     "local ok = 0\n"
     "if tokens >= 1 then tokens = tokens - 1 ok = 1 end\n"
     "redis.call('HSET', KEYS[1], 'ts', now, 'tokens', tokens)\n"
     "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
     "return ok"},
    {"json round trip",
     "local o = cjson.decode(ARGV[1])\n"
     "o.seen = (o.seen or 0) + 1\n"
     "redis.call('SET', KEYS[1], cjson.encode(o))\n"
     "return o.seen"},
    {"loop 1000",
     "local s = 0\n"
     "for i = 1, 1000 do s = s + (i % 7) * 3 end\n"
     "return s"},
};

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int CompareDoubles(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static void SetArgs(lua_State* L, const char* name, int n, const char** v) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; ++i) {
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, name);
}

int main(int argc, char** argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 200000;
  int jit = argc > 2 ? atoi(argv[2]) : 1;
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
#ifdef LUAJIT_VERSION
  if (!jit) luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
#else
  (void)jit;
#endif
  lua_newtable(L);
  lua_pushcfunction(L, Call);
  lua_setfield(L, -2, "call");
  lua_setglobal(L, "redis");
  lua_sethook(L, Hook, LUA_MASKCOUNT, 100000);
  const char* keys[] = {"ratelimit:user:42"};
  const char* args[] = {"{\"id\":42,\"seen\":3,\"tags\":[\"a\",\"b\"]}", "10", "5", "60000"};
  const char* num_args[] = {"1700000000123", "10", "5", "60000"};
  for (size_t s = 0; s < sizeof(kScripts) / sizeof(kScripts[0]); ++s) {
    if (luaL_loadstring(L, kScripts[s][1]) != 0) {
      fprintf(stderr, "%s: %s\n", kScripts[s][0], lua_tostring(L, -1));
      return 1;
    }
    int fn = luaL_ref(L, LUA_REGISTRYINDEX);
    const char** a = strstr(kScripts[s][0], "json") ? args : num_args;
    double per[5];
    for (int round = 0; round < 5; ++round) {
      double t0 = NowNs();
      for (long i = 0; i < iterations; ++i) {
        SetArgs(L, "KEYS", 1, keys);
        SetArgs(L, "ARGV", 4, a);
        lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
        if (lua_pcall(L, 0, 1, 0) != 0) {
          fprintf(stderr, "%s: %s\n", kScripts[s][0], lua_tostring(L, -1));
          return 1;
        }
        lua_pop(L, 1);
      }
      per[round] = (NowNs() - t0) / (double)iterations;
    }
    qsort(per, 5, sizeof(double), CompareDoubles);
    printf("%s\t%.0f\n", kScripts[s][0], per[2]); /* the median round */
  }
  lua_close(L);
  return hook_calls < 0;
}
