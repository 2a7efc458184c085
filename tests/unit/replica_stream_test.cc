// What a replica makes of the bytes its coordinator sends (ReplicaStream).
#include "replication/replica_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "edgekv/wal_format.h"
#include "format/batch.h"

namespace edgekv {
namespace {

using Item = ReplicaStream::Item;

std::string Frame(uint64_t seq, int ops) {
  wal::BatchBuilder b;
  for (int i = 0; i < ops; ++i) b.Put(0, "k" + std::to_string(i), "v", -1, 0);
  std::string out;
  b.AppendFrame(seq, 1000 + static_cast<int64_t>(seq), &out);
  return out;
}

// Every item of `in`, read whole.
std::vector<Item> ReadAll(ReplicaStream& s, std::string_view in) {
  std::vector<Item> items;
  for (;;) {
    Item item = s.Next(in);
    items.push_back(item);
    if (item.kind == Item::kNeedMore || item.kind == Item::kError ||
        item.kind == Item::kRefused) {
      return items;
    }
    in.remove_prefix(item.consumed);
  }
}

TEST(ReplicaStream, PartialResyncThenLogFrames) {
  ReplicaStream s(1);
  std::string in = "+OK\r\n+CONTINUE abc\r\n" + Frame(8, 2) + Frame(9, 1) + Frame(9, 0);
  auto items = ReadAll(s, in);
  ASSERT_EQ(items.size(), 6u);
  EXPECT_EQ(items[0].kind, Item::kHandshakeOk);
  EXPECT_EQ(items[1].kind, Item::kContinue);
  EXPECT_EQ(items[1].replid, "abc");
  EXPECT_EQ(items[2].kind, Item::kLogFrame);
  EXPECT_EQ(items[2].seq, 8u);
  EXPECT_EQ(items[2].time_ms, 1008);
  EXPECT_EQ(items[3].seq, 9u);
  EXPECT_EQ(items[4].kind, Item::kLogFrame);  // a heartbeat
  EXPECT_EQ(items[5].kind, Item::kNeedMore);
  EXPECT_TRUE(s.streaming());
  EXPECT_FALSE(s.in_full_sync());
}

TEST(ReplicaStream, FullResyncSnapshotThenLog) {
  ReplicaStream s(0);
  std::string in =
      "+FULLRESYNC id42 7\r\n" + Frame(7, 3) + Frame(7, 1) + Frame(7, 0) + Frame(8, 1);
  auto items = ReadAll(s, in);
  ASSERT_EQ(items.size(), 6u);
  EXPECT_EQ(items[0].kind, Item::kFullResync);
  EXPECT_EQ(items[0].replid, "id42");
  EXPECT_EQ(items[0].seq, 7u);
  EXPECT_EQ(items[1].kind, Item::kSnapshotFrame);
  EXPECT_EQ(items[2].kind, Item::kSnapshotFrame);
  EXPECT_EQ(items[3].kind, Item::kSnapshotEnd);
  EXPECT_EQ(items[4].kind, Item::kLogFrame);
  EXPECT_EQ(items[5].kind, Item::kNeedMore);
}

TEST(ReplicaStream, AFrameWaitsForItsBytesWithoutTakingAny) {
  ReplicaStream s(0);
  std::string frame = Frame(5, 1);
  ASSERT_EQ(s.Next("+CONTINUE x\r\n").kind, Item::kContinue);
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    Item item = s.Next(std::string_view(frame).substr(0, cut));
    EXPECT_EQ(item.kind, Item::kNeedMore) << cut;
    EXPECT_EQ(item.consumed, 0u);
  }
  EXPECT_EQ(s.Next(frame).kind, Item::kLogFrame);
}

TEST(ReplicaStream, RefusesWhatIsNotACoordinator) {
  auto first_error = [](int ok, const std::string& in) {
    ReplicaStream s(ok);
    auto items = ReadAll(s, in);
    return items.back().kind == Item::kError ? items.back().error : std::string("none");
  };
  EXPECT_EQ(first_error(1, "-NOAUTH x\r\n"), "handshake refused: -NOAUTH x");
  EXPECT_EQ(first_error(0, "+FULLRESYNC abc notanumber\r\n"),
            "bad FULLRESYNC line: +FULLRESYNC abc notanumber");
  EXPECT_EQ(first_error(0, "$18\r\nREDIS0009\r\n"), "unexpected reply from master: $18");
  EXPECT_EQ(first_error(0, std::string(70000, 'x')),
            "reply line from upstream longer than 64 KB");
  std::string bad = Frame(3, 1);
  bad[0] ^= 1;
  EXPECT_EQ(first_error(0, "+CONTINUE x\r\n" + bad).rfind("bad frame from upstream", 0),
            0u);
  std::string huge(8, '\0');
  huge[7] = '\x90';  // a length of 2.4 GB, past the largest frame
  EXPECT_EQ(first_error(0, "+CONTINUE x\r\n" + huge), "bad frame from upstream");
}

// A coordinator that writes a log format this replica cannot read refuses
// it for good: the link is not to be retried (ReplicaLink::Refused).
TEST(ReplicaStream, AnIncompatibleCoordinatorRefusesForGood) {
  ReplicaStream s(1);
  EXPECT_EQ(s.Next("+OK\r\n").kind, Item::kHandshakeOk);
  Item item = s.Next("-INCOMPATIBLE writes log format 9\r\n");
  EXPECT_EQ(item.kind, Item::kRefused);
  EXPECT_EQ(item.error, "INCOMPATIBLE writes log format 9");
  EXPECT_EQ(s.Next("+CONTINUE x\r\n").kind, Item::kError);
  // Any other error is one to retry after.
  ReplicaStream other(0);
  EXPECT_EQ(other.Next("-ERR go away\r\n").kind, Item::kError);
}

TEST(ReplicaStream, StaysFailed) {
  ReplicaStream s(0);
  EXPECT_EQ(s.Next("+WHAT\r\n").kind, Item::kError);
  EXPECT_EQ(s.Next("+CONTINUE x\r\n").kind, Item::kError);
}

}  // namespace
}  // namespace edgekv
