// ReplyBuilder's bound on a client's pending replies (set_limit).
#include <gtest/gtest.h>

#include <string>

#include "edgekv/reply.h"

namespace edgekv {
namespace {

TEST(ReplyLimit, StopsWritingValuesPastTheBound) {
  std::string out;
  ReplyBuilder rb(&out);
  rb.set_limit(10000);
  rb.set_reply_start(0);
  rb.ArrayHeader(5);
  const std::string value(3000, 'v');
  for (int i = 0; i < 5; ++i) rb.Bulk(value);
  EXPECT_TRUE(rb.over_limit());
  EXPECT_LE(out.size(), 10000u);
  EXPECT_EQ(out.size(), 4 + 3 * (3000 + 9));  // three values fitted
  rb.Bulk("x");                               // nothing more once over
  EXPECT_EQ(out.size(), 4 + 3 * (3000 + 9));
}

TEST(ReplyLimit, ACommandsFirstValueAlwaysFits) {
  std::string out(500, '.');  // replies of earlier commands
  ReplyBuilder rb(&out);
  rb.set_limit(1000);
  rb.set_reply_start(out.size());
  rb.ArrayHeader(2);
  rb.Bulk(std::string(5000, 'v'));  // larger than the bound: still written
  EXPECT_FALSE(rb.over_limit());
  rb.Bulk("second");
  EXPECT_TRUE(rb.over_limit());
}

TEST(ReplyLimit, NoBoundByDefault) {
  std::string out;
  ReplyBuilder rb(&out);
  for (int i = 0; i < 100; ++i) rb.Bulk(std::string(100000, 'v'));
  EXPECT_FALSE(rb.over_limit());
  EXPECT_GT(out.size(), 10000000u);
}

}  // namespace
}  // namespace edgekv
