// The replica's link to its coordinator (or to a hub, for chained replicas).
//
// connect -> [AUTH] -> REPLCONF listening-port -> PSYNC <replid> <seq>
//   +CONTINUE   : frames of the log follow, from seq+1;
//   +FULLRESYNC <replid> <S>: snapshot frames (sequence S), a frame without
//                 operations, then frames of the log from S+1.
// Frames are the WAL's own (CRC-checked again here). The replica
// acknowledges ("REPLCONF ACK <seq> ACK-TIME <ms>") after each batch of
// frames and every second; with no byte from upstream for repl-timeout it
// drops the link. It reconnects every second while REPLICAOF stands.
//
// The link is written against a plain TCP socket; everything protocol-level
// sits in ReplicaApplier (no I/O) and in the frame parser below, so a TLS
// stream can replace the socket without touching them.
#pragma once

#include <memory>

namespace boost::asio {
class io_context;
}

namespace edgekv {

class ServerContext;

class ReplicaLinkManager {
 public:
  ReplicaLinkManager(boost::asio::io_context& io, ServerContext* server);
  ~ReplicaLinkManager();
  void Start();
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace edgekv
