// Reads write-ahead log frames in order, from any retained position, while
// the writer keeps appending (like `tail -f`). Replication feeds replicas
// with it: catch-up from old segments and the live stream are the same code.
// Not thread-safe; one cursor per reader.
#pragma once

#include <cstdint>
#include <string>

#include "edgekv/status.h"

namespace edgekv::wal {

class WalCursor {
 public:
  explicit WalCursor(std::string wal_dir) : dir_(std::move(wal_dir)) {}
  ~WalCursor();
  WalCursor(const WalCursor&) = delete;
  WalCursor& operator=(const WalCursor&) = delete;

  // Positions the cursor so that the next frame read has sequence after+1.
  // NotFound when that frame is no longer (or not yet) in the log.
  Status Seek(uint64_t after);
  // Appends whole frames with sequence <= upto to out, at most about
  // max_bytes; returns the number of frames. 0 means nothing new yet.
  StatusOr<size_t> Read(uint64_t upto, size_t max_bytes, std::string* out);
  uint64_t last_seq() const { return last_seq_; }

 private:
  Status OpenSegment(uint64_t first_seq, const std::string& path);
  bool NextSegment();
  // Makes [offset_, offset_ + n) available in buf_ if the file has it,
  // reading large chunks (one pread serves many frames); returns a pointer
  // to it or nullptr if the file is shorter.
  const char* Bytes(size_t n);

  std::string dir_;
  int fd_ = -1;
  uint64_t segment_first_ = 0;
  uint64_t offset_ = 0;
  uint64_t last_seq_ = 0;  // sequence of the last frame returned
  std::string buf_;        // file bytes from buf_off_ on
  uint64_t buf_off_ = 0;
};

}  // namespace edgekv::wal
