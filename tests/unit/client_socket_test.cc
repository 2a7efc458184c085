// ClientSocket::DetachWithQueuedRead: how a client leaves a thread that a
// long script holds, with the read it was waiting on still queued.
#include "net/client_socket.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

namespace edgekv {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Reads {
  int calls = 0;
  std::string data;
  static void Done(void* self, const boost::system::error_code& ec, std::size_t n) {
    auto* r = static_cast<Reads*>(self);
    ++r->calls;
    if (!ec) r->data.append(r->buf, n);
  }
  char buf[64];
};

// A connected pair: `server` is the ClientSocket, `peer` the client's end.
struct Pair {
  asio::io_context io{1};
  std::optional<ClientSocket> server;
  tcp::socket peer{io};
  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    server.emplace(acceptor.accept());
  }
};

std::string RecvAll(int fd, size_t want) {
  std::string got;
  char buf[64];
  while (got.size() < want) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(ClientSocket, AQueuedReadIsDroppedWithTheDescriptorAndNothingSentIsLost) {
#ifndef EDGEKV_EXHAUSTING_READ
  GTEST_SKIP() << "Asio's own read: the socket cannot be detached with it queued";
#else
  Pair p;
  auto reads = std::make_shared<Reads>();
  p.server->ReadSome(reads->buf, sizeof(reads->buf), reads, &Reads::Done);
  EXPECT_EQ(reads.use_count(), 2);  // the queued read holds its target
  boost::system::error_code ec;
  const int fd = p.server->DetachWithQueuedRead(ec);
  ASSERT_GE(fd, 0) << ec.message();
  EXPECT_EQ(reads.use_count(), 1);  // let go of at once
  EXPECT_FALSE(p.server->is_open());
  asio::write(p.peer, asio::buffer(std::string("PING\r\n")));
  p.io.poll();  // the aborted read comes back here and frees itself
  EXPECT_EQ(reads->calls, 0);
  // The request waits in the descriptor for whoever adopts it.
  EXPECT_EQ(RecvAll(fd, 6), "PING\r\n");
  ::close(fd);
#endif
}

TEST(ClientSocket, AReadThatAlreadyRanIsNotDetached) {
  Pair p;
  asio::write(p.peer, asio::buffer(std::string("GET k\r\n")));
  pollfd readable{p.server->native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 60000), 1);  // a hang guard
  auto reads = std::make_shared<Reads>();
  // Data is waiting: the read runs on the spot and its completion is queued.
  p.server->ReadSome(reads->buf, sizeof(reads->buf), reads, &Reads::Done);
  boost::system::error_code ec;
  EXPECT_EQ(p.server->DetachWithQueuedRead(ec), -1);
  EXPECT_TRUE(p.server->is_open());
  p.io.poll();
  EXPECT_EQ(reads->calls, 1);
  EXPECT_EQ(reads->data, "GET k\r\n");
}

}  // namespace
}  // namespace edgekv
