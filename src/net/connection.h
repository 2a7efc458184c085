// One client connection: reads requests, runs them through the dispatcher,
// writes replies. All of its handlers run on its io_context's thread: the
// thread of its ConnectionSet (set_). The I/O balancer may move it to another
// thread between two requests (Migrate), when nothing of it is pending on
// this one; from then on its handlers run there.
//
// Flow control: every complete request in a read is executed and the replies
// leave in one write. While the unsent output exceeds kBackpressureBytes the
// connection stops executing and reading, so a client that does not read its
// replies stalls only itself and its memory stays bounded.
#pragma once

// clang-format off
#include <utility>  // boost 1.74 asio needs std::exchange declared first
#include <boost/asio.hpp>
// clang-format on
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../commands/client_state.h"
#include "../commands/dispatcher.h"
#include "client_socket.h"
#include "edgekv/resp_parser.h"

namespace edgekv {

class ConnectionSet;
struct ReplyBatch;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static constexpr size_t kBackpressureBytes = 256 * 1024;
  static constexpr size_t kInitialReadBuffer = 16 * 1024;

  Connection(boost::asio::ip::tcp::socket socket, ServerContext* server,
             Dispatcher* dispatcher, ConnectionSet* set);
  ~Connection();

  void Start();
  void Close();
  // Called by the per-thread cron: idle timeout and soft output limits.
  void Cron(int64_t now_ms);
  ClientState& client() { return client_; }
  // Asks this connection to move to `to`'s thread at its next chance (null:
  // stay). Its own thread only.
  void MoveTo(ConnectionSet* to) { move_to_ = to; }
  bool Movable() const { return !client_.feeder && !client_.monitor && !closed_; }

  // A script running alone has held this thread past busy-reply-threshold
  // (called from its hook, on this thread): the other clients of `from`
  // move to the threads `to` (in turn), where their requests are answered
  // BUSY instead of waiting for the script. First the replies this thread
  // holds for the end of its pass (ReplyBatch) are sent. A client stays
  // when more than its read is pending here (a write the socket did not
  // take, a reply waiting for the log, a blocked command, MONITOR, a
  // replica's feed, a request read but not yet run). Returns how many moved.
  static size_t EvacuateThread(ServerContext* server, ConnectionSet& from,
                               const std::vector<ConnectionSet*>& to);

 private:
  void DoRead();
  void ResumeRead();  // DoRead() unless held back by unsent replies
  void OnRead(const boost::system::error_code& ec, size_t n);
  void ProcessInput();
  // Prefetches the keys of the next requests in the buffer; returns how many
  // requests to run before looking again.
  size_t PrefetchAhead();
  void MaybeWrite();
  // True when every reply in out_ may leave: its writes are durable.
  bool RepliesDurable();
  // Holds the replies for this pass's log write (see ReplyBatch); false
  // while the batch is being sent.
  bool QueueReplies();
  static void SendReplies(ServerContext* server, ReplyBatch& batch);
  void OnDurable();
  void OnWrite(const boost::system::error_code& ec, size_t n);
  void WriteDone();  // writing_ is sent
  // Publishes the buffers' figures for CLIENT LIST (ClientState).
  void PublishBuffers();
  // After the client's end of stream: closes once every request it sent has
  // run and every reply is sent.
  void CloseIfServed();
  void Resume();
  bool CheckOutputLimits(int64_t now_ms);
  // CLIENT PAUSE holds the request at the start of the input.
  void Postpone();
  void SetPostponed(bool on);
  // The most this client's pending replies may grow to while a command
  // writes them (ReplyBuilder::set_limit).
  size_t ReplyLimit() const;
  void LogOutputLimitClose();
  // Nothing of this connection is pending on its thread: no read, write,
  // held reply, log wait, blocked command or buffered input.
  bool Quiescent() const;
  // As Quiescent, but for a read that may be queued.
  bool IdleButReading() const;
  // Hands the socket to move_to_'s thread, which Adopt()s it there.
  void Migrate();
  // Moves to `to` now if IdleButReading and its read has not run yet (see
  // ClientSocket::DetachWithQueuedRead); false when it cannot.
  bool Evacuate(ConnectionSet* to);
  // The socket `fd`, released from this thread's reactor, goes to `to`.
  void HandOver(ConnectionSet* to, boost::asio::ip::tcp protocol, int fd);
  // Sends the replies this thread holds for the end of its pass now, but
  // those of a connection in a command; returns the connections sent for.
  static std::vector<std::shared_ptr<Connection>> FlushReplyBatch(ServerContext* server);
  void Adopt(boost::asio::ip::tcp protocol);
  // Runs Close() on the connection's thread (from any thread).
  // Runs fn on the connection's thread (wherever it has moved), unless it
  // is gone: how other threads close it (CLIENT KILL) or wake its monitor.
  static void PostToOwnThread(std::weak_ptr<Connection> weak, void (Connection::*fn)());
  // MONITOR: moves the lines its sink holds to the output (closes the
  // connection if the sink overflowed); not while the output is backed up.
  void DrainMonitor();

  // Empty only while the connection moves between threads.
  std::optional<ClientSocket> socket_;
  ServerContext* server_;
  Dispatcher* dispatcher_;
  std::atomic<ConnectionSet*> set_;  // changes only in Migrate
  ConnectionSet* move_to_ = nullptr;
  int adopt_fd_ = -1;  // the socket while it moves
  ClientState client_;
  RespParser parser_;

  std::vector<char> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  size_t in_peak_ = 0;  // the most of in_ used since it was last shrunk

  std::string out_;      // replies not yet handed to the socket
  std::string writing_;  // replies being written
  bool write_in_flight_ = false;
  bool read_in_flight_ = false;
  bool executing_ = false;  // in a command (a script's hook may run meanwhile)
  bool closing_ = false;    // close once the output is flushed
  // CLIENT PAUSE holds the request at the start of the input; a retry timer
  // is armed (the connection may not move to another thread meanwhile).
  bool postponed_ = false;
  bool retry_pending_ = false;
  // The blocked command's reply is dropped (CLIENT REPLY SKIP before it).
  bool skip_blocked_reply_ = false;
  // The client ended its stream (it may still read): what it sent is run and
  // every reply sent before the connection closes (CloseIfServed).
  bool peer_eof_ = false;
  // The input left in in_ is the start of a request (not one held back by
  // backpressure): after the end of the stream it can never complete.
  bool partial_request_ = false;
  // Set by CloseIfServed while a half-closed client's replies wait for the
  // log (nothing else holds the connection then); cleared by OnDurable and
  // Close.
  std::shared_ptr<Connection> self_hold_;
  bool closed_ = false;
  bool durable_wait_registered_ = false;
  bool reply_queued_ = false;  // in this thread's ReplyBatch
  // Replica feeding (after PSYNC) and blocked commands (WAIT).
  bool feed_wait_registered_ = false;
  int64_t last_feed_ms_ = 0;
  std::optional<boost::asio::steady_timer> block_timer_;
  void PollBlocked();
  int64_t soft_limit_since_ms_ = 0;
};

// The connections of one I/O thread (touched only on that thread).
class ConnectionSet {
 public:
  ConnectionSet(boost::asio::io_context* io, int index) : io_(io), index_(index) {}
  boost::asio::io_context& io() { return *io_; }
  int index() const { return index_; }
  void Add(Connection* c) { conns_.push_back(c); }
  void Remove(Connection* c) {
    for (auto& p : conns_) {
      if (p == c) {
        p = conns_.back();
        conns_.pop_back();
        return;
      }
    }
  }
  std::vector<Connection*>& all() { return conns_; }
  uint64_t requests = 0;  // commands run on this thread (IoBalancer)

 private:
  boost::asio::io_context* io_;
  int index_;
  std::vector<Connection*> conns_;
};

}  // namespace edgekv
