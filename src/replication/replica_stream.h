// What a replica reads from its coordinator, without I/O: the replies to its
// handshake (one +OK per AUTH/REPLCONF it sent), then +CONTINUE or
// +FULLRESYNC <replid> <seq>, then frames: after a FULLRESYNC the snapshot's
// frames, ended by one without operations, then the log's frames.
//
// Next() looks at the bytes read so far and returns the next item and how
// many bytes it took, or that more bytes are needed; it keeps only the
// protocol's state, never the bytes. Bounded: a handshake line longer than
// kMaxLine, a frame header claiming more than wal::kMaxPayload, a frame that
// fails its checksum and any other reply are errors, so that an upstream
// that is not an edgekv coordinator (a Redis sending its RDB, not a server
// at all) costs nothing but the link.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgekv {

class ReplicaStream {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;

  // `expected_ok`: the +OK replies the handshake's commands get before the
  // PSYNC's.
  explicit ReplicaStream(int expected_ok) : expected_ok_(expected_ok) {}

  struct Item {
    enum Kind {
      kNeedMore,       // the bytes end inside an item
      kHandshakeOk,    // one of the expected +OK
      kContinue,       // partial resync (replid: the coordinator's); log frames follow
      kFullResync,     // replid, seq; snapshot frames follow
      kSnapshotFrame,  // frame (checked)
      kSnapshotEnd,    // the snapshot is whole; log frames follow
      kLogFrame,       // frame (checked), seq, time_ms
      kError,          // error; the link is to be dropped
      kRefused,        // the coordinator refused this replica for good (error)
    };
    Kind kind = kNeedMore;
    size_t consumed = 0;
    std::string_view frame;
    std::string replid;
    uint64_t seq = 0;
    int64_t time_ms = 0;
    std::string error;
  };

  Item Next(std::string_view data);
  bool streaming() const { return state_ != State::kHandshake; }
  bool in_full_sync() const { return state_ == State::kSnapshot; }

 private:
  enum class State { kHandshake, kSnapshot, kLog, kFailed };
  Item Line(std::string_view data);
  Item Frame(std::string_view data);
  Item Fail(std::string error);

  int expected_ok_;
  State state_ = State::kHandshake;
};

}  // namespace edgekv
