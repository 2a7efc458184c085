#include "client_socket.h"

#include <sys/socket.h>

#include <cerrno>

namespace edgekv {

namespace asio = boost::asio;
using boost::system::error_code;

#ifdef EDGEKV_EXHAUSTING_READ

namespace detail = boost::asio::detail;

// A reactor operation like Asio's reactive_socket_recv_op, reused for every
// read of its socket (one is in flight at a time).
struct ClientSocket::ReadOp : detail::reactor_op {
  ReadOp() : detail::reactor_op(error_code(), &Perform, &Complete) {}

  int fd = -1;
  char* buf = nullptr;
  std::size_t len = 0;
  std::shared_ptr<void> target;
  ReadDone on_done = nullptr;
  detail::reactor* reactor = nullptr;
  // The last read drained the socket: an end of stream right behind the
  // data would go unseen (PeerClosedUnseen).
  bool eof_unchecked = false;
  // Perform ran to an end: the completion is queued (or being called).
  bool finished = false;
  // Given up by its socket (DetachWithQueuedRead): deletes itself when the
  // scheduler hands it back, aborted, and calls nothing.
  bool orphan = false;

  // Called by the reactor (speculatively from start_op, or when epoll reports
  // the socket readable). not_done: nothing to read yet, wait for epoll.
  static status Perform(detail::reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    const status s = Read(op);
    op->finished = s != not_done;
    return s;
  }

  static status Read(ReadOp* op) {
    op->eof_unchecked = false;
    for (;;) {
      ssize_t n = ::recv(op->fd, op->buf, op->len, 0);
      if (n > 0) {
        op->bytes_transferred_ = static_cast<std::size_t>(n);
        // A short read took all the socket had: do not try again before
        // epoll says there is more.
        if (static_cast<std::size_t>(n) == op->len) return done;
        op->eof_unchecked = true;
        return done_and_exhausted;
      }
      if (n == 0) {
        op->ec_ = asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      op->ec_ = error_code(errno, asio::error::get_system_category());
      return done;
    }
  }

  // owner is null when the io_context is destroyed with the read pending.
  static void Complete(void* owner, detail::operation* base, const error_code& /*ec*/,
                       std::size_t /*n*/) {
    auto* op = static_cast<ReadOp*>(base);
    if (op->orphan) {
      delete op;
      return;
    }
    std::shared_ptr<void> target = std::move(op->target);
    if (owner == nullptr) return;
    op->on_done(target.get(), op->ec_, op->bytes_transferred_);
  }
};

ClientSocket::ClientSocket(asio::ip::tcp::socket&& s)
    : asio::ip::tcp::socket(std::move(s)), op_(std::make_unique<ReadOp>()) {
  op_->reactor = &asio::use_service<detail::reactor>(
      asio::query(get_executor(), asio::execution::context));
}

ClientSocket::~ClientSocket() = default;

void ClientSocket::ReadSome(char* buf, std::size_t len, std::shared_ptr<void> target,
                            ReadDone done) {
  auto& impl = impl_.get_implementation();
  if ((impl.state_ & detail::socket_ops::non_blocking) == 0) {
    error_code ec;
    non_blocking(true, ec);
  }
  ReadOp* op = op_.get();
  op->ec_ = error_code();
  op->bytes_transferred_ = 0;
  op->finished = false;
  op->fd = impl.socket_;
  op->buf = buf;
  op->len = len;
  op->target = std::move(target);
  op->on_done = done;
  op->reactor->start_op(detail::reactor::read_op, impl.socket_, impl.reactor_data_, op,
                        /*is_continuation=*/false, /*allow_speculative=*/true);
}

bool ClientSocket::PeerClosedUnseen() {
  if (!op_->eof_unchecked || op_->target == nullptr) return false;  // no read queued
  // A read that has finished, its completion still queued (a speculative
  // read posts it), is delivering data the connection has not seen yet: an
  // end of stream now would close the connection before that data is served.
  if (op_->finished) return false;
  op_->eof_unchecked = false;
  char c;
  return ::recv(native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

int ClientSocket::DetachWithQueuedRead(error_code& ec) {
  if (!is_open()) {
    ec = asio::error::bad_descriptor;
    return -1;
  }
  ReadOp* op = op_.get();
  const bool queued = op->target != nullptr;
  if (queued && op->finished) {
    ec = asio::error::in_progress;
    return -1;
  }
  if (queued) {
    // The reactor hands the read back to the scheduler, aborted, when the
    // descriptor leaves it (below); from then on it owns itself.
    op->orphan = true;
    op->target.reset();
    static_cast<void>(op_.release());
    op_ = std::make_unique<ReadOp>();
    op_->reactor = op->reactor;
  }
  return release(ec);
}

#else  // not Boost 1.74 with epoll: Asio's own read

struct ClientSocket::ReadOp {};

ClientSocket::ClientSocket(asio::ip::tcp::socket&& s)
    : asio::ip::tcp::socket(std::move(s)) {}

ClientSocket::~ClientSocket() = default;

void ClientSocket::ReadSome(char* buf, std::size_t len, std::shared_ptr<void> target,
                            ReadDone done) {
  async_read_some(asio::buffer(buf, len), [target = std::move(target), done](
                                              const error_code& ec, std::size_t n) {
    done(target.get(), ec, n);
  });
}

bool ClientSocket::PeerClosedUnseen() { return false; }  // Asio tries the read itself

int ClientSocket::DetachWithQueuedRead(error_code& ec) {
  ec = asio::error::operation_not_supported;
  return -1;
}

#endif

}  // namespace edgekv
