#include "wal_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "wal_writer.h"

namespace edgekv::wal {
namespace {

Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("can't open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status::Ok();
}

Status Truncate(const std::string& path, uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
    return Status::IOError("truncate " + path + ": " + std::strerror(errno));
  }
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::Ok();
}

}  // namespace

Status Replay(const std::string& wal_dir, const ReplayOptions& options,
              const std::function<Status(uint64_t, std::string_view)>& fn,
              ReplayResult* result) {
  auto segments = ListSegments(wal_dir);
  uint64_t prev_seq = 0;
  for (size_t si = 0; si < segments.size(); ++si) {
    const std::string& path = segments[si].second;
    const bool last_segment = si + 1 == segments.size();
    // Everything in this segment is at or below after_seq (the next one
    // starts at or before after_seq + 1): kept for replicas, not replayed.
    if (!last_segment && segments[si + 1].first <= options.after_seq + 1) {
      prev_seq = segments[si + 1].first - 1;
      continue;
    }
    std::string data;
    Status s = ReadFile(path, &data);
    if (!s.ok()) return s;
    // A segment whose header itself is torn (crash right after creating it).
    if (data.size() < kSegmentHeaderSize) {
      if (last_segment) {
        result->note = path + ": incomplete segment header, removed";
        if (options.truncate_torn_tail) ::unlink(path.c_str());
        break;
      }
      return Status::Corruption(path + " offset 0: incomplete segment header");
    }
    const uint8_t version = static_cast<uint8_t>(data[6]);
    if (std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0 ||
        version < kOldestReadableVersion || version > kVersion) {
      return Status::Corruption(
          path + " offset 0: not an edgekv WAL segment of version " +
          std::to_string(kOldestReadableVersion) + " to " + std::to_string(kVersion));
    }
    size_t off = kSegmentHeaderSize;
    while (off < data.size()) {
      std::string problem;
      bool torn = false;
      size_t remaining = data.size() - off;
      uint32_t len = 0;
      if (remaining < kFrameHeaderSize) {
        problem = "incomplete frame header";
        torn = true;
      } else {
        len = GetFixed32(data.data() + off + 4);
        if (len > kMaxPayload || len < kBatchHeaderSize) {
          problem = "bad frame length " + std::to_string(len);
          // Whole frames are written at once, so a torn write leaves a valid
          // length; only a zero-filled tail (lost blocks) is also torn.
          torn = std::all_of(data.begin() + static_cast<long>(off), data.end(),
                             [](char c) { return c == 0; });
        } else if (remaining < kFrameHeaderSize + len) {
          problem = "incomplete frame";
          torn = true;
        } else {
          uint32_t crc = GetFixed32(data.data() + off);
          uint32_t actual = FrameCrc(std::string_view(data.data() + off + 4, 4 + len));
          if (crc != actual) {
            problem = "checksum mismatch";
            torn = remaining == kFrameHeaderSize + len;  // the very last frame
          }
        }
      }
      if (!problem.empty()) {
        std::string where = path + " offset " + std::to_string(off);
        if (torn && last_segment) {
          result->note = where + ": " + problem + " (torn write), truncated";
          if (options.truncate_torn_tail) {
            Status t = Truncate(path, off);
            if (!t.ok()) return t;
          }
          result->last_seq = prev_seq;
          return Status::Ok();
        }
        if (!options.repair) {
          return Status::Corruption(where + ": " + problem +
                                    " (set wal-repair yes to truncate the log here)");
        }
        result->note = where + ": " + problem + ", repaired by truncating the log";
        Status t = Truncate(path, off);
        if (!t.ok()) return t;
        for (size_t j = si + 1; j < segments.size(); ++j) {
          ::unlink(segments[j].second.c_str());
        }
        result->last_seq = prev_seq;
        return Status::Ok();
      }
      std::string_view payload(data.data() + off + kFrameHeaderSize, len);
      uint64_t seq = GetFixed64(payload.data());
      if (prev_seq != 0 && seq <= prev_seq) {
        return Status::Corruption(path + " offset " + std::to_string(off) +
                                  ": sequence " + std::to_string(seq) +
                                  " does not follow " + std::to_string(prev_seq));
      }
      prev_seq = seq;
      if (seq > options.after_seq) {
        Status a = fn(seq, payload);
        if (!a.ok()) return a;
        ++result->batches;
      }
      off += kFrameHeaderSize + len;
    }
  }
  result->last_seq = prev_seq;
  return Status::Ok();
}

}  // namespace edgekv::wal
