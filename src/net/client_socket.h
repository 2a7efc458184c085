// A client socket whose reads tell Asio's reactor when they drained it.
//
// Asio 1.74's receive operation calls a socket "exhausted" only at end of
// file. After every read that returned data, the next async_read_some first
// tries recv() on the spot ("speculative" read). For a client that waits for
// each reply before it sends again (no pipelining), that recv() always fails
// with EAGAIN: one wasted system call per request, on top of the two a
// request needs (read it, write the reply). Redis makes two.
//
// ReadSome() is the same read with one difference: a read that returned less
// than it asked for emptied the socket's receive queue, and says so. The
// reactor then queues the next read without trying it first. The descriptor
// is registered edge-triggered, so data that arrives later wakes the read as
// usual, and a read that filled its buffer still tries again at once.
//
// One thing does not wake it: an end of stream that had already arrived with
// the data (a client that sends its last request and shuts its side down at
// once). recv() returns the data and leaves the end of stream for the next
// call, which is not made. PeerClosedUnseen() looks for it (one recv with
// MSG_PEEK), once after such a read; the connection's cron calls it.
//
// This uses Asio's detail:: reactor interface, which is not public API. It is
// compiled only for the Boost version this was written against (Debian 12's
// 1.74) with the epoll reactor; elsewhere ReadSome() is async_read_some.
#pragma once

// clang-format off
#include <utility>  // boost 1.74 asio needs std::exchange declared first
#include <boost/asio.hpp>
#include <boost/version.hpp>
// clang-format on
#include <cstddef>
#include <memory>

#if BOOST_VERSION == 107400 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING) && !defined(BOOST_ASIO_DISABLE_EPOLL)
#define EDGEKV_EXHAUSTING_READ 1
#endif

namespace edgekv {

class ClientSocket : public boost::asio::ip::tcp::socket {
 public:
  // Runs on the socket's executor with the read's result.
  using ReadDone = void (*)(void* target, const boost::system::error_code& ec,
                            std::size_t n);

  explicit ClientSocket(boost::asio::ip::tcp::socket&& s);
  ~ClientSocket();
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  // One read at a time: reads into [buf, buf + len), then calls
  // done(target.get(), ec, n). `target` is kept alive until then (or until
  // the io_context is destroyed, when done is not called).
  void ReadSome(char* buf, std::size_t len, std::shared_ptr<void> target, ReadDone done);

  // While a read is queued and not yet performed: true if the peer's end of
  // stream is waiting in the socket unseen (see above). Looks once per read
  // that drained the socket; false otherwise (also while a performed read's
  // completion, with the data, is still on its way).
  bool PeerClosedUnseen();

  // Takes the descriptor out of this io_context's reactor and returns it
  // (the socket is left closed), like release(), also while a read is
  // queued that has not run yet: that read is dropped, its target let go of
  // (the caller keeps its own reference if it needs one) and `done` never
  // called. How a client leaves a thread that a long script
  // holds (its read cannot be cancelled there: the aborted completion would
  // wait for the thread). -1 with nothing changed when it cannot: a read
  // that already ran and waits for its completion to be called, or Asio's
  // own read (not the Boost version this was written for).
  int DetachWithQueuedRead(boost::system::error_code& ec);

 private:
  struct ReadOp;
  std::unique_ptr<ReadOp> op_;
};

}  // namespace edgekv
