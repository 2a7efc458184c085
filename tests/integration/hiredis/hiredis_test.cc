// Integration tests over hiredis and raw sockets: the real edgekv-server
// binary, on a free loopback port (see test_server.h).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_server.h"

namespace edgekv_it {
namespace {

// ----------------------------------------------------------------- basics

TEST(Hiredis, SetGetAndCommonReplies) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"PING"}), "+PONG");
  EXPECT_EQ(Call(c.get(), {"PING", "hello"}), "$hello");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "$v");
  EXPECT_EQ(Call(c.get(), {"GET", "missing"}), "$nil");
  EXPECT_EQ(Call(c.get(), {"INCR", "n"}), ":1");
  EXPECT_EQ(Call(c.get(), {"INCRBY", "n", "41"}), ":42");
  EXPECT_EQ(Call(c.get(), {"MGET", "k", "missing", "n"}), "*[$v,$nil,$42]");
  EXPECT_EQ(Call(c.get(), {"DBSIZE"}), ":2");
  EXPECT_EQ(Call(c.get(), {"SELECT", "1"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"DBSIZE"}), ":0");
  EXPECT_EQ(Call(c.get(), {"SELECT", "0"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"DEL", "k", "n", "missing"}), ":2");
  EXPECT_EQ(Call(c.get(), {"EXISTS", "k"}), ":0");
}

// ------------------------------------------------------------- pipelining

TEST(Hiredis, PipelineOfThousandCommandsInOneWrite) {
  TestServer srv;
  RawConn raw(srv.port());
  std::string batch;
  std::vector<std::string> expected;
  int counter = 0;
  for (int i = 0; i < 1000; ++i) {
    switch (i % 4) {
      case 0:
        batch += Resp({"INCR", "counter"});
        expected.push_back(":" + std::to_string(++counter) + "\r\n");
        break;
      case 1:
        batch += Resp({"SET", "key:" + std::to_string(i), "val:" + std::to_string(i)});
        expected.push_back("+OK\r\n");
        break;
      case 2: {
        std::string v = "val:" + std::to_string(i - 1);
        batch += Resp({"GET", "key:" + std::to_string(i - 1)});
        expected.push_back("$" + std::to_string(v.size()) + "\r\n" + v + "\r\n");
        break;
      }
      case 3: {
        std::string m = "msg-" + std::to_string(i);
        batch += Resp({"ECHO", m});
        expected.push_back("$" + std::to_string(m.size()) + "\r\n" + m + "\r\n");
        break;
      }
    }
  }
  // One write() call carrying all 1000 commands.
  ssize_t n = ::send(raw.fd(), batch.data(), batch.size(), MSG_NOSIGNAL);
  ASSERT_EQ(n, static_cast<ssize_t>(batch.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    auto r = raw.ReadRawReply();
    ASSERT_TRUE(r.has_value()) << "reply " << i << " missing";
    ASSERT_EQ(*r, expected[i]) << "reply " << i << " out of order or wrong";
  }
}

TEST(Hiredis, HiredisPipelineKeepsOrder) {
  TestServer srv;
  auto c = srv.Connect();
  constexpr int kN = 1000;
  for (int i = 0; i < kN; ++i) {
    std::string k = "p" + std::to_string(i);
    std::string v = std::to_string(i * 7);
    ASSERT_EQ(
        redisAppendCommand(c.get(), "SET %b %b", k.data(), k.size(), v.data(), v.size()),
        REDIS_OK);
    ASSERT_EQ(redisAppendCommand(c.get(), "GET %b", k.data(), k.size()), REDIS_OK);
  }
  for (int i = 0; i < kN; ++i) {
    void* r1 = nullptr;
    void* r2 = nullptr;
    ASSERT_EQ(redisGetReply(c.get(), &r1), REDIS_OK) << c->errstr;
    Reply set(static_cast<redisReply*>(r1));
    ASSERT_EQ(redisGetReply(c.get(), &r2), REDIS_OK) << c->errstr;
    Reply get(static_cast<redisReply*>(r2));
    ASSERT_EQ(Describe(set.get()), "+OK");
    ASSERT_EQ(Describe(get.get()), "$" + std::to_string(i * 7));
  }
}

// ---------------------------------------------------------- binary values

TEST(Hiredis, BinarySafeKeysAndValues) {
  TestServer srv;
  auto c = srv.Connect();
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string value = std::string("a\0b\r\nc\r\n\0", 9) + all + "\r\n$3\r\n*1\r\n";
  std::string key = std::string("key\0with\r\nstuff", 15);
  EXPECT_EQ(Call(c.get(), {"SET", key, value}), "+OK");
  EXPECT_EQ(Call(c.get(), {"GET", key}), "$" + value);
  EXPECT_EQ(Call(c.get(), {"STRLEN", key}), ":" + std::to_string(value.size()));
  EXPECT_EQ(Call(c.get(), {"GETRANGE", key, "0", "4"}), "$" + value.substr(0, 5));
  EXPECT_EQ(Call(c.get(), {"APPEND", key, std::string("\0\r\n", 3)}),
            ":" + std::to_string(value.size() + 3));
  EXPECT_EQ(Call(c.get(), {"GET", key}), "$" + value + std::string("\0\r\n", 3));
  EXPECT_EQ(Call(c.get(), {"EXISTS", "key"}), ":0");  // no truncation at \0
  EXPECT_EQ(Call(c.get(), {"SETRANGE", "sr", "3", std::string("\0x", 2)}), ":5");
  EXPECT_EQ(Call(c.get(), {"GET", "sr"}), "$" + std::string("\0\0\0\0x", 5));

  // A large value with every byte value, through the same connection.
  std::string big;
  for (int i = 0; i < 3 * 1024 * 1024; ++i) big.push_back(static_cast<char>(i * 31 + 7));
  EXPECT_EQ(Call(c.get(), {"SET", "big", big}), "+OK");
  Reply r = Cmd(c.get(), {"GET", "big"});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->type, REDIS_REPLY_STRING);
  ASSERT_EQ(std::string(r->str, r->len), big);
}

TEST(Hiredis, ExpiryReplies) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"TTL", "k"}), ":-1");
  EXPECT_EQ(Call(c.get(), {"EXPIRETIME", "k"}), ":-1");
  EXPECT_EQ(Call(c.get(), {"TTL", "nokey"}), ":-2");
  EXPECT_EQ(Call(c.get(), {"PEXPIREAT", "k", "99999999999999"}), ":1");
  EXPECT_EQ(Call(c.get(), {"PEXPIRETIME", "k"}), ":99999999999999");
  // Seconds are rounded to the nearest, as Redis does.
  EXPECT_EQ(Call(c.get(), {"EXPIRETIME", "k"}), ":100000000000");
  EXPECT_EQ(Call(c.get(), {"PEXPIREAT", "k", "99999999999400"}), ":1");
  EXPECT_EQ(Call(c.get(), {"EXPIRETIME", "k"}), ":99999999999");
  // 1.9 s left reads as 2 s (1 s if TTL rounded down); a reply later than
  // 0.4 s after the PEXPIRE leaves it open, and the pair is tried again.
  for (int attempt = 0;; ++attempt) {
    auto t0 = Clock::now();
    EXPECT_EQ(Call(c.get(), {"PEXPIRE", "k", "1900"}), ":1");
    std::string ttl = Call(c.get(), {"TTL", "k"});
    if (Clock::now() - t0 < 400ms) {
      EXPECT_EQ(ttl, ":2");
      break;
    }
    ASSERT_LT(attempt, 100) << "never got TTL's reply within 0.4 s of the PEXPIRE";
  }
  EXPECT_EQ(Call(c.get(), {"EXPIRE", "k", "100", "NX"}), ":0");
  EXPECT_EQ(Call(c.get(), {"EXPIRE", "k", "100", "GT"}), ":1");
  EXPECT_EQ(Call(c.get(), {"EXPIRE", "k", "10", "GT"}), ":0");
  EXPECT_EQ(Call(c.get(), {"EXPIRE", "k", "10", "NX", "XX"}),
            "-ERR NX and XX, GT or LT options at the same time are not compatible");
  EXPECT_EQ(Call(c.get(), {"PERSIST", "k"}), ":1");
  EXPECT_EQ(Call(c.get(), {"EXPIREAT", "k", "1"}), ":1");  // in the past: deleted
  EXPECT_EQ(Call(c.get(), {"EXISTS", "k"}), ":0");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "PX", "100"}), "+OK");
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "$nil");
}

// Many clients spread over two I/O threads hammering shared keys.
TEST(Hiredis, ConcurrentClientsAcrossIoThreads) {
  TestServer srv({"--io-threads", "2", "--io-threads-adaptive", "no"});
  constexpr int kThreads = 8, kRounds = 50, kBatch = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        auto c = srv.Connect();
        std::string own = "own:" + std::to_string(t);
        for (int r = 0; r < kRounds; ++r) {
          for (int b = 0; b < kBatch; ++b) {
            redisAppendCommand(c.get(), "INCR shared");
            redisAppendCommand(c.get(), "NOSUCHCMD x");  // error reply
            redisAppendCommand(c.get(), "APPEND %s x", own.c_str());
          }
          for (int b = 0; b < kBatch * 3; ++b) {
            void* p = nullptr;
            if (redisGetReply(c.get(), &p) != REDIS_OK) {
              ++failures;
              return;
            }
            Reply rep(static_cast<redisReply*>(p));
            int expect = b % 3 == 1 ? REDIS_REPLY_ERROR : REDIS_REPLY_INTEGER;
            if (rep->type != expect) ++failures;
          }
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"GET", "shared"}),
            "$" + std::to_string(kThreads * kRounds * kBatch));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Call(c.get(), {"STRLEN", "own:" + std::to_string(t)}),
              ":" + std::to_string(kRounds * kBatch));
  }
}

// ------------------------------------------------------------------ RESP3

TEST(Hiredis, Resp3ViaHello) {
  TestServer srv;
  RawConn raw(srv.port());
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"})));
  auto hello = raw.ReadRawReply();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->substr(0, 4), "%7\r\n") << *hello;
  EXPECT_NE(hello->find("$6\r\nserver\r\n$5\r\nredis\r\n"), std::string::npos) << *hello;
  EXPECT_NE(hello->find("$5\r\nproto\r\n:3\r\n"), std::string::npos) << *hello;
  EXPECT_NE(hello->find("$4\r\nmode\r\n$10\r\nstandalone\r\n"), std::string::npos);
  EXPECT_NE(hello->find("$4\r\nrole\r\n$6\r\nmaster\r\n"), std::string::npos);
  EXPECT_NE(hello->find("$7\r\nmodules\r\n*0\r\n"), std::string::npos);

  std::string batch =
      Resp({"GET", "nokey"}) + Resp({"SET", "k", "v"}) + Resp({"GET", "k"}) +
      Resp({"CONFIG", "GET", "maxclients"}) + Resp({"MGET", "k", "nokey"}) +
      Resp({"EXISTS", "k"}) + Resp({"INCRBYFLOAT", "f", "1.5"}) + Resp({"TTL", "k"}) +
      Resp({"HELLO", "4"}) + Resp({"HELLO", "2"}) + Resp({"GET", "nokey"});
  ASSERT_TRUE(raw.Send(batch));
  EXPECT_EQ(raw.ReadRawReply(), "_\r\n");  // RESP3 null
  EXPECT_EQ(raw.ReadRawReply(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "$1\r\nv\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "*2\r\n$1\r\nv\r\n_\r\n");
  EXPECT_EQ(raw.ReadRawReply(), ":1\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "$3\r\n1.5\r\n");
  EXPECT_EQ(raw.ReadRawReply(), ":-1\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "-NOPROTO unsupported protocol version\r\n");
  auto hello2 = raw.ReadRawReply();
  ASSERT_TRUE(hello2);
  EXPECT_EQ(hello2->substr(0, 5), "*14\r\n") << *hello2;  // RESP2: flat array
  EXPECT_EQ(raw.ReadRawReply(), "$-1\r\n");               // RESP2 null again
}

// ------------------------------------------------------------ error texts

TEST(Hiredis, ErrorRepliesUseRedisText) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"FOO", "bar", "baz"}),
            "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' ");
  EXPECT_EQ(Call(c.get(), {"nosuch"}),
            "-ERR unknown command 'nosuch', with args beginning with: ");
  EXPECT_EQ(Call(c.get(), {"GET"}), "-ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Call(c.get(), {"SET", "k"}),
            "-ERR wrong number of arguments for 'set' command");
  EXPECT_EQ(Call(c.get(), {"GET", "a", "b"}),
            "-ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Call(c.get(), {"CONFIG", "SET", "timeout"}),
            "-ERR wrong number of arguments for 'config|set' command");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "XX", "NX"}), "-ERR syntax error");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "EX", "10", "PX", "100"}),
            "-ERR syntax error");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "BOGUS"}), "-ERR syntax error");
  EXPECT_EQ(Call(c.get(), {"SET", "s", "abc"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"INCR", "s"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Call(c.get(), {"INCRBY", "n", "x1"}),
            "-ERR value is not an integer or out of range");
  EXPECT_EQ(Call(c.get(), {"EXPIRE", "s", "soon"}),
            "-ERR value is not an integer or out of range");
  EXPECT_EQ(Call(c.get(), {"INCRBYFLOAT", "s", "1"}), "-ERR value is not a valid float");
  EXPECT_EQ(Call(c.get(), {"SET", "n", "9223372036854775807"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"INCR", "n"}), "-ERR increment or decrement would overflow");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "EX", "0"}),
            "-ERR invalid expire time in 'set' command");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "PX", "-5"}),
            "-ERR invalid expire time in 'set' command");
  EXPECT_EQ(Call(c.get(), {"SETEX", "k", "0", "v"}),
            "-ERR invalid expire time in 'setex' command");
  EXPECT_EQ(Call(c.get(), {"GETEX", "s", "EX", "-1"}),
            "-ERR invalid expire time in 'getex' command");
  EXPECT_EQ(Call(c.get(), {"SELECT", "99"}), "-ERR DB index is out of range");
  EXPECT_EQ(Call(c.get(), {"RENAME", "nokey", "x"}), "-ERR no such key");
  EXPECT_EQ(Call(c.get(), {"CLIENT", "FOO"}),
            "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.");
  EXPECT_EQ(Call(c.get(), {"EXEC"}), "-ERR EXEC without MULTI");
  EXPECT_EQ(Call(c.get(), {"DISCARD"}), "-ERR DISCARD without MULTI");
  // The connection is still fine after all of these.
  EXPECT_EQ(Call(c.get(), {"PING"}), "+PONG");
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "$nil");
}

TEST(Hiredis, TransactionErrors) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"MULTI"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"MULTI"}), "-ERR MULTI calls can not be nested");
  EXPECT_EQ(Call(c.get(), {"SET", "a", "1"}), "+QUEUED");
  EXPECT_EQ(Call(c.get(), {"NOSUCH"}),
            "-ERR unknown command 'NOSUCH', with args beginning with: ");
  EXPECT_EQ(Call(c.get(), {"EXEC"}),
            "-EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(Call(c.get(), {"GET", "a"}), "$nil");

  // Runtime errors inside EXEC do not abort the other commands.
  EXPECT_EQ(Call(c.get(), {"SET", "s", "abc"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"MULTI"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"INCR", "s"}), "+QUEUED");
  EXPECT_EQ(Call(c.get(), {"SET", "a", "2"}), "+QUEUED");
  EXPECT_EQ(Call(c.get(), {"EXEC"}),
            "*[-ERR value is not an integer or out of range,+OK]");
  EXPECT_EQ(Call(c.get(), {"GET", "a"}), "$2");

  // WATCH: a write from another client aborts EXEC with a null reply.
  auto other = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"WATCH", "a"}), "+OK");
  EXPECT_EQ(Call(other.get(), {"SET", "a", "3"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"MULTI"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"SET", "a", "4"}), "+QUEUED");
  EXPECT_EQ(Call(c.get(), {"EXEC"}), "$nil");  // *-1: transaction aborted
  EXPECT_EQ(Call(c.get(), {"GET", "a"}), "$3");

  // Without a concurrent write the same sequence commits.
  EXPECT_EQ(Call(c.get(), {"WATCH", "a"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"MULTI"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"SET", "a", "4"}), "+QUEUED");
  EXPECT_EQ(Call(c.get(), {"EXEC"}), "*[+OK]");
  EXPECT_EQ(Call(other.get(), {"GET", "a"}), "$4");
}

}  // namespace
}  // namespace edgekv_it
