// Recovery over an arbitrary segment file: Replay must end in an error naming
// the place, or deliver batches in sequence order, never crash or read past
// the file. With the input's first bit set, the fuzzer's segment gets a
// valid header and its frames valid CRCs, so that inputs get past them.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

namespace edgekv::wal {
namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() /
             ("edgekv-fuzz-replay-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

// Fills in the CRC of every whole frame after the header.
void FixCrcs(std::string* seg) {
  size_t off = kSegmentHeaderSize;
  while (seg->size() - off >= kFrameHeaderSize) {
    uint32_t len = GetFixed32(seg->data() + off + 4);
    if (len > seg->size() - off - kFrameHeaderSize) break;
    uint32_t crc = FrameCrc(std::string_view(seg->data() + off + 4, 4 + len));
    for (int i = 0; i < 4; ++i) (*seg)[off + i] = static_cast<char>(crc >> (8 * i));
    off += kFrameHeaderSize + len;
  }
}

void Run(const uint8_t* data, size_t size) {
  std::string seg;
  bool valid = size > 0 && (data[0] & 1);
  bool repair = size > 0 && (data[0] & 2);
  if (size > 0) {
    ++data;
    --size;
  }
  if (valid) {
    seg.assign(kMagic, sizeof(kMagic));
    seg.push_back(static_cast<char>(kVersion));
    seg.push_back(0);
    PutFixed64(&seg, 1);
  }
  seg.append(reinterpret_cast<const char*>(data), size);
  if (valid) FixCrcs(&seg);
  const std::string path = Dir() + "/" + SegmentName(1);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(seg.data(), static_cast<std::streamsize>(seg.size()));
  }
  ReplayOptions options;
  options.repair = repair;
  ReplayResult result;
  uint64_t prev = 0;
  Status s = Replay(
      Dir(), options,
      [&](uint64_t seq, std::string_view payload) {
        if (seq <= prev) std::abort();  // batches arrive in order
        prev = seq;
        BatchHeader h;
        (void)DecodeBatch(payload, &h, [](const OpView&) {});
        return Status::Ok();
      },
      &result);
  if (s.ok() && result.last_seq < prev) std::abort();
  if (!s.ok() && s.message().find(path) == std::string::npos) std::abort();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace edgekv::wal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  edgekv::wal::Run(data, size);
  return 0;
}
