// What a replica reads from its coordinator (ReplicaStream), fed arbitrary
// bytes: handshake replies, PSYNC's answer, snapshot and log frames. It must
// never crash or read outside its input; what it makes of a stream must not
// depend on how the reads cut it (a socket delivers any split); it never
// needs more bytes buffered than one line of 64 KB or one frame; and after
// an error it stays failed. The frames it accepts are decoded as the
// replica's applier decodes them.
//
// Input: byte 0 = expected +OK count (bits 0-1), "fix the frames' CRCs"
// (bit 2, so that inputs reach past the checksum), read size (bits 3-7);
// the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "replication/replica_stream.h"

namespace edgekv {
namespace {

// Recomputes the CRC of every frame after the handshake's `lines` lines.
void FixCrcs(std::string* s, int lines) {
  size_t pos = 0;
  for (int i = 0; i < lines; ++i) {
    size_t nl = s->find("\r\n", pos);
    if (nl == std::string::npos) return;
    pos = nl + 2;
  }
  while (s->size() - pos >= wal::kFrameHeaderSize) {
    uint32_t len = wal::GetFixed32(s->data() + pos + 4);
    if (len > s->size() - pos - wal::kFrameHeaderSize) return;
    std::string crc;
    wal::PutFixed32(&crc, wal::FrameCrc(std::string_view(*s).substr(pos + 4, 4 + len)));
    s->replace(pos, 4, crc);
    pos += wal::kFrameHeaderSize + len;
  }
}

std::vector<std::string> Items(std::string_view in, int expected_ok, size_t step) {
  ReplicaStream stream(expected_ok);
  std::vector<std::string> items;
  size_t begin = 0;
  size_t avail = step == 0 ? in.size() : std::min(step, in.size());
  for (;;) {
    std::string_view view = in.substr(begin, avail - begin);
    ReplicaStream::Item item = stream.Next(view);
    if (item.kind == ReplicaStream::Item::kNeedMore) {
      // Never more waiting than one line or one frame.
      size_t bound = stream.streaming() ? wal::kFrameHeaderSize + wal::kMaxPayload
                                        : ReplicaStream::kMaxLine + 2;
      if (view.size() > bound || item.consumed != 0) std::abort();
      if (avail == in.size()) {
        items.push_back("I");
        return items;
      }
      avail = std::min(in.size(), avail + step);
      continue;
    }
    if (item.kind == ReplicaStream::Item::kError ||
        item.kind == ReplicaStream::Item::kRefused) {
      // Both end the stream: what comes after is an error too.
      if (stream.Next(view).kind != ReplicaStream::Item::kError) std::abort();
      items.push_back("X" + item.error);
      return items;
    }
    if (item.consumed == 0 || item.consumed > view.size()) std::abort();
    std::string e = std::to_string(item.kind) + ":" + std::to_string(item.consumed) +
                    ":" + item.replid + ":" + std::to_string(item.seq) + ":" +
                    std::to_string(item.time_ms);
    if (!item.frame.empty()) {
      if (item.frame.data() != view.data() || item.frame.size() != item.consumed)
        std::abort();
      wal::BatchHeader h;
      size_t ops = 0;
      Status s = wal::DecodeBatch(item.frame.substr(wal::kFrameHeaderSize), &h,
                                  [&](const wal::OpView& op) {
                                    ops += 1 + (op.key.size() + op.value.size() > 0);
                                  });
      e += s.ok() ? ":" + std::to_string(ops) : ":bad";
    }
    items.push_back(std::move(e));
    begin += item.consumed;
  }
}

}  // namespace
}  // namespace edgekv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  int expected_ok = data[0] & 3;
  size_t step = 1 + (data[0] >> 3);
  std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 4) edgekv::FixCrcs(&in, expected_ok + 1);
  if (edgekv::Items(in, expected_ok, 0) != edgekv::Items(in, expected_ok, step))
    std::abort();
  return 0;
}
