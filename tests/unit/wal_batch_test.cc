// WAL frames (docs/wal_format.md): the CRC is zlib's CRC-32, so segments
// written by any build (or checked with any CRC-32 tool) agree; a frame
// decodes to the operations it was built from.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/batch.h"

namespace edgekv::wal {
namespace {

TEST(FrameCrcTest, IsTheStandardCrc32) {
  // The CRC-32 check values: "123456789" gives 0xCBF43926, nothing gives 0.
  EXPECT_EQ(FrameCrc("123456789"), 0xCBF43926u);
  EXPECT_EQ(FrameCrc(""), 0u);
  EXPECT_EQ(FrameCrc("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(FrameCrcTest, SeesEveryByteOfLongInput) {
  std::string data(4096 + 7, 'x');
  uint32_t before = FrameCrc(data);
  for (size_t i : {size_t{0}, size_t{63}, size_t{2048}, data.size() - 1}) {
    std::string changed = data;
    changed[i] ^= 1;
    EXPECT_NE(FrameCrc(changed), before) << "byte " << i;
  }
}

TEST(BatchFrameTest, DecodesWhatWasBuiltAndCarriesAValidCrc) {
  BatchBuilder b;
  b.Put(3, "session:1", std::string("v\0alue", 6), 1234, kFlagCreated);
  b.Erase(0, "gone", 0);
  std::string frame;
  b.AppendFrame(42, 99, &frame);

  ASSERT_GE(frame.size(), kFrameHeaderSize);
  uint32_t len = GetFixed32(frame.data() + 4);
  ASSERT_EQ(frame.size(), kFrameHeaderSize + len);
  EXPECT_EQ(GetFixed32(frame.data()), FrameCrc(std::string_view(frame).substr(4)));

  BatchHeader h;
  std::vector<OpView> ops;
  Status s = DecodeBatch(std::string_view(frame).substr(kFrameHeaderSize), &h,
                         [&](const OpView& op) { ops.push_back(op); });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(h.seq, 42u);
  EXPECT_EQ(h.time_ms, 99);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].op, Op::kPut);
  EXPECT_EQ(ops[0].db, 3);
  EXPECT_EQ(ops[0].key, "session:1");
  EXPECT_EQ(ops[0].value, std::string_view("v\0alue", 6));
  EXPECT_EQ(ops[0].expire_ms, 1234);
  EXPECT_EQ(ops[1].op, Op::kErase);
  EXPECT_EQ(ops[1].key, "gone");
}

TEST(BatchFrameTest, LibraryOperationsRoundTripWithoutADatabase) {
  BatchBuilder b;
  b.LibraryFlush();
  b.LibraryPut("lib", "#!lua name=lib\nredis.register_function('f', function() end)");
  b.LibraryDelete("old");
  std::string frame;
  b.AppendFrame(7, 0, &frame);
  BatchHeader h;
  std::vector<OpView> ops;
  Status s = DecodeBatch(std::string_view(frame).substr(kFrameHeaderSize), &h,
                         [&](const OpView& op) { ops.push_back(op); });
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].op, Op::kLibraryFlush);
  EXPECT_EQ(ops[1].op, Op::kLibraryPut);
  EXPECT_EQ(ops[1].key, "lib");
  EXPECT_EQ(ops[1].value, "#!lua name=lib\nredis.register_function('f', function() end)");
  EXPECT_EQ(ops[2].op, Op::kLibraryDelete);
  EXPECT_EQ(ops[2].key, "old");
}

TEST(BatchFrameTest, ElementOperationsCarryTheirCollectionType) {
  BatchBuilder b;
  b.ElementSet(ValueType::kHash, 1, "h", "f", "v", kFlagCreated | kFlagNewElement);
  b.ElementSet(ValueType::kSet, 2, "s", "m", {}, kFlagNewElement);
  b.ElementDel(ValueType::kSet, 2, "s", "m", 0);
  b.ElementDel(ValueType::kHash, 1, "h", "f", 0);
  const std::string score = std::string("\x00\x00\x00\x00\x00\x00\xf8\x3f", 8);  // 1.5
  b.ElementSet(ValueType::kZSet, 3, "z", "m", score, kFlagCreated);
  b.ElementDel(ValueType::kZSet, 3, "z", "m", 0);
  std::string frame;
  b.AppendFrame(9, 0, &frame);
  BatchHeader h;
  std::vector<OpView> ops;
  Status s = DecodeBatch(std::string_view(frame).substr(kFrameHeaderSize), &h,
                         [&](const OpView& op) { ops.push_back(op); });
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0].op, Op::kHashSet);
  EXPECT_EQ(ops[0].value, "v");
  EXPECT_EQ(ops[1].op, Op::kSetAdd);
  EXPECT_EQ(ops[1].ctype, ValueType::kSet);
  EXPECT_EQ(ops[1].db, 2);
  EXPECT_EQ(ops[1].field, "m");
  EXPECT_EQ(ops[1].flags, kFlagNewElement);
  EXPECT_EQ(ops[2].op, Op::kSetRem);
  EXPECT_EQ(ops[2].ctype, ValueType::kSet);
  EXPECT_EQ(ops[3].op, Op::kHashDel);
  EXPECT_EQ(ops[3].ctype, ValueType::kHash);
  EXPECT_EQ(ops[4].op, Op::kZAdd);
  EXPECT_EQ(ops[4].ctype, ValueType::kZSet);
  EXPECT_EQ(ops[4].field, "m");
  EXPECT_EQ(ops[4].value, score);
  EXPECT_EQ(ops[5].op, Op::kZRem);
  EXPECT_EQ(ops[5].ctype, ValueType::kZSet);
  for (const OpView& op : ops) {
    EXPECT_EQ(IsElementSet(op.op),
              op.op == Op::kHashSet || op.op == Op::kSetAdd || op.op == Op::kZAdd);
    EXPECT_EQ(IsElementDel(op.op),
              op.op == Op::kHashDel || op.op == Op::kSetRem || op.op == Op::kZRem);
  }
}

TEST(BatchFrameTest, ATruncatedLibraryOperationIsCorruption) {
  BatchBuilder b;
  b.LibraryPut("lib", "code");
  std::string frame;
  b.AppendFrame(7, 0, &frame);
  std::string payload = frame.substr(kFrameHeaderSize);
  payload.resize(payload.size() - 2);
  BatchHeader h;
  Status s = DecodeBatch(payload, &h, [](const OpView&) {});
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace edgekv::wal
