// The command families run in-process through the Dispatcher, exactly as a
// connection would call them, comparing the RESP bytes with what Redis 7
// replies (expected replies were checked against a real redis-server).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands/client_state.h"
#include "commands/command_table.h"
#include "commands/dispatcher.h"
#include "commands/server_context.h"
#include "commands/version.h"
#include "edgekv/config.h"
#include "edgekv/reply.h"
#include "edgekv/store.h"

namespace edgekv {
namespace {

using namespace std::string_literals;

// ---- Building expected replies ----------------------------------------------------

const std::string kOk = "+OK\r\n";
const std::string kNull = "$-1\r\n";
const std::string kQueued = "+QUEUED\r\n";
const std::string kSyntaxErr = "-ERR syntax error\r\n";
const std::string kNotIntErr = "-ERR value is not an integer or out of range\r\n";

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
std::string Err(std::string_view msg) { return "-" + std::string(msg) + "\r\n"; }
std::string Arr(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) out += i;
  return out;
}
std::string WrongArgs(std::string_view cmd) {
  return Err("ERR wrong number of arguments for '" + std::string(cmd) + "' command");
}
std::string InvalidExpire(std::string_view cmd) {
  return Err("ERR invalid expire time in '" + std::string(cmd) + "' command");
}

std::string HelloReply(int proto, uint64_t id) {
  std::string out = proto == 3 ? "%7\r\n" : "*14\r\n";
  out += Bulk("server") + Bulk("redis") + Bulk("version") + Bulk(kRedisCompatVersion) +
         Bulk("proto") + Int(proto) + Bulk("id") + Int(static_cast<int64_t>(id)) +
         Bulk("mode") + Bulk("standalone") + Bulk("role") + Bulk("master") +
         Bulk("modules") + "*0\r\n";
  return out;
}

// ---- Reading replies whose content varies (cursors, ids, times) --------------------

struct Resp {
  char type = 0;  // + - : $ * % _ , # = ~
  std::string str;
  int64_t num = 0;
  bool null = false;
  std::vector<Resp> elems;
};

bool ParseResp(std::string_view in, size_t* pos, Resp* out) {
  if (*pos >= in.size()) return false;
  size_t eol = in.find("\r\n", *pos);
  if (eol == std::string_view::npos) return false;
  out->type = in[*pos];
  std::string line(in.substr(*pos + 1, eol - *pos - 1));
  *pos = eol + 2;
  switch (out->type) {
    case '+':
    case '-':
    case ',':
    case '#':
      out->str = line;
      return true;
    case ':':
      out->num = std::stoll(line);
      return true;
    case '_':
      out->null = true;
      return true;
    case '$':
    case '=': {
      int64_t n = std::stoll(line);
      if (n < 0) {
        out->null = true;
        return true;
      }
      if (*pos + static_cast<size_t>(n) + 2 > in.size()) return false;
      out->str = std::string(in.substr(*pos, static_cast<size_t>(n)));
      *pos += static_cast<size_t>(n) + 2;
      return true;
    }
    case '*':
    case '~':
    case '%': {
      int64_t n = std::stoll(line);
      if (n < 0) {
        out->null = true;
        return true;
      }
      if (out->type == '%') n *= 2;
      for (int64_t i = 0; i < n; ++i) {
        Resp e;
        if (!ParseResp(in, pos, &e)) return false;
        out->elems.push_back(std::move(e));
      }
      return true;
    }
    default:
      return false;
  }
}

// Parses a buffer that must hold exactly one reply.
Resp ParseOne(const std::string& reply) {
  Resp r;
  size_t pos = 0;
  EXPECT_TRUE(ParseResp(reply, &pos, &r)) << reply;
  EXPECT_EQ(pos, reply.size()) << "trailing bytes in " << reply;
  return r;
}

int64_t IntOf(const std::string& reply) {
  Resp r = ParseOne(reply);
  EXPECT_EQ(r.type, ':') << reply;
  return r.num;
}

// ---- The server, in-process ----------------------------------------------------------

StoreOptions OptionsFrom(const Config& config) {
  StoreOptions o;
  o.databases = static_cast<int>(config.Int(Cfg::kDatabases));
  return o;
}

class Commands : public ::testing::Test {
 protected:
  // Built the way src/main.cc builds them.
  Commands()
      : store_(OptionsFrom(config_)),
        ctx_(&config_, &store_, &table_),
        dispatcher_(&ctx_),
        client_(NewClient()) {}

  std::unique_ptr<ClientState> NewClient(bool authenticated = true) {
    auto c = std::make_unique<ClientState>();
    c->id = ctx_.NextClientId();
    c->addr = "127.0.0.1:" + std::to_string(40000 + c->id);
    c->laddr = "127.0.0.1:6379";
    c->authenticated = authenticated;
    return c;
  }

  std::string Run(ClientState& client, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyBuilder reply(&out);
    reply.set_resp(client.resp.load());
    reply.set_error_sink(&ctx_.error_stats());  // as a connection does
    dispatcher_.Execute(client, views, reply);
    return out;
  }
  std::string Run(std::vector<std::string> args) {
    return Run(*client_, std::move(args));
  }

  Config config_;
  Store store_;
  CommandTable table_;
  ServerContext ctx_;
  Dispatcher dispatcher_;
  std::unique_ptr<ClientState> client_;
};

// ---- Dispatch errors ---------------------------------------------------------------

TEST_F(Commands, UnknownCommandQuotesItsFirstArguments) {
  EXPECT_EQ(Run({"foo", "a"}),
            "-ERR unknown command 'foo', with args beginning with: 'a' \r\n");
  EXPECT_EQ(Run({"foo", "a", "bb"}),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'bb' \r\n");
  EXPECT_EQ(Run({"FOO"}), "-ERR unknown command 'FOO', with args beginning with: \r\n");
}

TEST_F(Commands, WrongArityNamesTheLowerCaseCommand) {
  EXPECT_EQ(Run({"get"}), WrongArgs("get"));
  EXPECT_EQ(Run({"GET"}), WrongArgs("get"));
  EXPECT_EQ(Run({"GET", "a", "b"}), WrongArgs("get"));
  EXPECT_EQ(Run({"DEL"}), WrongArgs("del"));
  EXPECT_EQ(Run({"GETEX"}), WrongArgs("getex"));
  EXPECT_EQ(Run({"ECHO"}), WrongArgs("echo"));
  EXPECT_EQ(Run({"CLIENT"}), WrongArgs("client"));
  EXPECT_EQ(Run({"CLIENT", "SETNAME"}), WrongArgs("client|setname"));
  EXPECT_EQ(Run({"CONFIG", "GET"}), WrongArgs("config|get"));
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory"}), WrongArgs("config|set"));
}

TEST_F(Commands, UnknownSubcommandPointsAtHelp) {
  EXPECT_EQ(Run({"CLIENT", "FOO"}),
            Err("ERR unknown subcommand 'FOO'. Try CLIENT HELP."));
  EXPECT_EQ(Run({"CONFIG", "FOO"}),
            Err("ERR unknown subcommand 'FOO'. Try CONFIG HELP."));
  EXPECT_EQ(Run({"COMMAND", "FOO"}),
            Err("ERR unknown subcommand 'FOO'. Try COMMAND HELP."));
}

TEST_F(Commands, KeysLongerThan512MbAreRefusedBeforeTheCommandRuns) {
  std::string huge(kMaxKeyBytes + 1, 'k');
  EXPECT_EQ(Run({"SET", huge, "v"}), Err("ERR key is longer than 512 MB"));
  EXPECT_EQ(Run({"MSET", "a", "1", huge, "2"}), Err("ERR key is longer than 512 MB"));
  EXPECT_EQ(Run({"RENAME", "a", huge}), Err("ERR key is longer than 512 MB"));
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));  // nothing of the MSET happened
  EXPECT_EQ(Run({"GET", huge.substr(0, kMaxKeyBytes)}), kNull);  // the longest key
}

TEST_F(Commands, CommandNamesAreCaseInsensitive) {
  EXPECT_EQ(Run({"sEt", "k", "v"}), kOk);
  EXPECT_EQ(Run({"gEt", "k"}), Bulk("v"));
}

// ---- Strings -----------------------------------------------------------------------

TEST_F(Commands, GetReturnsWhatSetStored) {
  EXPECT_EQ(Run({"GET", "k"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"SET", "k", "other"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("other"));
}

TEST_F(Commands, ValuesAndKeysAreBinarySafe) {
  std::string key = "k\0\r\n"s;
  std::string value = "\0\xff\r\n$-1\r\n"s;
  EXPECT_EQ(Run({"SET", key, value}), kOk);
  EXPECT_EQ(Run({"GET", key}), Bulk(value));
  EXPECT_EQ(Run({"STRLEN", key}), Int(static_cast<int64_t>(value.size())));
  EXPECT_EQ(Run({"SET", "empty", ""}), kOk);
  EXPECT_EQ(Run({"GET", "empty"}), Bulk(""));
  EXPECT_EQ(Run({"EXISTS", "empty"}), Int(1));
}

TEST_F(Commands, SetNxAndXxAreConditions) {
  EXPECT_EQ(Run({"SET", "k", "v", "XX"}), kNull);
  EXPECT_EQ(Run({"GET", "k"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "v", "NX"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "v2", "NX"}), kNull);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"SET", "k", "v3", "xx"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v3"));
  EXPECT_EQ(Run({"SET", "k", "v4", "NX", "NX"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "v", "NX", "XX"}), kSyntaxErr);
}

TEST_F(Commands, SetGetReturnsTheOldValue) {
  EXPECT_EQ(Run({"SET", "k", "v1", "GET"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "v2", "GET"}), Bulk("v1"));
  EXPECT_EQ(Run({"SET", "k", "v3", "GET", "GET"}), Bulk("v2"));
  // With NX the old value is returned and nothing is written.
  EXPECT_EQ(Run({"SET", "k", "v4", "nx", "get"}), Bulk("v3"));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v3"));
  EXPECT_EQ(Run({"SET", "missing", "x", "XX", "GET"}), kNull);
  EXPECT_EQ(Run({"EXISTS", "missing"}), Int(0));
}

TEST_F(Commands, SetExpiryOptions) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));

  EXPECT_EQ(Run({"SET", "k", "v", "PX", "100000"}), kOk);
  int64_t pttl = IntOf(Run({"PTTL", "k"}));
  EXPECT_GT(pttl, 99000);
  EXPECT_LE(pttl, 100000);

  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "4102444800"}), kOk);
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), Int(4102444800));
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", "4102444800123"}), kOk);
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(4102444800123));

  // A plain SET drops the TTL; KEEPTTL keeps it.
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "v2", "KEEPTTL"}), kOk);
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v2"));
  EXPECT_EQ(Run({"SET", "k", "v3"}), kOk);
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"SET", "k", "v3", "KEEPTTL", "KEEPTTL"}), kOk);
}

TEST_F(Commands, SetWithAnExpiryInThePastDeletesTheKey) {
  EXPECT_EQ(Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "1"}), kOk);
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", "1000"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kNull);
}

TEST_F(Commands, KeysExpireAfterTheirTtl) {
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "100"}), kOk);
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(Run({"GET", "k"}), kNull);
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-2));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

TEST_F(Commands, SetRejectsBadOptions) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100", "PX", "100"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "k", "v", "KEEPTTL", "EX", "10"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "1", "KEEPTTL"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "k", "v", "EX"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "k", "v", "px"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "k", "v", "foo"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "1.5"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "0"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "-1"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "0"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "0"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", "-5"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "9999999999999999"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "9223372036854775807"}), InvalidExpire("set"));
  EXPECT_EQ(Run({"SET", "k"}), WrongArgs("set"));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
}

TEST_F(Commands, SetAcceptsARepeatedExpiryOptionAndTheLastOneCounts) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "5", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  // The overridden value is never parsed, as in Redis.
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc", "EX", "50"}), kOk);
  EXPECT_EQ(Run({"TTL", "k"}), Int(50));
}

TEST_F(Commands, SetNxSetExPSetEx) {
  EXPECT_EQ(Run({"SETNX", "k", "1"}), Int(1));
  EXPECT_EQ(Run({"SETNX", "k", "2"}), Int(0));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("1"));

  EXPECT_EQ(Run({"SETEX", "s", "10", "v"}), kOk);
  EXPECT_EQ(Run({"TTL", "s"}), Int(10));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("v"));
  EXPECT_EQ(Run({"SETEX", "s", "0", "v"}), InvalidExpire("setex"));
  EXPECT_EQ(Run({"SETEX", "s", "abc", "v"}), kNotIntErr);

  EXPECT_EQ(Run({"PSETEX", "p", "1500", "v"}), kOk);
  int64_t pttl = IntOf(Run({"PTTL", "p"}));
  EXPECT_GT(pttl, 1000);
  EXPECT_LE(pttl, 1500);
  EXPECT_EQ(Run({"PSETEX", "p", "-1", "v"}), InvalidExpire("psetex"));
}

TEST_F(Commands, GetSetAndGetDel) {
  EXPECT_EQ(Run({"GETSET", "k", "v1"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "v2", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"GETSET", "k", "v3"}), Bulk("v2"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));  // GETSET drops the TTL
  EXPECT_EQ(Run({"GETDEL", "k"}), Bulk("v3"));
  EXPECT_EQ(Run({"GETDEL", "k"}), kNull);
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
}

TEST_F(Commands, GetExChangesTheTtl) {
  EXPECT_EQ(Run({"GETEX", "k"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(Run({"GETEX", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "100"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"GETEX", "k", "PXAT", "4102444800123"}), Bulk("v"));
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(4102444800123));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "100", "EX", "50"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(50));
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST", "PERSIST"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  // An expiry in the past returns the value and deletes the key.
  EXPECT_EQ(Run({"GETEX", "k", "PXAT", "1"}), Bulk("v"));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
}

TEST_F(Commands, GetExRejectsBadOptions) {
  EXPECT_EQ(Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(Run({"GETEX", "k", "EX", "0"}), InvalidExpire("getex"));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"GETEX", "k", "EXAT", "99999999999999999"}), InvalidExpire("getex"));
  EXPECT_EQ(Run({"GETEX", "k", "FOO"}), kSyntaxErr);
  EXPECT_EQ(Run({"GETEX", "k", "ex"}), kSyntaxErr);
  EXPECT_EQ(Run({"GETEX", "k", "EX", "10", "PERSIST"}), kSyntaxErr);
  EXPECT_EQ(Run({"GETEX", "k", "EX", "10", "PX", "10"}), kSyntaxErr);
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
}

TEST_F(Commands, GetExOfAMissingKeyIsNullEvenWithABadExpiry) {
  // Redis looks the key up before it validates the expiry value.
  EXPECT_EQ(Run({"GETEX", "nokey", "EX", "0"}), kNull);
  EXPECT_EQ(Run({"GETEX", "nokey", "EX", "abc"}), kNull);
  EXPECT_EQ(Run({"GETEX", "nokey", "FOO"}), kSyntaxErr);
}

TEST_F(Commands, MGetMSetMSetNx) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), kOk);
  EXPECT_EQ(Run({"MGET", "a", "b", "c"}), Arr({Bulk("1"), Bulk("2"), kNull}));
  EXPECT_EQ(Run({"MSET", "a", "1", "b"}), WrongArgs("mset"));
  EXPECT_EQ(Run({"MSETNX", "a", "9", "z", "9"}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "z"}), Int(0));
  EXPECT_EQ(Run({"GET", "a"}), Bulk("1"));
  EXPECT_EQ(Run({"MSETNX", "y", "1", "z", "2"}), Int(1));
  EXPECT_EQ(Run({"MGET", "y", "z"}), Arr({Bulk("1"), Bulk("2")}));
  EXPECT_EQ(Run({"MSETNX", "y"}), WrongArgs("msetnx"));
  EXPECT_EQ(Run({"MSETNX", "q", "1", "q"}), WrongArgs("msetnx"));
  // MSET overwrites and drops TTLs.
  EXPECT_EQ(Run({"SET", "t", "v", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"MSET", "t", "w"}), kOk);
  EXPECT_EQ(Run({"TTL", "t"}), Int(-1));
}

TEST_F(Commands, AppendAndStrLen) {
  EXPECT_EQ(Run({"APPEND", "s", "hello"}), Int(5));
  EXPECT_EQ(Run({"APPEND", "s", " world"}), Int(11));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("hello world"));
  EXPECT_EQ(Run({"STRLEN", "s"}), Int(11));
  EXPECT_EQ(Run({"STRLEN", "nokey"}), Int(0));
}

TEST_F(Commands, GetRangeClampsLikeRedis) {
  EXPECT_EQ(Run({"SET", "s", "hello world"}), kOk);
  EXPECT_EQ(Run({"GETRANGE", "s", "0", "4"}), Bulk("hello"));
  EXPECT_EQ(Run({"GETRANGE", "s", "-5", "-1"}), Bulk("world"));
  EXPECT_EQ(Run({"GETRANGE", "s", "5", "2"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "s", "-1", "-5"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "s", "0", "100"}), Bulk("hello world"));
  EXPECT_EQ(Run({"GETRANGE", "s", "-100", "2"}), Bulk("hel"));
  EXPECT_EQ(Run({"GETRANGE", "s", "100", "200"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "nokey", "0", "-1"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "s", "a", "1"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "e", ""}), kOk);
  EXPECT_EQ(Run({"GETRANGE", "e", "0", "-1"}), Bulk(""));
}

TEST_F(Commands, SetRangeOverwritesAndPads) {
  EXPECT_EQ(Run({"SET", "s", "hello world"}), kOk);
  EXPECT_EQ(Run({"SETRANGE", "s", "6", "WORLD"}), Int(11));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("hello WORLD"));
  EXPECT_EQ(Run({"SETRANGE", "pad", "3", "x"}), Int(4));
  EXPECT_EQ(Run({"GET", "pad"}), Bulk("\0\0\0x"s));
  EXPECT_EQ(Run({"SETRANGE", "s", "-1", "x"}), Err("ERR offset is out of range"));
  EXPECT_EQ(Run({"SETRANGE", "s", "0", ""}), Int(11));
  EXPECT_EQ(Run({"SETRANGE", "nokey", "5", ""}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "nokey"}), Int(0));
  EXPECT_EQ(Run({"SETRANGE", "s", "536870912", "x"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  // An offset whose sum with the length passes 2^63 (a crash: the size
  // compared as a negative int64, then a 2^63-byte resize threw).
  EXPECT_EQ(Run({"SETRANGE", "s", "9223372036854775807", "x"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(Run({"SETRANGE", "nokey", "9223372036854775807", "x"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("hello WORLD"));
  EXPECT_EQ(Run({"SETRANGE", "s", "x", "y"}), kNotIntErr);
}

TEST_F(Commands, IncrDecrFamily) {
  EXPECT_EQ(Run({"INCR", "n"}), Int(1));
  EXPECT_EQ(Run({"DECR", "m"}), Int(-1));
  EXPECT_EQ(Run({"SET", "n", "10"}), kOk);
  EXPECT_EQ(Run({"INCR", "n"}), Int(11));
  EXPECT_EQ(Run({"DECR", "n"}), Int(10));
  EXPECT_EQ(Run({"INCRBY", "n", "5"}), Int(15));
  EXPECT_EQ(Run({"DECRBY", "n", "3"}), Int(12));
  EXPECT_EQ(Run({"INCRBY", "n", "-20"}), Int(-8));
  EXPECT_EQ(Run({"GET", "n"}), Bulk("-8"));
  EXPECT_EQ(Run({"INCRBY", "n", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"INCRBY", "n", "1.5"}), kNotIntErr);
}

TEST_F(Commands, IncrRefusesNonIntegersAndOverflow) {
  EXPECT_EQ(Run({"SET", "s", "hello"}), kOk);
  EXPECT_EQ(Run({"INCR", "s"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "sp", " 1"}), kOk);
  EXPECT_EQ(Run({"INCR", "sp"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "lz", "01"}), kOk);
  EXPECT_EQ(Run({"INCR", "lz"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "big", "9223372036854775807"}), kOk);
  EXPECT_EQ(Run({"INCR", "big"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"GET", "big"}), Bulk("9223372036854775807"));
  EXPECT_EQ(Run({"SET", "small", "-9223372036854775808"}), kOk);
  EXPECT_EQ(Run({"DECR", "small"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"DECRBY", "small", "-9223372036854775808"}),
            Err("ERR decrement would overflow"));
}

TEST_F(Commands, IncrementsKeepTheTtl) {
  EXPECT_EQ(Run({"SET", "k", "1", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"INCR", "k"}), Int(2));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"APPEND", "k", "0"}), Int(2));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"SETRANGE", "k", "0", "5"}), Int(2));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"INCRBYFLOAT", "k", "1"}), Bulk("51"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
}

TEST_F(Commands, IncrByFloatFormatsLikeRedis) {
  EXPECT_EQ(Run({"SET", "f", "10.5"}), kOk);
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.1"}), Bulk("10.6"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "-5"}), Bulk("5.6"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f3", "0.1"}), Bulk("0.1"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f3", "0.2"}), Bulk("0.3"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "nf", "3.0e3"}), Bulk("3000"));
  EXPECT_EQ(Run({"SET", "f2", "5.0e3"}), kOk);
  EXPECT_EQ(Run({"INCRBYFLOAT", "f2", "2.0e2"}), Bulk("5200"));
  EXPECT_EQ(Run({"SET", "f4", "1"}), kOk);
  EXPECT_EQ(Run({"INCRBYFLOAT", "f4", "-1"}), Bulk("0"));
  EXPECT_EQ(Run({"SET", "bigf", "1e17"}), kOk);
  EXPECT_EQ(Run({"INCRBYFLOAT", "bigf", "1"}), Bulk("100000000000000001"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "abc"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"SET", "s", "hello"}), kOk);
  EXPECT_EQ(Run({"INCRBYFLOAT", "s", "1"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "nf2", "inf"}),
            Err("ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Run({"EXISTS", "nf2"}), Int(0));
}

// ---- Keys --------------------------------------------------------------------------

TEST_F(Commands, SubstrIsGetRangeUnderItsOldName) {
  EXPECT_EQ(Run({"SET", "s", "hello world"}), kOk);
  EXPECT_EQ(Run({"SUBSTR", "s", "-5", "-1"}), Bulk("world"));
  EXPECT_EQ(Run({"SUBSTR", "s", "0"}),
            Err("ERR wrong number of arguments for 'substr' command"));
}

// The examples of Redis's LCS documentation.
TEST_F(Commands, LcsFindsTheLongestCommonSubsequence) {
  EXPECT_EQ(Run({"MSET", "key1", "ohmytext", "key2", "mynewtext"}), kOk);
  EXPECT_EQ(Run({"LCS", "key1", "key2"}), Bulk("mytext"));
  EXPECT_EQ(Run({"LCS", "key1", "key2", "LEN"}), Int(6));
  EXPECT_EQ(Run({"LCS", "key1", "key2", "IDX"}),
            "*4\r\n$7\r\nmatches\r\n*2\r\n"
            "*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
            "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
            "$3\r\nlen\r\n:6\r\n");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"}),
            "*4\r\n$7\r\nmatches\r\n*1\r\n"
            "*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
            "$3\r\nlen\r\n:6\r\n");
  EXPECT_EQ(Run({"LCS", "key1", "nokey"}), Bulk(""));  // a missing key is ""
  EXPECT_EQ(Run({"LCS", "key1", "key2", "IDX", "LEN"}),
            Err("ERR If you want both the length and indexes, please just use IDX."));
  EXPECT_EQ(Run({"LCS", "key1", "key2", "MINMATCHLEN", "x"}), kNotIntErr);
  EXPECT_EQ(Run({"LCS", "key1", "key2", "MINMATCHLEN"}), kSyntaxErr);
  EXPECT_EQ(Run({"LCS", "key1"}), Err("ERR wrong number of arguments for 'lcs' command"));
}

// The table is (|a| + 1) x (|b| + 1) cells of 4 bytes, which a client asks
// for: at most proto-max-bulk-len of them (as Redis 7.2).
TEST_F(Commands, LcsRefusesATableOverProtoMaxBulkLen) {
  EXPECT_EQ(Run({"CONFIG", "SET", "proto-max-bulk-len", "1mb"}), kOk);
  EXPECT_EQ(Run({"SET", "a", std::string(511, 'x')}), kOk);
  EXPECT_EQ(Run({"SET", "b", std::string(511, 'x')}), kOk);
  EXPECT_EQ(Run({"LCS", "a", "b", "LEN"}), Int(511));  // 512 * 512 * 4 = 1 MB
  EXPECT_EQ(Run({"SET", "b", std::string(512, 'x')}), kOk);
  EXPECT_EQ(Run({"LCS", "a", "b", "LEN"}),
            Err("ERR Insufficient memory, transient memory for LCS exceeds "
                "proto-max-bulk-len"));
}

TEST_F(Commands, TouchCountsTheKeysThatExist) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), kOk);
  EXPECT_EQ(Run({"TOUCH", "a", "b", "nokey", "a"}), Int(3));
  EXPECT_EQ(Run({"SET", "gone", "x", "PX", "1"}), kOk);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Run({"TOUCH", "gone"}), Int(0));  // expired: not there
  EXPECT_EQ(Run({"TOUCH"}), Err("ERR wrong number of arguments for 'touch' command"));
  EXPECT_EQ(Run({"GET", "a"}), Bulk("1"));  // a read, nothing changed
}

TEST_F(Commands, DelUnlinkExistsType) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2", "c", "3"}), kOk);
  EXPECT_EQ(Run({"DEL", "a", "b", "nokey"}), Int(2));
  EXPECT_EQ(Run({"UNLINK", "c"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "a", "c"}), Int(0));
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"EXISTS", "a", "a", "nokey"}), Int(2));
  EXPECT_EQ(Run({"TYPE", "a"}), "+string\r\n");
  EXPECT_EQ(Run({"TYPE", "nokey"}), "+none\r\n");
  EXPECT_EQ(Run({"DEL", "a", "a"}), Int(1));
}

TEST_F(Commands, ExpireWithConditions) {
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"EXPIRE", "a", "100", "GT"}), Int(0));  // no TTL counts as infinite
  EXPECT_EQ(Run({"TTL", "a"}), Int(-1));
  EXPECT_EQ(Run({"EXPIRE", "a", "100", "XX"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "a", "100", "LT"}), Int(1));
  EXPECT_EQ(Run({"TTL", "a"}), Int(100));
  EXPECT_EQ(Run({"EXPIRE", "a", "100", "NX"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "a", "200", "XX"}), Int(1));
  EXPECT_EQ(Run({"EXPIRE", "a", "50", "GT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "a", "300", "gt"}), Int(1));
  EXPECT_EQ(Run({"EXPIRE", "a", "400", "LT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "a", "10", "LT"}), Int(1));
  EXPECT_EQ(Run({"TTL", "a"}), Int(10));
  EXPECT_EQ(Run({"EXPIRE", "nokey", "10"}), Int(0));
  EXPECT_EQ(Run({"SET", "b", "1"}), kOk);
  EXPECT_EQ(Run({"EXPIRE", "b", "10", "nx", "NX"}), Int(1));
}

TEST_F(Commands, ExpireRejectsBadOptions) {
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"EXPIRE", "a", "10", "NX", "XX"}),
            Err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"EXPIRE", "a", "10", "nx", "gt"}),
            Err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"EXPIRE", "a", "10", "GT", "LT"}),
            Err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(Run({"EXPIRE", "a", "10", "FOO"}), Err("ERR Unsupported option FOO"));
  EXPECT_EQ(Run({"EXPIRE", "a", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"EXPIRE", "a", "9223372036854775807"}), InvalidExpire("expire"));
  EXPECT_EQ(Run({"PEXPIRE", "a", "9223372036854775807"}), InvalidExpire("pexpire"));
  EXPECT_EQ(Run({"EXPIRE", "a"}), WrongArgs("expire"));
  EXPECT_EQ(Run({"TTL", "a"}), Int(-1));
}

TEST_F(Commands, ExpireInThePastDeletes) {
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"EXPIRE", "a", "-1"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"EXPIRE", "a", "0"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"EXPIREAT", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"GET", "a"}), kNull);
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"PEXPIREAT", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"GET", "a"}), kNull);
}

TEST_F(Commands, TtlFamilyAndPersist) {
  EXPECT_EQ(Run({"TTL", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"PTTL", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"EXPIRETIME", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"PEXPIRETIME", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"TTL", "a"}), Int(-1));
  EXPECT_EQ(Run({"PTTL", "a"}), Int(-1));
  EXPECT_EQ(Run({"EXPIRETIME", "a"}), Int(-1));
  EXPECT_EQ(Run({"PEXPIRETIME", "a"}), Int(-1));
  EXPECT_EQ(Run({"PEXPIRE", "a", "100000"}), Int(1));
  int64_t pttl = IntOf(Run({"PTTL", "a"}));
  EXPECT_GT(pttl, 99000);
  EXPECT_LE(pttl, 100000);
  EXPECT_EQ(Run({"EXPIREAT", "a", "4102444800"}), Int(1));
  EXPECT_EQ(Run({"EXPIRETIME", "a"}), Int(4102444800));
  EXPECT_EQ(Run({"PEXPIRETIME", "a"}), Int(4102444800000));
  EXPECT_EQ(Run({"PEXPIREAT", "a", "4102444800123"}), Int(1));
  EXPECT_EQ(Run({"PEXPIRETIME", "a"}), Int(4102444800123));
  EXPECT_EQ(Run({"EXPIRETIME", "a"}), Int(4102444800));
  EXPECT_EQ(Run({"PERSIST", "a"}), Int(1));
  EXPECT_EQ(Run({"PERSIST", "a"}), Int(0));
  EXPECT_EQ(Run({"PERSIST", "nokey"}), Int(0));
  EXPECT_EQ(Run({"TTL", "a"}), Int(-1));
}

TEST_F(Commands, ExpireTimeRoundsToTheNearestSecond) {
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"PEXPIREAT", "a", "4102444800499"}), Int(1));
  EXPECT_EQ(Run({"EXPIRETIME", "a"}), Int(4102444800));
  EXPECT_EQ(Run({"PEXPIREAT", "a", "4102444800500"}), Int(1));
  EXPECT_EQ(Run({"EXPIRETIME", "a"}), Int(4102444801));
  // The largest expiry neither overflows nor turns negative.
  EXPECT_EQ(Run({"PEXPIREAT", "a", "9223372036854775807"}), Int(1));
  EXPECT_EQ(Run({"PEXPIRETIME", "a"}), Int(INT64_MAX));
  EXPECT_EQ(Run({"EXPIRETIME", "a"}), Int(9223372036854776));
  EXPECT_GT(IntOf(Run({"TTL", "a"})), 9223370000000000);
  EXPECT_GT(IntOf(Run({"PTTL", "a"})), 9223370000000000000);
}

std::multiset<std::string> Strings(const Resp& arr) {
  std::multiset<std::string> out;
  for (const Resp& e : arr.elems) out.insert(e.str);
  return out;
}

TEST_F(Commands, KeysMatchesAGlob) {
  EXPECT_EQ(Run({"MSET", "h1", "a", "h2", "b", "x", "c", "hello", "d"}), kOk);
  EXPECT_EQ(Strings(ParseOne(Run({"KEYS", "h?"}))),
            (std::multiset<std::string>{"h1", "h2"}));
  EXPECT_EQ(Strings(ParseOne(Run({"KEYS", "*"}))),
            (std::multiset<std::string>{"h1", "h2", "x", "hello"}));
  EXPECT_EQ(Strings(ParseOne(Run({"KEYS", "h[^1]*"}))),
            (std::multiset<std::string>{"h2", "hello"}));
  EXPECT_EQ(Run({"KEYS", "nomatch*"}), "*0\r\n");
}

TEST_F(Commands, ScanVisitsEveryKeyWithCountAndMatch) {
  std::set<std::string> all, odd;
  for (int i = 0; i < 500; ++i) {
    std::string k = "key:" + std::to_string(i);
    ASSERT_EQ(Run({"SET", k, "v"}), kOk);
    all.insert(k);
    if (i % 2) odd.insert(k);
  }
  for (const char* count : {"1", "7", "10", "1000"}) {
    SCOPED_TRACE(count);
    std::string cursor = "0";
    std::set<std::string> seen;
    int calls = 0;
    do {
      Resp r = ParseOne(Run({"SCAN", cursor, "COUNT", count}));
      ASSERT_EQ(r.type, '*');
      ASSERT_EQ(r.elems.size(), 2u);
      cursor = r.elems[0].str;
      for (const Resp& k : r.elems[1].elems) seen.insert(k.str);
      ASSERT_LT(++calls, 5000);
    } while (cursor != "0");
    EXPECT_EQ(seen, all);
    if (std::string(count) == "1") {
      EXPECT_GT(calls, 50);
    }
  }
  // MATCH filters the keys each call returns.
  std::string cursor = "0";
  std::set<std::string> seen;
  do {
    Resp r = ParseOne(Run({"SCAN", cursor, "MATCH", "key:*[13579]", "COUNT", "50"}));
    cursor = r.elems[0].str;
    for (const Resp& k : r.elems[1].elems) seen.insert(k.str);
  } while (cursor != "0");
  EXPECT_EQ(seen, odd);
}

TEST_F(Commands, ScanTypeFilterAndErrors) {
  EXPECT_EQ(Run({"MSET", "h1", "a", "x", "c"}), kOk);
  EXPECT_EQ(Run({"SCAN", "0", "MATCH", "x", "COUNT", "100"}),
            Arr({Bulk("0"), Arr({Bulk("x")})}));
  EXPECT_EQ(Run({"SCAN", "0", "TYPE", "hash"}), Arr({Bulk("0"), "*0\r\n"}));
  EXPECT_EQ(Run({"SCAN", "0", "TYPE", "string", "MATCH", "x"}),
            Arr({Bulk("0"), Arr({Bulk("x")})}));
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "0"}), kSyntaxErr);
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "-1"}), kSyntaxErr);
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"SCAN", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", " 0"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", "0x"}), Err("ERR invalid cursor"));
  // Parsed like Redis's strtoul: a sign and an empty cursor are accepted.
  EXPECT_EQ(Run({"SCAN", "+0", "MATCH", "x"}), Arr({Bulk("0"), Arr({Bulk("x")})}));
  EXPECT_EQ(Run({"SCAN", "", "MATCH", "x"}), Arr({Bulk("0"), Arr({Bulk("x")})}));
  EXPECT_EQ(ParseOne(Run({"SCAN", "-1"})).elems.size(), 2u);
  EXPECT_EQ(Run({"SCAN", "18446744073709551616"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", "0", "MATCH"}), kSyntaxErr);
  EXPECT_EQ(Run({"SCAN", "0", "FOO", "bar"}), kSyntaxErr);
}

TEST_F(Commands, RandomKeyPicksAnExistingKey) {
  EXPECT_EQ(Run({"RANDOMKEY"}), kNull);
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2", "c", "3"}), kOk);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    Resp r = ParseOne(Run({"RANDOMKEY"}));
    ASSERT_EQ(r.type, '$');
    seen.insert(r.str);
  }
  for (const auto& k : seen) EXPECT_TRUE(k == "a" || k == "b" || k == "c") << k;
  EXPECT_GE(seen.size(), 2u);
  EXPECT_EQ(Run({"FLUSHDB"}), kOk);
  EXPECT_EQ(Run({"RANDOMKEY"}), kNull);
}

TEST_F(Commands, RenameAndRenameNx) {
  EXPECT_EQ(Run({"RENAME", "nokey", "y"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"RENAMENX", "nokey", "y"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"MSET", "x", "c", "h1", "a"}), kOk);
  EXPECT_EQ(Run({"RENAME", "x", "y"}), kOk);
  EXPECT_EQ(Run({"GET", "y"}), Bulk("c"));
  EXPECT_EQ(Run({"EXISTS", "x"}), Int(0));
  EXPECT_EQ(Run({"RENAME", "y", "y"}), kOk);
  EXPECT_EQ(Run({"RENAMENX", "y", "y"}), Int(0));
  EXPECT_EQ(Run({"RENAMENX", "y", "h1"}), Int(0));
  EXPECT_EQ(Run({"GET", "h1"}), Bulk("a"));
  EXPECT_EQ(Run({"RENAMENX", "y", "z"}), Int(1));
  EXPECT_EQ(Run({"GET", "z"}), Bulk("c"));
  // RENAME replaces the destination and carries the TTL.
  EXPECT_EQ(Run({"SET", "t", "v", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"RENAME", "t", "h1"}), kOk);
  EXPECT_EQ(Run({"GET", "h1"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "h1"}), Int(100));
}

TEST_F(Commands, CopyWithDbAndReplace) {
  EXPECT_EQ(Run({"SET", "z", "c"}), kOk);
  EXPECT_EQ(Run({"COPY", "z", "z"}),
            Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"COPY", "z", "z2"}), Int(1));
  EXPECT_EQ(Run({"COPY", "z", "z2"}), Int(0));
  EXPECT_EQ(Run({"SET", "z", "d"}), kOk);
  EXPECT_EQ(Run({"COPY", "z", "z2", "REPLACE"}), Int(1));
  EXPECT_EQ(Run({"GET", "z2"}), Bulk("d"));
  EXPECT_EQ(Run({"COPY", "nokey", "z3"}), Int(0));
  EXPECT_EQ(Run({"COPY", "z", "z", "DB", "1"}), Int(1));
  EXPECT_EQ(Run({"COPY", "z", "z", "DB", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"COPY", "z", "z", "DB", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"COPY", "z", "z", "DB"}), kSyntaxErr);
  EXPECT_EQ(Run({"COPY", "z", "z", "FOO"}), kSyntaxErr);
  EXPECT_EQ(Run({"SET", "t", "v", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"COPY", "t", "t3"}), Int(1));
  EXPECT_EQ(Run({"TTL", "t3"}), Int(100));
  EXPECT_EQ(Run({"SELECT", "1"}), kOk);
  EXPECT_EQ(Run({"GET", "z"}), Bulk("d"));
}

TEST_F(Commands, MoveBetweenDatabases) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), kOk);
  EXPECT_EQ(Run({"MOVE", "k", "0"}),
            Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"MOVE", "k", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"MOVE", "k", "abc"}), kNotIntErr);
  EXPECT_EQ(Run({"MOVE", "nokey", "1"}), Int(0));
  EXPECT_EQ(Run({"MOVE", "k", "1"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"SET", "k", "again"}), kOk);
  EXPECT_EQ(Run({"MOVE", "k", "1"}), Int(0));  // already there
  EXPECT_EQ(Run({"GET", "k"}), Bulk("again"));
  EXPECT_EQ(Run({"SELECT", "1"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
}

TEST_F(Commands, SelectSwitchesNamespace) {
  EXPECT_EQ(Run({"SET", "k", "db0"}), kOk);
  EXPECT_EQ(Run({"SELECT", "1"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kNull);
  EXPECT_EQ(Run({"SET", "k", "db1"}), kOk);
  EXPECT_EQ(Run({"SELECT", "0"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("db0"));
  EXPECT_EQ(Run({"SELECT", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SELECT", "-1"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SELECT", "abc"}), kNotIntErr);
  EXPECT_EQ(client_->db.load(), 0);
}

TEST_F(Commands, DbSizeFlushDbFlushAllSwapDb) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), kOk);
  EXPECT_EQ(Run({"SELECT", "1"}), kOk);
  EXPECT_EQ(Run({"SET", "c", "3"}), kOk);
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));
  EXPECT_EQ(Run({"SWAPDB", "0", "1"}), kOk);
  EXPECT_EQ(Run({"DBSIZE"}), Int(2));
  EXPECT_EQ(Run({"GET", "a"}), Bulk("1"));
  EXPECT_EQ(Run({"SWAPDB", "0", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SWAPDB", "a", "1"}), Err("ERR invalid first DB index"));
  EXPECT_EQ(Run({"SWAPDB", "0", "b"}), Err("ERR invalid second DB index"));
  EXPECT_EQ(Run({"SWAPDB", "1", "1"}), kOk);
  EXPECT_EQ(Run({"DBSIZE"}), Int(2));
  EXPECT_EQ(Run({"FLUSHDB", "FOO"}), kSyntaxErr);
  EXPECT_EQ(Run({"FLUSHDB", "SYNC", "x"}), kSyntaxErr);
  EXPECT_EQ(Run({"FLUSHDB", "ASYNC"}), kOk);
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"SELECT", "0"}), kOk);
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));  // the flush touched db 1 only
  EXPECT_EQ(Run({"FLUSHALL", "SYNC"}), kOk);
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"FLUSHALL"}), kOk);
}

// ---- Transactions ------------------------------------------------------------------

TEST_F(Commands, MultiExecRunsTheQueueInOrder) {
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "a", "1"}), kQueued);
  EXPECT_EQ(Run({"INCR", "a"}), kQueued);
  EXPECT_EQ(Run({"GET", "a"}), kQueued);
  EXPECT_EQ(Run({"PING"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kOk, Int(2), Bulk("2"), "+PONG\r\n"}));
  EXPECT_EQ(Run({"EXEC"}), Err("ERR EXEC without MULTI"));
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"EXEC"}), "*0\r\n");
}

TEST_F(Commands, MultiErrorsAndDiscard) {
  EXPECT_EQ(Run({"DISCARD"}), Err("ERR DISCARD without MULTI"));
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), Err("ERR MULTI calls can not be nested"));
  EXPECT_EQ(Run({"WATCH", "a"}), Err("ERR WATCH inside MULTI is not allowed"));
  EXPECT_EQ(Run({"SET", "x", "1"}), kQueued);
  EXPECT_EQ(Run({"DISCARD"}), kOk);
  EXPECT_EQ(Run({"GET", "x"}), kNull);
  EXPECT_EQ(Run({"EXEC"}), Err("ERR EXEC without MULTI"));
}

TEST_F(Commands, QueuedSyntaxErrorAbortsExec) {
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "a", "1"}), kQueued);
  EXPECT_EQ(Run({"SET", "a"}), WrongArgs("set"));
  EXPECT_EQ(Run({"EXEC"}),
            Err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_EQ(Run({"GET", "a"}), kNull);

  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"NOSUCH"}),
            Err("ERR unknown command 'NOSUCH', with args beginning with: "));
  EXPECT_EQ(Run({"EXEC"}),
            Err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_EQ(Run({"EXEC"}), Err("ERR EXEC without MULTI"));
}

TEST_F(Commands, RuntimeErrorsInsideExecDoNotStopTheRest) {
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"INCR", "s"}), kQueued);
  EXPECT_EQ(Run({"SET", "s", "abc"}), kQueued);
  EXPECT_EQ(Run({"INCR", "s"}), kQueued);
  EXPECT_EQ(Run({"GET", "s"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({Int(1), kOk, kNotIntErr, Bulk("abc")}));
}

TEST_F(Commands, AuthHelloConfigAndClientAreQueuedInsideMulti) {
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"CONFIG", "SET", "hz", "20"}), kQueued);
  EXPECT_EQ(config_.Int(Cfg::kHz), 10);  // not yet
  EXPECT_EQ(Run({"CLIENT", "ID"}), kQueued);
  EXPECT_EQ(Run({"AUTH", "x"}), kQueued);
  EXPECT_EQ(Run({"HELLO", "3"}), kQueued);
  EXPECT_EQ(client_->resp.load(), 2);
  EXPECT_EQ(Run({"GET", "nokey"}), kQueued);
  // HELLO switches the protocol mid-EXEC: the following replies are RESP3.
  EXPECT_EQ(Run({"EXEC"}),
            "*5\r\n" + kOk + Int(static_cast<int64_t>(client_->id)) +
                Err("ERR AUTH <password> called without any password configured for the "
                    "default user. Are you sure your configuration is correct?") +
                HelloReply(3, client_->id) + "_\r\n");
  EXPECT_EQ(config_.Int(Cfg::kHz), 20);
  EXPECT_EQ(client_->resp.load(), 3);
}

TEST_F(Commands, ShutdownIsRefusedInsideMulti) {
  bool shut = false;
  ctx_.shutdown = [&] { shut = true; };
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "v"}), kQueued);
  EXPECT_EQ(Run({"SHUTDOWN", "NOSAVE"}),
            Err("ERR Command not allowed inside a transaction"));
  EXPECT_EQ(Run({"EXEC"}),
            Err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_FALSE(shut);
  EXPECT_EQ(Run({"GET", "k"}), kNull);
}

TEST_F(Commands, SelectInsideMultiLasts) {
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SELECT", "1"}), kQueued);
  EXPECT_EQ(Run({"SET", "k", "v"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kOk, kOk}));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"SELECT", "0"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kNull);
}

TEST_F(Commands, WatchedKeyChangedByAnotherClientAbortsExec) {
  auto other = NewClient();
  EXPECT_EQ(Run({"SET", "k", "1"}), kOk);
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "2"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "3"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(Run({"GET", "k"}), Bulk("2"));
  // The failed EXEC also dropped the WATCH.
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "3"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kOk}));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("3"));
}

TEST_F(Commands, WatchedMissingKeyCreatedByAnotherClientAbortsExec) {
  auto other = NewClient();
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"INCR", "k"}), Int(1));
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"INCR", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(Run({"GET", "k"}), Bulk("1"));
}

TEST_F(Commands, WatchSucceedsWhenNothingChanged) {
  auto other = NewClient();
  EXPECT_EQ(Run({"SET", "k", "1"}), kOk);
  EXPECT_EQ(Run({"WATCH", "k", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "unrelated", "x"}), kOk);
  EXPECT_EQ(Run(*other, {"GET", "k"}), Bulk("1"));
  EXPECT_EQ(Run(*other, {"SELECT", "1"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "other-db"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"INCR", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({Int(2)}));
}

TEST_F(Commands, UnwatchAndDiscardForgetWatchedKeys) {
  auto other = NewClient();
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run({"UNWATCH"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "2"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({Bulk("2")}));

  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"DISCARD"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "3"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({Bulk("3")}));
}

TEST_F(Commands, OwnChangeToAWatchedKeyAbortsExec) {
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "mine"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
}

TEST_F(Commands, FlushAllByAnotherClientAbortsWatchers) {
  auto other = NewClient();
  EXPECT_EQ(Run({"SET", "k", "1"}), kOk);
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"FLUSHALL"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "2"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
}

// Redis 7: FLUSHDB, FLUSHALL and SWAPDB change a watched key only if it
// exists (in either database, for SWAPDB).
TEST_F(Commands, FlushOfAWatchedKeyThatDoesNotExistLeavesExecAlone) {
  auto other = NewClient();
  EXPECT_EQ(Run({"SET", "unwatched", "1"}), kOk);
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"FLUSHDB"}), kOk);
  EXPECT_EQ(Run(*other, {"FLUSHALL"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "2"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kOk}));
}

TEST_F(Commands, FlushOfAnotherDatabaseLeavesAWatchedKeyAlone) {
  auto other = NewClient();
  EXPECT_EQ(Run({"SET", "k", "1"}), kOk);
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"SELECT", "1"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "in db 1"}), kOk);
  EXPECT_EQ(Run(*other, {"FLUSHDB"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({Bulk("1")}));
}

TEST_F(Commands, SwapDbAbortsWatchersOfAKeyInEitherDatabase) {
  auto other = NewClient();
  EXPECT_EQ(Run(*other, {"SELECT", "1"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "from db 1"}), kOk);
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);  // absent in db 0, present in db 1
  EXPECT_EQ(Run(*other, {"SWAPDB", "0", "1"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");

  EXPECT_EQ(Run({"WATCH", "absent"}), kOk);  // in neither
  EXPECT_EQ(Run(*other, {"SWAPDB", "0", "1"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kNull}));
}

TEST_F(Commands, FlushOfAWatchedKeyThatExpiredLeavesExecAlone) {
  auto other = NewClient();
  EXPECT_EQ(Run({"SET", "k", "1", "PX", "1"}), kOk);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);  // already expired: no change to see
  EXPECT_EQ(Run(*other, {"FLUSHDB"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kNull}));
}

TEST_F(Commands, ExecWithArgumentsDiscardsTheTransaction) {
  const std::string abort =
      Err("EXECABORT Transaction discarded because of: wrong number of arguments for "
          "'exec' command");
  EXPECT_EQ(Run({"EXEC", "a"}), abort);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "1"}), kQueued);
  EXPECT_EQ(Run({"exec", "a"}), abort);
  EXPECT_EQ(Run({"EXEC"}), Err("ERR EXEC without MULTI"));
  EXPECT_EQ(Run({"GET", "k"}), kNull);
}

// Redis reads database numbers as an int (getIntFromObjectOrReply).
TEST_F(Commands, DatabaseNumbersOutsideAnIntGetRedisErrors) {
  const std::string range =
      Err("ERR value is out of range, value must between -2147483648 and 2147483647");
  EXPECT_EQ(Run({"SELECT", "2147483648"}), range);
  EXPECT_EQ(Run({"SELECT", "-2147483649"}), range);
  EXPECT_EQ(Run({"SELECT", "2147483647"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SELECT", "x"}), kNotIntErr);
  EXPECT_EQ(Run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(Run({"MOVE", "a", "4294967296"}), range);
  EXPECT_EQ(Run({"COPY", "a", "b", "DB", "2147483648"}), range);
  EXPECT_EQ(Run({"SWAPDB", "-9223372036854775808", "1.0"}),
            Err("ERR invalid first DB index"));
  EXPECT_EQ(Run({"SWAPDB", "0", "-2147483649"}), Err("ERR invalid second DB index"));
  EXPECT_EQ(Run({"SWAPDB", "0", "2147483647"}), Err("ERR DB index is out of range"));
}

TEST_F(Commands, CommandGetKeysNamesTheKeysACommandWouldTouch) {
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"}),
            Arr({Bulk("a"), Bulk("b")}));
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "get", "k"}), Arr({Bulk("k")}));
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "nosuch", "k"}),
            Err("ERR Invalid command specified"));
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "PING", "x"}),
            Err("ERR The command has no key arguments"));
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "PING"}), WrongArgs("command|getkeys"));
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "GET", "a", "b"}),
            Err("ERR Invalid number of arguments specified for command"));
  EXPECT_EQ(Run({"COMMAND", "GETKEYS"}), WrongArgs("command|getkeys"));
}

TEST_F(Commands, WaitNamesItsBadTimeout) {
  EXPECT_EQ(Run({"WAIT", "0", "abc"}),
            Err("ERR timeout is not an integer or out of range"));
  EXPECT_EQ(Run({"WAIT", "0", "-1"}), Err("ERR timeout is negative"));
  EXPECT_EQ(Run({"WAIT", "x", "0"}), kNotIntErr);
}

TEST_F(Commands, AbortedExecIsANullInResp3) {
  auto other = NewClient();
  ASSERT_EQ(ParseOne(Run({"HELLO", "3"})).type, '%');
  EXPECT_EQ(Run({"WATCH", "k"}), kOk);
  EXPECT_EQ(Run(*other, {"SET", "k", "2"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), "_\r\n");
}

// ---- Connection ---------------------------------------------------------------------

TEST_F(Commands, PingAndEcho) {
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"PING", "hello"}), Bulk("hello"));
  EXPECT_EQ(Run({"PING", "a", "b"}), WrongArgs("ping"));
  EXPECT_EQ(Run({"ECHO", "x y"}), Bulk("x y"));
  EXPECT_EQ(Run({"ECHO", ""}), Bulk(""));
}

TEST_F(Commands, HelloSwitchesRepliesToResp3AndBack) {
  EXPECT_EQ(Run({"HELLO", "3"}), HelloReply(3, client_->id));
  EXPECT_EQ(client_->resp.load(), 3);
  EXPECT_EQ(Run({"GET", "nokey"}), "_\r\n");
  EXPECT_EQ(Run({"MGET", "nokey"}), "*1\r\n_\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "port"}), "%1\r\n" + Bulk("port") + Bulk("6379"));
  EXPECT_EQ(Run({"SET", "f", "1"}), kOk);
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.5"}), Bulk("1.5"));
  EXPECT_EQ(Run({"HELLO", "2"}), HelloReply(2, client_->id));
  EXPECT_EQ(Run({"GET", "nokey"}), kNull);
  EXPECT_EQ(Run({"CONFIG", "GET", "port"}), Arr({Bulk("port"), Bulk("6379")}));
  // Without a version HELLO reports the current protocol.
  EXPECT_EQ(Run({"HELLO"}), HelloReply(2, client_->id));
}

TEST_F(Commands, HelloRejectsBadArguments) {
  EXPECT_EQ(Run({"HELLO", "4"}), Err("NOPROTO unsupported protocol version"));
  EXPECT_EQ(Run({"HELLO", "1"}), Err("NOPROTO unsupported protocol version"));
  EXPECT_EQ(Run({"HELLO", "abc"}),
            Err("ERR Protocol version is not an integer or out of range"));
  EXPECT_EQ(Run({"HELLO", "3", "FOO"}), Err("ERR Syntax error in HELLO option 'FOO'"));
  EXPECT_EQ(Run({"HELLO", "3", "SETNAME"}),
            Err("ERR Syntax error in HELLO option 'SETNAME'"));
  EXPECT_EQ(
      Run({"HELLO", "3", "SETNAME", "a b"}),
      Err("ERR Client names cannot contain spaces, newlines or special characters."));
  EXPECT_EQ(client_->resp.load(), 2);
  EXPECT_EQ(Run({"HELLO", "2", "SETNAME", "myname"}), HelloReply(2, client_->id));
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), Bulk("myname"));
}

TEST_F(Commands, AuthWithoutRequirepassIsAnError) {
  EXPECT_EQ(Run({"AUTH", "x"}),
            Err("ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?"));
  EXPECT_EQ(Run({"AUTH", "a", "b", "c"}), kSyntaxErr);
}

TEST_F(Commands, RequirepassGatesCommandsUntilAuth) {
  ASSERT_TRUE(config_.Set("requirepass", "secret", true).ok());
  auto c = NewClient(/*authenticated=*/false);
  const std::string wrongpass =
      Err("WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Run(*c, {"GET", "k"}), Err("NOAUTH Authentication required."));
  EXPECT_EQ(Run(*c, {"SET", "k", "v"}), Err("NOAUTH Authentication required."));
  EXPECT_EQ(Run(*c, {"AUTH", "wrong"}), wrongpass);
  EXPECT_EQ(Run(*c, {"AUTH", "bob", "secret"}), wrongpass);
  EXPECT_EQ(Run(*c, {"AUTH", "default", "wrong"}), wrongpass);
  EXPECT_FALSE(c->authenticated);
  EXPECT_EQ(Run(*c, {"GET", "k"}), Err("NOAUTH Authentication required."));
  EXPECT_EQ(Run(*c, {"AUTH", "secret"}), kOk);
  EXPECT_TRUE(c->authenticated);
  EXPECT_EQ(Run(*c, {"GET", "k"}), kNull);

  auto d = NewClient(false);
  EXPECT_EQ(Run(*d, {"AUTH", "default", "secret"}), kOk);
  EXPECT_EQ(Run(*d, {"PING"}), "+PONG\r\n");
}

TEST_F(Commands, HelloCanAuthenticate) {
  ASSERT_TRUE(config_.Set("requirepass", "secret", true).ok());
  auto c = NewClient(/*authenticated=*/false);
  std::string noauth = Run(*c, {"HELLO", "3"});
  EXPECT_EQ(noauth.rfind(
                "-NOAUTH HELLO must be called with the client already authenticated", 0),
            0u)
      << noauth;
  EXPECT_EQ(c->resp.load(), 2);
  EXPECT_EQ(Run(*c, {"HELLO", "3", "AUTH", "default", "bad"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_FALSE(c->authenticated);
  EXPECT_EQ(Run(*c, {"HELLO", "3", "AUTH", "default", "secret"}), HelloReply(3, c->id));
  EXPECT_TRUE(c->authenticated);
  EXPECT_EQ(Run(*c, {"GET", "k"}), "_\r\n");
}

// ---- Server -------------------------------------------------------------------------

TEST_F(Commands, ConfigGetAndSet) {
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory"}), Arr({Bulk("maxmemory"), Bulk("0")}));
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "1mb"}), kOk);
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory"}),
            Arr({Bulk("maxmemory"), Bulk("1048576")}));
  EXPECT_EQ(config_.Int(Cfg::kMaxmemory), 1048576);
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "0"}), kOk);
  EXPECT_EQ(Run({"CONFIG", "GET", "nosuch"}), "*0\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "slaveof"}), Arr({Bulk("slaveof"), Bulk("")}));
  Resp two = ParseOne(Run({"CONFIG", "GET", "appendfsync", "hz"}));
  ASSERT_EQ(two.elems.size(), 4u);
  std::map<std::string, std::string> got;
  for (size_t i = 0; i + 1 < two.elems.size(); i += 2)
    got[two.elems[i].str] = two.elems[i + 1].str;
  EXPECT_EQ(got["appendfsync"], "everysec");
  EXPECT_EQ(got["hz"], "10");
  // An exact name is echoed as spelled; a pattern lists canonical names.
  EXPECT_EQ(Run({"CONFIG", "GET", "MAXMEMORY"}), Arr({Bulk("MAXMEMORY"), Bulk("0")}));
  EXPECT_EQ(Run({"CONFIG", "GET", "MAXMEM*"}), Arr({Bulk("maxmemory"), Bulk("0")}));
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory", "MAXMEMORY"}),
            Arr({Bulk("maxmemory"), Bulk("0")}));
  // Overlapping patterns list a directive once.
  Resp overlap = ParseOne(Run({"CONFIG", "GET", "port", "p*t"}));
  EXPECT_EQ(overlap.elems.size(), 2u);
}

TEST_F(Commands, ConfigSetErrorsAreWordedLikeRedis) {
  EXPECT_EQ(Run({"CONFIG", "SET", "nosuch", "1"}),
            Err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"));
  EXPECT_EQ(Run({"CONFIG", "SET", "hz", "abc"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'hz') - argument "
                "couldn't be parsed into an integer"));
  EXPECT_EQ(Run({"CONFIG", "SET", "protected-mode", "maybe"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'protected-mode') - "
                "argument must be 'yes' or 'no'"));
  EXPECT_EQ(
      Run({"CONFIG", "SET", "databases", "4"}),
      Err("ERR CONFIG SET failed (possibly related to argument 'databases') - can't "
          "set immutable config"));
  EXPECT_EQ(Run({"CONFIG", "SET", "hz", "10", "maxmemory"}), kSyntaxErr);
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "5mb", "maxmemory", "6mb"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
                "duplicate parameter"));
  EXPECT_EQ(config_.Int(Cfg::kMaxmemory), 0);
}

TEST_F(Commands, ConfigSetIsAllOrNothing) {
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "5mb", "hz", "abc"}),
            Err("ERR CONFIG SET failed (possibly related to argument 'hz') - argument "
                "couldn't be parsed into an integer"));
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory"}), Arr({Bulk("maxmemory"), Bulk("0")}));
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "5mb", "hz", "20"}), kOk);
  EXPECT_EQ(config_.Int(Cfg::kMaxmemory), 5 * 1024 * 1024);
  EXPECT_EQ(config_.Int(Cfg::kHz), 20);
}

TEST_F(Commands, ClientNameAndId) {
  EXPECT_EQ(Run({"CLIENT", "ID"}), Int(static_cast<int64_t>(client_->id)));
  auto other = NewClient();
  EXPECT_NE(IntOf(Run(*other, {"CLIENT", "ID"})), IntOf(Run({"CLIENT", "ID"})));
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), kNull);
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "worker-1"}), kOk);
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), Bulk("worker-1"));
  EXPECT_EQ(Run(*other, {"CLIENT", "GETNAME"}), kNull);
  EXPECT_EQ(
      Run({"CLIENT", "SETNAME", "a b"}),
      Err("ERR Client names cannot contain spaces, newlines or special characters."));
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), Bulk("worker-1"));
  EXPECT_EQ(Run({"CLIENT", "SETNAME", ""}), kOk);
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), kNull);
}

// COMMAND COUNT counts commands; COMMAND LIST names subcommands too
// ("config|get"), as Redis's does.
TEST_F(Commands, CommandCountMatchesCommandList) {
  int64_t count = IntOf(Run({"COMMAND", "COUNT"}));
  Resp list = ParseOne(Run({"COMMAND", "LIST"}));
  EXPECT_EQ(count, static_cast<int64_t>(table_.all().size()));
  std::set<std::string> names;
  for (const Resp& n : list.elems) names.insert(n.str);
  int64_t top_level = 0;
  for (const std::string& n : names) top_level += n.find('|') == std::string::npos;
  EXPECT_EQ(count, top_level);
  for (const char* want :
       {"get", "set", "multi", "exec", "watch", "hello", "config", "scan", "config|get",
        "client|list", "command|getkeysandflags"}) {
    EXPECT_EQ(names.count(want), 1u) << want;
  }
}

TEST_F(Commands, TimeIsNowInSecondsAndMicroseconds) {
  Resp r = ParseOne(Run({"TIME"}));
  ASSERT_EQ(r.type, '*');
  ASSERT_EQ(r.elems.size(), 2u);
  int64_t secs = std::stoll(r.elems[0].str);
  int64_t micros = std::stoll(r.elems[1].str);
  EXPECT_LE(std::llabs(secs - static_cast<int64_t>(std::time(nullptr))), 2);
  EXPECT_GE(micros, 0);
  EXPECT_LT(micros, 1000000);
}

TEST_F(Commands, InfoReportsVersionAndKeyspace) {
  EXPECT_EQ(Run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(Run({"SELECT", "2"}), kOk);
  EXPECT_EQ(Run({"SET", "b", "c", "EX", "100"}), kOk);
  Resp info = ParseOne(Run({"INFO"}));
  ASSERT_EQ(info.type, '$');
  EXPECT_NE(info.str.find("redis_version:"), std::string::npos);
  EXPECT_NE(info.str.find("\r\ndb0:keys=1,expires=0"), std::string::npos) << info.str;
  EXPECT_NE(info.str.find("\r\ndb2:keys=1,expires=1"), std::string::npos) << info.str;
  EXPECT_EQ(info.str.find("db1:"), std::string::npos);

  Resp keyspace = ParseOne(Run({"INFO", "keyspace"}));
  EXPECT_EQ(keyspace.str.rfind("# Keyspace\r\n", 0), 0u) << keyspace.str;
  EXPECT_EQ(keyspace.str.find("redis_version:"), std::string::npos);

  ASSERT_EQ(ParseOne(Run({"HELLO", "3"})).type, '%');
  Resp verbatim = ParseOne(Run({"INFO", "server"}));
  EXPECT_EQ(verbatim.type, '=');
  EXPECT_EQ(verbatim.str.rfind("txt:", 0), 0u);
  EXPECT_NE(verbatim.str.find("redis_version:"), std::string::npos);
}

// ---- SLOWLOG ------------------------------------------------------------------------

// The arguments of each SLOWLOG GET entry, newest first.
std::vector<std::vector<std::string>> SlowArgs(const Resp& get) {
  std::vector<std::vector<std::string>> out;
  for (const Resp& e : get.elems) {
    std::vector<std::string> args;
    for (const Resp& a : e.elems.at(3).elems) args.push_back(a.str);
    out.push_back(args);
  }
  return out;
}

TEST_F(Commands, SlowlogKeepsCommandsAtLeastAsSlowAsTheThreshold) {
  EXPECT_EQ(Run({"SLOWLOG", "LEN"}), Int(0));
  EXPECT_EQ(Run({"SET", "fast", "1"}), kOk);  // default threshold: 10 ms
  EXPECT_EQ(Run({"SLOWLOG", "LEN"}), Int(0));

  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "0"}), kOk);
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "worker-1"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "v"}), kOk);
  Resp get = ParseOne(Run({"SLOWLOG", "GET"}));
  ASSERT_EQ(get.type, '*');
  // Newest first: SET, then CLIENT SETNAME, then CONFIG SET (logged after it
  // ran, with the new threshold).
  EXPECT_EQ(SlowArgs(get), (std::vector<std::vector<std::string>>{
                               {"SET", "k", "v"},
                               {"CLIENT", "SETNAME", "worker-1"},
                               {"CONFIG", "SET", "slowlog-log-slower-than", "0"}}));
  const Resp& e = get.elems[0];
  ASSERT_EQ(e.elems.size(), 6u);
  EXPECT_EQ(e.elems[0].num, get.elems[1].elems[0].num + 1);  // ids count up
  EXPECT_NEAR(static_cast<double>(e.elems[1].num),
              static_cast<double>(std::time(nullptr)), 2.0);
  EXPECT_GE(e.elems[2].num, 0);  // microseconds
  EXPECT_EQ(e.elems[4].str, client_->addr);
  EXPECT_EQ(e.elems[5].str, "worker-1");
  EXPECT_EQ(get.elems[2].elems[5].str, "");  // no name yet then

  EXPECT_EQ(SlowArgs(ParseOne(Run({"SLOWLOG", "GET", "1"}))).size(), 1u);
  EXPECT_EQ(Run({"SLOWLOG", "GET", "0"}), "*0\r\n");
  EXPECT_GE(ParseOne(Run({"SLOWLOG", "GET", "-1"})).elems.size(), 4u);

  // A command that really takes long is logged at the default threshold.
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "10000"}), kOk);
  EXPECT_EQ(Run({"SLOWLOG", "RESET"}), kOk);
  EXPECT_EQ(Run({"SLOWLOG", "LEN"}), Int(0));
  ASSERT_TRUE(config_.Set("enable-debug-command", "yes", false).ok());
  EXPECT_EQ(Run({"DEBUG", "SLEEP", "0.02"}), kOk);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  get = ParseOne(Run({"SLOWLOG", "GET"}));
  ASSERT_EQ(SlowArgs(get),
            (std::vector<std::vector<std::string>>{{"DEBUG", "SLEEP", "0.02"}}));
  EXPECT_GE(get.elems[0].elems[2].num, 20000);

  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}), kOk);  // off
  EXPECT_EQ(Run({"DEBUG", "SLEEP", "0.02"}), kOk);
  EXPECT_EQ(Run({"SLOWLOG", "LEN"}), Int(1));
}

TEST_F(Commands, SlowlogCutsLongCommandsAndHidesPasswords) {
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "0"}), kOk);
  EXPECT_EQ(Run({"SLOWLOG", "RESET"}), kOk);
  std::vector<std::string> mset = {"MSET"};
  for (int i = 1; i <= 40; ++i) mset.push_back(std::to_string(i));
  EXPECT_EQ(Run(mset), kOk);
  EXPECT_EQ(Run({"SET", "big", std::string(200, 'x')}), kOk);
  EXPECT_EQ(Run({"AUTH", "secret"}),
            Err("ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?"));
  EXPECT_EQ(Run({"CONFIG", "SET", "hz", "10", "masterauth", "pw"}), kOk);
  (void)Run({"HELLO", "2", "AUTH", "default", "pw2"});
  auto logged = SlowArgs(ParseOne(Run({"SLOWLOG", "GET"})));
  ASSERT_EQ(logged.size(), 6u);
  EXPECT_EQ(logged[0],
            (std::vector<std::string>{"HELLO", "2", "AUTH", "(redacted)", "(redacted)"}));
  EXPECT_EQ(logged[1], (std::vector<std::string>{"CONFIG", "SET", "hz", "10",
                                                 "masterauth", "(redacted)"}));
  EXPECT_EQ(logged[2], (std::vector<std::string>{"AUTH", "(redacted)"}));
  EXPECT_EQ(logged[3], (std::vector<std::string>{
                           "SET", "big", std::string(128, 'x') + "... (72 more bytes)"}));
  // 41 arguments: the first 31, then how many more.
  ASSERT_EQ(logged[4].size(), 32u);
  EXPECT_EQ(logged[4][30], "30");
  EXPECT_EQ(logged[4][31], "... (10 more arguments)");
}

TEST_F(Commands, SlowlogLogsTheCommandsOfExecNotExecItself) {
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "0"}), kOk);
  EXPECT_EQ(Run({"SLOWLOG", "RESET"}), kOk);
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"SET", "a", "1"}), kQueued);
  EXPECT_EQ(Run({"INCR", "a"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({kOk, Int(2)}));
  EXPECT_EQ(SlowArgs(ParseOne(Run({"SLOWLOG", "GET"}))),
            (std::vector<std::vector<std::string>>{
                {"INCR", "a"}, {"SET", "a", "1"}, {"MULTI"}, {"SLOWLOG", "RESET"}}));
}

TEST_F(Commands, SlowlogKeepsAtMostMaxLenEntries) {
  EXPECT_EQ(
      Run({"CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3"}),
      kOk);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Run({"SET", "k", std::to_string(i)}), kOk);
  Resp get = ParseOne(Run({"SLOWLOG", "GET", "-1"}));
  EXPECT_EQ(SlowArgs(get), (std::vector<std::vector<std::string>>{
                               {"SET", "k", "9"}, {"SET", "k", "8"}, {"SET", "k", "7"}}));
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-max-len", "0"}), kOk);
  EXPECT_EQ(Run({"SET", "k", "x"}), kOk);
  EXPECT_EQ(Run({"SLOWLOG", "LEN"}), Int(0));
}

TEST_F(Commands, SlowlogArgumentErrorsAreRedis) {
  EXPECT_EQ(Run({"SLOWLOG"}), WrongArgs("slowlog"));
  EXPECT_EQ(Run({"SLOWLOG", "LEN", "x"}), WrongArgs("slowlog|len"));
  EXPECT_EQ(Run({"SLOWLOG", "FOO"}),
            Err("ERR unknown subcommand 'FOO'. Try SLOWLOG HELP."));
  EXPECT_EQ(Run({"SLOWLOG", "GET", "abc"}),
            Err("ERR count should be greater than or equal to -1"));
  EXPECT_EQ(Run({"SLOWLOG", "GET", "-2"}),
            Err("ERR count should be greater than or equal to -1"));
  EXPECT_EQ(Run({"SLOWLOG", "GET", "1", "2"}),
            Err("ERR unknown subcommand or wrong number of arguments for 'GET'. Try "
                "SLOWLOG HELP."));
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "-5"}),
            Err("ERR CONFIG SET failed (possibly related to argument "
                "'slowlog-log-slower-than') - argument must be between -1 and "
                "9223372036854775807 inclusive"));
  Resp help = ParseOne(Run({"SLOWLOG", "HELP"}));
  ASSERT_EQ(help.elems.size(), 12u);
  EXPECT_EQ(help.elems[1].str, "GET [<count>]");
}

// ---- Bitmaps (the examples of Redis's documentation)
// --------------------------------------

TEST_F(Commands, SetbitAndGetbit) {
  EXPECT_EQ(Run({"SETBIT", "mykey", "7", "1"}), Int(0));
  EXPECT_EQ(Run({"SETBIT", "mykey", "7", "0"}), Int(1));
  EXPECT_EQ(Run({"GET", "mykey"}), Bulk(std::string(1, '\0')));
  EXPECT_EQ(Run({"SETBIT", "mykey", "7", "1"}), Int(0));
  EXPECT_EQ(Run({"GETBIT", "mykey", "0"}), Int(0));
  EXPECT_EQ(Run({"GETBIT", "mykey", "7"}), Int(1));
  EXPECT_EQ(Run({"GETBIT", "mykey", "100"}), Int(0));
  EXPECT_EQ(Run({"GETBIT", "nosuch", "0"}), Int(0));
  EXPECT_EQ(Run({"SETBIT", "mykey", "17", "1"}), Int(0));  // grows, zero-filled
  EXPECT_EQ(Run({"STRLEN", "mykey"}), Int(3));
  EXPECT_EQ(Run({"SETBIT", "mykey", "1", "2"}),
            Err("ERR bit is not an integer or out of range"));
  EXPECT_EQ(Run({"SETBIT", "mykey", "-1", "1"}),
            Err("ERR bit offset is not an integer or out of range"));
  // The byte an offset falls in must be within proto-max-bulk-len.
  EXPECT_EQ(Run({"SETBIT", "mykey", "4294967296", "1"}),
            Err("ERR bit offset is not an integer or out of range"));
  EXPECT_EQ(Run({"EXPIRE", "mykey", "100"}), Int(1));
  EXPECT_EQ(Run({"SETBIT", "mykey", "0", "1"}), Int(0));
  EXPECT_GT(IntOf(Run({"TTL", "mykey"})), 0);  // a bit write keeps the TTL
}

TEST_F(Commands, Bitcount) {
  EXPECT_EQ(Run({"SET", "mykey", "foobar"}), kOk);
  EXPECT_EQ(Run({"BITCOUNT", "mykey"}), Int(26));
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "0", "0"}), Int(4));
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "1", "1"}), Int(6));
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "1", "1", "BYTE"}), Int(6));
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "5", "30", "BIT"}), Int(17));
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "-2", "-1"}), Int(7));
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "1"}), kSyntaxErr);
  EXPECT_EQ(Run({"BITCOUNT", "nosuch", "1"}), Int(0));  // Redis 7.0 looks up first
  EXPECT_EQ(Run({"BITCOUNT", "mykey", "0", "-1", "WORD"}), kSyntaxErr);
}

TEST_F(Commands, Bitpos) {
  EXPECT_EQ(Run({"SET", "mykey", "\xff\xf0\x00"s}), kOk);
  EXPECT_EQ(Run({"BITPOS", "mykey", "0"}), Int(12));
  EXPECT_EQ(Run({"SET", "mykey", "\x00\xff\xf0"s}), kOk);
  EXPECT_EQ(Run({"BITPOS", "mykey", "1", "0"}), Int(8));
  EXPECT_EQ(Run({"BITPOS", "mykey", "1", "2"}), Int(16));
  EXPECT_EQ(Run({"BITPOS", "mykey", "1", "2", "-1", "BYTE"}), Int(16));
  EXPECT_EQ(Run({"BITPOS", "mykey", "1", "7", "15", "BIT"}), Int(8));
  EXPECT_EQ(Run({"SET", "mykey", "\x00\x00\x00"s}), kOk);
  EXPECT_EQ(Run({"BITPOS", "mykey", "1"}), Int(-1));
  EXPECT_EQ(Run({"SET", "ones", "\xff\xff"s}), kOk);
  EXPECT_EQ(Run({"BITPOS", "ones", "0"}), Int(16));  // the bit after the string
  EXPECT_EQ(Run({"BITPOS", "ones", "0", "0", "-1"}), Int(-1));  // not with an end
  EXPECT_EQ(Run({"BITPOS", "nosuch", "0"}), Int(0));
  EXPECT_EQ(Run({"BITPOS", "nosuch", "1"}), Int(-1));
  EXPECT_EQ(Run({"BITPOS", "mykey", "2"}), Err("ERR The bit argument must be 1 or 0."));
}

TEST_F(Commands, Bitop) {
  EXPECT_EQ(Run({"SET", "key1", "foobar"}), kOk);
  EXPECT_EQ(Run({"SET", "key2", "abcdef"}), kOk);
  EXPECT_EQ(Run({"BITOP", "AND", "dest", "key1", "key2"}), Int(6));
  EXPECT_EQ(Run({"GET", "dest"}), Bulk("`bc`ab"));
  EXPECT_EQ(Run({"BITOP", "OR", "dest", "key1", "nosuch"}), Int(6));
  EXPECT_EQ(Run({"GET", "dest"}), Bulk("foobar"));
  EXPECT_EQ(Run({"BITOP", "NOT", "dest", "key1"}), Int(6));
  EXPECT_EQ(Run({"GET", "dest"}), Bulk("\x99\x90\x90\x9d\x9e\x8d"s));
  EXPECT_EQ(Run({"BITOP", "XOR", "key1", "key1", "key1"}), Int(6));  // dest among sources
  EXPECT_EQ(Run({"GET", "key1"}), Bulk(std::string(6, '\0')));
  EXPECT_EQ(Run({"BITOP", "AND", "dest", "nosuch"}), Int(0));  // empty: deletes dest
  EXPECT_EQ(Run({"EXISTS", "dest"}), Int(0));
  EXPECT_EQ(Run({"BITOP", "NOT", "dest", "a", "b"}),
            Err("ERR BITOP NOT must be called with a single source key."));
  EXPECT_EQ(Run({"BITOP", "NAND", "dest", "a"}), kSyntaxErr);
}

TEST_F(Commands, Bitfield) {
  EXPECT_EQ(Run({"BITFIELD", "mykey", "INCRBY", "i5", "100", "1", "GET", "u4", "0"}),
            Arr({Int(1), Int(0)}));
  // Saturating and failing overflows of an unsigned 2-bit counter.
  std::vector<std::string> sat = {"BITFIELD", "c",   "INCRBY", "u2", "100", "1",
                                  "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"};
  EXPECT_EQ(Run(sat), Arr({Int(1), Int(1)}));
  EXPECT_EQ(Run(sat), Arr({Int(2), Int(2)}));
  EXPECT_EQ(Run(sat), Arr({Int(3), Int(3)}));
  EXPECT_EQ(Run(sat), Arr({Int(0), Int(3)}));  // the first one wraps
  EXPECT_EQ(Run({"BITFIELD", "c", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "1"}),
            Arr({kNull}));
  // SET returns the old value; "#n" is the n-th field of that width.
  EXPECT_EQ(Run({"BITFIELD", "f", "SET", "i8", "#1", "-100", "GET", "i8", "8", "GET",
                 "u8", "#1"}),
            Arr({Int(0), Int(-100), Int(156)}));
  EXPECT_EQ(Run({"BITFIELD", "f", "SET", "i8", "#1", "200"}), Arr({Int(-100)}));  // wraps
  EXPECT_EQ(Run({"BITFIELD_RO", "f", "GET", "i8", "#1"}), Arr({Int(-56)}));
  EXPECT_EQ(Run({"BITFIELD_RO", "f", "SET", "i8", "0", "1"}),
            Err("ERR BITFIELD_RO only supports the GET subcommand"));
  EXPECT_EQ(
      Run({"BITFIELD", "f", "GET", "u64", "0"}),
      Err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
          "supported but i64 is."));
  EXPECT_EQ(Run({"BITFIELD", "f", "OVERFLOW", "MAYBE"}),
            Err("ERR Invalid OVERFLOW type specified"));
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "i8"}), kSyntaxErr);
  EXPECT_EQ(Run({"BITFIELD", "nosuch", "GET", "i64", "0"}), Arr({Int(0)}));
  EXPECT_EQ(Run({"EXISTS", "nosuch"}), Int(0));  // reads create nothing
}

// ---- INFO commandstats and errorstats -------------------------------------------------

// "calls=..,rejected_calls=..,failed_calls=.." of one command in INFO
// commandstats (usec left out), or "" when it is not listed.
std::string CmdStat(const std::string& info, const std::string& name) {
  size_t at = info.find("\r\ncmdstat_" + name + ":");
  if (at == std::string::npos) return "";
  size_t begin = info.find(':', at) + 1;
  std::string v = info.substr(begin, info.find("\r\n", begin) - begin);
  size_t usec = v.find(",usec=");
  size_t rejected = v.find(",rejected_calls=");
  return v.substr(0, usec) + v.substr(rejected);
}

TEST_F(Commands, InfoCommandstatsCountsCallsFailuresAndRefusals) {
  EXPECT_EQ(Run({"SET", "n", "1"}), kOk);
  EXPECT_EQ(Run({"INCR", "n"}), Int(2));
  EXPECT_EQ(Run({"SET", "s", "x"}), kOk);
  EXPECT_EQ(Run({"INCR", "s"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"INCR"}), WrongArgs("incr"));  // refused: arity
  EXPECT_EQ(Run({"CONFIG", "GET", "hz"}), Arr({Bulk("hz"), Bulk("10")}));
  EXPECT_EQ(Run({"MULTI"}), kOk);
  EXPECT_EQ(Run({"INCR", "s"}), kQueued);
  EXPECT_EQ(Run({"EXEC"}), Arr({Err("ERR value is not an integer or out of range")}));
  auto locked = NewClient(false);
  EXPECT_EQ(Run(*locked, {"GET", "n"}), Err("NOAUTH Authentication required."));

  std::string info = ParseOne(Run({"INFO", "commandstats"})).str;
  EXPECT_EQ(info.rfind("# Commandstats\r\n", 0), 0u) << info;
  EXPECT_EQ(CmdStat(info, "set"), "calls=2,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(CmdStat(info, "incr"), "calls=3,rejected_calls=1,failed_calls=2");
  EXPECT_EQ(CmdStat(info, "get"), "calls=0,rejected_calls=1,failed_calls=0");
  EXPECT_EQ(CmdStat(info, "config|get"), "calls=1,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(CmdStat(info, "exec"), "calls=1,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(CmdStat(info, "del"), "");  // never called: not listed
  EXPECT_NE(info.find(",usec_per_call="), std::string::npos);

  std::string errors = ParseOne(Run({"INFO", "errorstats"})).str;
  EXPECT_NE(errors.find("errorstat_ERR:count=3\r\n"), std::string::npos) << errors;
  EXPECT_NE(errors.find("errorstat_NOAUTH:count=1\r\n"), std::string::npos) << errors;
  std::string stats = ParseOne(Run({"INFO", "stats"})).str;
  EXPECT_NE(stats.find("total_error_replies:4\r\n"), std::string::npos) << stats;

  std::string all = ParseOne(Run({"INFO", "all"})).str;
  EXPECT_NE(all.find("# Commandstats"), std::string::npos);
  EXPECT_NE(all.find("# Errorstats"), std::string::npos);
  EXPECT_EQ(ParseOne(Run({"INFO"})).str.find("# Commandstats"), std::string::npos);

  EXPECT_EQ(Run({"CONFIG", "RESETSTAT"}), kOk);
  info = ParseOne(Run({"INFO", "commandstats"})).str;
  EXPECT_EQ(CmdStat(info, "incr"), "");
  EXPECT_EQ(CmdStat(info, "config|resetstat"), "calls=1,rejected_calls=0,failed_calls=0");
  EXPECT_EQ(ParseOne(Run({"INFO", "errorstats"})).str, "# Errorstats\r\n");
}

}  // namespace
}  // namespace edgekv
