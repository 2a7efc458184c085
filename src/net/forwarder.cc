#include "forwarder.h"

// clang-format off
#include <utility>  // boost 1.74 asio needs std::exchange declared first
#include <boost/asio.hpp>
// clang-format on
#include <deque>
#include <mutex>
#include <string>

#include "commands/server_context.h"
#include "edgekv/log.h"
#include "util/parse_uint.h"

namespace edgekv {

// The most a reply not yet complete may hold (see Read).
constexpr size_t kMaxPendingReply = (size_t{1} << 30) + (size_t{64} << 20);

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

void AppendCommand(std::string* out, std::span<const std::string_view> args) {
  *out += "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    *out += "$" + std::to_string(a.size()) + "\r\n";
    out->append(a);
    *out += "\r\n";
  }
}

class AsioForwarder : public WriteForwarder,
                      public std::enable_shared_from_this<AsioForwarder> {
 public:
  AsioForwarder(asio::io_context& io, ServerContext* server)
      : io_(io), server_(server), socket_(io), resolver_(io) {}

  std::shared_ptr<ForwardCall> Forward(int db,
                                       std::span<const std::string_view> args) override {
    auto call = std::make_shared<ForwardCall>();
    Pending p;
    p.call = call;
    p.db = db;
    AppendCommand(&p.command, args);
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(p));
    }
    asio::post(io_, [self = shared_from_this()] { self->Pump(); });
    return call;
  }

 private:
  struct Pending {
    std::shared_ptr<ForwardCall> call;
    int db = 0;
    std::string command;
  };
  // What the next replies are: a SELECT's, the command's, ROLE's.
  struct Expect {
    std::shared_ptr<ForwardCall> call;
    bool select = false;
  };

  // Runs on io_: connects if needed and sends what is queued.
  void Pump() {
    uint64_t epoch = server_->replication().upstream_epoch();
    if (connected_ && epoch != epoch_) FailAll("the coordinator changed");
    if (!connected_) {
      if (!connecting_) Connect();
      return;
    }
    std::deque<Pending> q;
    {
      std::lock_guard<std::mutex> l(mu_);
      q.swap(queue_);
    }
    std::string out;
    for (auto& p : q) {
      if (p.db != db_) {
        std::string_view sel[] = {"SELECT", ""};
        std::string dbs = std::to_string(p.db);
        sel[1] = dbs;
        AppendCommand(&out, sel);
        expect_.push_back({nullptr, true});
        db_ = p.db;
      }
      out += p.command;
      expect_.push_back({p.call, false});
      std::string_view role[] = {"ROLE"};
      AppendCommand(&out, role);
    }
    if (out.empty()) return;
    auto buf = std::make_shared<std::string>(std::move(out));
    asio::async_write(socket_, asio::buffer(*buf),
                      [self = shared_from_this(), buf](const error_code& ec, size_t) {
                        if (ec) self->FailAll("write: " + ec.message());
                      });
  }

  void Connect() {
    if (!server_->replication().is_replica()) {
      FailAll("this server is not a replica");
      return;
    }
    UpstreamInfo up = server_->replication().upstream();
    epoch_ = server_->replication().upstream_epoch();
    connecting_ = true;
    auto self = shared_from_this();
    resolver_.async_resolve(up.host, std::to_string(up.port),
                            [self](const error_code& ec, tcp::resolver::results_type r) {
                              if (ec) return self->FailAll("resolve: " + ec.message());
                              asio::async_connect(
                                  self->socket_, r,
                                  [self](const error_code& ec2, const tcp::endpoint&) {
                                    self->connecting_ = false;
                                    if (ec2)
                                      return self->FailAll("connect: " + ec2.message());
                                    self->OnConnected();
                                  });
                            });
  }

  void OnConnected() {
    connected_ = true;
    db_ = 0;
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    std::string pass = server_->config().String(Cfg::kMasterauth);
    if (!pass.empty()) {
      std::string user = server_->config().String(Cfg::kMasteruser);
      std::string out;
      if (user.empty()) {
        std::string_view a[] = {"AUTH", pass};
        AppendCommand(&out, a);
      } else {
        std::string_view a[] = {"AUTH", user, pass};
        AppendCommand(&out, a);
      }
      expect_.push_back({nullptr, true});
      auto buf = std::make_shared<std::string>(std::move(out));
      asio::async_write(socket_, asio::buffer(*buf), [buf](const error_code&, size_t) {});
    }
    Read();
    Pump();
  }

  void Read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(rbuf_), [self](const error_code& ec, size_t n) {
      if (ec) return self->FailAll("read: " + ec.message());
      self->in_.append(self->rbuf_.data(), n);
      self->Consume();
      // What is left is one reply not complete yet. RespReplyLength calls
      // malformed what cannot be a reply (an endless line, a bulk past
      // 1 GB); an aggregate whose elements never end is stopped here, past
      // the largest reply a write can have (a 1 GB value, SET ... GET).
      if (self->connected_ && self->in_.size() > kMaxPendingReply) {
        return self->FailAll("reply from the coordinator longer than 1 GB");
      }
      if (self->connected_) self->Read();
    });
  }

  void Consume() {
    while (!in_.empty()) {
      long len = RespReplyLength(in_);
      if (len == 0) return;
      if (len < 0) return FailAll("malformed reply from the coordinator");
      std::string reply = in_.substr(0, static_cast<size_t>(len));
      in_.erase(0, static_cast<size_t>(len));
      if (!awaiting_role_ && expect_.empty()) {
        return FailAll("unexpected reply from the coordinator");
      }
      if (awaiting_role_) {
        // ROLE: *3 $6 master :<offset> ...: the coordinator's log position.
        std::shared_ptr<ForwardCall> call = std::move(role_for_);
        awaiting_role_ = false;
        size_t p = reply.find("\r\n:");
        if (p != std::string::npos) {
          std::string_view n(reply);
          n = n.substr(p + 3, n.find("\r\n", p + 3) - (p + 3));
          if (!ParseUint64(n, &call->coord_seq)) call->coord_seq = 0;
        }
        call->done.store(true, std::memory_order_release);
        continue;
      }
      Expect e = std::move(expect_.front());
      expect_.pop_front();
      if (e.select) continue;
      e.call->reply = std::move(reply);
      role_for_ = std::move(e.call);
      awaiting_role_ = true;
    }
  }

  void FailAll(const std::string& why) {
    Log(LogLevel::kWarning, "replica-write-forward: {}", why);
    error_code ec;
    socket_.close(ec);
    socket_ = tcp::socket(io_);
    connected_ = false;
    connecting_ = false;
    in_.clear();
    std::string err =
        "-ERR replica-write-forward: the coordinator is unreachable (" + why + ")\r\n";
    auto fail = [&](const std::shared_ptr<ForwardCall>& c) {
      if (!c || c->done.load()) return;
      c->reply = err;
      c->done.store(true, std::memory_order_release);
    };
    for (auto& e : expect_) fail(e.call);
    expect_.clear();
    fail(role_for_);
    role_for_.reset();
    awaiting_role_ = false;
    std::deque<Pending> q;
    {
      std::lock_guard<std::mutex> l(mu_);
      q.swap(queue_);
    }
    for (auto& p : q) fail(p.call);
  }

  asio::io_context& io_;
  ServerContext* server_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  std::mutex mu_;
  std::deque<Pending> queue_;  // guarded by mu_
  // The rest only on io_'s thread.
  std::deque<Expect> expect_;
  std::shared_ptr<ForwardCall> role_for_;
  bool awaiting_role_ = false;
  bool connected_ = false, connecting_ = false;
  uint64_t epoch_ = 0;
  int db_ = 0;
  std::string in_;
  std::array<char, 64 * 1024> rbuf_;
};

}  // namespace

std::shared_ptr<WriteForwarder> MakeAsioForwarder(asio::io_context& io,
                                                  ServerContext* server) {
  return std::make_shared<AsioForwarder>(io, server);
}

}  // namespace edgekv
