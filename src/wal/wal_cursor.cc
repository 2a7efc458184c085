#include "wal_cursor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "wal_writer.h"

namespace edgekv::wal {

WalCursor::~WalCursor() {
  if (fd_ >= 0) ::close(fd_);
}

Status WalCursor::OpenSegment(uint64_t first_seq, const std::string& path) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return Status::NotFound("can't open " + path);
  segment_first_ = first_seq;
  offset_ = kSegmentHeaderSize;
  buf_.clear();
  buf_off_ = offset_;
  return Status::Ok();
}

const char* WalCursor::Bytes(size_t n) {
  if (offset_ < buf_off_ || offset_ > buf_off_ + buf_.size()) {
    buf_.clear();
    buf_off_ = offset_;
  }
  size_t have = buf_off_ + buf_.size() - offset_;
  if (have < n) {
    // Drop what was consumed, then read at least 256 KB more.
    buf_.erase(0, offset_ - buf_off_);
    buf_off_ = offset_;
    size_t want = std::max<size_t>(n - buf_.size(), 256 * 1024);
    size_t at = buf_.size();
    buf_.resize(at + want);
    ssize_t r = ::pread(fd_, buf_.data() + at, want, static_cast<off_t>(buf_off_ + at));
    buf_.resize(at + static_cast<size_t>(r < 0 ? 0 : r));
    if (buf_.size() < n) return nullptr;
  }
  return buf_.data() + (offset_ - buf_off_);
}

// Moves to the segment after the current one, if it exists.
bool WalCursor::NextSegment() {
  for (auto& [seq, path] : ListSegments(dir_)) {
    if (seq > segment_first_) return OpenSegment(seq, path).ok();
  }
  return false;
}

Status WalCursor::Seek(uint64_t after) {
  auto segs = ListSegments(dir_);
  // The last segment whose first sequence is <= after+1.
  const std::pair<uint64_t, std::string>* pick = nullptr;
  for (auto& seg : segs) {
    if (seg.first <= after + 1) pick = &seg;
  }
  if (pick == nullptr) {
    return Status::NotFound("sequence " + std::to_string(after + 1) +
                            " is no longer retained");
  }
  Status s = OpenSegment(pick->first, pick->second);
  if (!s.ok()) return s;
  uint64_t before = segment_first_ - 1;
  while (true) {
    const char* hdr = Bytes(kFrameHeaderSize + 8);
    if (hdr == nullptr) break;
    uint64_t seq = GetFixed64(hdr + kFrameHeaderSize);
    if (seq > after) break;
    before = seq;
    offset_ += kFrameHeaderSize + GetFixed32(hdr + 4);
  }
  if (before != after) {
    return Status::NotFound("sequence " + std::to_string(after) + " is not in the log");
  }
  last_seq_ = after;
  return Status::Ok();
}

StatusOr<size_t> WalCursor::Read(uint64_t upto, size_t max_bytes, std::string* out) {
  if (fd_ < 0) return Status::NotFound("cursor not positioned");
  size_t frames = 0;
  size_t bytes = 0;
  while (last_seq_ < upto && bytes < max_bytes) {
    const char* hdr = Bytes(kFrameHeaderSize + 8);
    if (hdr == nullptr) {
      // Nothing (complete) here: maybe the writer moved to a new segment.
      bool at_end = buf_off_ + buf_.size() == offset_;
      if (at_end && NextSegment()) continue;
      break;
    }
    uint32_t len = GetFixed32(hdr + 4);
    if (len > kMaxPayload) return Status::Corruption("bad frame length in the log");
    uint64_t seq = GetFixed64(hdr + kFrameHeaderSize);
    if (seq > upto) break;
    // The log's records are numbered without gaps: a record that is not
    // the next one means what was between is gone (purged, or the log was
    // reset by a replica's full sync). Whoever reads on must start over.
    if (seq != last_seq_ + 1) {
      return Status::NotFound("the log no longer holds sequence " +
                              std::to_string(last_seq_ + 1) +
                              " (next: " + std::to_string(seq) + ")");
    }
    size_t total = kFrameHeaderSize + len;
    const char* frame = Bytes(total);
    if (frame == nullptr) break;  // not fully written yet
    out->append(frame, total);
    offset_ += total;
    last_seq_ = seq;
    bytes += total;
    ++frames;
  }
  return frames;
}

}  // namespace edgekv::wal
