#include "replica_stream.h"

#include <cctype>

#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "replica_applier.h"
#include "util/parse_uint.h"

namespace edgekv {
namespace {

// A replication id as servers make them (40 hex digits; any 1 to 64
// letters and digits are taken): it goes into INFO and the persisted ids.
bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

ReplicaStream::Item ReplicaStream::Fail(std::string error) {
  state_ = State::kFailed;
  Item item;
  item.kind = Item::kError;
  item.error = std::move(error);
  return item;
}

ReplicaStream::Item ReplicaStream::Next(std::string_view data) {
  switch (state_) {
    case State::kHandshake:
      return Line(data);
    case State::kSnapshot:
    case State::kLog:
      return Frame(data);
    case State::kFailed:
      break;
  }
  return Fail("the stream failed before");
}

ReplicaStream::Item ReplicaStream::Line(std::string_view data) {
  Item item;
  size_t nl = data.find("\r\n");
  if (nl == std::string_view::npos) {
    // A handshake reply is a short line: an upstream that sends bytes
    // without a line end would otherwise grow the reader's buffer until
    // memory ran out.
    if (data.size() > kMaxLine) return Fail("reply line from upstream longer than 64 KB");
    return item;
  }
  if (nl > kMaxLine) return Fail("reply line from upstream longer than 64 KB");
  std::string_view line = data.substr(0, nl);
  item.consumed = nl + 2;
  if (expected_ok_ > 0) {
    --expected_ok_;
    if (line.substr(0, 3) != "+OK")
      return Fail("handshake refused: " + std::string(line));
    item.kind = Item::kHandshakeOk;
    return item;
  }
  if (line.substr(0, 13) == "-INCOMPATIBLE") {
    item = Fail(std::string(line.substr(1)));
    item.kind = Item::kRefused;
    return item;
  }
  if (line.substr(0, 9) == "+CONTINUE") {
    // +CONTINUE [<replid>]: the coordinator's id, if it changed.
    if (line.size() > 10 && line[9] == ' ') {
      item.replid = std::string(line.substr(10));
      if (!ValidId(item.replid)) return Fail("bad CONTINUE line: " + std::string(line));
    }
    state_ = State::kLog;
    item.kind = Item::kContinue;
    return item;
  }
  if (line.substr(0, 11) == "+FULLRESYNC") {
    // +FULLRESYNC <replid> <seq>
    size_t a = line.find(' '), b = line.rfind(' ');
    if (a == std::string_view::npos || b == a) return Fail("bad FULLRESYNC line");
    if (!ParseUint64(line.substr(b + 1), &item.seq)) {
      return Fail("bad FULLRESYNC line: " + std::string(line));
    }
    item.replid = std::string(line.substr(a + 1, b - a - 1));
    if (!ValidId(item.replid)) return Fail("bad FULLRESYNC line: " + std::string(line));
    state_ = State::kSnapshot;
    item.kind = Item::kFullResync;
    return item;
  }
  return Fail("unexpected reply from master: " + std::string(line));
}

ReplicaStream::Item ReplicaStream::Frame(std::string_view data) {
  Item item;
  if (data.size() < wal::kFrameHeaderSize) return item;
  uint32_t len = wal::GetFixed32(data.data() + 4);
  if (len > wal::kMaxPayload) return Fail("bad frame from upstream");
  // A frame larger than what arrived waits for its bytes: the reader grows
  // its buffer as they come, not to the length a header claims.
  if (data.size() < wal::kFrameHeaderSize + len) return item;
  item.frame = data.substr(0, wal::kFrameHeaderSize + len);
  item.consumed = item.frame.size();
  uint32_t count;
  Status s = ReplicaApplier::ParseFrame(item.frame, &item.seq, &count, &item.time_ms);
  if (!s.ok()) return Fail("bad frame from upstream: " + s.message());
  if (state_ == State::kSnapshot) {
    item.kind = count > 0 ? Item::kSnapshotFrame : Item::kSnapshotEnd;
    if (count == 0) state_ = State::kLog;
    return item;
  }
  item.kind = Item::kLogFrame;
  return item;
}

}  // namespace edgekv
