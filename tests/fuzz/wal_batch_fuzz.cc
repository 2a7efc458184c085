// WAL batches. Arbitrary payloads must decode to an error or to operations
// inside the payload, never crash. Operations built from the input must come
// back from their frame exactly as they went in, under a matching CRC.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "format/batch.h"

namespace edgekv::wal {
namespace {

struct OwnedOp {
  Op op;
  int db = 0, db2 = 0;
  uint32_t ns = 0;
  uint8_t flags = 0;
  std::string key, value, field;
  int64_t expire_ms = -1;
  bool operator==(const OwnedOp&) const = default;
};

OwnedOp Own(const OpView& v) {
  OwnedOp o;
  o.op = v.op;
  o.db = v.db;
  o.db2 = v.db2;
  o.ns = v.ns;
  o.flags = v.flags;
  o.key = v.key;
  o.value = v.value;
  o.field = v.field;
  o.expire_ms = v.expire_ms;
  return o;
}

void DecodeAnything(std::string_view payload) {
  BatchHeader h;
  size_t seen = 0;
  Status s = DecodeBatch(payload, &h, [&](const OpView& op) {
    ++seen;
    for (std::string_view part : {op.key, op.value, op.field}) {
      if (!part.empty() &&
          (part.data() < payload.data() ||
           part.data() + part.size() > payload.data() + payload.size())) {
        std::abort();
      }
    }
  });
  if (s.ok() && seen != h.count) std::abort();
}

void RoundTrip(FuzzedDataProvider& in) {
  BatchBuilder b;
  std::vector<OwnedOp> want;
  while (in.remaining_bytes() > 0 && want.size() < 32) {
    OwnedOp o;
    o.op = static_cast<Op>(in.ConsumeIntegralInRange<int>(1, 14));
    o.db = in.ConsumeIntegralInRange<int>(0, 0xffff);
    switch (o.op) {
      case Op::kPut:
        o.flags = in.ConsumeIntegral<uint8_t>();
        o.key = in.ConsumeRandomLengthString(64);
        o.value = in.ConsumeRandomLengthString(512);
        o.expire_ms = in.ConsumeIntegral<int64_t>();
        b.Put(o.db, o.key, o.value, o.expire_ms, o.flags);
        break;
      case Op::kErase:
        o.flags = in.ConsumeIntegral<uint8_t>();
        o.key = in.ConsumeRandomLengthString(64);
        b.Erase(o.db, o.key, o.flags);
        break;
      case Op::kFlushDb:
        o.ns = in.ConsumeIntegral<uint32_t>();
        b.FlushDb(o.db, o.ns);
        break;
      case Op::kSwapDb:
        o.db2 = in.ConsumeIntegralInRange<int>(0, 0xffff);
        b.SwapDb(o.db, o.db2);
        break;
      // The library operations have no database: they decode with db 0.
      case Op::kLibraryPut:
        o.db = 0;
        o.key = in.ConsumeRandomLengthString(64);
        o.value = in.ConsumeRandomLengthString(512);
        b.LibraryPut(o.key, o.value);
        break;
      case Op::kLibraryDelete:
        o.db = 0;
        o.key = in.ConsumeRandomLengthString(64);
        b.LibraryDelete(o.key);
        break;
      case Op::kLibraryFlush:
        o.db = 0;
        b.LibraryFlush();
        break;
      case Op::kHashSet:
        o.flags = in.ConsumeIntegral<uint8_t>();
        o.key = in.ConsumeRandomLengthString(64);
        o.field = in.ConsumeRandomLengthString(64);
        o.value = in.ConsumeRandomLengthString(512);
        b.HashSet(o.db, o.key, o.field, o.value, o.flags);
        break;
      case Op::kZAdd:
        o.flags = in.ConsumeIntegral<uint8_t>();
        o.key = in.ConsumeRandomLengthString(64);
        o.field = in.ConsumeRandomLengthString(64);
        o.value = in.ConsumeBytesAsString(8);
        o.value.resize(8, '\0');
        b.ElementSet(ValueType::kZSet, o.db, o.key, o.field, o.value, o.flags);
        break;
      case Op::kHashDel:
      case Op::kSetAdd:
      case Op::kSetRem:
      case Op::kZRem:
        o.flags = in.ConsumeIntegral<uint8_t>();
        o.key = in.ConsumeRandomLengthString(64);
        o.field = in.ConsumeRandomLengthString(64);
        if (o.op == Op::kHashDel) {
          b.HashDel(o.db, o.key, o.field, o.flags);
        } else if (o.op == Op::kSetAdd) {
          b.ElementSet(ValueType::kSet, o.db, o.key, o.field, {}, o.flags);
        } else {
          b.ElementDel(o.op == Op::kZRem ? ValueType::kZSet : ValueType::kSet, o.db,
                       o.key, o.field, o.flags);
        }
        break;
      case Op::kExpire:
        o.flags = in.ConsumeIntegral<uint8_t>();
        o.key = in.ConsumeRandomLengthString(64);
        o.expire_ms = in.ConsumeIntegral<int64_t>();
        b.Expire(o.db, o.key, o.expire_ms, o.flags);
        break;
    }
    want.push_back(std::move(o));
  }
  const uint64_t seq = 0x0123456789abcdefull;
  const int64_t time_ms = -42;
  std::string frame;
  b.AppendFrame(seq, time_ms, &frame);
  if (frame.size() < kFrameHeaderSize) std::abort();
  uint32_t crc = GetFixed32(frame.data()), len = GetFixed32(frame.data() + 4);
  if (len != frame.size() - kFrameHeaderSize) std::abort();
  if (FrameCrc(std::string_view(frame).substr(4)) != crc) std::abort();
  std::vector<OwnedOp> got;
  BatchHeader h;
  Status s = DecodeBatch(std::string_view(frame).substr(kFrameHeaderSize), &h,
                         [&](const OpView& op) { got.push_back(Own(op)); });
  if (!s.ok() || h.seq != seq || h.time_ms != time_ms || h.count != want.size() ||
      got != want) {
    std::abort();
  }
}

}  // namespace
}  // namespace edgekv::wal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) {
    FuzzedDataProvider in(data + 1, size - 1);
    edgekv::wal::RoundTrip(in);
  } else {
    edgekv::wal::DecodeAnything(
        std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  }
  return 0;
}
