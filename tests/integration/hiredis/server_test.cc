// Integration tests of server-level behaviour: limits, authentication,
// client management, shutdown, command-line handling.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_server.h"

namespace edgekv_it {
namespace {

int CountClients(redisContext* c) {
  Reply r = Cmd(c, {"CLIENT", "LIST"});
  if (!r || r->type != REDIS_REPLY_STRING) return -1;
  std::string s(r->str, r->len);
  int n = 0;
  for (char ch : s) n += ch == '\n';
  return n;
}

// Waits until the server counts exactly `n` clients (closing is asynchronous).
bool WaitForClientCount(redisContext* c, int n) {
  auto deadline = Clock::now() + kWaitTimeout;
  while (Clock::now() < deadline) {
    if (CountClients(c) == n) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(Server, MaxClients) {
  TestServer srv({"--maxclients", "2"});
  RawConn a(srv.port());
  ASSERT_TRUE(a.Send("PING\r\n"));
  ASSERT_EQ(a.ReadRawReply(), "+PONG\r\n");
  // The readiness probe's connection closes asynchronously: wait until the
  // server counts only `a`, so that `b` is the second client, not a third.
  auto deadline = Clock::now() + kWaitTimeout;
  for (;;) {
    ASSERT_TRUE(a.Send("CLIENT LIST\r\n"));
    auto list = a.ReadRawReply();
    ASSERT_TRUE(list.has_value());
    size_t lines = 0;
    for (char ch : *list) lines += ch == '\n';
    if (lines == 3) break;  // "$N\r\n", one client line, "\r\n"
    ASSERT_LT(Clock::now(), deadline) << "the probe connection was not closed";
    std::this_thread::sleep_for(10ms);
  }
  auto b = srv.Connect();
  ASSERT_TRUE(WaitForClientCount(b.get(), 2));  // the readiness probe is gone

  RawConn third(srv.port());
  auto out = third.ReadUntilEof();
  ASSERT_TRUE(out.has_value()) << "third connection was not closed";
  EXPECT_EQ(*out, "-ERR max number of clients reached\r\n");

  // The first two keep working.
  EXPECT_EQ(Call(b.get(), {"PING"}), "+PONG");
  ASSERT_TRUE(a.Send("PING\r\n"));
  EXPECT_EQ(a.ReadRawReply(), "+PONG\r\n");
  Reply info = Cmd(b.get(), {"INFO", "stats"});
  ASSERT_TRUE(info);
  EXPECT_NE(std::string(info->str, info->len).find("rejected_connections:1"),
            std::string::npos);

  // Once one leaves, a new client gets in.
  a.CloseFd();
  ASSERT_TRUE(WaitForClientCount(b.get(), 1));
  RawConn fourth(srv.port());
  ASSERT_TRUE(fourth.Send("PING\r\n"));
  EXPECT_EQ(fourth.ReadRawReply(), "+PONG\r\n");
}

TEST(Server, IdleTimeoutClosesClient) {
  TestServer srv({"--timeout", "1"});
  RawConn idle(srv.port());
  ASSERT_TRUE(idle.Send("PING\r\n"));
  ASSERT_EQ(idle.ReadRawReply(), "+PONG\r\n");
  RawConn busy(srv.port());
  auto start = Clock::now();
  // The busy client stays alive by talking every 250 ms for 2.5 s.
  while (Clock::now() - start < 2500ms) {
    ASSERT_TRUE(busy.Send("PING\r\n"));
    ASSERT_EQ(busy.ReadRawReply(), "+PONG\r\n") << "active client was closed";
    std::this_thread::sleep_for(250ms);
  }
  // The idle one is closed (1 s timeout, checked by the cron).
  EXPECT_TRUE(idle.WaitForEof()) << "idle client was not closed";
}

TEST(Server, NoTimeoutByDefault) {
  TestServer srv;
  RawConn idle(srv.port());
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(idle.Send("PING\r\n"));
  EXPECT_EQ(idle.ReadRawReply(), "+PONG\r\n");
}

TEST(Server, RequirePass) {
  TestServer srv({"--requirepass", "s3cret"});
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "-NOAUTH Authentication required.");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}), "-NOAUTH Authentication required.");
  EXPECT_EQ(Call(c.get(), {"PING"}), "-NOAUTH Authentication required.");
  EXPECT_EQ(Call(c.get(), {"AUTH", "wrong"}),
            "-WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Call(c.get(), {"AUTH", "default", "wrong"}),
            "-WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Call(c.get(), {"AUTH", "a", "b", "c"}), "-ERR syntax error");
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "-NOAUTH Authentication required.");
  EXPECT_EQ(Call(c.get(), {"AUTH", "s3cret"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "$v");

  auto d = srv.Connect();
  EXPECT_EQ(Call(d.get(), {"AUTH", "default", "s3cret"}), "+OK");
  EXPECT_EQ(Call(d.get(), {"GET", "k"}), "$v");

  // HELLO with AUTH: wrong password refused, right one accepted.
  RawConn raw(srv.port());
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3", "AUTH", "default", "nope"})));
  EXPECT_EQ(raw.ReadRawReply(),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"})));
  EXPECT_EQ(raw.ReadRawReply(),
            "-NOAUTH HELLO must be called with the client already "
            "authenticated, otherwise the HELLO <proto> AUTH <user> "
            "<pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time\r\n");
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3", "AUTH", "default", "s3cret"})));
  auto hello = raw.ReadRawReply();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->substr(0, 4), "%7\r\n");
  ASSERT_TRUE(raw.Send(Resp({"GET", "k"})));
  EXPECT_EQ(raw.ReadRawReply(), "$1\r\nv\r\n");
}

TEST(Server, ShutdownCommandStopsProcess) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"SHUTDOWN", "BOGUS"}), "-ERR syntax error");
  RawConn raw(srv.port());
  ASSERT_TRUE(raw.Send(Resp({"SHUTDOWN", "NOSAVE"})));
  // No reply: the connection just closes, then the process exits with 0.
  auto out = raw.ReadUntilEof();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "");
  auto st = srv.WaitExit(StopTimeout());
  ASSERT_TRUE(st.has_value()) << "server still running after SHUTDOWN";
  ASSERT_TRUE(WIFEXITED(*st)) << "status " << *st;
  EXPECT_EQ(WEXITSTATUS(*st), 0);
}

TEST(Server, SigtermStopsCleanly) {
  TestServer srv;
  auto c = srv.Connect();
  RawConn idle(srv.port());  // connected clients do not hold it up
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}), "+OK");
  auto st = srv.Signal(SIGTERM, StopTimeout());
  ASSERT_TRUE(st.has_value()) << "server still running after SIGTERM";
  ASSERT_TRUE(WIFEXITED(*st)) << "killed by signal " << WTERMSIG(*st);
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  EXPECT_TRUE(idle.WaitForEof());
}

TEST(Server, SigintStopsCleanly) {
  TestServer srv;
  auto st = srv.Signal(SIGINT, StopTimeout());
  ASSERT_TRUE(st.has_value());
  ASSERT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 0);
}

TEST(Server, BadCommandLineExitsNonZeroNamingTheDirective) {
  struct Case {
    std::vector<std::string> args;
    std::string must_mention;
  };
  std::vector<Case> cases = {
      {{"--no-such-directive", "1"}, "no-such-directive"},
      {{"--port", "notaport"}, "port"},
      {{"--port", "70000"}, "port"},
      {{"--maxclients", "0"}, "maxclients"},
      {{"--protected-mode", "maybe"}, "protected-mode"},
      {{"--maxmemory", "lots"}, "maxmemory"},
      {{"--enable-debug-command", "sometimes"}, "enable-debug-command"},
      {{"--client-output-buffer-limit", "normal", "x", "0", "0"},
       "client-output-buffer-limit"},
  };
  for (const auto& tc : cases) {
    std::vector<std::string> args = {
        "--bind", "127.0.0.1", "--port", std::to_string(PickFreePort()), "--save", ""};
    args.insert(args.end(), tc.args.begin(), tc.args.end());
    ExitResult r = RunServerToExit(args);
    ASSERT_TRUE(r.exited) << tc.must_mention << ": did not exit by itself";
    EXPECT_NE(r.code, 0) << tc.must_mention;
    EXPECT_NE(r.output.find(tc.must_mention), std::string::npos)
        << "message does not name '" << tc.must_mention << "':\n"
        << r.output;
  }
}

TEST(Server, VersionAndMissingConfigFile) {
  ExitResult v = RunServerToExit({"--version"});
  ASSERT_TRUE(v.exited);
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.output.find("v="), std::string::npos) << v.output;
  ExitResult missing = RunServerToExit({"/nonexistent/edgekv.conf"});
  ASSERT_TRUE(missing.exited);
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.output.find("/nonexistent/edgekv.conf"), std::string::npos)
      << missing.output;
}

TEST(Server, ClientKillById) {
  // Victim and killer on different threads.
  TestServer srv({"--io-threads", "2", "--io-threads-adaptive", "no"});
  RawConn victim(srv.port());
  ASSERT_TRUE(victim.Send(Resp({"CLIENT", "ID"})));
  auto id_reply = victim.ReadRawReply();
  ASSERT_TRUE(id_reply && (*id_reply)[0] == ':') << id_reply.value_or("<none>");
  std::string id = id_reply->substr(1, id_reply->size() - 3);

  auto killer = srv.Connect();
  EXPECT_EQ(Call(killer.get(), {"CLIENT", "KILL", "ID", id}), ":1");
  EXPECT_TRUE(victim.WaitForEof()) << "killed client still connected";
  EXPECT_EQ(Call(killer.get(), {"CLIENT", "KILL", "ID", id}), ":0");
  EXPECT_EQ(Call(killer.get(), {"CLIENT", "KILL", "ID", "abc"}),
            "-ERR client-id should be greater than 0");
  EXPECT_EQ(Call(killer.get(), {"CLIENT", "KILL", "1.2.3.4:5"}), "-ERR No such client");
  EXPECT_EQ(Call(killer.get(), {"PING"}), "+PONG");
  // SKIPME no: the caller itself is skipped by default.
  Reply myid = Cmd(killer.get(), {"CLIENT", "ID"});
  ASSERT_TRUE(myid);
  EXPECT_EQ(Call(killer.get(), {"CLIENT", "KILL", "ID", std::to_string(myid->integer)}),
            ":0");
  EXPECT_EQ(Call(killer.get(), {"PING"}), "+PONG");
}

TEST(Server, ClientListShowsNamedClient) {
  TestServer srv({"--io-threads", "2", "--io-threads-adaptive", "no"});
  auto named = srv.Connect();
  EXPECT_EQ(Call(named.get(), {"CLIENT", "GETNAME"}), "$nil");
  EXPECT_EQ(Call(named.get(), {"CLIENT", "SETNAME", "worker-7"}), "+OK");
  EXPECT_EQ(Call(named.get(), {"CLIENT", "GETNAME"}), "$worker-7");
  EXPECT_EQ(Call(named.get(), {"CLIENT", "SETNAME", "bad name"}),
            "-ERR Client names cannot contain spaces, newlines or special characters.");
  Reply id = Cmd(named.get(), {"CLIENT", "ID"});
  ASSERT_TRUE(id && id->type == REDIS_REPLY_INTEGER);

  auto observer = srv.Connect();
  Reply list = Cmd(observer.get(), {"CLIENT", "LIST"});
  ASSERT_TRUE(list && list->type == REDIS_REPLY_STRING);
  std::string text(list->str, list->len);
  std::string line;
  for (size_t p = 0; p < text.size();) {
    size_t e = text.find('\n', p);
    std::string l = text.substr(p, e - p);
    if (l.rfind("id=" + std::to_string(id->integer) + " ", 0) == 0) line = l;
    p = e == std::string::npos ? text.size() : e + 1;
  }
  ASSERT_FALSE(line.empty()) << text;
  EXPECT_NE(line.find(" name=worker-7 "), std::string::npos) << line;
  EXPECT_NE(line.find(" addr=127.0.0.1:"), std::string::npos) << line;
  EXPECT_NE(line.find(" laddr=127.0.0.1:" + std::to_string(srv.port()) + " "),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" cmd=client|id "), std::string::npos) << line;
  EXPECT_NE(line.find(" db=0 "), std::string::npos) << line;

  // CLIENT LIST ID filters; CLIENT INFO describes the caller.
  Reply one = Cmd(observer.get(), {"CLIENT", "LIST", "ID", std::to_string(id->integer)});
  ASSERT_TRUE(one && one->type == REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(one->str, one->len), line + "\n");
  Reply info = Cmd(named.get(), {"CLIENT", "INFO"});
  ASSERT_TRUE(info && info->type == REDIS_REPLY_STRING);
  EXPECT_NE(std::string(info->str, info->len).find(" name=worker-7 "), std::string::npos);

  // Clearing the name.
  EXPECT_EQ(Call(named.get(), {"CLIENT", "SETNAME", ""}), "+OK");
  EXPECT_EQ(Call(named.get(), {"CLIENT", "GETNAME"}), "$nil");
}

TEST(Server, DebugSleepRefusedByDefault) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(
      Call(c.get(), {"DEBUG", "SLEEP", "0"}),
      "-ERR DEBUG command not allowed. If the enable-debug-command option is set to "
      "\"local\", you can run it from a local connection, otherwise you need to set "
      "this option in the configuration file, and then restart the server.");
}

TEST(Server, DebugSleepAllowedWhenEnabled) {
  TestServer srv({"--enable-debug-command", "yes"});
  auto c = srv.Connect();
  auto t0 = Clock::now();
  EXPECT_EQ(Call(c.get(), {"DEBUG", "SLEEP", "0.3"}), "+OK");
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_EQ(Call(c.get(), {"DEBUG", "SLEEP", "0"}), "+OK");
}

TEST(Server, ConfigSetAtRuntime) {
  TestServer srv;
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"CONFIG", "GET", "maxclients"}), "*[$maxclients,$10000]");
  EXPECT_EQ(Call(c.get(), {"CONFIG", "SET", "maxclients", "50"}), "+OK");
  EXPECT_EQ(Call(c.get(), {"CONFIG", "GET", "maxclients"}), "*[$maxclients,$50]");
  EXPECT_EQ(Call(c.get(), {"CONFIG", "GET", "port"}),
            "*[$port,$" + std::to_string(srv.port()) + "]");
  EXPECT_EQ(
      Call(c.get(), {"CONFIG", "SET", "databases", "4"}),
      "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set "
      "immutable config");
  EXPECT_EQ(Call(c.get(), {"CONFIG", "SET", "nosuch", "1"}),
            "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
  // requirepass takes effect for new connections.
  EXPECT_EQ(Call(c.get(), {"CONFIG", "SET", "requirepass", "pw"}), "+OK");
  auto d = srv.Connect();
  EXPECT_EQ(Call(d.get(), {"GET", "x"}), "-NOAUTH Authentication required.");
  EXPECT_EQ(Call(d.get(), {"AUTH", "pw"}), "+OK");
}

TEST(Server, ClientOutputBufferHardLimitDisconnects) {
  TestServer srv({"--client-output-buffer-limit", "normal 1mb 0 0"});
  auto c = srv.Connect();
  ASSERT_EQ(Call(c.get(), {"SET", "small", std::string(100 * 1024, 's')}), "+OK");
  ASSERT_EQ(Call(c.get(), {"SET", "big", std::string(2 * 1024 * 1024, 'x')}), "+OK");
  // Replies under the limit are fine.
  Reply r = Cmd(c.get(), {"GET", "small"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_STRING);
  // A reply over the hard limit gets the client disconnected.
  RawConn hog(srv.port());
  ASSERT_TRUE(hog.Send(Resp({"GET", "big"})));
  auto out = hog.ReadUntilEof();
  ASSERT_TRUE(out.has_value())
      << "client over the hard output limit was not disconnected";
  EXPECT_LT(out->size(), 2u * 1024 * 1024);
  Reply info = Cmd(c.get(), {"INFO", "stats"});
  ASSERT_TRUE(info);
  EXPECT_NE(std::string(info->str, info->len)
                .find("client_output_buffer_limit_disconnections:1"),
            std::string::npos);
  EXPECT_EQ(Call(c.get(), {"PING"}), "+PONG");
}

// ---- I/O threads in use (io-threads-adaptive) --------------------------------

int64_t InfoInt(redisContext* c, const std::string& field) {
  Reply r = Cmd(c, {"INFO"});
  if (!r || r->type != REDIS_REPLY_STRING) return -1;
  std::string s(r->str, r->len);
  size_t p = s.find("\r\n" + field + ":");
  if (p == std::string::npos) return -1;
  return std::stoll(s.substr(p + field.size() + 3));
}

TEST(IoThreads, ALightLoadIsServedByOneThread) {
  TestServer srv({"--io-threads", "2"});
  auto c = srv.Connect();
  std::vector<RedisConn> others;
  for (int i = 0; i < 6; ++i) {
    others.push_back(srv.Connect());
    EXPECT_EQ(Call(others.back().get(), {"PING"}), "+PONG");
  }
  EXPECT_EQ(InfoInt(c.get(), "io_threads"), 2);
  EXPECT_EQ(InfoInt(c.get(), "io_threads_in_use"), 1);
  EXPECT_EQ(InfoInt(c.get(), "io_threads_active"), 0);
  EXPECT_EQ(Call(c.get(), {"CONFIG", "SET", "io-threads-adaptive", "no"}), "+OK");
  auto deadline = Clock::now() + kWaitTimeout;
  while (InfoInt(c.get(), "io_threads_in_use") != 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(InfoInt(c.get(), "io_threads_in_use"), 2);
}

// Connections move between threads between two requests, and keep everything
// that is theirs: database, name, transaction, watched keys, pending input.
TEST(IoThreads, ConnectionsMoveWithTheirState) {
  TestServer srv({"--io-threads", "2", "--enable-debug-command", "yes"});
  auto admin = srv.Connect();
  constexpr int kConns = 6;
  std::vector<RedisConn> conns;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(srv.Connect());
    redisContext* c = conns.back().get();
    ASSERT_EQ(Call(c, {"SELECT", "3"}), "+OK");
    ASSERT_EQ(Call(c, {"CLIENT", "SETNAME", "conn-" + std::to_string(i)}), "+OK");
  }
  // conns[0] watches a key that admin changes; conns[1] is inside MULTI.
  ASSERT_EQ(Call(conns[0].get(), {"WATCH", "w"}), "+OK");
  ASSERT_EQ(Call(conns[1].get(), {"MULTI"}), "+OK");
  ASSERT_EQ(Call(conns[1].get(), {"INCR", "in-multi"}), "+QUEUED");

  ASSERT_EQ(Call(admin.get(), {"DEBUG", "SET-IO-THREADS", "2"}), "+OK");
  auto deadline = Clock::now() + kWaitTimeout;
  int64_t moved = 0;
  int round = 0;
  while ((moved = InfoInt(admin.get(), "io_thread_migrations")) < kConns / 2 &&
         Clock::now() < deadline) {
    ++round;
    for (int i = 2; i < kConns; ++i) {
      ASSERT_EQ(Call(conns[i].get(), {"INCR", "n" + std::to_string(i)}),
                ":" + std::to_string(round));
    }
    ASSERT_EQ(Call(conns[0].get(), {"PING"}), "+PONG");
    ASSERT_EQ(Call(conns[1].get(), {"PING"}), "+QUEUED");
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(moved, kConns / 2) << "connections did not move to the second thread";
  EXPECT_EQ(InfoInt(admin.get(), "io_threads_in_use"), 2);
  EXPECT_EQ(InfoInt(admin.get(), "io_threads_active"), 1);

  for (int i = 0; i < kConns; ++i) {
    redisContext* c = conns[i].get();
    if (i == 1) continue;
    EXPECT_EQ(Call(c, {"CLIENT", "GETNAME"}), "$conn-" + std::to_string(i));
    EXPECT_EQ(Call(c, {"SET", "db-check", "x"}), "+OK");
  }
  EXPECT_EQ(Call(admin.get(), {"SELECT", "3"}), "+OK");
  EXPECT_EQ(Call(admin.get(), {"GET", "db-check"}), "$x");  // they stayed in db 3
  EXPECT_EQ(Call(admin.get(), {"SET", "w", "changed"}), "+OK");
  EXPECT_EQ(Call(conns[0].get(), {"MULTI"}), "+OK");
  EXPECT_EQ(Call(conns[0].get(), {"SET", "w", "mine"}), "+QUEUED");
  EXPECT_EQ(Call(conns[0].get(), {"EXEC"}), "$nil");  // the WATCH held
  Reply exec = Cmd(conns[1].get(), {"EXEC"});
  ASSERT_TRUE(exec && exec->type == REDIS_REPLY_ARRAY) << Describe(exec.get());
  EXPECT_EQ(exec->elements, static_cast<size_t>(round + 1));  // INCR + the PINGs
  EXPECT_EQ(CountClients(admin.get()), kConns + 1);

  // Back to one thread: the second thread's connections come back.
  ASSERT_EQ(Call(admin.get(), {"DEBUG", "SET-IO-THREADS", "1"}), "+OK");
  int64_t target = moved + kConns / 2;
  deadline = Clock::now() + kWaitTimeout;
  while (InfoInt(admin.get(), "io_thread_migrations") < target &&
         Clock::now() < deadline) {
    for (int i = 0; i < kConns; ++i) ASSERT_EQ(Call(conns[i].get(), {"PING"}), "+PONG");
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(InfoInt(admin.get(), "io_thread_migrations"), target);
  EXPECT_EQ(InfoInt(admin.get(), "io_threads_in_use"), 1);
  // A moved client can be killed from another connection.
  Reply id = Cmd(conns[5].get(), {"CLIENT", "ID"});
  ASSERT_TRUE(id && id->type == REDIS_REPLY_INTEGER);
  EXPECT_EQ(Call(admin.get(), {"CLIENT", "KILL", "ID", std::to_string(id->integer)}),
            ":1");
  EXPECT_TRUE(WaitForClientCount(admin.get(), kConns));
  EXPECT_EQ(Call(admin.get(), {"DEBUG", "SET-IO-THREADS", "9"}),
            "-ERR value is not an integer or out of range");
}

// Pipelined clients while the threads in use change every few milliseconds:
// every reply arrives, in order, and no update is lost.
TEST(IoThreads, PipelinesSurviveConstantMoves) {
  TestServer srv({"--io-threads", "2", "--enable-debug-command", "yes"});
  constexpr int kClients = 6, kBatch = 20;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<long long> counts(kClients);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto c = srv.Connect();
      std::string key = "counter:" + std::to_string(t);
      long long& expect = counts[static_cast<size_t>(t)];
      while (!done.load()) {
        for (int b = 0; b < kBatch; ++b)
          redisAppendCommand(c.get(), "INCR %s", key.c_str());
        for (int b = 0; b < kBatch; ++b) {
          void* p = nullptr;
          if (redisGetReply(c.get(), &p) != REDIS_OK) {
            ++failures;
            return;
          }
          Reply rep(static_cast<redisReply*>(p));
          if (rep->type != REDIS_REPLY_INTEGER || rep->integer != ++expect) ++failures;
        }
      }
    });
  }
  auto admin = srv.Connect();
  // Toggle between one and two threads until 20 connections have moved. A
  // toggle acts at a cron tick or two, and need not move anything (the
  // connections may already sit where it wants them): the next toggle comes
  // after a move or after half a second without one.
  const int64_t start = InfoInt(admin.get(), "io_thread_migrations");
  auto deadline = Clock::now() + 10 * kWaitTimeout;  // a hang guard
  for (int i = 0; InfoInt(admin.get(), "io_thread_migrations") - start < 20; ++i) {
    ASSERT_LT(Clock::now(), deadline) << "connections stopped moving after toggle " << i;
    int64_t moved = InfoInt(admin.get(), "io_thread_migrations");
    ASSERT_EQ(Call(admin.get(), {"DEBUG", "SET-IO-THREADS", i % 2 ? "1" : "2"}), "+OK");
    for (int tick = 0; tick < 50; ++tick) {
      if (InfoInt(admin.get(), "io_thread_migrations") != moved) break;
      std::this_thread::sleep_for(10ms);
    }
  }
  done = true;
  for (auto& th : clients) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kClients; ++t) {
    EXPECT_GT(counts[static_cast<size_t>(t)], 0);
    EXPECT_EQ(Call(admin.get(), {"GET", "counter:" + std::to_string(t)}),
              "$" + std::to_string(counts[static_cast<size_t>(t)]));
  }
  EXPECT_GE(InfoInt(admin.get(), "io_thread_migrations"), 20);
}

// ---- The harness itself -------------------------------------------------------
// fake_server.py stands in for edgekv-server: it answers like an empty Redis
// and misbehaves at SIGTERM as told. A TestServer that stops badly fails the
// test it belongs to.

#ifndef EDGEKV_FAKE_SERVER
#error "EDGEKV_FAKE_SERVER: the path of tests/integration/fake_server.py"
#endif

void RunFakeServer(const std::string& mode) {
  TestServer fake({"--fake-mode", mode}, EDGEKV_FAKE_SERVER);
  // One that ignores SIGTERM is waited for 2 s only; the others get the
  // usual time to act on it.
  if (mode == "ignore-term") fake.set_stop_timeout(2000ms);
  if (mode == "die") fake.WaitExit(kWaitTimeout);
}

TEST(Harness, AServerThatIgnoresSigtermFailsItsTest) {
  EXPECT_NONFATAL_FAILURE(
      RunFakeServer("ignore-term"),
      "did not exit within 2 s of SIGTERM and was killed with SIGKILL");
}

TEST(Harness, AServerThatExitsNonZeroFailsItsTest) {
  EXPECT_NONFATAL_FAILURE(RunFakeServer("exit1"),
                          "stopped with exit status 1 after SIGTERM");
}

TEST(Harness, ASanitizerReportInTheLogFailsItsTest) {
  EXPECT_NONFATAL_FAILURE(RunFakeServer("asan"),
                          "ERROR: AddressSanitizer: heap-use-after-free");
  EXPECT_NONFATAL_FAILURE(RunFakeServer("ubsan"),
                          "src/fake.cc:12:5: runtime error: signed integer overflow");
  EXPECT_NONFATAL_FAILURE(RunFakeServer("leak"),
                          "ERROR: LeakSanitizer: detected memory leaks");
}

TEST(Harness, AServerThatDiesByItselfFailsItsTest) {
  EXPECT_NONFATAL_FAILURE(RunFakeServer("die"), "ended with exit status 3");
}

TEST(Harness, AServerThatStopsCleanlyPasses) { RunFakeServer("clean"); }

}  // namespace
}  // namespace edgekv_it
