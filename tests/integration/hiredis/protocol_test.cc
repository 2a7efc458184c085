// Wire-protocol integration tests: malformed input, inline commands, flow
// control with clients that do not read.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_server.h"

namespace edgekv_it {
namespace {

// Sends `bytes` on a fresh connection and expects exactly `error` followed by
// the server closing the connection.
void ExpectProtocolErrorAndClose(int port, const std::string& bytes,
                                 const std::string& error) {
  RawConn raw(port);
  ASSERT_TRUE(raw.Send(bytes));
  auto rest = raw.ReadUntilEof();
  ASSERT_TRUE(rest.has_value()) << "connection not closed after: " << bytes;
  EXPECT_EQ(*rest, error + "\r\n");
}

TEST(Protocol, ErrorClosesOnlyThatConnection) {
  TestServer srv;
  RawConn bystander(srv.port());
  ASSERT_TRUE(bystander.Send(Resp({"SET", "k", "v"})));
  ASSERT_EQ(bystander.ReadRawReply(), "+OK\r\n");

  RawConn bad(srv.port());
  ASSERT_TRUE(bad.Send("*1\r\n$-5\r\n"));
  auto out = bad.ReadUntilEof();
  ASSERT_TRUE(out.has_value()) << "server did not close the offending connection";
  EXPECT_EQ(*out, "-ERR Protocol error: invalid bulk length\r\n");

  // The other connection is unaffected, including data it sends afterwards.
  ASSERT_TRUE(bystander.Send(Resp({"GET", "k"}) + "PING\r\n"));
  EXPECT_EQ(bystander.ReadRawReply(), "$1\r\nv\r\n");
  EXPECT_EQ(bystander.ReadRawReply(), "+PONG\r\n");
  // And new connections still work.
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"GET", "k"}), "$v");
}

// A client that sends its last request and shuts its side down at once, then
// waits for the server to close (`printf 'PING\r\n' | nc -N`): it gets its
// reply and the close, also when its end of stream is already queued behind
// the request when the server reads (here: while the only I/O thread sleeps).
TEST(Protocol, HalfClosedClientGetsItsReplyAndTheClose) {
  TestServer srv({"--io-threads", "1", "--enable-debug-command", "yes"});
  for (int i = 0; i < 3; ++i) {
    RawConn c(srv.port());
    ASSERT_TRUE(c.Send("PING\r\n"));  // connected, idle, its read queued
    ASSERT_EQ(c.ReadRawReply(), "+PONG\r\n");
    RawConn sleeper(srv.port());
    ASSERT_TRUE(sleeper.Send(Resp({"DEBUG", "SLEEP", "0.3"})));
    std::this_thread::sleep_for(100ms);  // the thread is asleep now
    ASSERT_TRUE(c.Send("PING\r\n"));
    ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
    auto out = c.ReadUntilEof();
    ASSERT_TRUE(out.has_value()) << "no close after the reply, attempt " << i;
    EXPECT_EQ(*out, "+PONG\r\n");
    EXPECT_EQ(sleeper.ReadRawReply(), "+OK\r\n");
  }
  // And a plain half-close, its end of stream arriving after the request.
  RawConn c(srv.port());
  ASSERT_TRUE(c.Send("PING\r\n"));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  EXPECT_EQ(c.ReadUntilEof(), "+PONG\r\n");
}

// A half-closed client still reads: its end of stream, read while replies
// are still being written (more than the socket buffers take) or held back
// by backpressure, does not cut them short.
TEST(Protocol, HalfClosedClientGetsEveryReplyOfALongPipeline) {
  TestServer srv;
  RawConn one(srv.port());
  ASSERT_TRUE(one.Send(Resp({"COMMAND"})));
  auto listing = one.ReadRawReply();  // about 20 KB
  ASSERT_TRUE(listing.has_value());
  constexpr int kRequests = 40;  // several times the backpressure bound
  RawConn c(srv.port());
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i) pipeline += Resp({"COMMAND"});
  ASSERT_TRUE(c.Send(pipeline));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  std::this_thread::sleep_for(300ms);  // the server reads the end of stream meanwhile
  auto out = c.ReadUntilEof();
  ASSERT_TRUE(out.has_value()) << "no close after the replies";
  ASSERT_EQ(out->size(), listing->size() * kRequests);
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(out->compare(listing->size() * i, listing->size(), *listing), 0) << i;
  }
}

// The same with replies that wait for the log's fsync: every acknowledged
// write is acknowledged before the close. The log starts a new segment every
// megabyte, so some replies wait for the writer thread to start it (the
// connection then waits for the log with only a weak reference to itself).
TEST(Protocol, HalfClosedClientGetsRepliesHeldForTheLog) {
  TestServer srv({"--appendfsync", "always", "--wal-segment-size", "1mb"});
  const std::string value(8000, 'v');
  for (int attempt = 0; attempt < 5; ++attempt) {
    RawConn c(srv.port());
    std::string pipeline, expected;
    for (int i = 0; i < 200; ++i) {
      pipeline += Resp({"SET", "k" + std::to_string(i), value});
      expected += "+OK\r\n";
    }
    ASSERT_TRUE(c.Send(pipeline));
    ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
    EXPECT_EQ(c.ReadUntilEof(), expected) << "attempt " << attempt;
  }
}

// A client that goes away while blocked in WAIT (which may never finish)
// is freed at once, as Redis frees it.
TEST(Protocol, ClientThatLeavesWhileBlockedIsFreed) {
  TestServer srv;
  auto watcher = srv.Connect();
  auto clients = [&] {
    std::string info = Call(watcher.get(), {"INFO", "clients"});
    size_t at = info.find("connected_clients:");
    return std::stoi(info.substr(at + 18));
  };
  {
    RawConn c(srv.port());
    // After a write, with no replica: blocks for good.
    ASSERT_TRUE(c.Send(Resp({"SET", "k", "v"}) + Resp({"WAIT", "1", "0"})));
    ASSERT_EQ(c.ReadRawReply(), "+OK\r\n");
    std::this_thread::sleep_for(200ms);
    ASSERT_EQ(clients(), 2);
  }  // closed
  auto deadline = Clock::now() + kWaitTimeout;
  while (clients() != 1 && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(clients(), 1);
}

TEST(Protocol, MalformedRequests) {
  TestServer srv;
  ExpectProtocolErrorAndClose(srv.port(), "*abc\r\n",
                              "-ERR Protocol error: invalid multibulk length");
  ExpectProtocolErrorAndClose(srv.port(), "*1\r\nfoo\r\n",
                              "-ERR Protocol error: expected '$', got 'f'");
  ExpectProtocolErrorAndClose(srv.port(), "*2\r\n$3\r\nGET\r\n$x\r\n",
                              "-ERR Protocol error: invalid bulk length");
  ExpectProtocolErrorAndClose(srv.port(), "SET \"a b\r\n",
                              "-ERR Protocol error: unbalanced quotes in request");
  ExpectProtocolErrorAndClose(srv.port(), "*3000000000\r\n",
                              "-ERR Protocol error: invalid multibulk length");
  ExpectProtocolErrorAndClose(srv.port(), "*1\r\n$9999999999999\r\n",
                              "-ERR Protocol error: invalid bulk length");
  // Commands before the bad one in the same packet are answered first.
  ExpectProtocolErrorAndClose(
      srv.port(), "PING\r\n" + Resp({"ECHO", "x"}) + "*1\r\n$-5\r\n",
      "+PONG\r\n$1\r\nx\r\n-ERR Protocol error: invalid bulk length");
}

TEST(Protocol, EmptyMultibulkIsIgnored) {
  TestServer srv;
  RawConn raw(srv.port());
  ASSERT_TRUE(raw.Send("*0\r\n*-1\r\nPING\r\n"));
  EXPECT_EQ(raw.ReadRawReply(), "+PONG\r\n");
}

TEST(Protocol, InlineCommands) {
  TestServer srv;
  RawConn raw(srv.port());
  ASSERT_TRUE(raw.Send("PING\r\n"));
  EXPECT_EQ(raw.ReadRawReply(), "+PONG\r\n");
  ASSERT_TRUE(raw.Send("SET k v\n"));  // bare \n also ends an inline command
  EXPECT_EQ(raw.ReadRawReply(), "+OK\r\n");
  ASSERT_TRUE(raw.Send("GET k\r\n"));
  EXPECT_EQ(raw.ReadRawReply(), "$1\r\nv\r\n");
  // Empty lines are skipped; quotes and escapes as in redis-cli.
  ASSERT_TRUE(raw.Send(
      "\r\n\n  \r\nSET q \"a b\\r\\n\\x41\" \r\nGET q\r\nSET s 'it\\'s'\r\nGET s\r\n"));
  EXPECT_EQ(raw.ReadRawReply(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "$6\r\na b\r\nA\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "$4\r\nit's\r\n");
  // Inline and multibulk requests mixed in one packet, split mid-command.
  ASSERT_TRUE(raw.Send("ECHO one\r\n" + Resp({"ECHO", "two"}) + "ECH"));
  EXPECT_EQ(raw.ReadRawReply(), "$3\r\none\r\n");
  EXPECT_EQ(raw.ReadRawReply(), "$3\r\ntwo\r\n");
  ASSERT_TRUE(raw.Send("O three\r\n"));
  EXPECT_EQ(raw.ReadRawReply(), "$5\r\nthree\r\n");
  ASSERT_TRUE(raw.Send("NOSUCH a b\r\n"));
  EXPECT_EQ(raw.ReadRawReply(),
            "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n");
}

TEST(Protocol, RequestSplitAcrossManyWrites) {
  TestServer srv;
  RawConn raw(srv.port());
  std::string req =
      Resp({"SET", "split", std::string(100000, 'z')}) + Resp({"STRLEN", "split"});
  // Byte by byte for the header, then in uneven chunks.
  for (size_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(raw.Send(req.substr(i, 1)));
    std::this_thread::sleep_for(1ms);
  }
  for (size_t i = 20; i < req.size(); i += 7777)
    ASSERT_TRUE(raw.Send(req.substr(i, 7777)));
  EXPECT_EQ(raw.ReadRawReply(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawReply(), ":100000\r\n");
}

TEST(Protocol, OversizedInlineRequestIsRejected) {
  TestServer srv;
  RawConn bystander(srv.port());
  RawConn raw(srv.port());
  // 64 KiB + 1 bytes without a newline: the limit is exceeded exactly when the
  // last byte arrives, so the server has read everything before it closes.
  ASSERT_TRUE(raw.Send(std::string(64 * 1024 + 1, 'a')));
  auto out = raw.ReadUntilEof();
  ASSERT_TRUE(out.has_value()) << "server did not close the connection";
  EXPECT_EQ(*out, "-ERR Protocol error: too big inline request\r\n");
  ASSERT_TRUE(bystander.Send("PING\r\n"));
  EXPECT_EQ(bystander.ReadRawReply(), "+PONG\r\n");
}

TEST(Protocol, LongInlineRequestBelowLimitWorks) {
  TestServer srv;
  RawConn raw(srv.port());
  std::string v(60 * 1024, 'x');
  ASSERT_TRUE(raw.Send("SET big " + v + "\r\nSTRLEN big\r\n"));
  EXPECT_EQ(raw.ReadRawReply(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawReply(), ":" + std::to_string(v.size()) + "\r\n");
}

TEST(Protocol, BulkLongerThanProtoMaxBulkLenIsRejected) {
  TestServer srv({"--proto-max-bulk-len", "1mb"});
  ExpectProtocolErrorAndClose(srv.port(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n",
                              "-ERR Protocol error: invalid bulk length");
  auto c = srv.Connect();
  EXPECT_EQ(Call(c.get(), {"SET", "k", std::string(1024 * 1024, 'v')}), "+OK");
}

TEST(Protocol, QueryBufferLimitClosesClient) {
  TestServer srv({"--client-query-buffer-limit", "1mb"});
  RawConn bystander(srv.port());
  RawConn raw(srv.port());
  // One 2 MiB argument: the unparsed request outgrows the 1 MiB limit.
  std::string req = "*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$2097152\r\n";
  req += std::string(2 * 1024 * 1024, 'q') + "\r\n";
  raw.Send(req);  // may fail midway once the server closes
  EXPECT_TRUE(raw.WaitForCloseOrReset())
      << "client over the query buffer limit still open";
  ASSERT_TRUE(bystander.Send(Resp({"EXISTS", "q"})));
  EXPECT_EQ(bystander.ReadRawReply(), ":0\r\n");
}

// A client that pipelines GETs of a big value and never reads its replies
// must stall only itself: others are served promptly and the server's memory
// stays bounded (backpressure, not unbounded output buffering).
TEST(Protocol, NonReadingClientDoesNotStallOthersOrGrowMemory) {
  // One I/O thread: the stuck client and the others share an event loop.
  TestServer srv({"--io-threads", "1"});
  auto c = srv.Connect();
  const std::string big(1024 * 1024, 'B');
  ASSERT_EQ(Call(c.get(), {"SET", "big", big}), "+OK");
  long rss_before = srv.RssKb();
  ASSERT_GT(rss_before, 0);

  // 4000 GETs of 1 MiB = ~4 GiB of replies if the server buffered them all.
  RawConn hog(srv.port(), /*rcvbuf=*/64 * 1024);
  std::string gets;
  for (int i = 0; i < 4000; ++i) gets += Resp({"GET", "big"});
  ASSERT_TRUE(hog.Send(gets));

  // New and old clients are served while the hog still does not read (a
  // loop stalled behind it would never answer them).
  long rss_max = rss_before;
  for (int i = 0; i < 30; ++i) {
    RawConn other(srv.port());
    ASSERT_TRUE(other.Send("PING\r\n"));
    ASSERT_EQ(other.ReadRawReply(), "+PONG\r\n") << "PING stalled behind the hog";
    EXPECT_EQ(Call(c.get(), {"STRLEN", "big"}), ":1048576");
    rss_max = std::max(rss_max, srv.RssKb());
    std::this_thread::sleep_for(50ms);
  }
  // Bounded: well under 100 MiB of growth for ~4 GiB of pending replies.
  EXPECT_LT(rss_max - rss_before, 100 * 1024)
      << "RSS grew from " << rss_before << " kB to " << rss_max << " kB";

  // The hog still gets correct replies once it starts reading.
  for (int i = 0; i < 3; ++i) {
    auto r = hog.ReadRawReply();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(*r, "$1048576\r\n" + big + "\r\n");
  }
}

}  // namespace
}  // namespace edgekv_it
