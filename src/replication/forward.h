// replica-write-forward: a replica sends a client's write to its coordinator
// and replies with the coordinator's answer, so that an application at a PoP
// can use one connection for everything.
//
// Consistency: the write is applied on the coordinator first; it becomes
// visible on this replica when its record arrives through replication
// (usually within milliseconds). After a forwarded write, WAIT on the replica
// blocks until this replica has applied it (read-your-writes at the PoP).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace edgekv {

// One forwarded command; completed by the forwarder's thread.
struct ForwardCall {
  std::atomic<bool> done{false};
  std::string reply;       // the coordinator's reply (RESP2 bytes); valid once done
  uint64_t coord_seq = 0;  // the coordinator's log position after the write
};

class WriteForwarder {
 public:
  virtual ~WriteForwarder() = default;
  // Queues args (run in database db) for the coordinator. Thread-safe.
  virtual std::shared_ptr<ForwardCall> Forward(
      int db, std::span<const std::string_view> args) = 0;
};

// Length of the first complete RESP reply in data, 0 if incomplete, -1 if
// malformed. Pure; used to split the coordinator's pipelined replies.
long RespReplyLength(std::string_view data);

}  // namespace edgekv
