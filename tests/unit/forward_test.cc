// RespReplyLength: how a replica's write forwarder splits the coordinator's
// replies, and where it stops waiting for one that cannot be a reply.
#include "replication/forward.h"

#include <gtest/gtest.h>

#include <string>

namespace edgekv {
namespace {

TEST(RespReplyLength, SplitsCompleteRepliesAndWaitsForTheRest) {
  EXPECT_EQ(RespReplyLength("+OK\r\n:1\r\n"), 5);
  EXPECT_EQ(RespReplyLength("$3\r\nabc\r\n+OK\r\n"), 9);
  EXPECT_EQ(RespReplyLength("$-1\r\n"), 5);
  EXPECT_EQ(RespReplyLength("*2\r\n:1\r\n$1\r\nx\r\n"), 15);
  EXPECT_EQ(RespReplyLength("%1\r\n+a\r\n:1\r\n"), 12);
  EXPECT_EQ(RespReplyLength("$3\r\nab"), 0);
  EXPECT_EQ(RespReplyLength("*2\r\n:1\r\n"), 0);
  EXPECT_EQ(RespReplyLength("+OK"), 0);
  EXPECT_EQ(RespReplyLength("?\r\n"), -1);
  EXPECT_EQ(RespReplyLength("$x\r\n"), -1);
}

// A peer that is not an edgekv (or is corrupt) must not be buffered forever:
// a line past 64 KB without its end, a bulk past 1 GB, an aggregate past 2^31
// elements (whose doubling for a map would overflow) are malformed.
TEST(RespReplyLength, WhatCannotBeAReplyIsMalformedNotIncomplete) {
  std::string line(64 * 1024 - 1, 'x');       // with its type byte, 64 KB
  EXPECT_EQ(RespReplyLength("+" + line), 0);  // 64 KB: may still end
  EXPECT_EQ(RespReplyLength("+" + line + "x"), -1);
  EXPECT_EQ(RespReplyLength("-" + line + "xx\r\n"), -1);
  EXPECT_EQ(RespReplyLength("$1073741824\r\n"), 0);  // 1 GB: may come
  EXPECT_EQ(RespReplyLength("$1073741825\r\n"), -1);
  EXPECT_EQ(RespReplyLength("$9223372036854775807\r\n"), -1);
  EXPECT_EQ(RespReplyLength("*2147483648\r\n"), 0);
  EXPECT_EQ(RespReplyLength("*2147483649\r\n"), -1);
  EXPECT_EQ(RespReplyLength("%9223372036854775807\r\n+a\r\n"), -1);
}

}  // namespace
}  // namespace edgekv
