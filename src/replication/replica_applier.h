// The replica's side of replication, without I/O: applies the coordinator's
// frames to this server's memory table, its own write-ahead log (the same
// frames, same sequence numbers, so chained replicas and restarts resume
// from them) and, through the log, its LevelDB. A full sync wipes the local
// data and loads the coordinator's snapshot straight into LevelDB.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/status.h"

namespace edgekv {

class Engine;
class Store;
class ServerContext;

class ReplicaApplier {
 public:
  explicit ReplicaApplier(ServerContext* server) : server_(server) {}

  // Checks a frame (CRC, framing); returns its payload's sequence and
  // operation count. Corruption when the bytes are not a valid frame.
  static Status ParseFrame(std::string_view frame, uint64_t* seq, uint32_t* count,
                           int64_t* time_ms);

  // Applies consecutive frames of the live stream, already checked by
  // ParseFrame, as one group: one set of stripe locks for all of them (each
  // keeps its own log record); frames at or below applied_seq() are skipped.
  Status ApplyFrames(const std::vector<std::string_view>& frames);
  uint64_t applied_seq() const;

  // Full sync: BeginFullSync wipes everything; snapshot frames go to
  // ApplySnapshotFrame; EndFullSync makes the data visible. Until then the
  // replica answers LOADING (also after a restart) and its replication id is
  // a new one of its own, so that a reconnect cannot resume the coordinator's
  // history from a partial snapshot: only EndFullSync takes `replid`.
  Status BeginFullSync(std::string replid, uint64_t snapshot_seq);
  // Closes the links of this server's own replicas (chained ones): their
  // position means nothing in a history that was replaced (a full sync) or
  // renamed; they come back and ask again, as Redis's replicas do.
  void DropReplicas(const char* why);
  Status ApplySnapshotFrame(std::string_view frame);
  Status EndFullSync();

 private:
  ServerContext* server_;
  std::string replid_;  // the coordinator's, once the full sync ends
  uint64_t snapshot_seq_ = 0;
  // ApplyFrames' list of the keys it writes (kept for its capacity).
  struct AheadKey {
    int db;
    uint64_t hash;
  };
  std::vector<AheadKey> ahead_;
};

}  // namespace edgekv
