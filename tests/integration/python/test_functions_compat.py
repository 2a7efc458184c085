"""FUNCTION and FCALL side by side with a stock redis-server (7.0), byte for
byte in RESP2 and RESP3: FUNCTION LOAD's metadata line and its errors,
redis.register_function in both forms, what a library may touch while it
loads, FCALL's replies and errors (with the function's name and line),
flags, FUNCTION LIST/DELETE/FLUSH/STATS/KILL/HELP/RESTORE and their
arity errors. FUNCTION LIST answers in dict order in Redis 7.0, so the
cases never list more than one library or a library of several functions;
a separate test compares such lists once sorted. DUMP's bytes (Redis's RDB
encoding, LZF included) are compared in their own tests, at the end of the
differential part. Then what only edgekv shows: functions outlive FLUSHALL
and restarts, a library's locals live until it is replaced, FUNCTION KILL
and FUNCTION STATS during a running function, replacing a library under
callers on other connections."""
import hashlib
import struct
import threading

import pytest
import redis

from resp_util import RawClient
from waiting import until
from redis_ref import start_redis, stop_redis


@pytest.fixture(scope="module")
def redis_port():
    proc, port, d = start_redis()
    yield port
    stop_redis(proc, d)


@pytest.fixture(autouse=True)
def no_functions_left_behind(shared_server):
    """FLUSHALL (the `server` fixture's) keeps functions: every test here
    starts and ends without any on the shared server."""
    def flush():
        if shared_server.proc.poll() is None:
            c = shared_server.client()
            c.function_flush()
            c.close()
    flush()
    yield
    flush()


def load(code, *options):
    return ["FUNCTION", "LOAD"] + list(options) + [code]


def lib(name, *lines):
    """A library's code: the shebang, then one line per argument (line 1 is
    the shebang, so lines[0] is the code's line 2)."""
    return "#!lua name=%s\n%s" % (name, "\n".join(lines))


def reg(fname, body):
    """redis.register_function, positional form, on one line."""
    return "redis.register_function('%s', function(keys, args) %s end)" % (fname, body)


def fcall(name, *args, numkeys=0):
    return ["FCALL", name, str(numkeys)] + list(args)


def fcall_ro(name, *args, numkeys=0):
    return ["FCALL_RO", name, str(numkeys)] + list(args)


# Bodies of the functions of the `conv` library: FCALL conv_<name> replies
# what the body returns, converted as EVAL converts it.
CONVERSIONS = [
    ("int", "return 1"),
    ("float", "return 3.99"),
    ("negfloat", "return -3.7"),
    ("str", "return 'hello'"),
    ("true", "return true"),
    ("false", "return false"),
    ("nil", "return nil"),
    ("empty", "return {}"),
    ("array", "return {1, 2, 3.7, 'a', false, nil, 5}"),
    ("nested", "return {1, 2, {3, 'x', {ok = 'o'}}}"),
    ("status", "return {ok = 'FINE'}"),
    ("err", "return {err = 'bad thing'}"),
    ("errcode", "return {err = 'WRONGTYPE custom'}"),
    ("double", "return {double = 3.14}"),
    ("inf", "return {double = 1/0}"),
    ("map", "return {map = {a = 1}}"),
    ("set", "return {set = {a = true}}"),
    ("bignum", "return {big_number = '123456789012345678901234567890'}"),
    ("verbatim", "return {verbatim_string = {format = 'txt', string = 'hi'}}"),
    ("nestederr", "return {1, {err = 'nested'}, 3}"),
    ("status_reply", "return redis.status_reply('FINE')"),
    ("error_reply", "return redis.error_reply('MYCODE some text')"),
    ("error_reply_plain", "return redis.error_reply('boom')"),
    ("get", "return redis.call('get', 's')"),
    ("getmiss", "return redis.call('get', 'miss')"),
    ("getmiss_false", "return redis.call('get', 'miss') == false"),
    ("set_ok", "return redis.call('set', 'n', 5)"),
    ("set_ok_field", "return redis.call('set', 'n', 5).ok"),
    ("incr", "return redis.call('incr', 'n')"),
    ("incrbyfloat", "return redis.call('incrbyfloat', 'fl', '1.5')"),
    ("mget", "return redis.call('mget', 's', 'miss', 'n')"),
    ("pcall_err", "return redis.pcall('incr', 's')"),
    ("pcall_err_field", "return redis.pcall('incr', 's').err"),
    ("pcall_of_call", "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), e.err}"),
    ("resp3_nil", "redis.setresp(3) return redis.call('get', 'miss')"),
    ("resp3_nil_type", "redis.setresp(3) return type(redis.call('get', 'miss'))"),
    ("resp3_double", "redis.setresp(3) return redis.call('incrbyfloat', 'fl', '1')"),
    ("setresp_bad", "return redis.setresp(4)"),
    ("loadstring", "return loadstring('return 7')()"),
    ("pcall_error", "return {pcall(error, 'e')}"),
    ("cjson", "return cjson.encode({1, 2, 'x', true})"),
    ("sha1hex", "return redis.sha1hex('abc')"),
    ("log", "return redis.log(redis.LOG_WARNING, 'from a function')"),
    ("set_repl", "return redis.set_repl(redis.REPL_ALL)"),
    ("version_num", "return type(redis.REDIS_VERSION_NUM)"),
    ("register_at_runtime", "return type(redis.register_function)"),
    ("rawget_G", "return rawget(_G, 'x')"),
    ("keys_global", "return KEYS"),
    ("set_global", "newglobal = 1"),
]

CONV_LIB = lib("conv", *(reg("conv_" + name, body) for name, body in CONVERSIONS))

# Functions on lines of their own, so errors carry a line worth checking.
ERRORS_LIB = lib(
    "errs",
    "local function helper(x)",           # 2
    "  return x * 2",                      # 3
    "end",                                 # 4
    "local function boom()",               # 5
    "  error('deep')",                     # 6
    "end",                                 # 7
    "redis.register_function('err_plain', function(keys, args)",
    "  error('boom')",                     # 9
    "end)",
    "redis.register_function('err_level0', function(keys, args)",
    "  error('boom', 0)",                  # 12
    "end)",
    "redis.register_function('err_table', function(keys, args)",
    "  error({err = 'MYERR tbl'})",        # 15
    "end)",
    "redis.register_function('err_table_nocode', function(keys, args)",
    "  error({err = 'boom'})",             # 18
    "end)",
    "redis.register_function('err_none', function(keys, args)",
    "  error()",                           # 21
    "end)",
    "redis.register_function('err_number', function(keys, args)",
    "  error(42)",                         # 24
    "end)",
    "redis.register_function('err_call', function(keys, args)",
    "  return redis.call('incr', 's')",    # 27
    "end)",
    "redis.register_function('err_nosuch_cmd', function(keys, args)",
    "  return redis.call('nosuch')",       # 30
    "end)",
    "redis.register_function('err_arity', function(keys, args)",
    "  return redis.call('get', 'k', 'extra')",  # 33
    "end)",
    "redis.register_function('err_index', function(keys, args)",
    "  local t = nil",
    "  return t.field",                    # 37
    "end)",
    "redis.register_function('err_deep', function(keys, args)",
    "  return boom()",                     # 40
    "end)",
    "redis.register_function('double_it', function(keys, args)",
    "  return helper(tonumber(args[1]))",
    "end)",
    "redis.register_function('err_fcall', function(keys, args)",
    "  return redis.call('fcall', 'double_it', '0', '1')",  # 46
    "end)",
    "redis.register_function('err_function_cmd', function(keys, args)",
    "  return redis.call('function', 'list')",  # 49
    "end)",
    "redis.register_function('err_eval', function(keys, args)",
    "  return redis.call('eval', 'return 1', '0')",  # 52
    "end)",
    "redis.register_function('err_register', function(keys, args)",
    "  return redis.register_function('zz', function() end)",  # 55
    "end)",
)

FLAG_FUNCS = lib(
    "flagged",
    "redis.register_function{function_name = 'ro_get', callback = function(keys, args)",
    "  return redis.call('get', keys[1])",
    "end, flags = {'no-writes'}}",
    "redis.register_function{function_name = 'ro_set', callback = function(keys, args)",
    "  return redis.call('set', keys[1], 'x')",  # 6
    "end, flags = {'no-writes'}}",
    "redis.register_function{function_name = 'rw_get', callback = function(keys, args)",
    "  return redis.call('get', keys[1])",
    "end}",
    "redis.register_function{function_name = 'all_flags', callback = function(keys, args)",
    "  return 'all'",
    "end, flags = {'no-writes', 'allow-oom', 'allow-stale', 'no-cluster',"
    " 'allow-cross-slot-keys'}}",
    "redis.register_function{function_name = 'oom_stale', callback = function(keys, args)",
    "  return redis.call('set', keys[1], args[1])",
    "end, flags = {'allow-oom', 'allow-stale'}}",
)

BAD = "#!lua name=bad\n"

# Run in order on both servers (some cases set state later ones read).
CASES = [
    # -- FUNCTION LOAD: the metadata line.
    load("return 1"),
    load(""),
    load("  #!lua name=meta\n" + reg("m", "return 1")),
    load("#!lua"),
    load("#!lua name=meta"),
    load("#!lua\nreturn 1"),
    load("#!\n" + reg("m", "return 1")),
    load("#!lua name=meta foo=bar\n" + reg("m", "return 1")),
    load("#!lua name=meta name=other\n" + reg("m", "return 1")),
    load("#!lua name=meta flags=no-writes\n" + reg("m", "return 1")),
    load("#! lua name=meta\n" + reg("m", "return 1")),
    load("#!lua name=meta 11\n" + reg("m", "return 1")),
    load("#!lua name=meta \"unbalanced\n" + reg("m", "return 1")),
    load("#!nosuch name=meta\n" + reg("m", "return 1")),
    load("#!lua name=bad-name\n" + reg("m", "return 1")),
    load("#!lua name=a.b\n" + reg("m", "return 1")),
    load("#!lua name=\n" + reg("m", "return 1")),
    load("#!lua name=meta1\r\n" + reg("m1", "return 1")),
    load("#!lua \"name=meta2\"\n" + reg("m2", "return 2")),
    load("#!lua\tname=meta3\n" + reg("m3", "return 3")),
    load("#!lua NAME=meta4\n" + reg("m4", "return 4")),
    load("#!LUA name=meta5\n" + reg("m5", "return 5")),
    load("#!lua name=\"meta6\"\n" + reg("m6", "return 6")),
    load("#!lua name=_\n" + reg("m7", "return 7")),
    load("#!lua name=" + "L" * 100 + "\n" + reg("m8", "return 8")),
    load("#!lua name=Meta1\n" + reg("m9", "return 9")),
    fcall("m1"), fcall("m2"), fcall("m3"), fcall("m4"), fcall("m5"), fcall("m6"),
    fcall("m7"), fcall("m8"), fcall("m9"),
    ["FUNCTION", "DELETE", "META1"],
    ["FUNCTION", "DELETE", "Meta1"],
    ["FUNCTION", "DELETE", "Meta1"],
    fcall("m9"),
    fcall("m1"),
    # -- FUNCTION LOAD: the command's own arguments.
    ["FUNCTION", "LOAD"],
    ["FUNCTION", "LOAD", "REPLACE"],
    ["FUNCTION", "LOAD", "replace", "replace"],
    load(lib("opt", reg("o", "return 1")), "bogus"),
    load(lib("opt", reg("o", "return 1")), "REPLACE", "bogus"),
    load(lib("opt", reg("o", "return 1")), "a\nb"),
    ["FUNCTION", "LOAD", lib("opt", reg("o", "return 1")), "extra"],
    fcall("o"),
    # -- Library exists, REPLACE.
    load(lib("meta1", reg("m1", "return 'again'"))),
    fcall("m1"),
    load(lib("meta1", reg("m1", "return 'replaced'")), "REPLACE"),
    fcall("m1"),
    load(lib("meta1", reg("m1", "return 'twice'")), "replace", "REPLACE"),
    fcall("m1"),
    load(lib("meta1", reg("m1b", "return 'renamed'")), "REPLACE"),
    fcall("m1"),
    fcall("m1b"),
    load(lib("fresh", reg("fr", "return 'fresh'")), "REPLACE"),
    fcall("fr"),
    # A failed REPLACE keeps the library it would have replaced.
    load(lib("meta1", "return x x"), "REPLACE"),
    load(lib("meta1", "local t = nil", "local x = t.field"), "REPLACE"),
    load(lib("meta1", "return 5"), "REPLACE"),
    load(lib("meta1", reg("m2", "return 'stolen'")), "REPLACE"),
    load(lib("meta1", reg("M2", "return 'stolen'")), "REPLACE"),
    fcall("m1b"),
    fcall("m2"),
    # -- FUNCTION LOAD: what the code does.
    load(BAD + "return 5"),
    load(BAD + "-- only a comment"),
    load(BAD),
    load(BAD + "return x x"),
    load(BAD + "redis.register_function('f', function() return 1 end"),
    load(BAD + "local t = nil\nlocal x = t.field"),
    load(BAD + "\n\nlocal x = 1 + nil"),
    load(BAD + "while true do end"),
    load(BAD + reg("f1", "return 1") + "\n" + reg("f2", "return 2") + "\nundefined_thing()"),
    fcall("f1"),
    # What a library sees while it loads: redis.register_function, redis.log
    # and little else.
    load(BAD + "error('boom')"),
    load(BAD + "redis.call('set', 'x', 'y')"),
    load(BAD + "redis.pcall('set', 'x', 'y')"),
    load(BAD + "local r = redis.setresp(3)"),
    load(BAD + "local r = redis.sha1hex('a')"),
    load(BAD + "local r = redis.status_reply('a')"),
    load(BAD + "local r = redis.error_reply('a')"),
    load(BAD + "local r = string.format('%d', 3)"),
    load(BAD + "local r = math.floor(1.5)"),
    load(BAD + "local r = type(1)"),
    load(BAD + "local r = tostring(1)"),
    load(BAD + "for k in pairs(redis) do end"),
    load(BAD + "local ok = pcall(redis.register_function, 'x', 'y')"),
    load(BAD + "local r = cjson.encode({})"),
    load(BAD + "local r = _G"),
    load(BAD + "local r = KEYS"),
    load(BAD + "local r = setmetatable({}, {})"),
    load(BAD + "x = 1"),
    load(BAD + "redis.x = 1"),
    load(BAD + "local r = redis.nosuchfield"),
    load(BAD + "local r = redis.set_repl"),
    load(BAD + "local r = bit"),
    load(BAD + "redis.log(1)"),
    load(BAD + "redis.log(99, 'x')"),
    load(lib("loadconst", "local c = {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE,"
             " redis.LOG_WARNING}", reg("lc", "return c"))),
    fcall("lc"),
    load(lib("loadlog", "redis.log(redis.LOG_WARNING, 'loading')", reg("ll", "return 'logged'"))),
    load(lib("loadver", "local v = redis.REDIS_VERSION_NUM",
             reg("lv", "return type(v)"))),
    load(lib("loadlocals", "local base = 40",
             "local function add(a, b) return a + b end",
             reg("ladd", "return add(base, 2)"))),
    fcall("ll"), fcall("lv"), fcall("ladd"),
    # -- redis.register_function's arguments.
    load(BAD + "redis.register_function()"),
    load(BAD + "redis.register_function('a', function() end, 3)"),
    load(BAD + "redis.register_function('a')"),
    load(BAD + "redis.register_function(5)"),
    load(BAD + "redis.register_function({}, function() end)"),
    load(BAD + "redis.register_function('a', 'b')"),
    load(BAD + "redis.register_function('a', nil)"),
    load(BAD + "redis.register_function({})"),
    load(BAD + "redis.register_function({function_name = 'a'})"),
    load(BAD + "redis.register_function({callback = function() end})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " bogus = 1})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " [1] = 2})"),
    load(BAD + "redis.register_function({'a', function() end})"),
    load(BAD + "redis.register_function({[true] = 1})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = 'x'})"),
    load(BAD + "redis.register_function({function_name = {}, callback = function() end})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " description = {}})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " flags = 'no-writes'})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " flags = {'bogus'}})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " flags = {'no-writes', 'bogus'}})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " flags = {{}}})"),
    load(BAD + "redis.register_function({function_name = 'a', callback = function() end,"
               " flags = {5}})"),
    # Function names.
    load(BAD + reg("bad-fn", "return 1")),
    load(BAD + reg("", "return 1")),
    load(BAD + reg("a b", "return 1")),
    load(BAD + "redis.register_function({function_name = 'bad name', callback = function() end})"),
    load(BAD + reg("g", "return 1") + "\n" + reg("g", "return 2")),
    load(BAD + reg("m1b", "return 1")),
    load(BAD + reg("M1B", "return 1")),
    load(BAD + reg("brandnew", "return 1") + "\n" + reg("m2", "return 1")),
    fcall("brandnew"),
    load(lib("numname", "redis.register_function(1, function() return 'one' end)")),
    fcall("1"),
    load(lib("under", reg("_", "return 'underscore'"), reg("A1_b", "return 'mixed'"))),
    fcall("_"), fcall("A1_b"), fcall("a1_B"),
    load(lib("tblform",
             "redis.register_function{function_name = 'tf', callback = function(keys, args)"
             " return 'table form' end, flags = {}, description = 'd'}",
             "redis.register_function{FUNCTION_NAME = 'tf2',"
             " CALLBACK = function() return 'upper' end,"
             " FLAGS = {'NO-WRITES'}, DESCRIPTION = 'x'}",
             "redis.register_function{function_name = 5, callback = function() return 'five' end,"
             " description = 6}")),
    fcall("tf"), fcall("tf2"), fcall_ro("tf2"), fcall("5"),
    # -- FCALL: conversions both ways.
    ["SET", "s", "abc"],
    ["DEL", "n", "fl", "miss"],
    load(CONV_LIB),
] + [fcall("conv_" + name) for name, _ in CONVERSIONS] + [
    # -- FCALL: keys and args.
    load(lib("ka",
             reg("keys_args", "return {keys, args}"),
             reg("counts", "return #keys .. ' ' .. #args"),
             reg("mutate", "keys[1] = 'changed' return {#keys, #args, keys[1]}"))),
    fcall("keys_args", "k1", "k2", "a1", numkeys=2),
    fcall("keys_args"),
    fcall("keys_args", "a1", "a2"),
    fcall("keys_args", "k1", "k2", numkeys=2),
    fcall("counts", "k", "a", "b", numkeys=1),
    fcall("mutate", "k", "a", "b", numkeys=1),
    fcall("KEYS_ARGS", "k", numkeys=1),
    ["FCALL", "keys_args", "-1"],
    ["FCALL", "keys_args", "2", "a"],
    ["FCALL", "keys_args", "x"],
    ["FCALL", "keys_args", "1.5", "a"],
    ["FCALL", "keys_args", "99999999999999999999"],
    ["FCALL", "keys_args", ""],
    ["FCALL", "keys_args"],
    ["FCALL"],
    ["FCALL_RO", "keys_args"],
    # An unknown function is reported before a bad key count.
    ["FCALL", "nosuch", "x"],
    ["FCALL", "nosuch", "0"],
    ["FCALL", "nosuch", "-1"],
    ["FCALL_RO", "nosuch", "0"],
    ["FCALL", "", "0"],
    # -- FCALL: errors, with the function's name and line.
    ["SET", "s", "abc"],
    load(ERRORS_LIB),
    fcall("err_plain"),
    fcall("err_level0"),
    fcall("err_table"),
    fcall("err_table_nocode"),
    fcall("err_none"),
    fcall("err_number"),
    fcall("err_call"),
    fcall("err_nosuch_cmd"),
    fcall("err_arity"),
    fcall("err_index"),
    fcall("err_deep"),
    fcall("double_it", "21"),
    fcall("err_fcall"),
    fcall("err_function_cmd"),
    fcall("err_eval"),
    fcall("err_register"),
    fcall("conv_keys_global"),
    fcall("conv_set_global"),
    fcall_ro("err_plain"),
    ["EVAL", "return redis.call('fcall', 'double_it', '0', '1')", "0"],
    ["EVAL", "return redis.call('function', 'stats')", "0"],
    ["EVAL", "return redis.call('fcall_ro', 'double_it', '0', '1')", "0"],
    # -- Flags, FCALL_RO.
    load(FLAG_FUNCS),
    ["SET", "fk", "v"],
    fcall("ro_get", "fk", numkeys=1),
    fcall_ro("ro_get", "fk", numkeys=1),
    fcall("ro_set", "fk", numkeys=1),
    fcall_ro("ro_set", "fk", numkeys=1),
    fcall("rw_get", "fk", numkeys=1),
    fcall_ro("rw_get", "fk", numkeys=1),
    fcall("all_flags"),
    fcall_ro("all_flags"),
    fcall("oom_stale", "fk", "w", numkeys=1),
    fcall_ro("oom_stale", "fk", "w", numkeys=1),
    ["FCALL_RO", "keys_args", "-1"],
    ["FCALL_RO", "keys_args", "x"],
    ["GET", "fk"],
    # -- A function writes; the keys are there afterwards; SELECT inside a
    # function does not change the caller's database.
    load(lib("writer",
             reg("write_two", "redis.call('set', keys[1], args[1])"
                              " return redis.call('incr', 'counter')"),
             reg("select_inside", "redis.call('select', 2) redis.call('set', 'in2', 'x')"
                                  " return redis.call('get', 'in2')"))),
    fcall("write_two", "wk", "wv", numkeys=1),
    fcall("write_two", "wk", "wv2", numkeys=1),
    ["GET", "wk"],
    ["GET", "counter"],
    fcall("select_inside"),
    ["GET", "in2"],
    ["SELECT", "2"],
    ["GET", "in2"],
    ["SELECT", "0"],
    # Locals of a library live between calls; REPLACE starts them anew.
    load(lib("cnt", "local n = 0", reg("incr_local", "n = n + 1 return n"))),
    fcall("incr_local"),
    fcall("incr_local"),
    load(lib("cnt", "local n = 10", reg("incr_local", "n = n + 1 return n")), "REPLACE"),
    fcall("incr_local"),
    load(lib("cnt", "return x x"), "REPLACE"),
    fcall("incr_local"),
    # -- In a transaction.
    ["MULTI"],
    fcall("write_two", "tk", "tv", numkeys=1),
    fcall("nosuch"),
    fcall("double_it", "4"),
    ["EXEC"],
    ["MULTI"],
    ["FCALL", "keys_args"],
    ["EXEC"],
    ["MULTI"],
    load(lib("intx", reg("in_tx", "return 'tx'"))),
    fcall("in_tx"),
    ["EXEC"],
    fcall("in_tx"),
    # -- SCRIPT FLUSH, FLUSHALL and FLUSHDB leave functions alone.
    ["SCRIPT", "FLUSH"],
    fcall("double_it", "5"),
    ["FLUSHALL"],
    fcall("double_it", "6"),
    ["FLUSHDB"],
    fcall("double_it", "7"),
    ["SCRIPT", "LOAD", "return 'a script'"],
    ["FUNCTION", "FLUSH"],
    ["EVALSHA", hashlib.sha1(b"return 'a script'").hexdigest(), "0"],
    fcall("double_it", "8"),
    # -- FUNCTION LIST (one library at a time), FUNCTION STATS.
    ["FUNCTION", "LIST"],
    ["FUNCTION", "STATS"],
    load(lib("listed",
             "redis.register_function{function_name = 'described',"
             " callback = function() return 1 end,"
             " description = 'what it does', flags = {'ALLOW-STALE', 'no-writes', 'no-writes'}}")),
    ["FUNCTION", "LIST"],
    ["FUNCTION", "LIST", "WITHCODE"],
    ["function", "list", "withcode"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "listed"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "LIST*"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "l?sted", "WITHCODE"],
    ["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "*ist*"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"],
    ["FUNCTION", "LIST", "LIBRARYNAME", ""],
    ["FUNCTION", "STATS"],
    load(lib("second", reg("no_flags", "return 2"))),
    load(lib("third",
             "redis.register_function{function_name = 'numdesc',"
             " callback = function() return 3 end,"
             " description = 5}")),
    ["FUNCTION", "LIST", "LIBRARYNAME", "sec*"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "third", "WITHCODE"],
    ["FUNCTION", "STATS"],
    ["FUNCTION", "LIST", "LIBRARYNAME"],
    ["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"],
    ["FUNCTION", "LIST", "bogus"],
    ["FUNCTION", "LIST", "WITHCODE", "bogus"],
    # -- FUNCTION DELETE.
    ["FUNCTION", "DELETE", "second"],
    ["FUNCTION", "DELETE", "second"],
    ["FUNCTION", "DELETE", "nosuch"],
    ["FUNCTION", "DELETE", "THIRD"],
    fcall("no_flags"),
    fcall("numdesc"),
    ["FUNCTION", "DELETE", "third"],
    ["FUNCTION", "LIST"],
    ["FUNCTION", "STATS"],
    ["FUNCTION", "DELETE"],
    ["FUNCTION", "DELETE", "a", "b"],
    # -- FUNCTION FLUSH.
    ["FUNCTION", "FLUSH"],
    ["FUNCTION", "LIST"],
    fcall("described"),
    load(lib("flushme", reg("fm", "return 1"))),
    ["FUNCTION", "FLUSH", "ASYNC"],
    fcall("fm"),
    load(lib("flushme", reg("fm", "return 1"))),
    ["FUNCTION", "FLUSH", "sync"],
    fcall("fm"),
    ["FUNCTION", "FLUSH", "bogus"],
    ["FUNCTION", "FLUSH", "SYNC", "ASYNC"],
    ["function", "flush", "sync", "async"],
    ["FUNCTION", "STATS"],
    # -- FUNCTION RESTORE's errors (round trips have tests of their own).
    ["FUNCTION", "RESTORE"],
    ["FUNCTION", "RESTORE", "x"],
    ["FUNCTION", "RESTORE", ""],
    ["FUNCTION", "RESTORE", "0123456789"],
    ["FUNCTION", "RESTORE", "x", "FLUSH"],
    ["FUNCTION", "RESTORE", "x", "append"],
    ["FUNCTION", "RESTORE", "x", "bogus"],
    ["FUNCTION", "RESTORE", "x", "y", "z"],
    # -- FUNCTION KILL, STATS, DUMP, HELP; arity; unknown subcommands.
    ["FUNCTION", "KILL"],
    ["FUNCTION", "KILL", "x"],
    ["FUNCTION", "STATS", "x"],
    ["FUNCTION", "DUMP", "x"],
    ["FUNCTION", "HELP"],
    ["function", "help"],
    ["FUNCTION", "HELP", "x"],
    ["FUNCTION", "bogus"],
    ["FUNCTION", "bogus", "x"],
    ["FUNCTION", "bOgUs"],
    ["FUNCTION"],
    ["FCALL_RO"],
]

# Redis 7.0's, not edgekv's (edgekv says 7.2): kept out of the comparison.
NOT_COMPARED = [
    load(lib("version", "local v = redis.REDIS_VERSION", reg("ver", "return v"))),
]


def run_side_by_side(ours, theirs, cases):
    bad = []
    for cmd in cases:
        a, b = ours.cmd(cmd), theirs.cmd(cmd)
        if a != b:
            bad.append("%r\n  edgekv: %r\n  redis:  %r" % (cmd, a, b))
    return bad


def fresh_pair(server, redis_port, protocol=2):
    ours, theirs = RawClient(server.port), RawClient(redis_port)
    for c in (ours, theirs):
        c.cmd(["FLUSHALL"])
        c.cmd(["FUNCTION", "FLUSH"])
        c.cmd(["SCRIPT", "FLUSH"])
        c.cmd(["HELLO", str(protocol)])
    return ours, theirs


@pytest.mark.parametrize("protocol", [2, 3])
def test_every_case_replies_as_redis_does(server, redis_port, protocol):
    ours, theirs = fresh_pair(server, redis_port, protocol)
    bad = run_side_by_side(ours, theirs, CASES)
    for c in (ours, theirs):
        c.cmd(["SELECT", "0"])
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()
    assert not bad, "\n".join(bad)


# --- FUNCTION LIST of several libraries and functions, once sorted ---------

def parse_node(buf, pos=0):
    """One RESP2/RESP3 reply at pos: (node, next position). A node is the
    reply's bytes, or (header bytes, [child nodes]) for an aggregate."""
    eol = buf.index(b"\r\n", pos)
    t, line, nxt = buf[pos:pos + 1], buf[pos + 1:eol], eol + 2
    if t in (b"$", b"=", b"!") and line != b"-1":
        end = nxt + int(line) + 2
        return buf[pos:end], end
    if t in (b"*", b"~", b">", b"%", b"|") and line != b"-1":
        n = int(line) * (2 if t in (b"%", b"|") else 1)
        kids = []
        for _ in range(n):
            kid, nxt = parse_node(buf, nxt)
            kids.append(kid)
        return (buf[pos:eol + 2], kids), nxt
    return buf[pos:nxt], nxt


def encode_node(node):
    if isinstance(node, bytes):
        return node
    header, kids = node
    return header + b"".join(encode_node(k) for k in kids)


def sorted_list_reply(reply):
    """A FUNCTION LIST reply with its libraries, and each library's
    functions, in a canonical order (Redis 7.0 lists them in dict order)."""
    node, end = parse_node(reply)
    assert end == len(reply), reply
    if isinstance(node, bytes) or not node[0].startswith(b"*"):
        return reply  # an error, or not a list
    header, libs = node
    out = []
    for library in libs:
        lheader, kv = library[0], list(library[1])
        for i in range(0, len(kv), 2):
            if kv[i] == b"$9\r\nfunctions\r\n":
                fheader, fns = kv[i + 1]
                kv[i + 1] = (fheader, sorted(fns, key=encode_node))
        out.append((lheader, kv))
    return encode_node((header, sorted(out, key=encode_node)))


SEVERAL = [
    lib("alpha",
        reg("a_one", "return 1"),
        reg("a_two", "return 2"),
        "redis.register_function{function_name = 'a_three', callback = function() return 3 end,"
        " description = 'third of alpha', flags = {'no-writes', 'allow-oom'}}"),
    lib("beta",
        "redis.register_function{function_name = 'b_one', callback = function() return 1 end,"
        " flags = {'allow-cross-slot-keys', 'no-cluster'}}",
        reg("b_two", "return 2")),
    lib("gamma", reg("g_one", "return 1")),
    lib("alphabet", reg("ab_one", "return 1")),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_function_list_of_several_libraries_matches_redis_once_sorted(
        server, redis_port, protocol):
    ours, theirs = fresh_pair(server, redis_port, protocol)
    bad = run_side_by_side(ours, theirs, [load(code) for code in SEVERAL])
    for cmd in (["FUNCTION", "LIST"],
                ["FUNCTION", "LIST", "WITHCODE"],
                ["FUNCTION", "LIST", "LIBRARYNAME", "alpha*"],
                ["FUNCTION", "LIST", "LIBRARYNAME", "*a", "WITHCODE"],
                ["FUNCTION", "LIST", "LIBRARYNAME", "*"],
                ["FUNCTION", "STATS"]):
        a, b = ours.cmd(cmd), theirs.cmd(cmd)
        if cmd[1] == "LIST":
            a, b = sorted_list_reply(a), sorted_list_reply(b)
        if a != b:
            bad.append("%r\n  edgekv: %r\n  redis:  %r" % (cmd, a, b))
    bad += run_side_by_side(ours, theirs, [
        ["FUNCTION", "DELETE", "alpha"],
        fcall("a_one"), fcall("b_two"), fcall("ab_one"),
    ])
    a = sorted_list_reply(ours.cmd(["FUNCTION", "LIST"]))
    b = sorted_list_reply(theirs.cmd(["FUNCTION", "LIST"]))
    if a != b:
        bad.append("FUNCTION LIST after DELETE\n  edgekv: %r\n  redis:  %r" % (a, b))
    for c in (ours, theirs):
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()
    assert not bad, "\n".join(bad)


# --- FUNCTION DUMP and RESTORE: each server restores its own payloads -----

LIB_A = lib("a", reg("fa", "return 'a'"))
LIB_A2 = lib("a", reg("fa2", "return 'a2'"))
LIB_B = lib("b", reg("fb", "return 'b'"))
LIB_C_STEALS_FA = lib("c", reg("fa", "return 'c'"))


def dump_restore_script(c):
    """Runs one server through DUMP/RESTORE with its own payloads; returns
    the replies (FUNCTION LIST's sorted), for comparison with Redis's."""
    replies = []

    def cmd(args):
        reply = c.cmd(args)
        if args[:2] == ["FUNCTION", "LIST"]:
            reply = sorted_list_reply(reply)
        replies.append((args, reply))
        return reply

    def dump():
        reply = c.cmd(["FUNCTION", "DUMP"])
        node, _ = parse_node(reply)
        assert reply.startswith(b"$"), reply
        return node[node.index(b"\r\n") + 2:-2]

    empty = dump()
    cmd(["FUNCTION", "RESTORE", empty])
    cmd(["FUNCTION", "LIST"])
    cmd(load(LIB_A))
    only_a = dump()
    cmd(["FUNCTION", "RESTORE", only_a])
    cmd(["FUNCTION", "RESTORE", only_a, "APPEND"])
    cmd(["FUNCTION", "RESTORE", only_a, "append"])
    cmd(["FUNCTION", "RESTORE", only_a, "REPLACE"])
    cmd(fcall("fa"))
    cmd(load(LIB_A2, "REPLACE"))
    cmd(fcall("fa"))
    cmd(["FUNCTION", "RESTORE", only_a, "REPLACE"])
    cmd(fcall("fa"))
    cmd(fcall("fa2"))
    cmd(load(LIB_B))
    cmd(["FUNCTION", "RESTORE", only_a, "FLUSH"])
    cmd(fcall("fa"))
    cmd(fcall("fb"))
    cmd(["FUNCTION", "LIST", "WITHCODE"])
    # A function of another library by the same name: APPEND and REPLACE
    # both refuse it, and nothing changes.
    cmd(["FUNCTION", "DELETE", "a"])
    cmd(load(LIB_C_STEALS_FA))
    cmd(["FUNCTION", "RESTORE", only_a])
    cmd(["FUNCTION", "RESTORE", only_a, "REPLACE"])
    cmd(fcall("fa"))
    cmd(["FUNCTION", "LIST"])
    cmd(["FUNCTION", "RESTORE", only_a, "FLUSH"])
    cmd(fcall("fa"))
    # Several libraries in one payload.
    cmd(load(LIB_B))
    cmd(load(lib("d", reg("fd1", "return 'd1'"), reg("fd2", "return 'd2'"))))
    several = dump()
    cmd(["FUNCTION", "FLUSH"])
    cmd(["FUNCTION", "RESTORE", several])
    cmd(["FUNCTION", "LIST", "WITHCODE"])
    cmd(["FUNCTION", "STATS"])
    cmd(fcall("fa"))
    cmd(fcall("fb"))
    cmd(fcall("fd2"))
    cmd(["FUNCTION", "RESTORE", empty, "FLUSH"])
    cmd(["FUNCTION", "LIST"])
    # Damaged payloads.
    cmd(["FUNCTION", "RESTORE", only_a[:-1]])
    cmd(["FUNCTION", "RESTORE", only_a[:5] + bytes([only_a[5] ^ 1]) + only_a[6:]])
    cmd(["FUNCTION", "RESTORE", only_a[:-10]])
    cmd(["FUNCTION", "RESTORE", only_a + b"x"])
    cmd(["FUNCTION", "RESTORE", empty[:-1] + bytes([empty[-1] ^ 0x80])])
    cmd(["FUNCTION", "LIST"])
    # Functions outlive FLUSHALL; DUMP still has them.
    cmd(["FUNCTION", "RESTORE", several])
    cmd(["FLUSHALL"])
    again = dump()
    cmd(["FUNCTION", "FLUSH"])
    cmd(["FUNCTION", "RESTORE", again])
    cmd(["FUNCTION", "LIST"])
    return replies


@pytest.mark.parametrize("protocol", [2, 3])
def test_dump_and_restore_of_own_payloads_reply_as_redis_does(server, redis_port, protocol):
    ours, theirs = fresh_pair(server, redis_port, protocol)
    a, b = dump_restore_script(ours), dump_restore_script(theirs)
    for c in (ours, theirs):
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()
    bad = ["%r\n  edgekv: %r\n  redis:  %r" % (x[0], x[1], y[1])
           for x, y in zip(a, b) if x[1] != y[1]]
    assert not bad, "\n".join(bad)


# ==========================================================================
# Redis's payload format (RDB opcode 245, RDB strings, LZF, version, CRC64).
# Kept apart: these hold edgekv to Redis's bytes, not only to its replies.
# ==========================================================================

_CRC64_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x95AC9329AC4BC9B5 if _c & 1 else _c >> 1
    _CRC64_TABLE.append(_c)


def crc64(data, crc=0):
    """Redis's crc64 (Jones polynomial, reflected, no final xor)."""
    for byte in data:
        crc = _CRC64_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA  # Redis's own self-test value


def rdb_string(s):
    s = s.encode() if isinstance(s, str) else s
    n = len(s)
    if n < 64:
        head = bytes([n])
    elif n < 16384:
        head = bytes([0x40 | (n >> 8), n & 0xFF])
    else:
        head = b"\x80" + struct.pack(">I", n)
    return head + s


def rdb_library(code):
    return b"\xf5" + rdb_string(code)  # RDB_OPCODE_FUNCTION2


def payload(body, version=10):
    """A FUNCTION DUMP payload as Redis 7.0 writes one: the body, the RDB
    version (2 bytes, little endian), the CRC64 of both (8 bytes, LE)."""
    body += struct.pack("<H", version)
    return body + struct.pack("<Q", crc64(body))


def test_crc64_and_payload_builder_match_redis_dump(redis_port):
    c = RawClient(redis_port)
    c.cmd(["FUNCTION", "FLUSH"])
    assert c.cmd(["FUNCTION", "DUMP"]) == b"$10\r\n" + payload(b"") + b"\r\n"
    c.cmd(load(LIB_A))
    expected = payload(rdb_library(LIB_A))
    assert c.cmd(["FUNCTION", "DUMP"]) == b"$%d\r\n%s\r\n" % (len(expected), expected)
    c.cmd(["FUNCTION", "FLUSH"])
    c.close()


# A library long and repetitive enough that Redis stores its code LZF
# compressed (RDB_ENC_LZF) in DUMP's payload.
LZF_LIB = lib("lzf", *(reg("lzf_%d" % i, "return 'the same words again and again %d'" % i)
                      for i in range(8)))


PAYLOAD_CASES = [
    ["FUNCTION", "RESTORE", payload(b"")],
    ["FUNCTION", "RESTORE", payload(b"", version=9)],
    ["FUNCTION", "RESTORE", payload(b"", version=99)],
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_A))],
    fcall("fa"),
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_A))],
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_A2)), "REPLACE"],
    fcall("fa"),
    fcall("fa2"),
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_B) + rdb_library(LIB_B))],
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_B) + rdb_library(LIB_C_STEALS_FA.replace(
        "'fa'", "'fb'")))],
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_B)), "FLUSH"],
    fcall("fa2"),
    fcall("fb"),
    ["FUNCTION", "RESTORE", payload(rdb_library(lib("v9", reg("f9", "return 9"))), version=9)],
    fcall("f9"),
    # The code inside is judged as FUNCTION LOAD judges it.
    ["FUNCTION", "RESTORE", payload(rdb_library("return 1"))],
    ["FUNCTION", "RESTORE", payload(rdb_library("#!lua name=c\nreturn x x"))],
    ["FUNCTION", "RESTORE", payload(rdb_library("#!lua name=c\nreturn 1"))],
    ["FUNCTION", "RESTORE", payload(rdb_library("#!lua name=bad-name\n" + reg("x", "return 1")))],
    ["FUNCTION", "RESTORE", payload(rdb_library("#!nosuch name=c\n" + reg("x", "return 1")))],
    ["FUNCTION", "RESTORE", payload(rdb_library(lib("c", reg("fb", "return 1"))))],
    # Not a library, or cut short.
    ["FUNCTION", "RESTORE", payload(b"\x00" + rdb_string(LIB_A))],
    ["FUNCTION", "RESTORE", payload(b"\xf5")],
    ["FUNCTION", "RESTORE", payload(rdb_library(LIB_A))[:-1] + b"x"],
    ["FUNCTION", "RESTORE", payload(b"")[:-1]],
    ["FUNCTION", "LIST", "LIBRARYNAME", "b"],
    fcall("fb"),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_restore_of_payloads_in_redis_format_replies_as_redis_does(
        server, redis_port, protocol):
    ours, theirs = fresh_pair(server, redis_port, protocol)
    bad = run_side_by_side(ours, theirs, PAYLOAD_CASES)
    for c in (ours, theirs):
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()
    assert not bad, "\n".join(bad)


def dump_of(c):
    reply = c.cmd(["FUNCTION", "DUMP"])
    node, _ = parse_node(reply)
    return node[node.index(b"\r\n") + 2:-2]


def test_restore_accepts_the_payloads_redis_dumps(server, redis_port):
    """Redis's FUNCTION DUMP, LZF-compressed code included, restores in
    edgekv to the same libraries."""
    ours, theirs = fresh_pair(server, redis_port)
    for code in (LIB_A, LZF_LIB, LIB_B):
        theirs.cmd(["FUNCTION", "FLUSH"])
        assert theirs.cmd(load(code)).startswith(b"$")
        p = dump_of(theirs)
        if code is LZF_LIB:
            assert p[1] == 0xC3, p[:8]  # RDB_ENC_LZF: the test covers LZF
        assert ours.cmd(["FUNCTION", "RESTORE", p, "FLUSH"]) == b"+OK\r\n"
        assert sorted_list_reply(ours.cmd(["FUNCTION", "LIST", "WITHCODE"])) == \
            sorted_list_reply(theirs.cmd(["FUNCTION", "LIST", "WITHCODE"]))
        assert ours.cmd(["FUNCTION", "STATS"]) == theirs.cmd(["FUNCTION", "STATS"])
        if code is LZF_LIB:
            assert ours.cmd(fcall("lzf_7")) == b"$32\r\nthe same words again and again 7\r\n"
    # Several libraries in one payload.
    theirs.cmd(["FUNCTION", "FLUSH"])
    for code in SEVERAL:
        theirs.cmd(load(code))
    assert ours.cmd(["FUNCTION", "RESTORE", dump_of(theirs), "FLUSH"]) == b"+OK\r\n"
    assert sorted_list_reply(ours.cmd(["FUNCTION", "LIST", "WITHCODE"])) == \
        sorted_list_reply(theirs.cmd(["FUNCTION", "LIST", "WITHCODE"]))
    for c in (ours, theirs):
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()


@pytest.mark.parametrize("code", [None, LIB_A, LZF_LIB, SEVERAL[0]])
def test_function_dump_payload_bytes_are_redis_bytes(server, redis_port, code):
    """One library (or none): the payload is Redis's byte for byte, RDB
    version 10 and LZF as Redis compresses it. (Several libraries come in
    dict order; they are not compared.)"""
    ours, theirs = fresh_pair(server, redis_port)
    if code is not None:
        for c in (ours, theirs):
            assert c.cmd(load(code)).startswith(b"$")
    a, b = ours.cmd(["FUNCTION", "DUMP"]), theirs.cmd(["FUNCTION", "DUMP"])
    for c in (ours, theirs):
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()
    assert a == b


def test_redis_restores_the_payloads_edgekv_dumps(server, redis_port):
    ours, theirs = fresh_pair(server, redis_port)
    for code in (LIB_A, LZF_LIB):
        ours.cmd(["FUNCTION", "FLUSH"])
        assert ours.cmd(load(code)).startswith(b"$")
        assert theirs.cmd(["FUNCTION", "RESTORE", dump_of(ours), "FLUSH"]) == b"+OK\r\n"
        assert sorted_list_reply(theirs.cmd(["FUNCTION", "LIST", "WITHCODE"])) == \
            sorted_list_reply(ours.cmd(["FUNCTION", "LIST", "WITHCODE"]))
    for c in (ours, theirs):
        c.cmd(["FUNCTION", "FLUSH"])
        c.close()


# ==========================================================================
# Admission: min-replicas-to-write 1 and no replica.
# ==========================================================================

ADMISSION_LIB = lib(
    "adm",
    reg("adm_write", "return redis.call('incr', keys[1])"),
    "redis.register_function{function_name = 'adm_read', callback = function(keys)"
    " return redis.call('get', keys[1]) end, flags = {'no-writes'}}",
    "redis.register_function{function_name = 'adm_pwrite', callback = function(keys)"
    " return redis.pcall('set', keys[1], 'x') end, flags = {}}",
)

ADMISSION_CASES = [
    fcall("adm_write", "a", numkeys=1),
    fcall("adm_read", "a", numkeys=1),
    fcall_ro("adm_read", "a", numkeys=1),
    fcall("adm_pwrite", "a", numkeys=1),
    fcall("nosuch"),
    load(lib("adm2", reg("adm2", "return 1"))),
    ["FUNCTION", "DELETE", "adm"],
    ["FUNCTION", "FLUSH"],
    ["FUNCTION", "RESTORE", "x"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "nomatch"],
    ["FUNCTION", "STATS"],
    ["MULTI"], fcall("adm_read", "a", numkeys=1), ["EXEC"],
    ["MULTI"], fcall("adm_write", "a", numkeys=1), ["EXEC"],
    ["GET", "a"],
]


def test_functions_are_admitted_as_redis_admits_them(server, redis_port):
    """A function that may write is refused where a write would be; one
    flagged no-writes runs; FUNCTION LOAD/DELETE/FLUSH/RESTORE are writes."""
    ours, theirs = fresh_pair(server, redis_port)
    bad = []
    try:
        for c in (ours, theirs):
            assert c.cmd(load(ADMISSION_LIB)) == b"$3\r\nadm\r\n"
            c.cmd(["SET", "a", "1"])
            assert c.cmd(["CONFIG", "SET", "min-replicas-to-write", "1"]) == b"+OK\r\n"
        bad = run_side_by_side(ours, theirs, ADMISSION_CASES)
    finally:
        for c in (ours, theirs):
            c.cmd(["CONFIG", "SET", "min-replicas-to-write", "0"])
            c.cmd(["FUNCTION", "FLUSH"])
            c.close()
    assert not bad, "\n".join(bad)


# ==========================================================================
# edgekv only.
# ==========================================================================

def test_functions_outlive_flushall_flushdb_and_script_flush(r):
    r.function_load(lib("keep", reg("keep", "return 'kept'")))
    r.set("k", "v")
    r.script_load("return 1")
    r.flushall()
    r.flushdb()
    r.script_flush()
    assert r.fcall("keep", 0) == b"kept"
    assert r.get("k") is None
    # And FUNCTION FLUSH leaves keys and scripts alone.
    r.set("k", "v")
    sha = r.script_load("return 'script'")
    r.function_flush()
    assert r.get("k") == b"v"
    assert r.evalsha(sha, 0) == b"script"
    with pytest.raises(redis.ResponseError, match="^Function not found$"):
        r.fcall("keep", 0)


def test_library_locals_live_between_calls_until_the_library_is_replaced(r):
    code = lib("counter", "local n = 0", reg("bump", "n = n + 1 return n"),
               reg("peek", "return n"))
    assert r.function_load(code) == b"counter"
    assert [r.fcall("bump", 0) for _ in range(3)] == [1, 2, 3]
    assert r.fcall("peek", 0) == 3  # two functions, one upvalue
    # A failed replace keeps the old library and its state.
    for broken in ("return x x", "error_here()", "return 1"):
        with pytest.raises(redis.ResponseError):
            r.function_load(lib("counter", broken), replace=True)
    assert r.fcall("bump", 0) == 4
    r.function_load(code, replace=True)
    assert r.fcall("bump", 0) == 1
    r.function_delete("counter")
    with pytest.raises(redis.ResponseError, match="^Function not found$"):
        r.fcall("bump", 0)


def listing(port):
    c = RawClient(port)
    try:
        return sorted_list_reply(c.cmd(["FUNCTION", "LIST", "WITHCODE"]))
    finally:
        c.close()


def test_a_load_that_fails_changes_nothing(server, r):
    r.function_load(lib("one", reg("shared_name", "return 'one'")))
    r.function_load(lib("two", reg("only_two", "return 'two'")))
    before = listing(server.port)
    failures = [
        lib("two", reg("shared_name", "return 'x'")),            # taken by `one`
        lib("two", reg("SHARED_NAME", "return 'x'")),            # names ignore case
        lib("two", reg("a", "return 1"), reg("a", "return 2")),  # twice in one library
        lib("two", reg("bad-name", "return 1")),
        lib("two", reg("fine", "return 1"), "while true do end"),  # FUNCTION LOAD timeout
    ]
    for code in failures:
        with pytest.raises(redis.ResponseError):
            r.function_load(code, replace=True)
    after = listing(server.port)
    assert after == before
    assert r.fcall("shared_name", 0) == b"one"
    assert r.fcall("only_two", 0) == b"two"
    with pytest.raises(redis.ResponseError, match="^Function not found$"):
        r.fcall("fine", 0)
    assert r.function_stats()[3][1][1] == 2  # engines -> LUA -> libraries_count


def test_redis_py_function_helpers(r):
    code = lib("pyhelp",
               "redis.register_function{function_name = 'py_echo', callback = function(keys, args)"
               " return {keys[1], args[1]} end, description = 'echoes', flags = {'no-writes'}}")
    assert r.function_load(code) == b"pyhelp"
    assert r.fcall("py_echo", 1, "k", "a") == [b"k", b"a"]
    assert r.fcall_ro("py_echo", 1, "k", "a") == [b"k", b"a"]
    listed = r.function_list(library="pyhelp", withcode=True)
    assert listed == [[b"library_name", b"pyhelp", b"engine", b"LUA", b"functions",
                       [[b"name", b"py_echo", b"description", b"echoes",
                         b"flags", [b"no-writes"]]],
                       b"library_code", code.encode()]]
    assert r.function_list(library="nomatch") == []
    payload_bytes = r.function_dump()
    r.function_flush()
    assert r.function_list() == []
    assert r.function_restore(payload_bytes)
    assert r.fcall("py_echo", 1, "k2", "a2") == [b"k2", b"a2"]
    assert r.function_stats() == [b"running_script", None, b"engines",
                                  [b"LUA", [b"libraries_count", 1, b"functions_count", 1]]]
    with pytest.raises(redis.ResponseError, match="^NOTBUSY"):
        r.function_kill()


def test_fcall_in_a_pipeline_and_a_transaction(r):
    r.function_load(lib("txlib", reg("tx_incr", "return redis.call('incrby', keys[1], args[1])")))
    with r.pipeline(transaction=True) as p:
        p.fcall("tx_incr", 1, "c", 2)
        p.fcall("tx_incr", 1, "c", 3)
        p.get("c")
        assert p.execute() == [2, 5, b"5"]
    with r.pipeline(transaction=False) as p:
        for i in range(50):
            p.fcall("tx_incr", 1, "c", 1)
        assert p.execute() == list(range(6, 56))


def test_a_library_replaced_under_callers_is_one_version_or_the_next(server):
    """One client replaces a library 200 times; callers on other connections
    (other I/O threads) always find the function, and each sees versions
    that only go up."""
    r = server.client()
    r.function_load(lib("versioned", reg("version", "return 0")))
    errors = []
    stop = threading.Event()

    def caller():
        try:
            c = server.client()
            last = -1
            while not stop.is_set():
                v = c.fcall("version", 0)
                if v < last:
                    errors.append("went back from %d to %d" % (last, v))
                    return
                last = v
        except Exception as e:  # reaches the test below
            errors.append(repr(e))

    callers = [threading.Thread(target=caller) for _ in range(3)]
    for t in callers:
        t.start()
    try:
        for i in range(1, 201):
            r.function_load(lib("versioned", reg("version", "return %d" % i)), replace=True)
    finally:
        stop.set()
        for t in callers:
            t.join()
    assert not errors, errors[:5]
    assert r.fcall("version", 0) == 200


def test_functions_survive_a_restart(make_server):
    """As Redis keeps them in its RDB and AOF: loaded, replaced, deleted,
    restored and flushed libraries come back as they were."""
    srv = make_server()
    r = srv.client()
    r.function_load(lib("stays", reg("stays", "return 'stays'")))
    r.function_load(lib("goes", reg("goes", "return 'goes'")))
    r.function_load(lib("stays", reg("stays", "return 'replaced'")), replace=True)
    r.function_delete("goes")
    payload_bytes = r.function_dump()
    r.function_flush()
    r.function_restore(payload_bytes)
    r.function_load(lib("later", reg("later", "return 'later'")))
    listed = r.function_list(withcode=True)
    srv.stop()
    srv.start()
    r = srv.client()
    assert r.fcall("stays", 0) == b"replaced"
    assert r.fcall("later", 0) == b"later"
    with pytest.raises(redis.ResponseError, match="^Function not found$"):
        r.fcall("goes", 0)
    assert sorted(map(repr, r.function_list(withcode=True))) == sorted(map(repr, listed))
    r.function_flush()
    srv.stop()
    srv.start()
    assert srv.client().function_list() == []


HANG_GUARD_S = 600


def test_function_stats_and_function_kill_during_a_running_function(make_server):
    srv = make_server("--busy-reply-threshold", "100")
    srv.client().function_load(lib(
        "busy",
        "redis.register_function{function_name = 'spin', callback ="
        " function(keys, args) local n = 0 while true do n = n + 1 end end,"
        " flags = {'no-writes'}}"))
    result = {}

    def run():
        try:
            result["reply"] = srv.client().fcall("spin", 1, "k1", "arg")
        except Exception as e:  # noqa: BLE001 - the test reads it
            result["error"] = e

    def busy():
        try:
            srv.client(socket_timeout=5).get("probe")
        except redis.ResponseError as e:
            return "BUSY" in str(e)
        return False

    t = threading.Thread(target=run, daemon=True)
    t.start()
    until(busy, "a new client answered BUSY")
    c = srv.client(socket_timeout=5)
    stats = c.function_stats()
    assert stats[0] == b"running_script" and stats[2] == b"engines", stats
    running = stats[1]
    assert running[:4] == [b"name", b"spin", b"command",
                           [b"FCALL", b"spin", b"1", b"k1", b"arg"]], running
    assert running[4] == b"duration_ms" and isinstance(running[5], int), running
    # SCRIPT KILL is for EVAL: a running function answers BUSY to it.
    with pytest.raises(redis.ResponseError, match="^BUSY .*FUNCTION KILL"):
        c.script_kill()
    assert c.function_kill() == b"OK"
    t.join(HANG_GUARD_S)
    assert not t.is_alive()
    # Redis 7.0 says SCRIPT KILL here too.
    assert "Script killed by user" in str(result.get("error")), result
    assert c.set("after", "1") and c.get("after") == b"1"
    assert c.function_stats()[1] is None
    with pytest.raises(redis.ResponseError, match="^NOTBUSY"):
        c.function_kill()
