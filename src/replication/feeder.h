// The coordinator's side of one replica link: decides partial or full sync
// for a PSYNC and produces the bytes to send, a snapshot (full sync) and then
// the write-ahead log's frames, read from the segment files as they are
// written. Pull-based: the connection asks for more only when its socket has
// drained, so a slow replica costs no memory on the coordinator (its
// position is simply older), and a replica that falls behind what the log
// retains gets a full sync when it comes back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "storage/disk_tier.h"
#include "wal/wal_cursor.h"

namespace edgekv {

class Engine;
class Replication;

class Feeder {
 public:
  Feeder(Engine* engine, Replication* repl, uint64_t client_id);
  ~Feeder();

  // Handles "PSYNC <replid> <seq>": returns the status line to send
  // ("+CONTINUE <replid>" or "+FULLRESYNC <replid> <seq>").
  std::string Start(const std::string& replid, uint64_t seq);
  // Appends up to about max_bytes to send; false when nothing is ready.
  bool Fill(std::string* out, size_t max_bytes);
  // A frame without operations: keeps the link alive and carries the
  // coordinator's clock (replicas compute lag in ms from it).
  void Heartbeat(std::string* out, int64_t now_ms);
  uint64_t sent_seq() const { return sent_seq_; }
  bool streaming() const { return snapshot_ == nullptr; }
  // The log could not be read from the needed position: drop the link (the
  // replica reconnects and gets what it needs then).
  bool failed() const { return failed_; }

 private:
  Engine* engine_;
  Replication* repl_;
  uint64_t client_id_;
  std::unique_ptr<DiskTier::Snapshot> snapshot_;
  std::unique_ptr<wal::WalCursor> cursor_;
  uint64_t sent_seq_ = 0;
  bool failed_ = false;
};

}  // namespace edgekv
