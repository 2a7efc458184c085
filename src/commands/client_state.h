// Per-connection state the command layer sees. No I/O here: the network layer
// owns the socket and calls the dispatcher with parsed requests.
//
// Threading: a client is served by exactly one I/O thread, which alone touches
// the plain fields. Fields read by other threads (CLIENT LIST, CLIENT KILL,
// INFO) are atomics or guarded by `mu`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgekv/store.h"
#include "edgekv/thread_annotations.h"

namespace edgekv {

struct CommandSpec;
class Feeder;
class MonitorSink;
class ReplyBuilder;

struct ClientState {
  // Identity, fixed at accept.
  uint64_t id = 0;
  std::string addr;   // "127.0.0.1:50000"
  std::string laddr;  // "127.0.0.1:6379"
  int fd = -1;
  int64_t created_ms = 0;

  // Owned by the I/O thread.
  bool authenticated = false;
  bool in_multi = false;
  bool multi_error = false;  // a queued command was rejected: EXECABORT
  std::vector<std::vector<std::string>> queued;
  WatchFlag watch_flag;
  std::vector<std::pair<int, std::string>> watched;  // (db, key)
  bool close_after_reply = false;
  // Highest WAL sequence among this client's unsent replies: they leave only
  // once it is durable (appendfsync).
  uint64_t wait_seq = 0;
  // Highest WAL sequence this client's writes produced (WAIT).
  uint64_t last_write_seq = 0;
  // A command that replies later (WAIT): polled by the connection until it
  // writes its reply and returns true; `timed_out` on the last call.
  std::function<bool(ReplyBuilder& reply, bool timed_out)> blocked;
  int64_t blocked_deadline_ms = 0;  // 0: no deadline
  // CLIENT REPLY: OFF sends no replies; SKIP drops the replies of itself and
  // of the next command (reply_skip counts them down).
  bool reply_off = false;
  int reply_skip = 0;
  // Set by PSYNC: this connection now feeds a replica.
  std::shared_ptr<Feeder> feeder;
  // Set by MONITOR: this connection now receives every command's line.
  std::shared_ptr<MonitorSink> monitor;
  std::atomic<bool> is_monitor{false};  // monitor is set (read by other threads)
  std::atomic<bool> is_replica{false};  // feeder is set (read by other threads)
  int replica_listening_port = 0;
  int replica_log_format = 0;  // REPLCONF capa edgekv-log-<N>; 0: not said
  // The coordinator's log position after this client's last forwarded write
  // (replica-write-forward); WAIT on a replica waits until it is applied here.
  uint64_t forwarded_seq = 0;

  // Read by other threads.
  std::atomic<int> db{0};
  std::atomic<int> resp{2};
  std::atomic<int64_t> last_interaction_ms{0};
  std::atomic<const CommandSpec*> last_command{nullptr};
  std::atomic<const char*> last_subcommand{nullptr};
  // CLIENT LIST's buffer figures, as Redis reports them: qbuf is the input
  // read and not yet consumed (during a command, including it), qbuf-free
  // what the read buffer has room for, rbs its size and rbp the most of it
  // used since it was last shrunk; memory_bytes the connection's own
  // allocations (its object and buffers' capacity; tot-mem adds argv-mem
  // and multi-mem). Set by the connection's thread at each read and pass.
  std::atomic<size_t> query_buffer_bytes{0};
  std::atomic<size_t> query_buffer_free{0};
  std::atomic<size_t> read_buffer_size{0};
  std::atomic<size_t> read_buffer_peak{0};
  std::atomic<size_t> output_buffer_bytes{0};
  std::atomic<size_t> memory_bytes{0};
  // The commands queued by MULTI: their arguments' bytes plus a slot each
  // (multi-mem).
  std::atomic<size_t> multi_mem_bytes{0};
  std::atomic<bool> kill_requested{false};
  // In a blocked command (WAIT) now: INFO blocked_clients, CLIENT UNBLOCK.
  std::atomic<bool> blocked_now{false};
  // Its next request is held by CLIENT PAUSE (blocked_clients, flag b; not
  // for CLIENT UNBLOCK, as in Redis 7.2).
  std::atomic<bool> postponed_now{false};
  // CLIENT UNBLOCK asks the client's thread to end its blocked command: as
  // if it timed out, or with an -UNBLOCKED error.
  enum Unblock : int { kNoUnblock = 0, kUnblockTimeout = 1, kUnblockError = 2 };
  std::atomic<int> unblock_request{kNoUnblock};
  std::atomic<bool> no_evict{false};  // CLIENT NO-EVICT (CLIENT LIST flag 'e')

  mutable Mutex mu;
  std::string name GUARDED_BY(mu);
  std::string lib_name GUARDED_BY(mu);
  std::string lib_ver GUARDED_BY(mu);

  // Asks the connection's own thread to close it (set by the network layer).
  std::function<void()> request_close;
  // Asks the connection's own thread to send what its MonitorSink holds.
  std::function<void()> request_monitor_drain;
};

}  // namespace edgekv
